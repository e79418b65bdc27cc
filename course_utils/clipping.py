"""Gradient clipping from scratch, a clipping hook for ``fit``, and a loss surface with a cliff.

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

The cliff (:func:`cliff_loss`) is a stylized 2-D loss in the spirit of Pascanu et al. (2013,
Fig. 6): a gentle valley that ends at the foot of a steep wall.  :func:`descend` runs
gradient descent on it with or without clipping.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import ipywidgets as widgets
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.patches import Circle, Rectangle
from torch import nn

from . import explorers
from .plotting import new_figure
from .validation import check_array, check_choice, check_float, check_int

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


# --------------------------------------------------------------------------------------
# a 2-D loss surface with a cliff, and gradient descent on it
# --------------------------------------------------------------------------------------
#: the cliff's constants: wall height, steepness, position (w1 + tilt·w2 = offset), valley
CLIFF = {"height": 3.0, "steepness": 40.0, "offset": 1.0, "tilt": 0.5,
         "curv1": 0.1, "center1": 4.0, "curv2": 0.5}
CLIFF_START = (-6.0, 3.0)
CLIFF_BOX = ((-8.0, 4.0), (-5.0, 5.0))  # the plotted region: (w1 range, w2 range)


def _sigmoid(u):
    return 0.5 * (1.0 + np.tanh(0.5 * u))  # no overflow warning for large |u|


def cliff_loss(w1, w2):
    """``(loss, dL/dw1, dL/dw2)`` of the stylized cliff, element-wise over NumPy arrays:

    L = ½(a(w1 − m)² + b·w2²) + H·σ(k(w1 + s·w2 − d))

    a gentle quadratic valley (a = 0.1, m = 4, b = 0.5) cut by a wall of height H = 3 whose
    slope reaches H·k/4 = 30 (k = 40) along the line w1 + 0.5·w2 = 1.  Descending the valley
    leads to the foot of the wall; a step that lands on the wall is thrown far back."""
    w1 = check_array("w1", w1, dtype_kind="fiu").astype(float)
    w2 = check_array("w2", w2, dtype_kind="fiu").astype(float)
    c = CLIFF
    u = c["steepness"] * (w1 + c["tilt"] * w2 - c["offset"])
    s = _sigmoid(u)
    wall = c["height"] * c["steepness"] * s * (1.0 - s)
    loss = 0.5 * (c["curv1"] * (w1 - c["center1"]) ** 2 + c["curv2"] * w2 ** 2) + c["height"] * s
    return loss, c["curv1"] * (w1 - c["center1"]) + wall, c["curv2"] * w2 + c["tilt"] * wall


@dataclass
class Trajectory:
    """Gradient descent on a 2-D surface: points (steps+1, 2), losses, gradient norms."""

    points: np.ndarray
    losses: np.ndarray
    grad_norms: np.ndarray
    method: str
    threshold: float | None
    diverged: bool = False
    longest_step: float = field(init=False)

    def __post_init__(self):
        d = np.diff(self.points, axis=0)
        self.longest_step = float(np.sqrt((d ** 2).sum(1)).max()) if len(d) else 0.0


def descend(surface=cliff_loss, start=CLIFF_START, lr: float = 0.6, steps: int = 60,
            method: str = "none", threshold: float | None = 1.0) -> Trajectory:
    """Plain gradient descent w ← w − lr·clip(∇L(w)) from ``start`` on ``surface``.

    ``surface(w1, w2)`` returns ``(loss, dL/dw1, dL/dw2)`` (e.g. :func:`cliff_loss`).
    Stops early (``diverged=True``) if the loss or the point stops being finite."""
    if not callable(surface):
        raise TypeError("surface must be callable: surface(w1, w2) -> (loss, g1, g2)")
    start = np.asarray(start, dtype=float)
    if start.shape != (2,) or not np.isfinite(start).all():
        raise ValueError(f"start must be 2 finite numbers, got {start.tolist()}")
    lr = check_float("lr", lr, min_value=0.0, min_inclusive=False)
    steps = check_int("steps", steps, min_value=1, max_value=100000)
    check_choice("method", method, METHODS[:3])
    if method != "none":
        threshold = check_float("threshold", threshold, min_value=0.0, min_inclusive=False)
    w = start.copy()
    points, losses, norms = [w.copy()], [], []
    diverged = False
    for _ in range(steps):
        loss, g1, g2 = surface(w[0], w[1])
        g = np.array([float(g1), float(g2)])
        losses.append(float(loss))
        norms.append(float(np.hypot(*g)))
        if not (np.isfinite(loss) and np.isfinite(g).all()):
            diverged = True
            break
        if method != "none":
            g = clip([torch.from_numpy(g)], method, threshold)[0].numpy()
        w = w - lr * g
        points.append(w.copy())
        if not np.isfinite(w).all():
            diverged = True
            break
    if not diverged:
        losses.append(float(surface(w[0], w[1])[0]))
    return Trajectory(np.array(points), np.array(losses), np.array(norms), method,
                      None if method == "none" else threshold, diverged)


# --------------------------------------------------------------------------------------
# explorers
# --------------------------------------------------------------------------------------
def clip_2d(g1: float, g2: float, threshold: float) -> dict:
    """Both clippings of the 2-D gradient (g1, g2) at ``threshold``: the vectors, their
    norms and their cosine similarity with the original (the explorer's computation)."""
    g1, g2 = check_float("g1", g1), check_float("g2", g2)
    threshold = check_float("threshold", threshold, min_value=0.0, min_inclusive=False)
    g = [torch.tensor([g1, g2], dtype=torch.float64)]
    by_value = clip_by_value(g, threshold)
    by_norm = clip_by_norm(g, threshold)[0]
    zero = g1 == 0 and g2 == 0
    return {
        "g": np.array([g1, g2]),
        "value": by_value[0].numpy(),
        "norm": by_norm[0].numpy(),
        "threshold": threshold,
        "norm_g": math.hypot(g1, g2),
        "norm_value": float(global_norm(by_value)),
        "norm_norm": float(global_norm(by_norm)),
        "cos_value": 1.0 if zero else cosine_similarity(g, by_value),
        "cos_norm": 1.0 if zero else cosine_similarity(g, by_norm),
    }


def render_clip_2d(result: dict, values: dict | None = None):
    """One panel: the gradient, its value-clipped and norm-clipped versions, box and circle.

    Drawn lean (quiver arrows, plain-text labels, fixed margins): about 25 ms above an empty
    plot, so a control change redraws well within 100 ms."""
    fig, axes = new_figure(1, 1, width=4.0, height=3.8)
    _lean(fig, left=0.15, bottom=0.12, top=0.9, right=0.15 + 0.78 * 3.8 / 4.0)  # square axes
    ax = axes[0, 0]
    t = result["threshold"]
    ax.add_patch(Rectangle((-t, -t), 2 * t, 2 * t, fill=False, ls="--", color="tab:orange", lw=1))
    ax.add_patch(Circle((0, 0), t, fill=False, ls="--", color="tab:blue", lw=1))
    vectors = np.array([result["g"], result["value"], result["norm"]])
    colors = ["k", "tab:orange", "tab:blue"]
    ax.quiver(np.zeros(3), np.zeros(3), vectors[:, 0], vectors[:, 1], color=colors,
              angles="xy", scale_units="xy", scale=1, width=0.012)
    lim = max(5.5, 1.1 * max(np.abs(result["g"]).max(), t))
    for k, (color, label) in enumerate(zip(colors, ("gradient g", "clip by value",
                                                    "clip by norm"))):
        ax.text(-0.95 * lim, (0.9 - 0.14 * k) * lim, label, color=color, fontsize=8, va="top")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_xticks([-5, 0, 5])
    ax.set_yticks([-5, 0, 5])
    ax.set_xlabel("g₁")
    ax.set_ylabel("g₂")
    ax.set_title(f"cos(g, value) = {result['cos_value']:.3f}   cos(g, norm) = "
                 f"{result['cos_norm']:.3f}", fontsize=9)
    return fig


def _lean(fig, left=0.12, bottom=0.12, top=0.92, right=0.97):
    """Fixed margins instead of the constrained layout: about half the rendering time."""
    for ax in fig.axes:
        ax.set_position([left, bottom, right - left, top - bottom])


_CLIFF_GRID: dict = {}


def cliff_grid(n: int = 160):
    """``(W1, W2, log10 L)`` on a regular grid over ``CLIFF_BOX`` (cached)."""
    n = check_int("n", n, min_value=10, max_value=2000)
    if n not in _CLIFF_GRID:
        (a, b), (c, d) = CLIFF_BOX
        W1, W2 = np.meshgrid(np.linspace(a, b, n), np.linspace(c, d, n))
        _CLIFF_GRID[n] = (W1, W2, np.log10(cliff_loss(W1, W2)[0]))
    return _CLIFF_GRID[n]


def cliff_runs(lr: float = 0.6, threshold: float = 1.0, steps: int = 60) -> dict:
    """The explorer's computation: the same descent with no clipping, by value, by norm."""
    return {m: descend(cliff_loss, CLIFF_START, lr, steps, m, threshold)
            for m in ("none", "value", "norm")}


def render_cliff_runs(result: dict, values: dict | None = None):
    """One panel: log-loss map of the cliff with the three trajectories drawn on it."""
    fig, axes = new_figure(1, 1, width=5.6, height=3.6)
    _lean(fig, left=0.1, bottom=0.13, top=0.97)
    ax = axes[0, 0]
    W1, W2, logL = cliff_grid()
    (a, b), (c, d) = CLIFF_BOX
    lo, hi = float(logL.min()), float(logL.max())
    ax.imshow(logL, origin="lower", extent=(a, b, c, d), cmap="Greys", aspect="auto",
              interpolation="nearest", vmin=lo, vmax=hi + 1.5 * (hi - lo))  # light greys
    colors = {"none": "tab:red", "value": "tab:orange", "norm": "tab:blue"}
    for k, (m, tr) in enumerate(result.items()):
        end = f"loss {tr.losses[-1]:.2f}" if not tr.diverged else "diverged"
        ax.plot(tr.points[:, 0], tr.points[:, 1], ".-", color=colors[m], ms=3, lw=1)
        ax.text(b - 0.2, d - 0.3 - 0.75 * k, f"{m}: {end}, longest step {tr.longest_step:.2g}",
                color=colors[m], fontsize=8, ha="right", va="top")
    ax.plot(*CLIFF_START, "k*", ms=9)
    ax.set_xlim(a, b)
    ax.set_ylim(c, d)
    ax.set_xticks([-8, -4, 0, 4])
    ax.set_yticks([-5, 0, 5])
    ax.set_xlabel("w₁")
    ax.set_ylabel("w₂")
    return fig


@explorers.register_explorer("06 clip a 2-D gradient")
def make_clip_explorer() -> explorers.Explorer:
    """g1, g2 and the threshold → the gradient, both clippings and their directions."""
    controls = {
        "g1": widgets.FloatSlider(value=4.0, min=-5.0, max=5.0, step=0.1, description="g₁"),
        "g2": widgets.FloatSlider(value=1.0, min=-5.0, max=5.0, step=0.1, description="g₂"),
        "threshold": widgets.FloatSlider(value=1.5, min=0.1, max=5.0, step=0.1,
                                         description="threshold"),
    }
    return explorers.Explorer(clip_2d, render_clip_2d, controls,
                              title="Clip by value vs clip by norm")


@explorers.register_explorer("06 cliff trajectory")
def make_cliff_explorer() -> explorers.Explorer:
    """Learning rate, threshold and steps → descent on the cliff with and without clipping."""
    controls = {
        "lr": widgets.FloatLogSlider(value=0.6, base=10, min=-1.3, max=0.3, step=0.05,
                                     description="lr"),
        "threshold": widgets.FloatLogSlider(value=1.0, base=10, min=-1, max=1.5, step=0.1,
                                            description="threshold"),
        "steps": widgets.IntSlider(value=60, min=10, max=150, step=10, description="steps"),
    }
    return explorers.Explorer(cliff_runs, render_cliff_runs, controls,
                              title="Gradient descent on a cliff")
