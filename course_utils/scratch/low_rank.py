"""Factorized layers: low-rank dense layers (SVD) and depthwise-separable convolutions.

Low rank (Denton et al. 2014): with W = U Σ Vᵀ (singular values σ₁ ≥ σ₂ ≥ …), the best
rank-r approximation in the Frobenius and spectral norms is W_r = U_r Σ_r V_rᵀ
(Eckart–Young), with ‖W − W_r‖_F² = Σ_{i>r} σ_i².  Split as A = U_r Σ_r (out × r) and
B = V_rᵀ (r × in), one Linear(in, out) becomes Linear(in, r) → Linear(r, out):
r·(in + out) weights instead of in·out.

Depthwise separable (Howard et al. 2017): a k×k convolution from M to N channels has
k²·M·N weights; a depthwise k×k convolution (one filter per input channel) followed by a
1×1 pointwise one has k²·M + M·N, a ratio of 1/N + 1/k².
"""

from __future__ import annotations

import torch
from torch import nn

from ..core.validation import check_bool, check_int, check_tensor


def low_rank_factorize(weight: torch.Tensor, rank: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(A, B)`` with A (out, rank) = U_r Σ_r, B (rank, in) = V_rᵀ: A @ B is the best
    rank-``rank`` approximation of the 2-D ``weight`` (truncated SVD)."""
    check_tensor("weight", weight, ndim=2, floating=True)
    rank = check_int("rank", rank, min_value=1, max_value=min(weight.shape))
    U, S, Vh = torch.linalg.svd(weight.detach(), full_matrices=False)
    return U[:, :rank] * S[:rank], Vh[:rank].clone()


def low_rank_error(weight: torch.Tensor, rank: int) -> float:
    """Eckart–Young: ‖W − W_r‖_F = √(Σ_{i>r} σ_i²)."""
    check_tensor("weight", weight, ndim=2, floating=True)
    rank = check_int("rank", rank, min_value=0, max_value=min(weight.shape))
    s = torch.linalg.svdvals(weight.detach().double())
    return float(s[rank:].pow(2).sum().sqrt())


@torch.no_grad()
def factorize_linear(layer: nn.Linear, rank: int) -> nn.Sequential:
    """Linear(in, out) → Sequential(Linear(in, rank, bias=False), Linear(rank, out)) whose
    product of weights is the truncated SVD of ``layer.weight`` (the bias is kept)."""
    if not isinstance(layer, nn.Linear):
        raise TypeError(f"layer must be an nn.Linear, got {type(layer).__name__}")
    A, B = low_rank_factorize(layer.weight, rank)
    first = nn.Linear(layer.in_features, A.shape[1], bias=False)
    second = nn.Linear(A.shape[1], layer.out_features, bias=layer.bias is not None)
    first.weight.copy_(B)
    second.weight.copy_(A)
    if layer.bias is not None:
        second.bias.copy_(layer.bias)
    return nn.Sequential(first, second)


def factorize_mlp(model: nn.Sequential, rank: int, *, include_last: bool = False) -> nn.Sequential:
    """A copy of an MLP with every hidden ``nn.Linear`` whose rank would drop replaced by
    :func:`factorize_linear` (``rank`` is capped at min(in, out) per layer; a layer is left
    dense when the factors would not have fewer weights)."""
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be an nn.Sequential MLP, got {type(model).__name__}")
    rank = check_int("rank", rank, min_value=1)
    check_bool("include_last", include_last)
    idx = [i for i, m in enumerate(model) if isinstance(m, nn.Linear)]
    targets = idx if include_last else idx[:-1]
    parts = []
    for i, m in enumerate(model):
        if i in targets and rank * (m.in_features + m.out_features) < m.in_features * m.out_features:
            parts.append(factorize_linear(m, min(rank, m.in_features, m.out_features)))
        else:
            parts.append(_copy_module(m))
    return nn.Sequential(*parts)


def _copy_module(m: nn.Module) -> nn.Module:
    import copy

    return copy.deepcopy(m)


# ------------------------------------------------------------------ compact convolutions
def depthwise_separable(in_channels: int, out_channels: int, kernel_size: int = 3,
                        padding: int = 1, bias: bool = True) -> nn.Sequential:
    """Depthwise k×k convolution (``groups=in_channels``) then a pointwise 1×1 one."""
    m = check_int("in_channels", in_channels, min_value=1)
    n = check_int("out_channels", out_channels, min_value=1)
    k = check_int("kernel_size", kernel_size, min_value=1, max_value=15)
    padding = check_int("padding", padding, min_value=0)
    check_bool("bias", bias)
    return nn.Sequential(nn.Conv2d(m, m, k, padding=padding, groups=m, bias=bias),
                         nn.Conv2d(m, n, 1, bias=bias))


def conv_weights(in_channels: int, out_channels: int, kernel_size: int,
                 separable: bool = False) -> int:
    """Weights (no biases) of a standard k×k convolution, k²·M·N, or of a depthwise-separable
    one, k²·M + M·N."""
    m = check_int("in_channels", in_channels, min_value=1)
    n = check_int("out_channels", out_channels, min_value=1)
    k = check_int("kernel_size", kernel_size, min_value=1)
    check_bool("separable", separable)
    return k * k * m + m * n if separable else k * k * m * n


def conv_macs(in_channels: int, out_channels: int, kernel_size: int, height: int, width: int,
              separable: bool = False) -> int:
    """Multiply-adds of one image through the layer at output size height × width:
    the weight count times the number of output positions (biases left out)."""
    h = check_int("height", height, min_value=1)
    w = check_int("width", width, min_value=1)
    return conv_weights(in_channels, out_channels, kernel_size, separable) * h * w


def count_macs(model: nn.Module, input_shape: tuple) -> int:
    """Multiply-adds of one input through every ``nn.Linear`` and ``nn.Conv2d`` of
    ``model`` (measured with forward hooks on a zero input of ``input_shape``)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    total = [0]

    def hook(mod, inp, out):
        if isinstance(mod, nn.Linear):
            total[0] += mod.in_features * mod.out_features
        else:
            k = mod.weight[0].numel()  # (in/groups) · kh · kw
            total[0] += k * out.shape[1] * out.shape[2] * out.shape[3]

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Linear, nn.Conv2d))]
    try:
        with torch.no_grad():
            was = model.training
            model.eval()
            model(torch.zeros(1, *input_shape))
            model.train(was)
    finally:
        for h in handles:
            h.remove()
    return total[0]
