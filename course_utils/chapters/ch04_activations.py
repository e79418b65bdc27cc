"""Chapter 04's experiments and explorers, built on :mod:`course_utils.scratch.activations`.

Networks with a chosen activation and its usual initialization, SELU's self-normalization
runs, dead-unit counts over training (and revivals), the fair comparison across activations
(many MLPs — learning rates × seeds — trained side by side as one :class:`StackedMLP`, each
activation at its tuned learning rate), and the two live explorers (an activation and its derivative; per-layer
activation distributions of a deep net).
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..core import explorers, repro
from ..core.data import Batches, check_splits
from ..core.diagnostics import activation_stats, layer_stats
from ..core.plotting import new_figure
from ..core.stacked import StackedMLP
from ..core.training import History, fit
from ..core.validation import check_bool, check_choice, check_float, check_int, check_tensor
from ..scratch.activations import (
    RReLU,
    get_activation,
    replace_activations,
)

# Experiments of chapter 04 (each returns plain numbers; the notebook prints and plots)
# ----------------------------------------------------------------------------------------

#: The initialization each activation is usually paired with (used by the fair comparison).
RECOMMENDED_INIT = {
    "sigmoid": "xavier_uniform", "tanh": "xavier_uniform", "relu": "he_normal",
    "leaky_relu": "he_normal", "rrelu": "he_normal", "prelu": "he_normal",
    "elu": "he_normal", "selu": "lecun_normal", "gelu": "he_normal", "silu": "he_normal",
    "swish": "he_normal",
}

#: The gain paired with an init by default: tanh gets Xavier × 5/3 (``calculate_gain('tanh')``),
#: as in chapter 03; every other activation gain 1.
RECOMMENDED_GAIN = {"tanh": 5.0 / 3.0}

#: The rule of thumb of Géron's *Hands-on ML*, 2nd edition, ch. 11:
#: SELU > ELU > LeakyReLU > ReLU > tanh > sigmoid.
PREFERENCE_ORDER = ("selu", "elu", "leaky_relu", "relu", "tanh", "sigmoid")


def build_mlp(activation: str, in_features: int, out_features: int, *, depth: int = 3,
              width: int = 64, init: str | None = None, gain: float | None = None,
              dropout: float = 0.0, alpha_dropout: bool = False, seed: int = 0,
              act_kwargs: dict | None = None) -> nn.Sequential:
    """``models.mlp`` seeded with ``seed``, the activation's recommended init and gain by
    default (``RECOMMENDED_INIT``, ``RECOMMENDED_GAIN``; an explicit ``init`` gets gain 1),
    optional activation arguments (``act_kwargs={"negative_slope": 0.2}``) and optional
    ``nn.AlphaDropout`` in place of ``nn.Dropout`` (``alpha_dropout=True``)."""
    from ..core.models import mlp

    seed = check_int("seed", seed, min_value=0)
    check_bool("alpha_dropout", alpha_dropout)
    if act_kwargs is not None and not isinstance(act_kwargs, dict):
        raise TypeError(f"act_kwargs must be a dict or None, got {type(act_kwargs).__name__}")
    if gain is None:
        gain = RECOMMENDED_GAIN.get(activation, 1.0) if init is None else 1.0
    init = RECOMMENDED_INIT.get(activation, "default") if init is None else init
    torch.manual_seed(repro.seed(seed))
    model = mlp(in_features, out_features, depth=depth, width=width, activation=activation,
                init=init, gain=gain, dropout=dropout)
    if act_kwargs:
        replace_activations(model, activation, **act_kwargs)
    if alpha_dropout:
        for i, m in enumerate(model):
            if isinstance(m, nn.Dropout):
                model[i] = nn.AlphaDropout(m.p)
    return model


@torch.no_grad()
def layer_moments(model: nn.Module, X: torch.Tensor) -> tuple:
    """``(means, stds)``: NumPy arrays with the mean and std of each activation layer's
    output on ``X`` (one forward pass in the model's current mode)."""
    check_tensor("X", X, ndim=2, floating=True)
    stats = activation_stats(model, X)
    if not stats:
        raise ValueError("model has no activation modules to measure")
    return np.array([s.mean for s in stats]), np.array([s.std for s in stats])


def self_normalization_run(X: torch.Tensor, *, activation: str = "selu",
                           init: str = "lecun_normal", depth: int = 100, width: int = 256,
                           gain: float = 1.0, dropout: float = 0.0, alpha_dropout: bool = False,
                           seed: int = 0) -> tuple:
    """``(means, stds)`` of every hidden layer of a deep dense net on inputs ``X`` (forward
    only) — the setting of Klambauer et al. (2017): with SELU, LeCun normal weights and
    standardized inputs, (mean, std) stays near (0, 1) through the depth.  With dropout the
    net runs in training mode (dropout is active), otherwise in eval mode."""
    X = check_tensor("X", X, ndim=2, floating=True)
    net = build_mlp(activation, X.shape[1], 10, depth=depth, width=width, init=init, gain=gain,
                    dropout=dropout, alpha_dropout=alpha_dropout, seed=seed)
    net.train(dropout > 0)
    return layer_moments(net, X)


def worst_layer(means, stds) -> tuple:
    """``(layer, mean, std)`` of the layer (1-based) farthest from mean 0, std 1, measured
    by max(|mean|, |std − 1|)."""
    means, stds = np.asarray(means, dtype=float), np.asarray(stds, dtype=float)
    if means.shape != stds.shape or means.ndim != 1 or means.size == 0:
        raise ValueError(f"means and stds must be 1-D arrays of the same nonzero length, "
                         f"got shapes {means.shape} and {stds.shape}")
    dev = np.maximum(np.abs(means), np.abs(stds - 1))
    dev = np.where(np.isfinite(dev), dev, np.inf)
    i = int(np.argmax(dev))
    return i + 1, float(means[i]), float(stds[i])


def settles_at(means, stds, tol: float = 0.1):
    """First layer (1-based) from which every later layer has |mean| ≤ tol and
    |std − 1| ≤ tol, or None if the last layer itself is off."""
    means, stds = np.asarray(means, dtype=float), np.asarray(stds, dtype=float)
    if means.shape != stds.shape or means.ndim != 1 or means.size == 0:
        raise ValueError(f"means and stds must be 1-D arrays of the same nonzero length, "
                         f"got shapes {means.shape} and {stds.shape}")
    tol = check_float("tol", tol, min_value=0.0)
    good = (np.abs(means) <= tol) & (np.abs(stds - 1) <= tol)
    if not good[-1]:
        return None
    bad = np.flatnonzero(~good)
    return 1 if bad.size == 0 else int(bad[-1]) + 2


def _merge(histories):
    out = History()
    for h in histories:
        for key in ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "epoch_time"):
            getattr(out, key).extend(getattr(h, key))
        out.diverged, out.message = h.diverged, h.message
    return out


def dead_unit_run(splits, activation: str, *, lr: float = 0.05, epochs: int = 8,
                  depth: int = 3, width: int = 64, batch_size: int = 64, seed: int = 0,
                  optimizer: str = "adam", act_kwargs: dict | None = None) -> dict:
    """Train an MLP and measure its dead units after every epoch.

    A unit is *dead* when its output is ≤ 0 on every training example
    (``diagnostics``' definition): for ReLU it then gets no gradient — in layer 1 for good; above
    it the unit can revive when the layers below change (:func:`revived_units`).  Returns
    ``{"dead": [fraction of hidden units dead, before training and after each epoch],
    "dead_per_layer": [[...] per measurement], "history": History}``."""
    splits = check_splits(splits)
    lr = check_float("lr", lr, min_value=0.0, min_inclusive=False)
    epochs = check_int("epochs", epochs, min_value=1)
    check_choice("optimizer", optimizer, ["adam", "sgd"])
    model = build_mlp(activation, splits.n_features, splits.n_classes, depth=depth,
                      width=width, seed=seed, act_kwargs=act_kwargs)
    opt = (torch.optim.Adam if optimizer == "adam" else torch.optim.SGD)(model.parameters(), lr=lr)
    batches = Batches(splits.X_train, splits.y_train, batch_size, seed=seed)

    def measure():
        model.eval()
        with torch.no_grad():
            stats = activation_stats(model, splits.X_train)
        model.train()
        per_layer = [s.dead for s in stats]
        return per_layer, sum(per_layer) / len(per_layer)

    per_layer, dead = measure()
    out = {"dead": [dead], "dead_per_layer": [per_layer]}
    histories = []
    for _ in range(epochs):
        histories.append(fit(model, batches, splits.val(), epochs=1, optimizer=opt,
                             progress=False, verbose=False))
        if histories[-1].diverged:
            break
        per_layer, dead = measure()
        out["dead"].append(dead)
        out["dead_per_layer"].append(per_layer)
    out["history"] = _merge(histories)
    return out


def revived_units(dead_per_layer) -> float:
    """How much the dead fraction of the layers *above the first* fell during training:
    Σ over those layers and consecutive measurements of max(0, dead[t] − dead[t+1]) (in
    fractions of a layer).  > 0 means some unit that was dead became positive again — possible
    because a unit above layer 1 sees inputs that change as the layers below it learn.
    ``dead_per_layer``: the (measurements × layers) list :func:`dead_unit_run` returns."""
    d = np.asarray(dead_per_layer, dtype=float)
    if d.ndim != 2 or d.shape[0] < 1 or d.shape[1] < 1:
        raise ValueError(f"dead_per_layer must be a (measurements, layers) array, got shape {d.shape}")
    if d.shape[1] < 2 or d.shape[0] < 2:
        return 0.0
    return float(np.clip(d[:-1, 1:] - d[1:, 1:], 0, None).sum())


# ----------------------------------------------------------------------------------------
# The fair comparison: many MLPs (learning rates × seeds) trained side by side
# ----------------------------------------------------------------------------------------
def train_stacked(splits, activation: str, *, lrs=(0.01, 0.03, 0.1), seeds=(0, 1, 2, 3, 4),
                  steps: int = 300, depth: int = 4, width: int = 32, batch_size: int = 64,
                  optimizer: str = "sgd", momentum: float = 0.9, eval_every: int = 25) -> dict:
    """Train one MLP per (lr, seed) with ``activation`` (its recommended init) side by side.

    Every member with the same seed starts from the same weights and sees the same batches
    (a reshuffled pass over the training set after another, seeded through ``repro``);
    ``optimizer`` "sgd" (with ``momentum``) or "adam", run with lr 1: SGD's gradient (and
    Adam's step) is scaled per member by its own lr — exactly that optimizer's update at
    that lr.  A member whose loss stops being finite drops out of the loss (it gets no more
    gradient) and counts as diverged.
    Returns arrays indexed [lr, seed]: ``val_acc``, ``test_acc`` (final), ``diverged``,
    ``val_curve`` [eval, lr, seed] (every ``eval_every`` steps) and ``curve_steps``."""
    splits = check_splits(splits)
    check_choice("activation", activation, RECOMMENDED_INIT)
    lrs = [check_float("lrs[i]", lr, min_value=0.0, min_inclusive=False) for lr in lrs]
    seeds = [check_int("seeds[i]", s, min_value=0) for s in seeds]
    if not lrs or not seeds:
        raise ValueError("lrs and seeds must be non-empty")
    steps = check_int("steps", steps, min_value=1)
    batch_size = check_int("batch_size", batch_size, min_value=1)
    check_choice("optimizer", optimizer, ["sgd", "adam"])
    momentum = check_float("momentum", momentum, min_value=0.0, max_value=1.0,
                           max_inclusive=False)
    eval_every = check_int("eval_every", eval_every, min_value=1)
    nets = {s: build_mlp(activation, splits.n_features, splits.n_classes, depth=depth,
                         width=width, seed=s) for s in seeds}
    members = [(lr, s) for lr in lrs for s in seeds]
    model = StackedMLP.from_models([nets[s] for _, s in members])
    params = list(model.parameters())
    opt = (torch.optim.SGD(params, lr=1.0, momentum=momentum) if optimizer == "sgd"
           else torch.optim.Adam(params, lr=1.0))
    scale = torch.tensor([lr for lr, _ in members])
    X, y = splits.X_train, splits.y_train
    n_batches = -(-steps * batch_size // len(X))
    order = {s: torch.cat([torch.randperm(len(X), generator=g) for g in
                           [repro.generator(s)] for _ in range(n_batches + 1)]) for s in seeds}
    rows = torch.stack([order[s] for _, s in members])
    alive = torch.ones(len(members), dtype=torch.bool)
    Xv, yv = splits.val()
    Xt, yt = splits.test()

    @torch.no_grad()
    def accuracy(Xe, ye):
        pred = model(Xe.expand(len(members), -1, -1)).argmax(-1)
        return torch.where(alive, (pred == ye).float().mean(1), torch.nan).numpy()

    curve, curve_steps = [], []
    for k in range(steps):
        idx = rows[:, k * batch_size:(k + 1) * batch_size]
        out = model(X[idx])
        loss = F.cross_entropy(out.reshape(-1, out.shape[-1]), y[idx].reshape(-1),
                               reduction="none").view(len(members), -1).mean(1)
        alive &= torch.isfinite(loss).detach()
        opt.zero_grad(set_to_none=False)
        loss[alive].sum().backward()
        with torch.no_grad():
            if optimizer == "sgd":  # SGD is linear in the gradient: scale it by the lr
                for p in params:
                    p.grad.mul_(scale.view(-1, *([1] * (p.ndim - 1))))
                opt.step()
            else:  # Adam's step does not scale with the gradient: scale the step
                before = [p.detach().clone() for p in params]
                opt.step()
                for p, b in zip(params, before):
                    p.copy_(b + scale.view(-1, *([1] * (p.ndim - 1))) * (p - b))
        if (k + 1) % eval_every == 0 or k + 1 == steps:
            curve.append(accuracy(Xv, yv))
            curve_steps.append(k + 1)
    shape = (len(lrs), len(seeds))
    return {"activation": activation, "lrs": lrs, "seeds": seeds, "optimizer": optimizer,
            "val_acc": curve[-1].reshape(shape), "test_acc": accuracy(Xt, yt).reshape(shape),
            "diverged": (~alive).numpy().reshape(shape),
            "val_curve": np.stack(curve).reshape(-1, *shape), "curve_steps": np.array(curve_steps)}


def tuned(run: dict) -> dict:
    """The learning rate with the best mean validation accuracy over seeds (diverged runs
    count as 0) and, at that rate, the per-seed test accuracy and validation curve."""
    val = np.nan_to_num(np.asarray(run["val_acc"], dtype=float), nan=0.0)
    i = int(np.argmax(val.mean(axis=1)))
    test = np.nan_to_num(np.asarray(run["test_acc"], dtype=float)[i], nan=0.0)
    return {"activation": run["activation"], "lr": run["lrs"][i], "test_acc": test,
            "val_curve": np.nan_to_num(run["val_curve"][:, i], nan=0.0),
            "curve_steps": run["curve_steps"]}


def format_tuned(rows: list[dict]) -> str:
    """The tuned comparison as a fixed-width text table (3 significant digits)."""
    head = f"{'activation':<11} {'tuned lr':>8} {'test acc (mean ± std)':>22} {'worst seed':>11}"
    lines = [head, "-" * len(head)]
    for r in rows:
        t = np.asarray(r["test_acc"], dtype=float)
        lines.append(f"{r['activation']:<11} {r['lr']:>8g} {t.mean():>13.3f} ± {t.std(ddof=1):.3f}"
                     f" {t.min():>11.3f}")
    return "\n".join(lines)


def pair_wins(rows: list[dict], order=PREFERENCE_ORDER) -> list[tuple]:
    """For each neighbouring pair (a, b) of ``order``: ``(a, b, k, n)`` — a had the higher
    test accuracy than b in k of the n seeds (paired by seed, each at its tuned lr)."""
    by = {r["activation"]: np.asarray(r["test_acc"], dtype=float) for r in rows}
    missing = [a for a in order if a not in by]
    if missing:
        raise ValueError(f"rows lack activations {missing} named in order")
    return [(a, b, int((by[a] > by[b]).sum()), len(by[a])) for a, b in zip(order[:-1], order[1:])]


# ----------------------------------------------------------------------------------------
# Explorers
# ----------------------------------------------------------------------------------------

#: The one parameter each activation takes in the explorer (None: it has none).
EXPLORER_PARAMS = {
    "sigmoid": None, "tanh": None, "relu": None, "leaky_relu": "negative_slope",
    "rrelu": None, "prelu": "init", "elu": "alpha", "selu": None, "gelu": None,
    "swish": "beta",
}
PARAM_SYMBOL = {"negative_slope": "α", "init": "a", "alpha": "α", "beta": "β"}


def activation_curves(activation: str = "elu", param: float = 1.0, *, x_min: float = -5.0,
                      x_max: float = 5.0, n: int = 401, threshold: float = 0.05) -> dict:
    """The from-scratch activation and its derivative on a grid (the first explorer).

    ``param`` is the activation's parameter (``EXPLORER_PARAMS``: LeakyReLU's slope,
    PReLU's slope, ELU's α, Swish's β; ignored by the others).  ``saturated`` marks the
    points where |f'(x)| < ``threshold`` (a unit there passes almost no gradient).
    RReLU is shown in eval mode, with ``lower``/``upper`` curves for its training slopes.
    """
    check_choice("activation", activation, EXPLORER_PARAMS)
    param = check_float("param", param, min_value=0.0, max_value=10.0)
    x_min, x_max = check_float("x_min", x_min), check_float("x_max", x_max)
    if x_max <= x_min:
        raise ValueError(f"x_max must be greater than x_min, got {x_min} and {x_max}")
    n = check_int("n", n, min_value=2, max_value=100_000)
    threshold = check_float("threshold", threshold, min_value=0.0)
    name = EXPLORER_PARAMS[activation]
    module = get_activation(activation, from_scratch=True,
                            **({name: param} if name else {})).eval()
    x = torch.linspace(x_min, x_max, n, dtype=torch.float64)
    with torch.no_grad():
        f, df = module(x), module.derivative(x)
    out = {"activation": activation, "param_name": name, "param": param if name else None,
           "x": x.numpy(), "f": f.numpy(), "df": df.numpy(),
           "saturated": (df.abs() < threshold).numpy(), "threshold": threshold}
    if isinstance(module, RReLU):
        out["lower"] = torch.where(x > 0, x, module.lower * x).numpy()
        out["upper"] = torch.where(x > 0, x, module.upper * x).numpy()
    return out


def _lean_axes(width: float, height: float, rect=(0.11, 0.18, 0.86, 0.70)):
    """One axes from ``plotting.new_figure`` at a fixed position, with few ticks."""
    from matplotlib.ticker import MaxNLocator

    fig, axes = new_figure(1, 1, width=width, height=height)
    ax = axes[0, 0]
    ax.set_position(list(rect))
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.yaxis.set_major_locator(MaxNLocator(4))
    return fig, ax


def render_activation_curves(result: dict, values: dict | None = None):
    """f (solid) and f' (dashed) with the saturated region (|f'| < threshold) shaded."""
    fig, ax = _lean_axes(5.0, 2.6)
    x = result["x"]
    lo = min(-1.5, float(np.min(result["f"])) - 0.2, float(np.min(result["df"])) - 0.2)
    hi = 3.0
    ax.fill_between(x, lo, hi, where=result["saturated"], color="tab:red", alpha=0.12, lw=0)
    if "lower" in result:
        ax.fill_between(x, result["lower"], result["upper"], color="tab:blue", alpha=0.25, lw=0)
    ax.plot(x, result["f"], color="tab:blue", lw=2)
    ax.plot(x, result["df"], "--", color="tab:orange", lw=1.5)
    ax.set_xlim(float(x[0]), float(x[-1]))
    ax.set_ylim(lo, hi)
    ax.set_xlabel("x")
    name = result["activation"]
    if result["param_name"]:
        name += f" ({PARAM_SYMBOL[result['param_name']]} = {result['param']:.2f})"
    elif result["activation"] == "rrelu":
        name += " (band: training slopes)"
    ax.set_title(name, fontsize=9)  # key (in the notebook): f solid, f' dashed, red |f'| small
    return fig


@explorers.register_explorer("04 activation functions")
def make_activation_explorer(activation: str = "elu", param: float = 1.0):
    """Activation and its parameter → the function, its derivative, the saturated region."""
    import ipywidgets as widgets

    controls = {
        "activation": widgets.Dropdown(options=list(EXPLORER_PARAMS), value=activation,
                                       description="activation"),
        "param": widgets.FloatSlider(value=param, min=0.0, max=2.0, step=0.05,
                                     description="α / a / β", continuous_update=False),
    }
    return explorers.Explorer(activation_curves, render_activation_curves, controls,
                              title="Activation functions and their derivatives")


#: Activations the per-layer explorer offers (the PyTorch modules: fast).
DISTRIBUTION_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu",
                            "swish")
DISTRIBUTION_INITS = ("default", "xavier_normal", "he_normal", "lecun_normal")


#: Depth of the net whose first ``depth`` layers the per-layer explorer shows.
MAX_DEPTH = 50


@functools.lru_cache(maxsize=16)
def _deep_weights(init: str, width: int, seed: int) -> tuple:
    """``(weight, bias)`` of the MAX_DEPTH hidden layers of ``models.mlp(width, ...)`` with
    ``init``, seeded by ``seed`` (cached: the explorer only swaps activations and depths)."""
    from ..core.models import mlp

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(repro.seed(seed))
        net = mlp(width, 10, depth=MAX_DEPTH, width=width, activation="identity", init=init)
    linears = [m for m in net if isinstance(m, nn.Linear)][:-1]
    return tuple((m.weight.detach(), m.bias.detach()) for m in linears)


@torch.no_grad()
def layer_distributions(activation: str = "tanh", init: str = "xavier_normal", depth: int = 20,
                        *, width: int = 64, n_samples: int = 128, bins: int = 40,
                        value_range: float = 3.0, seed: int = 0) -> dict:
    """Histograms of each hidden layer's output in the first ``depth`` layers of a
    ``MAX_DEPTH``-layer MLP (``models.mlp``, ``init``) on N(0, 1) inputs.

    Returns ``density`` (bins × depth, each column sums to 1; values beyond ±value_range
    are counted in the end bins), ``edges``, per-layer ``mean``, ``std``, ``saturated``
    (tanh/sigmoid) and ``dead`` (ReLU-like) fractions from ``diagnostics.layer_stats``.
    Seeded on its own: the caller's random state is untouched."""
    check_choice("activation", activation, DISTRIBUTION_ACTIVATIONS)
    check_choice("init", init, DISTRIBUTION_INITS)
    depth = check_int("depth", depth, min_value=1, max_value=MAX_DEPTH)
    width = check_int("width", width, min_value=1, max_value=4096)
    n_samples = check_int("n_samples", n_samples, min_value=2)
    bins = check_int("bins", bins, min_value=2, max_value=1000)
    value_range = check_float("value_range", value_range, min_value=0.0, min_inclusive=False)
    seed = check_int("seed", seed, min_value=0)
    weights = _deep_weights(init, width, seed)[:depth]
    f = get_activation(activation)
    h = torch.randn(n_samples, width, generator=repro.generator(seed))
    stats = []
    for i, (w, b) in enumerate(weights):
        h = f(F.linear(h, w, b))
        stats.append(layer_stats(f"layer {i + 1}", f, h, max_values=h.numel()))
    # one bincount for all layers: bin index of every value, offset by layer
    values = torch.stack([s.values for s in stats])  # (depth, n_samples·width)
    idx = ((values + value_range) * (bins / (2 * value_range))).floor().clamp(0, bins - 1)
    idx = idx.long() + bins * torch.arange(depth)[:, None]
    counts = torch.bincount(idx.reshape(-1), minlength=bins * depth).reshape(depth, bins)
    density = (counts.T / values.shape[1]).numpy()
    return {"activation": activation, "init": init, "depth": depth,
            "edges": np.linspace(-value_range, value_range, bins + 1), "density": density,
            "mean": np.array([s.mean for s in stats]), "std": np.array([s.std for s in stats]),
            "saturated": [s.saturated for s in stats], "dead": [s.dead for s in stats]}


def render_layer_distributions(result: dict, values: dict | None = None):
    """Layer on x, activation value on y, shade = share of values (√ scale); white line:
    the std per layer."""
    fig, ax = _lean_axes(5.0, 2.6, rect=(0.13, 0.18, 0.84, 0.70))
    depth, edges = result["depth"], result["edges"]
    ax.imshow(np.sqrt(result["density"]), aspect="auto", origin="lower", cmap="viridis",
              extent=(0.5, depth + 0.5, float(edges[0]), float(edges[-1])),
              interpolation="nearest", vmin=0.0, vmax=0.6)
    layers = np.arange(1, depth + 1)
    ax.plot(layers, np.clip(result["std"], 0, edges[-1]), color="w", lw=1.5)
    ax.grid(False)
    ax.set_xlabel("hidden layer")
    ax.set_ylabel("activation value")
    last = f"layer {depth}: std {result['std'][-1]:.2g}"
    if result["saturated"][-1] is not None:
        last += f", {100 * result['saturated'][-1]:.0f}% saturated"
    if result["dead"][-1] is not None:
        last += f", {100 * result['dead'][-1]:.0f}% dead"
    ax.set_title(last, fontsize=9)
    return fig


@explorers.register_explorer("04 per-layer distributions")
def make_distribution_explorer(activation: str = "tanh", init: str = "xavier_normal",
                               depth: int = 20):
    """Activation, initialization and depth → per-layer activation histograms."""
    import ipywidgets as widgets

    controls = {
        "activation": widgets.Dropdown(options=list(DISTRIBUTION_ACTIVATIONS),
                                       value=activation, description="activation"),
        "init": widgets.Dropdown(options=list(DISTRIBUTION_INITS), value=init,
                                 description="init"),
        "depth": widgets.IntSlider(value=depth, min=2, max=MAX_DEPTH, description="depth",
                                   continuous_update=False),
    }
    return explorers.Explorer(layer_distributions, render_layer_distributions, controls,
                              title="Per-layer activation distributions")
