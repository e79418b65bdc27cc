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
    a constant column becomes all zeros; X itself is not modified."""
    hint_axis = "compute one mean and one std per column: X.mean(axis=0), X.std(axis=0)"
    X = np.array([[1.0, 10.0], [3.0, 30.0], [5.0, 50.0]])
    ok, out = c.call(X, case="3×2 matrix")
    if ok:
        c.close(out, _reference(X), "3×2 matrix", hint_axis)
    rng = np.random.default_rng(0)
    X = rng.normal(5.0, 3.0, size=(50, 4))
    ok, out = c.call(X, case="random 50×4")
    if ok and c.close(out, _reference(X), "random 50×4", "use the population std (ddof=0), "
                      "which is NumPy's default"):
        c.expect(bool(np.allclose(out.std(axis=0), 1.0)), "random 50×4",
                 "columns of the result should have std 1")
    X = np.array([[2.0, 1.0], [2.0, 3.0], [2.0, 5.0]])
    ok, out = c.call(X, case="constant column")
    if ok:
        c.close(out, _reference(X), "constant column",
                "a column with std 0 cannot be divided by 0: make it all zeros (divide by 1)")
