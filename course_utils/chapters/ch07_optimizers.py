r"""Measurements for comparing optimizers (chapter 07): what the notebook's experiments use.

* ``effective_lr(optimizer)`` — the per-coordinate multiplier an optimizer applies now:
  γ for SGD, γ/(√G + ε) for AdaGrad, γ/(√v + ε) for RMSprop, γ/(1−β₁ᵗ)/(√v̂ + ε) for the
  Adam family, … (median over all coordinates).
* ``gradient_noise`` — how far a mini-batch gradient is from the full-batch one, by batch
  size B: for sampling without replacement E‖g_B − g‖² = σ²/B · (N − B)/(N − 1).
* ``weight_norm`` and ``shrinkage_by_gradient`` — how much weight decay shrank the weights,
  split by the size of their gradients (the L2-in-Adam vs AdamW experiment).
* ``compare_optimizers`` — same model, data order and budget for every optimizer and
  seed, with ``summarize`` and ``mean_curve`` for the table and the mean ± std curves.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch import nn

from ..core import repro
from ..core.data import Splits, check_splits
from ..core.explorers import Explorer, register_explorer
from ..core.models import mlp
from ..core.plotting import new_figure
from ..core.training import History, evaluate, fit
from ..core.validation import check_bool, check_choice, check_float, check_int
from ..scratch import optim as scratch
from ..scratch.landscapes import (
    FUNCTIONS,
    Trajectory,
    get_function,
    landscape_image,
    log_gap,
    run_trajectory,
)

__all__ = ["LR_SLIDER", "Run", "compare_optimizers", "effective_lr", "first_layer_shrinkage",
           "gradient_noise", "lr_on_slider", "mean_curve", "shrinkage_by_gradient",
           "state_per_parameter", "summarize", "trajectory_gap", "weight_norm"]


# ------------------------------------------------------------------------ effective lr

def _multipliers(opt: torch.optim.Optimizer, group: dict, p: torch.Tensor):
    """The tensor of per-coordinate step multipliers of ``p`` (None before its first step)."""
    state = opt.state.get(p, {})
    lr = group["lr"]
    if "sum" in state:                                       # AdaGrad
        lr = lr / (1 + (int(state["step"]) - 1) * group["lr_decay"])
        return lr / (state["sum"].sqrt() + group["eps"])
    if "acc_delta" in state:                                 # AdaDelta
        return lr * (state["acc_delta"] + group["eps"]).sqrt() / \
            (state["square_avg"] + group["eps"]).sqrt()
    if "exp_inf" in state:                                   # AdaMax
        beta1 = group["betas"][0]
        return lr / (1 - beta1 ** int(state["step"])) / state["exp_inf"]
    if "exp_avg_sq" in state:                                # Adam, AdamW, NAdam
        beta1, beta2 = group["betas"]
        t = int(state["step"])
        v = state.get("max_exp_avg_sq", state["exp_avg_sq"])
        return lr / (1 - beta1**t) / ((v / (1 - beta2**t)).sqrt() + group["eps"])
    if "square_avg" in state:                                # RMSprop
        return lr / (state["square_avg"].sqrt() + group["eps"])
    if "dampening" in group:                                 # SGD: the same γ everywhere
        return torch.full_like(p, lr)
    return None


@torch.no_grad()
def effective_lr(optimizer: torch.optim.Optimizer, reduce: str = "median"):
    """The per-coordinate multiplier the optimizer's current state implies, reduced over all
    coordinates by ``reduce`` (``"median"``, ``"mean"``, ``"min"``, ``"max"``; ``"none"``
    gives the flat tensor).

    For SGD, AdaGrad, RMSprop (uncentered, no momentum), Adam/AdamW and AdaMax it is exactly
    the factor of the most recent step: Δθ = −multiplier·g (SGD without momentum, AdaGrad,
    RMSprop) or −multiplier·m (Adam, AdaMax).  For AdaDelta it is the factor its next step
    would use before the new gradient arrives.  Works with ``course_utils.scratch.optim`` and
    ``torch.optim`` (same state names); raises before the first step of an adaptive method."""
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    check_choice("reduce", reduce, ["median", "mean", "min", "max", "none"])
    values = [m.flatten() for group in optimizer.param_groups for p in group["params"]
              if (m := _multipliers(optimizer, group, p)) is not None]
    if not values:
        raise ValueError("the optimizer has no state yet: call effective_lr after a step")
    allv = torch.cat(values).double()
    if reduce == "none":
        return allv
    return float(getattr(allv, reduce)())


# ------------------------------------------------------------------------ gradient noise

def _flat_grad(model: nn.Module, X, y, loss_fn) -> torch.Tensor:
    model.zero_grad(set_to_none=True)
    loss_fn(model(X), y).backward()
    return torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])


def gradient_noise(model: nn.Module, X: torch.Tensor, y: torch.Tensor, batch_sizes,
                   *, n_draws: int = 20, seed: int = 0, loss_fn=None) -> dict:
    """Relative error ‖g_B − g‖/‖g‖ of mini-batch gradients at the model's current weights.

    For each B, ``n_draws`` batches are drawn without replacement from (X, y); returns
    ``{B: (mean relative error, std over draws)}``.  ``g`` is the full-batch gradient."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    n = len(X)
    sizes = [check_int("batch_sizes[i]", b, min_value=1, max_value=n) for b in batch_sizes]
    n_draws = check_int("n_draws", n_draws, min_value=2)
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    gen = repro.generator(seed)
    full = _flat_grad(model, X, y, loss_fn)
    out = {}
    for b in sizes:
        errs = []
        for _ in range(n_draws):
            idx = torch.randperm(n, generator=gen)[:b]
            errs.append(float((_flat_grad(model, X[idx], y[idx], loss_fn) - full).norm()
                              / full.norm()))
        out[b] = (float(np.mean(errs)), float(np.std(errs)))
    model.zero_grad(set_to_none=True)
    return out


# ------------------------------------------------------------------------ state memory

def state_per_parameter(optimizer_class: type, **kwargs) -> float:
    """How many numbers of optimizer state ``optimizer_class(**kwargs)`` keeps per parameter
    after one step on a small MLP: SGD 0, momentum 1 (the velocity), RMSprop/AdaGrad 1,
    Adam 2 (m and v), AMSGrad 3.  Scalar step counters are not counted."""
    if not (isinstance(optimizer_class, type) and issubclass(optimizer_class, torch.optim.Optimizer)):
        raise TypeError(f"optimizer_class must be a torch.optim.Optimizer class, got {optimizer_class!r}")
    model = mlp(8, 3, hidden=[16])
    opt = optimizer_class(model.parameters(), **kwargs)
    model(torch.ones(4, 8)).sum().backward()
    opt.step()
    n_params = sum(p.numel() for p in model.parameters())
    n_state = sum(v.numel() for st in opt.state.values() for v in st.values()
                  if isinstance(v, torch.Tensor) and v.ndim > 0)
    return n_state / n_params


# ------------------------------------------------------------------------ weight decay

def weight_norm(model) -> float:
    """‖W‖₂ over the weights (biases excluded) of a model — parameters whose name ends in
    ``weight`` — or of an optimizer — its parameters with two or more dimensions."""
    if isinstance(model, nn.Module):
        params = [p for n, p in model.named_parameters() if n.endswith("weight")]
    elif isinstance(model, torch.optim.Optimizer):
        params = [p for g in model.param_groups for p in g["params"] if p.ndim >= 2]
    else:
        raise TypeError(f"model must be an nn.Module or an optimizer, got {type(model).__name__}")
    with torch.no_grad():
        return float(sum((p.double() ** 2).sum() for p in params) ** 0.5)


def trajectory_gap(splits: Splits, first: tuple, second: tuple, *, steps: int = 200,
                   l2: tuple = (0.0, 0.0), batch_size: int = 64, hidden=(64,),
                   seed: int = 0) -> float:
    """Largest |θ₁ − θ₂| over ``steps`` steps of two runs from the same weights on the same
    batches: run i uses ``first``/``second`` = ``(optimizer class, kwargs)`` and the loss
    CE + (l2[i]/2)·Σ‖θ‖² (a penalty on every parameter, as ``weight_decay`` applies it)."""
    check_splits(splits)
    steps = check_int("steps", steps, min_value=1)
    l2 = [check_float(f"l2[{i}]", v, min_value=0.0) for i, v in enumerate(l2)]
    torch.manual_seed(repro.seed(seed))
    models = [mlp(splits.n_features, splits.n_classes, hidden=list(hidden)) for _ in range(2)]
    models[1].load_state_dict(models[0].state_dict())
    opts = [cls(m.parameters(), **kw) for m, (cls, kw) in zip(models, (first, second))]
    train = splits.loaders(batch_size=check_int("batch_size", batch_size, min_value=1),
                           seed=seed)[0]
    gap, done = 0.0, 0
    while done < steps:
        for xb, yb in train:
            for model, opt, lam in zip(models, opts, l2):
                loss = nn.functional.cross_entropy(model(xb), yb)
                if lam:
                    loss = loss + 0.5 * lam * sum((p**2).sum() for p in model.parameters())
                opt.zero_grad()
                loss.backward()
                opt.step()
            with torch.no_grad():
                gap = max(gap, max(float((p - q).abs().max()) for p, q in
                                   zip(models[0].parameters(), models[1].parameters())))
            done += 1
            if done == steps:
                break
    return gap


def shrinkage_by_gradient(weight: torch.Tensor, reference: torch.Tensor, grad_rms: torch.Tensor,
                          q: float = 0.25) -> tuple[float, float]:
    """``(low, high)``: ‖weight‖/‖reference‖ over the coordinates whose ``grad_rms`` is in the
    bottom ``q`` quantile, and over those in the top ``q`` quantile.

    With ``reference`` the same weights trained without decay and ``grad_rms`` = √v of that
    run, L2-in-Adam gives low ≪ high (weights with small gradients are shrunk hardest);
    decoupled decay (AdamW) gives low ≈ high."""
    for name, t in (("weight", weight), ("reference", reference), ("grad_rms", grad_rms)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if not (weight.shape == reference.shape == grad_rms.shape):
        raise ValueError("weight, reference and grad_rms must have the same shape, got "
                         f"{tuple(weight.shape)}, {tuple(reference.shape)}, {tuple(grad_rms.shape)}")
    q = check_float("q", q, min_value=0.0, max_value=0.5, min_inclusive=False)
    w, r, g = (t.detach().flatten().double() for t in (weight, reference, grad_rms))
    lo_cut, hi_cut = torch.quantile(g, q), torch.quantile(g, 1 - q)
    lo, hi = g <= lo_cut, g >= hi_cut
    return float(w[lo].norm() / r[lo].norm()), float(w[hi].norm() / r[hi].norm())


def first_layer_shrinkage(run, reference, q: float = 0.25) -> tuple[float, float]:
    """:func:`shrinkage_by_gradient` for the first ``nn.Linear`` of ``run.model`` against the
    same layer of ``reference.model``, a run trained by Adam without decay from the same
    weights; its √v (``exp_avg_sq``) measures each weight's gradient size.  Both runs need
    ``keep_models=True`` in :func:`compare_optimizers`."""
    for name, r in (("run", run), ("reference", reference)):
        if not isinstance(r, Run) or r.model is None:
            raise TypeError(f"{name} must be a Run kept with keep_models=True")
    w_ref = next(m for m in reference.model.modules() if isinstance(m, nn.Linear)).weight
    w = next(m for m in run.model.modules() if isinstance(m, nn.Linear)).weight
    state = reference.optimizer.state.get(w_ref, {})
    if "exp_avg_sq" not in state:
        raise ValueError("reference must be trained by an Adam-type optimizer (needs exp_avg_sq)")
    return shrinkage_by_gradient(w, w_ref, state["exp_avg_sq"].sqrt(), q)


# ------------------------------------------------------------------------ comparisons

@dataclass
class Run:
    """One training run of one optimizer with one seed."""

    name: str
    seed: int
    history: History
    test_acc: float
    seconds: float
    steps: int
    record: list = field(default_factory=list)
    model: nn.Module | None = None
    optimizer: torch.optim.Optimizer | None = None

    @property
    def seconds_per_step(self) -> float:
        return self.seconds / max(self.steps, 1)


def compare_optimizers(splits: Splits, optimizers: dict, *, seeds=(0, 1, 2), epochs: int = 8,
                       batch_size: int = 64, hidden=(64,), record: Callable | None = None,
                       every: int = 0, keep_models: bool = False,
                       progress: Callable | None = None) -> dict:
    """Train the same MLP with every optimizer and seed; return ``{name: [Run per seed]}``.

    ``optimizers`` maps a display name to ``(class, kwargs)``.  For a given seed every
    optimizer starts from the same weights and sees the same batches in the same order.
    ``record(optimizer)`` (optional) is called every ``every`` steps and its values kept in
    ``Run.record``; ``keep_models`` keeps each trained model and its optimizer in the Run.
    ``progress(fraction)`` (optional) is called after each run."""
    check_splits(splits)
    if not isinstance(optimizers, dict) or not optimizers:
        raise TypeError("optimizers must be a non-empty dict {name: (optimizer class, kwargs)}")
    for name, spec in optimizers.items():
        if not (isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], type)
                and issubclass(spec[0], torch.optim.Optimizer) and isinstance(spec[1], dict)):
            raise TypeError(f"optimizers[{name!r}] must be (optimizer class, kwargs dict)")
    seeds = [check_int("seeds[i]", s, min_value=0) for s in seeds]
    epochs = check_int("epochs", epochs, min_value=1)
    batch_size = check_int("batch_size", batch_size, min_value=1)
    every = check_int("every", every, min_value=0)
    check_bool("keep_models", keep_models)
    results = {name: [] for name in optimizers}
    total, done = len(optimizers) * len(seeds), 0
    for seed in seeds:
        torch.manual_seed(repro.seed(seed))
        init = mlp(splits.n_features, splits.n_classes, hidden=list(hidden)).state_dict()
        for name, (cls, kwargs) in optimizers.items():
            model = mlp(splits.n_features, splits.n_classes, hidden=list(hidden))
            model.load_state_dict(init)
            opt = cls(model.parameters(), **kwargs)
            train, _, _ = splits.loaders(batch_size=batch_size, seed=seed)
            values = []
            on_step = None
            if record is not None and every:
                def on_step(info, opt=opt, values=values):
                    if info["step"] % every == 0:
                        values.append(record(opt))
            t0 = time.perf_counter()
            history = fit(model, train, splits.val(), epochs=epochs, optimizer=opt,
                          progress=False, on_step=on_step, verbose=False)
            seconds = time.perf_counter() - t0
            test_acc = evaluate(model, splits.test())[1]
            results[name].append(Run(name, seed, history, test_acc, seconds,
                                     epochs * len(train), values,
                                     model if keep_models else None,
                                     opt if keep_models else None))
            done += 1
            if progress is not None:
                progress(done / total)
    return results


def mean_curve(runs: list, metric: str = "val_acc") -> tuple[np.ndarray, np.ndarray]:
    """Mean and std over runs of a per-epoch ``History`` metric (runs must have equal length)."""
    check_choice("metric", metric, ["train_loss", "train_acc", "val_loss", "val_acc"])
    if not runs:
        raise ValueError("runs is empty")
    curves = np.array([getattr(r.history, metric) for r in runs], dtype=float)
    return curves.mean(0), curves.std(0)


def summarize(results: dict, reference: str | None = None) -> list[dict]:
    """One row per optimizer: mean/std of final val and test accuracy and train loss, and the
    median time per step (relative to ``reference``'s if given)."""
    if not isinstance(results, dict) or not results:
        raise TypeError("results must be the dict returned by compare_optimizers")
    if reference is not None:
        check_choice("reference", reference, results)
    ref_time = np.median([r.seconds_per_step for r in results[reference]]) if reference else None
    rows = []
    for name, runs in results.items():
        val = np.array([r.history.val_acc[-1] for r in runs])
        test = np.array([r.test_acc for r in runs])
        loss = np.array([r.history.train_loss[-1] for r in runs])
        t = float(np.median([r.seconds_per_step for r in runs]))
        rows.append({"optimizer": name, "val_acc": val.mean(), "val_std": val.std(),
                     "test_acc": test.mean(), "test_std": test.std(),
                     "train_loss": loss.mean(), "diverged": any(r.history.diverged for r in runs),
                     "seconds_per_step": t,
                     "relative_time": t / ref_time if ref_time else None})
    return rows


# --------------------------------------------------------------------------------------
# trajectories of the chapter's optimizers on the test functions, and the explorer
# --------------------------------------------------------------------------------------

#: The optimizers of the chapter by display name → how the explorer's sliders map onto
#: their arguments: (class, f(lr, beta1, beta2) -> kwargs).
PRESETS: dict[str, tuple[type, Callable]] = {
    "GD": (scratch.SGD, lambda lr, b1, b2: dict(lr=lr)),
    "Momentum": (scratch.SGD, lambda lr, b1, b2: dict(lr=lr, momentum=b1)),
    "Nesterov": (scratch.SGD, lambda lr, b1, b2: dict(lr=lr, momentum=b1, nesterov=b1 > 0)),
    "AdaGrad": (scratch.Adagrad, lambda lr, b1, b2: dict(lr=lr)),
    "AdaDelta": (scratch.Adadelta, lambda lr, b1, b2: dict(lr=lr, rho=b2)),
    "RMSprop": (scratch.RMSprop, lambda lr, b1, b2: dict(lr=lr, alpha=b2)),
    "Adam": (scratch.Adam, lambda lr, b1, b2: dict(lr=lr, betas=(b1, b2))),
    "AdaMax": (scratch.Adamax, lambda lr, b1, b2: dict(lr=lr, betas=(b1, b2))),
    "NAdam": (scratch.NAdam, lambda lr, b1, b2: dict(lr=lr, betas=(b1, b2))),
}
#: which of the explorer's β sliders each preset reads
USES = {"GD": (), "Momentum": ("beta1",), "Nesterov": ("beta1",), "AdaGrad": (),
        "AdaDelta": ("beta2",), "RMSprop": ("beta2",), "Adam": ("beta1", "beta2"),
        "AdaMax": ("beta1", "beta2"), "NAdam": ("beta1", "beta2")}


def run_preset(function, preset: str, lr: float, beta1: float = 0.9, beta2: float = 0.999,
               steps: int = 200, stop_below: float | None = None) -> Trajectory:
    """:func:`run_trajectory` for one of ``PRESETS`` (e.g. ``"Nesterov"``): ``beta1`` is the
    momentum of GD-with-momentum/Nesterov and Adam's β₁; ``beta2`` is Adam's β₂, RMSprop's
    α and AdaDelta's ρ.  Nesterov with ``beta1 = 0`` is plain GD."""
    check_choice("preset", preset, PRESETS)
    lr = check_float("lr", lr, min_value=0.0)
    beta1 = check_float("beta1", beta1, min_value=0.0, max_value=1.0, max_inclusive=False)
    beta2 = check_float("beta2", beta2, min_value=0.0, max_value=1.0, max_inclusive=False)
    cls, kwargs = PRESETS[preset]
    traj = run_trajectory(function, cls, steps=steps, stop_below=stop_below,
                          **kwargs(lr, beta1, beta2))
    traj.optimizer = preset
    return traj


def tune_lr(function, preset: str, lrs, *, steps: int = 200, stop_below: float | None = None,
            **betas) -> tuple:
    """Run ``preset`` at every learning rate in ``lrs``; the best is the one whose run ends
    closest to the minimum value (smallest final f − f*; diverged runs lose).  ``stop_below``
    ends converged runs early (see :func:`run_trajectory`).

    Returns ``(best_lr, best_trajectory, {lr: trajectory})``."""
    lrs = [check_float("lrs[i]", v, min_value=0.0, min_inclusive=False) for v in lrs]
    if not lrs:
        raise ValueError("lrs must hold at least one learning rate")
    runs = {lr: run_preset(function, preset, lr, steps=steps, stop_below=stop_below, **betas)
            for lr in lrs}

    def score(lr):
        t = runs[lr]
        return math.inf if t.diverged or not np.isfinite(t.gap[-1]) else t.gap[-1]
    best = min(lrs, key=score)
    return best, runs[best], runs


# ----------------------------------------------------------------------------------------
# pictures and the explorer
# ----------------------------------------------------------------------------------------

#: The explorer's learning-rate slider: log₁₀ γ from −4 to 0.5 in steps of 0.05.  Every
#: default and every value the notebook suggests is ``lr_on_slider(x)`` for x on that grid.
LR_SLIDER = {"min": -4.0, "max": 0.5, "step": 0.05}


def lr_on_slider(log10_lr: float) -> float:
    """The learning rate 10^x at the explorer slider's grid point x (x = min + k·step);
    raises ValueError for an x off the grid, which the browser would snap."""
    x = check_float("log10_lr", log10_lr, min_value=LR_SLIDER["min"], max_value=LR_SLIDER["max"])
    k = round((x - LR_SLIDER["min"]) / LR_SLIDER["step"])
    if abs(LR_SLIDER["min"] + k * LR_SLIDER["step"] - x) > 1e-9:
        raise ValueError(f"log10_lr must be on the slider's grid {LR_SLIDER}, got {log10_lr!r}")
    return 10.0 ** round(LR_SLIDER["min"] + k * LR_SLIDER["step"], 10)


def explore(function: str = "rosenbrock", optimizer: str = "Adam", lr: float = lr_on_slider(-1.3),
            beta1: float = 0.9, beta2: float = 0.999, steps: int = 200) -> dict:
    """The explorer's computation: one trajectory and what the picture needs (pure)."""
    fn = get_function(function)
    traj = run_preset(fn, optimizer, lr, beta1, beta2, steps)
    final = traj.gap[-1] if not traj.diverged else math.inf
    return {"trajectory": traj, "function": fn.name, "optimizer": optimizer,
            "lr": traj.settings.get("lr", lr), "diverged": traj.diverged,
            "final_gap": float(final) if np.isfinite(final) else math.inf,
            "log_gap": log_gap(traj.loss, fn.f_min), "steps": traj.steps, "steps_max": steps}


class ExploreView:
    """Draws :func:`explore`'s result: left, the path over log₁₀(f − f*); right, log₁₀(f − f*)
    per step.  Calling it returns a Figure holding the finished picture.

    Speed (a redraw must take well under 100 ms): the static part — image, axes, ticks,
    labels — is drawn once per function and kept as a pixel buffer; each call restores it,
    draws only the path, the loss curve and the titles on top (matplotlib "blitting") and
    wraps the pixels in a bare figure, which costs little to encode as PNG.  Drawing tick
    labels is what makes a matplotlib redraw slow, and they do not change here.
    """

    WIDTH, HEIGHT, DPI = 6.4, 2.6, 100

    def __init__(self):
        self._cache = {}

    def _static(self, function: str, steps: int):
        key = (function, steps)
        if key in self._cache:
            return self._cache[key]
        fn = get_function(function)
        fig, axes = new_figure(2, width=self.WIDTH, height=self.HEIGHT, dpi=self.DPI)
        canvas = FigureCanvasAgg(fig)
        ax1, ax2 = axes[0]
        ax1.set_position([0.09, 0.17, 0.37, 0.72])
        ax2.set_position([0.60, 0.17, 0.38, 0.72])
        ax1.imshow(landscape_image(fn.name), origin="lower", extent=(*fn.xlim, *fn.ylim),
                   aspect="auto", cmap="viridis", interpolation="nearest")
        ax1.plot(*fn.minimum, "*", color="w", ms=9)
        ax1.set(xlim=fn.xlim, ylim=fn.ylim, xticks=np.linspace(*fn.xlim, 3),
                yticks=np.linspace(*fn.ylim, 3))
        ax1.set_xlabel("x", labelpad=1)
        ax1.set_ylabel("y", labelpad=1)
        ax1.grid(False)
        ax2.set(xlim=(0, steps), ylim=(-16, 8), xticks=[0, steps // 2, steps],
                yticks=[-16, -8, 0, 8])
        ax2.set_xlabel("step", labelpad=1)
        ax2.set_ylabel("log₁₀(f − f*)", labelpad=1)
        dynamic = {  # animated artists are left out of the full draw
            "path": ax1.plot([], [], "-", color="w", lw=1.2, animated=True)[0],
            "end": ax1.plot([], [], "x", color="r", ms=7, animated=True)[0],
            "gap": ax2.plot([], [], color="C1", animated=True)[0],
            "title1": ax1.set_title(" ", fontsize=9, animated=True),
            "title2": ax2.set_title(" ", fontsize=9, animated=True),
        }
        canvas.draw()
        background = canvas.copy_from_bbox(fig.bbox)
        self._cache[key] = (fig, canvas, dynamic, background)
        return self._cache[key]

    def __call__(self, result: dict, values: dict | None = None):
        fn = get_function(result["function"])
        fig, canvas, art, background = self._static(fn.name, int(result["steps_max"]))
        canvas.restore_region(background)
        path = np.clip(result["trajectory"].path, [fn.xlim[0] - 1, fn.ylim[0] - 1],
                       [fn.xlim[1] + 1, fn.ylim[1] + 1])
        art["path"].set_data(path[:, 0], path[:, 1])
        art["end"].set_data(path[-1:, 0], path[-1:, 1])
        gap = np.clip(result["log_gap"], -16, 8)
        art["gap"].set_data(np.arange(len(gap)), gap)
        art["title1"].set_text(f"{result['optimizer']}, lr = {result['lr']:.3g}")
        art["title2"].set_text("diverged" if result["diverged"]
                               else f"final f − f* = {result['final_gap']:.2g}")
        for artist in art.values():
            artist.axes.draw_artist(artist)
        pixels = np.asarray(canvas.buffer_rgba()).copy()
        out = Figure(figsize=(pixels.shape[1] / self.DPI, pixels.shape[0] / self.DPI),
                     dpi=self.DPI)
        out.figimage(pixels, origin="upper")
        return out


_DEFAULT_VIEW = ExploreView()


def render_explore(result: dict, values: dict | None = None):
    """The explorer's picture of :func:`explore`'s ``result`` (see :class:`ExploreView`);
    render it with ``plotting.figure_to_png(fig, dpi=ExploreView.DPI)``."""
    return _DEFAULT_VIEW(result, values)


@register_explorer("07 optimizer trajectories")
def make_explorer() -> Explorer:
    """Optimizer, learning rate, β₁ (momentum), β₂ (ρ, α) and test function → the
    trajectory over the landscape and f − f* per step."""
    controls = {
        "function": widgets.Dropdown(options=list(FUNCTIONS), value="rosenbrock",
                                     description="function"),
        "optimizer": widgets.Dropdown(options=list(PRESETS), value="Adam",
                                      description="optimizer"),
        "lr": widgets.FloatLogSlider(value=lr_on_slider(-1.3), base=10, description="lr γ",
                                     readout_format=".3g", **LR_SLIDER),
        "beta1": widgets.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01,
                                     description="β₁ / μ"),
        "beta2": widgets.FloatSlider(value=0.999, min=0.5, max=0.999, step=0.001,
                                     description="β₂ / α / ρ", readout_format=".3f"),
    }
    return Explorer(lambda **v: explore(steps=200, **v), ExploreView(), controls,
                    title="Optimizer trajectories on 2-D test functions", dpi=ExploreView.DPI)
