"""Model builders that vary one knob at a time.

``mlp(64, 10, depth=3, width=128, activation="relu", init="he_normal", batch_norm=True,
dropout=0.2)`` builds  [Linear → (BatchNorm) → activation → (Dropout)] × depth → Linear.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .validation import check_bool, check_choice, check_float, check_int

#: activation names the builders take → PyTorch's module (the from-scratch ones, tested
#: equal to these, are in ``course_utils.scratch.activations``).
ACTIVATIONS = {
    "identity": nn.Identity,
    "linear": nn.Identity,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "rrelu": nn.RReLU,
    "prelu": nn.PReLU,
    "elu": nn.ELU,
    "selu": nn.SELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "swish": nn.SiLU,
}

#: weight-initialization schemes the builders take (chapter 03 derives them; the
#: from-scratch draws in ``course_utils.scratch.init`` are tested equal to these).
SCHEMES = ("default", "xavier_uniform", "xavier_normal", "he_normal", "he_uniform",
           "lecun_normal", "normal", "zeros", "constant")


def get_activation(name, **kwargs) -> nn.Module:
    """A new PyTorch activation module by name (one of ``ACTIVATIONS``), or ``name`` itself
    when it already is an ``nn.Module``. Keyword arguments go to the constructor."""
    if isinstance(name, nn.Module):
        return name
    if not isinstance(name, str):
        raise TypeError(f"activation must be a name (str) or an nn.Module, got {type(name).__name__}")
    check_choice("activation", name, ACTIVATIONS)
    _check_activation_kwargs(name, kwargs)
    try:
        return ACTIVATIONS[name](**kwargs)
    except TypeError as exc:
        raise TypeError(f"keyword arguments {kwargs} do not fit activation {name!r}: {exc}") from None


def _check_activation_kwargs(name: str, kwargs: dict) -> None:
    """Check each keyword against the type of its default in the module's constructor, so a
    bad value fails here and not at the first forward pass."""
    import inspect

    try:
        params = inspect.signature(ACTIVATIONS[name]).parameters
    except (TypeError, ValueError):
        return
    for key, value in kwargs.items():
        if key not in params:
            allowed = ", ".join(k for k in params if k not in ("device", "dtype")) or "none"
            raise TypeError(f"activation {name!r} takes no argument {key!r} (it takes: {allowed})")
        default = params[key].default
        where = f"{key} (of activation {name!r})"
        if isinstance(default, bool):
            check_bool(where, value)
        elif isinstance(default, int) and key == "num_parameters":
            check_int(where, value, min_value=1)
        elif isinstance(default, (int, float)):
            check_float(where, value)
        elif key == "approximate":
            check_choice(where, value, ["none", "tanh"])


_INIT_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


@torch.no_grad()
def init_layer(layer: nn.Module, scheme: str, *, gain: float = 1.0, std: float = 0.01,
               value: float = 0.1, generator: torch.Generator | None = None) -> None:
    """Initialize one ``nn.Linear``/``nn.Conv*`` in place with ``scheme`` (``torch.nn.init``).

    Var(w): xavier gain²·2/(fan_in+fan_out); he gain²·2/fan_in; lecun gain²/fan_in;
    normal std²; zeros/constant: every weight equal.  Biases are set to 0, except for
    ``default`` which draws weights *and* bias from U(±1/√fan_in) like ``reset_parameters``."""
    if not isinstance(layer, _INIT_LAYERS):
        raise TypeError(f"layer must be an nn.Linear or nn.Conv1d/2d/3d, got {type(layer).__name__}")
    check_choice("scheme", scheme, SCHEMES)
    gain = check_float("gain", gain, min_value=0.0)
    std = check_float("std", std, min_value=0.0)
    value = check_float("value", value)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    w, g = layer.weight, generator
    fan_in = nn.init._calculate_fan_in_and_fan_out(w)[0]
    if scheme == "default":
        nn.init.kaiming_uniform_(w, a=math.sqrt(5), generator=g)
    elif scheme == "xavier_uniform":
        nn.init.xavier_uniform_(w, gain=gain, generator=g)
    elif scheme == "xavier_normal":
        nn.init.xavier_normal_(w, gain=gain, generator=g)
    elif scheme == "he_normal":
        nn.init.normal_(w, 0.0, gain * math.sqrt(2.0 / fan_in), generator=g)
    elif scheme == "he_uniform":
        bound = gain * math.sqrt(6.0 / fan_in)
        nn.init.uniform_(w, -bound, bound, generator=g)
    elif scheme == "lecun_normal":
        nn.init.normal_(w, 0.0, gain * math.sqrt(1.0 / fan_in), generator=g)
    elif scheme == "normal":
        nn.init.normal_(w, 0.0, std, generator=g)
    elif scheme == "zeros":
        nn.init.zeros_(w)
    else:
        nn.init.constant_(w, value)
    if layer.bias is not None:
        if scheme == "default":
            bound = 1.0 / math.sqrt(fan_in)
            nn.init.uniform_(layer.bias, -bound, bound, generator=g)
        else:
            nn.init.zeros_(layer.bias)


def initialize(model: nn.Module, scheme: str = "default", **kwargs) -> nn.Module:
    """Apply :func:`init_layer` to every Linear and Conv layer of ``model``; return it.

    ``kwargs`` go to :func:`init_layer` (``gain``, ``std``, ``value``, ``generator``)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    check_choice("scheme", scheme, SCHEMES)
    for m in model.modules():
        if isinstance(m, _INIT_LAYERS):
            init_layer(m, scheme, **kwargs)
    return model


def mlp(in_features: int, out_features: int, *, depth: int = 2, width: int = 64,
        hidden: list[int] | None = None, activation: str = "relu",
        activation_kwargs: dict | None = None, init: str = "default",
        gain: float = 1.0, std: float = 0.01, batch_norm: bool = False,
        dropout: float = 0.0, bias: bool = True) -> nn.Sequential:
    """A multilayer perceptron as an ``nn.Sequential``.

    ``hidden`` (a list of widths) overrides ``depth``×``width``. ``depth=0`` gives a linear
    model.  Each hidden block is Linear → [BatchNorm1d] → activation → [Dropout(p)];
    ``activation_kwargs`` go to the activation (e.g. ``{"negative_slope": 0.2}``).
    """
    in_features = check_int("in_features", in_features, min_value=1)
    out_features = check_int("out_features", out_features, min_value=1)
    if hidden is None:
        depth = check_int("depth", depth, min_value=0, max_value=1000)
        width = check_int("width", width, min_value=1)
        hidden = [width] * depth
    else:
        hidden = [check_int("hidden[i]", h, min_value=1) for h in hidden]
    check_choice("init", init, SCHEMES)
    check_bool("batch_norm", batch_norm)
    check_bool("bias", bias)
    dropout = check_float("dropout", dropout, min_value=0.0, max_value=1.0, max_inclusive=False)
    act_kw = {} if activation_kwargs is None else activation_kwargs
    if not isinstance(act_kw, dict):
        raise TypeError(f"activation_kwargs must be a dict or None, got {type(act_kw).__name__}")
    try:
        get_activation(activation, **act_kw)  # validate the name and keywords once, up front
    except TypeError as exc:
        raise TypeError(f"activation_kwargs {act_kw} do not fit activation {activation!r}: {exc}") from None
    layers: list[nn.Module] = []
    prev = in_features
    for h in hidden:
        layers.append(nn.Linear(prev, h, bias=bias))
        if batch_norm:
            layers.append(nn.BatchNorm1d(h))
        layers.append(get_activation(activation, **act_kw))
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        prev = h
    layers.append(nn.Linear(prev, out_features, bias=bias))
    model = nn.Sequential(*layers)
    if init != "default":
        initialize(model, init, gain=gain, std=std)
    return model


class SmallCNN(nn.Module):
    """Two conv blocks and a linear head for small images (digits 8×8, shapes 16×16).

    conv3×3(c) → ReLU → [BN] → maxpool2 → conv3×3(2c) → ReLU → [BN] → global avg pool → Linear.
    """

    def __init__(self, in_channels: int = 1, n_classes: int = 10, channels: int = 16,
                 batch_norm: bool = False, activation: str = "relu"):
        super().__init__()
        in_channels = check_int("in_channels", in_channels, min_value=1)
        n_classes = check_int("n_classes", n_classes, min_value=1)
        c = check_int("channels", channels, min_value=1)
        check_bool("batch_norm", batch_norm)

        def block(cin, cout):
            parts = [nn.Conv2d(cin, cout, 3, padding=1), get_activation(activation)]
            if batch_norm:
                parts.append(nn.BatchNorm2d(cout))
            return parts

        self.features = nn.Sequential(*block(in_channels, c), nn.MaxPool2d(2), *block(c, 2 * c),
                                      nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(2 * c, n_classes)

    def forward(self, x):
        if x.ndim != 4:
            raise ValueError(f"SmallCNN expects images of shape (N, C, H, W), got {tuple(x.shape)}")
        return self.head(self.features(x))


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters (optionally only those with ``requires_grad``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


class ResidualBlock(nn.Module):
    """A pre-activation residual block (He et al. 2016, "Identity mappings"):

        h ↦ h + s · F(h),   F = ([BatchNorm] → activation → Linear) × ``layers``

    The identity path makes ∂out/∂h = I + s·∂F/∂h, so the backward signal is never only a
    product of small per-layer factors.  ``scale`` (s) < 1 keeps the variance of a deep
    stack in check when there is no batch norm (s = 1/√blocks is a common choice).
    """

    def __init__(self, width: int, activation: str = "relu", *, layers: int = 1,
                 batch_norm: bool = False, scale: float = 1.0, bias: bool = True):
        super().__init__()
        width = check_int("width", width, min_value=1)
        layers = check_int("layers", layers, min_value=1, max_value=100)
        check_bool("batch_norm", batch_norm)
        check_bool("bias", bias)
        self.scale = check_float("scale", scale, min_value=0.0)
        get_activation(activation)
        parts: list[nn.Module] = []
        for _ in range(layers):
            if batch_norm:
                parts.append(nn.BatchNorm1d(width))
            parts += [get_activation(activation), nn.Linear(width, width, bias=bias)]
        self.branch = nn.Sequential(*parts)

    def forward(self, x):
        return x + self.scale * self.branch(x)


def residual_mlp(in_features: int, out_features: int, *, depth: int = 4, width: int = 64,
                 activation: str = "relu", init: str = "default", gain: float = 1.0,
                 std: float = 0.01, batch_norm: bool = False, block_layers: int = 1,
                 residual_scale: float = 1.0, bias: bool = True) -> nn.Sequential:
    """An MLP with skip connections, built to be compared with :func:`mlp`.

    ``depth`` counts hidden ``nn.Linear`` layers exactly as in :func:`mlp`: a stem
    Linear(in_features, width), then (depth − 1) / ``block_layers`` :class:`ResidualBlock` s,
    then [BatchNorm] → activation → Linear(width, out_features).  With ``block_layers=1``
    the model has the same Linear layers (shapes, order, initialization scheme) as
    ``mlp(in_features, out_features, depth=depth, width=width, ...)``, plus depth − 1 skips:

        h₁ = W₁x,   h_{l+1} = h_l + s · W_{l+1} f(h_l),   output = W_out f(h_depth)
    """
    in_features = check_int("in_features", in_features, min_value=1)
    out_features = check_int("out_features", out_features, min_value=1)
    depth = check_int("depth", depth, min_value=1, max_value=1000)
    width = check_int("width", width, min_value=1)
    block_layers = check_int("block_layers", block_layers, min_value=1, max_value=100)
    if (depth - 1) % block_layers:
        raise ValueError(f"depth - 1 must be a multiple of block_layers={block_layers} "
                         f"(the first hidden layer is the stem); got depth={depth}")
    check_choice("init", init, SCHEMES)
    check_bool("batch_norm", batch_norm)
    check_bool("bias", bias)
    residual_scale = check_float("residual_scale", residual_scale, min_value=0.0)
    get_activation(activation)
    layers: list[nn.Module] = [nn.Linear(in_features, width, bias=bias)]
    for _ in range((depth - 1) // block_layers):
        layers.append(ResidualBlock(width, activation, layers=block_layers,
                                    batch_norm=batch_norm, scale=residual_scale, bias=bias))
    if batch_norm:
        layers.append(nn.BatchNorm1d(width))
    layers += [get_activation(activation), nn.Linear(width, out_features, bias=bias)]
    model = nn.Sequential(*layers)
    if init != "default":
        initialize(model, init, gain=gain, std=std)
    return model
