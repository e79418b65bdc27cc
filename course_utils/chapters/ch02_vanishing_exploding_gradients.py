"""Chapter 02: vanishing and exploding gradients — the chapter's computations and explorer.

Backpropagation through a plain stack h_l = f(z_l), z_l = W_l h_{l−1} multiplies one factor
per layer:

    δ_l = ∂L/∂z_l = f′(z_l) ⊙ (W_{l+1}ᵀ δ_{l+1}),        ∂L/∂W_l = δ_l h_{l−1}ᵀ

so ‖δ_1‖ ≲ ‖δ_L‖ · Π_l ‖W_l‖ · max|f′|.  With the sigmoid, max σ′ = 1/4: the product shrinks
geometrically (vanishing); with large weights it grows geometrically (exploding).  A skip
connection h_{l+1} = h_l + F(h_l) turns each factor into (I + ∂F/∂h), which keeps it near 1.

Here: a NumPy sigmoid and its derivative that never overflow, :func:`gradient_flow` (one
forward/backward with every per-layer number the chapter plots), :func:`build_net` (the
explorer's networks) and the explorer itself.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.ticker import MaxNLocator
from torch import nn

from ..core import data, diagnostics, models, repro
from ..core.explorers import Explorer, register_explorer
from ..core.plotting import new_figure
from ..core.validation import (
    check_array,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_loss_fn,
    check_tensor,
)

__all__ = [
    "sigmoid",
    "sigmoid_derivative",
    "tanh_derivative",
    "saturation_table",
    "GradientFlow",
    "gradient_flow",
    "decades",
    "build_net",
    "probe_batch",
    "explore",
    "FlowFigure",
    "render",
    "make_explorer",
]

EXPLORER_ACTIVATIONS = ("sigmoid", "tanh", "relu", "linear")


# --------------------------------------------------------------------------------------
# Saturation
# --------------------------------------------------------------------------------------

def _float_array(name, z) -> np.ndarray:
    z = check_array(name, z, dtype_kind="fiub")
    return z.astype(np.float64) if z.dtype.kind != "f" else z


def sigmoid(z) -> np.ndarray:
    """σ(z) = 1 / (1 + e^{−z}) elementwise, without overflow for any finite z.

    With e = e^{−|z|} ≤ 1:  σ(z) = 1/(1 + e) for z ≥ 0 and e/(1 + e) for z < 0 — both the
    same function, but e^{−|z|} never overflows (e^{1000} would).  Integer input gives
    float64; float input keeps its dtype."""
    z = _float_array("z", z)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)


def sigmoid_derivative(z) -> np.ndarray:
    """σ′(z) = σ(z)(1 − σ(z)) = e^{−|z|} / (1 + e^{−|z|})², at most 1/4 (at z = 0)."""
    z = _float_array("z", z)
    e = np.exp(-np.abs(z))
    return (e / (1.0 + e) ** 2).astype(z.dtype, copy=False)


def tanh_derivative(z) -> np.ndarray:
    """tanh′(z) = 1 − tanh²(z), at most 1 (at z = 0); ``np.tanh`` itself never overflows."""
    z = _float_array("z", z)
    t = np.tanh(z)
    return 1.0 - t * t


def saturation_table(z=(-5.0, -2.0, 0.0, 2.0, 5.0)) -> dict[str, np.ndarray]:
    """σ, σ′, tanh and tanh′ at the points ``z`` (a dict of arrays, one per column)."""
    z = _float_array("z", z).astype(np.float64).reshape(-1)
    return {"z": z, "sigmoid": sigmoid(z), "sigmoid'": sigmoid_derivative(z),
            "tanh": np.tanh(z), "tanh'": tanh_derivative(z)}


# --------------------------------------------------------------------------------------
# Gradient flow through a network
# --------------------------------------------------------------------------------------

@dataclass
class GradientFlow:
    """Everything one forward/backward tells about a network's gradient flow.

    Per Linear/conv layer (module order, output layer last): ``layer_names``,
    ``grad_norms`` ‖∂L/∂W_l‖₂, ``grad_data`` std(∂L/∂W_l)/std(W_l).
    Per activation module: ``act_names``, ``act_mean``, ``act_std``, ``saturated``,
    ``dead`` (NaN where the notion does not apply), ``signal`` ‖∂L/∂h_l‖ (the backward
    signal reaching that activation's output) and the histogram rows ``hist`` over
    ``hist_edges``.  ``diverged`` is True when the loss or a gradient is not finite."""

    layer_names: list
    grad_norms: np.ndarray
    grad_data: np.ndarray
    act_names: list
    act_kind: str | None
    act_mean: np.ndarray
    act_std: np.ndarray
    saturated: np.ndarray
    dead: np.ndarray
    signal: np.ndarray
    hist: np.ndarray
    hist_edges: np.ndarray
    loss: float
    diverged: bool

    @property
    def factors(self) -> np.ndarray:
        """Per-layer backward factors ‖∂L/∂h_l‖ / ‖∂L/∂h_{l+1}‖ (their product telescopes
        to ‖∂L/∂h_1‖ / ‖∂L/∂h_last‖)."""
        s = self.signal
        with np.errstate(divide="ignore", invalid="ignore"):
            return s[:-1] / s[1:]


def _nan_if_none(values):
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def gradient_flow(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn=None, *,
                  bins: int = 30, value_range: tuple[float, float] | None = None,
                  standardize_hist: bool = False) -> GradientFlow:
    """Zero the grads, run one forward and backward of ``loss_fn(model(X), y)`` (default
    cross-entropy) in the model's current mode, and collect :class:`GradientFlow`.

    ``value_range`` fixes the histogram range (default: the range of all activations);
    ``standardize_hist`` histograms h / std(h) per layer (the shape, not the scale)."""
    diagnostics._check_model(model)
    check_tensor("X", X)
    check_tensor("y", y)
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same length, got {len(X)} and {len(y)}")
    bins = check_int("bins", bins, min_value=1, max_value=1000)
    check_bool("standardize_hist", standardize_hist)
    loss_fn = check_loss_fn(loss_fn)
    targets = diagnostics.activation_modules(model)
    signals: dict[int, float] = {}  # call number → ‖∂L/∂output‖, in forward-call order
    calls = [0]
    handles = []

    def hook(module, inp, out):
        j = calls[0]
        calls[0] += 1
        if isinstance(out, torch.Tensor) and out.requires_grad:
            out.register_hook(lambda g: signals.__setitem__(j, float(g.norm())))

    model.zero_grad(set_to_none=True)
    try:
        for _, m in targets:
            handles.append(m.register_forward_hook(hook))
        with diagnostics.ActivationRecorder(model, targets) as rec:
            loss = loss_fn(model(X), y)
        loss.backward()
    finally:
        for h in handles:
            h.remove()
    stats = rec.stats
    norms = np.array(diagnostics.gradient_norms(model), dtype=float)
    ratios = np.array(diagnostics.grad_data_ratios(model), dtype=float)
    kinds = {diagnostics.activation_kind(m) for _, m in targets}
    if standardize_hist:
        stats_h = [dataclasses.replace(s, values=s.values / s.std)
                   if s.std > 0 and math.isfinite(s.std) else s for s in stats]
    else:
        stats_h = stats
    hist, edges = (diagnostics.activation_histograms(stats_h, bins, value_range) if stats
                   else (np.zeros((0, bins)), np.linspace(0.0, 1.0, bins + 1)))
    loss_value = float(loss.detach())
    diverged = not (math.isfinite(loss_value) and np.all(np.isfinite(norms)))
    return GradientFlow(
        layer_names=[n for n, _ in diagnostics.linear_layers(model)],
        grad_norms=norms, grad_data=ratios,
        act_names=[s.name for s in stats],
        act_kind=kinds.pop() if len(kinds) == 1 else None,
        act_mean=np.array([s.mean for s in stats], dtype=float),
        act_std=np.array([s.std for s in stats], dtype=float),
        saturated=_nan_if_none(s.saturated for s in stats),
        dead=_nan_if_none(s.dead for s in stats),
        signal=np.array([signals.get(i, np.nan) for i in range(len(stats))], dtype=float),
        hist=hist, hist_edges=edges, loss=loss_value, diverged=bool(diverged))


def decades(values) -> float:
    """log₁₀(max / min) of positive values: how many orders of magnitude they span
    (inf if one of them is 0 or not finite)."""
    v = check_array("values", values, ndim=1, dtype_kind="fiu").astype(float)
    if v.size == 0:
        raise ValueError("values must not be empty")
    if np.any(v < 0):
        raise ValueError("values must be ≥ 0 (norms)")
    if not np.all(np.isfinite(v)) or v.min() == 0:
        return math.inf
    return float(np.log10(v.max() / v.min()))


@functools.lru_cache(maxsize=16)
def _unit_weights(depth: int, width: int, in_features: int, out_features: int,
                  seed: int) -> tuple[torch.Tensor, ...]:
    """Weights w ~ N(0, 1/fan_in) of the depth + 1 Linear layers (cached, seeded; layer l
    is the same for every depth ≥ l, so a deeper net extends a shallower one)."""
    gen = repro.generator(seed)
    dims = [in_features] + [width] * depth + [out_features]
    return tuple(torch.randn(dims[i + 1], dims[i], generator=gen) / math.sqrt(dims[i])
                 for i in range(depth + 1))


def build_net(depth: int = 10, width: int = 64, activation: str = "sigmoid",
              weight_scale: float = 1.0, residual: bool = False, *, in_features: int = 64,
              out_features: int = 10, seed: int = 0) -> nn.Sequential:
    """A ``depth``-hidden-layer MLP with weights w ~ N(0, weight_scale² / fan_in), bias 0.

    ``weight_scale`` is the gain: 1 is LeCun's init, √2 He's for ReLU; ``residual`` adds a
    skip connection around every hidden layer after the first (``models.residual_mlp``).
    The weights depend only on (depth, width, seed) up to the factor ``weight_scale``, so
    changing the activation or adding skips changes nothing else.  The global RNG is not
    touched."""
    depth = check_int("depth", depth, min_value=1, max_value=200)
    width = check_int("width", width, min_value=1, max_value=4096)
    check_choice("activation", activation, EXPLORER_ACTIVATIONS)
    weight_scale = check_float("weight_scale", weight_scale, min_value=0.0, min_inclusive=False)
    check_bool("residual", residual)
    in_features = check_int("in_features", in_features, min_value=1)
    out_features = check_int("out_features", out_features, min_value=1)
    seed = check_int("seed", seed, min_value=0)
    builder = models.residual_mlp if residual else models.mlp
    with torch.random.fork_rng(devices=[]):
        model = builder(in_features, out_features, depth=depth, width=width,
                        activation=activation, init="zeros")
    with torch.no_grad():
        for (_, layer), w in zip(diagnostics.linear_layers(model),
                                 _unit_weights(depth, width, in_features, out_features, seed)):
            layer.weight.copy_(weight_scale * w)
    return model


@functools.lru_cache(maxsize=4)
def probe_batch(n: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` standardized digits of the training split (fixed, cached)."""
    n = check_int("n", n, min_value=1, max_value=1000)
    splits = data.load_digits_data()
    return splits.X_train[:n].clone(), splits.y_train[:n].clone()


# --------------------------------------------------------------------------------------
# Explorer
# --------------------------------------------------------------------------------------

_RANGES = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}


_FUNCTIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
              "linear": lambda z: z}


def explore(depth: int = 10, width: int = 64, activation: str = "sigmoid",
            weight_scale: float = 1.0, residual: bool = False, *, bins: int = 24) -> GradientFlow:
    """The explorer's computation: the network of :func:`build_net` on 64 fixed digits,
    one forward and backward — written functionally (no modules, no hooks, statistics of
    all layers in one vectorized pass) so it takes milliseconds.  It gives the same
    numbers as ``gradient_flow(build_net(...), X, y)``; the tests check that.

    Histograms use the activation's own range for sigmoid/tanh, and h / std(h) in [−4, 4]
    (the shape, not the scale) for ReLU and linear units."""
    depth = check_int("depth", depth, min_value=1, max_value=200)
    width = check_int("width", width, min_value=1, max_value=4096)
    check_choice("activation", activation, EXPLORER_ACTIVATIONS)
    weight_scale = check_float("weight_scale", weight_scale, min_value=0.0, min_inclusive=False)
    check_bool("residual", residual)
    bins = check_int("bins", bins, min_value=1, max_value=1000)
    X, y = probe_batch(64)
    f = _FUNCTIONS[activation]
    weights = [(weight_scale * w).requires_grad_() for w in _unit_weights(depth, width, 64, 10, 0)]
    acts = []
    with torch.enable_grad():
        h = X @ weights[0].T
        if not residual:
            h = f(h)
            acts.append(h)
        for W in weights[1:-1]:
            if residual:
                a = f(h)
                acts.append(a)
                h = h + a @ W.T
            else:
                h = f(h @ W.T)
                acts.append(h)
        if residual:
            h = f(h)
            acts.append(h)
        loss = nn.functional.cross_entropy(h @ weights[-1].T, y)
        grads = torch.autograd.grad(loss, weights + acts)
    n = len(weights)
    with torch.no_grad():
        A = torch.stack([a.detach() for a in acts])            # (depth, N, width)
        flat = A.reshape(depth, -1)
        mean, std = flat.mean(1), flat.std(1)
        gw = grads[:n]
        norms = torch.stack([g.norm() for g in gw]).double().numpy()
        ratios = torch.stack([g.std() / w.std() for g, w in zip(gw, weights)]).double().numpy()
        signal = torch.stack([g.norm() for g in grads[n:]]).double().numpy()
        nan = torch.full((depth,), float("nan"))
        saturated = dead = nan
        if activation == "tanh":
            saturated = (flat.abs() > diagnostics.SATURATION_THRESHOLD).float().mean(1)
        elif activation == "sigmoid":
            t = diagnostics.SATURATION_THRESHOLD
            saturated = ((flat < 1 - t) | (flat > t)).float().mean(1)
        elif activation == "relu":
            dead = (A.amax(dim=1) <= 0).float().mean(1)
        lo, hi = _RANGES.get(activation, (-4.0, 4.0))
        if activation in _RANGES:
            V = flat
        else:
            V = flat / torch.where((std > 0) & torch.isfinite(std), std, 1.0)[:, None]
        V = torch.nan_to_num(V, nan=lo, posinf=hi, neginf=lo)
        idx = ((V - lo) / (hi - lo) * bins).floor().clamp(0, bins - 1).long()
        idx = idx + bins * torch.arange(depth)[:, None]
        counts = torch.bincount(idx.reshape(-1), minlength=depth * bins).reshape(depth, bins)
        hist = (counts / counts.sum(1, keepdim=True).clamp(min=1)).double().numpy()
    loss_value = float(loss.detach())
    diverged = not (math.isfinite(loss_value) and np.all(np.isfinite(norms)))
    names = ([str(i) for i in range(0, 2 * depth + 1, 2)] if not residual else
             ["0"] + [f"{i}.branch.1" for i in range(1, depth)] + [str(depth + 1)])
    act_names = ([str(i) for i in range(1, 2 * depth, 2)] if not residual else
                 [f"{i}.branch.0" for i in range(1, depth)] + [str(depth)])
    return GradientFlow(
        layer_names=names, grad_norms=norms, grad_data=ratios, act_names=act_names,
        act_kind=None if activation == "linear" else activation,
        act_mean=mean.double().numpy(), act_std=std.double().numpy(),
        saturated=saturated.double().numpy(), dead=dead.double().numpy(), signal=signal,
        hist=hist, hist_edges=np.linspace(lo, hi, bins + 1), loss=loss_value,
        diverged=bool(diverged))


def _log10(v: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log10(np.asarray(v, dtype=float))
    out[~np.isfinite(out)] = np.nan
    return out


class FlowFigure:
    """The explorer's picture, built once and then updated in place (new data on the same
    lines and image): redrawing an existing figure costs about half as much as building a
    new one, which keeps a control change near 100 ms.  Call it as ``render(result)``.

    Left: log₁₀ of the per-layer gradient norms ‖∂L/∂W_l‖ (circles) and activation stds
    (squares) — log values on a linear axis, cheaper than a log axis.  Right: per-layer
    activation histograms as an image (layer → x, value → y, brightness → share of the
    layer's values)."""

    def __init__(self):
        self.fig, _ = new_figure(2, width=6.4, height=2.4, dpi=72)
        ax, hx = self.fig.axes
        for a in (ax, hx):
            a.xaxis.set_major_locator(MaxNLocator(5, integer=True))
            a.yaxis.set_major_locator(MaxNLocator(5))
        (self.grad_line,) = ax.plot([], [], "o-", ms=3)
        (self.std_line,) = ax.plot([], [], "s-", ms=3)
        colors = [self.grad_line.get_color(), self.std_line.get_color()]
        # Labels and titles at fixed places (plain texts): matplotlib would otherwise
        # measure every tick label on each redraw to place them.
        self._label(ax, "layer (input → output)", "log₁₀")
        self._label(hx, "layer", "")
        self.ylabel = hx.texts[-1]
        ax.text(0.0, 1.04, "● gradient norm ‖∂L/∂W‖", color=colors[0], transform=ax.transAxes,
                fontsize=9, va="bottom")
        ax.text(1.0, 1.04, "■ std(h)", color=colors[1], transform=ax.transAxes,
                fontsize=9, va="bottom", ha="right")
        self.diverged = ax.text(0.5, 0.5, "diverged (overflow)", color="#b00", fontsize=12,
                                ha="center", va="center", transform=ax.transAxes)
        self.title = hx.text(0.5, 1.04, "", transform=hx.transAxes, fontsize=9,
                             ha="center", va="bottom")
        self.image = hx.imshow(np.zeros((2, 2)), aspect="auto", origin="lower",
                               cmap="viridis", interpolation="nearest")
        hx.grid(False)

    @staticmethod
    def _label(axis, xlabel, ylabel):
        axis.text(0.5, -0.2, xlabel, transform=axis.transAxes, ha="center", va="top")
        axis.text(-0.13, 0.5, ylabel, transform=axis.transAxes, ha="right", va="center",
                  rotation=90)

    def __call__(self, result: GradientFlow, values: dict | None = None):
        if not isinstance(result, GradientFlow):
            raise TypeError(f"result must be a GradientFlow, got {type(result).__name__}")
        ax, hx = self.fig.axes
        g, s = _log10(result.grad_norms), _log10(result.act_std)
        self.grad_line.set_data(np.arange(1, len(g) + 1), g)
        self.std_line.set_data(np.arange(1, len(s) + 1), s)
        finite = np.concatenate([g[np.isfinite(g)], s[np.isfinite(s)]])
        lo, hi = (finite.min(), finite.max()) if finite.size else (-1.0, 1.0)
        pad = max(0.25, 0.06 * (hi - lo))
        ax.set_xlim(0.5, len(g) + 0.5)
        ax.set_ylim(lo - pad, hi + pad)
        self.diverged.set_visible(bool(result.diverged))
        n, e = len(result.hist), result.hist_edges
        if n:
            self.image.set_data(result.hist.T)
            self.image.set_extent((0.5, n + 0.5, e[0], e[-1]))
            self.image.set_clim(0, max(1e-9, float(np.nanmax(result.hist))))
            hx.set_xlim(0.5, n + 0.5)
            hx.set_ylim(e[0], e[-1])
        self.ylabel.set_text("activation" if result.act_kind in _RANGES else "h / std(h)")
        word, frac = ("saturated", result.saturated) if np.isfinite(result.saturated).any() \
            else ("dead", result.dead)
        self.title.set_text(f"{word}: {100 * frac[-1]:.0f}% in the last layer"
                            if np.isfinite(frac).any() else "activation histograms")
        return self.fig


def render(result: GradientFlow, values: dict | None = None):
    """A new figure of ``result`` (see :class:`FlowFigure`; the explorer reuses one)."""
    return FlowFigure()(result, values)


@register_explorer("02 gradient flow")
def make_explorer() -> Explorer:
    """Depth, width, activation, weight scale and skips → one forward/backward on 64
    digits → per-layer gradient norms, activation stds and activation histograms."""
    controls = {
        "depth": widgets.IntSlider(value=10, min=2, max=50, description="depth"),
        "width": widgets.IntSlider(value=64, min=16, max=128, step=16, description="width"),
        "activation": widgets.Dropdown(options=list(EXPLORER_ACTIVATIONS), value="sigmoid",
                                       description="activation"),
        "weight_scale": widgets.FloatLogSlider(value=1.0, base=2, min=-2, max=3, step=0.25,
                                               description="weight gain",
                                               readout_format=".2f"),
        "residual": widgets.Checkbox(value=False, description="skip connections"),
    }
    return Explorer(explore, FlowFigure(), controls, title="Gradient flow through depth")
