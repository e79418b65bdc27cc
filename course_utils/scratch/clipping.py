"""Gradient clipping from scratch (tested against ``torch.nn.utils``) and a clipping hook for ``fit``.

For the gradients g = (g_1, …, g_k) of all k parameter tensors:

* **clip by value** (element-wise):  g_ij ← min(max(g_ij, −c), c).  Each coordinate is cut
  on its own, so the clipped vector generally points in a *different direction*.
* **clip by norm** (global L2 norm, as ``torch.nn.utils.clip_grad_norm_``):
  ‖g‖ = √(Σ_i ‖g_i‖²),  g ← g · min(1, τ / (‖g‖ + 10⁻⁶)).  One common factor for every
  tensor: the direction is kept, only the length is capped (at ≈ τ).
* **per-tensor norm** (for contrast): each g_i gets its own factor min(1, τ / (‖g_i‖ + 10⁻⁶)),
  which changes the relative sizes of the tensors, hence the overall direction.

``ClipHook`` plugs any of them into ``training.fit(after_backward=...)`` and records the
global norm *before* clipping at every step (the number to look at when choosing τ).

Chapter 06's cliff, RNN experiments and explorers are in ``course_utils.chapters.ch06_gradient_clipping``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..core.validation import check_choice, check_float

METHODS = ("none", "value", "norm", "per_tensor")
EPS = 1e-6  # the same guard as torch.nn.utils.clip_grad_norm_


# --------------------------------------------------------------------------------------
# clipping a list of gradient tensors
# --------------------------------------------------------------------------------------
def _check_grads(grads, name: str = "grads") -> list[torch.Tensor]:
    if isinstance(grads, torch.Tensor) or not isinstance(grads, (list, tuple)):
        raise TypeError(f"{name} must be a list or tuple of torch tensors, got "
                        f"{type(grads).__name__}")
    for i, g in enumerate(grads):
        if not isinstance(g, torch.Tensor):
            raise TypeError(f"{name}[{i}] must be a torch.Tensor, got {type(g).__name__}")
        if not g.is_floating_point():
            raise TypeError(f"{name}[{i}] must be a floating-point tensor, got dtype {g.dtype}")
    return list(grads)


def global_norm(grads) -> torch.Tensor:
    """‖g‖₂ over all tensors together: √(Σ_i ‖g_i‖²) as a 0-d tensor (0 for an empty list)."""
    grads = _check_grads(grads)
    if not grads:
        return torch.tensor(0.0)
    norms = torch.stack([torch.linalg.vector_norm(g.detach()) for g in grads])
    return torch.linalg.vector_norm(norms)


def clip_by_value(grads, clip_value: float) -> list[torch.Tensor]:
    """New tensors with every element clamped to [−clip_value, clip_value] (inputs untouched).

    Same result as ``torch.nn.utils.clip_grad_value_`` (which works in place)."""
    grads = _check_grads(grads)
    c = check_float("clip_value", clip_value, min_value=0.0, min_inclusive=False)
    return [g.detach().clamp(-c, c) for g in grads]


def clip_by_norm(grads, max_norm: float) -> tuple[list[torch.Tensor], torch.Tensor]:
    """``(clipped, total_norm)``: every tensor times min(1, max_norm / (total_norm + 1e-6)).

    ``total_norm`` is the global L2 norm *before* clipping (a 0-d tensor), exactly what
    ``torch.nn.utils.clip_grad_norm_`` returns; the inputs are not modified.  A non-finite
    total norm is not special-cased (torch's default ``error_if_nonfinite=False``)."""
    grads = _check_grads(grads)
    max_norm = check_float("max_norm", max_norm, min_value=0.0, min_inclusive=False)
    total = global_norm(grads)
    coef = torch.clamp(max_norm / (total + EPS), max=1.0)
    return [g.detach() * coef.to(g.dtype) for g in grads], total


def clip_by_norm_per_tensor(grads, max_norm: float) -> tuple[list[torch.Tensor], list[float]]:
    """``(clipped, norms)``: tensor i times its own min(1, max_norm / (‖g_i‖ + 1e-6)).

    Shown for contrast with the global norm: it changes the gradient's direction."""
    grads = _check_grads(grads)
    max_norm = check_float("max_norm", max_norm, min_value=0.0, min_inclusive=False)
    out, norms = [], []
    for g in grads:
        n = torch.linalg.vector_norm(g.detach())
        out.append(g.detach() * torch.clamp(max_norm / (n + EPS), max=1.0).to(g.dtype))
        norms.append(float(n))
    return out, norms


def clip(grads, method: str, threshold: float | None = None) -> list[torch.Tensor]:
    """Clip ``grads`` with ``method`` in ``METHODS`` ("none" returns detached copies)."""
    check_choice("method", method, METHODS)
    grads = _check_grads(grads)
    if method == "none":
        return [g.detach().clone() for g in grads]
    if threshold is None:
        raise ValueError(f"threshold is required for method={method!r}")
    if method == "value":
        return clip_by_value(grads, threshold)
    if method == "norm":
        return clip_by_norm(grads, threshold)[0]
    return clip_by_norm_per_tensor(grads, threshold)[0]


def cosine_similarity(a, b) -> float:
    """cos∠(a, b) of two gradients given as lists of tensors (flattened and concatenated)."""
    a, b = _check_grads(a, "a"), _check_grads(b, "b")
    if [t.shape for t in a] != [t.shape for t in b]:
        raise ValueError("a and b must hold tensors of the same shapes, in the same order")
    if not a:
        raise ValueError("a and b must not be empty")
    va = torch.cat([t.detach().reshape(-1).double() for t in a])
    vb = torch.cat([t.detach().reshape(-1).double() for t in b])
    return float(F.cosine_similarity(va, vb, dim=0))


# --------------------------------------------------------------------------------------
# clipping a model's .grad in place, and the hook for training.fit
# --------------------------------------------------------------------------------------
def _params_with_grad(parameters) -> list[torch.Tensor]:
    if isinstance(parameters, nn.Module):
        parameters = parameters.parameters()
    elif isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    try:
        params = list(parameters)
    except TypeError:
        raise TypeError("parameters must be an nn.Module or an iterable of tensors, got "
                        f"{type(parameters).__name__}") from None
    for p in params:
        if not isinstance(p, torch.Tensor):
            raise TypeError(f"parameters must hold tensors, got a {type(p).__name__}")
    return [p for p in params if p.grad is not None]


def clip_gradients_(parameters, method: str = "norm", threshold: float | None = 1.0) -> float:
    """Clip the ``.grad`` of ``parameters`` (a model or tensors) in place with ``method``;
    return the global gradient norm measured *before* clipping (as a float)."""
    check_choice("method", method, METHODS)
    params = _params_with_grad(parameters)
    grads = [p.grad for p in params]
    total = float(global_norm(grads))
    if method != "none" and grads:
        for p, g in zip(params, clip(grads, method, threshold)):
            p.grad.copy_(g)
    return total


class ClipHook:
    """``after_backward`` hook for ``training.fit``: clips the model's gradients in place
    and records, per step, the global norm before clipping (``norms``) and whether the
    clipping changed anything (``clipped``).  ``method="none"`` only records."""

    def __init__(self, method: str = "norm", threshold: float | None = 1.0):
        self.method = check_choice("method", method, METHODS)
        if method == "none":
            self.threshold = None if threshold is None else check_float(
                "threshold", threshold, min_value=0.0, min_inclusive=False)
        else:
            if threshold is None:
                raise ValueError(f"threshold is required for method={method!r}")
            self.threshold = check_float("threshold", threshold, min_value=0.0,
                                         min_inclusive=False)
        self.norms: list[float] = []
        self.clipped: list[bool] = []

    def __call__(self, model: nn.Module) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
        params = _params_with_grad(model)
        grads = [p.grad for p in params]
        changed = False
        if self.method == "value":
            changed = any(bool((g.abs() > self.threshold).any()) for g in grads)
        elif self.method == "per_tensor":
            changed = any(float(torch.linalg.vector_norm(g)) > self.threshold for g in grads)
        total = clip_gradients_(params, self.method, self.threshold)
        if self.method == "norm":
            changed = total > self.threshold
        self.norms.append(total)
        self.clipped.append(changed)

    @property
    def clipped_fraction(self) -> float:
        """Fraction of the recorded steps at which clipping changed the gradient."""
        return float(np.mean(self.clipped)) if self.clipped else 0.0

    def __repr__(self) -> str:
        return (f"ClipHook(method={self.method!r}, threshold={self.threshold}, "
                f"steps={len(self.norms)})")


def make_clip_hook(method: str = "norm", threshold: float | None = 1.0) -> ClipHook:
    """A fresh :class:`ClipHook`: ``fit(model, ..., after_backward=make_clip_hook("norm", 1.0))``."""
    return ClipHook(method, threshold)


def norm_statistics(norms) -> dict:
    """Median, mean, 90th/99th percentile and max of finite recorded norms (for choosing τ).

    Pascanu et al. (2013): look at the average norm over many updates; a threshold near the
    typical norm clips only the spikes' excess, one far below it turns SGD into
    fixed-length steps."""
    arr = np.asarray(norms, dtype=float).reshape(-1)
    if arr.size == 0:
        raise ValueError("norms must not be empty")
    finite = arr[np.isfinite(arr)]
    if finite.size == 0:
        raise ValueError("norms has no finite value")
    return {"median": float(np.median(finite)), "mean": float(finite.mean()),
            "p90": float(np.percentile(finite, 90)), "p99": float(np.percentile(finite, 99)),
            "max": float(finite.max()), "n": int(finite.size),
            "non_finite": int(arr.size - finite.size)}
