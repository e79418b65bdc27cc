"""The checker framework behind ``course_utils.checks``.

A checker is written as ``@checker def name(c: Check): ...``: the body calls the student's
function through ``c.call`` (which catches anything the student's code does: exceptions,
None, a wrong signature, mutating the inputs) and compares with ``c.close``/``c.expect``.
The public ``checks.name(student_fn)`` prints a short deterministic report — all passed, or
each failed case with a hint — and returns a :class:`CheckResult`. It never raises because
of the student's function.

What a student's function cannot do to a checker (``_sandbox`` has the machinery):

* **hang** — each call gets :data:`TIME_LIMIT` seconds (30 s: far above what a correct
  answer needs even on a busy laptop), a whole checker run :data:`TOTAL_TIME_LIMIT`
  (300 s); then the report says "your function did not return within 30 s" and
  the kernel stays usable.  On Linux/macOS in the kernel's main thread the call is
  interrupted (``SIGALRM``); on Windows, or off the main thread, it keeps running in a
  background thread while the checker reports (restart the kernel to stop it).
* **exit** — ``sys.exit()`` / ``SystemExit`` is reported like any exception.
  ``KeyboardInterrupt`` (the stop button) still stops the checker.
* **replay** — inputs are drawn afresh on every run (``c.rng`` / ``c.generator()``, seeded
  from ``os.urandom``, not from the course's seeds), next to fixed edge cases; so is the
  printed report of a correct function (no random values in it).
* **rebind the checker** — after every call the bindings of the framework, of every checker
  module, of the references (``scratch`` functions, ``torch.optim``) and of NumPy / torch /
  builtins are put back, and at the start of every run the framework's own functions and
  classes are checked against their state at import.
* **flood the output** — what it prints is captured; the first :data:`MAX_PRINTED_LINES`
  lines are shown under the report with the number of lines left out.
"""

from __future__ import annotations

import copy
import functools
import inspect
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from . import _sandbox
from ._sandbox import CappedOutput, call_with_limit, redirected

PASS, FAIL = "✓", "✗"

#: Seconds one call of the student's function may take.
TIME_LIMIT = 30.0
#: Seconds all the calls of one checker run may take together.
TOTAL_TIME_LIMIT = 300.0
#: Lines of the student's own printing shown under the report.
MAX_PRINTED_LINES = 20


class _Abort(Exception):
    """Stop a checker early (the function is not implemented or cannot be called)."""


@dataclass
class CheckResult:
    name: str
    passed: bool
    messages: list = field(default_factory=list)
    n_cases: int = 0
    n_failed: int = 0
    printed: list = field(default_factory=list)  # the first lines the function printed
    n_printed: int = 0                           # how many lines it printed in all

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

    def printed_note(self) -> str:
        """What the student's function printed during the checks (capped), or ''."""
        if not self.n_printed:
            return ""
        lines = [f"  your function printed {self.n_printed} line"
                 f"{'s' if self.n_printed != 1 else ''} during the checks"
                 + (f"; the first {len(self.printed)}:" if self.n_printed > len(self.printed)
                    else ":")]
        lines += [f"  | {line}" for line in self.printed]
        if self.n_printed > len(self.printed):
            lines.append(f"  … {self.n_printed - len(self.printed)} more line(s) not shown")
        return "\n".join(lines)


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
    """The cases of one checker run against one student function.

    ``rng`` (NumPy) and :meth:`generator` (torch) draw this run's fresh inputs."""

    def __init__(self, name: str, fn, seed: int | None = None):
        self.name, self.fn = name, fn
        self.messages: list[str] = []
        self.n_cases = self.n_failed = 0
        self.seed = int.from_bytes(os.urandom(8), "little") >> 2 if seed is None else int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.time_limit = float(TIME_LIMIT)
        self.deadline = time.monotonic() + float(TOTAL_TIME_LIMIT)
        self.output = CappedOutput(int(MAX_PRINTED_LINES))
        self.guard_snapshot = None  # set by the runner: bindings to put back after a call

    # -- fresh inputs ---------------------------------------------------------------------
    def generator(self) -> torch.Generator:
        """A torch generator seeded from this run's random stream."""
        return torch.Generator().manual_seed(int(self.rng.integers(2**62)))

    def integers(self, low: int, high: int) -> int:
        """A random int in [low, high] (both included)."""
        return int(self.rng.integers(low, high + 1))

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
        return ``(False, None)``.  Stops the whole check if it is not implemented, its
        signature does not accept these arguments, or it does not return in time."""
        fn = self.fn
        fn_name = getattr(fn, "__name__", self.name)
        names = _parameter_names(fn, args)
        try:
            inspect.signature(fn).bind(*args, **kwargs)
        except TypeError as exc:
            self.fail(case, f"{fn_name}{_signature(fn)} cannot be called with these "
                      f"arguments ({exc})", "keep the signature given in the exercise "
                      f"(the checker passes {_describe_args(args, kwargs)})")
            raise _Abort from None
        except KeyboardInterrupt:
            raise
        except BaseException:  # builtins without a signature, odd callables: just try
            pass
        before = [_snapshot(a) for a in args], {k: _snapshot(v) for k, v in kwargs.items()}
        left = self.deadline - time.monotonic()
        if left <= 0:
            self.fail(case, f"the checks took more than {TOTAL_TIME_LIMIT:g} s in all, stopped",
                      "your function is very slow (or prints a lot): make it return quickly")
            raise _Abort
        limit = min(self.time_limit, left)
        # everything needed after the call is held in locals: the call may rebind any
        # attribute of this class or module (the guard puts them back first thing)
        restore, snapshot, output = _GUARD.restore, self.guard_snapshot, self.output
        mine, state, messages = vars(self), dict(vars(self)), list(self.messages)
        try:
            with redirected(output):
                finished, value, error = call_with_limit(fn, args, kwargs, limit)
        finally:
            if snapshot is not None:
                restore(snapshot)
            mine.clear()
            mine.update(state)
            mine["messages"][:] = messages
        if not finished:
            if limit < self.time_limit:
                self.fail(case, f"the checks took more than {TOTAL_TIME_LIMIT:g} s in all, "
                          "stopped", "your function is very slow: make it return quickly")
            else:
                self.fail(case, f"your function did not return within {limit:g} s",
                          "look for a loop that never ends (a while loop whose condition "
                          "never becomes false, an index that is never increased)")
            raise _Abort
        if isinstance(error, NotImplementedError):
            self.fail(case, "not implemented yet",
                      "replace `raise NotImplementedError()` with your code")
            raise _Abort
        if isinstance(error, SystemExit):
            self.fail(case, f"called sys.exit() (raised SystemExit{_exit_code(error)})",
                      "return the result instead of exiting; sys.exit()/exit() would end the "
                      "whole program (a kernel ignores it, the checker reports it)")
            return False, None
        if error is not None:
            self.fail(case, f"raised {type(error).__name__}: {_text(error)}", hint)
            return False, None
        for i, (a, b) in enumerate(zip(args, before[0])):
            if not _same(_snapshot(a), b):
                self.fail(case, f"modified its argument {names[i]} in place",
                          f"do not change argument {names[i]}: work on a copy (e.g. x.copy() / "
                          "x.clone()) or build a new result")
                return False, None
        for k, b in before[1].items():
            if not _same(_snapshot(kwargs[k]), b):
                self.fail(case, f"modified its argument {k!r} in place",
                          f"do not change {k!r}: work on a copy or build a new result")
                return False, None
        return True, value

    # -- comparing ---------------------------------------------------------------------
    def close(self, got, expected, case: str, hint: str | None = None, *, atol: float = 1e-6,
              rtol: float = 1e-5, exact_dtype: bool = False, type_hint: str | None = None,
              dtype_hint: str | None = None, shape_hint: str | None = None) -> bool:
        """Compare an array, tensor or number with the expected one (type, shape, NaN, values).

        A NumPy array is expected where ``expected`` is NumPy, a tensor where it is a tensor.
        ``exact_dtype`` also requires the same dtype (else only the same kind: int/float/bool).
        ``hint`` is the case's hint about *values*; a wrong type, dtype or shape gets a hint
        about that (``type_hint``/``dtype_hint``/``shape_hint``, or a general one)."""
        if got is None:
            return self.fail(case, "returned None", "did you forget `return`?")
        if isinstance(expected, torch.Tensor):
            if not isinstance(got, torch.Tensor):
                return self.fail(case, f"expected a torch.Tensor, got {type(got).__name__}",
                                 type_hint or _HINT_TENSOR)
            g, e = got.detach().cpu(), expected.detach().cpu()
            if g.dtype != e.dtype and (exact_dtype or g.is_floating_point() != e.is_floating_point()):
                return self.fail(case, f"expected dtype {e.dtype}, got {g.dtype}",
                                 dtype_hint or _dtype_hint(e.is_floating_point(), torch=True))
            g, e = g.double().numpy() if g.dtype != torch.bool else g.numpy(), \
                e.double().numpy() if e.dtype != torch.bool else e.numpy()
        elif isinstance(expected, np.ndarray):
            if isinstance(got, torch.Tensor) or not isinstance(got, np.ndarray):
                return self.fail(case, f"expected a NumPy array, got {type(got).__name__}",
                                 type_hint or _HINT_ARRAY)
            if got.dtype != expected.dtype and (exact_dtype or got.dtype.kind != expected.dtype.kind):
                return self.fail(case, f"expected dtype {expected.dtype}, got {got.dtype}",
                                 dtype_hint or _dtype_hint(expected.dtype.kind == "f"))
            g, e = got, expected
        else:
            if isinstance(got, torch.Tensor) and got.numel() == 1:
                got = got.item()
            if isinstance(got, np.ndarray) and got.size == 1 and got.dtype.kind in "fiu":
                got = got.reshape(()).item()
            if isinstance(got, np.generic):
                got = got.item()
            if isinstance(got, bool) and not isinstance(expected, bool):
                return self.fail(case, f"expected a number, got {got!r}", type_hint or _HINT_NUMBER)
            if isinstance(expected, bool):
                if not isinstance(got, bool):
                    return self.fail(case, f"expected True or False, got {fmt(got)}",
                                     type_hint or "return a bool (True or False)")
                return self.expect(got == expected, case, f"expected {expected}, got {got}", hint)
            if not isinstance(got, (int, float)):
                return self.fail(case, f"expected a number, got {type(got).__name__}",
                                 type_hint or _HINT_NUMBER)
            g, e = np.asarray(float(got)), np.asarray(float(expected))
        if g.shape != e.shape:
            return self.fail(case, f"expected shape {tuple(e.shape)}, got {tuple(g.shape)}",
                             shape_hint or _HINT_SHAPE)
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

    def close_all(self, pairs, case: str, hint: str | None = None, **kwargs) -> bool:
        """:meth:`close` on each ``(label, got, expected)`` of ``pairs``, counted as *one*
        check (so the count does not depend on how many tensors a random case has); the
        first mismatch is reported."""
        for label, got, expected in pairs:
            probe = Check(self.name, None, seed=0)
            if not probe.close(got, expected, f"{case}{label}", hint, **kwargs):
                self.n_cases += 1
                self.n_failed += 1
                self.messages += probe.messages
                return False
        return self.ok()

    def result(self) -> CheckResult:
        return CheckResult(self.name, self.n_cases > 0 and self.n_failed == 0,
                           list(self.messages), self.n_cases, self.n_failed)


_HINT_TENSOR = "return a torch.Tensor: compute with torch operations on the tensors you receive"
_HINT_ARRAY = "return a NumPy array (np.asarray(...) turns a list into one)"
_HINT_NUMBER = "return one number (a Python float)"
_HINT_SHAPE = ("the result must have the expected shape: check the axis you reduce over and "
               "that no dimension is added or dropped")


def _dtype_hint(floating: bool, torch: bool = False) -> str:
    if floating:
        return ("compute in floating point (" + ("x.float()" if torch else "np.asarray(x, dtype=float)")
                + "); an integer or boolean result is not what is asked")
    return "return integers: convert with " + (".long()" if torch else ".astype(int)")


def _signature(fn) -> str:
    try:
        return str(inspect.signature(fn))
    except (TypeError, ValueError):
        return "(...)"


def _parameter_names(fn, args) -> list[str]:
    """How to name each positional argument in a report: #1 (X), or #1."""
    try:
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except KeyboardInterrupt:
        raise
    except BaseException:
        params = []
    return [f"#{i + 1} ({params[i].name})" if i < len(params) else f"#{i + 1}"
            for i in range(len(args))]


def _exit_code(exc: SystemExit) -> str:
    return "" if exc.code is None else f" with code {_text(exc.code)}"


def _text(value, limit: int = 300) -> str:
    """``str(value)``, shortened; never raises (a student's exception may be odd)."""
    try:
        text = str(value)
    except KeyboardInterrupt:
        raise
    except BaseException:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe_args(args, kwargs) -> str:
    text = f"{len(args)} positional argument{'s' if len(args) != 1 else ''}"
    return text + (f" and {', '.join(kwargs)} by name" if kwargs else "")


CHECKERS: dict = {}

# -- what a student's function may not rebind ---------------------------------------------

_GUARD = _sandbox.Guard()
_PRISTINE: list = []  # (namespace, {name: value}) of the checkers' code as imported

#: namespaces whose bindings the judging relies on besides the checkers' own modules
_OTHERS = ("builtins", "math", "numbers", "inspect", "copy", "functools", "warnings", "numpy",
           "torch", "torch.nn", "torch.nn.functional", "torch.nn.utils",
           "torch.nn.utils.clip_grad", "torch.nn.init", "torch.autograd", "torch.random",
           "torch.optim", "torch.optim.lr_scheduler", "course_utils.scratch.optim.functional",
           "course_utils.scratch.schedules")


def _others() -> list:
    out = [sys.modules[m] for m in _OTHERS if m in sys.modules and m != "builtins"]
    out += [torch.Tensor, torch.Generator, torch.nn.Module, torch.nn.Linear,
            torch.optim.Optimizer, torch.optim.SGD, torch.optim.Adagrad, torch.optim.RMSprop,
            torch.optim.Adam, torch.optim.lr_scheduler.LRScheduler,
            torch.optim.lr_scheduler.OneCycleLR]
    return out


def seal() -> None:
    """Remember the checkers as imported (``checks/__init__`` calls it once every checker
    module is loaded); from then on every run starts from that state."""
    own = [sys.modules[m] for m in sorted(sys.modules)
           if m == "course_utils.checks" or m.startswith("course_utils.checks.")]
    own += [Check, CheckResult, _sandbox.Guard, _sandbox.CappedOutput, _sandbox.redirected]
    _GUARD.own[:] = own
    _GUARD.others[:] = _others()
    _GUARD.own_dicts[:] = [CHECKERS]
    _PRISTINE[:] = [(ns, {k: v for k, v in vars(ns).items()
                          if isinstance(ns, type) or inspect.isfunction(v)
                          or inspect.isclass(v) or inspect.ismodule(v)}) for ns in own]


def _restore_pristine() -> None:
    """Put back any function or class of the checkers that was rebound since import."""
    for ns, saved in _PRISTINE:
        current = vars(ns)
        for k, v in saved.items():
            if current.get(k, _UNCHECKED) is not v:
                _sandbox._set(ns, k, v)
        if isinstance(ns, type):
            for k in [k for k in current if k not in saved]:
                try:
                    delattr(ns, k)
                except (AttributeError, TypeError):
                    pass


def _positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a number of seconds > 0, got {value!r}")
    return float(value)


def checker(body):
    """Turn ``body(c: Check)`` into the public checker ``name(student_fn) -> CheckResult``."""
    name = body.__name__

    @functools.wraps(body)
    def run(student_fn, *, verbose: bool = True, time_limit: float | None = None) -> CheckResult:
        _restore_pristine()
        c = Check(name, student_fn)
        if time_limit is not None:
            c.time_limit = _positive("time_limit", time_limit)
        restore = _GUARD.restore
        snapshot = c.guard_snapshot = _GUARD.snapshot()
        crash = None
        if not callable(student_fn):
            c.fail("setup", f"expected a function, got {type(student_fn).__name__}",
                   f"pass the function itself: checks.{name}({name}) — no parentheses after it")
        else:
            try:
                body(c)
            except _Abort:
                pass
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # anything odd the student's result did to our code
                crash = exc
            finally:
                restore(snapshot)
        if crash is not None:
            c.fail("checker", f"could not finish checking ({type(crash).__name__}: "
                   f"{_text(crash)})", "check the type and shape of what your function returns")
        result = c.result()
        result.printed, result.n_printed = c.output.shown(), c.output.total_lines
        if verbose:
            print(result.report())
            if result.n_printed:
                print(result.printed_note())
        return result

    run.__doc__ = ((body.__doc__ or "").strip() + "\n\nPrints a report; returns a CheckResult. "
                   f"Each call of your function may take {TIME_LIMIT:g} s.")
    CHECKERS[name] = run
    return run
