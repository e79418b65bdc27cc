"""Chapter 08's experiments and explorer, built on :mod:`course_utils.scratch.schedules`.

The same digits model trained under each schedule (:func:`train_with_schedule`,
:func:`summarize_runs`), the schedules checked side by side with ``torch.optim.lr_scheduler``
(:func:`compare_with_torch`), SGD's noise floor on a noisy quadratic, the notebook's plots,
and the live explorer (schedule and parameters → lr curve and a short training run).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial

import numpy as np
import torch

from ..core import repro, training
from ..core.explorers import Explorer, register_explorer
from ..core.validation import check_choice, check_float, check_int
from ..scratch.schedules import (
    Plateau,
    Scheduler,
    _lr,
    constant,
    cosine_restarts,
    cyclical,
    exponential_decay,
    linear_warmup,
    lr_curve,
    one_cycle,
    piecewise_constant,
    power_schedule,
    reduce_on_plateau,
    step_decay,
    torch_lr_curve,
)

__all__ = ["SLIDERS", "on_slider", "compare_with_torch", "RUN_SCHEDULES", "schedule_for_run", "ScheduleRun", "train_with_schedule", "summarize_runs", "explorer_compute", "explorer_render", "make_explorer", "sgd_on_noisy_quadratic", "plot_schedule_gallery", "plot_accuracy_curves"]


def _example_metrics(n: int, tau: float = 8.0) -> np.ndarray:
    """A validation-loss-like curve that falls, then wanders on a plateau (seeded)."""
    rng = repro.rng(0)
    t = np.arange(n)
    return 0.1 + 2.0 * np.exp(-t / tau) + 0.02 * rng.standard_normal(n)


def compare_with_torch(n_steps: int = 300) -> list[dict]:
    """Each schedule of this module next to its PyTorch class, on example parameters:
    ``[{"schedule", "torch class", "max relative difference"}]`` over ``n_steps`` steps."""
    n = check_int("n_steps", n_steps, min_value=10)
    lrs = torch.optim.lr_scheduler
    lr0 = 0.1
    metrics = _example_metrics(n)
    cases = [
        ("power", "LambdaLR", partial(power_schedule, lr0=lr0, s=20.0, c=1.0),
         lambda o: lrs.LambdaLR(o, lambda t: 1 / (1 + t / 20.0))),
        ("exponential", "ExponentialLR", partial(exponential_decay, lr0=lr0, decay_rate=0.1, decay_steps=n),
         lambda o: lrs.ExponentialLR(o, gamma=0.1 ** (1 / n))),
        ("piecewise constant", "MultiStepLR",
         partial(piecewise_constant, boundaries=[n // 2, 3 * n // 4], values=[lr0, lr0 / 10, lr0 / 100]),
         lambda o: lrs.MultiStepLR(o, milestones=[n // 2, 3 * n // 4], gamma=0.1)),
        ("step", "StepLR", partial(step_decay, lr0=lr0, step_size=n // 5, gamma=0.5),
         lambda o: lrs.StepLR(o, step_size=n // 5, gamma=0.5)),
        ("cosine restarts", "CosineAnnealingWarmRestarts",
         partial(cosine_restarts, lr_max=lr0, T_0=n // 15, T_mult=2, eta_min=1e-3),
         lambda o: lrs.CosineAnnealingWarmRestarts(o, T_0=n // 15, T_mult=2, eta_min=1e-3)),
        ("cyclical", "CyclicLR", partial(cyclical, base_lr=lr0 / 10, max_lr=lr0, step_size_up=n // 6),
         lambda o: lrs.CyclicLR(o, base_lr=lr0 / 10, max_lr=lr0, step_size_up=n // 6,
                                cycle_momentum=False)),
        ("linear warmup", "LinearLR", partial(linear_warmup, lr0=lr0, warmup_steps=n // 10, start_factor=0.1),
         lambda o: lrs.LinearLR(o, start_factor=0.1, total_iters=n // 10)),
        ("1cycle", "OneCycleLR", partial(one_cycle, total_steps=n, max_lr=lr0),
         lambda o: lrs.OneCycleLR(o, max_lr=lr0, total_steps=n)),
    ]
    rows = []
    for name, cls, ours_fn, theirs in cases:
        ours = lr_curve(ours_fn, n)
        ref = torch_lr_curve(theirs, n, lr=lr0)
        rows.append({"schedule": name, "torch class": cls,
                     "max relative difference": float(np.max(np.abs(ours - ref) / np.abs(ref)))})
    ours = np.r_[lr0, reduce_on_plateau(metrics[: n - 1], lr0, factor=0.5, patience=5)]
    ref = torch_lr_curve(lambda o: lrs.ReduceLROnPlateau(o, factor=0.5, patience=5), n, lr=lr0,
                         metrics=metrics)
    rows.append({"schedule": "reduce on plateau", "torch class": "ReduceLROnPlateau",
                 "max relative difference": float(np.max(np.abs(ours - ref) / ref))})
    return rows


# ---------------------------------------------------------------------------------------
# Training runs with a schedule (the chapter's reproduction and explorer)
# ---------------------------------------------------------------------------------------
#: Schedules of a training run, all set by a peak lr η and a floor ℓ = low·η (see
#: :func:`schedule_for_run`).
RUN_SCHEDULES = ("constant", "power", "exponential", "piecewise constant", "step",
                 "cosine restarts", "cyclical", "linear warmup", "1cycle", "reduce on plateau")


def schedule_for_run(kind: str, peak: float, total_steps: int, steps_per_epoch: int,
                     low: float = 0.01):
    """The schedule ``kind`` of a run of ``total_steps`` batches, set by its peak lr η and
    its floor ℓ = low·η, so that different schedules are compared on equal terms:

    ======================  =========================================================
    constant                η (``low`` unused)
    power                   c = 1, s such that the last step has ℓ
    exponential             η · low^(t/N): ℓ at the end
    piecewise constant      η, then η·√low from 50 %, ℓ from 75 % of the run
    step                    × γ every epoch, γ such that the last epoch has ℓ
    cosine restarts         η_max = η, η_min = ℓ, T_0 = 1 epoch, T_mult = 2
    cyclical                triangular between ℓ and η, one cycle per epoch
    linear warmup           from ℓ to η over the first 20 % of steps, then η
    1cycle                  max_lr = η (div_factor 25), final lr ℓ
    reduce on plateau       a :class:`Plateau` (η, factor 0.3, patience 0, min_lr ℓ), per epoch
    ======================  =========================================================

    Returns a function of the step, or a :class:`Plateau`."""
    check_choice("kind", kind, RUN_SCHEDULES)
    peak = _lr("peak", peak)
    n = check_int("total_steps", total_steps, min_value=2)
    spe = check_int("steps_per_epoch", steps_per_epoch, min_value=1, max_value=n)
    low = check_float("low", low, min_value=0.0, max_value=1.0, min_inclusive=False,
                      max_inclusive=False)
    floor = low * peak
    epochs = max(1, n // spe)
    if kind == "constant":
        return partial(constant, lr0=peak)
    if kind == "power":
        return partial(power_schedule, lr0=peak, s=(n - 1) * low / (1 - low), c=1.0)
    if kind == "exponential":
        return partial(exponential_decay, lr0=peak, decay_rate=low, decay_steps=n - 1)
    if kind == "piecewise constant":
        return partial(piecewise_constant, boundaries=[n // 2, (3 * n) // 4],
                       values=[peak, peak * math.sqrt(low), floor])
    if kind == "step":
        gamma = low ** (1 / max(1, epochs - 1))
        return partial(step_decay, lr0=peak, step_size=spe, gamma=gamma)
    if kind == "cosine restarts":
        return partial(cosine_restarts, lr_max=peak, T_0=spe, T_mult=2, eta_min=floor)
    if kind == "cyclical":
        return partial(cyclical, base_lr=floor, max_lr=peak, step_size_up=max(1, spe // 2),
                       step_size_down=max(1, spe - spe // 2))
    if kind == "linear warmup":
        return partial(linear_warmup, lr0=peak, warmup_steps=max(1, n // 5), start_factor=low)
    if kind == "1cycle":
        return partial(one_cycle, total_steps=n, max_lr=peak, pct_start=max(0.3, 1.5 / n),
                       final_div_factor=1 / (25.0 * low))
    return Plateau(peak, factor=0.3, patience=0, min_lr=floor)


@dataclass
class ScheduleRun:
    """One training run under a schedule: its History, the lr and loss of every step
    (up to divergence) and the test accuracy after each finished epoch."""

    kind: str
    peak: float
    seed: int
    history: training.History
    step_lr: list = field(default_factory=list)
    step_loss: list = field(default_factory=list)
    test_acc: list = field(default_factory=list)

    @property
    def diverged(self) -> bool:
        return self.history.diverged


def train_with_schedule(kind: str, splits, peak: float, *, low: float = 0.01, epochs: int = 3,
                        seed: int = 0, batch_size: int = 32, hidden=(128, 128),
                        momentum: float = 0.0, progress: Callable | None = None) -> ScheduleRun:
    """Train an MLP (64-128-128-10 on digits by default) with plain SGD (``momentum`` 0)
    under the schedule ``kind`` (see :func:`schedule_for_run`), stepped per batch (reduce
    on plateau: per epoch, on the validation loss). ``progress(fraction)`` is called as
    training goes. Seeds the model and the batches with ``seed``."""
    from ..core import models

    check_choice("kind", kind, RUN_SCHEDULES)
    epochs = check_int("epochs", epochs, min_value=1)
    seed = check_int("seed", seed, min_value=0)
    momentum = check_float("momentum", momentum, min_value=0.0, max_value=1.0, max_inclusive=False)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable or None, got {type(progress).__name__}")
    torch.manual_seed(repro.seed(seed))
    train, val, test = splits.loaders(batch_size=batch_size, seed=seed)
    model = models.mlp(splits.n_features, splits.n_classes, hidden=list(hidden))
    opt = torch.optim.SGD(model.parameters(), lr=_lr("peak", peak), momentum=momentum)
    total = epochs * len(train)
    schedule = schedule_for_run(kind, peak, total, len(train), low)
    monitor = (lambda: training.evaluate(model, val)[0]) if isinstance(schedule, Plateau) else None
    sched = Scheduler(opt, schedule, monitor=monitor)
    run = ScheduleRun(kind, peak, seed, training.History())

    def on_step(info):
        run.step_lr.append(info["optimizer"].param_groups[0]["lr"])
        run.step_loss.append(info["loss"])
        if info["step"] % len(train) == 0:  # last batch of an epoch: the weights are final
            run.test_acc.append(training.evaluate(model, test)[1])
        if progress is not None:
            progress(info["step"] / total)

    run.history = training.fit(model, train, val, epochs=epochs, optimizer=opt, scheduler=sched,
                               scheduler_step="epoch" if monitor else "batch", on_step=on_step,
                               progress=False, verbose=False)
    return run


def summarize_runs(runs: Sequence[ScheduleRun], epoch: int, target: float = 0.95) -> dict:
    """Across seeds: mean and std of validation and test accuracy after ``epoch`` epochs
    (diverged runs count as missing), the epochs each run needed to reach ``target``
    validation accuracy (None: not within its budget) and the number of diverged runs."""
    if not runs or not all(isinstance(r, ScheduleRun) for r in runs):
        raise TypeError("runs must be a non-empty list of ScheduleRun")
    epoch = check_int("epoch", epoch, min_value=1)
    target = check_float("target", target, min_value=0.0, max_value=1.0)
    ok = [r for r in runs if not r.diverged and len(r.history.val_acc) >= epoch]
    val = np.array([r.history.val_acc[epoch - 1] for r in ok])
    test = np.array([r.test_acc[epoch - 1] for r in ok])
    return {
        "val mean": float(val.mean()) if len(ok) else float("nan"),
        "val std": float(val.std()) if len(ok) else float("nan"),
        "test mean": float(test.mean()) if len(ok) else float("nan"),
        "test std": float(test.std()) if len(ok) else float("nan"),
        "epochs to target": [r.history.epochs_to(target) for r in runs],
        "diverged": sum(r.diverged for r in runs),
    }


# ---------------------------------------------------------------------------------------
# The explorer: a schedule and its parameters → its lr curve and a short training run
# ---------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _digits():
    from ..core.data import load_digits_data

    return load_digits_data()


#: The explorer's sliders on log₁₀ scales: every default and every value the notebook
#: suggests is ``on_slider(name, x)`` for an x on that slider's grid (min + k·step), so the
#: browser never snaps it.
SLIDERS = {"peak_lr": {"min": -2.0, "max": 1.0, "step": 0.1},
           "low": {"min": -3.0, "max": -0.5, "step": 0.25}}


def on_slider(name: str, log10_value: float) -> float:
    """10^x for x on the grid of the explorer's slider ``name`` (``"peak_lr"`` or ``"low"``);
    raises ValueError for an x off the grid (the browser would snap it)."""
    grid = SLIDERS[check_choice("name", name, SLIDERS)]
    x = check_float("log10_value", log10_value, min_value=grid["min"], max_value=grid["max"])
    k = round((x - grid["min"]) / grid["step"])
    if abs(grid["min"] + k * grid["step"] - x) > 1e-9:
        raise ValueError(f"log10_value must be on the {name} slider's grid {grid}, got {log10_value!r}")
    return 10.0 ** round(grid["min"] + k * grid["step"], 10)


def explorer_compute(schedule: str = "1cycle", peak_lr: float = on_slider("peak_lr", -0.2),
                     low: float = 0.01, epochs: int = 3, progress: Callable | None = None) -> dict:
    """Train the digits MLP with plain SGD for ``epochs`` epochs under ``schedule`` (peak
    ``peak_lr``, floor ``low``·peak, see :func:`schedule_for_run`; seed 0). Returns the
    planned lr per step, the lr and loss of each step taken, the final validation accuracy
    and whether the run diverged."""
    splits = _digits()
    run = train_with_schedule(schedule, splits, peak_lr, low=low, epochs=epochs, seed=0,
                              progress=progress)
    steps_per_epoch = math.ceil(len(splits.X_train) / 32)
    total = epochs * steps_per_epoch
    plan = schedule_for_run(schedule, peak_lr, total, steps_per_epoch, low)
    planned = None if isinstance(plan, Plateau) else lr_curve(plan, total)
    h = run.history
    return {"schedule": schedule, "steps_per_epoch": steps_per_epoch, "total_steps": total,
            "planned_lr": planned, "lr": np.array(run.step_lr), "loss": np.array(run.step_loss),
            "val_acc": h.val_acc[-1] if h.val_acc and not h.diverged else None,
            "diverged": h.diverged}


def explorer_render(result: dict, values: dict | None = None):
    """Two panels: the learning rate per step, and the smoothed training loss per step."""
    from ..core.plotting import new_figure
    from ..scratch.lr_finder import smooth_losses  # lr_finder builds on this module

    fig, axes = new_figure(ncols=2, width=7.6, height=2.7, dpi=72)
    ax_lr, ax_loss = axes[0]
    steps = np.arange(len(result["lr"]))
    if result["planned_lr"] is not None:
        ax_lr.plot(np.arange(result["total_steps"]), result["planned_lr"], color="C0", lw=1.8)
    else:
        ax_lr.plot(steps, result["lr"], color="C0", lw=1.8)
    ax_lr.set_xlabel("step (batch)")
    ax_lr.set_ylabel("learning rate")
    ax_lr.set_title(result["schedule"])
    ax_lr.set_ylim(bottom=0)
    ax_lr.set_xlim(0, result["total_steps"])
    loss = result["loss"]
    ax_loss.plot(steps, loss, color="0.7", lw=0.8)
    if len(loss) >= 5:
        ax_loss.plot(steps, smooth_losses(loss, 0.8), color="C1", lw=1.8)
    ax_loss.set_xlim(0, result["total_steps"])
    finite = loss[np.isfinite(loss)]
    top = min(3.0, float(finite.max())) if len(finite) else 3.0
    ax_loss.set_ylim(0, max(top, 0.5) * 1.05)
    ax_loss.set_xlabel("step (batch)")
    ax_loss.set_ylabel("training loss")
    if result["diverged"]:
        ax_loss.axvline(len(loss), color="#b00", ls="--", lw=1)
        ax_loss.set_title(f"diverged at step {len(loss)}", color="#b00")
    else:
        ax_loss.set_title(f"validation accuracy {result['val_acc']:.3f}")
    for ax in (ax_lr, ax_loss):
        ax.locator_params(nbins=4)
    return fig


@register_explorer("08 lr schedules")
def make_explorer() -> Explorer:
    """Schedule, peak lr, floor and length → the lr curve and a 3-epoch training run."""
    import ipywidgets as w

    style = {"description_width": "90px"}
    controls = {
        "schedule": w.Dropdown(options=list(RUN_SCHEDULES), value="1cycle",
                               description="schedule", style=style),
        "peak_lr": w.FloatLogSlider(value=on_slider("peak_lr", -0.2), base=10,
                                    description="peak lr", readout_format=".3g", style=style,
                                    **SLIDERS["peak_lr"]),
        "low": w.FloatLogSlider(value=on_slider("low", -2.0), base=10, description="floor / peak",
                                readout_format=".3g", style=style, **SLIDERS["low"]),
        "epochs": w.IntSlider(value=3, min=1, max=8, description="epochs", style=style),
    }
    return Explorer(explorer_compute, explorer_render, controls, progress=True,
                    title="LR schedule explorer")


# ---------------------------------------------------------------------------------------
# Pictures and toy problems for the lecture
# ---------------------------------------------------------------------------------------
def sgd_on_noisy_quadratic(schedule: Callable[[int], float], n_steps: int = 2000, *,
                           curvature: float = 1.0, noise: float = 1.0, x0: float = 10.0,
                           n_runs: int = 200, seed: int = 0) -> np.ndarray:
    """Mean squared distance to the minimum, E[x_t²], of SGD on f(x) = h x²/2 with noisy
    gradients g = h x + σ ξ (ξ ~ N(0, 1)), averaged over ``n_runs`` runs:
    x_{t+1} = x_t − η_t (h x_t + σ ξ_t). With a constant η the error settles at
    E[x²] = η σ² / (h (2 − η h)): the noise floor is proportional to the learning rate."""
    if not callable(schedule):
        raise TypeError(f"schedule must be a function of the step, got {type(schedule).__name__}")
    n_steps = check_int("n_steps", n_steps, min_value=1)
    h = check_float("curvature", curvature, min_value=0.0, min_inclusive=False)
    sigma = check_float("noise", noise, min_value=0.0)
    x0 = check_float("x0", x0)
    n_runs = check_int("n_runs", n_runs, min_value=1)
    rng = repro.rng(seed)
    x = np.full(n_runs, x0)
    out = np.empty(n_steps + 1)
    out[0] = x0 * x0
    for t in range(n_steps):
        x = x - schedule(t) * (h * x + sigma * rng.standard_normal(n_runs))
        out[t + 1] = float(np.mean(x * x))
    return out


def plot_schedule_gallery(total_steps: int = 300, steps_per_epoch: int = 30, low: float = 0.05,
                          peak: float = 1.0, kinds=RUN_SCHEDULES):
    """One small panel per schedule of :func:`schedule_for_run` (reduce on plateau fed with
    an example validation loss that stalls). Returns the pyplot figure."""
    import matplotlib.pyplot as plt

    kinds = [check_choice("kinds[i]", k, RUN_SCHEDULES) for k in kinds]
    total_steps = check_int("total_steps", total_steps, min_value=10)
    steps_per_epoch = check_int("steps_per_epoch", steps_per_epoch, min_value=1, max_value=total_steps)
    ncols = 5
    nrows = math.ceil(len(kinds) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(10, 1.9 * nrows + 0.3), sharey=True,
                             layout="constrained", squeeze=False)
    steps = np.arange(total_steps)
    for ax, kind in zip(axes.flat, kinds):
        plan = schedule_for_run(kind, peak, total_steps, steps_per_epoch, low)
        if isinstance(plan, Plateau):
            epochs = math.ceil(total_steps / steps_per_epoch)
            per_epoch = [peak, *[plan.update(m) for m in _example_metrics(epochs, 1.0)[:-1]]]
            lrs = np.repeat(per_epoch, steps_per_epoch)[:total_steps]
        else:
            lrs = lr_curve(plan, total_steps)
        ax.plot(steps, lrs, lw=1.6)
        ax.set_title(kind, fontsize=10)
        ax.set_xticks([0, total_steps])
        ax.set_ylim(0, 1.08 * peak)
    for ax in axes.flat[len(kinds):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("lr / peak")
    fig.supxlabel("step (batch)", fontsize=10)
    return fig


def plot_accuracy_curves(runs: dict, target: float | None = None, ax=None):
    """Mean validation accuracy per epoch of each ``{label: [ScheduleRun, …]}`` (diverged
    runs left out, their number in the label), with the target as a dotted line. Returns ax."""
    if not isinstance(runs, dict) or not runs:
        raise TypeError("runs must be a non-empty dict {label: list of ScheduleRun}")
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6.5, 3.2), layout="constrained")
    for label, group in runs.items():
        ok = [r for r in group if not r.diverged]
        if not ok:
            continue
        n = min(len(r.history.val_acc) for r in ok)
        acc = np.mean([r.history.val_acc[:n] for r in ok], axis=0)
        lost = len(group) - len(ok)
        ax.plot(np.arange(1, n + 1), acc, marker="o", ms=3,
                label=label + (f" ({lost} diverged)" if lost else ""))
    if target is not None:
        ax.axhline(check_float("target", target), color="0.5", ls=":", lw=1)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy\n(mean over seeds)")
    ax.legend(fontsize=8)
    return ax
