"""Diagnostics of a network's health, reusable by every chapter (hooks, not copy-paste).

For hidden layer l with activations h_l, weights W_l and gradient g_l = ∂L/∂W_l:

* activation mean/std of h_l; **saturated** fraction (tanh: |h| > 0.99, sigmoid: h < 0.01 or
  h > 0.99); **dead** fraction for ReLU-like units (a unit ≤ 0 on every sample of the batch)
* gradient norm ‖g_l‖₂ per ``nn.Linear`` weight, in module order
* grad:data ratio  std(g_l) / std(W_l)
* update:data ratio  std(ΔW_l) / std(W_l) of one optimizer step (≈ 1e-3 is healthy; Karpathy)

One batch: :func:`activation_stats`, :func:`forward_backward`, :func:`layer_report`.
Over training: :class:`TrainingMonitor` (or :class:`UpdateRatioTracker` for the update
ratios alone), plugged into ``training.fit`` through its ``after_backward``/``on_step``
callbacks.  The plots are in ``course_utils.core.plotting`` (``plot_layer_histograms``,
``plot_layer_norms``, ``plot_over_steps``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .validation import check_choice, check_float, check_int, check_loss_fn, check_tensor

SATURATING = (nn.Tanh, nn.Sigmoid)
RELU_LIKE = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.SELU, nn.GELU, nn.SiLU, nn.PReLU, nn.RReLU)
#: |h| above this counts as saturated for tanh; sigmoid: h < 1 − this or h > this.
SATURATION_THRESHOLD = 0.99


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


def activation_kind(module: nn.Module) -> str | None:
    """``"sigmoid"``, ``"tanh"`` (saturating), ``"relu"`` (ReLU family) or None (other).

    Torch's ``nn.Sigmoid``/``nn.Tanh``/ReLU family, and the course's modules through their
    ``saturating`` / ``relu_like`` flags."""
    if isinstance(module, nn.Sigmoid) or (getattr(module, "saturating", False)
                                          and "sigmoid" in type(module).__name__.lower()):
        return "sigmoid"
    if isinstance(module, nn.Tanh) or getattr(module, "saturating", False):
        return "tanh"
    if isinstance(module, RELU_LIKE) or getattr(module, "relu_like", False):
        return "relu"
    return None


def saturated_fraction(h: torch.Tensor, kind: str) -> float:
    """Fraction of the values of ``h`` in the flat tails of the activation ``kind``.

    tanh: |h| > 0.99 (there tanh′ = 1 − h² < 0.02);  sigmoid: h < 0.01 or h > 0.99
    (there σ′ = h(1 − h) < 0.0099)."""
    h = check_tensor("h", h, floating=True).detach()
    check_choice("kind", kind, ["sigmoid", "tanh"])
    if h.numel() == 0:
        raise ValueError("h must not be empty")
    t = SATURATION_THRESHOLD
    if kind == "tanh":
        mask = h.abs() > t
    else:
        mask = (h < 1 - t) | (h > t)
    return float(mask.float().mean())


def dead_fraction(h: torch.Tensor) -> float:
    """Fraction of units (dimension 1 of ``h``: features or channels) that are ≤ 0 on every
    sample (and every position) of the batch: a dead ReLU passes no gradient at all."""
    h = check_tensor("h", h, floating=True).detach()
    if h.ndim < 2 or h.shape[0] == 0 or h.shape[1] == 0:
        raise ValueError(f"h must have shape (N, units, ...) with N, units ≥ 1, got {tuple(h.shape)}")
    units = h.transpose(0, 1).reshape(h.shape[1], -1)
    return float((units.max(dim=1).values <= 0).float().mean())


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
    """:class:`LayerStats` of activation output ``h`` (shape (N, units, ...)).

    ``std`` is the sample standard deviation (torch's default); ``values`` keeps every
    k-th value, k = max(1, numel // max_values), for histograms."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    _check_model(module)
    h = check_tensor("h", h).detach().float()
    max_values = check_int("max_values", max_values, min_value=1)
    if h.numel() == 0:
        raise ValueError("h must not be empty")
    flat = h.reshape(-1)
    saturated = dead = None
    kind = activation_kind(module)
    if kind in ("sigmoid", "tanh"):
        saturated = saturated_fraction(h, kind)
    elif kind == "relu":
        dead = dead_fraction(h if h.ndim > 1 else h[:, None])
    std = float(flat.std()) if flat.numel() > 1 else 0.0
    step = max(1, flat.numel() // max_values)
    return LayerStats(name, type(module).__name__, float(flat.mean()), std,
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
    _check_model(model)
    check_tensor("X", X)
    with ActivationRecorder(model) as rec:
        model(X)
    return rec.stats


def activation_histograms(stats: list[LayerStats], bins: int = 40,
                          value_range: tuple[float, float] | None = None):
    """``(counts, edges)``: one row of normalized histogram counts per layer (rows sum to 1).

    ``value_range`` defaults to the range of all values (a single point gets ±0.5)."""
    if not isinstance(stats, (list, tuple)) or not stats or not all(
            isinstance(s, LayerStats) for s in stats):
        raise TypeError("stats must be a non-empty list of LayerStats")
    bins = check_int("bins", bins, min_value=1, max_value=10_000)
    values = [s.values.detach().double().numpy() for s in stats]
    if value_range is None:
        finite = np.concatenate([v[np.isfinite(v)] for v in values]) if values else np.array([])
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (-1.0, 1.0)
    else:
        if len(value_range) != 2:
            raise ValueError(f"value_range must be (low, high), got {value_range!r}")
        lo = check_float("value_range[0]", value_range[0])
        hi = check_float("value_range[1]", value_range[1])
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    counts = np.zeros((len(values), bins))
    for i, v in enumerate(values):
        c, _ = np.histogram(np.clip(v[np.isfinite(v)], lo, hi), bins=edges)
        counts[i] = c / max(1, c.sum())
    return counts, edges


def _require_gradients(layers, what: str) -> None:
    """Raise if no layer has a gradient yet (a list of zeros would look like a vanished
    gradient)."""
    if layers and all(m.weight.grad is None for _, m in layers):
        raise ValueError(f"{what}: no layer has a gradient yet; run loss.backward() first "
                         "(or use diagnostics.forward_backward(model, X, y))")


def gradient_norms(model: nn.Module) -> list[float]:
    """‖∂L/∂W‖₂ of each Linear/conv weight in module order (0.0 for a layer without a
    gradient, e.g. a frozen one).  Raises if no layer has a gradient yet."""
    layers = linear_layers(model)
    _require_gradients(layers, "gradient_norms")
    return [float(m.weight.grad.norm()) if m.weight.grad is not None else 0.0
            for _, m in layers]


def grad_data_ratios(model: nn.Module) -> list[float]:
    """std(∂L/∂W) / std(W) of each Linear/conv weight in module order.  Raises if no layer
    has a gradient yet."""
    out = []
    layers = linear_layers(model)
    _require_gradients(layers, "grad_data_ratios")
    for _, m in layers:
        g, w = m.weight.grad, m.weight.detach()
        out.append(float(g.std() / w.std()) if g is not None and w.std() > 0 else 0.0)
    return out


def forward_backward(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn=None,
                     record_activations: bool = True):
    """Zero grads, one forward and backward; return ``(loss, activation stats, grad norms)``."""
    _check_model(model)
    check_tensor("X", X)
    check_tensor("y", y)
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same length, got {len(X)} and {len(y)}")
    loss_fn = check_loss_fn(loss_fn)
    model.zero_grad(set_to_none=True)
    if record_activations:
        with ActivationRecorder(model) as rec:
            loss = loss_fn(model(X), y)
        stats = rec.stats
    else:
        loss, stats = loss_fn(model(X), y), []
    loss.backward()
    return loss.item(), stats, gradient_norms(model)


def layer_report(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn=None) -> list[dict]:
    """One forward/backward; one row per activation layer and one per Linear/conv layer.

    Rows of activations: layer, kind, mean, std, saturated, dead.  Rows of weights: layer,
    kind, grad_norm, grad_data.  In module order, so each weight row precedes the
    activation that follows it."""
    _check_model(model)
    _, stats, norms = forward_backward(model, X, y, loss_fn)
    ratios = grad_data_ratios(model)
    order = {n: i for i, (n, _) in enumerate(model.named_modules())}
    rows = [(order[s.name], {"layer": s.name, "kind": s.kind, "mean": s.mean, "std": s.std,
                             "saturated": s.saturated, "dead": s.dead}) for s in stats]
    rows += [(order[n], {"layer": n, "kind": type(m).__name__, "grad_norm": g, "grad_data": r})
             for (n, m), g, r in zip(linear_layers(model), norms, ratios)]
    return [r for _, r in sorted(rows, key=lambda t: t[0])]


def format_report(rows: list[dict]) -> str:
    """A fixed-width text table of :func:`layer_report` rows (3 significant digits)."""
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise TypeError("rows must be a list of dicts (from layer_report)")
    cols = ["layer", "kind", "mean", "std", "saturated", "dead", "grad_norm", "grad_data"]

    def cell(v):
        if v is None:
            return ""
        if isinstance(v, float):
            return f"{v:.3g}"
        return str(v)

    table = [cols] + [[cell(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(cols))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in table)


def _ratio_of_update(before: torch.Tensor, after: torch.Tensor) -> float:
    """std(after − before) / std(before), 0.0 where std(before) is 0 or undefined."""
    if before.numel() < 2:
        return 0.0
    sd = before.std()
    return float((after - before).std() / sd) if sd > 0 else 0.0


def _std(t: torch.Tensor) -> torch.Tensor:
    """Sample standard deviation as ‖t − mean‖ / √(n − 1): the same number as ``t.std()``
    (two passes, no cancellation) at a third of the cost; 0 for fewer than 2 values."""
    n = t.numel()
    if n < 2:
        return torch.zeros((), dtype=t.dtype)
    return (t - t.mean()).norm() / math.sqrt(n - 1)


class UpdateRatioTracker:
    """Records the update:data ratio std(W_after − W_before) / std(W_before) per layer.

    Call :meth:`before_step` right before ``optimizer.step()`` and :meth:`after_step` right
    after (or ``fit(..., **tracker.as_callbacks())``).  ``history`` has one list of
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
        self.history.append([_ratio_of_update(w0, m.weight.detach())
                             for w0, (_, m) in zip(self._before, self.layers)])
        self._before = None

    def as_callbacks(self) -> dict:
        """``{"after_backward": ..., "on_step": ...}`` for ``training.fit``."""
        return {"after_backward": self.before_step, "on_step": self.after_step}


class TrainingMonitor:
    """Per-layer health over training, recorded through ``training.fit``'s callbacks.

        monitor = TrainingMonitor(model, probe=X_val[:256], probe_every=20)
        fit(model, train, epochs=5, **monitor.callbacks())

    Every ``every`` optimizer steps it records the loss, each Linear/conv layer's gradient
    norm and grad:data ratio (after ``backward``, before the step, before any clipping you
    pass as ``callbacks(after_backward=...)``) and its update:data ratio over the step.
    Once before training and every ``probe_every`` steps it records the activation
    statistics of the fixed batch ``probe`` (mean, std, saturated and dead fractions), in
    eval mode and without gradients (the model's mode is restored).

    Results: ``steps``, ``loss`` and ``(steps × layers)`` arrays ``grad_norms``,
    ``grad_data``, ``update_data``; ``probe_steps`` and ``(probes × activation layers)``
    arrays ``act_mean``, ``act_std``, ``saturated``, ``dead`` (NaN where not defined).
    """

    def __init__(self, model: nn.Module, probe: torch.Tensor | None = None, *, every: int = 1,
                 probe_every: int | None = None):
        _check_model(model)
        if probe is not None:
            check_tensor("probe", probe)
        self.model = model
        self.probe = probe
        self.every = check_int("every", every, min_value=1)
        self.probe_every = (None if probe_every is None
                            else check_int("probe_every", probe_every, min_value=1))
        if self.probe_every is not None and probe is None:
            raise ValueError("probe_every needs a probe batch (probe=X[:256], say)")
        self.layers = linear_layers(model)
        self.layer_names = [n for n, _ in self.layers]
        self.activation_names = [n for n, _ in activation_modules(model)]
        self.steps: list[int] = []
        self.loss: list[float] = []
        self._grad_norms: list[list[float]] = []
        self._grad_data: list[list[float]] = []
        self._update_data: list[list[float]] = []
        self.probe_steps: list[int] = []
        self._probe: dict[str, list[list[float]]] = {k: [] for k in
                                                      ("mean", "std", "saturated", "dead")}
        self._n = 0
        self._before = None
        if probe is not None:
            self.record_probe(0)

    # -- recording --------------------------------------------------------------------------
    @torch.no_grad()
    def record_probe(self, step: int) -> None:
        """Activation statistics of the probe batch now, filed under ``step``."""
        if self.probe is None:
            raise ValueError("this monitor has no probe batch")
        was_training = self.model.training
        self.model.eval()
        try:
            stats = activation_stats(self.model, self.probe)
        finally:
            self.model.train(was_training)
        self.probe_steps.append(int(step))
        for key in self._probe:
            self._probe[key].append([np.nan if getattr(s, key) is None else getattr(s, key)
                                     for s in stats])

    def _after_backward(self, model) -> None:
        self._n += 1
        if self._n % self.every:
            self._before = None
            return
        norms, ratios, before, sds = [], [], [], []
        for _, m in self.layers:
            g, w = m.weight.grad, m.weight.detach()
            sd = _std(w)
            norms.append(g.norm() if g is not None else torch.zeros(()))
            ratios.append(_std(g) / sd if g is not None and sd > 0 else torch.zeros(()))
            before.append(w.clone())
            sds.append(sd)
        self._grad_norms.append(torch.stack(norms).tolist())
        self._grad_data.append(torch.stack(ratios).tolist())
        self._before = list(zip(before, sds))

    def _on_step(self, info: dict) -> None:
        if self._before is not None:
            ratios = [_std(m.weight.detach() - w0) / sd if sd > 0 else torch.zeros(())
                      for (w0, sd), (_, m) in zip(self._before, self.layers)]
            self._update_data.append(torch.stack(ratios).tolist())
            self.steps.append(self._n)
            self.loss.append(float(info["loss"]) if isinstance(info, dict) and "loss" in info
                             else float("nan"))
            self._before = None
        if self.probe_every is not None and self._n % self.probe_every == 0:
            self.record_probe(self._n)

    def callbacks(self, after_backward: Callable | None = None,
                  on_step: Callable | None = None) -> dict:
        """``{"after_backward": ..., "on_step": ...}`` for ``training.fit``; your own
        ``after_backward`` (e.g. clipping) and ``on_step`` run after the monitor's."""
        for name, fn in (("after_backward", after_backward), ("on_step", on_step)):
            if fn is not None and not callable(fn):
                raise TypeError(f"{name} must be callable or None, got {type(fn).__name__}")

        def _ab(model):
            self._after_backward(model)
            if after_backward is not None:
                after_backward(model)

        def _os(info):
            self._on_step(info)
            if on_step is not None:
                on_step(info)

        return {"after_backward": _ab, "on_step": _os}

    # -- results ----------------------------------------------------------------------------
    @staticmethod
    def _array(rows, width):
        return np.array(rows, dtype=float) if rows else np.zeros((0, width))

    @property
    def grad_norms(self) -> np.ndarray:
        return self._array(self._grad_norms, len(self.layers))

    @property
    def grad_data(self) -> np.ndarray:
        return self._array(self._grad_data, len(self.layers))

    @property
    def update_data(self) -> np.ndarray:
        return self._array(self._update_data, len(self.layers))

    @property
    def act_mean(self) -> np.ndarray:
        return self._array(self._probe["mean"], len(self.activation_names))

    @property
    def act_std(self) -> np.ndarray:
        return self._array(self._probe["std"], len(self.activation_names))

    @property
    def saturated(self) -> np.ndarray:
        return self._array(self._probe["saturated"], len(self.activation_names))

    @property
    def dead(self) -> np.ndarray:
        return self._array(self._probe["dead"], len(self.activation_names))
