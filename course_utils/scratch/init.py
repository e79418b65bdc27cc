"""Weight initialization from scratch, applied to a whole model in one call.

A linear layer computes y_i = Σ_j w_ij x_j over ``fan_in`` inputs and feeds ``fan_out``
units. With independent, zero-mean weights and inputs,

    Var(y) = fan_in · Var(w) · E[x²]                      (forward)
    Var(∂L/∂x) = fan_out · Var(w) · Var(∂L/∂y)            (backward, linear part)

Keeping both variances constant from layer to layer gives the classic schemes
(weights of shape ``(fan_out, fan_in)``, as ``nn.Linear`` stores them; biases set to 0):

* LeCun:          Var(w) = gain² / fan_in                    (linear / SELU, gain 1)
* Glorot/Xavier:  Var(w) = gain² · 2 / (fan_in + fan_out) = gain² / fan_avg;
  uniform U(−r, r) with r = gain · √(3 / fan_avg) = gain · √(6 / (fan_in + fan_out))
* He/Kaiming:     Var(w) = gain² · 2 / fan_in   (ReLU halves E[x²]); uniform r = gain·√(6/fan_in)
* normal:         w ~ N(0, std²);  zeros / constant: every weight equal (symmetry never breaks)
* default:        PyTorch's ``nn.Linear`` default U(±1/√fan_in) for weights *and* biases
  (``kaiming_uniform_(a=√5)``) — Glorot & Bengio's "standard" heuristic, not He.

Here ``gain`` is an extra multiplier of the standard deviation (1 = the paper's scheme). For
Xavier it is where the activation's gain goes (:func:`calculate_gain`: tanh 5/3, ReLU √2).

Also here: :func:`distinct_units` (symmetry).  Models are initialized by name with
``course_utils.core.models.initialize`` (``torch.nn.init``; the draws here are tested equal to
it); chapter 03's experiments and explorer are in ``course_utils.chapters.ch03_initialization``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ..core.models import SCHEMES
from ..core.validation import check_choice, check_float, check_int

#: Names :func:`calculate_gain` knows (PyTorch's ``nn.functional`` names, plus "identity").
GAIN_NAMES = ("linear", "identity", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
              "conv_transpose2d", "conv_transpose3d", "sigmoid", "tanh", "relu",
              "leaky_relu", "selu")


# --------------------------------------------------------------------------- fans, gains
def fan_in_and_fan_out(shape) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of ``shape`` (a tuple, ``torch.Size`` or tensor).

    Linear ``(out, in)``: fan_in = in, fan_out = out.  Convolution ``(out, in, k₁, k₂, …)``:
    both are multiplied by the receptive field k₁·k₂·…  (as ``torch.nn.init`` computes them).
    """
    if isinstance(shape, torch.Tensor):
        shape = tuple(shape.shape)
    if not isinstance(shape, Sequence) or isinstance(shape, str):
        raise TypeError(f"shape must be a tuple of ints or a tensor, got {type(shape).__name__}")
    shape = tuple(check_int(f"shape[{i}]", s, min_value=1) for i, s in enumerate(shape))
    if len(shape) < 2:
        raise ValueError(f"shape must have at least 2 dimensions (out, in, ...), got {shape}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def fan(fan_in: int, fan_out: int, mode: str = "fan_in") -> float:
    """``fan_in``, ``fan_out`` or ``fan_avg`` = (fan_in + fan_out) / 2, chosen by ``mode``."""
    fan_in = check_int("fan_in", fan_in, min_value=1)
    fan_out = check_int("fan_out", fan_out, min_value=1)
    mode = check_choice("mode", mode, ["fan_in", "fan_out", "fan_avg"])
    return {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain PyTorch recommends for an activation (``torch.nn.init.calculate_gain``).

    linear/conv/sigmoid 1, tanh 5/3, ReLU √2, leaky ReLU √(2 / (1 + slope²)) (slope
    ``param``, default 0.01), SELU 3/4.  **Pitfall:** the SELU value 3/4 is an empirical
    choice for gradient flow; it *breaks* self-normalization, which needs Var(w) = 1/fan_in,
    i.e. LeCun normal with gain 1 (``'linear'``).
    """
    check_choice("nonlinearity", nonlinearity, GAIN_NAMES)
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "selu":
        return 0.75
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else check_float("param", param)
        return math.sqrt(2.0 / (1.0 + slope ** 2))
    return 1.0


def scheme_std(scheme: str, fan_in: int, fan_out: int, *, gain: float = 1.0,
               std: float = 0.01) -> float:
    """The standard deviation of a weight under ``scheme`` (for plots and tests).

    Uniform schemes have std = r / √3.  ``default`` gives 1/√(3·fan_in); ``constant`` and
    ``zeros`` give 0."""
    check_choice("scheme", scheme, SCHEMES)
    gain = check_float("gain", gain, min_value=0.0)
    std = check_float("std", std, min_value=0.0)
    fan_in = check_int("fan_in", fan_in, min_value=1)
    fan_out = check_int("fan_out", fan_out, min_value=1)
    if scheme in ("xavier_uniform", "xavier_normal"):
        return gain * math.sqrt(2.0 / (fan_in + fan_out))
    if scheme in ("he_normal", "he_uniform"):
        return gain * math.sqrt(2.0 / fan_in)
    if scheme == "lecun_normal":
        return gain * math.sqrt(1.0 / fan_in)
    if scheme == "default":
        return 1.0 / math.sqrt(3.0 * fan_in)
    if scheme == "normal":
        return std
    return 0.0


# --------------------------------------------------------------------- drawing weights
def _check_draw_args(fan_in, fan_out, generator, shape, gain=1.0):
    fan_in = check_int("fan_in", fan_in, min_value=1)
    fan_out = check_int("fan_out", fan_out, min_value=1)
    gain = check_float("gain", gain, min_value=0.0)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    if shape is None:
        shape = (fan_out, fan_in)
    else:
        fans = fan_in_and_fan_out(shape)
        if fans != (fan_in, fan_out):
            raise ValueError(f"shape {tuple(shape)} has (fan_in, fan_out) = {fans}, "
                             f"which does not match fan_in={fan_in}, fan_out={fan_out}")
        shape = tuple(shape)
    return fan_in, fan_out, generator, shape, gain


def _uniform(shape, bound, generator):
    """U(−bound, bound): a U(0, 1) draw u mapped to (2u − 1)·bound."""
    u = torch.rand(shape, generator=generator)
    return (2.0 * u - 1.0) * bound


def _normal(shape, std, generator):
    """N(0, std²): a standard normal draw times std."""
    return torch.randn(shape, generator=generator) * std


def xavier_uniform(fan_in: int, fan_out: int, generator: torch.Generator | None = None, *,
                   gain: float = 1.0, shape=None) -> torch.Tensor:
    """Glorot/Xavier uniform: U(−r, r), r = gain·√(6 / (fan_in + fan_out)).

    Returns a float tensor of shape ``(fan_out, fan_in)`` (or ``shape``, e.g. a conv kernel
    whose fans are ``fan_in``/``fan_out``), drawn from ``generator`` (global RNG if None)."""
    fan_in, fan_out, generator, shape, gain = _check_draw_args(fan_in, fan_out, generator, shape, gain)
    return _uniform(shape, gain * math.sqrt(6.0 / (fan_in + fan_out)), generator)


def xavier_normal(fan_in: int, fan_out: int, generator: torch.Generator | None = None, *,
                  gain: float = 1.0, shape=None) -> torch.Tensor:
    """Glorot/Xavier normal: N(0, gain² · 2 / (fan_in + fan_out)), shape ``(fan_out, fan_in)``."""
    fan_in, fan_out, generator, shape, gain = _check_draw_args(fan_in, fan_out, generator, shape, gain)
    return _normal(shape, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def he_normal(fan_in: int, fan_out: int, generator: torch.Generator | None = None, *,
              gain: float = 1.0, mode: str = "fan_in", shape=None) -> torch.Tensor:
    """He/Kaiming normal: N(0, gain² · 2 / fan), fan = fan_in (default) or fan_out.

    Equals ``kaiming_normal_(w, mode=mode, nonlinearity='relu')`` in distribution."""
    fan_in, fan_out, generator, shape, gain = _check_draw_args(fan_in, fan_out, generator, shape, gain)
    n = fan(fan_in, fan_out, check_choice("mode", mode, ["fan_in", "fan_out"]))
    return _normal(shape, gain * math.sqrt(2.0 / n), generator)


def he_uniform(fan_in: int, fan_out: int, generator: torch.Generator | None = None, *,
               gain: float = 1.0, mode: str = "fan_in", shape=None) -> torch.Tensor:
    """He/Kaiming uniform: U(−r, r), r = gain·√(6 / fan) (variance 2/fan), fan = fan_in default."""
    fan_in, fan_out, generator, shape, gain = _check_draw_args(fan_in, fan_out, generator, shape, gain)
    n = fan(fan_in, fan_out, check_choice("mode", mode, ["fan_in", "fan_out"]))
    return _uniform(shape, gain * math.sqrt(6.0 / n), generator)


def lecun_normal(fan_in: int, fan_out: int, generator: torch.Generator | None = None, *,
                 gain: float = 1.0, shape=None) -> torch.Tensor:
    """LeCun normal: N(0, gain² / fan_in) — with gain 1, what SELU needs to self-normalize."""
    fan_in, fan_out, generator, shape, gain = _check_draw_args(fan_in, fan_out, generator, shape, gain)
    return _normal(shape, gain * math.sqrt(1.0 / fan_in), generator)


def normal(fan_in: int, fan_out: int, generator: torch.Generator | None = None, *,
           std: float = 0.01, shape=None) -> torch.Tensor:
    """N(0, std²) whatever the fans: too small vanishes with depth, too large explodes."""
    fan_in, fan_out, generator, shape, _ = _check_draw_args(fan_in, fan_out, generator, shape)
    return _normal(shape, check_float("std", std, min_value=0.0), generator)


def standard_uniform(fan_in: int, fan_out: int, generator: torch.Generator | None = None, *,
                     shape=None) -> torch.Tensor:
    """U(−1/√fan_in, 1/√fan_in): Var(w) = 1/(3·fan_in). PyTorch's default for ``nn.Linear``
    and ``nn.Conv*`` weights, and Glorot & Bengio's "standard" initialization."""
    fan_in, fan_out, generator, shape, _ = _check_draw_args(fan_in, fan_out, generator, shape)
    return _uniform(shape, 1.0 / math.sqrt(fan_in), generator)


# ------------------------------------------------------------------------- diagnostics
def distinct_units(weight: torch.Tensor, atol: float = 1e-6) -> int:
    """How many different rows (hidden units) a weight matrix ``(units, inputs)`` has.

    Rows closer than ``atol`` (max absolute difference) count as one: after constant
    initialization every unit of a layer stays the same, so this stays 1."""
    if not isinstance(weight, torch.Tensor):
        raise TypeError(f"weight must be a torch.Tensor, got {type(weight).__name__}")
    if weight.ndim < 2:
        raise ValueError(f"weight must have at least 2 dimensions (units, ...), got shape {tuple(weight.shape)}")
    atol = check_float("atol", atol, min_value=0.0)
    rows = weight.detach().reshape(weight.shape[0], -1).double()
    representatives: list[torch.Tensor] = []
    for r in rows:
        if not any(float((r - q).abs().max()) <= atol for q in representatives):
            representatives.append(r)
    return len(representatives)
