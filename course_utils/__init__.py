"""course_utils: the tested helpers every notebook of the course imports.

Modules (each small and named for what it holds): ``repro`` (seed, threads, device),
``data`` (bundled and generated datasets), ``models`` (MLP builder, small CNN),
``activations``, ``initializers``, ``training`` (``fit``), ``diagnostics`` (activation and
gradient health), ``plotting``, ``explorers`` (live widgets), ``checks`` (exercise
checkers), ``exercises`` (exercise generator), ``notebooks`` (execute notebooks),
``warmup`` (chapter 00), and one module per chapter topic: ``perceptron``, ``gradients``,
``batchnorm``, ``clipping``, ``rnn``, ``optim`` (from-scratch optimizers), ``landscapes``,
``schedules``, ``lr_finder``; the experiments and explorers of a chapter sit beside its
algorithm module (``activation_experiments``, ``batchnorm_experiments``,
``schedule_experiments``, ``optim.experiments``).
"""

from .repro import environment_report, get_device, seed_everything, set_threads, setup

__version__ = "0.1.0"
__all__ = ["environment_report", "get_device", "seed_everything", "set_threads", "setup"]
