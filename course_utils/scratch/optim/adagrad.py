r"""AdaGrad (Duchi, Hazan & Singer 2011): a per-coordinate learning rate that only shrinks.

.. math::

    g_t &= \nabla_\theta L(\theta_{t-1}) + \lambda\,\theta_{t-1} \\
    \gamma_t &= \gamma / (1 + (t-1)\,\eta) \qquad (\eta = \texttt{lr\_decay}) \\
    G_t &= G_{t-1} + g_t^2 \qquad (G_0 = \texttt{initial\_accumulator\_value}) \\
    \theta_t &= \theta_{t-1} - \gamma_t\, \frac{g_t}{\sqrt{G_t} + \epsilon}

The *effective* learning rate of a coordinate, γ/(√G + ε), can only fall: G is a sum of
squares.  Rarely-updated coordinates keep a large step (good for sparse features); on a
long non-convex run every step eventually becomes tiny and training stalls.
"""

from __future__ import annotations

import torch

from ._base import ScratchOptimizer, flag, nonnegative


class Adagrad(ScratchOptimizer):
    """``torch.optim.Adagrad`` from scratch (same arguments, defaults and trajectory)."""

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, *, maximize=False):
        defaults = dict(lr=nonnegative("lr", lr), lr_decay=nonnegative("lr_decay", lr_decay),
                        weight_decay=nonnegative("weight_decay", weight_decay),
                        initial_accumulator_value=nonnegative("initial_accumulator_value",
                                                              initial_accumulator_value),
                        eps=nonnegative("eps", eps), maximize=flag("maximize", maximize))
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group):
        if not state:
            state["step"] = 0
            state["sum"] = torch.full_like(p, group["initial_accumulator_value"])
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad.add(p, alpha=group["weight_decay"])         # g ← g + λθ
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"].addcmul_(grad, grad)                            # G ← G + g²
        std = state["sum"].sqrt().add_(group["eps"])                 # √G + ε
        p.addcdiv_(grad, std, value=-clr)                            # θ ← θ − γₜ g / (√G + ε)
