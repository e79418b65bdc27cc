"""Activation functions by name.

``get_activation(name)`` returns a fresh ``nn.Module`` so model builders can take the
activation as a string.  Chapter 04 adds from-scratch versions of each.
"""

from __future__ import annotations

from torch import nn

from .validation import check_choice

ACTIVATIONS = {
    "identity": nn.Identity,
    "linear": nn.Identity,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "selu": nn.SELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "swish": nn.SiLU,
}


def get_activation(name: str, **kwargs) -> nn.Module:
    """A new activation module: one of ``ACTIVATIONS`` (e.g. ``"relu"``, ``"tanh"``)."""
    if isinstance(name, nn.Module):
        return name
    if not isinstance(name, str):
        raise TypeError(f"activation must be a name (str) or an nn.Module, got {type(name).__name__}")
    check_choice("activation", name, ACTIVATIONS)
    return ACTIVATIONS[name](**kwargs)
