"""Checker of the warm-up exercise in 00_start_here."""

import numpy as np

from ._framework import Check, checker

__all__ = ["standardize"]


def _reference(X):
    mu, sd = X.mean(axis=0), X.std(axis=0)
    sd = np.where(sd == 0, 1.0, sd)
    return (X - mu) / sd


@checker
def standardize(c: Check):
    """``standardize(X)``: (X − column mean) / column std (population std, ddof=0);
    a constant column becomes all zeros; X itself is not modified.  Besides the fixed
    cases, each run draws a new random matrix and a new one with a constant column."""
    hint_axis = "compute one mean and one std per column: X.mean(axis=0), X.std(axis=0)"
    shape_hint = ("one value per entry of X: the result has X's shape (reduce over axis=0 "
                  "and let broadcasting subtract/divide every row)")
    X = np.array([[1.0, 10.0], [3.0, 30.0], [5.0, 50.0]])
    ok, out = c.call(X, case="3×2 matrix")
    if ok:
        c.close(out, _reference(X), "3×2 matrix", hint_axis, shape_hint=shape_hint)
    rng = c.rng
    n, d = c.integers(20, 60), c.integers(3, 6)
    X = rng.normal(rng.uniform(-5, 5, d), rng.uniform(0.5, 4.0, d), size=(n, d))
    case = "a random matrix"
    ok, out = c.call(X, case=case)
    if ok and c.close(out, _reference(X), case, "use the population std (ddof=0), which is "
                      "NumPy's default", shape_hint=shape_hint):
        c.expect(bool(np.allclose(out.std(axis=0), 1.0)), case,
                 "columns of the result should have std 1")
    X = np.array([[2.0, 1.0], [2.0, 3.0], [2.0, 5.0]])
    ok, out = c.call(X, case="constant column")
    if ok:
        c.close(out, _reference(X), "constant column",
                "a column with std 0 cannot be divided by 0: make it all zeros (divide by 1)",
                shape_hint=shape_hint)
    n, d = c.integers(5, 15), c.integers(2, 5)
    X = rng.normal(size=(n, d)) * 3
    X[:, c.integers(0, d - 1)] = float(c.integers(-9, 9))  # an integer: its std is exactly 0
    case = "a random matrix with a constant column"
    ok, out = c.call(X, case=case)
    if ok:
        c.close(out, _reference(X), case, "a column with std 0 cannot be divided by 0: make it "
                "all zeros (divide by 1)", shape_hint=shape_hint)
