"""Checkers of chapter 11: the reference solutions pass; realistic mistakes fail, each with
the message that names it."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from checking import fails as _fails

from course_utils import checks
from course_utils.scratch import distillation as dist
from course_utils.scratch import low_rank as lr_
from course_utils.scratch import pruning as pr
from course_utils.scratch import quantization as qz


@pytest.mark.parametrize("checker, fn", [
    (checks.magnitude_prune_mask, pr.magnitude_prune_mask),
    (checks.low_rank_factorize, lr_.low_rank_factorize),
    (checks.distillation_loss, dist.distillation_loss),
    (checks.quantize_int8, qz.quantize_int8),
    (checks.dequantize_int8, qz.dequantize_int8),
])
def test_references_pass_every_time(checker, fn, capsys):
    for _ in range(3):
        assert checker(fn).passed
    assert capsys.readouterr().out.count("all ") == 3


def test_prune_mask_via_torch_prune_passes():
    from torch import nn
    from torch.nn.utils import prune

    def magnitude_prune_mask(weight, sparsity):
        holder = nn.Module()
        holder.weight = nn.Parameter(weight.detach().clone())
        prune.l1_unstructured(holder, "weight", amount=sparsity)
        return holder.weight_mask.bool()
    assert checks.magnitude_prune_mask(magnitude_prune_mask, verbose=False).passed


# ------------------------------------------------------------------ magnitude_prune_mask
def test_prune_rejects_threshold_that_prunes_all_ties():
    def magnitude_prune_mask(weight, sparsity):
        k = round(sparsity * weight.numel())
        if k == 0:
            return torch.ones_like(weight, dtype=torch.bool)
        kth = weight.abs().flatten().kthvalue(k).values
        return weight.abs() > kth
    _fails(checks.magnitude_prune_mask, magnitude_prune_mask, "ties in |w|", "threshold")


def test_prune_rejects_inverted_mask():
    def magnitude_prune_mask(weight, sparsity):
        return ~pr.magnitude_prune_mask(weight, sparsity)
    _fails(checks.magnitude_prune_mask, magnitude_prune_mask, "True must mean kept")


def test_prune_rejects_pruning_by_signed_value():
    def magnitude_prune_mask(weight, sparsity):
        k = round(sparsity * weight.numel())
        mask = torch.ones(weight.numel(), dtype=torch.bool)
        if k:
            mask[torch.topk(weight.flatten(), k, largest=False).indices] = False
        return mask.reshape(weight.shape)
    _fails(checks.magnitude_prune_mask, magnitude_prune_mask, "by |w|, not by w")


def test_prune_rejects_int_instead_of_round():
    def magnitude_prune_mask(weight, sparsity):
        k = int(sparsity * weight.numel())
        mask = torch.ones(weight.numel(), dtype=torch.bool)
        if k:
            mask[torch.topk(weight.abs().flatten(), k, largest=False).indices] = False
        return mask.reshape(weight.shape)
    _fails(checks.magnitude_prune_mask, magnitude_prune_mask, "round(", "not int()")


def test_prune_rejects_float_mask_and_flat_mask():
    def float_mask(weight, sparsity):
        return pr.magnitude_prune_mask(weight, sparsity).float()
    _fails(checks.magnitude_prune_mask, float_mask, "torch.bool")

    def flat(weight, sparsity):
        return pr.magnitude_prune_mask(weight, sparsity).flatten()
    _fails(checks.magnitude_prune_mask, flat, "expected shape")


def test_prune_rejects_in_place_zeroing():
    def magnitude_prune_mask(weight, sparsity):
        mask = pr.magnitude_prune_mask(weight, sparsity)
        weight[~mask] = 0
        return mask
    _fails(checks.magnitude_prune_mask, magnitude_prune_mask, "in place")


# -------------------------------------------------------------------- low_rank_factorize
def test_low_rank_rejects_missing_singular_values():
    def low_rank_factorize(weight, rank):
        U, S, Vh = torch.linalg.svd(weight, full_matrices=False)
        return U[:, :rank], Vh[:rank]
    _fails(checks.low_rank_factorize, low_rank_factorize, "missing the singular values")


def test_low_rank_rejects_smallest_singular_values():
    def low_rank_factorize(weight, rank):
        U, S, Vh = torch.linalg.svd(weight, full_matrices=False)
        return U[:, -rank:] * S[-rank:], Vh[-rank:]
    _fails(checks.low_rank_factorize, low_rank_factorize, "largest singular values")


def test_low_rank_rejects_transposed_b():
    def low_rank_factorize(weight, rank):
        U, S, Vh = torch.linalg.svd(weight, full_matrices=False)
        return U[:, :rank] * S[:rank], Vh[:rank].T
    _fails(checks.low_rank_factorize, low_rank_factorize, "expected A of shape")


def test_low_rank_rejects_numpy_factors():
    def low_rank_factorize(weight, rank):
        U, S, Vh = np.linalg.svd(weight.numpy(), full_matrices=False)
        return U[:, :rank] * S[:rank], Vh[:rank]
    _fails(checks.low_rank_factorize, low_rank_factorize, "torch tensors")


# --------------------------------------------------------------------- distillation_loss
def _kd(s, t, y, T, alpha, *, t2=True, reverse=False, reduction="batchmean", ce_T=False,
        swap=False):
    a, b = (F.log_softmax(t / T, 1), F.softmax(s / T, 1)) if reverse else \
        (F.log_softmax(s / T, 1), F.softmax(t / T, 1))
    kl = F.kl_div(a, b, reduction="sum")
    kl = kl / s.numel() if reduction == "mean" else kl if reduction == "sum" else kl / len(s)
    ce = F.cross_entropy(s / T if ce_T else s, y)
    w_kl, w_ce = (1 - alpha, alpha) if swap else (alpha, 1 - alpha)
    return w_kl * (T * T if t2 else 1) * kl + w_ce * ce


@pytest.mark.parametrize("mistake, words", [
    ({"t2": False}, "T² factor is missing"),
    ({"reverse": True}, "wrong way round"),
    ({"reduction": "mean"}, "reduction 'mean'"),
    ({"reduction": "sum"}, "summed over the batch"),
    ({"ce_T": True}, "plain student logits"),
    ({"swap": True}, "swapped"),
])
def test_distillation_rejects_the_usual_mistakes(mistake, words):
    def distillation_loss(s, t, y, temperature=4.0, alpha=0.9):
        return _kd(s, t, y, temperature, alpha, **mistake)
    _fails(checks.distillation_loss, distillation_loss, words)


def test_distillation_rejects_wrong_defaults_and_detached_results():
    def wrong_default(s, t, y, temperature=2.0, alpha=0.9):
        return _kd(s, t, y, temperature, alpha)
    _fails(checks.distillation_loss, wrong_default, "defaults")

    def detached(s, t, y, temperature=4.0, alpha=0.9):
        return torch.tensor(float(_kd(s, t, y, temperature, alpha).detach()))
    _fails(checks.distillation_loss, detached, "autograd")

    def per_example(s, t, y, temperature=4.0, alpha=0.9):
        return torch.stack([_kd(s[i:i + 1], t[i:i + 1], y[i:i + 1], temperature, alpha)
                            for i in range(len(s))])
    _fails(checks.distillation_loss, per_example, "scalar")


# ----------------------------------------------------------------- quantize / dequantize
def test_quantize_rejects_128_levels():
    def quantize_int8(w):
        m = float(w.abs().max())
        scale = m / 128 if m > 0 else 1.0
        return torch.clamp(torch.round(w / scale), -128, 127).to(torch.int8), scale
    _fails(checks.quantize_int8, quantize_int8, "127 levels")


def test_quantize_rejects_signed_max():
    def quantize_int8(w):
        m = float(w.max())
        scale = m / 127 if m > 0 else 1.0
        return torch.clamp(torch.round(w / scale), -127, 127).to(torch.int8), scale
    _fails(checks.quantize_int8, quantize_int8, "absolute value")


def test_quantize_rejects_division_by_zero():
    def quantize_int8(w):
        scale = float(w.abs().max()) / 127
        return torch.clamp(torch.round(w / scale), -127, 127).to(torch.int8), scale
    _fails(checks.quantize_int8, quantize_int8, "all zeros", "scale = 1.0")


def test_quantize_rejects_float_q_and_truncation():
    def float_q(w):
        q, s = qz.quantize_int8(w)
        return q.float(), s
    _fails(checks.quantize_int8, float_q, "torch.int8")

    def truncates(w):
        m = float(w.abs().max())
        scale = m / 127 if m > 0 else 1.0
        return (w / scale).to(torch.int8), scale  # cast truncates toward 0
    _fails(checks.quantize_int8, truncates, "values differ")


def test_dequantize_rejects_division_and_integer_results():
    def divides(q, scale):
        return q.float() / scale
    _fails(checks.dequantize_int8, divides, "multiply by the scale")

    def integer(q, scale):
        return (q * scale).to(torch.int8)
    _fails(checks.dequantize_int8, integer, "floating-point")

    def forgets_scale(q, scale):
        return q.float()
    _fails(checks.dequantize_int8, forgets_scale)
