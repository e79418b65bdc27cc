"""Checkers of chapter 08: learning-rate schedules as functions of the step.

The expected values come from the formulas of the exercise contract and, for
``one_cycle``, from ``torch.optim.lr_scheduler.OneCycleLR`` itself.  Besides the fixed
cases, every run draws new steps and schedule parameters.
"""

from __future__ import annotations

import math
import numbers
from bisect import bisect_right

import numpy as np
import torch

from ._framework import Check, checker, fmt

__all__ = ["exponential_decay", "one_cycle", "piecewise_constant", "power_schedule"]


def _number(c: Check, value, case: str) -> float | None:
    """The student's value as a float, or record why it is not a number."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        c.fail(case, f"expected a number (the learning rate), got {fmt(value)}",
               "return one float for one step" if value is not None else "did you forget `return`?")
        return None
    return float(value)


def _curve(c: Check, args_of_step, steps, case: str, **kwargs):
    """Call the student's function at every step; the values, or None after a failure."""
    out = []
    for t in steps:
        ok, value = c.call(*args_of_step(t), case=f"{case}, step {t}", **kwargs)
        if not ok:
            return None
        number = _number(c, value, f"{case}, step {t}")
        if number is None:
            return None
        out.append(number)
    return np.array(out)


def _compare_curve(c: Check, got, expected, steps, case: str, hint: str, rtol=1e-6) -> bool:
    good = np.isclose(got, expected, rtol=rtol, atol=1e-12)
    if good.all():
        return c.ok()
    i = int(np.argmin(good))
    return c.fail(case, f"{int((~good).sum())} of {len(good)} steps differ; first at step "
                  f"{steps[i]}: expected {expected[i]:.9g}, got {got[i]:.9g}", hint)


# ---------------------------------------------------------------------------------------
@checker
def exponential_decay(c: Check):
    """``exponential_decay(step, lr0, decay_rate, decay_steps)`` = lr0 · decay_rate^(step/decay_steps)."""
    cases = [
        ((0, 0.1, 0.5, 10), "step 0 gives lr0", "at step 0 the exponent is 0, so the lr is lr0"),
        ((10, 0.1, 0.5, 10), "after decay_steps steps", "after decay_steps steps the lr is lr0 · decay_rate"),
        ((5, 0.1, 0.5, 10), "half-way through a period",
         "use the real exponent step / decay_steps, not step // decay_steps (that is the "
         "staircase of step decay)"),
        ((35, 0.2, 0.1, 20), "many steps", "lr0 · decay_rate ** (step / decay_steps)"),
        ((3, 0.05, 0.96, 1), "decay_steps = 1", "lr0 · decay_rate ** (step / decay_steps)"),
    ]
    for args, case, hint in cases:
        ok, value = c.call(*args, case=case)
        if ok:
            step, lr0, rate, steps = args
            number = _number(c, value, case)
            if number is not None:
                c.close(number, lr0 * rate ** (step / steps), case, hint, rtol=1e-7, atol=1e-12)
    rng = c.rng
    lr0, rate, period = float(rng.uniform(0.01, 1.0)), float(rng.uniform(0.05, 0.95)), c.integers(5, 80)
    steps = sorted(set(int(t) for t in rng.integers(0, 4 * period, size=20)) | {0, period})
    case = "a whole run with random lr0, decay_rate and decay_steps"
    got = _curve(c, lambda t: (t, lr0, rate, period), steps, case)
    if got is not None:
        _compare_curve(c, got, np.array([lr0 * rate ** (t / period) for t in steps]), steps,
                       case, "lr0 · decay_rate ** (step / decay_steps) at every step")


# ---------------------------------------------------------------------------------------
@checker
def power_schedule(c: Check):
    """``power_schedule(step, lr0, s, c=1.0)`` = lr0 / (1 + step/s)^c."""
    cases = [
        ((0, 0.1, 10), {}, "step 0 gives lr0", "at step 0, 1 + step/s = 1"),
        ((10, 0.1, 10), {}, "after s steps with c = 1", "after s steps the lr is lr0 / 2 (c = 1)"),
        ((30, 0.1, 10), {"c": 0.5}, "c = 0.5", "raise (1 + step/s) to the power c"),
        ((7, 0.3, 4.0), {"c": 2.0}, "c = 2", "lr0 / (1 + step / s) ** c"),
        ((5, 0.2, 100.0), {}, "large s", "step / s, not step * s"),
    ]
    rng = c.rng
    for i in range(2):
        args = (c.integers(0, 500), float(rng.uniform(0.01, 1.0)), float(rng.uniform(1.0, 200.0)))
        cases.append((args, {"c": float(rng.uniform(0.3, 3.0))} if i else {},
                      f"random step, lr0 and s{', c' if i else ''}", "lr0 / (1 + step / s) ** c"))
    for args, kw, case, hint in cases:
        ok, value = c.call(*args, case=case, **kw)
        if ok:
            step, lr0, s = args
            expected = lr0 / (1 + step / s) ** kw.get("c", 1.0)
            number = _number(c, value, case)
            if number is not None:
                c.close(number, expected, case, hint, rtol=1e-7, atol=1e-12)


# ---------------------------------------------------------------------------------------
@checker
def piecewise_constant(c: Check):
    """``piecewise_constant(step, boundaries, values)`` = values[k], k = #{b in boundaries: step ≥ b}."""
    boundaries, values = [10, 20], [1.0, 0.5, 0.1]
    hint_ge = "count the boundaries b with step >= b (at step == b the next value starts)"
    for step, case, hint in [
        (0, "step 0", "before the first boundary the lr is values[0]"),
        (9, "just before the first boundary", hint_ge),
        (10, "exactly at the first boundary", hint_ge),
        (15, "between the boundaries", hint_ge),
        (20, "exactly at the last boundary", hint_ge),
        (100, "after the last boundary", "after the last boundary the lr is values[-1]"),
    ]:
        ok, value = c.call(step, list(boundaries), list(values), case=case)
        if ok:
            number = _number(c, value, case)
            if number is not None:
                c.close(number, values[bisect_right(boundaries, step)], case, hint)
    k = c.integers(3, 6)
    bounds = sorted(int(b) for b in c.rng.choice(np.arange(1, 40), size=k, replace=False))
    vals = [round(float(v), 4) for v in c.rng.uniform(0.001, 0.5, size=k + 1)]
    vals[1] = vals[0] * 2  # the lr goes up once: values need not decrease
    steps = list(range(bounds[-1] + 3))
    case = "random boundaries, lr goes up then down"
    got = _curve(c, lambda t: (t, list(bounds), list(vals)), steps, case)
    if got is not None:
        _compare_curve(c, got, np.array([vals[bisect_right(bounds, t)] for t in steps]), steps,
                       case, "values need not decrease: return values[k] with k = number of "
                       "boundaries b with step >= b")
    ok, value = c.call(7, [], [0.3], case="no boundaries")
    if ok:
        number = _number(c, value, "no boundaries")
        if number is not None:
            c.close(number, 0.3, "no boundaries", "with no boundaries the lr is values[0] forever")


# ---------------------------------------------------------------------------------------
def _torch_one_cycle(total_steps, max_lr, pct_start=0.3, div_factor=25.0, final_div_factor=1e4):
    """The lr OneCycleLR sets after 0 … total_steps − 1 steps (two phases, cosine)."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=max_lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=max_lr, total_steps=total_steps, pct_start=pct_start, div_factor=div_factor,
        final_div_factor=final_div_factor, cycle_momentum=False)
    out = []
    for t in range(total_steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()  # no gradients: a no-op that keeps PyTorch's step order (no warning)
        if t < total_steps - 1:
            sched.step()
    return np.array(out)


def _peak_without_minus_one(step, total_steps, max_lr, pct_start, div_factor, final_div_factor):
    """A common slip: phase 1 ending at step pct_start·total_steps (not … − 1)."""
    initial = max_lr / div_factor
    final = initial / final_div_factor
    peak = pct_start * total_steps
    if step <= peak:
        start, end, p = initial, max_lr, step / peak
    else:
        start, end, p = max_lr, final, (step - peak) / (total_steps - 1 - peak)
    return end + (start - end) / 2 * (1 + math.cos(math.pi * p))


#: Known mistakes → hint; each variant gets (step, total_steps, max_lr, pct_start, div, final_div).
_ONE_CYCLE_MISTAKES = [
    (lambda t, n, m, p, d, f: _ours(t, n, m, p, d, f, three_phase=True),
     "that is the three-phase schedule: PyTorch's default (three_phase=False) has two phases, "
     "from the peak it anneals once, straight to the minimum"),
    (lambda t, n, m, p, d, f: _ours(t, n, m, p, d, f, anneal="linear"),
     "that is linear annealing: use the cosine end + (start − end)/2 · (1 + cos(π·pct))"),
    (lambda t, n, m, p, d, f: _ours(t, n, m, p, d, f / d),
     "the minimum lr is initial_lr / final_div_factor = max_lr / (div_factor · final_div_factor), "
     "not max_lr / final_div_factor"),
    (_peak_without_minus_one,
     "phase 1 ends at step pct_start · total_steps − 1 (a float), not at pct_start · total_steps"),
]


def _ours(*args, **kwargs):
    from ..scratch.schedules import one_cycle as reference

    return reference(*args, **kwargs)


def _one_cycle_hint(got, steps, total_steps, max_lr, pct_start, div_factor, final_div_factor) -> str:
    for variant, hint in _ONE_CYCLE_MISTAKES:
        try:
            wrong = np.array([variant(t, total_steps, max_lr, pct_start, div_factor,
                                      final_div_factor) for t in steps])
        except (ValueError, ZeroDivisionError):
            continue
        if np.allclose(got, wrong, rtol=1e-6, atol=1e-12):
            return hint
    initial = max_lr / div_factor
    if not math.isclose(got[0], initial, rel_tol=1e-6):
        return "the first lr (step 0) is max_lr / div_factor"
    return ("phase 1 (steps ≤ pct_start·total_steps − 1) anneals from max_lr/div_factor up to "
            "max_lr, phase 2 (up to total_steps − 1) from max_lr down to "
            "max_lr/(div_factor·final_div_factor); inside a phase p = (step − phase start)/"
            "(phase end − phase start) and lr = end + (start − end)/2 · (1 + cos(π·p))")


@checker
def one_cycle(c: Check):
    """``one_cycle(step, total_steps, max_lr, pct_start=0.3, div_factor=25.0, final_div_factor=1e4)``:
    the lr of ``OneCycleLR`` (cosine, two phases) at every step."""
    configs = [
        ("100 steps, defaults", dict(total_steps=100, max_lr=0.1), {}),
        ("37 steps, pct_start 0.25, div 10, final_div 100",
         dict(total_steps=37, max_lr=1.0),
         dict(pct_start=0.25, div_factor=10.0, final_div_factor=100.0)),
        ("7 steps (the peak falls between steps)", dict(total_steps=7, max_lr=0.5), {}),
        ("1000 steps, pct_start 0.1", dict(total_steps=1000, max_lr=2.0), dict(pct_start=0.1)),
        ("random total_steps, max_lr, pct_start, div_factor",
         dict(total_steps=c.integers(20, 100), max_lr=round(float(c.rng.uniform(0.01, 3.0)), 4)),
         dict(pct_start=round(float(c.rng.uniform(0.15, 0.6)), 3),
              div_factor=float(c.integers(5, 50)))),
    ]
    for case, args, kw in configs:
        total = args["total_steps"]
        steps = list(range(total)) if total <= 100 else list(range(0, total, 37)) + [total - 1]
        got = _curve(c, lambda t, a=args: (t, a["total_steps"], a["max_lr"]), steps, case, **kw)
        if got is None:
            continue
        full = _torch_one_cycle(total, args["max_lr"], **kw)
        expected = full[steps]
        params = dict(pct_start=0.3, div_factor=25.0, final_div_factor=1e4) | kw
        good = np.allclose(got, expected, rtol=1e-6, atol=1e-12)
        hint = None if good else _one_cycle_hint(got, steps, total, args["max_lr"], **params)
        _compare_curve(c, got, expected, steps, case, hint)
