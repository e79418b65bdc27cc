"""Weight initialization schemes, applied to a whole model in one call.

For a layer with ``fan_in`` inputs and ``fan_out`` outputs (biases set to 0):

* Xavier/Glorot: Var(w) = gain² · 2 / (fan_in + fan_out); uniform bound r = gain·√(6/(fan_in+fan_out))
* He/Kaiming:    Var(w) = 2 / fan_in   (ReLU)
* LeCun:         Var(w) = 1 / fan_in   (SELU)
* normal:        w ~ N(0, std²);  zeros / constant: every weight equal (breaks nothing but symmetry)
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .validation import check_choice, check_float

SCHEMES = ("default", "xavier_uniform", "xavier_normal", "he_normal", "he_uniform",
           "lecun_normal", "normal", "zeros", "constant")


@torch.no_grad()
def init_layer(layer: nn.Module, scheme: str, *, gain: float = 1.0, std: float = 0.01,
               value: float = 0.1) -> None:
    """Initialize one ``nn.Linear``/``nn.Conv*`` in place with ``scheme``; bias ← 0."""
    check_choice("scheme", scheme, SCHEMES)
    gain = check_float("gain", gain, min_value=0.0)
    std = check_float("std", std, min_value=0.0)
    if scheme == "default":
        layer.reset_parameters()
        return
    w = layer.weight
    fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(w)
    if scheme == "xavier_uniform":
        nn.init.xavier_uniform_(w, gain=gain)
    elif scheme == "xavier_normal":
        nn.init.xavier_normal_(w, gain=gain)
    elif scheme == "he_normal":
        nn.init.normal_(w, 0.0, gain * math.sqrt(2.0 / fan_in))
    elif scheme == "he_uniform":
        nn.init.uniform_(w, -gain * math.sqrt(6.0 / fan_in), gain * math.sqrt(6.0 / fan_in))
    elif scheme == "lecun_normal":
        nn.init.normal_(w, 0.0, gain * math.sqrt(1.0 / fan_in))
    elif scheme == "normal":
        nn.init.normal_(w, 0.0, std)
    elif scheme == "zeros":
        nn.init.zeros_(w)
    else:
        nn.init.constant_(w, check_float("value", value))
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)


def initialize(model: nn.Module, scheme: str = "default", **kwargs) -> nn.Module:
    """Apply :func:`init_layer` to every Linear and Conv layer of ``model``; return it."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    check_choice("scheme", scheme, SCHEMES)
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            init_layer(m, scheme, **kwargs)
    return model
