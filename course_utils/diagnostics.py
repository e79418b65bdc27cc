"""Diagnostics of a network's health, reusable by every chapter (hooks, not copy-paste).

For hidden layer l with activations h_l, weights W_l and gradient g_l = ∂L/∂W_l:

* activation mean/std of h_l; **saturated** fraction (tanh: |h| > 0.99, sigmoid: h < 0.01 or
  h > 0.99); **dead** fraction for ReLU-like units (a unit ≤ 0 on every sample of the batch)
* gradient norm ‖g_l‖₂ per ``nn.Linear`` weight, in module order
* grad:data ratio  std(g_l) / std(W_l)
* update:data ratio  std(ΔW_l) / std(W_l) of one optimizer step (≈ 1e-3 is healthy; Karpathy)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

SATURATING = (nn.Tanh, nn.Sigmoid)
RELU_LIKE = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.SELU, nn.GELU, nn.SiLU, nn.PReLU, nn.RReLU)


def _check_model(model):
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")


def linear_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` of every ``nn.Linear`` (and conv) layer, in module order."""
    _check_model(model)
    return [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


def activation_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` of every activation module, in module order.

    Any module whose class lives in ``torch.nn.modules.activation`` counts, plus
    ``nn.Identity`` and modules that set ``is_activation = True`` (the course's own)."""
    _check_model(model)
    out = []
    for n, m in model.named_modules():
        if (type(m).__module__ == "torch.nn.modules.activation"
                or getattr(m, "is_activation", False)
                or (isinstance(m, nn.Identity) and n)):
            out.append((n, m))
    return out


@dataclass
class LayerStats:
    """Statistics of one layer's output on one batch."""

    name: str
    kind: str
    mean: float
    std: float
    saturated: float | None  # fraction of values in the flat tails (tanh/sigmoid)
    dead: float | None       # fraction of units never positive (ReLU-like)
    values: torch.Tensor = field(repr=False)  # a sample of the values, for histograms


def layer_stats(name: str, module: nn.Module, h: torch.Tensor, max_values: int = 20000) -> LayerStats:
    """:class:`LayerStats` of activation output ``h`` (shape (N, units, ...))."""
    h = h.detach().float()
    flat = h.reshape(-1)
    saturated = dead = None
    if isinstance(module, nn.Tanh):
        saturated = float((flat.abs() > 0.99).float().mean())
    elif isinstance(module, nn.Sigmoid):
        saturated = float(((flat < 0.01) | (flat > 0.99)).float().mean())
    elif isinstance(module, RELU_LIKE) or getattr(module, "relu_like", False):
        units = h.transpose(0, 1).reshape(h.shape[1], -1) if h.ndim > 1 else h[None]
        dead = float((units.max(dim=1).values <= 0).float().mean())
    step = max(1, flat.numel() // max_values)
    return LayerStats(name, type(module).__name__, float(flat.mean()), float(flat.std()),
                      saturated, dead, flat[::step].clone())


class ActivationRecorder:
    """Context manager that records :class:`LayerStats` of every activation module.

    >>> with ActivationRecorder(model) as rec:
    ...     model(X)
    >>> [s.std for s in rec.stats]
    """

    def __init__(self, model: nn.Module, modules: list | None = None):
        self.targets = activation_modules(model) if modules is None else list(modules)
        self.stats: list[LayerStats] = []
        self._handles = []

    def __enter__(self):
        self.stats = []
        for name, mod in self.targets:
            self._handles.append(mod.register_forward_hook(
                lambda m, inp, out, name=name: self.stats.append(layer_stats(name, m, out))))
        return self

    def __exit__(self, *exc):
        for h in self._handles:
            h.remove()
        self._handles = []
        return False


@torch.no_grad()
def activation_stats(model: nn.Module, X: torch.Tensor) -> list[LayerStats]:
    """One forward pass of ``X`` (in the model's current mode); stats of each activation."""
    with ActivationRecorder(model) as rec:
        model(X)
    return rec.stats


def gradient_norms(model: nn.Module) -> list[float]:
    """‖∂L/∂W‖₂ of each Linear/conv weight in module order (0.0 where no grad yet)."""
    return [float(m.weight.grad.norm()) if m.weight.grad is not None else 0.0
            for _, m in linear_layers(model)]


def grad_data_ratios(model: nn.Module) -> list[float]:
    """std(∂L/∂W) / std(W) of each Linear/conv weight in module order."""
    out = []
    for _, m in linear_layers(model):
        g, w = m.weight.grad, m.weight.detach()
        out.append(float(g.std() / w.std()) if g is not None and w.std() > 0 else 0.0)
    return out


def forward_backward(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn=None,
                     record_activations: bool = True):
    """Zero grads, one forward and backward; return ``(loss, activation stats, grad norms)``."""
    _check_model(model)
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    model.zero_grad(set_to_none=True)
    if record_activations:
        with ActivationRecorder(model) as rec:
            loss = loss_fn(model(X), y)
        stats = rec.stats
    else:
        loss, stats = loss_fn(model(X), y), []
    loss.backward()
    return float(loss), stats, gradient_norms(model)


class UpdateRatioTracker:
    """Records the update:data ratio std(W_after − W_before) / std(W_before) per layer.

    Call :meth:`before_step` right before ``optimizer.step()`` and :meth:`after_step` right
    after (or pass :meth:`as_callbacks` pieces to ``fit``).  ``history`` has one list of
    per-layer ratios per step.
    """

    def __init__(self, model: nn.Module):
        self.layers = linear_layers(model)
        self.history: list[list[float]] = []
        self._before = None

    def before_step(self, model=None):
        self._before = [m.weight.detach().clone() for _, m in self.layers]

    def after_step(self, info=None):
        if self._before is None:
            raise RuntimeError("call before_step() before after_step()")
        ratios = []
        for w0, (_, m) in zip(self._before, self.layers):
            sd = w0.std()
            ratios.append(float((m.weight.detach() - w0).std() / sd) if sd > 0 else 0.0)
        self.history.append(ratios)
        self._before = None
