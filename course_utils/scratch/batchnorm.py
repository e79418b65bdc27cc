"""Batch normalization from scratch, layer normalization for contrast, and chapter 05's
computations and explorer.

Batch norm (Ioffe & Szegedy 2015) for a mini-batch of B rows and feature k:

    μ_k = (1/B) Σ_i x_ik,   σ²_k = (1/B) Σ_i (x_ik − μ_k)²          (biased variance)
    y_ik = γ_k · (x_ik − μ_k) / √(σ²_k + ε) + β_k

In training the running estimates follow PyTorch's momentum convention (m weighs the *new*
batch; Keras' ``momentum`` weighs the *old* estimate, so Keras' value is 1 − m: PyTorch's
default 0.1 ≙ Keras 0.9, and Keras' default 0.99 ≙ PyTorch 0.01):

    running_mean ← (1 − m) · running_mean + m · μ
    running_var  ← (1 − m) · running_var  + m · σ²·B/(B − 1)       (unbiased variance)

In evaluation the running estimates replace μ and σ² and nothing is updated.  For images
(``BatchNorm2d``) a feature is a *channel*: its statistics run over the batch and every pixel,
(N, H, W).  Layer norm
(Ba et al. 2016) normalizes each *row* over its features instead, so it behaves the same
for any batch size and in both modes.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from ..core import models, repro
from ..core.validation import (
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_tensor,
)

__all__ = [
    "BatchNorm1d", "BatchNorm2d", "LayerNorm", "batchnorm_forward", "layernorm_forward",
    "norm_mlp", "to_scratch_batchnorm", "compare_with_torch", "batch_dependence",
]

NORMS = ("none", "batch", "scratch_batch", "layer", "scratch_layer")


# --------------------------------------------------------------------------------------
# the layers
# --------------------------------------------------------------------------------------
def _check_vector(name: str, value, n: int, allow_none: bool = False):
    if value is None and allow_none:
        return None
    check_tensor(name, value, ndim=1, floating=True)
    if value.shape[0] != n:
        raise ValueError(f"{name} must have one entry per feature ({n}), got shape "
                         f"{tuple(value.shape)}")
    return value


def batchnorm_forward(x: torch.Tensor, gamma, beta, running_mean: torch.Tensor,
                      running_var: torch.Tensor, training: bool, momentum: float = 0.1,
                      eps: float = 1e-5):
    """Batch norm of ``x`` (shape (N, C), (N, C, L) or (N, C, H, W)); returns
    ``(out, new_running_mean, new_running_var)`` and modifies none of its inputs.

    training: normalize with the batch mean and *biased* variance per channel C over N (and
    L, or H and W: every position of every example); the new
    running estimates are ``(1 − momentum)·old + momentum·batch`` with the *unbiased*
    batch variance.  evaluation: normalize with the running estimates, which come back
    unchanged (as copies).  ``gamma``/``beta`` may be None (no affine transform).
    """
    check_tensor("x", x, ndim=(2, 3, 4), floating=True)
    c = x.shape[1]
    _check_vector("gamma", gamma, c, allow_none=True)
    _check_vector("beta", beta, c, allow_none=True)
    _check_vector("running_mean", running_mean, c)
    _check_vector("running_var", running_var, c)
    training = check_bool("training", training)
    momentum = check_float("momentum", momentum, min_value=0.0, max_value=1.0)
    eps = check_float("eps", eps, min_value=0.0, min_inclusive=False)
    dims = (0, *range(2, x.ndim))          # every axis but the channel axis
    shape = (1, c) + (1,) * (x.ndim - 2)
    if training:
        n = x.numel() // c
        if n < 2:
            raise ValueError("x must hold more than one value per feature in training mode "
                             f"(got shape {tuple(x.shape)}): a batch of one has no variance")
        mean = x.mean(dim=dims)
        var = ((x - mean.view(shape)) ** 2).mean(dim=dims)  # biased: divide by n
        with torch.no_grad():
            new_mean = (1 - momentum) * running_mean + momentum * mean
            new_var = (1 - momentum) * running_var + momentum * var * (n / (n - 1))
    else:
        mean, var = running_mean, running_var
        new_mean, new_var = running_mean.detach().clone(), running_var.detach().clone()
    out = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + eps)
    if gamma is not None:
        out = out * gamma.view(shape)
    if beta is not None:
        out = out + beta.view(shape)
    return out, new_mean, new_var


class BatchNorm1d(nn.Module):
    """From-scratch ``nn.BatchNorm1d``: same parameters (``weight`` = γ, ``bias`` = β),
    same buffers (``running_mean``, ``running_var``, ``num_batches_tracked``), so state
    dicts load both ways.  ``momentum=None`` gives the cumulative average 1/t, as PyTorch."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True):
        super().__init__()
        self.num_features = check_int("num_features", num_features, min_value=1)
        self.eps = check_float("eps", eps, min_value=0.0, min_inclusive=False)
        if momentum is not None:
            momentum = check_float("momentum", momentum, min_value=0.0, max_value=1.0)
        self.momentum = momentum
        self.affine = check_bool("affine", affine)
        if self.affine:
            self.weight = nn.Parameter(torch.ones(num_features))
            self.bias = nn.Parameter(torch.zeros(num_features))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def reset_running_stats(self) -> None:
        self.running_mean.zero_()
        self.running_var.fill_(1.0)
        self.num_batches_tracked.zero_()

    _ndim = (2, 3)  # (N, C) or (N, C, L)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=self._ndim, floating=True)
        if x.shape[1] != self.num_features:
            raise ValueError(f"x must have {self.num_features} features in dimension 1, got "
                             f"shape {tuple(x.shape)}")
        factor = 0.0
        if self.training:
            self.num_batches_tracked += 1
            factor = (1.0 / float(self.num_batches_tracked) if self.momentum is None
                      else self.momentum)
        out, new_mean, new_var = batchnorm_forward(
            x, self.weight, self.bias, self.running_mean, self.running_var, self.training,
            factor, self.eps)
        if self.training:
            with torch.no_grad():
                self.running_mean.copy_(new_mean)
                self.running_var.copy_(new_var)
        return out

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}")


class BatchNorm2d(BatchNorm1d):
    """From-scratch ``nn.BatchNorm2d`` for images (N, C, H, W): one (γ, β) and one pair of
    running estimates per *channel*, the batch statistics taken over N, H and W."""

    _ndim = (4,)


def layernorm_forward(x: torch.Tensor, gamma=None, beta=None, eps: float = 1e-5):
    """Layer norm: each row normalized over its last dimension (biased variance), then
    γ·x̂ + β.  The same in training and evaluation; no running statistics."""
    check_tensor("x", x, ndim=(1, 2, 3), floating=True)
    d = x.shape[-1]
    _check_vector("gamma", gamma, d, allow_none=True)
    _check_vector("beta", beta, d, allow_none=True)
    eps = check_float("eps", eps, min_value=0.0, min_inclusive=False)
    mean = x.mean(dim=-1, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
    out = (x - mean) / torch.sqrt(var + eps)
    if gamma is not None:
        out = out * gamma
    if beta is not None:
        out = out + beta
    return out


class LayerNorm(nn.Module):
    """From-scratch ``nn.LayerNorm(normalized_shape)`` over the last dimension."""

    def __init__(self, normalized_shape: int, eps: float = 1e-5, elementwise_affine: bool = True):
        super().__init__()
        self.normalized_shape = check_int("normalized_shape", normalized_shape, min_value=1)
        self.eps = check_float("eps", eps, min_value=0.0, min_inclusive=False)
        self.elementwise_affine = check_bool("elementwise_affine", elementwise_affine)
        if self.elementwise_affine:
            self.weight = nn.Parameter(torch.ones(normalized_shape))
            self.bias = nn.Parameter(torch.zeros(normalized_shape))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=(1, 2, 3), floating=True)
        if x.shape[-1] != self.normalized_shape:
            raise ValueError(f"x must have {self.normalized_shape} features in its last "
                             f"dimension, got shape {tuple(x.shape)}")
        return layernorm_forward(x, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


_NORM_LAYERS = (nn.BatchNorm1d, BatchNorm1d, nn.LayerNorm, LayerNorm)  # BatchNorm2d ⊂ BatchNorm1d


def compare_with_torch(num_features: int = 5, steps: int = 300, batch_size: int = 16,
                       eval_every: int = 10, seed: int = 0, image_size: int | None = None) -> dict:
    """Run :class:`BatchNorm1d` and ``nn.BatchNorm1d`` (same initial state) side by side on
    ``steps`` batches from a drifting distribution — training steps with a backward pass
    of (out³).sum(), and an evaluation-mode pass every ``eval_every`` steps.  With
    ``image_size`` = s, :class:`BatchNorm2d` and ``nn.BatchNorm2d`` on (batch, C, s, s)
    images instead (``num_features`` channels).

    Returns the largest absolute difference seen in each of: ``train output``,
    ``input gradient`` (relative to 1 + |grad|), ``running mean``, ``running var``,
    ``eval output``."""
    num_features = check_int("num_features", num_features, min_value=1)
    steps = check_int("steps", steps, min_value=1)
    batch_size = check_int("batch_size", batch_size, min_value=2)
    eval_every = check_int("eval_every", eval_every, min_value=1)
    gen = repro.generator(seed)
    if image_size is None:
        theirs, ours, extra = nn.BatchNorm1d(num_features), BatchNorm1d(num_features), ()
    else:
        s = check_int("image_size", image_size, min_value=1, max_value=256)
        theirs, ours, extra = nn.BatchNorm2d(num_features), BatchNorm2d(num_features), (s, s)
    ours.load_state_dict(theirs.state_dict())
    worst = dict.fromkeys(["train output", "input gradient", "running mean", "running var",
                           "eval output"], 0.0)

    def note(key, diff):
        worst[key] = max(worst[key], float(diff.abs().max()))

    for step in range(steps):
        x = (torch.randn(batch_size, num_features, *extra, generator=gen) * (1 + step / 100)
             + math.sin(step / 30))
        if step % eval_every == eval_every - 1:
            ours.eval()
            theirs.eval()
            with torch.no_grad():
                note("eval output", ours(x) - theirs(x))
            ours.train()
            theirs.train()
            continue
        xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
        oa, ob = ours(xa), theirs(xb)
        (oa ** 3).sum().backward()
        (ob ** 3).sum().backward()
        note("train output", oa.detach() - ob.detach())
        note("input gradient", (xa.grad - xb.grad) / (1 + xb.grad.abs()))
        note("running mean", ours.running_mean - theirs.running_mean)
        note("running var", ours.running_var - theirs.running_var)
    return worst


@torch.no_grad()
def batch_dependence(layer: nn.Module, X: torch.Tensor, index: int = 0, *, n_batches: int = 200,
                     batch_size: int = 32, seed: int = 0) -> torch.Tensor:
    """BN's noise: the output of the *same* example ``X[index]`` when it is normalized in
    ``n_batches`` different random mini-batches (it plus ``batch_size − 1`` other rows of
    ``X``), with ``layer`` in training mode on a copy (the layer itself is untouched).
    Returns (n_batches, features); its spread over batches is the noise BN adds in training
    — zero for layer norm, and zero in evaluation mode."""
    if not isinstance(layer, nn.Module):
        raise TypeError(f"layer must be an nn.Module, got {type(layer).__name__}")
    check_tensor("X", X, ndim=2, floating=True)
    index = check_int("index", index, min_value=0, max_value=len(X) - 1)
    n_batches = check_int("n_batches", n_batches, min_value=1)
    batch_size = check_int("batch_size", batch_size, min_value=2, max_value=len(X))
    probe = copy.deepcopy(layer).train()
    others = torch.tensor([i for i in range(len(X)) if i != index])
    gen = repro.generator(seed)
    outs = []
    for _ in range(n_batches):
        pick = others[torch.randperm(len(others), generator=gen)[:batch_size - 1]]
        outs.append(probe(torch.cat([X[index:index + 1], X[pick]]))[0])
    return torch.stack(outs)


# --------------------------------------------------------------------------------------
# models with a choice of normalization
# --------------------------------------------------------------------------------------
def to_scratch_batchnorm(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` with every ``nn.BatchNorm1d`` replaced by the course's
    :class:`BatchNorm1d` carrying the same γ, β and running statistics."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    model = copy.deepcopy(model)
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if type(child) is nn.BatchNorm1d:
                if not child.track_running_stats:
                    raise ValueError(f"{name}.{child_name}: only BatchNorm1d layers that "
                                     "track running statistics can be converted")
                new = BatchNorm1d(child.num_features, child.eps, child.momentum, child.affine)
                new.load_state_dict(child.state_dict())
                new.train(child.training)
                setattr(module, child_name, new)
    return model


def norm_mlp(in_features: int, out_features: int, *, norm: str = "batch",
             placement: str = "before", depth: int = 10, width: int = 100,
             activation: str = "relu", init: str = "he_normal", bias: bool = True) -> nn.Sequential:
    """``models.mlp`` with a choice of normalization in every hidden block.

    norm: ``"none"``, ``"batch"`` (``nn.BatchNorm1d``), ``"scratch_batch"`` (this module's
    :class:`BatchNorm1d`), ``"layer"`` (``nn.LayerNorm``) or ``"scratch_layer"``
    (:class:`LayerNorm`).  The fused PyTorch layers are faster; the tests show the
    from-scratch ones compute the same.  placement ``"before"``:
    Linear → Norm → activation (Ioffe & Szegedy); ``"after"``: Linear → activation → Norm.
    """
    check_choice("norm", norm, NORMS)
    check_choice("placement", placement, ["before", "after"])
    model = models.mlp(in_features, out_features, depth=depth, width=width,
                       activation=activation, init=init, batch_norm=norm != "none", bias=bias)
    if norm == "none":
        return model
    layers = list(model)
    for i, layer in enumerate(layers):
        if isinstance(layer, nn.BatchNorm1d):
            if norm == "scratch_batch":
                layers[i] = BatchNorm1d(layer.num_features)
            elif norm == "layer":
                layers[i] = nn.LayerNorm(layer.num_features)
            elif norm == "scratch_layer":
                layers[i] = LayerNorm(layer.num_features)
    if placement == "after":  # swap each (norm, activation) pair
        i = 0
        while i < len(layers) - 1:
            if isinstance(layers[i], _NORM_LAYERS):
                layers[i], layers[i + 1] = layers[i + 1], layers[i]
                i += 1
            i += 1
    return nn.Sequential(*layers)


# --------------------------------------------------------------------------------------
