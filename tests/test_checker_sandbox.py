"""Every registered checker against hostile student functions: one that hangs, exits,
prints without end, replays answers recorded on an earlier run, or rebinds the checker's
own functions.  Each is reported (never raised) and contained: the kernel stays usable and
the next checker call judges correctly.

The reference answers are the solution notebooks' own functions, so a new chapter's
checkers are covered as soon as its solutions exist."""

from __future__ import annotations

import builtins
import copy
import functools
import math
import pathlib
import signal
import sys
import threading
import time

import nbformat
import numpy as np
import pytest
import torch
from torch import nn

from course_utils import checks
from course_utils.checks import _framework, _sandbox

ROOT = pathlib.Path(__file__).resolve().parent.parent
LIMIT = 0.3  # seconds per call in these tests (the checkers' default is TIME_LIMIT)
NAMES = sorted(n for n, run in checks.CHECKERS.items()
               if run.__module__.startswith("course_utils.checks.ch"))


def _references() -> dict:
    """The solution notebooks' functions, by name (with the notebook's imports)."""
    found = {}
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        namespace = {"np": np, "torch": torch, "nn": nn, "math": math}
        cells = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        imports = "\n".join(line for src in cells for line in src.splitlines()
                            if line.startswith(("import ", "from ")))
        exec(compile(imports, str(path), "exec"), namespace)  # noqa: S102
        for source in cells:
            if "### BEGIN SOLUTION" in source:
                exec(compile(source, str(path), "exec"), namespace)  # noqa: S102
        found.update({k: v for k, v in namespace.items() if k in checks.CHECKERS})
    return found


REFS = _references()
CHAPTER_CHECKERS = NAMES
NAMES = [n for n in CHAPTER_CHECKERS if n in REFS]  # the others fail the test below


def run(name, fn, **kwargs):
    result = checks.CHECKERS[name](fn, verbose=False, **kwargs)
    assert isinstance(result, checks.CheckResult)
    return result


def text(result) -> str:
    return "\n".join(result.messages)


def test_every_checker_has_a_reference_solution():
    assert len(NAMES) >= 24
    missing = sorted(set(CHAPTER_CHECKERS) - set(REFS))
    assert not missing, f"checkers without a solution in solutions/: {missing}"


@pytest.mark.parametrize("name", NAMES)
def test_reference_passes_with_the_same_report_every_time(name, capsys):
    """Fresh inputs on every run, yet a correct function always prints the same line."""
    checks.CHECKERS[name](REFS[name])
    first = capsys.readouterr().out
    checks.CHECKERS[name](REFS[name])
    assert capsys.readouterr().out == first
    assert first.startswith(f"✓ {name}: all ") and first.count("\n") == 1


# ---------------------------------------------------------------------------------- hang
@pytest.mark.parametrize("name", NAMES)
def test_a_hanging_function_is_stopped_and_the_kernel_stays_usable(name):
    def hang(*args, **kwargs):
        while True:
            pass

    handler = signal.getsignal(signal.SIGALRM)
    started = time.monotonic()
    result = run(name, hang, time_limit=LIMIT)
    assert time.monotonic() - started < 10 * LIMIT + 2
    assert not result.passed
    assert f"your function did not return within {LIMIT:g} s" in text(result)
    assert signal.getsignal(signal.SIGALRM) is handler  # put back, and no timer left
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert run(name, REFS[name]).passed  # a later call still works


def test_sleeping_and_swallowing_the_alarm_do_not_escape_the_limit():
    def sleeps(X):
        time.sleep(60)

    def swallows(X):
        while True:
            try:
                while True:
                    pass
            except BaseException:  # noqa: BLE001 - what a careless student writes
                pass

    for fn in (sleeps, swallows):
        started = time.monotonic()
        result = checks.standardize(fn, verbose=False, time_limit=LIMIT)
        assert "did not return within" in text(result)
        assert time.monotonic() - started < 5


def test_the_previous_alarm_handler_and_timer_are_restored():
    fired = []

    def mine(*args):
        fired.append(1)

    old = signal.signal(signal.SIGALRM, mine)
    try:
        signal.setitimer(signal.ITIMER_REAL, 30.0)
        assert checks.standardize(REFS["standardize"], verbose=False).passed
        assert not checks.standardize(lambda X: time.sleep(5), verbose=False,
                                      time_limit=LIMIT).passed
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 25 < left <= 30  # the outer timer runs on
        assert signal.getsignal(signal.SIGALRM) is mine  # the outer handler is back
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert not fired


def test_off_the_main_thread_the_call_runs_in_a_thread_with_a_timeout():
    """No SIGALRM there (as on Windows): the checker reports and the runaway thread keeps
    running in the background (stopped here through the event)."""
    stop, results = threading.Event(), []

    def hang(X):
        while not stop.is_set():
            time.sleep(0.01)

    worker = threading.Thread(target=lambda: results.append(
        checks.standardize(hang, verbose=False, time_limit=LIMIT)))
    worker.start()
    worker.join(10)
    stop.set()
    assert results and "did not return within" in text(results[0])
    assert not _sandbox.can_interrupt() or threading.current_thread() is threading.main_thread()

    def exits(X):
        sys.exit(1)

    worker = threading.Thread(target=lambda: results.append(checks.standardize(exits, verbose=False)))
    worker.start()
    worker.join(10)
    assert "SystemExit" in text(results[1])


# ---------------------------------------------------------------------------------- exit
@pytest.mark.parametrize("name", NAMES)
def test_sys_exit_is_reported_like_any_exception(name):
    def exits(*args, **kwargs):
        sys.exit(3)

    def raises(*args, **kwargs):
        raise SystemExit

    for fn in (exits, raises):
        result = run(name, fn)
        assert not result.passed and "SystemExit" in text(result), text(result)
    assert run(name, REFS[name]).passed


def test_keyboard_interrupt_still_stops_the_checker():
    def interrupted(X):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        checks.standardize(interrupted, verbose=False)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert checks.standardize(REFS["standardize"], verbose=False).passed


def test_the_stop_button_interrupts_a_hanging_function():
    """Jupyter's stop button sends SIGINT: it must stop the checker, not be reported."""
    def slow(X):
        while True:
            time.sleep(0.01)

    timer = threading.Timer(0.2, lambda: signal.pthread_kill(threading.main_thread().ident,
                                                              signal.SIGINT))
    started = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        checks.standardize(slow, verbose=False, time_limit=30)
    assert time.monotonic() - started < 5
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


# ------------------------------------------------------------------------------ printing
def _printing(ref, lines_first_call=100_000, lines_per_call=30):
    calls = []

    @functools.wraps(ref)
    def noisy(*args, **kwargs):
        if not calls:
            print("\n".join(f"flood {i}" for i in range(lines_first_call)))
        calls.append(1)
        for i in range(lines_per_call):
            print("debug", i)
        print("to stderr", file=sys.stderr)
        return ref(*args, **kwargs)
    return noisy


@pytest.mark.parametrize("name", NAMES)
def test_printing_is_captured_and_capped(name, capsys):
    result = checks.CHECKERS[name](_printing(REFS[name]))
    out, err = capsys.readouterr()
    assert result.passed, text(result)
    assert result.n_printed > 100_000 and len(result.printed) == _framework.MAX_PRINTED_LINES
    lines = out.splitlines()
    assert lines[0].startswith(f"✓ {name}: all ")
    assert len(lines) <= 3 + _framework.MAX_PRINTED_LINES
    assert "more line(s) not shown" in lines[-1] and "flood 0" in out and err == ""


def test_a_function_that_replaces_sys_stdout_does_not_silence_the_notebook(capsys):
    def hijack(X):
        sys.stdout = sys.stderr = open("/dev/null", "w")  # noqa: SIM115
        return REFS["standardize"](X)

    assert checks.standardize(hijack).passed
    assert capsys.readouterr().out.startswith("✓ standardize")


# -------------------------------------------------------------------------------- replay
def _key(x):
    if isinstance(x, torch.Tensor):
        return ("tensor", tuple(x.shape), x.detach().double().numpy().tobytes())
    if isinstance(x, np.ndarray):
        return ("array", x.shape, np.asarray(x, dtype=float).tobytes())
    if isinstance(x, torch.Generator):
        return ("generator", x.initial_seed())
    if isinstance(x, nn.Module):
        return ("module", tuple(_key(v) for v in x.state_dict().values()))
    if isinstance(x, (list, tuple)):
        return tuple(_key(v) for v in x)
    if isinstance(x, dict):
        return tuple((k, _key(v)) for k, v in sorted(x.items()))
    if callable(x):
        return ("callable", type(x).__name__)
    return repr(x)


def _copy(value):
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, (list, tuple)):
        return type(value)(_copy(v) for v in value)
    return copy.deepcopy(value)


class Replayer:
    """Records the reference's answers on a first run; then answers from the table, looked
    up by the inputs (``by="key"``) or in call order (``by="order"``)."""

    def __init__(self, ref, by):
        self.ref, self.by, self.recording = ref, by, True
        self.table, self.answers, self.i = {}, [], 0
        functools.update_wrapper(self, ref)

    def __call__(self, *args, **kwargs):
        if self.recording:
            value = self.ref(*args, **kwargs)
            self.table[_key((args, kwargs))] = _copy(value)
            self.answers.append(_copy(value))
            return value
        if self.by == "key":
            value = self.table.get(_key((args, kwargs)), self.answers[-1])
        else:
            value = self.answers[self.i % len(self.answers)]
            self.i += 1
        return _copy(value)


@pytest.mark.parametrize("by", ["key", "order"])
@pytest.mark.parametrize("name", NAMES)
def test_answers_replayed_from_an_earlier_run_fail(name, by):
    replay = Replayer(REFS[name], by)
    assert run(name, replay).passed  # the recording run is the reference itself
    replay.recording = False
    result = run(name, replay)
    assert not result.passed, f"{name}: a table of recorded answers passed"


# ------------------------------------------------------------------------ monkeypatching
def _vandal(ref):
    """Rebinds everything the judging uses, then returns nothing useful."""
    @functools.wraps(ref)
    def vandal(*args, **kwargs):
        def yes(*a, **k):
            return True

        def passes(self, *a, **k):  # every check counts as passed
            return self.ok()

        for attr in ("fail", "close", "expect", "close_all"):
            setattr(_framework.Check, attr, passes)
        _framework.Check.call = lambda self, *a, **k: (True, None)
        _framework.CheckResult.__bool__ = yes
        _framework._same = yes
        _framework._snapshot = yes
        _sandbox._restore = yes
        _sandbox.restore_builtins = yes
        for module in [m for k, m in list(sys.modules.items())
                       if k.startswith("course_utils.checks.ch")]:
            for attr, value in list(vars(module).items()):
                if callable(value) and not isinstance(value, type):
                    setattr(module, attr, yes)
        for name in list(checks.CHECKERS):
            setattr(checks, name, yes)
        checks.CHECKERS.clear()
        np.allclose = np.array_equal = np.isclose = yes
        torch.allclose = torch.equal = yes
        torch.Tensor.__eq__ = yes
        builtins.isinstance = yes
        builtins.print = yes
        return None
    return vandal


@pytest.mark.parametrize("name", NAMES)
def test_rebinding_the_checker_does_not_outlive_the_call(name):
    saved = {"Check.close": _framework.Check.close, "np.allclose": np.allclose,
             "isinstance": builtins.isinstance, "print": builtins.print,
             "torch.allclose": torch.allclose, "checker": checks.CHECKERS[name]}
    result = run(name, _vandal(REFS[name]))
    assert not result.passed  # judged with the real functions, even in this run
    assert _framework.Check.close is saved["Check.close"] and np.allclose is saved["np.allclose"]
    assert builtins.isinstance is saved["isinstance"] and builtins.print is saved["print"]
    assert torch.allclose is saved["torch.allclose"] and "__eq__" not in vars(torch.Tensor)
    assert checks.CHECKERS[name] is saved["checker"] and getattr(checks, name) is saved["checker"]
    other = NAMES[(NAMES.index(name) + 1) % len(NAMES)]
    assert not run(other, lambda *a, **k: None).passed  # a later checker is not fooled
    assert run(other, REFS[other]).passed and run(name, REFS[name]).passed


def test_a_rebinding_made_outside_a_checker_is_undone_at_the_next_run(monkeypatch):
    """A student cell that patches the framework directly: every run starts from the
    checkers as imported."""
    original = _framework.Check.fail
    _framework.Check.fail = lambda *a, **k: True
    _framework.Check.close = lambda *a, **k: True
    result = checks.standardize(lambda X: None, verbose=False)
    assert not result.passed and _framework.Check.fail is original


def test_mutating_the_checker_object_itself_is_undone():
    """Even reaching the running Check through the garbage collector does not help."""
    import gc

    def cheat(X):
        for obj in gc.get_objects():
            if type(obj) is _framework.Check:
                obj.n_failed = 0
                obj.messages.clear()
                obj.fail = lambda *a, **k: True
        return None

    assert not checks.standardize(cheat, verbose=False).passed


def test_in_a_jupyter_kernel_a_hang_an_exit_and_a_flood_are_contained():
    """The real thing: a kernel runs the cells in its main thread (SIGALRM available)."""
    from nbclient import NotebookClient

    cells = [
        "import sys, time\nfrom course_utils import checks",
        "def standardize(X):\n    while True:\n        pass\n"
        "r = checks.standardize(standardize, time_limit=0.5)",
        "def standardize(X):\n    sys.exit(1)\nr = checks.standardize(standardize)",
        "def standardize(X):\n    print('\\n'.join(map(str, range(10**5))))\n"
        "    return (X - X.mean(0)) / __import__('numpy').where(X.std(0) == 0, 1, X.std(0))\n"
        "r = checks.standardize(standardize)",
        "print('kernel alive', r.passed)",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    out = ["".join(o.get("text", "") for o in c.outputs) for c in nb.cells]
    assert "did not return within 0.5 s" in out[1]
    assert "called sys.exit()" in out[2]
    assert out[3].startswith("✓ standardize") and len(out[3].splitlines()) <= 24
    assert out[4] == "kernel alive True\n"
