"""Checkers of chapter 03: ``xavier_uniform``, ``he_normal``, ``lecun_normal``.

Random initializers cannot be compared value by value, so each checker tests what must
hold for *any* correct implementation: the shape ``(fan_out, fan_in)``; the same
``generator`` seed gives the same tensor and different seeds different ones; the global
random state is left alone when a generator is given; and, on 40 000–80 000 draws, the mean, the
standard deviation and the shape of the distribution (uniform: nothing beyond ±r and
values right up to it; normal: the right share of values beyond 2σ and 2.5σ).  The
tolerances are about ten standard errors wide, so a correct answer passes with any draw,
while the usual mistakes (swapped shape, wrong fan, variance used as std, uniform vs
normal, truncated normal, ignoring the generator) are far outside them.  The fans and the
generator seeds are drawn afresh on every run (a table of recorded answers does not pass).
"""

from __future__ import annotations

import inspect
import math

import torch

from ._framework import Check, _Abort, checker

__all__ = ["he_normal", "lecun_normal", "xavier_uniform"]

#: Ranges of the fans of the large draw (drawn per run): unequal, so that every mix-up of
#: fan_in and fan_out shows.
FAN_IN, FAN_OUT = (350, 450), (120, 180)
STD_TOL = 0.04          # |sample std / expected std − 1| allowed (SE ≤ 0.35 %)
MEAN_TOL = 0.05         # |sample mean| / expected std allowed (SE ≤ 0.5 %)
# normal: share of |w| beyond 2σ is 4.55 % and beyond 2.5σ is 1.24 % (SE 0.09 %, 0.05 %)
TAIL_2 = (0.036, 0.055)
TAIL_25 = (0.008, 0.017)
_MISSING = object()


def _call(c: Check, fan_in: int, fan_out: int, case: str, generator=_MISSING):
    """Call the student's ``fn(fan_in, fan_out, generator=...)``.

    A generator is passed by name and kept out of the framework's "did it modify its
    arguments" comparison (drawing from a generator is supposed to advance it)."""
    fn = c.fn
    kwargs = {} if generator is _MISSING else {"generator": generator}
    try:
        inspect.signature(fn).bind(fan_in, fan_out, **kwargs)
    except TypeError as exc:
        c.fail(case, f"cannot be called as {c.name}(fan_in, fan_out"
               + (", generator=...)" if kwargs else ")") + f" ({exc})",
               f"keep the signature def {c.name}(fan_in, fan_out, generator=None)")
        raise _Abort from None
    except ValueError:
        pass

    def bound(a, b):
        return fn(a, b, **kwargs)

    bound.__name__ = getattr(fn, "__name__", c.name)
    c.fn = bound
    try:
        return c.call(fan_in, fan_out, case=case)
    finally:
        c.fn = fn


def _is_float_tensor(c: Check, w, case: str) -> bool:
    if w is None:
        return c.fail(case, "returned None", "did you forget `return`?")
    if not isinstance(w, torch.Tensor):
        return c.fail(case, f"expected a torch.Tensor, got {type(w).__name__}",
                      "build the weights with torch (torch.rand / torch.randn), not NumPy")
    if not w.is_floating_point():
        return c.fail(case, f"expected a floating-point tensor, got dtype {w.dtype}")
    return c.ok()


def _check_shape(c: Check, w, fan_in: int, fan_out: int, case: str) -> bool:
    expected = (fan_out, fan_in)
    got = tuple(w.shape)
    if got == expected:
        return c.ok()
    hint = "return shape (fan_out, fan_in), as nn.Linear stores its weight: one row per output unit"
    if got == (fan_in, fan_out):
        hint = "fan_in and fan_out are swapped in the shape: " + hint
    return c.fail(case, f"expected shape {expected}, got {got}", hint)


def _mistake_hint(ratio_got: float, mistakes: dict[str, float]) -> str | None:
    """The known mistake whose predicted std ratio is closest to the measured one, if any
    is within the tolerance."""
    best = min(mistakes.items(), key=lambda kv: abs(math.log(ratio_got / kv[1]))
               if ratio_got > 0 else math.inf, default=None)
    if best is not None and ratio_got > 0 and abs(ratio_got / best[1] - 1) <= 2 * STD_TOL:
        return best[0]
    return None


def _check_initializer(c: Check, kind: str, std_of, formula: str, mistakes) -> None:
    """All the cases of one initializer.  ``std_of(fan_in, fan_out)`` is the expected std;
    ``mistakes(fan_in, fan_out)`` maps a hint to the std that mistake would give."""
    draw_hint = ("draw with the generator: torch.rand(shape, generator=generator) or "
                 "torch.randn(shape, generator=generator)")

    def seed():
        return c.integers(0, 2**62)

    # 1. type and shape on a small, rectangular case
    fi = c.integers(2, 6)
    fo = fi + c.integers(1, 3)
    case = f"shape with fan_in={fi}, fan_out={fo}"
    ok, w = _call(c, fi, fo, case, generator=c.generator())
    if not ok or not _is_float_tensor(c, w, case):
        return
    _check_shape(c, w, fi, fo, case)
    if not c.expect(bool(torch.isfinite(w).all()), case, "the result contains NaN or inf"):
        return

    # 2. the generator makes it reproducible, and is really used
    case = "same generator seed twice"
    s1, fi, fo = seed(), c.integers(15, 25), c.integers(5, 12)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed())
        ok1, a = _call(c, fi, fo, case, generator=torch.Generator().manual_seed(s1))
        torch.manual_seed(seed())
        ok2, b = _call(c, fi, fo, case, generator=torch.Generator().manual_seed(s1))
    if ok1 and ok2 and _is_float_tensor(c, a, case) and _is_float_tensor(c, b, case):
        same = a.shape == b.shape and bool(torch.equal(a, b))
        c.expect(same, case, "two calls with generators seeded alike gave different weights",
                 "the result must depend only on the generator: " + draw_hint)
        case = "different generator seeds"
        ok3, d = _call(c, fi, fo, case, generator=torch.Generator().manual_seed(s1 + 1))
        if ok3 and _is_float_tensor(c, d, case):
            differ = a.shape != d.shape or not bool(torch.equal(a, d))
            c.expect(differ, case, "generators with different seeds gave the same weights",
                     "do not reseed inside the function; " + draw_hint)

    # 3. the global random state is left alone when a generator is given
    case = "global random state"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed())
        state = torch.get_rng_state()
        ok, _ = _call(c, fi, fo, case, generator=c.generator())
        untouched = bool(torch.equal(state, torch.get_rng_state()))
    if ok:
        c.expect(untouched, case, "calling it with a generator changed torch's global random state",
                 "use only the generator you are given (no torch.manual_seed, no draws "
                 "without generator=generator)")

    # 4. without a generator it still works (the default generator=None)
    case = "generator=None"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed())
        ok, w = _call(c, fi + 1, fo, case)
    if ok and _is_float_tensor(c, w, case):
        _check_shape(c, w, fi + 1, fo, case)

    # 5. statistics of a large draw
    fan_in, fan_out = c.integers(*FAN_IN), c.integers(*FAN_OUT)
    case = f"{fan_in * fan_out} draws, fan_in={fan_in}, fan_out={fan_out}"
    ok, w = _call(c, fan_in, fan_out, case, generator=c.generator())
    if not ok or not _is_float_tensor(c, w, case):
        return
    if w.numel() != fan_in * fan_out:
        c.fail(case, f"expected {fan_in * fan_out} values, got {w.numel()}",
               "return shape (fan_out, fan_in)")
        return
    x = w.detach().double().reshape(-1)
    if not bool(torch.isfinite(x).all()):
        c.fail(case, "the result contains NaN or inf")
        return
    sigma = std_of(fan_in, fan_out)
    mean, std = float(x.mean()), float(x.std())
    c.expect(abs(mean) <= MEAN_TOL * sigma, case,
             f"mean is {mean:.3g}, expected 0 (±{MEAN_TOL * sigma:.2g})",
             "the weights must be centred on 0" + (": torch.rand is in [0, 1), map it with "
                                                    "(2 * u − 1) * r" if kind == "uniform" else ""))
    ratio = std / sigma
    if abs(ratio - 1) > STD_TOL:
        hint = _mistake_hint(ratio, mistakes(fan_in, fan_out)) or f"expected {formula}"
        c.fail(case, f"standard deviation is {std:.4g}, expected {sigma:.4g} ({formula})", hint)
        return
    c.ok()
    biggest = float(x.abs().max())
    if kind == "uniform":
        r = math.sqrt(3.0) * sigma
        c.expect(biggest <= r * (1 + 1e-5), case,
                 f"values reach ±{biggest:.4g}, beyond the bound r = {r:.4g}",
                 "a uniform distribution U(−r, r) never leaves [−r, r]; did you draw from "
                 "a normal distribution? use (2 * torch.rand(...) − 1) * r")
        c.expect(biggest >= 0.99 * r, case,
                 f"the largest |value| is {biggest:.4g}, but U(−r, r) with r = {r:.4g} "
                 f"comes close to r in {fan_in * fan_out} draws",
                 "draw uniformly over the whole [−r, r]")
    else:
        tail2 = float((x.abs() > 2 * sigma).double().mean())
        tail25 = float((x.abs() > 2.5 * sigma).double().mean())
        if tail2 == 0.0 and biggest <= math.sqrt(3.0) * sigma * (1 + 1e-5):
            c.fail(case, "no value is beyond 1.74σ: this looks like a uniform distribution",
                   "draw from a normal distribution: torch.randn(..., generator=generator) * std")
            return
        good = TAIL_2[0] <= tail2 <= TAIL_2[1] and TAIL_25[0] <= tail25 <= TAIL_25[1]
        c.expect(good, case,
                 f"{100 * tail2:.2f}% of values are beyond 2σ and {100 * tail25:.2f}% beyond "
                 f"2.5σ; a normal distribution has 4.55% and 1.24%",
                 "draw from a plain (not truncated) normal: torch.randn(..., generator=generator) * std")


def _xavier_std(fi, fo):
    return math.sqrt(2.0 / (fi + fo))


@checker
def xavier_uniform(c: Check):
    """``xavier_uniform(fan_in, fan_out, generator=None)``: a tensor of shape
    (fan_out, fan_in) drawn from U(−r, r), r = √(6 / (fan_in + fan_out))."""
    def mistakes(fi, fo):
        s = _xavier_std(fi, fo)
        return {
            "r uses fan_in alone; Xavier averages both fans: r = √(6/(fan_in + fan_out))":
                math.sqrt(6.0 / fi / 3),
            "r = √(3/fan_in) uses fan_in alone; Xavier uses fan_avg = (fan_in + fan_out)/2":
                math.sqrt(3.0 / fi / 3),
            "r uses fan_out alone; Xavier averages both fans: r = √(6/(fan_in + fan_out))":
                math.sqrt(6.0 / fo / 3),
            "r is the bound of U(−r, r), not its standard deviation (which is r/√3)":
                math.sqrt(3.0) * s,
            "2/(fan_in + fan_out) is the variance; the bound is r = √(6/(fan_in + fan_out))":
                s / math.sqrt(3.0),
            "the square root is missing: r = √(6/(fan_in + fan_out))":
                6.0 / (fi + fo) / math.sqrt(3.0),
        }
    ratio_mistakes = lambda fi, fo: {k: v / _xavier_std(fi, fo) for k, v in mistakes(fi, fo).items()}
    with torch.random.fork_rng(devices=[]):  # the student's global random state is untouched
        _check_initializer(c, "uniform", _xavier_std, "std r/√3 with r = √(6/(fan_in + fan_out))",
                           ratio_mistakes)


@checker
def he_normal(c: Check):
    """``he_normal(fan_in, fan_out, generator=None)``: a tensor of shape (fan_out, fan_in)
    drawn from N(0, 2/fan_in)."""
    def std(fi, fo):
        return math.sqrt(2.0 / fi)

    def mistakes(fi, fo):
        s = std(fi, fo)
        return {k: v / s for k, v in {
            "2/fan_in is the variance; the standard deviation is √(2/fan_in)": 2.0 / fi,
            "He uses fan_in (the inputs of each unit), not fan_out": math.sqrt(2.0 / fo),
            "that is Xavier's variance; He's is 2/fan_in": math.sqrt(2.0 / (fi + fo)),
            "the factor 2 is missing (that is LeCun's 1/fan_in); ReLU halves the variance, "
            "He doubles it back": math.sqrt(1.0 / fi),
        }.items()}
    with torch.random.fork_rng(devices=[]):
        _check_initializer(c, "normal", std, "√(2/fan_in)", mistakes)


@checker
def lecun_normal(c: Check):
    """``lecun_normal(fan_in, fan_out, generator=None)``: a tensor of shape
    (fan_out, fan_in) drawn from N(0, 1/fan_in)."""
    def std(fi, fo):
        return math.sqrt(1.0 / fi)

    def mistakes(fi, fo):
        s = std(fi, fo)
        return {k: v / s for k, v in {
            "1/fan_in is the variance; the standard deviation is √(1/fan_in)": 1.0 / fi,
            "LeCun uses fan_in (the inputs of each unit), not fan_out": math.sqrt(1.0 / fo),
            "that is Xavier's variance 2/(fan_in + fan_out); LeCun's is 1/fan_in":
                math.sqrt(2.0 / (fi + fo)),
            "that is He's variance 2/fan_in; LeCun's is 1/fan_in": math.sqrt(2.0 / fi),
        }.items()}
    with torch.random.fork_rng(devices=[]):
        _check_initializer(c, "normal", std, "√(1/fan_in)", mistakes)
