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
    assert not result.passed and "modified its argument #1 in place" in out


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
