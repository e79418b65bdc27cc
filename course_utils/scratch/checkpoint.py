"""Checkpoints that resume *exactly*: everything a training run's future depends on.

A resumed run equals an uninterrupted one only if the checkpoint holds all of its state:

* the model's ``state_dict`` (parameters **and buffers**: BatchNorm running statistics),
* the optimizer's (momentum, Adam's moments and step count),
* the learning-rate scheduler's (its step count),
* every random number generator that will be drawn from: torch's (dropout, shuffling),
  NumPy's and Python's ``random``, and the data order (here: the step/epoch counter that
  a sampler such as ``DistributedSampler.set_epoch`` turns into the shuffling seed).

The file is written to a temporary name and renamed (``os.replace`` is atomic), so a
process killed while saving leaves the previous checkpoint intact.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch
from torch import nn

from ..core.validation import check_bool


def rng_state() -> dict:
    """The state of torch's, NumPy's and Python's global generators."""
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
            "python": random.getstate()}


def set_rng_state(state: dict) -> None:
    """Put back the generators saved by :func:`rng_state`."""
    if not isinstance(state, dict) or set(state) != {"torch", "numpy", "python"}:
        raise ValueError("state must be the dict rng_state() returns "
                         "(keys 'torch', 'numpy', 'python')")
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


def _check_parts(model, optimizer, scheduler):
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer or None, "
                        f"got {type(optimizer).__name__}")
    if scheduler is not None and not hasattr(scheduler, "state_dict"):
        raise TypeError(f"scheduler must have state_dict()/load_state_dict() (a torch "
                        f"lr_scheduler) or be None, got {type(scheduler).__name__}")


def save_checkpoint(path, model: nn.Module, optimizer=None, scheduler=None, *, step: int = 0,
                    extra: dict | None = None, rng: bool = True) -> None:
    """Write model, optimizer, scheduler, ``step``, ``extra`` and (``rng=True``) the random
    generators' states to ``path``, atomically."""
    _check_parts(model, optimizer, scheduler)
    check_bool("rng", rng)
    if extra is not None and not isinstance(extra, dict):
        raise TypeError(f"extra must be a dict or None, got {type(extra).__name__}")
    state = {
        "model": model.state_dict(),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "rng": rng_state() if rng else None,
        "step": int(step),
        "extra": dict(extra or {}),
    }
    path = os.fspath(path)
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path, model: nn.Module, optimizer=None, scheduler=None) -> dict:
    """Load a checkpoint written by :func:`save_checkpoint` into the given objects (and the
    random generators, if it holds them); return ``{"step": …, "extra": …}``."""
    _check_parts(model, optimizer, scheduler)
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path!r}")
    state = torch.load(path, weights_only=False)
    model.load_state_dict(state["model"])
    if optimizer is not None:
        if state["optimizer"] is None:
            raise ValueError("the checkpoint holds no optimizer state; pass optimizer=None")
        optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None:
        if state["scheduler"] is None:
            raise ValueError("the checkpoint holds no scheduler state; pass scheduler=None")
        scheduler.load_state_dict(state["scheduler"])
    if state["rng"] is not None:
        set_rng_state(state["rng"])
    return {"step": state["step"], "extra": state["extra"]}
