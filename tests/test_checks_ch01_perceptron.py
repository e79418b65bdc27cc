"""Checkers of chapter 01: the reference solutions pass, realistic mistakes fail, and
nothing a student's function does makes a checker raise."""

import numpy as np
import pytest

from course_utils import checks

# ----------------------------------------------------------------------------------------
# perceptron_predict
# ----------------------------------------------------------------------------------------


def predict_ok(X, w, b):
    return (X @ w + b > 0).astype(int)


def _fails(check, fn):
    result = check(fn, verbose=False)
    assert not result.passed and result.n_failed >= 1
    return result


def test_predict_reference_passes(capsys):
    result = checks.perceptron_predict(predict_ok)
    assert result.passed and result.n_cases == 6
    assert capsys.readouterr().out.startswith("✓ perceptron_predict: all 6 checks passed")


def test_rejects_threshold_at_ge_zero():
    r = _fails(checks.perceptron_predict, lambda X, w, b: (X @ w + b >= 0).astype(int))
    assert any("points on the line" in m and "use >, not >=" in m for m in r.messages)


def test_rejects_predict_ignoring_the_bias():
    r = _fails(checks.perceptron_predict, lambda X, w, b: (X @ w > 0).astype(int))
    assert any("the bias alone decides" in m for m in r.messages)


def test_rejects_subtracting_the_bias():
    _fails(checks.perceptron_predict, lambda X, w, b: (X @ w - b > 0).astype(int))


def test_rejects_sign_giving_minus_one():
    r = _fails(checks.perceptron_predict, lambda X, w, b: np.sign(X @ w + b).astype(int))
    assert any("not −1" in m for m in r.messages)


def test_rejects_a_boolean_array():
    r = _fails(checks.perceptron_predict, lambda X, w, b: X @ w + b > 0)
    assert any("boolean" in m and ".astype(int)" in m for m in r.messages)


def test_rejects_an_activation_instead_of_a_class():
    r = _fails(checks.perceptron_predict, lambda X, w, b: X @ w + b)
    assert any("not the activation" in m for m in r.messages)


def test_rejects_a_column_vector():
    r = _fails(checks.perceptron_predict, lambda X, w, b: (X @ w[:, None] + b > 0).astype(int))
    assert any("expected shape" in m for m in r.messages)


def test_rejects_a_python_list():
    _fails(checks.perceptron_predict, lambda X, w, b: [int(v) for v in X @ w + b > 0])


def test_predict_none_and_exceptions_are_reported_not_raised():
    r = _fails(checks.perceptron_predict, lambda X, w, b: None)
    assert any("returned None" in m for m in r.messages)

    def boom(X, w, b):
        raise ValueError("shapes not aligned")

    r = _fails(checks.perceptron_predict, boom)
    assert any("raised ValueError: shapes not aligned" in m for m in r.messages)

    def todo(X, w, b):
        raise NotImplementedError()

    r = _fails(checks.perceptron_predict, todo)
    assert r.messages == ["✗ four points: not implemented yet\n    hint: replace "
                          "`raise NotImplementedError()` with your code"]
    r = _fails(checks.perceptron_predict, lambda X, w: X)
    assert "cannot be called with these arguments" in r.messages[0]
    r = _fails(checks.perceptron_predict, "not a function")
    assert "expected a function" in r.messages[0]


def test_predict_odd_return_values_do_not_break_the_checker():
    for value in ("abc", {"a": 1}, np.array(["0", "1"]), np.full(4, np.nan), 3):
        _fails(checks.perceptron_predict, lambda X, w, b, v=value: v)


# ----------------------------------------------------------------------------------------
# perceptron_epoch
# ----------------------------------------------------------------------------------------


def epoch_ok(X, y, w, b, lr):
    w = w.copy()
    n_errors = 0
    for xi, yi in zip(X, y):
        y_hat = 1 if xi @ w + b > 0 else 0
        if yi != y_hat:
            w = w + lr * (yi - y_hat) * xi
            b = b + lr * (yi - y_hat)
            n_errors += 1
    return w, b, n_errors


def test_epoch_reference_passes():
    result = checks.perceptron_epoch(epoch_ok, verbose=False)
    assert result.passed and result.n_cases == 18


def test_epoch_integer_weights_and_numpy_scalars_are_fine():
    def ok_numpy_types(X, y, w, b, lr):
        w, b, n = epoch_ok(X, y, w, b, lr)
        return w, np.float64(b), np.int64(n)

    assert checks.perceptron_epoch(ok_numpy_types, verbose=False).passed


def test_rejects_batch_update_from_the_initial_weights():
    def batch(X, y, w, b, lr):  # every prediction made with the weights of the epoch start
        y_hat = (X @ w + b > 0).astype(int)
        d = y - y_hat
        return w + lr * d @ X, b + lr * d.sum(), int((d != 0).sum())

    r = _fails(checks.perceptron_epoch, batch)
    assert any("*current* w" in m for m in r.messages)


def test_rejects_epoch_threshold_at_ge_zero():
    def ge(X, y, w, b, lr):
        w, n = w.copy(), 0
        for xi, yi in zip(X, y):
            d = yi - (1 if xi @ w + b >= 0 else 0)
            w, b, n = w + lr * d * xi, b + lr * d, n + (d != 0)
        return w, b, n

    _fails(checks.perceptron_epoch, ge)


def test_rejects_forgetting_the_bias_update():
    def no_bias(X, y, w, b, lr):
        w, n = w.copy(), 0
        for xi, yi in zip(X, y):
            d = yi - (1 if xi @ w + b > 0 else 0)
            w, n = w + lr * d * xi, n + (d != 0)
        return w, b, n

    r = _fails(checks.perceptron_epoch, no_bias)
    assert any(": b:" in m and "the bias changes too" in m for m in r.messages)


def test_rejects_bias_update_without_the_learning_rate():
    def bias_no_lr(X, y, w, b, lr):
        w, n = w.copy(), 0
        for xi, yi in zip(X, y):
            d = yi - (1 if xi @ w + b > 0 else 0)
            w, b, n = w + lr * d * xi, b + d, n + (d != 0)
        return w, b, n

    r = _fails(checks.perceptron_epoch, bias_no_lr)
    assert any("lr = 0.5: b" in m for m in r.messages)


def test_rejects_counting_errors_after_the_epoch():
    def errors_after(X, y, w, b, lr):
        w, b, _ = epoch_ok(X, y, w, b, lr)
        return w, b, int(((X @ w + b > 0).astype(int) != y).sum())

    r = _fails(checks.perceptron_epoch, errors_after)
    assert any("n_errors" in m and "when they were visited" in m for m in r.messages)


def test_rejects_plus_minus_one_update_with_0_1_labels():
    def y_times_x(X, y, w, b, lr):  # the ±1 form of the rule, used with labels 0/1
        w, n = w.copy(), 0
        for xi, yi in zip(X, y):
            if yi != (1 if xi @ w + b > 0 else 0):
                w, b, n = w + lr * yi * xi, b + lr * yi, n + 1
        return w, b, n

    _fails(checks.perceptron_epoch, y_times_x)


def test_rejects_updating_w_in_place():
    def in_place(X, y, w, b, lr):
        n = 0
        for xi, yi in zip(X, y):
            d = yi - (1 if xi @ w + b > 0 else 0)
            w += lr * d * xi
            b, n = b + lr * d, n + (d != 0)
        return w, b, n

    r = _fails(checks.perceptron_epoch, in_place)
    assert any("modified its argument #3 (w) in place" in m for m in r.messages)


def test_rejects_shuffling_inside_the_epoch():
    def shuffled(X, y, w, b, lr):
        order = np.random.default_rng(0).permutation(len(X))
        return epoch_ok(X[order], y[order], w, b, lr)

    _fails(checks.perceptron_epoch, shuffled)


def test_rejects_returning_only_w_and_b():
    r = _fails(checks.perceptron_epoch, lambda X, y, w, b, lr: epoch_ok(X, y, w, b, lr)[:2])
    assert any("expected a tuple (w, b, n_errors), got tuple of length 2" in m for m in r.messages)


def test_epoch_none_and_exceptions_are_reported_not_raised():
    r = _fails(checks.perceptron_epoch, lambda X, y, w, b, lr: None)
    assert all("returned None" in m for m in r.messages)

    def boom(X, y, w, b, lr):
        return 1 / 0

    r = _fails(checks.perceptron_epoch, boom)
    assert any("raised ZeroDivisionError" in m for m in r.messages)
    for value in ("abc", (1, 2, 3), ("w", "b", "n"), (np.zeros(7), None, None)):
        _fails(checks.perceptron_epoch, lambda X, y, w, b, lr, v=value: v)


# ----------------------------------------------------------------------------------------
# mistake_bound
# ----------------------------------------------------------------------------------------


def _margin_terms(X, y, w, b):
    Xt = np.hstack([X, np.ones((len(X), 1))])
    wt = np.append(w, b)
    return Xt, wt, 2 * y - 1


def bound_ok(X, y, w, b):
    Xt, wt, s = _margin_terms(X, y, w, b)
    gamma = np.min(s * (Xt @ wt)) / np.linalg.norm(wt)
    if gamma <= 0:
        return float("inf")
    return (np.max(np.linalg.norm(Xt, axis=1)) / gamma) ** 2


def test_bound_reference_passes():
    assert checks.mistake_bound(bound_ok, verbose=False).passed


def test_rejects_bound_without_folding_the_bias():
    def unfolded(X, y, w, b):
        s = 2 * y - 1
        gamma = np.min(s * (X @ w + b)) / np.linalg.norm(w)
        return float("inf") if gamma <= 0 else (np.max(np.linalg.norm(X, axis=1)) / gamma) ** 2

    r = _fails(checks.mistake_bound, unfolded)
    assert any("fold the bias" in m for m in r.messages)


def test_rejects_bound_using_0_1_labels_as_signs():
    def zero_one(X, y, w, b):
        Xt, wt, _ = _margin_terms(X, y, w, b)
        gamma = np.min(y * (Xt @ wt)) / np.linalg.norm(wt)
        return float("inf") if gamma <= 0 else (np.max(np.linalg.norm(Xt, axis=1)) / gamma) ** 2

    _fails(checks.mistake_bound, zero_one)


def test_rejects_bound_not_squared():
    def not_squared(X, y, w, b):
        return np.sqrt(bound_ok(X, y, w, b))

    _fails(checks.mistake_bound, not_squared)


def test_rejects_bound_with_the_mean_radius():
    def mean_radius(X, y, w, b):
        Xt, wt, s = _margin_terms(X, y, w, b)
        gamma = np.min(s * (Xt @ wt)) / np.linalg.norm(wt)
        return float("inf") if gamma <= 0 else (np.mean(np.linalg.norm(Xt, axis=1)) / gamma) ** 2

    _fails(checks.mistake_bound, mean_radius)


def test_rejects_a_finite_bound_for_a_line_that_does_not_separate():
    def no_inf(X, y, w, b):
        Xt, wt, s = _margin_terms(X, y, w, b)
        gamma = np.min(s * (Xt @ wt)) / np.linalg.norm(wt)
        return (np.max(np.linalg.norm(Xt, axis=1)) / gamma) ** 2

    r = _fails(checks.mistake_bound, no_inf)
    assert any("expected inf" in m and "float('inf')" in m for m in r.messages)


def test_rejects_the_unsigned_margin():
    """|w·x + b| instead of (2y − 1)(w·x + b): a line with every point on the wrong side
    still gets a finite bound (a point exactly on the line used to hide the mistake)."""
    def unsigned(X, y, w, b):
        Xt, wt, _ = _margin_terms(X, y, w, b)
        gamma = np.min(np.abs(Xt @ wt)) / np.linalg.norm(wt)
        return float("inf") if gamma <= 0 else (np.max(np.linalg.norm(Xt, axis=1)) / gamma) ** 2

    r = _fails(checks.mistake_bound, unsigned)
    assert any("wrong side" in m and "signed" in m for m in r.messages)
    assert not any("5 points, with a bias" in m for m in r.messages)  # right where it separates


def test_bound_none_and_exceptions_are_reported_not_raised():
    _fails(checks.mistake_bound, lambda X, y, w, b: None)
    _fails(checks.mistake_bound, lambda X, y, w, b: np.linalg.norm(X, axis=7))
    for value in ("inf", True, np.zeros(3), [1.0]):
        _fails(checks.mistake_bound, lambda X, y, w, b, v=value: v)


@pytest.mark.parametrize("name", ["perceptron_predict", "perceptron_epoch", "mistake_bound"])
def test_chapter_checkers_are_registered(name):
    assert name in checks.__all__ and name in checks.CHECKERS
