r"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay.

With learning rate γ, momentum μ, dampening τ and weight decay λ, for each parameter θ:

.. math::

    g_t &= \nabla_\theta L(\theta_{t-1}) + \lambda\,\theta_{t-1} \\
    b_t &= \mu\, b_{t-1} + (1-\tau)\, g_t \qquad (b_1 = g_1) \\
    d_t &= \begin{cases} g_t + \mu\, b_t & \text{Nesterov} \\ b_t & \text{otherwise} \end{cases} \\
    \theta_t &= \theta_{t-1} - \gamma\, d_t

With μ = 0 this is plain (mini-batch) gradient descent θ ← θ − γ g.  PyTorch's convention
puts γ *outside* the buffer (b is a sum of gradients, not of steps), so changing γ during
training changes the step at once.  Nesterov's "look-ahead" gradient is written here in
the equivalent form of Sutskever et al. (2013): step along g + μ b instead of b.
"""

from __future__ import annotations

from ._base import ScratchOptimizer, coefficient, flag, momentum_coefficient, nonnegative


class SGD(ScratchOptimizer):
    """``torch.optim.SGD`` from scratch (same arguments, defaults and trajectory)."""

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, *, maximize=False):
        defaults = dict(lr=nonnegative("lr", lr),
                        momentum=momentum_coefficient("momentum", momentum),
                        dampening=coefficient("dampening", dampening, allow_one=True),
                        weight_decay=nonnegative("weight_decay", weight_decay),
                        nesterov=flag("nesterov", nesterov), maximize=flag("maximize", maximize))
        if nesterov and (defaults["momentum"] <= 0 or defaults["dampening"] != 0):
            raise ValueError("nesterov=True needs momentum > 0 and dampening = 0, got "
                             f"momentum={momentum!r}, dampening={dampening!r}")
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group):
        lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
        if wd != 0:
            grad = grad.add(p, alpha=wd)                        # g ← g + λθ
        if mu != 0:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = grad.clone()         # b₁ = g₁
            else:                                               # b ← μb + (1 − τ)g
                state["momentum_buffer"].mul_(mu).add_(grad, alpha=1 - group["dampening"])
            buf = state["momentum_buffer"]
            grad = grad.add(buf, alpha=mu) if group["nesterov"] else buf
        p.add_(grad, alpha=-lr)                                 # θ ← θ − γ d
