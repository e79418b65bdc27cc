"""Checkers of chapter 01 (the perceptron): ``perceptron_predict``, ``perceptron_epoch``,
``mistake_bound``.  References are computed here from the definitions (a plain loop, so
they do not depend on ``course_utils.scratch.perceptron``); inputs use small integers (or
multiples of 1/8) and a learning rate that is a power of two where possible, so the expected
numbers are exact.  Each run adds cases drawn afresh (``c.rng``) to the fixed edge cases."""

import numpy as np

from ._framework import Check, checker, fmt

__all__ = ["perceptron_predict", "perceptron_epoch", "mistake_bound"]


# ----------------------------------------------------------------------------------------
# references
# ----------------------------------------------------------------------------------------

def _predict(X, w, b):
    return np.array([1 if x @ w + b > 0 else 0 for x in X], dtype=np.int64)


def _epoch(X, y, w, b, lr):
    w, b, n_errors = np.array(w, dtype=float), float(b), 0
    for x, t in zip(X, y):
        delta = t - (1 if x @ w + b > 0 else 0)
        if delta:
            w = w + lr * delta * x
            b = b + lr * delta
            n_errors += 1
    return w, b, n_errors


def _bound(X, y, w, b):
    Xt = np.hstack([X, np.ones((len(X), 1))])
    wt = np.append(w, b)
    gamma = np.min((2 * y - 1) * (Xt @ wt)) / np.linalg.norm(wt)
    if gamma <= 0:
        return float("inf")
    return float((np.max(np.linalg.norm(Xt, axis=1)) / gamma) ** 2)


def _one_line(values):
    return fmt(np.asarray(values), precision=3)


def _number(value):
    """A 0-d or one-element array/tensor counts as a number."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "fiu":
        return value.reshape(()).item()
    return value


# ----------------------------------------------------------------------------------------
# perceptron_predict
# ----------------------------------------------------------------------------------------

@checker
def perceptron_predict(c: Check):
    """``perceptron_predict(X, w, b)``: int array of 0/1, 1 iff ``X @ w + b > 0``."""
    cases = [
        ("four points", np.array([[2.0, 1.0], [-1.0, 3.0], [0.5, -2.0], [-3.0, -1.0]]),
         np.array([1.0, -0.5]), 0.25,
         "compute a = X @ w + b for all rows at once and compare with 0"),
        ("points on the line (a = 0)", np.array([[1.0, 1.0], [2.0, 0.0], [0.0, 0.0], [-1.0, 0.0]]),
         np.array([1.0, -1.0]), 0.0,
         "a point exactly on the line has a = 0, which is not > 0: predict 0 (use >, not >=)"),
        ("the bias alone decides", np.array([[3.0, -2.0], [-4.0, 1.0]]), np.array([0.0, 0.0]), 0.5,
         "do not forget the bias: a = X @ w + b"),
        ("a negative bias", np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]]), np.array([1.0, 1.0]),
         -2.5, "the bias is added (X @ w + b), not subtracted"),
        ("one row", np.array([[0.5, 0.5, 0.5]]), np.array([1.0, 1.0, 1.0]), -1.0,
         "return one prediction per row: shape (n_samples,)"),
    ]
    rng, n, d = c.rng, c.integers(30, 60), c.integers(2, 6)
    grid = lambda *shape: rng.integers(-24, 25, size=shape) / 8.0  # exact sums  # noqa: E731
    cases.append(("random rows and features", grid(n, d), grid(d), float(grid()),
                  "one prediction per row: (X @ w + b > 0).astype(int)"))
    for case, X, w, b, hint in cases:
        ok, out = c.call(X, w, b, case=case)
        if not ok:
            continue
        out = _number(out) if np.ndim(out) == 0 else out
        if isinstance(out, np.ndarray) and out.dtype.kind in "fiub" and out.size and \
                not np.isin(out, (0, 1)).all():
            values = np.unique(out)
            hint_values = ("predict class 0 for a ≤ 0 (not −1 as np.sign would give)"
                           if np.isin(values, (-1, 0, 1)).all() else
                           "return the class (a > 0 → 1, else 0), not the activation a itself")
            c.fail(case, f"values must be 0 or 1, got {_one_line(values[:4])}"
                   + (" …" if len(values) > 4 else ""), hint_values)
            continue
        if isinstance(out, np.ndarray) and out.dtype.kind == "b":
            c.fail(case, "returned a boolean array",
                   "convert the comparison to integers: (a > 0).astype(int)")
            continue
        c.close(out, _predict(X, w, b), case, hint, shape_hint="return one prediction per "
                "row: an array of shape (n_samples,), e.g. (X @ w + b > 0).astype(int)")


# ----------------------------------------------------------------------------------------
# perceptron_epoch
# ----------------------------------------------------------------------------------------

_HINT_W = ("visit the samples in order; for each one predict with the *current* w and b, "
           "then w ← w + lr·(yᵢ − ŷᵢ)·xᵢ before moving to the next sample")
_HINT_B = "the bias changes too: b ← b + lr·(yᵢ − ŷᵢ) (with the learning rate)"
_HINT_N = ("n_errors counts the samples that were misclassified when they were visited "
           "(= the number of updates), not the errors left after the epoch")


def _epoch_cases(rng):
    X = np.array([[0.0, 1.0], [2.0, 1.0], [1.0, -1.0], [-1.0, -2.0], [-2.0, 1.0], [1.0, 2.0]])
    y = np.array([0, 1, 1, 0, 0, 1])
    n, d = int(rng.integers(20, 41)), int(rng.integers(2, 6))
    Xr = rng.integers(-4, 5, size=(n, d)).astype(float)
    yr = (Xr @ rng.integers(-2, 3, size=d) + 0.5 > 0).astype(np.int64)
    flip = rng.choice(n, size=3, replace=False)
    yr[flip] = 1 - yr[flip]  # a few labels no line gets right
    w0 = rng.integers(-4, 5, size=d) / 4.0
    lr = float(rng.choice([1.0, 0.5, 0.25, 0.125]))
    sep_w, sep_b = np.array([1.0, 0.0]), -0.5  # separates the 6 points above
    return [
        # case, X, y, w, b, lr
        ("6 points from w = 0, b = 0, lr = 1", X, y, np.zeros(2), 0.0, 1.0),
        ("6 points from w = (0.5, −1), b = 0.25, lr = 0.5", X, y, np.array([0.5, -1.0]), 0.25, 0.5),
        ("same points, lr = 0.25", X[::-1].copy(), y[::-1].copy(), np.array([-1.0, 0.5]), 0.5, 0.25),
        ("a separating line: nothing to do", X, y, sep_w, sep_b, 1.0),
        ("random points from w = 0", Xr, yr, np.zeros(d), 0.0, 0.125),
        ("random points and starting line", Xr[::-1].copy(), yr[::-1].copy(), w0,
         float(rng.integers(-4, 5)) / 4, lr),
    ]


@checker
def perceptron_epoch(c: Check):
    """``perceptron_epoch(X, y, w, b, lr)``: one pass in the given order applying
    w ← w + lr(yᵢ − ŷᵢ)xᵢ, b ← b + lr(yᵢ − ŷᵢ); returns ``(w, b, n_errors)``."""
    for case, X, y, w, b, lr in _epoch_cases(c.rng):
        ok, out = c.call(X, y, w, b, lr, case=case)
        if not ok:
            continue
        if out is None:
            c.fail(case, "returned None", "did you forget `return w, b, n_errors`?")
            continue
        if not isinstance(out, (tuple, list)) or len(out) != 3:
            c.fail(case, f"expected a tuple (w, b, n_errors), got {type(out).__name__}"
                   + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""),
                   "return w, b, n_errors")
            continue
        w_new, b_new, n_new = out
        ew, eb, en = _epoch(X, y, w, b, lr)
        if isinstance(w_new, np.ndarray) and w_new.dtype.kind in "iub":
            w_new = w_new.astype(float)  # integer weights are fine when the values are right
        c.close(w_new, ew, f"{case}: w", _HINT_W, atol=1e-9,
                shape_hint="w keeps its shape (n_features,)")
        c.close(_number(b_new), eb, f"{case}: b", _HINT_B, atol=1e-9)
        c.close(_number(n_new), en, f"{case}: n_errors", _HINT_N)


# ----------------------------------------------------------------------------------------
# mistake_bound
# ----------------------------------------------------------------------------------------

_HINT_FOLD = ("fold the bias into the inputs: x̃ = (x, 1) and w̃ = (w, b); "
              "R = max‖x̃ᵢ‖ and γ = min (2yᵢ − 1)(w·xᵢ + b) / ‖w̃‖")


@checker
def mistake_bound(c: Check):
    """``mistake_bound(X, y, w, b)``: (R/γ)² with x̃ = (x, 1), w̃ = (w, b),
    R = max‖x̃ᵢ‖, γ = min (2yᵢ − 1)(w·xᵢ + b)/‖w̃‖; ``inf`` when (w, b) does not separate."""
    X = np.array([[2.0, 2.0], [3.0, 1.0], [-1.0, -2.0], [-2.0, 0.0], [1.0, 3.0]])
    y = np.array([1, 1, 0, 0, 1])
    rng, d = c.rng, c.integers(3, 6)
    wr = rng.normal(size=d)
    br = float(rng.uniform(-0.5, 0.5))
    Xr = rng.normal(size=(c.integers(30, 50), d))
    Xr = Xr[np.abs(Xr @ wr + br) > 0.1]  # no point too close to the line: γ is well defined
    yr = (Xr @ wr + br > 0).astype(np.int64)
    hint_sign = ("γ uses the *signed* margin (2yᵢ − 1)(w·xᵢ + b): a point on the wrong side "
                 "has a negative margin, and then the line does not separate: return "
                 "float('inf'); |w·xᵢ + b| ignores the labels")
    cases = [
        ("5 points, line through the origin", X, y, np.array([1.0, 1.0]), 0.0, _HINT_FOLD),
        ("5 points, with a bias", X, y, np.array([1.0, 0.5]), -0.5,
         "the bias is part of w̃ = (w, b): divide by ‖(w, b)‖, and add the constant 1 to every x"),
        ("random separable points", Xr, yr, wr, br, _HINT_FOLD),
        ("a line that misclassifies a point", X, y, np.array([1.0, -1.0]), 0.0,
         "when some (2yᵢ − 1)(w·xᵢ + b) ≤ 0 the line does not separate: return float('inf')"),
        ("the same line with w and b negated (every point on the wrong side)", X, y,
         np.array([-1.0, -1.0]), 0.0, hint_sign),
        ("random points, line negated", Xr, yr, -wr, -br, hint_sign),
    ]
    for case, Xc, yc, w, b, hint in cases:
        ok, out = c.call(Xc, yc, w, b, case=case)
        if not ok:
            continue
        out = _number(out)
        expected = _bound(Xc, yc, w, b)
        if isinstance(out, (int, float, np.floating, np.integer)) and not isinstance(out, bool) \
                and np.isinf(expected) and not np.isinf(out):
            c.fail(case, f"expected inf (the line does not separate the data), got {float(out):.6g}",
                   hint)
            continue
        c.close(out, expected, case, hint, rtol=1e-6, atol=0.0)
