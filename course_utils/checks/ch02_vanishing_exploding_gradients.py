"""Checkers of chapter 02: ``sigmoid``, ``sigmoid_derivative``, ``gradient_norms_per_layer``.

Fixed edge cases (±1000, integers, z = 0) plus inputs, shapes and models drawn afresh on
every run."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import torch
from torch import nn

from ._framework import Check, checker, fmt

__all__ = ["sigmoid", "sigmoid_derivative", "gradient_norms_per_layer"]


# -- references (written here so the checker does not depend on the chapter module) ----------

def _sigmoid(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _sigmoid_derivative(z: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(np.asarray(z, dtype=np.float64)))
    return e / (1.0 + e) ** 2


def _call_quietly(c: Check, z, case: str):
    """Call the student's function with NumPy's usual error state; return
    ``(ok, value, warning messages)``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(over="warn", invalid="warn", divide="warn", under="ignore"):
            ok, out = c.call(z, case=case)
    return ok, out, [f"{type(w.message).__name__}: {w.message}" for w in caught]


_STABLE_HINT = ("e^{-z} overflows for z = -1000 (e^1000 > 1.8e308); compute e = np.exp(-np.abs(z)), "
                "which is never above 1, and use 1/(1+e) where z ≥ 0 and e/(1+e) where z < 0. "
                "Note that np.where(cond, A, B) computes both A and B for every element")


def _elementwise_cases(c: Check, reference, what: str, formula_hint: str) -> None:
    shape_hint = (f"{what} works elementwise: the result has the shape of z (use NumPy "
                  "operations on the whole array, not math.exp or a loop that flattens)")
    z = np.array([-5.0, -2.0, -0.5, 0.0, 0.5, 2.0, 5.0])
    ok, out = c.call(z, case="z = [-5, -2, -0.5, 0, 0.5, 2, 5]")
    if ok:
        c.close(out, reference(z), "z = [-5, -2, -0.5, 0, 0.5, 2, 5]", formula_hint,
                shape_hint=shape_hint)
    z = c.rng.normal(0.0, 4.0, size=(c.integers(2, 5), c.integers(2, 6)))
    ok, out = c.call(z, case="a random matrix")
    if ok:
        c.close(out, reference(z), "a random matrix", formula_hint, shape_hint=shape_hint)
    z = c.rng.uniform(-30.0, 30.0, size=c.integers(10, 40))
    ok, out = c.call(z, case="a random vector in [-30, 30]")
    if ok:
        c.close(out, reference(z), "a random vector in [-30, 30]", formula_hint,
                shape_hint=shape_hint)
    z = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    case = "z = [-1000, -50, 0, 50, 1000]"
    ok, out, warned = _call_quietly(c, z, case)
    if ok:
        if c.close(out, reference(z), case, _STABLE_HINT, atol=1e-12, rtol=1e-6,
                   shape_hint=shape_hint):
            c.expect(not warned, case, f"NumPy warned ({warned[0] if warned else ''})",
                     _STABLE_HINT)
    z = np.array([-3, 0, 3])
    ok, out = c.call(z, case="integer input [-3, 0, 3]")
    if ok:
        dtype_hint = ("the result must be floating point even for integer z: np.empty_like(z) "
                      "or np.zeros_like(z) of an int array is an int array; start from "
                      "np.asarray(z, dtype=float)")
        c.close(out, reference(z), "integer input [-3, 0, 3]", formula_hint,
                dtype_hint=dtype_hint, shape_hint=shape_hint)


@checker
def sigmoid(c: Check):
    """``sigmoid(z)``: 1 / (1 + e^{−z}) elementwise on a NumPy array; no overflow warning
    and no NaN for z = ±1000; float output (also for integer z); z is not modified."""
    _elementwise_cases(c, _sigmoid, "sigmoid",
                       "σ(z) = 1 / (1 + e^{-z}): σ(0) = 0.5, σ(z) → 1 for large z, → 0 for very negative z")


@checker
def sigmoid_derivative(c: Check):
    """``sigmoid_derivative(z)``: σ′(z) = σ(z)(1 − σ(z)) elementwise; at most 0.25 (at z = 0);
    no warnings and no NaN at z = ±1000; float output; z is not modified."""
    _elementwise_cases(c, _sigmoid_derivative, "sigmoid_derivative",
                       "σ'(z) = σ(z)·(1 − σ(z)) with σ(z) = 1/(1+e^{-z}) — apply the formula to "
                       "σ(z), not to z; σ'(0) = 0.25")


# -- gradient_norms_per_layer ----------------------------------------------------------------

def _reference_norms(model: nn.Module, X, y, loss_fn):
    model = copy.deepcopy(model)
    model.zero_grad(set_to_none=True)
    loss_fn(model(X), y).backward()
    layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return [float(m.weight.grad.norm()) for m in layers], [m.weight.grad.clone() for m in layers]


def _as_floats(out):
    """The student's list as floats, or None with a reason."""
    if isinstance(out, (torch.Tensor, np.ndarray)):
        return None, (f"returned a {type(out).__name__}; the exercise asks for a Python list "
                      "of floats, one per nn.Linear (e.g. [float(n) for n in norms])")
    if not isinstance(out, (list, tuple)):
        return None, f"expected a list of floats, got {type(out).__name__}"
    values = []
    for v in out:
        if isinstance(v, torch.Tensor) and v.numel() == 1:
            v = v.item()
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return None, f"the list should hold numbers, found {fmt(v)}"
        values.append(float(v))
    return values, None


def _norm_case(c: Check, model, X, y, loss_fn, case: str, hints: dict) -> None:
    expected, grads = _reference_norms(model, X, y, loss_fn)
    # stale gradients from an earlier batch: a correct function zeroes them first
    model.zero_grad(set_to_none=True)
    loss_fn(model(X[:3] * 2 + 1), y[:3]).backward()
    modes = [m.training for m in model.modules()]
    ok, out = c.call(model, X, y, loss_fn, case=case)
    if [m.training for m in model.modules()] != modes:
        c.fail(case, "changed the model's mode (model.train() / model.eval())",
               "use the model in the mode it comes in: batch norm computes something "
               "different in training mode (and updates its running statistics)")
        return
    if not ok:
        return
    if out is None:
        c.fail(case, "returned None", "did you forget `return`?")
        return
    got, problem = _as_floats(out)
    if problem:
        c.fail(case, problem, None)
        return
    if len(got) != len(expected):
        c.fail(case, f"expected {len(expected)} norms (one per nn.Linear weight), got {len(got)}",
               hints["length"])
        return
    if np.allclose(got, expected[::-1], rtol=1e-4, atol=1e-7) and not np.allclose(
            got, expected, rtol=1e-4, atol=1e-7):
        c.fail(case, "the norms are in reverse order",
               "list the layers in module order (input → output), as model.modules() gives them")
        return
    if c.close(np.array(got), np.array(expected), case, hints["values"], rtol=1e-4, atol=1e-7):
        layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
        fresh = all(m.weight.grad is not None and torch.allclose(m.weight.grad, g, rtol=1e-4,
                                                                 atol=1e-7)
                    for m, g in zip(layers, grads))
        c.expect(fresh, case, "after the call, the .grad of the weights is not the gradient of "
                 "this batch", "zero the old gradients (model.zero_grad()), then call "
                 "loss.backward() once")


@checker
def gradient_norms_per_layer(c: Check):
    """``gradient_norms_per_layer(model, X, y, loss_fn)``: zero the grads, one backward of
    ``loss_fn(model(X), y)``; a list with the L2 norm of each ``nn.Linear`` weight's grad,
    in module order (nested modules included; biases and other layers left out)."""
    g = c.generator()
    d_in, w1, w2, n_out = c.integers(3, 6), c.integers(4, 8), c.integers(3, 7), c.integers(2, 4)
    width = c.integers(5, 9)
    with torch.random.fork_rng(devices=[]):  # the notebook's random state is left alone
        torch.manual_seed(int(torch.randint(2**62, (1,), generator=g)))
        plain = nn.Sequential(nn.Linear(d_in, w1), nn.Tanh(), nn.Linear(w1, w2), nn.Tanh(),
                              nn.Linear(w2, n_out))
        nested = nn.Sequential(
            nn.Linear(d_in + 1, width),
            nn.Sequential(nn.BatchNorm1d(width), nn.ReLU(), nn.Linear(width, width)),
            nn.Sequential(nn.BatchNorm1d(width), nn.ReLU(), nn.Linear(width, width)),
            nn.ReLU(), nn.Linear(width, 2)).eval()
        for m in nested.modules():  # running statistics that are not the defaults
            if isinstance(m, nn.BatchNorm1d):
                m.running_mean.normal_(0.0, 0.5, generator=g)
                m.running_var.uniform_(0.5, 2.0, generator=g)
    X1 = torch.randn(c.integers(10, 20), d_in, generator=g)
    y1 = torch.randint(0, n_out, (len(X1),), generator=g)
    X2 = torch.randn(c.integers(8, 16), d_in + 1, generator=g)
    y2 = torch.randn(len(X2), 2, generator=g)
    hints = {
        "length": "take the weight of every nn.Linear, found with model.modules() "
                  "(it also walks nested blocks); leave out biases and other layers",
        "values": "the L2 norm of each weight's gradient: layer.weight.grad.norm(), after "
                  "model.zero_grad() and one loss.backward() (stale gradients add up "
                  "otherwise); the norm of the gradient, not of the weight, and not squared",
    }
    _norm_case(c, plain, X1, y1, nn.CrossEntropyLoss(), "random 3-layer tanh MLP, cross-entropy",
               hints)
    _norm_case(c, nested, X2, y2, nn.MSELoss(),
               "random nested blocks with batch norm (eval mode), MSE loss", hints)
