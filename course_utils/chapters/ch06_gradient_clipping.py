"""Chapter 06's experiments and explorers: the cliff, clipping in 2-D, training a tanh RNN
on the adding problem with and without clipping."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.patches import Circle, Rectangle
from matplotlib.ticker import FuncFormatter, NullLocator
from torch import nn

from ..core import explorers, repro
from ..core.plotting import new_figure
from ..core.validation import check_array, check_bool, check_choice, check_float, check_int
from ..scratch.clipping import (
    METHODS,
    clip,
    clip_by_norm,
    clip_by_value,
    cosine_similarity,
    global_norm,
)
from ..scratch.rnn import (
    ADDING_BASELINE_MSE,
    StackedTanhRNN,
    TanhRNN,
    adding_problem,
    clip_members_,
    member_norms,
)

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
    """Two panels: the log-loss map of the cliff with the three trajectories drawn on it, and
    the loss per step of each run (log scale: a throw off the wall is a jump up)."""
    fig, axes = new_figure(2, 1, width=8.4, height=3.4)
    ax, ax_l = axes[0, 0], axes[0, 1]
    ax.set_position([0.07, 0.14, 0.5, 0.83])
    ax_l.set_position([0.66, 0.14, 0.32, 0.76])
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
        ax_l.plot(np.arange(len(tr.losses)), np.maximum(tr.losses, 1e-3), color=colors[m], lw=1.2)
    ax.plot(*CLIFF_START, "k*", ms=9)
    ax.set_xlim(a, b)
    ax.set_ylim(c, d)
    ax.set_xticks([-8, -4, 0, 4])
    ax.set_yticks([-5, 0, 5])
    ax.set_xlabel("w₁")
    ax.set_ylabel("w₂")
    ax_l.set_yscale("log")
    # plain tick labels: log-axis mathtext ($10^{-1}$) costs ~100 ms of parsing per redraw
    ax_l.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax_l.yaxis.set_minor_locator(NullLocator())
    ax_l.set_xlabel("step")
    ax_l.set_ylabel("loss")
    ax_l.set_title("loss per step", fontsize=9, y=1.0)  # a fixed y skips the slow auto-placement
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


#: The cliff explorer's sliders: (min, max, step, default).  Every default and every value the
#: notebook suggests lies on a slider's grid (min + k·step; the threshold's grid is in log10),
#: otherwise the browser snaps it and recomputes (``tests/test_clipping.py`` checks it).
CLIFF_SLIDERS = {"lr": (0.05, 1.5, 0.05, 0.6), "log10_threshold": (-1.0, 1.5, 0.1, 0.0),
                 "steps": (10, 150, 10, 60)}
#: the values of the cliff explorer the notebook's text suggests trying
CLIFF_SUGGESTED = {"lr": (0.3, 0.6, 0.8), "threshold": (1.0, 10.0)}


@explorers.register_explorer("06 cliff trajectory")
def make_cliff_explorer() -> explorers.Explorer:
    """Learning rate, threshold and steps → descent on the cliff with and without clipping."""
    lr, thr, st = (CLIFF_SLIDERS[k] for k in ("lr", "log10_threshold", "steps"))
    controls = {
        "lr": widgets.FloatSlider(value=lr[3], min=lr[0], max=lr[1], step=lr[2],
                                  description="lr"),
        "threshold": widgets.FloatLogSlider(value=10 ** thr[3], base=10, min=thr[0],
                                            max=thr[1], step=thr[2], description="threshold"),
        "steps": widgets.IntSlider(value=st[3], min=st[0], max=st[1], step=st[2],
                                   description="steps"),
    }
    return explorers.Explorer(cliff_runs, render_cliff_runs, controls,
                              title="Gradient descent on a cliff")


def _cosines(a: Sequence[torch.Tensor], b: Sequence[torch.Tensor]) -> torch.Tensor:
    dot = sum((x.reshape(x.shape[0], -1) * y.reshape(y.shape[0], -1)).sum(1) for x, y in zip(a, b))
    return dot / (member_norms(a) * member_norms(b)).clamp_min(1e-30)


@dataclass
class AddingResult:
    """What :func:`train_adding` measured, one column per member (config × seed)."""

    labels: list            # "none", "value 0.05", ... per member
    seeds: list             # seed per member
    diverged_step: list     # first step (1-based) with a non-finite loss, or None
    final_mse: np.ndarray   # validation MSE at the end (nan if diverged)
    train_loss: np.ndarray  # (steps, n) training loss per step (nan after divergence)
    grad_norm: np.ndarray   # (steps, n) global gradient norm before clipping
    cosine: np.ndarray      # (steps, n) cos(gradient before, gradient after clipping)
    model: StackedTanhRNN
    baseline: float = ADDING_BASELINE_MSE

    def rows(self) -> list[dict]:
        """One row per config: final MSE per seed, diverged count, median final MSE."""
        out = []
        for label in dict.fromkeys(self.labels):
            idx = [i for i, lab in enumerate(self.labels) if lab == label]
            finals = [None if self.diverged_step[i] else float(self.final_mse[i]) for i in idx]
            finite = [f for f in finals if f is not None]
            out.append({"method": label, "seeds": [self.seeds[i] for i in idx],
                        "final_mse": finals,
                        "diverged": sum(self.diverged_step[i] is not None for i in idx),
                        "below_baseline": sum(f < self.baseline for f in finite),
                        "median_mse": float(np.median(finite)) if finite else math.nan})
        return out

    def finals(self, label: str) -> np.ndarray:
        """Final validation MSE per seed of config ``label`` (nan where it diverged)."""
        idx = self._idx(label)
        return np.array([math.nan if self.diverged_step[i] else float(self.final_mse[i])
                         for i in idx])

    def diverged(self, label: str) -> list[bool]:
        """Per seed of config ``label``: did the run diverge?"""
        return [self.diverged_step[i] is not None for i in self._idx(label)]

    def clipped_fraction(self, label: str, threshold: float) -> np.ndarray:
        """Per seed of config ``label``: the share of its (finite) steps whose gradient norm
        before clipping exceeded ``threshold`` — the steps where norm clipping acted."""
        threshold = check_float("threshold", threshold, min_value=0.0, min_inclusive=False)
        g = self.grad_norm[:, self._idx(label)]
        return np.array([np.mean(col[np.isfinite(col)] > threshold) for col in g.T])

    def _idx(self, label: str) -> list[int]:
        idx = [i for i, lab in enumerate(self.labels) if lab == label]
        if not idx:
            raise ValueError(f"label must be one of {sorted(set(self.labels))}, got {label!r}")
        return idx

    def summary(self) -> str:
        """One line per config over all seeds: diverged, below baseline, median final MSE
        and its range (3 significant digits) — readable with many seeds."""
        head = (f"{'method':<16}{'diverged':>9}{'below baseline':>16}{'median MSE':>12}"
                f"{'range':>18}")
        lines = [head, "-" * len(head)]
        for r in self.rows():
            n = len(r["seeds"])
            f = [x for x in r["final_mse"] if x is not None]
            med = "-" if not f else f"{r['median_mse']:.3g}"
            rng = "-" if not f else f"{min(f):.3g} – {max(f):.3g}"
            lines.append(f"{r['method']:<16}{str(r['diverged']) + '/' + str(n):>9}"
                         f"{str(r['below_baseline']) + '/' + str(n):>16}{med:>12}{rng:>18}")
        return "\n".join(lines)

    def table(self) -> str:
        """The comparison as fixed-width text (3 significant digits)."""
        rows = self.rows()
        seeds = rows[0]["seeds"]
        head = f"{'method':<12}" + "".join(f"{'seed ' + str(s):>11}" for s in seeds)
        head += f"{'diverged':>10}{'median':>9}"
        lines = [head, "-" * len(head)]
        for r in rows:
            idx = [i for i, lab in enumerate(self.labels) if lab == r["method"]]
            cells = [f"{'NaN@' + str(self.diverged_step[i]):>11}" if self.diverged_step[i]
                     else f"{self.final_mse[i]:>11.3g}" for i in idx]
            med = "-" if math.isnan(r["median_mse"]) else f"{r['median_mse']:.3g}"
            lines.append(f"{r['method']:<12}" + "".join(cells)
                         + f"{str(r['diverged']) + '/' + str(len(idx)):>10}{med:>9}")
        return "\n".join(lines)


def _config_label(method: str, threshold, suffix: str = "") -> str:
    return (method if method == "none" else f"{method} {threshold:g}") + suffix


def train_adding(configs=(("none", None), ("value", 0.05), ("norm", 0.25)),
                 seeds=(0, 1, 2), *, steps: int = 600, seq_len: int = 15,
                 hidden_size: int = 32, batch_size: int = 32, lr: float = 0.1,
                 momentum: float = 0.9, recurrent_scale: float = 1.5, n_val: int = 1000,
                 label_suffix: str = "", progress: bool = False) -> AddingResult:
    """Train the same :class:`TanhRNN` on the adding problem once per (config, seed).

    ``configs``: pairs ``(method, threshold)`` with method "none", "value" or "norm".  For
    a given seed every config starts from the same weights and sees the same batches
    (fresh sequences every step); SGD with ``lr`` and ``momentum``; clipping between
    backward and step.  A member whose loss stops being finite is *diverged*; from then on
    its gradients are zeroed and its loss is not recorded.
    Validation: ``n_val`` sequences (seed 10⁶), evaluated at the end.  ``label_suffix`` is
    appended to every config's label (e.g. ``", lr 0.01"`` for a control run)."""
    if not isinstance(configs, (list, tuple)) or not configs:
        raise TypeError("configs must be a non-empty list of (method, threshold) pairs")
    parsed = []
    for i, cfg in enumerate(configs):
        if not isinstance(cfg, (list, tuple)) or len(cfg) != 2:
            raise TypeError(f"configs[{i}] must be a (method, threshold) pair, got {cfg!r}")
        method = check_choice(f"configs[{i}] method", cfg[0], ["none", "value", "norm"])
        thr = None if method == "none" else check_float(
            f"configs[{i}] threshold", cfg[1], min_value=0.0, min_inclusive=False)
        parsed.append((method, thr))
    if not isinstance(seeds, (list, tuple, range)) or len(seeds) == 0:
        raise TypeError("seeds must be a non-empty list of integers")
    seeds = [check_int("seeds[i]", s, min_value=0) for s in seeds]
    steps = check_int("steps", steps, min_value=1)
    seq_len = check_int("seq_len", seq_len, min_value=2)
    hidden_size = check_int("hidden_size", hidden_size, min_value=1)
    batch_size = check_int("batch_size", batch_size, min_value=1)
    lr = check_float("lr", lr, min_value=0.0, min_inclusive=False)
    momentum = check_float("momentum", momentum, min_value=0.0, max_value=1.0,
                           max_inclusive=False)
    recurrent_scale = check_float("recurrent_scale", recurrent_scale, min_value=0.0)
    n_val = check_int("n_val", n_val, min_value=1)
    check_bool("progress", progress)

    members = [(m, t, s) for (m, t) in parsed for s in seeds]
    n = len(members)
    inits = {}
    for s in seeds:
        torch.manual_seed(repro.seed(s))
        inits[s] = TanhRNN(2, hidden_size, 1, recurrent_scale)
    model = StackedTanhRNN([inits[s] for _, _, s in members])
    params = list(model.parameters())
    value = torch.tensor([t if m == "value" else math.inf for m, t, _ in members])
    norm = torch.tensor([t if m == "norm" else math.inf for m, t, _ in members])
    data = {s: adding_problem(steps * batch_size, seq_len, seed=s) for s in seeds}
    order = [seeds.index(s) for _, _, s in members]
    X_all = torch.stack([data[s][0] for s in seeds])  # (n_seeds, steps·B, T, 2)
    y_all = torch.stack([data[s][1] for s in seeds])
    optimizer = torch.optim.SGD(params, lr=lr, momentum=momentum)

    alive = torch.ones(n, dtype=torch.bool)
    diverged: list = [None] * n
    losses = np.full((steps, n), np.nan)
    norms = np.full((steps, n), np.nan)
    cosines = np.full((steps, n), np.nan)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc="steps", leave=False)
    try:
        for k in range(steps):
            sl = slice(k * batch_size, (k + 1) * batch_size)
            xb, yb = X_all[order, sl], y_all[order, sl]
            loss = ((model(xb) - yb) ** 2).mean(dim=(1, 2))
            bad = alive & ~torch.isfinite(loss)
            for i in bad.nonzero().flatten().tolist():
                diverged[i] = k + 1
            alive &= ~bad
            if not alive.any():
                break
            optimizer.zero_grad(set_to_none=False)
            loss[alive].sum().backward()
            with torch.no_grad():
                grads = [p.grad for p in params]
                raw = [g.clone() for g in grads]
                pre = clip_members_(grads, value, norm)
                cos = _cosines(raw, grads)
                for g in grads:  # a diverged member is frozen
                    g[~alive] = 0.0
            a = alive.numpy()
            losses[k, a] = loss.detach().numpy()[a]
            norms[k, a] = pre.numpy()[a]
            cosines[k, a] = cos.numpy()[a]
            optimizer.step()
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    Xv, yv = adding_problem(n_val, seq_len, seed=10**6)
    with torch.no_grad():
        final = ((model(Xv.expand(n, -1, -1, -1)) - yv) ** 2).mean(dim=(1, 2)).numpy()
    final = np.where(alive.numpy(), final, np.nan)
    if not isinstance(label_suffix, str):
        raise TypeError(f"label_suffix must be a string, got {type(label_suffix).__name__}")
    return AddingResult([_config_label(m, t, label_suffix) for m, t, _ in members],
                        [s for *_, s in members],
                        diverged, final, losses, norms, cosines, model)


def gradient_norm(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """Global L2 norm of ∂MSE/∂θ over all parameters for one batch (grads are zeroed first)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    model.zero_grad(set_to_none=True)
    loss = nn.functional.mse_loss(model(X), y)
    loss.backward()
    return float(torch.sqrt(sum((p.grad ** 2).sum() for p in model.parameters()
                                if p.grad is not None)))


def first_step_gradient(lengths=(5, 20, 80), scales=(0.8, 1.0, 1.5, 2.0), *,
                        hidden_size: int = 32, n_samples: int = 64, seed: int = 0) -> dict:
    """{scale: [‖∂L/∂x_1‖ for each sequence length]}: the gradient that reaches the *first*
    input through all T Jacobians diag(1 − h_t²) W_hh, at initialization (MSE loss,
    adding-problem batch).  Same data and same initial weights for every scale (only the
    scale of the orthogonal W_hh changes)."""
    lengths = [check_int("lengths[i]", t, min_value=2) for t in lengths]
    scales = [check_float("scales[i]", s, min_value=0.0) for s in scales]
    seed = check_int("seed", seed, min_value=0)
    out = {}
    for s in scales:
        out[s] = []
        for T in lengths:
            torch.manual_seed(repro.seed(seed))
            model = TanhRNN(2, hidden_size, 1, recurrent_scale=s)
            X, y = adding_problem(n_samples, T, seed=seed)
            X.requires_grad_(True)
            nn.functional.mse_loss(model(X), y).backward()
            out[s].append(float(torch.linalg.vector_norm(X.grad[:, 0])))
    return out


def single_unit_rnn_loss(w, b, *, steps: int = 50, x0: float = 0.5, target: float = 0.7):
    """``(loss, dL/dw, dL/db)`` of Pascanu et al.'s one-neuron RNN (2013, Fig. 6), NumPy,
    element-wise over arrays w and b:  x_t = w·σ(x_{t−1}) + b,  L = (x_T − target)².

    The gradient is carried forward with the state: ∂x_t/∂w = σ(x_{t−1}) + w σ'(x_{t−1})
    ∂x_{t−1}/∂w and ∂x_t/∂b = 1 + w σ'(x_{t−1}) ∂x_{t−1}/∂b."""
    steps = check_int("steps", steps, min_value=1)
    x0 = check_float("x0", x0)
    target = check_float("target", target)
    w = check_array("w", w, dtype_kind="fiu").astype(float)
    b = check_array("b", b, dtype_kind="fiu").astype(float)
    x = np.full(np.broadcast(w, b).shape, x0)
    dw = np.zeros_like(x)
    db = np.zeros_like(x)
    for _ in range(steps):
        s = 0.5 * (1.0 + np.tanh(0.5 * x))
        ds = s * (1.0 - s)
        dw = s + w * ds * dw
        db = 1.0 + w * ds * db
        x = w * s + b
    r = x - target
    return r ** 2, 2 * r * dw, 2 * r * db
