"""From-scratch optimizers: ``torch.optim.Optimizer`` subclasses named, parameterized and
defaulted as PyTorch's, each written so its update reads like its formula.

=============  ==========================================================  =========
class          update (per parameter; see each module's docstring)         default γ
=============  ==========================================================  =========
``SGD``        b ← μb + (1−τ)g;  θ ← θ − γ(b or g + μb)                      1e-3
``Adagrad``    G ← G + g²;  θ ← θ − γ g/(√G + ε)                             1e-2
``Adadelta``   Δ = RMS[Δ]/RMS[g]·g;  θ ← θ − γΔ                              1.0
``RMSprop``    v ← αv + (1−α)g²;  θ ← θ − γ g/(√v + ε)                       1e-2
``Adam``       m, v moving averages, bias-corrected;  θ ← θ − γ m̂/(√v̂ + ε)   1e-3
``AdamW``      Adam with decoupled decay θ ← (1 − γλ)θ                       1e-3
``Adamax``     u ← max(β₂u, |g| + ε);  θ ← θ − γ/(1−β₁ᵗ)·m/u                  2e-3
``NAdam``      Adam with a Nesterov look-ahead on m                          2e-3
=============  ==========================================================  =========

Options are PyTorch's (``momentum``, ``dampening``, ``nesterov``, ``weight_decay``,
``amsgrad``, ``centered``, ``lr_decay``, ``initial_accumulator_value``, ``momentum_decay``,
``decoupled_weight_decay``, ``maximize``); the implementation switches ``foreach``,
``fused``, ``capturable`` and ``differentiable`` are not reproduced.  ``functional`` holds
the pure single-step forms used by the exercises; ``experiments`` the measurements of the
chapter (effective learning rate, gradient noise, weight-decay shrinkage, fair comparisons).
``OPTIMIZERS`` maps each name to its from-scratch class and to ``torch.optim``'s.
"""

import torch

from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .functional import adagrad_step, adam_step, rmsprop_step, sgd_momentum_step
from .nadam import NAdam
from .rmsprop import RMSprop
from .sgd import SGD

#: name → (from-scratch class, torch.optim class)
OPTIMIZERS = {
    "SGD": (SGD, torch.optim.SGD),
    "Adagrad": (Adagrad, torch.optim.Adagrad),
    "Adadelta": (Adadelta, torch.optim.Adadelta),
    "RMSprop": (RMSprop, torch.optim.RMSprop),
    "Adam": (Adam, torch.optim.Adam),
    "AdamW": (AdamW, torch.optim.AdamW),
    "Adamax": (Adamax, torch.optim.Adamax),
    "NAdam": (NAdam, torch.optim.NAdam),
}

__all__ = ["OPTIMIZERS", "SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "NAdam",
           "RMSprop", "adagrad_step", "adam_step", "rmsprop_step", "sgd_momentum_step"]
