"""Pruning from scratch: by weights (unstructured) and by neurons (structured).

Unstructured magnitude pruning (Han et al. 2015) keeps the weights of largest |w|:
the mask m has m_i = 0 for the k = round(s · n) entries of smallest |w_i| (sparsity s), and
the pruned layer computes (m ⊙ W) x + b.  Structured pruning removes whole neurons (rows of
W with the smallest L2 norm, and the matching columns of the next layer): the result is a
smaller *dense* layer, which is what makes dense CPU kernels faster.

:func:`magnitude_prune_mask` equals ``torch.nn.utils.prune.l1_unstructured``'s mask and
:func:`structured_prune_mask` equals ``prune.ln_structured(..., n=2, dim=0)``'s (tests).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..core.validation import check_float, check_int, check_tensor


def _check_sparsity(name: str, value) -> float:
    return check_float(name, value, min_value=0.0, max_value=1.0)


def magnitude_prune_mask(weight: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Bool mask of ``weight``'s shape, True = kept: prunes the k = round(sparsity · numel)
    entries of smallest |w| (ties broken as ``torch.topk`` breaks them, as PyTorch does)."""
    check_tensor("weight", weight, floating=True)
    sparsity = _check_sparsity("sparsity", sparsity)
    k = round(sparsity * weight.numel())
    mask = torch.ones(weight.numel(), dtype=torch.bool, device=weight.device)
    if k > 0:
        idx = torch.topk(weight.detach().abs().reshape(-1), k=k, largest=False).indices
        mask[idx] = False
    return mask.reshape(weight.shape)


def structured_prune_mask(weight: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Bool mask pruning whole rows (output neurons) of a 2-D ``weight``: the
    k = round(sparsity · rows) rows of smallest L2 norm ‖W_i‖₂ are False."""
    check_tensor("weight", weight, ndim=2, floating=True)
    sparsity = _check_sparsity("sparsity", sparsity)
    k = round(sparsity * weight.shape[0])
    keep = torch.ones(weight.shape[0], dtype=torch.bool, device=weight.device)
    if k > 0:
        idx = torch.topk(weight.detach().norm(dim=1), k=k, largest=False).indices
        keep[idx] = False
    return keep[:, None].expand_as(weight).clone()


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    """The ``nn.Linear`` layers of ``model`` in module order."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def magnitude_masks(model: nn.Module, sparsity: float, *, include_last: bool = True) -> list:
    """One :func:`magnitude_prune_mask` per ``nn.Linear`` weight (layer-wise, same sparsity);
    ``include_last=False`` leaves the output layer dense (an all-True mask)."""
    sparsity = _check_sparsity("sparsity", sparsity)
    layers = linear_layers(model)
    return [magnitude_prune_mask(lin.weight, sparsity) if include_last or i < len(layers) - 1
            else torch.ones_like(lin.weight, dtype=torch.bool) for i, lin in enumerate(layers)]


@torch.no_grad()
def apply_masks(model: nn.Module, masks) -> nn.Module:
    """Zero the pruned weights in place: W ← m ⊙ W for each ``nn.Linear`` (module order)."""
    layers = linear_layers(model)
    if not isinstance(masks, (list, tuple)) or len(masks) != len(layers):
        raise ValueError(f"masks must be a list with one mask per nn.Linear ({len(layers)}), "
                         f"got {type(masks).__name__} of length {len(masks) if hasattr(masks, '__len__') else '?'}")
    for lin, m in zip(layers, masks):
        if not isinstance(m, torch.Tensor) or m.shape != lin.weight.shape:
            raise ValueError(f"each mask must be a tensor of its layer's weight shape "
                             f"{tuple(lin.weight.shape)}")
        lin.weight.mul_(m.to(lin.weight.dtype))
    return model


def keep_masked(masks):
    """An ``on_step`` callback for ``training.fit`` that re-applies ``masks`` after every
    optimizer step, so pruned weights stay exactly 0 during fine-tuning."""
    def on_step(info):
        apply_masks(info["model"], masks)
    return on_step


def sparsity_of(model: nn.Module) -> float:
    """Fraction of exactly-zero entries among all ``nn.Linear`` weights."""
    ws = [lin.weight.detach() for lin in linear_layers(model)]
    total = sum(w.numel() for w in ws)
    return float(sum(int((w == 0).sum()) for w in ws) / max(total, 1))


@torch.no_grad()
def shrink_mlp(model: nn.Sequential, keep_fraction: float) -> nn.Sequential:
    """Structured pruning of an MLP (``nn.Sequential`` of Linear / activation): in every
    hidden layer keep the round(keep_fraction · width) neurons of largest incoming-weight
    L2 norm ‖W_i‖₂, delete the others' rows (and biases) and the matching columns of the
    next Linear.  Returns a new, smaller, dense model (the input model is untouched)."""
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be an nn.Sequential MLP, got {type(model).__name__}")
    keep_fraction = check_float("keep_fraction", keep_fraction, min_value=0.0, max_value=1.0,
                                min_inclusive=False)
    new = copy.deepcopy(model)
    idx = [i for i, m in enumerate(new) if isinstance(m, nn.Linear)]
    if len(idx) < 2:
        raise ValueError("model needs at least one hidden nn.Linear before its output layer")
    for a, b in zip(idx[:-1], idx[1:]):
        lin, nxt = new[a], new[b]
        n_keep = max(1, round(keep_fraction * lin.out_features))
        keep = torch.topk(lin.weight.norm(dim=1), n_keep).indices.sort().values
        small = nn.Linear(lin.in_features, n_keep, bias=lin.bias is not None)
        small.weight.copy_(lin.weight[keep])
        if lin.bias is not None:
            small.bias.copy_(lin.bias[keep])
        following = nn.Linear(n_keep, nxt.out_features, bias=nxt.bias is not None)
        following.weight.copy_(nxt.weight[:, keep])
        if nxt.bias is not None:
            following.bias.copy_(nxt.bias)
        new[a], new[b] = small, following
    return new


def prune_rounds(final_sparsity: float, rounds: int) -> list[float]:
    """Sparsity after each of ``rounds`` iterative rounds that each prune the same fraction
    p of the remaining weights: 1 − (1 − p)^r, with (1 − p)^rounds = 1 − final_sparsity."""
    final_sparsity = check_float("final_sparsity", final_sparsity, min_value=0.0,
                                 max_value=1.0, max_inclusive=False)
    rounds = check_int("rounds", rounds, min_value=1, max_value=100)
    keep = (1.0 - final_sparsity) ** (1.0 / rounds)
    return [1.0 - keep ** r for r in range(1, rounds + 1)]
