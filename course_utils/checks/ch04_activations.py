"""Checkers of chapter 04: ``leaky_relu``, ``elu``, ``selu`` (torch, equal to
``torch.nn.functional``: values, dtype, shape, gradients, no NaN for large inputs).
Fixed edge cases (0, ±1000) plus random shapes and values drawn afresh on every run."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._framework import Check, checker

__all__ = ["leaky_relu", "elu", "selu"]

_HINT_DTYPE = "build the result from z itself (torch.where, z * alpha, …) so it keeps z's dtype"
_HINT_GRAD = ("use torch operations on z only (no .numpy(), .item(), .detach() or "
              "torch.tensor(...) around the result) so autograd can differentiate it")
_HINT_WHERE_NAN = ("torch.where evaluates both branches: exp(z) overflows to inf for large z "
                   "and its gradient 0·inf is NaN; take the exponential of "
                   "torch.clamp(z, max=0) (or z.clamp(max=0)) instead of z")


def _inputs(c: Check):
    g = c.generator()
    return {
        "1-D float32 with 0": torch.tensor([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0]),
        "random 2-D float32": torch.randn(c.integers(3, 9), c.integers(2, 6), generator=g) * 3,
        "random float64 (dtype kept)": torch.randn(c.integers(4, 9), generator=g,
                                                   dtype=torch.float64) * 2,
        "large |z| (±100, ±1000)": torch.tensor([-1000.0, -100.0, -20.0, 20.0, 100.0, 1000.0]),
    }


def _values(c: Check, fn, reference, hint, **kwargs):
    """Compare fn(z, **kwargs) with reference(z) on each input; stop at the first failure
    (one message per group of cases).  Return True if all passed."""
    label = "".join(f", {k}={v}" for k, v in kwargs.items())
    for name, z in _inputs(c).items():
        case = f"{name}{label}"
        ok, out = c.call(z.clone(), case=case, **kwargs)
        if not ok:
            return False
        expected = reference(z)
        if isinstance(out, torch.Tensor) and out.dtype != expected.dtype:
            return c.fail(case, f"expected dtype {expected.dtype}, got {out.dtype}", _HINT_DTYPE)
        if not c.close(out, expected, case, hint, atol=1e-6, rtol=1e-5, exact_dtype=True,
                       dtype_hint=_HINT_DTYPE, shape_hint="the result has the shape of z "
                       "(work elementwise on the whole tensor)"):
            return False
    return True


def _gradients(c: Check, fn, reference, hint, **kwargs):
    """The gradient of sum(fn(z)) must equal PyTorch's, with no NaN even for z = ±1000
    (float64, where e^1000 overflows)."""
    random = (c.rng.uniform(-4, 4, size=c.integers(4, 10))).tolist()
    for case, values in [("gradient", [-3.0, -1.0, -0.2, 0.3, 1.0, 3.0] + random),
                         ("gradient at large |z|", [-1000.0, -100.0, 100.0, 1000.0])]:
        z = torch.tensor(values, dtype=torch.float64, requires_grad=True)
        ok, out = c.call(z, case=case, **kwargs)
        if not ok:
            continue
        if not isinstance(out, torch.Tensor) or out.shape != z.shape:
            c.fail(case, "did not return a tensor of the input's shape", _HINT_GRAD)
            continue
        if not out.requires_grad:
            c.fail(case, "the result is not connected to z in autograd (requires_grad is "
                   "False)", _HINT_GRAD)
            continue
        (grad,) = torch.autograd.grad(out.sum(), z, allow_unused=True)
        if grad is None:
            c.fail(case, "the result does not depend on z in autograd", _HINT_GRAD)
            continue
        zr = z.detach().clone().requires_grad_()
        (expected,) = torch.autograd.grad(reference(zr).sum(), zr)
        nan = bool(torch.isnan(grad).any())
        c.close(grad.detach(), expected, case, _HINT_WHERE_NAN if nan else hint,
                atol=1e-6, rtol=1e-5)


def _run(c: Check, groups, gradient):
    """Value checks group by group; the gradient checks only once every value is right."""
    good = True
    for reference, hint, kwargs in groups:
        good = _values(c, c.fn, reference, hint, **kwargs) and good
    if good:
        reference, hint, kwargs = gradient
        _gradients(c, c.fn, reference, hint, **kwargs)


@checker
def leaky_relu(c: Check):
    """``leaky_relu(z, alpha=0.01)``: z where z > 0, alpha·z elsewhere — equal to
    ``torch.nn.functional.leaky_relu(z, negative_slope=alpha)``."""
    hint = "z for z > 0, alpha * z otherwise: torch.where(z > 0, z, alpha * z)"
    _run(c, [
        (lambda z: F.leaky_relu(z, 0.01), hint, {}),
        (lambda z: F.leaky_relu(z, 0.2), "use the alpha argument, not a fixed 0.01",
         {"alpha": 0.2}),
        (lambda z: F.leaky_relu(z, 1.5), "max(z, alpha * z) is only right for alpha ≤ 1: "
         "choose the branch by the sign of z (torch.where(z > 0, ...))", {"alpha": 1.5}),
    ], (lambda z: F.leaky_relu(z, 0.2), hint, {"alpha": 0.2}))


@checker
def elu(c: Check):
    """``elu(z, alpha=1.0)``: z where z > 0, alpha·(exp(z) − 1) elsewhere — equal to
    ``torch.nn.functional.elu(z, alpha)``; finite values and gradients for large |z|."""
    hint = "z for z > 0, alpha * (exp(z) - 1) otherwise (it tends to −alpha as z → −∞)"
    _run(c, [
        (lambda z: F.elu(z, 1.0), hint, {}),
        (lambda z: F.elu(z, 0.5), "multiply (exp(z) − 1), and only it, by the alpha argument",
         {"alpha": 0.5}),
    ], (lambda z: F.elu(z, 1.5), hint, {"alpha": 1.5}))


@checker
def selu(c: Check):
    """``selu(z)``: scale·(z if z > 0 else alpha·(exp(z) − 1)) with alpha ≈ 1.6733 and
    scale ≈ 1.0507 — equal to ``torch.nn.functional.selu``."""
    hint = ("scale multiplies both branches: scale * z for z > 0, scale * alpha * (exp(z) - 1) "
            "otherwise, with alpha = 1.6732632423543772 and scale = 1.0507009873554805 (to "
            "full precision: constants rounded to 4 digits are off by about 1e-5)")
    _run(c, [(F.selu, hint, {})], (F.selu, hint, {}))
