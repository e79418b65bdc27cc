"""The checker framework behind ``course_utils.checks``.

A checker is written as ``@checker def name(c: Check): ...``: the body calls the student's
function through ``c.call`` (which catches anything the student's code does: exceptions,
None, a wrong signature, mutating the inputs) and compares with ``c.close``/``c.expect``.
The public ``checks.name(student_fn)`` prints a short deterministic report — all passed, or
each failed case with a hint — and returns a :class:`CheckResult`. It never raises because
of the student's function.
"""

from __future__ import annotations

import copy
import functools
import inspect
from dataclasses import dataclass, field

import numpy as np
import torch

PASS, FAIL = "✓", "✗"


class _Abort(Exception):
    """Stop a checker early (the function is not implemented or cannot be called)."""


@dataclass
class CheckResult:
    name: str
    passed: bool
    messages: list = field(default_factory=list)
    n_cases: int = 0
    n_failed: int = 0

    def __bool__(self) -> bool:
        return self.passed

    def report(self) -> str:
        if self.passed:
            return f"{PASS} {self.name}: all {self.n_cases} checks passed"
        head = f"{FAIL} {self.name}: {self.n_failed} of {self.n_cases} checks failed"
        if self.n_cases == 0:
            head = f"{FAIL} {self.name}: not checked"
        return "\n".join([head, *[f"  {m}" for m in self.messages]])

    def __repr__(self) -> str:
        return f"CheckResult(name={self.name!r}, passed={self.passed}, failed={self.n_failed}/{self.n_cases})"

    def _ipython_display_(self):
        """The report was printed by the checker already; show nothing more."""


def fmt(x, precision: int = 4) -> str:
    """Short, deterministic text of a value for a report."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        if x.numel() <= 8:
            return f"tensor({_one_line(x.numpy(), precision)})"
        return f"tensor of shape {tuple(x.shape)}, dtype {x.dtype}"
    if isinstance(x, np.ndarray):
        if x.size <= 8:
            return _one_line(x, precision)
        return f"array of shape {x.shape}, dtype {x.dtype}"
    if isinstance(x, float):
        return f"{x:.{precision + 2}g}"
    if isinstance(x, (list, tuple)) and len(x) > 8:
        return f"{type(x).__name__} of length {len(x)}"
    text = repr(x)
    return text if len(text) <= 80 else text[:77] + "..."


def _one_line(a: np.ndarray, precision: int) -> str:
    text = np.array2string(a, precision=precision, separator=", ", max_line_width=10**6)
    return " ".join(text.split())


_UNCHECKED = object()  # marks arguments that are meant to change (a random generator)


def _snapshot(obj):
    """A comparable copy of the array-like parts of an argument."""
    if isinstance(obj, (torch.Generator, np.random.Generator)):
        return _UNCHECKED  # drawing from a generator is supposed to advance it
    if isinstance(obj, torch.nn.Module):
        return {k: v.detach().clone() for k, v in obj.state_dict().items()}
    if isinstance(obj, torch.Tensor):
        return obj.detach().clone()
    if isinstance(obj, np.ndarray):
        return obj.copy()
    if isinstance(obj, (list, tuple)):
        return type(obj)(_snapshot(o) for o in obj)
    if isinstance(obj, dict):
        return {k: _snapshot(v) for k, v in obj.items()}
    return copy.deepcopy(obj)


def _same(a, b) -> bool:
    if a is _UNCHECKED or b is _UNCHECKED:
        return True
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return a.shape == b.shape and a.dtype == b.dtype and bool(torch.equal(a, b) or (
            a.is_floating_point() and torch.equal(a.isnan(), b.isnan())
            and torch.equal(a.nan_to_num(), b.nan_to_num())))
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    try:
        return bool(a == b)
    except Exception:
        return False


class Check:
    """The cases of one checker run against one student function."""

    def __init__(self, name: str, fn):
        self.name, self.fn = name, fn
        self.messages: list[str] = []
        self.n_cases = self.n_failed = 0

    # -- recording -------------------------------------------------------------------
    def fail(self, case: str, problem: str, hint: str | None = None) -> bool:
        self.n_cases += 1
        self.n_failed += 1
        self.messages.append(f"{FAIL} {case}: {problem}" + (f"\n    hint: {hint}" if hint else ""))
        return False

    def ok(self) -> bool:
        self.n_cases += 1
        return True

    def expect(self, condition: bool, case: str, problem: str, hint: str | None = None) -> bool:
        """Pass if ``condition``; else record ``problem`` with ``hint``."""
        return self.ok() if condition else self.fail(case, problem, hint)

    # -- calling the student's function ----------------------------------------------
    def call(self, *args, case: str, hint: str | None = None, **kwargs):
        """Call the student's function; return ``(True, value)`` or record why not and
        return ``(False, None)``.  Stops the whole check if it is not implemented or its
        signature does not accept these arguments."""
        fn_name = getattr(self.fn, "__name__", self.name)
        try:
            inspect.signature(self.fn).bind(*args, **kwargs)
        except TypeError as exc:
            self.fail(case, f"{fn_name}{_signature(self.fn)} cannot be called with these "
                      f"arguments ({exc})", "keep the signature given in the exercise "
                      f"(the checker passes {_describe_args(args, kwargs)})")
            raise _Abort from None
        except ValueError:
            pass  # builtins without a signature: just try the call
        before = [_snapshot(a) for a in args], {k: _snapshot(v) for k, v in kwargs.items()}
        try:
            value = self.fn(*args, **kwargs)
        except NotImplementedError:
            self.fail(case, "not implemented yet",
                      "replace `raise NotImplementedError()` with your code")
            raise _Abort from None
        except Exception as exc:
            self.fail(case, f"raised {type(exc).__name__}: {exc}", hint)
            return False, None
        for i, (a, b) in enumerate(zip(args, before[0])):
            if not _same(_snapshot(a), b):
                self.fail(case, f"modified its argument #{i + 1} in place",
                          "work on a copy (e.g. x.copy() / x.clone()) or build a new result")
                return False, None
        for k, b in before[1].items():
            if not _same(_snapshot(kwargs[k]), b):
                self.fail(case, f"modified its argument {k!r} in place",
                          "work on a copy or build a new result")
                return False, None
        return True, value

    # -- comparing ---------------------------------------------------------------------
    def close(self, got, expected, case: str, hint: str | None = None, *, atol: float = 1e-6,
              rtol: float = 1e-5, exact_dtype: bool = False) -> bool:
        """Compare an array, tensor or number with the expected one (type, shape, NaN, values).

        A NumPy array is expected where ``expected`` is NumPy, a tensor where it is a tensor.
        ``exact_dtype`` also requires the same dtype (else only the same kind: int/float/bool)."""
        if got is None:
            return self.fail(case, "returned None", "did you forget `return`?")
        if isinstance(expected, torch.Tensor):
            if not isinstance(got, torch.Tensor):
                return self.fail(case, f"expected a torch.Tensor, got {type(got).__name__}", hint)
            g, e = got.detach().cpu(), expected.detach().cpu()
            if g.dtype != e.dtype and (exact_dtype or g.is_floating_point() != e.is_floating_point()):
                return self.fail(case, f"expected dtype {e.dtype}, got {g.dtype}", hint)
            g, e = g.double().numpy() if g.dtype != torch.bool else g.numpy(), \
                e.double().numpy() if e.dtype != torch.bool else e.numpy()
        elif isinstance(expected, np.ndarray):
            if isinstance(got, torch.Tensor) or not isinstance(got, np.ndarray):
                return self.fail(case, f"expected a NumPy array, got {type(got).__name__}", hint)
            if got.dtype != expected.dtype and (exact_dtype or got.dtype.kind != expected.dtype.kind):
                return self.fail(case, f"expected dtype {expected.dtype}, got {got.dtype}", hint)
            g, e = got, expected
        else:
            if isinstance(got, torch.Tensor) and got.numel() == 1:
                got = got.item()
            if isinstance(got, np.generic):
                got = got.item()
            if isinstance(got, bool) and not isinstance(expected, bool):
                return self.fail(case, f"expected a number, got {got!r}", hint)
            if isinstance(expected, bool):
                if not isinstance(got, bool):
                    return self.fail(case, f"expected True or False, got {fmt(got)}", hint)
                return self.expect(got == expected, case, f"expected {expected}, got {got}", hint)
            if not isinstance(got, (int, float)):
                return self.fail(case, f"expected a number, got {type(got).__name__}", hint)
            g, e = np.asarray(float(got)), np.asarray(float(expected))
        if g.shape != e.shape:
            return self.fail(case, f"expected shape {tuple(e.shape)}, got {tuple(g.shape)}", hint)
        if g.dtype.kind == "f" and np.isnan(g).any() and not np.isnan(e).any():
            return self.fail(case, "the result contains NaN", hint)
        if g.dtype.kind == "f" and np.isinf(g).any() and not np.isinf(e).any():
            return self.fail(case, "the result contains inf (overflow?)", hint)
        if e.dtype.kind in "fc" or g.dtype.kind in "fc":
            good = np.allclose(g, e, atol=atol, rtol=rtol, equal_nan=True)
        else:
            good = np.array_equal(g, e)
        if good:
            return self.ok()
        if e.size > 8:
            bad = ~np.isclose(g.astype(float), e.astype(float), atol=atol, rtol=rtol, equal_nan=True)
            i = np.unravel_index(int(np.argmax(bad)), e.shape)
            return self.fail(case, f"{int(bad.sum())} of {e.size} values differ; at index "
                             f"{tuple(int(j) for j in i)} expected {fmt(e[i])}, got {fmt(g[i])}", hint)
        return self.fail(case, f"expected {fmt(expected)}, got {fmt(got)}", hint)

    def result(self) -> CheckResult:
        return CheckResult(self.name, self.n_cases > 0 and self.n_failed == 0,
                           list(self.messages), self.n_cases, self.n_failed)


def _signature(fn) -> str:
    try:
        return str(inspect.signature(fn))
    except (TypeError, ValueError):
        return "(...)"


def _describe_args(args, kwargs) -> str:
    text = f"{len(args)} positional argument{'s' if len(args) != 1 else ''}"
    return text + (f" and {', '.join(kwargs)} by name" if kwargs else "")


CHECKERS: dict = {}


def checker(body):
    """Turn ``body(c: Check)`` into the public checker ``name(student_fn) -> CheckResult``."""
    name = body.__name__

    @functools.wraps(body)
    def run(student_fn, *, verbose: bool = True) -> CheckResult:
        c = Check(name, student_fn)
        if not callable(student_fn):
            c.fail("setup", f"expected a function, got {type(student_fn).__name__}",
                   f"pass the function itself: checks.{name}({name}) — no parentheses after it")
        else:
            try:
                body(c)
            except _Abort:
                pass
            except Exception as exc:  # anything odd the student's result did to our code
                c.fail("checker", f"could not finish checking ({type(exc).__name__}: {exc})",
                       "check the type and shape of what your function returns")
        result = c.result()
        if verbose:
            print(result.report())
        return result

    run.__doc__ = (body.__doc__ or "").strip() + "\n\nPrints a report; returns a CheckResult."
    CHECKERS[name] = run
    return run
