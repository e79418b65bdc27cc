"""Checkers of chapter 08: the reference passes; realistic wrong answers fail with a hint."""

import math
from bisect import bisect_left

import numpy as np
import torch

from course_utils import checks
from course_utils.scratch import schedules


def run(check, fn):
    return check(fn, verbose=False)


def text(result):
    return "\n".join(result.messages)


# ---------------------------------------------------------------------------------------
# exponential_decay
# ---------------------------------------------------------------------------------------
def test_exponential_decay_accepts_reference():
    assert run(checks.exponential_decay, schedules.exponential_decay).passed


def test_exponential_decay_accepts_numpy_and_tensor_scalars():
    assert run(checks.exponential_decay,
               lambda step, lr0, decay_rate, decay_steps:
               np.float32(lr0) * np.float64(decay_rate) ** (step / decay_steps)).passed
    assert run(checks.exponential_decay, lambda step, lr0, decay_rate, decay_steps:
               torch.tensor(lr0 * decay_rate ** (step / decay_steps), dtype=torch.float64)).passed


def test_exponential_decay_rejects_staircase_integer_division():
    r = run(checks.exponential_decay,
            lambda step, lr0, decay_rate, decay_steps: lr0 * decay_rate ** (step // decay_steps))
    assert not r.passed and "step // decay_steps" in text(r)


def test_exponential_decay_rejects_ignoring_decay_steps():
    r = run(checks.exponential_decay,
            lambda step, lr0, decay_rate, decay_steps: lr0 * decay_rate**step)
    assert not r.passed


def test_exponential_decay_rejects_natural_exponential():
    r = run(checks.exponential_decay,
            lambda step, lr0, decay_rate, decay_steps: lr0 * math.exp(-decay_rate * step / decay_steps))
    assert not r.passed


def test_exponential_decay_rejects_inverted_exponent():
    r = run(checks.exponential_decay,
            lambda step, lr0, decay_rate, decay_steps: lr0 * decay_rate ** (decay_steps / step))
    assert not r.passed and "ZeroDivisionError" in text(r)


def test_exponential_decay_rejects_none_and_exceptions():
    r = run(checks.exponential_decay, lambda step, lr0, decay_rate, decay_steps: None)
    assert not r.passed and "forget `return`" in text(r)

    def raises(step, lr0, decay_rate, decay_steps):
        raise RuntimeError("boom")

    r = run(checks.exponential_decay, raises)
    assert not r.passed and "RuntimeError: boom" in text(r)


def test_exponential_decay_not_implemented_and_wrong_signature():
    def todo(step, lr0, decay_rate, decay_steps):
        raise NotImplementedError()

    r = run(checks.exponential_decay, todo)
    assert not r.passed and "not implemented" in text(r)
    r = run(checks.exponential_decay, lambda step, lr0: lr0)
    assert not r.passed and "cannot be called" in text(r)


# ---------------------------------------------------------------------------------------
# power_schedule
# ---------------------------------------------------------------------------------------
def test_power_schedule_accepts_reference():
    assert run(checks.power_schedule, schedules.power_schedule).passed


def test_power_schedule_rejects_ignoring_c():
    r = run(checks.power_schedule, lambda step, lr0, s, c=1.0: lr0 / (1 + step / s))
    assert not r.passed and "power c" in text(r)


def test_power_schedule_rejects_step_times_s():
    r = run(checks.power_schedule, lambda step, lr0, s, c=1.0: lr0 / (1 + step * s) ** c)
    assert not r.passed


def test_power_schedule_rejects_wrong_default_c():
    r = run(checks.power_schedule, lambda step, lr0, s, c=2.0: lr0 / (1 + step / s) ** c)
    assert not r.passed and "after s steps with c = 1" in text(r)


def test_power_schedule_rejects_multiplying_instead_of_dividing():
    r = run(checks.power_schedule, lambda step, lr0, s, c=1.0: lr0 * (1 + step / s) ** c)
    assert not r.passed


def test_power_schedule_rejects_none_and_exceptions():
    assert not run(checks.power_schedule, lambda step, lr0, s, c=1.0: None).passed
    r = run(checks.power_schedule, lambda step, lr0, s, c=1.0: lr0 / (step / s) ** c)
    assert not r.passed and "ZeroDivisionError" in text(r)
    assert not run(checks.power_schedule, lambda step, lr0, s, c=1.0: [lr0]).passed


# ---------------------------------------------------------------------------------------
# piecewise_constant
# ---------------------------------------------------------------------------------------
def test_piecewise_constant_accepts_reference():
    assert run(checks.piecewise_constant, schedules.piecewise_constant).passed


def test_piecewise_constant_accepts_a_plain_loop():
    def loop(step, boundaries, values):
        for b, v in zip(boundaries, values):
            if step < b:
                return v
        return values[-1]

    assert run(checks.piecewise_constant, loop).passed


def test_piecewise_constant_rejects_strict_greater_than_at_boundary():
    r = run(checks.piecewise_constant,
            lambda step, boundaries, values: values[sum(step > b for b in boundaries)])
    assert not r.passed and "exactly at the first boundary" in text(r) and "step >= b" in text(r)


def test_piecewise_constant_rejects_bisect_left():
    r = run(checks.piecewise_constant,
            lambda step, boundaries, values: values[bisect_left(boundaries, step)])
    assert not r.passed


def test_piecewise_constant_rejects_never_reaching_last_value():
    r = run(checks.piecewise_constant, lambda step, boundaries, values:
            values[min(sum(step >= b for b in boundaries), max(len(boundaries) - 1, 0))])
    assert not r.passed and "after the last boundary" in text(r)


def test_piecewise_constant_rejects_returning_the_index():
    r = run(checks.piecewise_constant,
            lambda step, boundaries, values: sum(step >= b for b in boundaries))
    assert not r.passed


def test_piecewise_constant_rejects_mutating_boundaries():
    def appends(step, boundaries, values):
        boundaries.append(float("inf"))
        return values[sum(step >= b for b in boundaries)]

    r = run(checks.piecewise_constant, appends)
    assert not r.passed and "modified its argument #2" in text(r)


def test_piecewise_constant_rejects_none_and_exceptions():
    assert not run(checks.piecewise_constant, lambda step, boundaries, values: None).passed
    r = run(checks.piecewise_constant, lambda step, boundaries, values: values[boundaries[0]])
    assert not r.passed and "raised" in text(r)


# ---------------------------------------------------------------------------------------
# one_cycle
# ---------------------------------------------------------------------------------------
def test_one_cycle_accepts_reference():
    assert run(checks.one_cycle, schedules.one_cycle).passed


def _variant(**over):
    def fn(step, total_steps, max_lr, pct_start=0.3, div_factor=25.0, final_div_factor=1e4):
        return schedules.one_cycle(step, total_steps, max_lr, pct_start, div_factor,
                                   final_div_factor, **over)
    return fn


def test_one_cycle_rejects_three_phase():
    r = run(checks.one_cycle, _variant(three_phase=True))
    assert not r.passed and "three-phase" in text(r)


def test_one_cycle_rejects_linear_annealing():
    r = run(checks.one_cycle, _variant(anneal="linear"))
    assert not r.passed and "linear annealing" in text(r)


def test_one_cycle_rejects_min_lr_from_max_lr():
    def wrong(step, total_steps, max_lr, pct_start=0.3, div_factor=25.0, final_div_factor=1e4):
        return schedules.one_cycle(step, total_steps, max_lr, pct_start, div_factor,
                                   final_div_factor / div_factor)

    r = run(checks.one_cycle, wrong)
    assert not r.passed and "not max_lr / final_div_factor" in text(r)


def test_one_cycle_rejects_peak_at_pct_start_times_total():
    def wrong(step, total_steps, max_lr, pct_start=0.3, div_factor=25.0, final_div_factor=1e4):
        initial = max_lr / div_factor
        peak = pct_start * total_steps  # should be pct_start * total_steps - 1
        if step <= peak:
            a, b, p = initial, max_lr, step / peak
        else:
            a, b, p = max_lr, initial / final_div_factor, (step - peak) / (total_steps - 1 - peak)
        return b + (a - b) / 2 * (1 + math.cos(math.pi * p))

    r = run(checks.one_cycle, wrong)
    assert not r.passed and "pct_start · total_steps − 1" in text(r)


def test_one_cycle_rejects_hard_coded_div_factor():
    def wrong(step, total_steps, max_lr, pct_start=0.3, div_factor=25.0, final_div_factor=1e4):
        return schedules.one_cycle(step, total_steps, max_lr, pct_start, 25.0, final_div_factor)

    r = run(checks.one_cycle, wrong)
    assert not r.passed and "div 10" in text(r) and "max_lr / div_factor" in text(r)


def test_one_cycle_rejects_phase_two_over_total_steps():
    def wrong(step, total_steps, max_lr, pct_start=0.3, div_factor=25.0, final_div_factor=1e4):
        initial, peak = max_lr / div_factor, pct_start * total_steps - 1
        if step <= peak:
            a, b, p = initial, max_lr, step / peak
        else:  # divides by the wrong phase length: never quite reaches the minimum
            a, b, p = max_lr, initial / final_div_factor, (step - peak) / (total_steps - peak)
        return b + (a - b) / 2 * (1 + math.cos(math.pi * p))

    assert not run(checks.one_cycle, wrong).passed


def test_one_cycle_rejects_none_and_exceptions_without_raising():
    r = run(checks.one_cycle, lambda step, total_steps, max_lr, pct_start=0.3, div_factor=25.0,
            final_div_factor=1e4: None)
    assert not r.passed and "forget `return`" in text(r)
    r = run(checks.one_cycle, lambda step, total_steps, max_lr, pct_start=0.3, div_factor=25.0,
            final_div_factor=1e4: float("nan"))
    assert not r.passed
    r = run(checks.one_cycle, lambda step, total_steps, max_lr: max_lr)
    assert not r.passed and "cannot be called" in text(r)


def test_checker_report_is_printed(capsys):
    checks.one_cycle(schedules.one_cycle)
    assert capsys.readouterr().out.strip() == "✓ one_cycle: all 5 checks passed"
