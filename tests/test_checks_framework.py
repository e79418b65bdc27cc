"""The checker framework never raises because of the student's function, and reports why."""

import numpy as np
import torch

from course_utils import checks
from course_utils.checks._framework import Check, checker


@checker
def double(c: Check):
    """double(x): 2·x for a NumPy array, without modifying x."""
    x = np.array([1.0, -2.0, 3.0])
    ok, out = c.call(x, case="small array", hint="multiply by 2")
    if ok:
        c.close(out, 2 * x, "small array", "multiply by 2")
    t = torch.tensor([1.0, 2.0])
    ok, out = c.call(t, case="tensor stays a tensor")
    if ok:
        c.close(out, 2 * t, "tensor stays a tensor")


def _report(fn, capsys):
    result = double(fn)
    return result, capsys.readouterr().out


def test_right_answer_passes_and_prints_one_line(capsys):
    result, out = _report(lambda x: 2 * x, capsys)
    assert result.passed and bool(result) and result.n_cases == 2
    assert out == "✓ double: all 2 checks passed\n"


def test_wrong_values_report_expected_and_got_with_hint(capsys):
    result, out = _report(lambda x: 3 * x, capsys)
    assert not result.passed and result.n_failed == 2
    assert "small array: expected [ 2., -4., 6.], got [ 3., -6., 9.]" in out
    assert "hint: multiply by 2" in out


def test_exceptions_none_and_not_implemented(capsys):
    def boom(x):
        raise ZeroDivisionError("oops")

    result, out = _report(boom, capsys)
    assert not result.passed and "raised ZeroDivisionError: oops" in out
    result, out = _report(lambda x: None, capsys)
    assert "returned None" in out and "forget `return`" in out

    def todo(x):
        raise NotImplementedError()

    result, out = _report(todo, capsys)
    assert result.n_cases == 1 and "not implemented yet" in out


def test_mutating_the_input_is_caught(capsys):
    def in_place(x):
        x *= 2
        return x

    result, out = _report(in_place, capsys)
    assert not result.passed and "modified its argument #1 (x) in place" in out


def test_wrong_signature_type_shape_dtype_nan(capsys):
    _, out = _report(lambda x, y: 2 * x, capsys)
    assert "cannot be called with these arguments" in out and "1 positional argument" in out
    _, out = _report(lambda x: list(2 * x), capsys)
    assert "expected a NumPy array, got list" in out
    _, out = _report(lambda x: (2 * x)[:1], capsys)
    assert "expected shape (3,), got (1,)" in out
    _, out = _report(lambda x: (2 * x).astype(int) if isinstance(x, np.ndarray) else 2 * x, capsys)
    assert "expected dtype float64, got int64" in out
    _, out = _report(lambda x: x * np.nan, capsys)
    assert "contains NaN" in out


def test_not_a_function_and_checker_internal_failures(capsys):
    result = double(3)
    assert not result.passed and "expected a function, got int" in capsys.readouterr().out

    class Weird:  # breaks numpy conversion inside the comparison
        def __array__(self, *a, **k):
            raise RuntimeError("no")

    result, out = _report(lambda x: Weird(), capsys)
    assert not result.passed


def test_close_on_scalars_and_bools():
    c = Check("t", None)
    assert c.close(np.float64(0.5), 0.5, "numpy scalar")
    assert c.close(torch.tensor(0.5), 0.5, "0-d tensor")
    assert not c.close(True, 1.0, "bool for number")
    assert c.close(True, True, "bool")
    assert not c.close(1, True, "int for bool")
    assert not c.close("0.5", 0.5, "string")
    assert c.result().n_failed == 3


def test_report_is_deterministic_and_result_repr_is_short():
    r1, r2 = double(lambda x: 3 * x, verbose=False), double(lambda x: 3 * x, verbose=False)
    assert r1.report() == r2.report()
    assert repr(r1) == "CheckResult(name='double', passed=False, failed=2/2)"


def test_every_registered_checker_survives_hostile_functions(capsys):
    """No checker may raise, whatever the student passes."""
    def raises(*a, **k):
        raise RuntimeError("student bug")

    for name, run in checks.CHECKERS.items():
        for fn in (raises, lambda *a, **k: None, lambda *a, **k: float("nan"), lambda: 0, 42):
            result = run(fn, verbose=False)
            assert not result.passed, name


def test_a_generator_argument_may_advance():
    @checker
    def draw(c: Check):
        g = torch.Generator().manual_seed(0)
        ok, out = c.call(3, g, case="draws")
        if ok:
            c.close(out, torch.rand(3, generator=torch.Generator().manual_seed(0)), "draws")

    assert draw(lambda n, g: torch.rand(n, generator=g), verbose=False).passed


def test_a_type_or_shape_failure_gets_its_own_hint_not_the_case_hint(capsys):
    _, out = _report(lambda x: list(2 * x), capsys)
    assert "expected a NumPy array, got list" in out and "np.asarray" in out
    assert "multiply by 2" not in out  # the case's hint is about values
    _, out = _report(lambda x: (2 * x)[:1], capsys)
    assert "expected shape (3,), got (1,)" in out and "multiply by 2" not in out
    _, out = _report(lambda x: (2 * x).astype(int) if isinstance(x, np.ndarray) else 2 * x, capsys)
    assert "expected dtype float64, got int64" in out and "floating point" in out
    _, out = _report(lambda x: 3 * x, capsys)
    assert "hint: multiply by 2" in out  # a wrong value does get it


def test_a_chapter_checker_gives_the_hint_of_the_failure():
    """A list instead of an array gets the hint about arrays, not "the bias is added"."""
    r = checks.perceptron_predict(lambda X, w, b: [int(v) for v in X @ w + b > 0], verbose=False)
    hints = [m.split("hint:")[-1] for m in r.messages]
    assert not r.passed and all("bias" not in h for h in hints)
    assert all("np.asarray" in h for h in hints)
    r = checks.perceptron_predict(lambda X, w, b: (X @ w + b > 0).astype(int)[:, None], verbose=False)
    assert any("expected shape" in m and "one prediction per row" in m for m in r.messages)
    assert all("bias" not in m.split("hint:")[-1] for m in r.messages)


def test_the_mutated_argument_is_named():
    def in_place(step, boundaries, values):
        values.append(0.0)
        return values[0]

    r = checks.piecewise_constant(in_place, verbose=False)
    assert any("modified its argument #3 (values) in place" in m for m in r.messages)


def test_sys_exit_and_time_limit_in_a_custom_checker(capsys):
    import sys
    import time

    def exits(x):
        sys.exit("bye")

    _, out = _report(exits, capsys)
    assert "called sys.exit() (raised SystemExit with code bye)" in out
    result = double(lambda x: time.sleep(10), time_limit=0.2, verbose=False)
    assert result.n_cases == 1 and "did not return within 0.2 s" in result.messages[0]


def test_time_limit_must_be_positive():
    import pytest

    for bad in (0, -1, "1", True):
        with pytest.raises(ValueError, match="time_limit"):
            double(lambda x: 2 * x, time_limit=bad)


def test_the_total_time_budget_stops_a_slow_function(monkeypatch):
    import time

    from course_utils.checks import _framework

    monkeypatch.setattr(_framework, "TOTAL_TIME_LIMIT", 0.3)
    result = double(lambda x: time.sleep(0.2) or 2 * x, verbose=False)
    assert not result.passed and "more than 0.3 s in all" in result.messages[-1]


def test_capped_output_keeps_the_first_lines_and_counts_the_rest():
    from course_utils.checks._sandbox import CappedOutput

    out = CappedOutput(max_lines=3, max_chars=10)
    out.write("a\nb")
    out.write("c\n" + "x" * 50 + "\n")
    for i in range(1000):
        out.write(f"{i}\n")
    out.write("tail")
    assert out.kept == ["a", "bc", "x" * 10 + " …"]
    assert out.total_lines == 1004 and out.shown() == out.kept
    short = CappedOutput(max_lines=5)
    short.write("no newline")
    assert short.shown() == ["no newline"] and short.total_lines == 1


def test_inputs_are_fresh_on_every_run_but_reproducible_from_a_seed():
    assert Check("t", None).seed != Check("t", None).seed
    a, b = Check("t", None, seed=5), Check("t", None, seed=5)
    assert a.integers(0, 10**9) == b.integers(0, 10**9)
    assert torch.equal(torch.rand(3, generator=a.generator()), torch.rand(3, generator=b.generator()))
