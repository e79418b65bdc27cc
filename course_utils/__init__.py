"""course_utils: the tested helpers every notebook of the course imports.

Four layers, each importing only the ones above it in this list:

``core``      the framework every chapter stands on: ``repro`` (seeds, threads, device),
              ``validation``, ``data``, ``models``, ``training`` (``fit``), ``plotting``,
              ``explorers`` (the live-widget pattern), ``diagnostics``.
``scratch``   from-scratch algorithms, each tested equal to its PyTorch or scikit-learn
              counterpart: ``perceptron``, ``activations``, ``init``, ``batchnorm``,
              ``clipping``, ``rnn``, ``optim``, ``schedules``, ``lr_finder``, ``landscapes``,
              ``regularization``, ``augment``, ``ensemble``, ``transfer``, ``pretraining``,
              ``pruning``, ``low_rank``, ``distillation``, ``quantization``.
``chapters``  ``chNN_topic``: one chapter's experiments and explorers (nothing imports them).
``checks``    ``chNN_topic``: the exercise checkers (import what they check).

``tools`` holds the notebook executor and the exercise generator.  ``setup()`` is here
because every notebook calls it first: ``device = cu.setup(seed=0)``.
"""

from .core.repro import environment_report, get_device, seed_everything, set_threads, setup

__version__ = "0.2.0"
__all__ = ["environment_report", "get_device", "seed_everything", "set_threads", "setup"]
