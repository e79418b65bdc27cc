"""Checkers for the exercises: ``checks.<function name>(your_function)``.

Each prints a short report (all passed, or each failed case with a hint) and returns a
:class:`CheckResult` with ``passed`` and ``messages``.  See ``_framework`` for how they
are written; one module per chapter holds that chapter's checkers.
"""

from ._framework import CHECKERS, Check, CheckResult, checker
from .ch00_start_here import *  # noqa: F403
from .ch01_perceptron import *  # noqa: F403
from .ch02_vanishing_exploding_gradients import *  # noqa: F403
from .ch03_initialization import *  # noqa: F403
from .ch04_activations import *  # noqa: F403
from .ch05_batch_norm import *  # noqa: F403
from .ch06_gradient_clipping import *  # noqa: F403
from .ch07_optimizers import *  # noqa: F403
from .ch08_lr_schedules import *  # noqa: F403
from .ch09_regularization import *  # noqa: F403
from .ch10_transfer_learning import *  # noqa: F403
from .ch11_compression import *  # noqa: F403
from .ch12_training_at_scale import *  # noqa: F403

__all__ = ["CHECKERS", "Check", "CheckResult", "checker", *CHECKERS]

from ._framework import seal as _seal  # noqa: E402

_seal()  # every checker run starts from the checkers as imported here
