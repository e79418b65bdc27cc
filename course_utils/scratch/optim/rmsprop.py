r"""RMSprop (Hinton, lecture 6e, 2012): AdaGrad with a *leaky* average of squared gradients.

With smoothing α, momentum μ and weight decay λ, for each parameter:

.. math::

    g_t &= \nabla_\theta L(\theta_{t-1}) + \lambda\,\theta_{t-1} \\
    v_t &= \alpha\, v_{t-1} + (1-\alpha)\, g_t^2 \\
    \tilde v_t &= v_t - \bar g_t^2,\quad \bar g_t = \alpha\,\bar g_{t-1} + (1-\alpha)\,g_t
        \qquad\text{(centered only; else } \tilde v_t = v_t) \\
    b_t &= \mu\, b_{t-1} + g_t / (\sqrt{\tilde v_t} + \epsilon)
        \qquad (\text{no momentum: } b_t = g_t / (\sqrt{\tilde v_t} + \epsilon)) \\
    \theta_t &= \theta_{t-1} - \gamma\, b_t

Because v forgets old gradients (time constant 1/(1 − α) steps), the effective learning
rate γ/(√v + ε) follows the current gradient scale instead of decaying forever as in AdaGrad.
"""

from __future__ import annotations

import torch

from ._base import ScratchOptimizer, coefficient, flag, momentum_coefficient, nonnegative


class RMSprop(ScratchOptimizer):
    """``torch.optim.RMSprop`` from scratch (same arguments, defaults and trajectory)."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, *, maximize=False):
        defaults = dict(lr=nonnegative("lr", lr), alpha=coefficient("alpha", alpha, allow_one=True),
                        eps=nonnegative("eps", eps),
                        weight_decay=nonnegative("weight_decay", weight_decay),
                        momentum=momentum_coefficient("momentum", momentum),
                        centered=flag("centered", centered), maximize=flag("maximize", maximize))
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group):
        alpha, mu = group["alpha"], group["momentum"]
        if not state:
            state["step"] = 0
            state["square_avg"] = torch.zeros_like(p)
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad.add(p, alpha=group["weight_decay"])
        square_avg = state["square_avg"]
        square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)     # v ← αv + (1−α)g²
        if group["centered"]:
            if "grad_avg" not in state:
                state["grad_avg"] = torch.zeros_like(p)
            grad_avg = state["grad_avg"].lerp_(grad, 1 - alpha)          # ḡ ← αḡ + (1−α)g
            avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
        else:
            avg = square_avg.sqrt()
        avg = avg.add_(group["eps"])                                     # √v + ε
        if mu > 0:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = torch.zeros_like(p)
            buf = state["momentum_buffer"].mul_(mu).addcdiv_(grad, avg)  # b ← μb + g/(√v+ε)
            p.add_(buf, alpha=-group["lr"])
        else:
            p.addcdiv_(grad, avg, value=-group["lr"])
