"""Checker of chapter 05: ``batchnorm_forward``, compared with PyTorch's own batch norm
(``torch.nn.functional.batch_norm``, what ``nn.BatchNorm1d`` calls) on the same inputs.
The inputs are drawn afresh on every run (and one case has a random shape)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._framework import Check, checker

__all__ = ["batchnorm_forward"]

ATOL, RTOL = 1e-5, 1e-4


def _reference(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    rm, rv = running_mean.detach().clone(), running_var.detach().clone()
    out = F.batch_norm(x, rm, rv, gamma, beta, training, momentum, eps)
    return out, rm, rv


# realistic mistakes, used only to give a precise hint when a result matches one of them
def _normalize(x, mean, var, gamma, beta, eps, eps_outside=False):
    x_hat = (x - mean) / (var.sqrt() + eps if eps_outside else (var + eps).sqrt())
    return x_hat * gamma + beta


def _wrong_outputs(x, gamma, beta, rm, rv, training, eps):
    """{hint: output} of the usual wrong normalizations."""
    with torch.no_grad():
        mean, var = x.mean(0), x.var(0, unbiased=False)
        if training:
            return {
                "normalize with the *biased* batch variance (divide by N: "
                "x.var(0, unbiased=False)); the unbiased one is only for running_var":
                    _normalize(x, mean, x.var(0, unbiased=True), gamma, beta, eps),
                "ε goes inside the square root: (x − μ) / √(σ² + ε)":
                    _normalize(x, mean, var, gamma, beta, eps, eps_outside=True),
                "in training mode normalize with the batch's own mean and variance, not "
                "with the running estimates":
                    _normalize(x, rm, rv, gamma, beta, eps),
            }
        return {
            "in evaluation mode normalize with running_mean and running_var, not with the "
            "statistics of the batch":
                _normalize(x, mean, var, gamma, beta, eps),
            "ε goes inside the square root: (x − running_mean) / √(running_var + ε)":
                _normalize(x, rm, rv, gamma, beta, eps, eps_outside=True),
        }


def _wrong_running(x, rm, rv, momentum):
    """{hint: (new_mean, new_var)} of the usual wrong running-statistics updates."""
    with torch.no_grad():
        n = x.shape[0]
        mean, biased = x.mean(0), x.var(0, unbiased=False)
        unbiased = biased * n / (n - 1)
        keras = "PyTorch's momentum weighs the *new* batch: running ← (1 − momentum)·running " \
                "+ momentum·batch (Keras' convention is the other way round)"
        return {
            "running_var is updated with the *unbiased* batch variance (divide by N − 1), "
            "even though the normalization uses the biased one":
                ((1 - momentum) * rm + momentum * mean, (1 - momentum) * rv + momentum * biased),
            keras: (momentum * rm + (1 - momentum) * mean, momentum * rv + (1 - momentum) * unbiased),
            "update the running estimates: a training step must move them towards the "
            "batch statistics": (rm, rv),
        }


def _matches(got, candidate) -> bool:
    try:
        return (isinstance(got, torch.Tensor) and got.shape == candidate.shape
                and bool(torch.allclose(got.detach().double(), candidate.double(),
                                        atol=ATOL, rtol=RTOL)))
    except Exception:
        return False


def _hint(got, candidates: dict, default: str) -> str:
    for hint, value in candidates.items():
        if _matches(got, value):
            return hint
    return default


def _inputs(n, c, g, eps_feature=False):
    scale = torch.rand(c, generator=g) * 3 + 0.5
    x = torch.randn(n, c, generator=g) * scale + torch.randn(c, generator=g) * 2
    if eps_feature:  # one feature with a tiny spread: ε matters there
        x[:, 0] = 0.3 + 0.01 * torch.randn(n, generator=g)
    gamma = torch.rand(c, generator=g) + 0.5
    beta = torch.randn(c, generator=g)
    rm = torch.randn(c, generator=g)
    rv = torch.rand(c, generator=g) + 0.5
    return x, gamma, beta, rm, rv


def _unpack(c: Check, value, case: str):
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        what = "None" if value is None else f"{type(value).__name__}"
        if isinstance(value, (tuple, list)):
            what += f" of length {len(value)}"
        c.fail(case, f"expected a tuple (out, new_running_mean, new_running_var), got {what}",
               "end with `return out, new_running_mean, new_running_var`")
        return None
    return value


def _case(c: Check, case: str, n: int, ch: int, training: bool, *, momentum=None,
          eps=None, eps_feature=False):
    x, gamma, beta, rm, rv = _inputs(n, ch, c.generator(), eps_feature)
    kwargs = {}
    if momentum is not None:
        kwargs["momentum"] = momentum
    if eps is not None:
        kwargs["eps"] = eps
    m = 0.1 if momentum is None else momentum
    e = 1e-5 if eps is None else eps
    ok, value = c.call(x, gamma, beta, rm, rv, training, case=case, **kwargs)
    if not ok:
        return
    value = _unpack(c, value, case)
    if value is None:
        return
    out, new_rm, new_rv = value
    ref_out, ref_rm, ref_rv = _reference(x, gamma, beta, rm, rv, training, m, e)
    c.close(out, ref_out, f"{case}: out", _hint(out, _wrong_outputs(x, gamma, beta, rm, rv,
                                                                     training, e),
            "out = γ·(x − μ)/√(σ² + ε) + β, with one μ and σ² per feature (column)"),
            atol=ATOL, rtol=RTOL, shape_hint="out has the shape of x, (N, C): reduce over "
            "dim 0 only and let μ and σ² (shape (C,)) broadcast")
    stats_shape = "the running statistics keep their shape (C,): one value per feature"
    if training:
        wrong = _wrong_running(x, rm, rv, m)
        mean_hints = {h: v[0] for h, v in wrong.items()}
        var_hints = {h: v[1] for h, v in wrong.items()}
        default = "new running = (1 − momentum)·running + momentum·(batch statistic)"
    else:
        mean_hints = var_hints = {}
        default = ("in evaluation mode the running estimates must come back unchanged: "
                   "only a training step updates them")
    c.close(new_rm, ref_rm, f"{case}: new_running_mean", _hint(new_rm, mean_hints, default),
            atol=ATOL, rtol=RTOL, shape_hint=stats_shape)
    c.close(new_rv, ref_rv, f"{case}: new_running_var", _hint(new_rv, var_hints, default),
            atol=ATOL, rtol=RTOL, shape_hint=stats_shape)


def _gradient_case(c: Check):
    case = "gradients (training)"
    x, gamma, beta, rm, rv = _inputs(c.integers(4, 8), c.integers(2, 4), c.generator())
    xs, gs, bs = (t.clone().requires_grad_(True) for t in (x, gamma, beta))
    ok, value = c.call(xs, gs, bs, rm, rv, True, case=case)
    if not ok or _unpack(c, value, case) is None:
        return
    out = value[0]
    if not isinstance(out, torch.Tensor) or not out.requires_grad:
        c.fail(case, "out is not differentiable with respect to x, gamma and beta",
               "compute with torch operations on the tensors you receive (no .detach(), "
               ".numpy() or .item()), so autograd can backpropagate through it")
        return
    w = torch.linspace(-1, 1, out.numel()).reshape(out.shape)
    try:
        grads = torch.autograd.grad((out * w).sum(), (xs, gs, bs), allow_unused=True)
    except Exception as exc:
        c.fail(case, f"backward through out failed ({type(exc).__name__}: {exc})",
               "compute with torch operations only")
        return
    xr, gr, br = (t.clone().requires_grad_(True) for t in (x, gamma, beta))
    ref = F.batch_norm(xr, rm.clone(), rv.clone(), gr, br, True, 0.1, 1e-5)
    ref_grads = torch.autograd.grad((ref * w).sum(), (xr, gr, br))
    hint = ("the batch mean and variance depend on x: compute them from x itself, without "
            ".detach(), so the gradient flows through them")
    for name, got, exp in zip(("x", "gamma", "beta"), grads, ref_grads):
        if got is None:
            c.fail(case, f"out does not depend on {name}", hint)
        else:
            c.close(got, exp, f"{case}: d out / d {name}", hint, atol=1e-4, rtol=1e-3)


@checker
def batchnorm_forward(c: Check):
    """``batchnorm_forward(x, gamma, beta, running_mean, running_var, training,
    momentum=0.1, eps=1e-5)`` → ``(out, new_running_mean, new_running_var)`` for x of
    shape (N, C), identical to ``nn.BatchNorm1d`` in training and evaluation; its inputs
    are not modified."""
    _case(c, "training, batch 16 × 4", 16, 4, True)
    _case(c, "training, batch of 2", 2, 3, True)
    _case(c, "training, momentum=0.3", 10, 3, True, momentum=0.3)
    _case(c, "training, eps=0.5", 8, 3, True, eps=0.5, eps_feature=True)
    n, ch = c.integers(3, 24), c.integers(1, 6)
    _case(c, f"training, random batch {n} × {ch}", n, ch, True)
    _case(c, "evaluation, batch 5 × 4", 5, 4, False)
    _case(c, "evaluation, eps=0.5", 4, 3, False, eps=0.5, eps_feature=True)
    _case(c, "evaluation, batch of 1", 1, 3, False)
    _gradient_case(c)
