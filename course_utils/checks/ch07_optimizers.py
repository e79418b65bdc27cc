"""Checkers of chapter 07: one optimizer step as a pure function, PyTorch's conventions.

Each checker compares single steps from hand-picked states (zero state, a state in the
middle of training, a large ε that shows where ε goes, the default arguments) with the
course's reference (``course_utils.scratch.optim.functional``, itself tested against
``torch.optim``), then runs a short trajectory against ``torch.optim`` directly.  Shapes
and values are drawn afresh on every run.
"""


from __future__ import annotations

import inspect

import torch

from ..scratch.optim import functional as ref
from ._framework import Check, checker

__all__ = ["adagrad_step", "adam_step", "rmsprop_step", "sgd_momentum_step"]


def _shape(c: Check):
    """A random 1-D or 2-D shape."""
    return (c.integers(2, 6),) if c.integers(0, 1) else (c.integers(2, 4), c.integers(2, 4))


def _tensors(c: Check, shape, n: int, positive_from: int | None = None):
    """``n`` float32 tensors of ``shape`` drawn afresh for this run (those from index
    ``positive_from`` on are ≥ 0)."""
    g = c.generator()
    out = [torch.randn(shape, generator=g) for _ in range(n)]
    if positive_from is not None:
        out[positive_from:] = [t.abs() + 0.05 for t in out[positive_from:]]
    return out


def _unpack(c: Check, out, names: tuple, case: str):
    """The returned tuple as a list of tensors, or None after recording why not."""
    want = f"a tuple ({', '.join(names)})"
    if out is None:
        c.fail(case, "returned None", f"return {want}")
        return None
    if not isinstance(out, (tuple, list)) or len(out) != len(names):
        got = f"a {type(out).__name__}" + (f" of length {len(out)}"
                                           if isinstance(out, (tuple, list)) else "")
        c.fail(case, f"expected {want}, got {got}", f"end with `return {', '.join(names)}`")
        return None
    for name, value in zip(names, out):
        if not isinstance(value, torch.Tensor):
            c.fail(case, f"{name} should be a torch.Tensor, got {type(value).__name__}",
                   "compute with tensor operations (e.g. grad.sqrt(), not math.sqrt)")
            return None
    return list(out)


def _compare(c: Check, fn_args, fn_kwargs, expected, names, case, hints):
    """Call the student's function and compare every returned tensor with ``expected``."""
    ok, out = c.call(*fn_args, case=case, **fn_kwargs)
    if not ok:
        return None
    got = _unpack(c, out, names, case)
    if got is None:
        return None
    good = True
    for name, g, e, hint in zip(names, got, expected, hints):
        good = c.close(g, e, f"{case}: {name}", hint) and good
    return got if good else None


def _defaults(c: Check, expected: dict) -> None:
    """The signature's default values are the contract's (checked without calling)."""
    try:
        params = inspect.signature(c.fn).parameters
    except (TypeError, ValueError):  # builtins without a signature: the calls will tell
        return
    wrong = [f"{k}={params[k].default!r} (should be {v!r})" for k, v in expected.items()
             if k in params and params[k].default != v]
    c.expect(not wrong, "default arguments", "wrong default value: " + ", ".join(wrong),
             "keep the signature given in the exercise: " +
             ", ".join(f"{k}={v!r}" for k, v in expected.items()))


def _trajectory(c: Check, student_step, torch_step, n_steps: int, case: str, hint: str):
    """Run the student's step ``n_steps`` times feeding its state back; compare θ with torch."""
    for t in range(1, n_steps + 1):
        ok, got = student_step(t)
        if not ok:
            return
        expected = torch_step(t)
        if got.shape != expected.shape:
            c.fail(case, f"after {t} step(s) the parameter has shape {tuple(got.shape)}, "
                   f"expected {tuple(expected.shape)}", hint)
            return
        if not torch.allclose(got.double(), expected.double(), atol=1e-5, rtol=1e-4):
            c.fail(case, f"after {t} step{'s' if t > 1 else ''} the parameter differs from "
                   f"torch.optim's (max difference {float((got - expected).abs().max()):.3g})",
                   hint)
            return
    c.ok()


def _torch_optimizer(cls, p0, grads, **kwargs):
    """A function t ↦ θ after t steps of ``cls`` on ``p0`` with the gradients ``grads``."""
    p = p0.clone().requires_grad_(True)
    opt = cls([p], **kwargs)
    cache = []

    def step(t):
        while len(cache) < t:
            p.grad = grads[len(cache)].clone()
            opt.step()
            cache.append(p.detach().clone())
        return cache[t - 1]
    return step


# -------------------------------------------------------------------------------- SGD


@checker
def sgd_momentum_step(c: Check):
    """``sgd_momentum_step(param, grad, velocity, lr, momentum=0.9, nesterov=False)`` →
    ``(new_param, new_velocity)`` with v ← μv + g; θ ← θ − γv (Nesterov: θ ← θ − γ(g + μv))."""
    names = ("new_param", "new_velocity")
    hint_v = "PyTorch's velocity is v ← momentum·v + grad (no (1 − momentum) factor, no lr inside)"
    hint_p = "the parameter moves by −lr·v with the *new* velocity"
    p, g, v = _tensors(c, _shape(c), 3)
    zero = torch.zeros_like(p)
    exp = ref.sgd_momentum_step(p, g, zero, 0.1, 0.9)
    _compare(c, (p, g, zero, 0.1), dict(momentum=0.9), exp, names,
             "first step (velocity = 0)", (hint_p, hint_v))

    p, g, v = _tensors(c, _shape(c), 3)
    exp = ref.sgd_momentum_step(p, g, v, 0.05, 0.5)
    _compare(c, (p, g, v, 0.05), dict(momentum=0.5), exp, names,
             "velocity ≠ 0, momentum 0.5", (hint_p, hint_v))

    exp = ref.sgd_momentum_step(p, g, v, 0.05, 0.5, nesterov=True)
    _compare(c, (p, g, v, 0.05), dict(momentum=0.5, nesterov=True), exp, names,
             "nesterov=True", ("with Nesterov the step is −lr·(grad + momentum·new_velocity)",
                               "the velocity is updated the same way with or without Nesterov"))

    _defaults(c, dict(momentum=0.9, nesterov=False))
    exp = ref.sgd_momentum_step(p, g, v, 0.05)
    _compare(c, (p, g, v, 0.05), {}, exp, names, "called with the defaults", (hint_p, hint_v))

    for nesterov in (False, True):
        p0, *grads = _tensors(c, _shape(c), 9)
        torch_step = _torch_optimizer(torch.optim.SGD, p0, grads, lr=0.1, momentum=0.9,
                                      nesterov=nesterov)
        state = {"p": p0.clone(), "v": torch.zeros_like(p0)}

        def student_step(t, nesterov=nesterov, state=state, grads=grads):
            ok, out = c.call(state["p"], grads[t - 1], state["v"], 0.1, momentum=0.9,
                             nesterov=nesterov, case=f"8 steps, nesterov={nesterov}")
            got = _unpack(c, out, names, "8 steps") if ok else None
            if got is None:
                return False, None
            state["p"], state["v"] = got
            return True, got[0]
        _trajectory(c, student_step, torch_step, 8, f"8 steps vs torch.optim.SGD(momentum=0.9, "
                    f"nesterov={nesterov})", "feed new_velocity back in: it is the state")


# -------------------------------------------------------------------------------- AdaGrad


@checker
def adagrad_step(c: Check):
    """``adagrad_step(param, grad, sum_sq, lr=0.01, eps=1e-10)`` → ``(new_param, new_sum_sq)``
    with G ← G + g²; θ ← θ − γ·g/(√G + ε), as ``torch.optim.Adagrad``."""
    names = ("new_param", "new_sum_sq")
    hint_sum = "the accumulator keeps every squared gradient: new_sum_sq = sum_sq + grad**2"
    hint_p = "divide by (√new_sum_sq + eps): update the sum first, then take its square root"
    p, g, s = _tensors(c, _shape(c), 3, positive_from=2)
    zero = torch.zeros_like(p)
    exp = ref.adagrad_step(p, g, zero, lr=0.1)
    _compare(c, (p, g, zero), dict(lr=0.1), exp, names, "first step (sum_sq = 0)",
             (hint_p, hint_sum))

    exp = ref.adagrad_step(p, g, s, lr=0.1)
    _compare(c, (p, g, s), dict(lr=0.1), exp, names, "sum_sq ≠ 0", (hint_p, hint_sum))

    exp = ref.adagrad_step(p, g, s, lr=0.1, eps=0.5)
    _compare(c, (p, g, s), dict(lr=0.1, eps=0.5), exp, names, "large eps = 0.5",
             ("eps is added *after* the square root: √G + eps, not √(G + eps)", hint_sum))

    _defaults(c, dict(lr=0.01, eps=1e-10))
    exp = ref.adagrad_step(p, g, s)
    _compare(c, (p, g, s), {}, exp, names, "called with the defaults", (hint_p, hint_sum))

    p0, *grads = _tensors(c, _shape(c), 11)
    torch_step = _torch_optimizer(torch.optim.Adagrad, p0, grads, lr=0.1)
    state = {"p": p0.clone(), "s": torch.zeros_like(p0)}

    def student_step(t):
        ok, out = c.call(state["p"], grads[t - 1], state["s"], lr=0.1, case="10 steps")
        got = _unpack(c, out, names, "10 steps") if ok else None
        if got is None:
            return False, None
        state["p"], state["s"] = got
        return True, got[0]
    _trajectory(c, student_step, torch_step, 10, "10 steps vs torch.optim.Adagrad(lr=0.1)",
                "feed new_sum_sq back in: it is the state")


# -------------------------------------------------------------------------------- RMSprop


@checker
def rmsprop_step(c: Check):
    """``rmsprop_step(param, grad, sq_avg, lr=0.01, alpha=0.99, eps=1e-8)`` →
    ``(new_param, new_sq_avg)`` with s ← αs + (1 − α)g²; θ ← θ − γ·g/(√s + ε)."""
    names = ("new_param", "new_sq_avg")
    hint_avg = "new_sq_avg = alpha·sq_avg + (1 − alpha)·grad²: alpha weighs the *old* average"
    hint_p = "divide by (√new_sq_avg + eps): update the average first"
    p, g, s = _tensors(c, _shape(c), 3, positive_from=2)
    zero = torch.zeros_like(p)
    exp = ref.rmsprop_step(p, g, zero, lr=0.01, alpha=0.9)
    _compare(c, (p, g, zero), dict(lr=0.01, alpha=0.9), exp, names,
             "first step (sq_avg = 0)", (hint_p, hint_avg))

    exp = ref.rmsprop_step(p, g, s, lr=0.01, alpha=0.9)
    _compare(c, (p, g, s), dict(lr=0.01, alpha=0.9), exp, names, "sq_avg ≠ 0",
             (hint_p, hint_avg))

    exp = ref.rmsprop_step(p, g, s, lr=0.01, alpha=0.9, eps=0.5)
    _compare(c, (p, g, s), dict(lr=0.01, alpha=0.9, eps=0.5), exp, names, "large eps = 0.5",
             ("eps is added *after* the square root: √s + eps, not √(s + eps)", hint_avg))

    _defaults(c, dict(lr=0.01, alpha=0.99, eps=1e-8))
    exp = ref.rmsprop_step(p, g, s)
    _compare(c, (p, g, s), {}, exp, names, "called with the defaults", (hint_p, hint_avg))

    p0, *grads = _tensors(c, _shape(c), 11)
    torch_step = _torch_optimizer(torch.optim.RMSprop, p0, grads, lr=0.01, alpha=0.9)
    state = {"p": p0.clone(), "s": torch.zeros_like(p0)}

    def student_step(t):
        ok, out = c.call(state["p"], grads[t - 1], state["s"], lr=0.01, alpha=0.9,
                         case="10 steps")
        got = _unpack(c, out, names, "10 steps") if ok else None
        if got is None:
            return False, None
        state["p"], state["s"] = got
        return True, got[0]
    _trajectory(c, student_step, torch_step, 10, "10 steps vs torch.optim.RMSprop(alpha=0.9)",
                "feed new_sq_avg back in: it is the state")


# -------------------------------------------------------------------------------- Adam


@checker
def adam_step(c: Check):
    """``adam_step(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)`` →
    ``(new_param, new_m, new_v)``: moving averages m, v (returned *without* bias correction),
    θ ← θ − γ·m̂/(√v̂ + ε) with m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ), t from 1."""
    names = ("new_param", "new_m", "new_v")
    hint_p = ("bias-correct both moments before the step: m̂ = m/(1 − beta1**t), "
              "v̂ = v/(1 − beta2**t); step −lr·m̂/(√v̂ + eps)")
    hint_m = "new_m = beta1·m + (1 − beta1)·grad, returned without bias correction"
    hint_v = "new_v = beta2·v + (1 − beta2)·grad², returned without bias correction"
    p, g, m, v = _tensors(c, _shape(c), 4, positive_from=3)
    zero = torch.zeros_like(p)
    exp = ref.adam_step(p, g, zero, zero, 1, lr=0.01)
    _compare(c, (p, g, zero, zero, 1), dict(lr=0.01), exp, names,
             "first step (t = 1, m = v = 0)", (hint_p + " (at t = 1 the step is ≈ lr·sign(grad))",
                                              hint_m, hint_v))

    m = 0.1 * m
    v = 0.01 * v
    exp = ref.adam_step(p, g, m, v, 5, lr=0.01, beta1=0.8, beta2=0.99)
    _compare(c, (p, g, m, v, 5), dict(lr=0.01, beta1=0.8, beta2=0.99), exp, names,
             "t = 5 with m, v ≠ 0", (hint_p, hint_m, hint_v))

    exp = ref.adam_step(p, g, m, v, 5, lr=0.01, eps=0.1)
    _compare(c, (p, g, m, v, 5), dict(lr=0.01, eps=0.1), exp, names, "large eps = 0.1",
             ("eps is added to √v̂ (after bias correction and square root)", hint_m, hint_v))

    _defaults(c, dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8))
    exp = ref.adam_step(p, g, m, v, 3)
    _compare(c, (p, g, m, v, 3), {}, exp, names, "called with the defaults",
             (hint_p, hint_m, hint_v))

    p0, *grads = _tensors(c, _shape(c), 13)
    torch_step = _torch_optimizer(torch.optim.Adam, p0, grads, lr=0.01)
    state = {"p": p0.clone(), "m": torch.zeros_like(p0), "v": torch.zeros_like(p0)}

    def student_step(t):
        ok, out = c.call(state["p"], grads[t - 1], state["m"], state["v"], t, lr=0.01,
                         case="12 steps")
        got = _unpack(c, out, names, "12 steps") if ok else None
        if got is None:
            return False, None
        state["p"], state["m"], state["v"] = got
        return True, got[0]
    _trajectory(c, student_step, torch_step, 12, "12 steps vs torch.optim.Adam(lr=0.01)",
                "t counts from 1; feed the raw (uncorrected) new_m and new_v back in")
