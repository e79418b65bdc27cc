r"""AdaMax (Kingma & Ba 2015, section 7): Adam with the L∞ norm in place of the L2 norm.

.. math::

    g_t &= \nabla_\theta L(\theta_{t-1}) + \lambda\,\theta_{t-1} \\
    m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t \\
    u_t &= \max(\beta_2\, u_{t-1},\ |g_t| + \epsilon) \\
    \theta_t &= \theta_{t-1} - \frac{\gamma}{1-\beta_1^t}\, \frac{m_t}{u_t}

u is an exponentially decaying maximum of |g| (the limit p → ∞ of
(β₂ᵖ u + (1 − β₂ᵖ)|g|ᵖ)^{1/p}); it needs no bias correction and the step is bounded by γ
(PyTorch adds ε inside the max).
"""

from __future__ import annotations

import torch

from ._base import ScratchOptimizer, check_betas, flag, nonnegative


class Adamax(ScratchOptimizer):
    """``torch.optim.Adamax`` from scratch (same arguments, defaults and trajectory)."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, *,
                 maximize=False):
        defaults = dict(lr=nonnegative("lr", lr), betas=check_betas(betas),
                        eps=nonnegative("eps", eps),
                        weight_decay=nonnegative("weight_decay", weight_decay),
                        maximize=flag("maximize", maximize))
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group):
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = torch.zeros_like(p)      # m
            state["exp_inf"] = torch.zeros_like(p)      # u
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad.add(p, alpha=group["weight_decay"])
        m, u = state["exp_avg"], state["exp_inf"]
        m.lerp_(grad, 1 - beta1)                                          # m ← β₁m + (1 − β₁)g
        torch.maximum(u.mul_(beta2), grad.abs().add_(group["eps"]), out=u)  # u ← max(β₂u, |g| + ε)
        clr = group["lr"] / (1 - beta1 ** state["step"])
        p.addcdiv_(m, u, value=-clr)                                      # θ ← θ − γ/(1−β₁ᵗ) · m/u
