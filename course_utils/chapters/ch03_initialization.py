"""Chapter 03's experiments and explorer: forward statistics of deep stacks, greedy
layer-wise pretraining, the initialization explorer."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..core import repro
from ..core.explorers import Explorer, register_explorer
from ..core.models import SCHEMES, init_layer, initialize
from ..core.validation import check_choice, check_float, check_int


def forward_stats(scheme: str, activation: str = "relu", *, depth: int = 50, width: int = 256,
                  n_samples: int = 1000, gain: float = 1.0, std: float = 0.01, seed: int = 0):
    """Per-layer activation statistics of a fresh deep MLP at initialization.

    A stack of ``depth`` blocks Linear(width, width) → ``activation``, initialized with
    ``scheme`` (biases 0), is fed ``n_samples`` standard-normal inputs.  Returns the list of
    :class:`course_utils.core.diagnostics.LayerStats` (one per activation: mean, std, saturated
    or dead fraction, a sample of values), recorded by ``diagnostics.activation_stats``."""
    from ..core import diagnostics, models

    check_choice("scheme", scheme, SCHEMES)
    depth = check_int("depth", depth, min_value=1, max_value=500)
    width = check_int("width", width, min_value=1, max_value=4096)
    n_samples = check_int("n_samples", n_samples, min_value=2, max_value=100_000)
    seed = check_int("seed", seed, min_value=0)
    g = repro.generator(seed)
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
    g = repro.generator(seed)
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
    from ..core.plotting import new_figure

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

