r"""NAdam (Dozat 2016): Adam with a Nesterov look-ahead on the first moment.

The momentum coefficient warms up with ψ = ``momentum_decay``:
μ_t = β₁(1 − ½·0.96^{tψ}), and with the running product Π_t = ∏_{i≤t} μ_i:

.. math::

    g_t &= \nabla_\theta L(\theta_{t-1}) + \lambda\,\theta_{t-1}
        \qquad (\text{or } \theta \leftarrow (1-\gamma\lambda)\theta \text{ if decoupled}) \\
    m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t, \qquad
    v_t = \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2, \qquad \hat v_t = v_t/(1-\beta_2^t) \\
    \theta_t &= \theta_{t-1}
        - \gamma\,\frac{1-\mu_t}{1-\Pi_t}\,\frac{g_t}{\sqrt{\hat v_t}+\epsilon}
        - \gamma\,\frac{\mu_{t+1}}{1-\Pi_t\,\mu_{t+1}}\,\frac{m_t}{\sqrt{\hat v_t}+\epsilon}

The second term is the momentum step with the *next* step's coefficient (the look-ahead);
the first is the current gradient's own share.
"""

from __future__ import annotations

import torch

from ._base import ScratchOptimizer, check_betas, flag, nonnegative


class NAdam(ScratchOptimizer):
    """``torch.optim.NAdam`` from scratch (same arguments, defaults and trajectory)."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, maximize=False):
        defaults = dict(lr=nonnegative("lr", lr), betas=check_betas(betas),
                        eps=nonnegative("eps", eps),
                        weight_decay=nonnegative("weight_decay", weight_decay),
                        momentum_decay=nonnegative("momentum_decay", momentum_decay),
                        decoupled_weight_decay=flag("decoupled_weight_decay",
                                                    decoupled_weight_decay),
                        maximize=flag("maximize", maximize))
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group):
        lr, (beta1, beta2), wd = group["lr"], group["betas"], group["weight_decay"]
        psi = group["momentum_decay"]
        if not state:
            state["step"] = 0
            # Π is kept as a float32 scalar tensor, as PyTorch does, so the trajectories agree
            state["mu_product"] = torch.ones((), dtype=torch.get_default_dtype())
            state["exp_avg"] = torch.zeros_like(p)
            state["exp_avg_sq"] = torch.zeros_like(p)
        state["step"] += 1
        t = state["step"]
        if wd != 0:
            if group["decoupled_weight_decay"]:
                p.mul_(1 - lr * wd)
            else:
                grad = grad.add(p, alpha=wd)
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))             # μₜ
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))  # μₜ₊₁
        state["mu_product"] *= mu                                # Πₜ
        mu_product = float(state["mu_product"])
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m.lerp_(grad, 1 - beta1)
        v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denom = v.div(1 - beta2**t).sqrt().add_(group["eps"])    # √v̂ + ε
        p.addcdiv_(grad, denom, value=-lr * (1.0 - mu) / (1.0 - mu_product))
        p.addcdiv_(m, denom, value=-lr * mu_next / (1.0 - mu_product * mu_next))
