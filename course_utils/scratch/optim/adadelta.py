r"""AdaDelta (Zeiler 2012): RMSprop whose step size is a running RMS of past *updates*.

With decay ρ, for each parameter:

.. math::

    g_t &= \nabla_\theta L(\theta_{t-1}) + \lambda\,\theta_{t-1} \\
    E[g^2]_t &= \rho\, E[g^2]_{t-1} + (1-\rho)\, g_t^2 \\
    \Delta_t &= \frac{\sqrt{E[\Delta^2]_{t-1} + \epsilon}}{\sqrt{E[g^2]_t + \epsilon}}\; g_t \\
    E[\Delta^2]_t &= \rho\, E[\Delta^2]_{t-1} + (1-\rho)\, \Delta_t^2 \\
    \theta_t &= \theta_{t-1} - \gamma\, \Delta_t

The ratio of two RMS values has the units of θ, so the paper needs no learning rate;
PyTorch keeps a multiplier γ (default 1.0).  The first steps are ≈ √ε-sized and grow.
"""

from __future__ import annotations

import torch

from ._base import ScratchOptimizer, coefficient, flag, nonnegative


class Adadelta(ScratchOptimizer):
    """``torch.optim.Adadelta`` from scratch (same arguments, defaults and trajectory)."""

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, *, maximize=False):
        defaults = dict(lr=nonnegative("lr", lr), rho=coefficient("rho", rho, allow_one=True),
                        eps=nonnegative("eps", eps),
                        weight_decay=nonnegative("weight_decay", weight_decay),
                        maximize=flag("maximize", maximize))
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group):
        rho, eps = group["rho"], group["eps"]
        if not state:
            state["step"] = 0
            state["square_avg"] = torch.zeros_like(p)    # E[g²]
            state["acc_delta"] = torch.zeros_like(p)     # E[Δ²]
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad.add(p, alpha=group["weight_decay"])
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg.mul_(rho).addcmul_(grad, grad, value=1 - rho)
        std = square_avg.add(eps).sqrt_()                           # RMS[g]
        delta = acc_delta.add(eps).sqrt_().div_(std).mul_(grad)    # RMS[Δ]/RMS[g] · g
        acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)
        p.add_(delta, alpha=-group["lr"])
