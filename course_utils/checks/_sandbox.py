"""What keeps a student's function from hurting the checker (used by ``_framework``).

* **Time limit** — :func:`call_with_limit` runs one call for at most ``limit`` seconds.
  On Linux and macOS, in the main thread (where a Jupyter kernel runs its cells), it arms
  ``signal.setitimer(ITIMER_REAL)``; ``SIGALRM`` raises :class:`TimeLimit` inside the
  student's code, and the previous handler and timer are put back afterwards.  Elsewhere
  (Windows has no ``SIGALRM``; or a checker run from another thread) the call runs in a
  daemon thread that is joined with a timeout: the checker reports and goes on, but the
  runaway thread keeps running in the background until the kernel restarts.
  Python code is interrupted at once; one long C call (a huge matrix product, say) only
  when it returns.
* **Output cap** — :class:`CappedOutput` replaces ``sys.stdout``/``sys.stderr`` during the
  calls and keeps only the first lines of what the function prints.
* **Namespace guard** — :class:`Guard` remembers the bindings of the modules and classes
  the judging relies on and puts back whatever a student's function rebinds
  (``Check.fail = ...``, ``np.allclose = ...``, ``checks.x = ...``), after every call.
"""

from __future__ import annotations

import builtins
import signal
import sys
import threading
import time

__all__ = ["CappedOutput", "Guard", "TimeLimit", "call_with_limit", "can_interrupt"]

_MISSING = object()
# bound at import: a student's function that rebinds signal.* cannot switch the limit off
_setitimer = getattr(signal, "setitimer", None)
_getitimer = getattr(signal, "getitimer", None)
_signal = signal.signal
_SIGALRM = getattr(signal, "SIGALRM", None)
_ITIMER_REAL = getattr(signal, "ITIMER_REAL", None)
_monotonic = time.monotonic
_main_thread = threading.main_thread
_current_thread = threading.current_thread


class TimeLimit(BaseException):
    """Raised inside the student's code when its time is up.  A ``BaseException``, so a
    student's ``except Exception:`` does not swallow it."""


def can_interrupt() -> bool:
    """True where a call can be interrupted by ``SIGALRM`` (POSIX, main thread)."""
    return _setitimer is not None and _current_thread() is _main_thread()


def call_with_limit(fn, args, kwargs, limit: float):
    """``fn(*args, **kwargs)`` for at most ``limit`` s.

    Returns ``(finished, value, error)``: ``finished`` is False if the time ran out;
    ``error`` is the ``BaseException`` the call raised (never ``KeyboardInterrupt``, which
    propagates, so a student can still stop the checker)."""
    if can_interrupt():
        return _call_with_alarm(fn, args, kwargs, limit)
    return _call_in_thread(fn, args, kwargs, limit)


def _call_with_alarm(fn, args, kwargs, limit, *, _setitimer=_setitimer, _signal=_signal,
                     _SIGALRM=_SIGALRM, _ITIMER_REAL=_ITIMER_REAL, _monotonic=_monotonic,
                     _gettrace=sys.gettrace, _settrace=sys.settrace):
    # what runs after the student's code is bound here (default arguments), not looked up
    # in this module, which the student's code could rebind
    TimeLimit_ = TimeLimit
    armed, alarms = [True], [0]
    here = sys._getframe()

    def stop_every_line(frame, event, arg):
        if armed[0] and event == "line":
            raise TimeLimit_()
        return stop_every_line

    def on_alarm(signum, frame):
        if not armed[0]:
            return
        alarms[0] += 1
        if alarms[0] > 1:
            # the first TimeLimit was swallowed (`except:` / `except BaseException:`):
            # raise on every line the student's frames run, the handler's lines included,
            # so the exception leaves every `try`
            _settrace(stop_every_line)
            f = frame
            while f is not None and f is not here:
                f.f_trace_lines = True
                f.f_trace = stop_every_line
                f = f.f_back
        raise TimeLimit_()

    started = _monotonic()
    old_trace = _gettrace()
    old_handler = _signal(_SIGALRM, on_alarm)
    # repeat every 50 ms after the limit: a bare `except:` in the student's loop that
    # swallows one alarm does not keep it running
    old_timer = _setitimer(_ITIMER_REAL, max(limit, 1e-3), 0.05)
    finished, value, error = True, None, None
    try:
        try:
            value = fn(*args, **kwargs)
        finally:
            armed[0] = False
    except TimeLimit_:
        finished = False
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # SystemExit included: reported like any exception
        error = exc
    finally:
        armed[0] = False
        _setitimer(_ITIMER_REAL, 0)
        _signal(_SIGALRM, old_handler)
        if alarms[0] > 1:
            _settrace(old_trace)
        if old_timer[0] > 0:  # someone else's timer was running: give back what is left
            left = old_timer[0] - (_monotonic() - started)
            _setitimer(_ITIMER_REAL, max(left, 1e-3), old_timer[1])
    return finished, value, error


def _call_in_thread(fn, args, kwargs, limit):
    box = {}

    def target():
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller
            box["error"] = exc

    worker = threading.Thread(target=target, name="student function", daemon=True)
    worker.start()
    worker.join(limit)
    if worker.is_alive():
        return False, None, None  # it keeps running in the background (see module doc)
    error = box.get("error")
    if isinstance(error, KeyboardInterrupt):
        raise error
    return True, box.get("value"), error


class CappedOutput:
    """A text stream that keeps the first ``max_lines`` lines (of at most ``max_chars``
    characters each) and only counts the rest."""

    def __init__(self, max_lines: int = 20, max_chars: int = 200):
        self.max_lines, self.max_chars = max_lines, max_chars
        self.kept: list[str] = []
        self.partial = ""
        self.n_lines = 0
        self.open_line = False

    def write(self, text) -> int:
        if not isinstance(text, str):
            text = str(text)
        if not text:
            return 0
        if len(self.kept) >= self.max_lines:  # fast path once full: only count
            self.n_lines += text.count("\n")
            self.open_line = not text.endswith("\n")
            return len(text)
        parts = (self.partial + text).split("\n")
        self.partial = parts.pop()[: self.max_chars + 1]
        self.open_line = bool(self.partial)
        for line in parts:
            self.n_lines += 1
            if len(self.kept) < self.max_lines:
                self.kept.append(line if len(line) <= self.max_chars else line[: self.max_chars] + " …")
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    @property
    def total_lines(self) -> int:
        """Lines printed so far (an unfinished last line counts)."""
        return self.n_lines + (1 if self.open_line else 0)

    def shown(self) -> list[str]:
        """The lines kept (an unfinished last line included while there is room)."""
        lines = list(self.kept)
        if self.open_line and len(lines) < self.max_lines:
            lines.append(self.partial[: self.max_chars])
        return lines


class redirected:
    """``with redirected(sink):`` sends ``sys.stdout`` and ``sys.stderr`` to ``sink`` and
    afterwards puts back the streams that were there (even if the student replaced them)."""

    def __init__(self, sink):
        self.sink = sink

    def __enter__(self):
        self.saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = self.sink
        return self.sink

    def __exit__(self, *exc):
        sys.stdout, sys.stderr = self.saved
        return False


def _restore(ns, saved: dict, prune: bool) -> list[str]:
    current = vars(ns)
    label = getattr(ns, "__name__", type(ns).__name__)
    changed = [k for k, v in saved.items() if current.get(k, _MISSING) is not v]
    added = [k for k in list(current) if k not in saved] if prune else []
    for k in changed:
        _set(ns, k, saved[k])
    for k in added:
        try:
            delattr(ns, k)
        except (AttributeError, TypeError):
            pass
    return [f"{label}.{k}" for k in changed + added]


def _set(ns, key, value):
    try:
        setattr(ns, key, value)
    except (AttributeError, TypeError):
        if isinstance(vars(ns), dict):  # a module's namespace
            vars(ns)[key] = value


#: names in builtins that the shell itself rebinds (IPython's ``_``, ``exit`` traps)
BUILTINS_SKIP = frozenset({"_", "__", "___", "exit", "quit", "get_ipython", "display"})


_BUILTINS = vars(builtins)


def restore_builtins(saved: dict, *, _current=_BUILTINS, _missing=_MISSING) -> list[str]:
    """Put back the builtins in ``saved`` (only dict operations: they may be rebound)."""
    changed = [k for k, v in saved.items() if _current.get(k, _missing) is not v]
    for k in changed:
        _current[k] = saved[k]
    return ["builtins." + k for k in changed]


class Guard:
    """Snapshots of the bindings of some namespaces (modules, classes, dicts), restorable.

    ``own`` namespaces (the checker framework's) and every class are restored exactly,
    names a student added included; in the other modules only the names that existed are
    re-bound, so a library's lazily added attributes stay."""

    def __init__(self, own=(), others=(), own_dicts=()):
        self.own, self.others, self.own_dicts = list(own), list(others), list(own_dicts)

    def snapshot(self):
        return ([(ns, dict(vars(ns))) for ns in self.own],
                [(ns, dict(vars(ns))) for ns in self.others],
                [(d, dict(d)) for d in self.own_dicts],
                {k: v for k, v in vars(builtins).items() if k not in BUILTINS_SKIP},
                (sys.gettrace(), sys.getprofile()))

    def restore(self, snap, *, _builtins=restore_builtins, _restore=_restore) -> list[str]:
        """Put every binding back; return the names that had been changed.  (Its helpers
        are default arguments: the student's code may have rebound this module's names.)"""
        own, others, dicts, saved_builtins, (trace, profile) = snap
        changed = _builtins(saved_builtins)  # first: the rest relies on the builtins
        for ns, saved in own:
            changed += _restore(ns, saved, prune=True)
        for ns, saved in others:  # a class's added attribute may shadow an inherited one
            changed += _restore(ns, saved, prune=isinstance(ns, type))
        for d, saved in dicts:
            if d != saved or any(d[k] is not v for k, v in saved.items()):
                changed.append("a registry")
                d.clear()
                d.update(saved)
        if sys.gettrace() is not trace:
            sys.settrace(trace)
            changed.append("sys.settrace")
        if sys.getprofile() is not profile:
            sys.setprofile(profile)
            changed.append("sys.setprofile")
        return changed
