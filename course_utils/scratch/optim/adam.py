r"""Adam (Kingma & Ba 2015), its AMSGrad variant, and AdamW (Loshchilov & Hutter 2019).

With step t (from 1), betas β₁, β₂, learning rate γ and weight decay λ, for each parameter:

.. math::

    g_t &= \nabla_\theta L(\theta_{t-1}) + \lambda\,\theta_{t-1}
        \qquad \text{(L2, Adam's default: the decay goes through } m, v\text{)} \\
    \theta_{t-1} &\leftarrow (1 - \gamma\lambda)\,\theta_{t-1}
        \qquad \text{(decoupled, AdamW: the decay bypasses } m, v\text{)} \\
    m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t \\
    v_t &= \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2
        \qquad (\text{AMSGrad: } v_t^{\max} = \max(v_{t-1}^{\max}, v_t) \text{ replaces } v_t) \\
    \hat m_t &= m_t / (1-\beta_1^t), \qquad \hat v_t = v_t / (1-\beta_2^t) \\
    \theta_t &= \theta_{t-1} - \gamma\, \hat m_t / (\sqrt{\hat v_t} + \epsilon)

The bias corrections undo the zero initialization of m and v.  Both are biased towards 0
(for a steady gradient g, m_t = (1 − β₁ᵗ)·g and v_t = (1 − β₂ᵗ)·g²), and by different
amounts, so the uncorrected ratio m_t/√v_t is (1 − β₁ᵗ)/√(1 − β₂ᵗ) times the corrected
m̂_t/√v̂_t: at t = 1 that is (1 − β₁)/√(1 − β₂) = 0.1/0.032 ≈ 3.2 with the default betas
(≈ 6.5 around t = 10, → 1 after a few thousand steps).  Without the correction the first
steps would be about 3× too *large*, not too small.  With L2 inside Adam, the penalty's
gradient λθ is divided by √v̂ like the loss gradient, so weights with large gradients are
decayed *less*; AdamW decays every weight by the same factor 1 − γλ per step.
"""

from __future__ import annotations

import torch

from ._base import ScratchOptimizer, check_betas, flag, nonnegative


class Adam(ScratchOptimizer):
    """``torch.optim.Adam`` from scratch (same arguments, defaults and trajectory)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, *, maximize=False, decoupled_weight_decay=False):
        defaults = dict(lr=nonnegative("lr", lr), betas=check_betas(betas),
                        eps=nonnegative("eps", eps),
                        weight_decay=nonnegative("weight_decay", weight_decay),
                        amsgrad=flag("amsgrad", amsgrad), maximize=flag("maximize", maximize),
                        decoupled_weight_decay=flag("decoupled_weight_decay",
                                                    decoupled_weight_decay))
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group):
        lr, (beta1, beta2), wd = group["lr"], group["betas"], group["weight_decay"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = torch.zeros_like(p)         # m
            state["exp_avg_sq"] = torch.zeros_like(p)      # v
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = torch.zeros_like(p)
        state["step"] += 1
        t = state["step"]
        if wd != 0:
            if group["decoupled_weight_decay"]:
                p.mul_(1 - lr * wd)                        # θ ← (1 − γλ)θ   (AdamW)
            else:
                grad = grad.add(p, alpha=wd)               # g ← g + λθ      (L2)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m.lerp_(grad, 1 - beta1)                           # m ← β₁m + (1 − β₁)g
        v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)  # v ← β₂v + (1 − β₂)g²
        if group["amsgrad"]:
            v = torch.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        bias_correction1 = 1 - beta1**t
        bias_correction2 = 1 - beta2**t
        denom = (v.sqrt() / bias_correction2**0.5).add_(group["eps"])      # √v̂ + ε
        p.addcdiv_(m, denom, value=-lr / bias_correction1)               # θ ← θ − γ m̂/(√v̂ + ε)


class AdamW(Adam):
    """``torch.optim.AdamW`` from scratch: Adam with decoupled weight decay (default λ = 0.01)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=True)
