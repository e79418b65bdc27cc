"""Argument validation shared by every public function.

Each helper raises ``TypeError`` or ``ValueError`` whose message names the argument and
says what is allowed, so a student never has to read a traceback from deep inside torch.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import numpy as np
import torch
from torch import nn


def check_int(name: str, value, *, min_value=None, max_value=None) -> int:
    """Return ``value`` as an int, or raise naming ``name`` and the allowed range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    return int(_check_range(name, int(value), min_value, max_value))


def check_float(name: str, value, *, min_value=None, max_value=None,
                min_inclusive=True, max_inclusive=True) -> float:
    """Return ``value`` as a finite float, or raise naming ``name`` and the allowed range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(_check_range(name, value, min_value, max_value, min_inclusive, max_inclusive))


def check_choice(name: str, value, choices: Iterable):
    """Return ``value`` if it is one of ``choices``; otherwise list the allowed values."""
    choices = list(choices)
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {allowed}; got {value!r}")
    return value


def check_bool(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def check_array(name: str, value, *, ndim=None, dtype_kind=None) -> np.ndarray:
    """Return ``value`` as a NumPy array with the required number of dimensions.

    ``dtype_kind`` is a string of allowed NumPy kinds, e.g. ``"fiub"`` for numbers/bools.
    """
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and other odd objects
        raise TypeError(f"{name} must be array-like, got {type(value).__name__}") from exc
    if arr.dtype == object:
        raise TypeError(f"{name} must be a numeric array, got an object array")
    if dtype_kind is not None and arr.dtype.kind not in dtype_kind:
        raise TypeError(f"{name} must have a numeric dtype, got {arr.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            raise ValueError(
                f"{name} must have {' or '.join(map(str, allowed))} dimension(s), "
                f"got shape {arr.shape}"
            )
    return arr


def check_tensor(name: str, value, *, ndim=None, floating=False) -> torch.Tensor:
    """Check that ``value`` is a torch tensor (optionally of a given rank / floating dtype)."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if value.ndim not in allowed:
            raise ValueError(
                f"{name} must have {' or '.join(map(str, allowed))} dimension(s), "
                f"got shape {tuple(value.shape)}"
            )
    if floating and not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    return value


def check_fraction(name: str, value, *, allow_zero=True, allow_one=False) -> float:
    """A float in [0, 1) by default (the usual split/dropout fraction)."""
    return check_float(name, value, min_value=0.0, max_value=1.0,
                       min_inclusive=allow_zero, max_inclusive=allow_one)


def _check_range(name, value, lo, hi, lo_inc=True, hi_inc=True):
    too_low = lo is not None and (value < lo if lo_inc else value <= lo)
    too_high = hi is not None and (value > hi if hi_inc else value >= hi)
    if too_low or too_high:
        left = "-inf" if lo is None else ("[" if lo_inc else "(") + f"{lo}"
        right = "inf" if hi is None else f"{hi}" + ("]" if hi_inc else ")")
        if lo is None:
            left = "(-inf"
        if hi is None:
            right = "inf)"
        raise ValueError(f"{name} must be in {left}, {right}; got {value!r}")
    return value


def check_loss_fn(loss_fn):
    """A loss object or function (None → ``nn.CrossEntropyLoss()``), not a loss class."""
    if isinstance(loss_fn, type):
        raise TypeError(f"loss_fn must be a loss *instance* or a function: write "
                        f"{loss_fn.__name__}() with parentheses, got the class {loss_fn.__name__}")
    if loss_fn is not None and not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable or None, got {type(loss_fn).__name__}")
    return nn.CrossEntropyLoss() if loss_fn is None else loss_fn
