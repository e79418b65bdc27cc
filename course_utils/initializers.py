"""Weight initialization from scratch, applied to a whole model in one call.

A linear layer computes y_i = Σ_j w_ij x_j over ``fan_in`` inputs and feeds ``fan_out``
units. With independent, zero-mean weights and inputs,

    Var(y) = fan_in · Var(w) · E[x²]                      (forward)
    Var(∂L/∂x) = fan_out · Var(w) · Var(∂L/∂y)            (backward, linear part)

Keeping both variances constant from layer to layer gives the classic schemes
(weights of shape ``(fan_out, fan_in)``, as ``nn.Linear`` stores them; biases set to 0):

* LeCun:          Var(w) = gain² / fan_in                    (linear / SELU, gain 1)
* Glorot/Xavier:  Var(w) = gain² · 2 / (fan_in + fan_out) = gain² / fan_avg;
  uniform U(−r, r) with r = gain · √(3 / fan_avg) = gain · √(6 / (fan_in + fan_out))
* He/Kaiming:     Var(w) = gain² · 2 / fan_in   (ReLU halves E[x²]); uniform r = gain·√(6/fan_in)
* normal:         w ~ N(0, std²);  zeros / constant: every weight equal (symmetry never breaks)
* default:        PyTorch's ``nn.Linear`` default U(±1/√fan_in) for weights *and* biases
  (``kaiming_uniform_(a=√5)``) — Glorot & Bengio's "standard" heuristic, not He.

Here ``gain`` is an extra multiplier of the standard deviation (1 = the paper's scheme). For
Xavier it is where the activation's gain goes (:func:`calculate_gain`: tanh 5/3, ReLU √2).

Also here: :func:`distinct_units` (symmetry), :func:`forward_stats` (per-layer activation
statistics of a deep stack at initialization), :func:`pretrain_greedy` (greedy layer-wise
pretraining, the historical answer) and the chapter's live explorer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from .explorers import Explorer, register_explorer
from .validation import check_choice, check_float, check_int

SCHEMES = ("default", "xavier_uniform", "xavier_normal", "he_normal", "he_uniform",
           "lecun_normal", "normal", "zeros", "constant")

#: Names :func:`calculate_gain` knows (PyTorch's ``nn.functional`` names, plus "identity").
GAIN_NAMES = ("linear", "identity", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
              "conv_transpose2d", "conv_transpose3d", "sigmoid", "tanh", "relu",
              "leaky_relu", "selu")


# --------------------------------------------------------------------------- fans, gains
def fan_in_and_fan_out(shape) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of ``shape`` (a tuple, ``torch.Size`` or tensor).

    Linear ``(out, in)``: fan_in = in, fan_out = out.  Convolution ``(out, in, k₁, k₂, …)``:
    both are multiplied by the receptive field k₁·k₂·…  (as ``torch.nn.init`` computes them).
    """
    if isinstance(shape, torch.Tensor):
        shape = tuple(shape.shape)
    if not isinstance(shape, Sequence) or isinstance(shape, str):
        raise TypeError(f"shape must be a tuple of ints or a tensor, got {type(shape).__name__}")
    shape = tuple(check_int(f"shape[{i}]", s, min_value=1) for i, s in enumerate(shape))
    if len(shape) < 2:
        raise ValueError(f"shape must have at least 2 dimensions (out, in, ...), got {shape}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def fan(fan_in: int, fan_out: int, mode: str = "fan_in") -> float:
    """``fan_in``, ``fan_out`` or ``fan_avg`` = (fan_in + fan_out) / 2, chosen by ``mode``."""
    fan_in = check_int("fan_in", fan_in, min_value=1)
    fan_out = check_int("fan_out", fan_out, min_value=1)
    mode = check_choice("mode", mode, ["fan_in", "fan_out", "fan_avg"])
    return {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain PyTorch recommends for an activation (``torch.nn.init.calculate_gain``).

    linear/conv/sigmoid 1, tanh 5/3, ReLU √2, leaky ReLU √(2 / (1 + slope²)) (slope
    ``param``, default 0.01), SELU 3/4.  **Pitfall:** the SELU value 3/4 is an empirical
    choice for gradient flow; it *breaks* self-normalization, which needs Var(w) = 1/fan_in,
    i.e. LeCun normal with gain 1 (``'linear'``).
    """
    check_choice("nonlinearity", nonlinearity, GAIN_NAMES)
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "selu":
        return 0.75
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else check_float("param", param)
        return math.sqrt(2.0 / (1.0 + slope ** 2))
    return 1.0


def scheme_std(scheme: str, fan_in: int, fan_out: int, *, gain: float = 1.0,
               std: float = 0.01) -> float:
    """The standard deviation of a weight under ``scheme`` (for plots and tests).

    Uniform schemes have std = r / √3.  ``default`` gives 1/√(3·fan_in); ``constant`` and
    ``zeros`` give 0."""
    check_choice("scheme", scheme, SCHEMES)
    gain = check_float("gain", gain, min_value=0.0)
    std = check_float("std", std, min_value=0.0)
    fan_in = check_int("fan_in", fan_in, min_value=1)
    fan_out = check_int("fan_out", fan_out, min_value=1)
    if scheme in ("xavier_uniform", "xavier_normal"):
        return gain * math.sqrt(2.0 / (fan_in + fan_out))
    if scheme in ("he_normal", "he_uniform"):
        return gain * math.sqrt(2.0 / fan_in)
    if scheme == "lecun_normal":
        return gain * math.sqrt(1.0 / fan_in)
    if scheme == "default":
        return 1.0 / math.sqrt(3.0 * fan_in)
    if scheme == "normal":
        return std
    return 0.0


# --------------------------------------------------------------------- drawing weights
def _check_draw_args(fan_in, fan_out, generator, shape, gain=1.0):
    fan_in = check_int("fan_in", fan_in, min_value=1)
    fan_out = check_int("fan_out", fan_out, min_value=1)
    gain = check_float("gain", gain, min_value=0.0)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    if shape is None:
        shape = (fan_out, fan_in)
    else:
        fans = fan_in_and_fan_out(shape)
        if fans != (fan_in, fan_out):
            raise ValueError(f"shape {tuple(shape)} has (fan_in, fan_out) = {fans}, "
                             f"which does not match fan_in={fan_in}, fan_out={fan_out}")
        shape = tuple(shape)
    return fan_in, fan_out, generator, shape, gain


def _uniform(shape, bound, generator):
    """U(−bound, bound): a U(0, 1) draw u mapped to (2u − 1)·bound."""
    u = torch.rand(shape, generator=generator)
    return (2.0 * u - 1.0) * bound


def _normal(shape, std, generator):
    """N(0, std²): a standard normal draw times std."""
    return torch.randn(shape, generator=generator) * std


def xavier_uniform(fan_in: int, fan_out: int, generator: torch.Generator | None = None, *,
                   gain: float = 1.0, shape=None) -> torch.Tensor:
    """Glorot/Xavier uniform: U(−r, r), r = gain·√(6 / (fan_in + fan_out)).

    Returns a float tensor of shape ``(fan_out, fan_in)`` (or ``shape``, e.g. a conv kernel
    whose fans are ``fan_in``/``fan_out``), drawn from ``generator`` (global RNG if None)."""
    fan_in, fan_out, generator, shape, gain = _check_draw_args(fan_in, fan_out, generator, shape, gain)
    return _uniform(shape, gain * math.sqrt(6.0 / (fan_in + fan_out)), generator)


def xavier_normal(fan_in: int, fan_out: int, generator: torch.Generator | None = None, *,
                  gain: float = 1.0, shape=None) -> torch.Tensor:
    """Glorot/Xavier normal: N(0, gain² · 2 / (fan_in + fan_out)), shape ``(fan_out, fan_in)``."""
    fan_in, fan_out, generator, shape, gain = _check_draw_args(fan_in, fan_out, generator, shape, gain)
    return _normal(shape, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def he_normal(fan_in: int, fan_out: int, generator: torch.Generator | None = None, *,
              gain: float = 1.0, mode: str = "fan_in", shape=None) -> torch.Tensor:
    """He/Kaiming normal: N(0, gain² · 2 / fan), fan = fan_in (default) or fan_out.

    Equals ``kaiming_normal_(w, mode=mode, nonlinearity='relu')`` in distribution."""
    fan_in, fan_out, generator, shape, gain = _check_draw_args(fan_in, fan_out, generator, shape, gain)
    n = fan(fan_in, fan_out, check_choice("mode", mode, ["fan_in", "fan_out"]))
    return _normal(shape, gain * math.sqrt(2.0 / n), generator)


def he_uniform(fan_in: int, fan_out: int, generator: torch.Generator | None = None, *,
               gain: float = 1.0, mode: str = "fan_in", shape=None) -> torch.Tensor:
    """He/Kaiming uniform: U(−r, r), r = gain·√(6 / fan) (variance 2/fan), fan = fan_in default."""
    fan_in, fan_out, generator, shape, gain = _check_draw_args(fan_in, fan_out, generator, shape, gain)
    n = fan(fan_in, fan_out, check_choice("mode", mode, ["fan_in", "fan_out"]))
    return _uniform(shape, gain * math.sqrt(6.0 / n), generator)


def lecun_normal(fan_in: int, fan_out: int, generator: torch.Generator | None = None, *,
                 gain: float = 1.0, shape=None) -> torch.Tensor:
    """LeCun normal: N(0, gain² / fan_in) — with gain 1, what SELU needs to self-normalize."""
    fan_in, fan_out, generator, shape, gain = _check_draw_args(fan_in, fan_out, generator, shape, gain)
    return _normal(shape, gain * math.sqrt(1.0 / fan_in), generator)


def normal(fan_in: int, fan_out: int, generator: torch.Generator | None = None, *,
           std: float = 0.01, shape=None) -> torch.Tensor:
    """N(0, std²) whatever the fans: too small vanishes with depth, too large explodes."""
    fan_in, fan_out, generator, shape, _ = _check_draw_args(fan_in, fan_out, generator, shape)
    return _normal(shape, check_float("std", std, min_value=0.0), generator)


def standard_uniform(fan_in: int, fan_out: int, generator: torch.Generator | None = None, *,
                     shape=None) -> torch.Tensor:
    """U(−1/√fan_in, 1/√fan_in): Var(w) = 1/(3·fan_in). PyTorch's default for ``nn.Linear``
    and ``nn.Conv*`` weights, and Glorot & Bengio's "standard" initialization."""
    fan_in, fan_out, generator, shape, _ = _check_draw_args(fan_in, fan_out, generator, shape)
    return _uniform(shape, 1.0 / math.sqrt(fan_in), generator)


_DRAW = {"xavier_uniform": xavier_uniform, "xavier_normal": xavier_normal,
         "he_normal": he_normal, "he_uniform": he_uniform, "lecun_normal": lecun_normal}


# ----------------------------------------------------------------- applying to a model
@torch.no_grad()
def init_layer(layer: nn.Module, scheme: str, *, gain: float = 1.0, std: float = 0.01,
               value: float = 0.1, generator: torch.Generator | None = None) -> None:
    """Initialize one ``nn.Linear``/``nn.Conv*`` in place with ``scheme``.

    Biases are set to 0, except for ``default`` which draws weights *and* bias from
    U(±1/√fan_in) like PyTorch's ``reset_parameters``.  ``gain`` multiplies the std of the
    Xavier/He/LeCun schemes; ``std`` is the normal scheme's; ``value`` the constant's."""
    if not isinstance(layer, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        raise TypeError(f"layer must be an nn.Linear or nn.Conv1d/2d/3d, got {type(layer).__name__}")
    check_choice("scheme", scheme, SCHEMES)
    gain = check_float("gain", gain, min_value=0.0)
    std = check_float("std", std, min_value=0.0)
    value = check_float("value", value)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    w = layer.weight
    fan_in, fan_out = fan_in_and_fan_out(w.shape)
    kw = {"generator": generator, "shape": tuple(w.shape)}
    if scheme in _DRAW:
        new = _DRAW[scheme](fan_in, fan_out, gain=gain, **kw)
    elif scheme == "default":
        new = standard_uniform(fan_in, fan_out, **kw)
    elif scheme == "normal":
        new = normal(fan_in, fan_out, std=std, **kw)
    elif scheme == "zeros":
        new = torch.zeros(w.shape)
    else:
        new = torch.full(w.shape, value)
    w.copy_(new)
    if layer.bias is not None:
        if scheme == "default":
            layer.bias.copy_(_uniform(layer.bias.shape, 1.0 / math.sqrt(fan_in), generator))
        else:
            layer.bias.zero_()


def initialize(model: nn.Module, scheme: str = "default", **kwargs) -> nn.Module:
    """Apply :func:`init_layer` to every Linear and Conv layer of ``model``; return it.

    ``kwargs`` go to :func:`init_layer` (``gain``, ``std``, ``value``, ``generator``)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    check_choice("scheme", scheme, SCHEMES)
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            init_layer(m, scheme, **kwargs)
    return model


# ------------------------------------------------------------------------- diagnostics
def distinct_units(weight: torch.Tensor, atol: float = 1e-6) -> int:
    """How many different rows (hidden units) a weight matrix ``(units, inputs)`` has.

    Rows closer than ``atol`` (max absolute difference) count as one: after constant
    initialization every unit of a layer stays the same, so this stays 1."""
    if not isinstance(weight, torch.Tensor):
        raise TypeError(f"weight must be a torch.Tensor, got {type(weight).__name__}")
    if weight.ndim < 2:
        raise ValueError(f"weight must have at least 2 dimensions (units, ...), got shape {tuple(weight.shape)}")
    atol = check_float("atol", atol, min_value=0.0)
    rows = weight.detach().reshape(weight.shape[0], -1).double()
    representatives: list[torch.Tensor] = []
    for r in rows:
        if not any(float((r - q).abs().max()) <= atol for q in representatives):
            representatives.append(r)
    return len(representatives)


def forward_stats(scheme: str, activation: str = "relu", *, depth: int = 50, width: int = 256,
                  n_samples: int = 1000, gain: float = 1.0, std: float = 0.01, seed: int = 0):
    """Per-layer activation statistics of a fresh deep MLP at initialization.

    A stack of ``depth`` blocks Linear(width, width) → ``activation``, initialized with
    ``scheme`` (biases 0), is fed ``n_samples`` standard-normal inputs.  Returns the list of
    :class:`course_utils.diagnostics.LayerStats` (one per activation: mean, std, saturated
    or dead fraction, a sample of values), recorded by ``diagnostics.activation_stats``."""
    from . import diagnostics, models  # models imports this module: import here

    check_choice("scheme", scheme, SCHEMES)
    depth = check_int("depth", depth, min_value=1, max_value=500)
    width = check_int("width", width, min_value=1, max_value=4096)
    n_samples = check_int("n_samples", n_samples, min_value=2, max_value=100_000)
    seed = check_int("seed", seed, min_value=0)
    g = torch.Generator().manual_seed(seed)
    model = models.mlp(width, 1, depth=depth, width=width, activation=activation)
    initialize(model, scheme, gain=gain, std=std, generator=g)
    X = torch.randn(n_samples, width, generator=g)
    return diagnostics.activation_stats(model, X)


# --------------------------------------------------------- greedy layer-wise pretraining
def pretrain_greedy(model: nn.Sequential, X: torch.Tensor, y: torch.Tensor, *, epochs: int = 2,
                    lr: float = 0.005, batch_size: int = 64, seed: int = 0) -> list[float]:
    """Greedy layer-wise supervised pretraining (Bengio et al. 2007), in place.

    Bottom-up, for each hidden block Linear → activation of ``model``: compute its inputs h
    with the blocks below (already trained, frozen), then train only this block plus a
    temporary linear classifier on top — a *shallow* network, which trains easily — for
    ``epochs`` passes of Adam (learning rate ``lr``; Adam's steps do not depend on the scale
    of the inputs, which varies from stage to stage) with cross-entropy on ``y``.  The last
    temporary classifier becomes the model's head.  Every stage starts from the block's
    current weights.  Returns each stage's training accuracy."""
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be an nn.Sequential (e.g. from models.mlp), got {type(model).__name__}")
    if not isinstance(X, torch.Tensor) or X.ndim != 2 or not X.is_floating_point():
        raise TypeError("X must be a 2-D floating-point torch.Tensor of inputs (N, features)")
    if not isinstance(y, torch.Tensor) or y.ndim != 1 or y.is_floating_point() or len(y) != len(X):
        raise TypeError("y must be a 1-D integer torch.Tensor of class labels, one per row of X")
    epochs = check_int("epochs", epochs, min_value=1)
    lr = check_float("lr", lr, min_value=0.0, min_inclusive=False)
    batch_size = check_int("batch_size", batch_size, min_value=1)
    g = torch.Generator().manual_seed(check_int("seed", seed, min_value=0))
    mods = list(model)
    linear_idx = [i for i, m in enumerate(mods) if isinstance(m, nn.Linear)]
    if len(linear_idx) < 2:
        raise ValueError("model needs at least one hidden Linear layer before its head")
    head = mods[linear_idx[-1]]
    accuracies = []
    h = X.detach()
    for k, start in enumerate(linear_idx[:-1]):
        block = nn.Sequential(*mods[start:linear_idx[k + 1]])
        temp = nn.Linear(block[0].out_features, head.out_features, bias=head.bias is not None)
        init_layer(temp, "xavier_uniform", generator=g)
        opt = torch.optim.Adam([*block.parameters(), *temp.parameters()], lr=lr)
        block.train()
        for _ in range(epochs):
            order = torch.randperm(len(h), generator=g)
            for i in range(0, len(h), batch_size):
                idx = order[i:i + batch_size]
                loss = nn.functional.cross_entropy(temp(block(h[idx])), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        with torch.no_grad():
            h = block(h)
            accuracies.append(float((temp(h).argmax(1) == y).float().mean()))
    with torch.no_grad():
        head.weight.copy_(temp.weight)
        if head.bias is not None:
            head.bias.copy_(temp.bias)
    for p in model.parameters():
        p.grad = None
    return accuracies


# ------------------------------------------------------------------------------ explorer
EXPLORER_SCHEMES = {
    "N(0, 0.01²)": ("normal", 0.01),
    "N(0, 1)": ("normal", 1.0),
    "Xavier uniform": ("xavier_uniform", 0.0),
    "Xavier normal": ("xavier_normal", 0.0),
    "He normal": ("he_normal", 0.0),
    "LeCun normal": ("lecun_normal", 0.0),
}
EXPLORER_ACTIVATIONS = ("tanh", "relu", "linear", "sigmoid", "selu")
_LOG_BINS = 48


def explore_compute(scheme: str = "He normal", gain: float = 1.0, depth: int = 30,
                    activation: str = "relu", *, width: int = 64, n_samples: int = 128,
                    seed: int = 0) -> dict:
    """The explorer's pure computation: per-layer activation std and histograms.

    ``scheme`` is a label of ``EXPLORER_SCHEMES``; ``gain`` multiplies the weights' std (the
    normal schemes' too).  A ``depth``-layer MLP of ``width`` units gets ``n_samples``
    standard-normal inputs (:func:`forward_stats`).  Returns a dict with ``std`` and
    ``mean`` (one per layer), ``hist`` (depth × bins: each layer's histogram of
    log₁₀|activation| over ``edges``, as fractions of that layer's values; exact zeros are
    left out and counted in ``zero``), ``saturated`` (tanh/sigmoid fraction per layer, else
    None) and ``diverged`` (a std that is inf/NaN or above 1e30)."""
    check_choice("scheme", scheme, EXPLORER_SCHEMES)
    check_choice("activation", activation, EXPLORER_ACTIVATIONS)
    gain = check_float("gain", gain, min_value=0.0)
    depth = check_int("depth", depth, min_value=1, max_value=500)
    name, std = EXPLORER_SCHEMES[scheme]
    if name == "normal":
        std, gain = std * gain, 1.0
    stats = forward_stats(name, activation, depth=depth, width=width, n_samples=n_samples,
                          gain=gain, std=std, seed=seed)
    stds = np.array([s.std for s in stats])
    finite = np.isfinite(stds) & (stds > 0)
    diverged = bool(not np.all(np.isfinite(stds)) or stds.max() > 1e30)
    if finite.any():
        logs = np.log10(stds[finite])
        lo, hi = np.floor(logs.min()) - 3.0, np.ceil(logs.max()) + 1.0
    else:
        lo, hi = -4.0, 1.0
    lo, hi = max(lo, -60.0), min(max(hi, lo + 4.0), 60.0)
    edges = np.linspace(lo, hi, _LOG_BINS + 1)
    values = torch.stack([s.values for s in stats]).abs()  # (depth, n)
    finite_v = torch.isfinite(values)
    positive = finite_v & (values > 0)
    logs = torch.log10(torch.where(positive, values, torch.ones_like(values)))
    idx = ((logs.clamp(lo, hi) - lo) / (hi - lo) * _LOG_BINS).long().clamp(0, _LOG_BINS - 1)
    idx = idx + _LOG_BINS * torch.arange(depth)[:, None]
    counts = torch.bincount(idx[positive], minlength=depth * _LOG_BINS).reshape(depth, -1)
    n_finite = finite_v.sum(1).clamp(min=1)
    hist = (counts / n_finite[:, None]).numpy()
    zero = (1.0 - positive.sum(1) / n_finite).numpy()
    saturated = [s.saturated for s in stats]
    return {"std": stds, "mean": np.array([s.mean for s in stats]), "hist": hist,
            "edges": edges, "zero": zero,
            "saturated": None if saturated[0] is None else np.array(saturated),
            "diverged": diverged}


def explore_render(result: dict, values: dict):
    """One lean panel: each layer's histogram of log₁₀|activation| as a column of colour,
    and the log₁₀ std of each layer as a line."""
    from .plotting import new_figure

    fig, axes = new_figure(1, 1, width=5.4, height=2.4, dpi=72)
    ax = axes[0, 0]
    ax.set_position((0.11, 0.19, 0.87, 0.68))
    ax.grid(False)
    stds, edges, hist = result["std"], result["edges"], result["hist"]
    depth = len(stds)
    peak = hist.max() if hist.max() > 0 else 1.0
    ax.imshow(hist.T / peak, origin="lower", aspect="auto", cmap="Blues", vmin=0, vmax=1,
              extent=(0.5, depth + 0.5, edges[0], edges[-1]), interpolation="nearest")
    with np.errstate(divide="ignore", invalid="ignore"):
        logstd = np.log10(np.where(np.isfinite(stds) & (stds > 0), stds, np.nan))
    ax.plot(np.arange(1, depth + 1), np.clip(logstd, edges[0], edges[-1]), color="C3", lw=1.5)
    ax.set_xlim(0.5, depth + 0.5)
    ax.set_ylim(edges[0], edges[-1])
    ax.set_xlabel("layer")
    ax.set_ylabel("log₁₀|activation|, red: std")
    ax.locator_params(nbins=3)
    last = stds[-1]
    extra = ""
    if result.get("saturated") is not None:
        extra = f", saturated {100 * result['saturated'][-1]:.0f}%"
    elif values.get("activation") == "relu":
        extra = f", zeros {100 * result['zero'][-1]:.0f}%"
    std_text = "diverged" if result["diverged"] else f"std {last:.2g}"
    ax.set_title(f"{values.get('scheme')} ×{values.get('gain', 1.0):.2f}, "
                 f"{values.get('activation')}: layer {depth} {std_text}{extra}", fontsize=9)
    return fig


@register_explorer("03 initialization")
def make_explorer() -> Explorer:
    """Scheme, gain, depth and activation → per-layer activation std and histograms."""
    import ipywidgets as widgets

    controls = {
        "scheme": widgets.Dropdown(options=list(EXPLORER_SCHEMES), value="He normal",
                                   description="scheme"),
        "gain": widgets.FloatSlider(value=1.0, min=0.25, max=3.0, step=0.05, description="gain"),
        "depth": widgets.IntSlider(value=30, min=1, max=60, description="depth"),
        "activation": widgets.Dropdown(options=list(EXPLORER_ACTIVATIONS), value="relu",
                                       description="activation"),
    }
    return Explorer(lambda **v: explore_compute(**v), explore_render, controls,
                    title="Initialization explorer")

