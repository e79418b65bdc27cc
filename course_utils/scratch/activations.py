"""Activation functions from scratch (chapter 04), each tested against ``torch.nn``.

``get_activation(name, from_scratch=True)`` returns the course's own module (without
``from_scratch``, PyTorch's, as ``course_utils.core.models.get_activation``).

The from-scratch modules compute each function from its formula and carry its derivative
``f'(x)`` as a method (``module.derivative(x)``); the tests check both against ``torch.nn``
and autograd.  For an input x (elementwise):

==============  ===========================================  ==========================================
name            f(x)                                          f'(x)
==============  ===========================================  ==========================================
sigmoid         σ(x) = 1 / (1 + e^{−x})                        σ(x)(1 − σ(x))  ≤ 1/4
tanh            (e^{2x} − 1) / (e^{2x} + 1)                     1 − tanh²(x)  ≤ 1
relu            max(0, x)                                      1 if x > 0 else 0
leaky_relu      x if x > 0 else αx                             1 or α
rrelu           x if x > 0 else a·x, a ~ U(l, u) (train),      1 or a
                a = (l + u)/2 (eval)
prelu           x if x > 0 else a·x, a learned                 1 or a
elu             x if x > 0 else α(e^x − 1)                     1 or αe^x
selu            λ·elu_α(x), λ ≈ 1.0507, α ≈ 1.6733             λ or λαe^x
gelu            x·Φ(x)  (Φ the standard normal CDF)             Φ(x) + x·φ(x)
swish           x·σ(βx)  (β = 1: SiLU)                          σ(βx) + βx·σ(βx)(1 − σ(βx))
==============  ===========================================  ==========================================

Numerical care: ``torch.where`` evaluates both branches, and the gradient of the branch
*not* taken is 0 · (its derivative) — NaN when that derivative overflows (e.g. e^{100}).
So every exponential is taken of a clamped input, and ``expm1`` keeps e^x − 1 exact near 0.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..core.diagnostics import activation_modules
from ..core.models import ACTIVATIONS
from ..core.models import get_activation as torch_activation
from ..core.validation import check_bool, check_choice, check_float, check_int, check_tensor

# ----------------------------------------------------------------------------------------
# From-scratch modules
# ----------------------------------------------------------------------------------------

def _as_input(x) -> torch.Tensor:
    return check_tensor("x", x, floating=True)


class Activation(nn.Module):
    """Base class of the course's activations: ``forward(x)`` and ``derivative(x)``.

    ``is_activation`` lets ``course_utils.core.diagnostics`` find these modules in a model;
    ``relu_like`` marks the ReLU family (dead-unit statistics); ``saturating`` marks the
    functions whose derivative vanishes on both sides (sigmoid, tanh).
    """

    is_activation = True
    relu_like = False
    saturating = False

    def derivative(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


def _sigmoid(x: torch.Tensor) -> torch.Tensor:
    """σ(x) without overflow: 1/(1+e^{−x}) for x ≥ 0 and e^x/(1+e^x) for x < 0."""
    pos = 1.0 / (1.0 + torch.exp(-x.clamp(min=0)))
    e = torch.exp(x.clamp(max=0))
    return torch.where(x >= 0, pos, e / (1.0 + e))


def _elu(x: torch.Tensor, alpha: float) -> torch.Tensor:
    """x for x > 0, α(e^x − 1) otherwise (e^x of the clamped input: no inf, no NaN grad)."""
    return torch.where(x > 0, x, alpha * torch.expm1(x.clamp(max=0)))


class Sigmoid(Activation):
    r"""σ(x) = 1 / (1 + e^{−x});  σ'(x) = σ(x)(1 − σ(x)) ≤ 1/4 (at x = 0)."""

    saturating = True

    def forward(self, x):
        return _sigmoid(_as_input(x))

    def derivative(self, x):
        s = _sigmoid(_as_input(x))
        return s * (1 - s)


def _tanh(x: torch.Tensor) -> torch.Tensor:
    """(e^{2x} − 1)/(e^{2x} + 1), written with e^{−2|x|} so nothing overflows."""
    ep = torch.expm1(-2 * x.clamp(min=0))  # e^{−2x} − 1 for x ≥ 0, in (−1, 0]
    en = torch.expm1(2 * x.clamp(max=0))   # e^{2x} − 1 for x < 0, in (−1, 0]
    return torch.where(x >= 0, -ep / (2 + ep), en / (2 + en))


class Tanh(Activation):
    r"""tanh(x) = (e^{2x} − 1)/(e^{2x} + 1) = 2σ(2x) − 1;  tanh'(x) = 1 − tanh²(x) ≤ 1."""

    saturating = True

    def forward(self, x):
        return _tanh(_as_input(x))

    def derivative(self, x):
        t = _tanh(_as_input(x))
        return 1 - t * t


class ReLU(Activation):
    r"""max(0, x);  derivative 1 for x > 0 and 0 for x ≤ 0 (PyTorch's choice at 0)."""

    relu_like = True

    def forward(self, x):
        x = _as_input(x)
        return torch.where(x > 0, x, torch.zeros_like(x))

    def derivative(self, x):
        x = _as_input(x)
        return (x > 0).to(x.dtype)


class LeakyReLU(Activation):
    r"""x for x > 0, else α·x (``negative_slope`` α, default 0.01);  derivative 1 or α."""

    relu_like = True

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = check_float("negative_slope", negative_slope)

    def forward(self, x):
        x = _as_input(x)
        return torch.where(x > 0, x, self.negative_slope * x)

    def derivative(self, x):
        x = _as_input(x)
        return torch.where(x > 0, torch.ones_like(x), torch.full_like(x, self.negative_slope))

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class RReLU(Activation):
    r"""Randomized leaky ReLU (Xu et al. 2015): x for x > 0, else a·x.

    Training: a fresh slope a ~ U(lower, upper) for every element and every forward pass
    (kept in ``self.noise`` for :meth:`derivative`).  Evaluation: the fixed average
    a = (lower + upper)/2.  Defaults as ``nn.RReLU``: lower = 1/8, upper = 1/3.
    ``generator`` (a ``torch.Generator``) makes the slopes reproducible on their own.
    """

    relu_like = True

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.lower = check_float("lower", lower, min_value=0.0)
        self.upper = check_float("upper", upper, min_value=self.lower)
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator or None, got "
                            f"{type(generator).__name__}")
        self.generator = generator
        self.noise: torch.Tensor | None = None

    @property
    def eval_slope(self) -> float:
        return (self.lower + self.upper) / 2

    def _slopes(self, x):
        if not self.training:
            return torch.full_like(x, self.eval_slope)
        a = torch.empty_like(x).uniform_(self.lower, self.upper, generator=self.generator)
        return torch.where(x > 0, torch.ones_like(x), a)

    def forward(self, x):
        x = _as_input(x)
        self.noise = self._slopes(x)
        return torch.where(x > 0, x, self.noise * x)

    def derivative(self, x):
        """1 for x > 0; else the slope: (lower+upper)/2 in eval mode, the slopes drawn by
        the last forward pass in training mode (so call forward on ``x`` first)."""
        x = _as_input(x)
        if self.training:
            if self.noise is None or self.noise.shape != x.shape:
                raise RuntimeError("in training mode the slopes are random: call forward(x) "
                                   "first, then derivative(x) with the same x")
            return torch.where(x > 0, torch.ones_like(x), self.noise)
        return torch.where(x > 0, torch.ones_like(x), torch.full_like(x, self.eval_slope))

    def extra_repr(self):
        return f"lower={self.lower:.4g}, upper={self.upper:.4g}"


class PReLU(Activation):
    r"""Parametric ReLU (He et al. 2015): x for x > 0, else a·x with a *learned* slope.

    ``num_parameters`` = 1 (one a shared by all units) or the number of channels/features
    (dimension 1 of the input); a starts at ``init`` (0.25, as ``nn.PReLU``).
    ∂f/∂x = 1 or a;  ∂f/∂a = 0 or x.
    """

    relu_like = True

    def __init__(self, num_parameters: int = 1, init: float = 0.25):
        super().__init__()
        self.num_parameters = check_int("num_parameters", num_parameters, min_value=1)
        init = check_float("init", init)
        self.weight = nn.Parameter(torch.full((self.num_parameters,), init))

    def _slope(self, x):
        if self.num_parameters == 1:
            return self.weight.to(x.dtype)
        if x.ndim < 2 or x.shape[1] != self.num_parameters:
            raise ValueError(f"x must have {self.num_parameters} channels in dimension 1 "
                             f"(num_parameters), got shape {tuple(x.shape)}")
        return self.weight.to(x.dtype).view(1, -1, *([1] * (x.ndim - 2)))

    def forward(self, x):
        x = _as_input(x)
        return torch.where(x > 0, x, self._slope(x) * x)

    def derivative(self, x):
        x = _as_input(x)
        a = self._slope(x).detach()
        return torch.where(x > 0, torch.ones_like(x), a.expand_as(x))

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class ELU(Activation):
    r"""Exponential linear unit (Clevert et al. 2016): x for x > 0, else α(e^x − 1).

    Smooth for α = 1, saturates at −α for x → −∞;  derivative 1 or αe^x.
    """

    relu_like = True

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = check_float("alpha", alpha, min_value=0.0)

    def forward(self, x):
        return _elu(_as_input(x), self.alpha)

    def derivative(self, x):
        x = _as_input(x)
        return torch.where(x > 0, torch.ones_like(x), self.alpha * torch.exp(x.clamp(max=0)))

    def extra_repr(self):
        return f"alpha={self.alpha}"


class SELU(Activation):
    r"""Scaled ELU (Klambauer et al. 2017): λ·(x if x > 0 else α(e^x − 1)).

    λ ≈ 1.0507 and α ≈ 1.6733 are chosen so that (mean 0, variance 1) is a stable fixed
    point of a dense layer with N(0, 1/fan_in) weights (LeCun normal).  Derivative λ or λαe^x.
    """

    relu_like = True
    alpha = 1.6732632423543772848170429916717
    scale = 1.0507009873554804934193349852946

    def forward(self, x):
        return self.scale * _elu(_as_input(x), self.alpha)

    def derivative(self, x):
        x = _as_input(x)
        return self.scale * torch.where(x > 0, torch.ones_like(x),
                                        self.alpha * torch.exp(x.clamp(max=0)))


class GELU(Activation):
    r"""Gaussian error linear unit (Hendrycks & Gimpel 2016): x·Φ(x).

    ``approximate="none"``: Φ(x) = ½(1 + erf(x/√2)), f' = Φ(x) + x·φ(x).
    ``approximate="tanh"``: ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³).
    """

    relu_like = True

    def __init__(self, approximate: str = "none"):
        super().__init__()
        self.approximate = check_choice("approximate", approximate, ["none", "tanh"])

    def _tanh_parts(self, x):
        c = math.sqrt(2 / math.pi)
        u = c * (x + 0.044715 * x ** 3)
        return _tanh(u), c * (1 + 3 * 0.044715 * x * x)

    def forward(self, x):
        x = _as_input(x)
        if self.approximate == "tanh":
            t, _ = self._tanh_parts(x)
            return 0.5 * x * (1 + t)
        return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))

    def derivative(self, x):
        x = _as_input(x)
        if self.approximate == "tanh":
            t, du = self._tanh_parts(x)
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du
        cdf = 0.5 * (1 + torch.erf(x / math.sqrt(2)))
        pdf = torch.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return cdf + x * pdf

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Swish(Activation):
    r"""Swish (Ramachandran et al. 2017): x·σ(βx); β = 1 is SiLU (``nn.SiLU``).

    f'(x) = σ(βx) + βx·σ(βx)(1 − σ(βx)); slightly negative for x < 0 (minimum ≈ −0.28/β).
    """

    relu_like = True

    def __init__(self, beta: float = 1.0):
        super().__init__()
        self.beta = check_float("beta", beta, min_value=0.0)

    def forward(self, x):
        x = _as_input(x)
        return x * _sigmoid(self.beta * x)

    def derivative(self, x):
        x = _as_input(x)
        s = _sigmoid(self.beta * x)
        return s + self.beta * x * s * (1 - s)

    def extra_repr(self):
        return f"beta={self.beta}"


#: name → from-scratch class (the same names as ``ACTIVATIONS`` where both exist).
SCRATCH = {
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "rrelu": RReLU,
    "prelu": PReLU,
    "elu": ELU,
    "selu": SELU,
    "gelu": GELU,
    "swish": Swish,
    "silu": Swish,
}


def get_activation(name: str, *, from_scratch: bool = False, **kwargs) -> nn.Module:
    """A new activation module: one of ``ACTIVATIONS`` (e.g. ``"relu"``, ``"tanh"``).

    ``from_scratch=True`` gives the course's own module (names in ``SCRATCH``); keyword
    arguments go to the constructor (``negative_slope``, ``alpha``, ``beta``, …)."""
    if not check_bool("from_scratch", from_scratch) or isinstance(name, nn.Module):
        return torch_activation(name, **kwargs)
    if not isinstance(name, str):
        raise TypeError(f"activation must be a name (str) or an nn.Module, got {type(name).__name__}")
    check_choice("activation", name, [*SCRATCH, "identity", "linear"])
    return nn.Identity() if name in ("identity", "linear") else SCRATCH[name](**kwargs)


def torch_reference(name: str, **kwargs) -> nn.Module:
    """PyTorch's own module for a from-scratch activation name (``swish`` with β ≠ 1 has
    none: it is built from ``torch.sigmoid``)."""
    check_choice("name", name, SCRATCH)
    if name in ("swish", "silu") and kwargs.get("beta", 1.0) != 1.0:
        beta = check_float("beta", kwargs["beta"], min_value=0.0)
        return _Lambda(lambda x: x * torch.sigmoid(beta * x))
    if name in ("swish", "silu"):
        kwargs = {k: v for k, v in kwargs.items() if k != "beta"}
    return ACTIVATIONS[name](**kwargs)


class _Lambda(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def compare_with_torch(name: str, x: torch.Tensor, **kwargs) -> dict:
    """Largest differences between the from-scratch activation and PyTorch's on ``x``.

    Returns ``{"forward": max|f − f_torch|, "grad": max|∂f/∂x − ∂f_torch/∂x| (autograd),
    "derivative": max|f'(x) − autograd of PyTorch's module|}`` (eval mode, so RReLU is
    deterministic; PReLU's slope is copied)."""
    x = _as_input(x).detach()
    ours = get_activation(name, from_scratch=True, **kwargs).eval().to(x.dtype)
    ref = torch_reference(name, **kwargs).eval().to(x.dtype)
    if isinstance(ours, PReLU):
        with torch.no_grad():
            ref.weight.copy_(ours.weight)
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = ours(a), ref(b)
    ya.sum().backward()
    yb.sum().backward()
    ya, yb = ya.detach(), yb.detach()
    return {"forward": float((ya - yb).abs().max()), "grad": float((a.grad - b.grad).abs().max()),
            "derivative": float((ours.derivative(x) - b.grad).abs().max())}


def replace_activations(model: nn.Module, activation: str, *, from_scratch: bool = False,
                        **kwargs) -> nn.Module:
    """Swap every activation module of ``model`` (as found by
    ``diagnostics.activation_modules``, ``nn.Identity`` excluded) for a fresh
    ``get_activation(activation, from_scratch=..., **kwargs)``; return the model.

    E.g. ``replace_activations(models.mlp(64, 10, activation="relu"), "leaky_relu",
    negative_slope=0.2)`` or ``(..., "prelu", from_scratch=True)``."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    get_activation(activation, from_scratch=from_scratch, **kwargs)  # validate once
    targets = [n for n, m in activation_modules(model) if not isinstance(m, nn.Identity)]
    if not targets:
        raise ValueError("model has no activation modules to replace")
    for name in targets:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, get_activation(activation, from_scratch=from_scratch, **kwargs))
    return model


# ----------------------------------------------------------------------------------------
