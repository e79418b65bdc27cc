"""Learning-rate schedules from scratch: each a plain function of the step (chapter 08).

A schedule maps the step t = 0, 1, 2, … (a batch or an epoch, as you choose) to the
learning rate η_t.  Each function below matches a ``torch.optim.lr_scheduler`` class: the
lr that class has set after ``t`` calls of ``scheduler.step()`` (tests/test_schedules.py).

==================  ==================================================  =============================
function            η_t                                                 PyTorch
==================  ==================================================  =============================
constant            η₀                                                  (none needed)
power_schedule      η₀ / (1 + t/s)^c                                    LambdaLR
exponential_decay   η₀ · r^(t/T)                                        ExponentialLR(γ = r^(1/T))
piecewise_constant  values[k],  k = #{boundaries b ≤ t}                 MultiStepLR / LambdaLR
step_decay          η₀ · γ^⌊t/step_size⌋                                StepLR
cosine_restarts     η_min + ½(η_max − η_min)(1 + cos(π t_cur/T_i))      CosineAnnealingWarmRestarts
cyclical            base + (max − base)·(triangle wave in [0, 1])       CyclicLR
linear_warmup       η₀ · (f₀ + (f₁ − f₀)·min(t, T)/T)                   LinearLR
one_cycle           warm up to max_lr, anneal to max_lr/(div·final_div) OneCycleLR
Plateau             η ← max(factor·η, min_lr) after patience bad epochs ReduceLROnPlateau
==================  ==================================================  =============================

Performance scheduling (reduce on plateau) depends on the measured metric, not on the step:
:class:`Plateau` holds its state and :func:`reduce_on_plateau` replays a metric history.

One way drives any ``torch.optim`` optimizer with any of them, :class:`Scheduler`::

    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = Scheduler(opt, lambda t: one_cycle(t, total_steps=300, max_lr=0.2))
    training.fit(model, train, val, optimizer=opt, scheduler=sched, scheduler_step="batch")
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
import torch

from ..core.validation import check_bool, check_choice, check_float, check_int

__all__ = [
    "Plateau", "Scheduler", "SCHEDULES", "constant", "cosine_restarts", "cyclical", "exponential_decay", "linear_warmup", "lr_curve", "make_schedule", "one_cycle", "piecewise_constant", "power_schedule", "reduce_on_plateau", "step_decay", "torch_lr_curve",
]


def _step(step) -> int:
    return check_int("step", step, min_value=0)


def _lr(name: str, value, *, allow_zero=False) -> float:
    return check_float(name, value, min_value=0.0, min_inclusive=allow_zero)


# ---------------------------------------------------------------------------------------
# Schedules that are functions of the step
# ---------------------------------------------------------------------------------------
def constant(step: int, lr0: float) -> float:
    """η_t = η₀ (the baseline every schedule is compared with)."""
    _step(step)
    return _lr("lr0", lr0)


def power_schedule(step: int, lr0: float, s: float, c: float = 1.0) -> float:
    """Power scheduling: η_t = η₀ / (1 + t/s)^c.

    After s steps the lr is η₀/2^c, after 3s steps η₀/4^c: it falls fast, then slowly.
    c = 1 is the classic 1/t decay (Robbins–Monro), c = 0.5 an inverse square root."""
    step = _step(step)
    lr0 = _lr("lr0", lr0)
    s = check_float("s", s, min_value=0.0, min_inclusive=False)
    c = check_float("c", c, min_value=0.0)
    return lr0 / (1.0 + step / s) ** c


def exponential_decay(step: int, lr0: float, decay_rate: float, decay_steps: float) -> float:
    """Exponential scheduling: η_t = η₀ · r^(t/T), the lr is multiplied by r every T steps.

    Equals ``ExponentialLR(gamma=r**(1/T))``. r > 1 grows the lr (the LR range test)."""
    step = _step(step)
    lr0 = _lr("lr0", lr0)
    decay_rate = check_float("decay_rate", decay_rate, min_value=0.0, min_inclusive=False)
    decay_steps = check_float("decay_steps", decay_steps, min_value=0.0, min_inclusive=False)
    return lr0 * decay_rate ** (step / decay_steps)


def piecewise_constant(step: int, boundaries: Sequence, values: Sequence) -> float:
    """Piecewise constant scheduling: η_t = values[k], k = number of boundaries b with t ≥ b.

    ``boundaries`` is increasing and ``len(values) == len(boundaries) + 1``: values[0] before
    the first boundary, values[-1] from the last one on."""
    step = _step(step)
    if isinstance(boundaries, (str, bytes)) or not isinstance(boundaries, Sequence):
        raise TypeError(f"boundaries must be a list of step numbers, got {type(boundaries).__name__}")
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"values must be a list of learning rates, got {type(values).__name__}")
    bounds = [check_int(f"boundaries[{i}]", b, min_value=0) for i, b in enumerate(boundaries)]
    lrs = [_lr(f"values[{i}]", v, allow_zero=True) for i, v in enumerate(values)]
    if len(lrs) != len(bounds) + 1:
        raise ValueError(f"values must have len(boundaries) + 1 = {len(bounds) + 1} entries, "
                         f"got {len(lrs)}")
    if any(b1 <= b0 for b0, b1 in zip(bounds, bounds[1:])):
        raise ValueError(f"boundaries must be strictly increasing, got {bounds}")
    k = sum(step >= b for b in bounds)
    return lrs[k]


def step_decay(step: int, lr0: float, step_size: int, gamma: float = 0.1) -> float:
    """Step decay: η_t = η₀ · γ^⌊t / step_size⌋ (the lr drops by γ every step_size steps)."""
    step = _step(step)
    lr0 = _lr("lr0", lr0)
    step_size = check_int("step_size", step_size, min_value=1)
    gamma = check_float("gamma", gamma, min_value=0.0, min_inclusive=False)
    return lr0 * gamma ** (step // step_size)


def cosine_restarts(step: int, lr_max: float, T_0: int, T_mult: int = 1,
                    eta_min: float = 0.0) -> float:
    """SGDR, cosine annealing with warm restarts (Loshchilov & Hutter 2017).

    η_t = η_min + ½(η_max − η_min)(1 + cos(π t_cur / T_i)), t_cur = steps since the last
    restart; the first period is T_0 steps and each one is T_mult times longer than the one
    before. With T_0 ≥ the whole run it is plain cosine annealing."""
    t = _step(step)
    lr_max = _lr("lr_max", lr_max)
    period = check_int("T_0", T_0, min_value=1)
    T_mult = check_int("T_mult", T_mult, min_value=1)
    eta_min = check_float("eta_min", eta_min, min_value=0.0, max_value=lr_max)
    while t >= period:  # skip the finished periods (exact integer arithmetic)
        t -= period
        period *= T_mult
    return eta_min + (lr_max - eta_min) * (1.0 + math.cos(math.pi * t / period)) / 2.0


def cyclical(step: int, base_lr: float, max_lr: float, step_size_up: int,
             step_size_down: int | None = None, mode: str = "triangular") -> float:
    """Cyclical learning rate (Smith 2017): a triangle wave between base_lr and max_lr.

    Each cycle rises linearly for ``step_size_up`` steps and falls for ``step_size_down``
    (default: the same). ``mode="triangular2"`` halves the amplitude every cycle."""
    step = _step(step)
    base_lr = _lr("base_lr", base_lr, allow_zero=True)
    max_lr = check_float("max_lr", max_lr, min_value=base_lr)
    up = check_int("step_size_up", step_size_up, min_value=1)
    down = up if step_size_down is None else check_int("step_size_down", step_size_down, min_value=1)
    check_choice("mode", mode, ["triangular", "triangular2"])
    cycle, pos = divmod(step, up + down)  # cycle 0, 1, …; pos = steps into this cycle
    height = pos / up if pos <= up else (up + down - pos) / down
    amplitude = 1.0 if mode == "triangular" else 0.5 ** cycle
    return base_lr + (max_lr - base_lr) * height * amplitude


def linear_warmup(step: int, lr0: float, warmup_steps: int, start_factor: float = 1 / 3,
                  end_factor: float = 1.0) -> float:
    """Linear warm-up: η_t = η₀ · (f₀ + (f₁ − f₀) · min(t, T)/T), then constant η₀·f₁.

    Starting small lets adaptive optimizers' statistics settle and large-batch training
    start stably (Goyal et al. 2017); PyTorch's ``LinearLR``."""
    step = _step(step)
    lr0 = _lr("lr0", lr0)
    warmup_steps = check_int("warmup_steps", warmup_steps, min_value=1)
    f0 = check_float("start_factor", start_factor, min_value=0.0, max_value=1.0, min_inclusive=False)
    f1 = check_float("end_factor", end_factor, min_value=0.0, max_value=1.0)
    return lr0 * (f0 + (f1 - f0) * min(step, warmup_steps) / warmup_steps)


def one_cycle(step: int, total_steps: int, max_lr: float, pct_start: float = 0.3,
              div_factor: float = 25.0, final_div_factor: float = 1e4,
              three_phase: bool = False, anneal: str = "cos") -> float:
    """The 1cycle policy (Smith 2018) exactly as PyTorch's ``OneCycleLR`` computes it.

    Start at η_init = max_lr / div_factor, rise to max_lr until step pct_start·N − 1, then
    anneal to η_min = η_init / final_div_factor at step N − 1 (N = total_steps). Within a
    phase from step a to b, with p = (t − a)/(b − a), cosine annealing from u to v gives
    v + (u − v)(1 + cos πp)/2 and linear annealing u + (v − u)p.  ``three_phase=True``
    (the paper's version) comes back down to η_init by step 2·pct_start·N − 2 and only then
    anneals to η_min."""
    step = check_int("step", step, min_value=0)
    total_steps = check_int("total_steps", total_steps, min_value=2)
    if step > total_steps:
        raise ValueError(f"step must be in [0, total_steps={total_steps}], got {step}")
    max_lr = _lr("max_lr", max_lr)
    pct_start = check_float("pct_start", pct_start, min_value=0.0, max_value=1.0,
                            min_inclusive=False, max_inclusive=False)
    div_factor = check_float("div_factor", div_factor, min_value=0.0, min_inclusive=False)
    final_div_factor = check_float("final_div_factor", final_div_factor, min_value=0.0,
                                   min_inclusive=False)
    three_phase = check_bool("three_phase", three_phase)
    check_choice("anneal", anneal, ["cos", "linear"])
    peak = pct_start * total_steps - 1.0
    if peak <= 0:
        raise ValueError(f"pct_start · total_steps must be > 1 (the warm-up needs more than one "
                         f"step); got {pct_start} · {total_steps}")
    initial = max_lr / div_factor
    final = initial / final_div_factor
    if three_phase:
        if 2 * pct_start * total_steps - 2.0 >= total_steps - 1:
            raise ValueError(f"with three_phase=True, pct_start must leave room for the third "
                             f"phase (2·pct_start·total_steps − 2 < total_steps − 1); got {pct_start}")
        phases = [(peak, initial, max_lr), (2 * pct_start * total_steps - 2.0, max_lr, initial),
                  (total_steps - 1.0, initial, final)]
    else:
        phases = [(peak, initial, max_lr), (total_steps - 1.0, max_lr, final)]
    start = 0.0
    for i, (end, lr_from, lr_to) in enumerate(phases):
        if step <= end or i == len(phases) - 1:
            p = (step - start) / (end - start)
            if anneal == "cos":
                return lr_to + (lr_from - lr_to) / 2.0 * (math.cos(math.pi * p) + 1.0)
            return (lr_to - lr_from) * p + lr_from
        start = end
    raise AssertionError("unreachable")  # pragma: no cover


# ---------------------------------------------------------------------------------------
# Performance scheduling
# ---------------------------------------------------------------------------------------
class Plateau:
    """Performance scheduling (reduce on plateau), as ``ReduceLROnPlateau``.

    After each epoch call ``update(metric)``. A metric is an improvement when it beats the
    best so far by the threshold (mode "min", "rel": metric < best·(1 − threshold); "abs":
    metric < best − threshold; mirrored for "max"). When more than ``patience`` epochs in a
    row bring no improvement, η ← max(factor·η, min_lr) (ignored if the change is below
    ``eps``), then ``cooldown`` epochs pass before bad epochs are counted again.
    """

    def __init__(self, lr0: float, factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float = 0.0, mode: str = "min", eps: float = 1e-8):
        self.lr = _lr("lr0", lr0)
        self.factor = check_float("factor", factor, min_value=0.0, max_value=1.0,
                                  min_inclusive=False, max_inclusive=False)
        self.patience = check_int("patience", patience, min_value=0)
        self.threshold = check_float("threshold", threshold, min_value=0.0)
        self.threshold_mode = check_choice("threshold_mode", threshold_mode, ["rel", "abs"])
        self.cooldown = check_int("cooldown", cooldown, min_value=0)
        self.min_lr = check_float("min_lr", min_lr, min_value=0.0)
        self.mode = check_choice("mode", mode, ["min", "max"])
        self.eps = check_float("eps", eps, min_value=0.0)
        self.best = math.inf if mode == "min" else -math.inf
        self.bad_epochs = 0
        self.cooldown_left = 0

    def is_improvement(self, metric: float) -> bool:
        """Does ``metric`` beat the best so far by more than the threshold?"""
        best, th = self.best, self.threshold
        if self.mode == "min":
            return metric < (best * (1 - th) if self.threshold_mode == "rel" else best - th)
        return metric > (best * (1 + th) if self.threshold_mode == "rel" else best + th)

    def update(self, metric: float) -> float:
        """Record one epoch's metric; return the learning rate for the next epoch."""
        metric = check_float("metric", metric) if not isinstance(metric, torch.Tensor) \
            else check_float("metric", float(metric))
        if self.is_improvement(metric):
            self.best, self.bad_epochs = metric, 0
        else:
            self.bad_epochs += 1
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.bad_epochs = 0  # bad epochs during cooldown do not count
        if self.bad_epochs > self.patience:
            new_lr = max(self.lr * self.factor, self.min_lr)
            if self.lr - new_lr > self.eps:
                self.lr = new_lr
            self.cooldown_left, self.bad_epochs = self.cooldown, 0
        return self.lr


def reduce_on_plateau(metrics: Sequence, lr0: float, **kwargs) -> list[float]:
    """The lr after each metric of ``metrics`` (one per epoch) under :class:`Plateau`.

    ``result[i]`` is the lr used in epoch i + 1 (epoch 0 uses ``lr0``)."""
    values = np.asarray(metrics, dtype=float) if not isinstance(metrics, np.ndarray) else metrics
    if values.ndim != 1:
        raise ValueError(f"metrics must be a 1-D sequence of numbers, got shape {values.shape}")
    plateau = Plateau(lr0, **kwargs)
    return [plateau.update(float(m)) for m in values]


# ---------------------------------------------------------------------------------------
# Driving an optimizer
# ---------------------------------------------------------------------------------------
class Scheduler:
    """Drive any ``torch.optim`` optimizer with a schedule function (or a :class:`Plateau`).

    ``schedule(t)`` gives the lr after t calls of :meth:`step` (t = 0 at construction), and
    every param group gets ``scale[g] · schedule(t)`` (``scales`` default to 1). Call
    ``step()`` after ``optimizer.step()``, per batch or per epoch — the unit of t is yours.
    With a :class:`Plateau`, ``step(metric)`` needs the epoch's metric; if ``monitor`` (a
    function of no arguments returning it, e.g. the validation loss) is given, ``step()``
    calls it, so the scheduler also works with ``training.fit(scheduler_step="epoch")``.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, schedule, *, scales=None,
                 monitor: Callable | None = None):
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
        if not (callable(schedule) or isinstance(schedule, Plateau)):
            raise TypeError("schedule must be a function of the step returning a learning rate, "
                            f"or a Plateau; got {type(schedule).__name__}")
        if monitor is not None and not callable(monitor):
            raise TypeError(f"monitor must be callable or None, got {type(monitor).__name__}")
        n = len(optimizer.param_groups)
        if scales is None:
            scales = [1.0] * n
        if not isinstance(scales, Sequence) or len(scales) != n:
            raise ValueError(f"scales must be a list of {n} numbers (one per param group)")
        self.scales = [check_float(f"scales[{i}]", s, min_value=0.0) for i, s in enumerate(scales)]
        self.optimizer, self.schedule, self.monitor = optimizer, schedule, monitor
        self.needs_metric = isinstance(schedule, Plateau)
        self.last_step = 0
        self._apply(schedule.lr if self.needs_metric else schedule(0))

    def _apply(self, lr) -> None:
        lr = check_float("the schedule's learning rate", lr, min_value=0.0)
        for group, scale in zip(self.optimizer.param_groups, self.scales):
            group["lr"] = scale * lr

    def step(self, metric=None) -> None:
        """Advance one step (a performance schedule: one epoch with its ``metric``)."""
        self.last_step += 1
        if self.needs_metric:
            if metric is None:
                if self.monitor is None:
                    raise ValueError("a Plateau schedule needs the metric: call step(metric) or "
                                     "create the Scheduler with monitor=<function returning it>")
                metric = self.monitor()
            self._apply(self.schedule.update(metric))
        else:
            self._apply(self.schedule(self.last_step))

    def get_last_lr(self) -> list[float]:
        """Current lr of every param group (as torch schedulers' ``get_last_lr``)."""
        return [group["lr"] for group in self.optimizer.param_groups]


# ---------------------------------------------------------------------------------------
# Names, curves and the comparison with PyTorch
# ---------------------------------------------------------------------------------------
SCHEDULES: dict[str, Callable] = {
    "constant": constant,
    "power": power_schedule,
    "exponential": exponential_decay,
    "piecewise constant": piecewise_constant,
    "step": step_decay,
    "cosine restarts": cosine_restarts,
    "cyclical": cyclical,
    "linear warmup": linear_warmup,
    "1cycle": one_cycle,
}


def make_schedule(name: str, **params) -> Callable[[int], float]:
    """The schedule ``name`` (a key of :data:`SCHEDULES`) with its parameters bound:
    a function of the step. The parameters are checked once, at step 0."""
    fn = SCHEDULES[check_choice("name", name, SCHEDULES)]
    schedule = partial(fn, **params)
    try:
        schedule(0)
    except TypeError as exc:
        if "argument" not in str(exc):
            raise
        raise TypeError(f"wrong parameters for the {name!r} schedule: {exc}") from None
    return schedule


def lr_curve(schedule: Callable[[int], float], n_steps: int) -> np.ndarray:
    """``[schedule(0), …, schedule(n_steps − 1)]`` as a float array."""
    if not callable(schedule):
        raise TypeError(f"schedule must be a function of the step, got {type(schedule).__name__}")
    n_steps = check_int("n_steps", n_steps, min_value=1)
    return np.array([schedule(t) for t in range(n_steps)], dtype=float)


def torch_lr_curve(make_scheduler: Callable, n_steps: int, lr: float = 0.1,
                   metrics: Sequence | None = None) -> np.ndarray:
    """The lr a ``torch.optim.lr_scheduler`` sets over ``n_steps`` steps.

    ``make_scheduler(optimizer)`` builds the scheduler for an SGD optimizer (lr ``lr``,
    momentum 0.9) of one dummy parameter; entry t is the lr after t scheduler steps.
    ``metrics`` (one per step) are passed to ``step`` (for ``ReduceLROnPlateau``)."""
    if not callable(make_scheduler):
        raise TypeError("make_scheduler must be a function optimizer → scheduler")
    n_steps = check_int("n_steps", n_steps, min_value=1)
    if metrics is not None and len(metrics) < n_steps - 1:
        raise ValueError(f"metrics must have at least n_steps − 1 = {n_steps - 1} entries")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=_lr("lr", lr), momentum=0.9)
    sched = make_scheduler(opt)
    out = []
    for t in range(n_steps):
        out.append(float(opt.param_groups[0]["lr"]))
        opt.step()  # no gradients: changes nothing, but keeps the step order PyTorch expects
        if t < n_steps - 1:
            sched.step() if metrics is None else sched.step(float(metrics[t]))
    return np.array(out)
