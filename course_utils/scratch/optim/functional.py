r"""Single-step, pure-function forms of four optimizers (the chapter's exercises).

Each takes the current parameter, its gradient and the optimizer's state, and returns
*new* tensors — nothing is modified in place — following ``torch.optim``'s conventions:

* ``sgd_momentum_step``: v ← μv + g;  θ ← θ − γv  (Nesterov: θ ← θ − γ(g + μv))
* ``adagrad_step``:      G ← G + g²;  θ ← θ − γ g/(√G + ε)
* ``rmsprop_step``:      s ← αs + (1 − α)g²;  θ ← θ − γ g/(√s + ε)
* ``adam_step``:         m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;
  θ ← θ − γ m̂/(√v̂ + ε) with m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ), t counted from 1

Starting from zero state, repeated calls follow ``torch.optim.SGD(momentum=μ)``,
``Adagrad``, ``RMSprop`` and ``Adam`` step for step (tests/test_optim.py).
"""

from __future__ import annotations

from ...core.validation import check_bool, check_float, check_int, check_tensor

__all__ = ["adagrad_step", "adam_step", "rmsprop_step", "sgd_momentum_step"]


def _tensors(param, grad, **state):
    check_tensor("param", param, floating=True)
    check_tensor("grad", grad, floating=True)
    if grad.shape != param.shape:
        raise ValueError(f"grad must have the shape of param {tuple(param.shape)}, "
                         f"got {tuple(grad.shape)}")
    for name, value in state.items():
        check_tensor(name, value, floating=True)
        if value.shape != param.shape:
            raise ValueError(f"{name} must have the shape of param {tuple(param.shape)}, "
                             f"got {tuple(value.shape)}")


def sgd_momentum_step(param, grad, velocity, lr, momentum=0.9, nesterov=False):
    """One SGD step with (heavy-ball or Nesterov) momentum, PyTorch's convention.

    v ← μ·v + g;  θ ← θ − γ·v, or with Nesterov θ ← θ − γ·(g + μ·v).
    Returns ``(new_param, new_velocity)``; with ``velocity`` all zeros this is step 1 of
    ``torch.optim.SGD(lr=γ, momentum=μ, nesterov=...)``.
    """
    _tensors(param, grad, velocity=velocity)
    lr = check_float("lr", lr, min_value=0.0)
    momentum = check_float("momentum", momentum, min_value=0.0)
    check_bool("nesterov", nesterov)
    new_velocity = momentum * velocity + grad
    direction = grad + momentum * new_velocity if nesterov else new_velocity
    return param - lr * direction, new_velocity


def adagrad_step(param, grad, sum_sq, lr=0.01, eps=1e-10):
    """One AdaGrad step: G ← G + g²;  θ ← θ − γ·g / (√G + ε).  Returns ``(new_param, new_sum_sq)``."""
    _tensors(param, grad, sum_sq=sum_sq)
    lr = check_float("lr", lr, min_value=0.0)
    eps = check_float("eps", eps, min_value=0.0)
    new_sum_sq = sum_sq + grad * grad
    return param - lr * grad / (new_sum_sq.sqrt() + eps), new_sum_sq


def rmsprop_step(param, grad, sq_avg, lr=0.01, alpha=0.99, eps=1e-8):
    """One RMSprop step: s ← α·s + (1 − α)·g²;  θ ← θ − γ·g / (√s + ε).

    Returns ``(new_param, new_sq_avg)``."""
    _tensors(param, grad, sq_avg=sq_avg)
    lr = check_float("lr", lr, min_value=0.0)
    alpha = check_float("alpha", alpha, min_value=0.0, max_value=1.0)
    eps = check_float("eps", eps, min_value=0.0)
    new_sq_avg = alpha * sq_avg + (1 - alpha) * grad * grad
    return param - lr * grad / (new_sq_avg.sqrt() + eps), new_sq_avg


def adam_step(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """One Adam step at step number ``t`` (1 for the first step).

    m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;  m̂ = m/(1 − β₁ᵗ);  v̂ = v/(1 − β₂ᵗ);
    θ ← θ − γ·m̂ / (√v̂ + ε).  Returns ``(new_param, new_m, new_v)``.
    """
    _tensors(param, grad, m=m, v=v)
    t = check_int("t", t, min_value=1)
    lr = check_float("lr", lr, min_value=0.0)
    beta1 = check_float("beta1", beta1, min_value=0.0, max_value=1.0, max_inclusive=False)
    beta2 = check_float("beta2", beta2, min_value=0.0, max_value=1.0, max_inclusive=False)
    eps = check_float("eps", eps, min_value=0.0)
    new_m = beta1 * m + (1 - beta1) * grad
    new_v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = new_m / (1 - beta1**t)
    v_hat = new_v / (1 - beta2**t)
    return param - lr * m_hat / (v_hat.sqrt() + eps), new_m, new_v
