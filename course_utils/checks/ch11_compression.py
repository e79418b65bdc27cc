"""Checkers of chapter 11: ``magnitude_prune_mask``, ``low_rank_factorize``,
``distillation_loss``, ``quantize_int8``, ``dequantize_int8``.

Each compares with PyTorch on inputs drawn afresh on every run (shapes, values, sparsities,
ranks, temperatures) plus fixed edge cases: ties in |w| (any tied weight may go, but exactly
round(s·n) must), sparsity 0 and 1, full rank, all-zero weights, negative-dominated tensors.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._framework import Check, checker

__all__ = ["magnitude_prune_mask", "low_rank_factorize", "distillation_loss", "quantize_int8",
           "dequantize_int8"]


def _reference_mask(w: torch.Tensor, sparsity: float) -> torch.Tensor:
    """``torch.nn.utils.prune.l1_unstructured``'s rule: topk of |w|, k = round(s·n)."""
    k = round(sparsity * w.numel())
    mask = torch.ones(w.numel(), dtype=torch.bool)
    if k:
        mask[torch.topk(w.abs().reshape(-1), k, largest=False).indices] = False
    return mask.reshape(w.shape)


_HINT_MASK = ("keep the weights of largest |w|: prune the k = round(sparsity * weight.numel()) "
              "smallest absolute values (torch.topk(weight.abs().flatten(), k, largest=False))")


def _mask_case(c: Check, w: torch.Tensor, sparsity: float, case: str, *, ties: bool = False):
    ok, got = c.call(w.clone(), sparsity, case=case)
    if not ok:
        return
    if not isinstance(got, torch.Tensor):
        return c.fail(case, f"expected a torch.Tensor, got {type(got).__name__}",
                      "return a bool tensor of the weight's shape")
    if got.dtype != torch.bool:
        return c.fail(case, f"expected dtype torch.bool, got {got.dtype}",
                      "return the mask as booleans, True = kept (e.g. weight.abs() > … or "
                      "mask.bool())")
    if tuple(got.shape) != tuple(w.shape):
        return c.fail(case, f"expected shape {tuple(w.shape)}, got {tuple(got.shape)}",
                      "reshape the flat mask back to weight.shape")
    k = round(sparsity * w.numel())
    pruned = int((~got).sum())
    if pruned != k:
        extra = (" (with ties in |w| a threshold such as |w| > kth value prunes every tied "
                 "weight: select exactly k indices instead, e.g. with torch.topk)" if ties else "")
        inverted = " — is True marking the pruned weights? True must mean kept" \
            if pruned == w.numel() - k and k != w.numel() - k else ""
        return c.fail(case, f"pruned {pruned} weights, expected round({sparsity:g} · "
                      f"{w.numel()}) = {k}{inverted}",
                      "k = round(sparsity * weight.numel()) (Python's round, not int())" + extra)
    if ties:  # any choice among equal |w| is right; only the order must hold
        a = w.abs()
        good = k in (0, w.numel()) or float(a[~got].max()) <= float(a[got].min())
        return c.expect(good, case, "a pruned weight has a larger |w| than a kept one", _HINT_MASK)
    return c.close(got, _reference_mask(w, sparsity), case, _HINT_MASK)


@checker
def magnitude_prune_mask(c: Check):
    """``magnitude_prune_mask(weight, sparsity)``: bool mask of weight's shape, True = kept;
    the round(sparsity·numel) entries of smallest |w| are False — as
    ``torch.nn.utils.prune.l1_unstructured``."""
    g = c.generator()
    w = torch.randn(c.integers(20, 40), c.integers(10, 30), generator=g)
    _mask_case(c, w, 0.5, "random 2-D weight, sparsity 0.5")
    _mask_case(c, w, 0.9, "random 2-D weight, sparsity 0.9")
    _mask_case(c, w, float(c.rng.uniform(0.05, 0.95)), "random 2-D weight, random sparsity")
    neg = -torch.rand(c.integers(8, 16), c.integers(8, 16), generator=g) - 0.5
    neg[0, 0] = 0.1  # the smallest |w| is the only positive weight
    _mask_case(c, neg, 0.3, "mostly negative weights (by |w|, not by w)")
    _mask_case(c, torch.randn(7, generator=g), 3 / 7 - 0.02, "1-D weight, k = round(2.98) = 3")
    _mask_case(c, torch.randn(4, 3, 3, 3, generator=g), 0.7, "4-D conv weight")
    _mask_case(c, w, 0.0, "sparsity 0 (nothing pruned)")
    _mask_case(c, w, 1.0, "sparsity 1 (everything pruned)")
    tied = torch.tensor([[1.0, -1.0, 2.0, 1.0], [0.5, -0.5, 1.0, 3.0], [1.0, 2.0, -1.0, 0.5]])
    _mask_case(c, tied * float(c.rng.uniform(0.5, 2.0)), 0.5, "ties in |w|", ties=True)


_HINT_SVD = ("U, S, Vh = torch.linalg.svd(weight, full_matrices=False); keep the first `rank` "
             "(largest) singular values: A = U[:, :rank] * S[:rank], B = Vh[:rank]")


def _factor_case(c: Check, w: torch.Tensor, rank: int, case: str):
    ok, got = c.call(w.clone(), rank, case=case)
    if not ok:
        return
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return c.fail(case, f"expected a pair (A, B), got {type(got).__name__}",
                      "return A, B")
    A, B = got
    if not all(isinstance(t, torch.Tensor) for t in (A, B)):
        return c.fail(case, "A and B must be torch tensors",
                      "use torch.linalg.svd on the tensor, not NumPy")
    out_f, in_f = w.shape
    if tuple(A.shape) != (out_f, rank) or tuple(B.shape) != (rank, in_f):
        return c.fail(case, f"expected A of shape {(out_f, rank)} and B of shape {(rank, in_f)}, "
                      f"got {tuple(A.shape)} and {tuple(B.shape)}",
                      "A is (out, rank) = (weight.shape[0], rank), B is (rank, in); "
                      "torch.linalg.svd returns Vh already transposed (rank rows of Vh)")
    U, S, Vh = torch.linalg.svd(w.double(), full_matrices=False)
    best = (U[:, :rank] * S[:rank]) @ Vh[:rank]
    prod = A.detach().double() @ B.detach().double()
    scale = float(S[0])
    if not torch.isfinite(prod).all():
        return c.fail(case, "A @ B contains NaN or inf", _HINT_SVD)
    err = float(torch.linalg.matrix_norm(w.double() - prod))
    floor = float(S[rank:].pow(2).sum().sqrt())
    hint = _HINT_SVD
    if torch.allclose(prod, (U[:, :rank]) @ Vh[:rank], atol=1e-4 * scale) and rank < min(w.shape):
        hint = "A @ B is missing the singular values: multiply U's columns by S"
    elif err > floor * 1.01 + 1e-4 * scale:
        hint = (f"‖W − A B‖ is {err:.4g}, the best possible is {floor:.4g} (Eckart–Young): "
                "keep the largest singular values (the first ones), not the last; " + _HINT_SVD)
    return c.close(prod, best, case + " (A @ B)", hint, atol=1e-4 * scale, rtol=1e-4)


@checker
def low_rank_factorize(c: Check):
    """``low_rank_factorize(weight, rank)``: ``(A, B)``, A (out, rank), B (rank, in), A @ B
    the best rank-``rank`` approximation of weight (truncated SVD, Eckart–Young)."""
    g = c.generator()
    out_f, in_f = c.integers(12, 30), c.integers(12, 30)
    if out_f == in_f:
        in_f += 3
    w = torch.randn(out_f, in_f, generator=g, dtype=torch.float64)
    _factor_case(c, w, 1, "random weight, rank 1")
    _factor_case(c, w, c.integers(2, min(out_f, in_f) - 2), "random weight, random rank")
    _factor_case(c, w.T.contiguous(), 3, "wide weight (in > out), rank 3")
    _factor_case(c, w, min(out_f, in_f), "full rank (A @ B = weight)")
    w32 = torch.randn(40, 20, generator=g)
    _factor_case(c, w32, 5, "float32 weight, rank 5")


def _reference_kd(s, t, y, T, alpha):
    kl = F.kl_div(F.log_softmax(s / T, 1), F.softmax(t / T, 1), reduction="batchmean")
    return alpha * T * T * kl + (1 - alpha) * F.cross_entropy(s, y)


def _kd_hint(got: float, s, t, y, T, alpha) -> str:
    """Name the mistake a wrong value matches, if any."""
    p_t, log_s = F.softmax(t / T, 1), F.log_softmax(s / T, 1)
    ce = float(F.cross_entropy(s, y))
    kl = float(F.kl_div(log_s, p_t, reduction="batchmean"))
    rev = float(F.kl_div(F.log_softmax(t / T, 1), F.softmax(s / T, 1), reduction="batchmean"))
    wrong = {
        "the T² factor is missing (α·KL + (1 − α)·CE)": alpha * kl + (1 - alpha) * ce,
        "the KL is the wrong way round: KL(teacher ‖ student) = Σ p_t (log p_t − log p_s)":
            alpha * T * T * rev + (1 - alpha) * ce,
        "the KL is averaged over every element (reduction 'mean'): divide its sum by the "
        "batch size only ('batchmean')": alpha * T * T * kl / s.shape[1] + (1 - alpha) * ce,
        "the KL is summed over the batch: take its mean over the rows":
            alpha * T * T * kl * len(s) + (1 - alpha) * ce,
        "α and 1 − α are swapped": (1 - alpha) * T * T * kl + alpha * ce,
        "the cross-entropy must use the plain student logits (not divided by T)":
            alpha * T * T * kl + (1 - alpha) * float(F.cross_entropy(s / T, y)),
    }
    for text, value in wrong.items():
        if abs(got - value) <= 1e-5 * max(1.0, abs(value)):
            return text
    return ("α·T²·KL(softmax(t/T) ‖ softmax(s/T)) averaged over the batch, plus (1 − α)·"
            "cross_entropy(s, labels); KL(p ‖ q) = Σ p (log p − log q)")


@checker
def distillation_loss(c: Check):
    """``distillation_loss(student_logits, teacher_logits, labels, temperature=4.0,
    alpha=0.9)``: α·T²·KL(softmax(t/T) ‖ softmax(s/T)) (batch mean) + (1 − α)·CE(s, labels),
    a differentiable scalar tensor, as ``F.kl_div(..., reduction="batchmean")`` +
    ``F.cross_entropy``."""
    g = c.generator()
    settings = [("defaults (T = 4, α = 0.9)", None, None),
                ("T = 1, α = 0.5", 1.0, 0.5),
                ("random T and α", float(c.rng.uniform(1.5, 20.0)), float(c.rng.uniform(0.1, 0.9))),
                ("α = 1 (soft targets only), T = 10", 10.0, 1.0),
                ("α = 0 (hard labels only)", 3.0, 0.0)]
    for case, T, alpha in settings:
        n, k = c.integers(5, 40), c.integers(3, 12)
        s = torch.randn(n, k, generator=g, dtype=torch.float64) * 2
        t = torch.randn(n, k, generator=g, dtype=torch.float64) * 4
        y = torch.randint(0, k, (n,), generator=g)
        kwargs = {} if T is None else {"temperature": T, "alpha": alpha}
        T_, a_ = (4.0, 0.9) if T is None else (T, alpha)
        s_in = s.clone().requires_grad_()
        ok, got = c.call(s_in, t.clone(), y.clone(), case=case, **kwargs)
        if not ok:
            continue
        if not isinstance(got, torch.Tensor) or got.numel() != 1:
            c.fail(case, f"expected a scalar torch.Tensor, got {type(got).__name__}"
                   + (f" of shape {tuple(got.shape)}" if isinstance(got, torch.Tensor) else ""),
                   "return the loss as a 0-d tensor (keep it a tensor so it can be "
                   "back-propagated; average over the batch)")
            continue
        expected = _reference_kd(s, t, y, T_, a_)
        value = float(got.detach())
        if not c.close(value, float(expected), case, _kd_hint(value, s, t, y, T_, a_),
                       atol=1e-6, rtol=1e-6):
            continue
        if case.startswith("random"):
            if not got.requires_grad:
                c.fail(case + " (gradient)", "the loss is not connected to the student's "
                       "logits in autograd", "compute with torch operations on the logits "
                       "(no .item(), .numpy() or torch.tensor(...) around them)")
                continue
            (grad,) = torch.autograd.grad(got.sum(), s_in, allow_unused=True)
            s_ref = s.clone().requires_grad_()
            (ref,) = torch.autograd.grad(_reference_kd(s_ref, t, y, T_, a_), s_ref)
            if grad is None:
                c.fail(case + " (gradient)", "the loss does not depend on the student's logits")
                continue
            c.close(grad, ref, case + " (gradient w.r.t. the student's logits)",
                    "the gradient must be the reference formula's", atol=1e-8, rtol=1e-6)


_HINT_Q = ("scale = w.abs().max() / 127 (1.0 if that is 0); q = torch.clamp(torch.round(w / "
           "scale), -127, 127).to(torch.int8)")


def _quant_case(c: Check, w: torch.Tensor, case: str):
    ok, got = c.call(w.clone(), case=case)
    if not ok:
        return
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return c.fail(case, f"expected a pair (q, scale), got {type(got).__name__}", "return q, scale")
    q, scale = got
    m = float(w.abs().max())
    exp_scale = m / 127 if m > 0 else 1.0
    if isinstance(scale, torch.Tensor) and scale.numel() == 1:
        scale = float(scale)
    hint = _HINT_Q
    if isinstance(scale, float) and m > 0:
        if abs(scale - m / 128) < 1e-7 * m or abs(scale - m / 255) < 1e-7 * m:
            hint = "symmetric int8 uses 127 levels a side: scale = max|w| / 127"
        elif abs(scale - float(w.max()) / 127) < 1e-7 * m:
            hint = "the scale comes from max|w| (the absolute value), not max(w)"
    if m == 0 or (isinstance(scale, float) and scale != scale):
        hint = "an all-zero tensor gives max|w| = 0: use scale = 1.0 then (no division by 0)"
    if not c.close(scale, exp_scale, case + " (scale)", hint, atol=0.0, rtol=1e-6):
        return
    if isinstance(q, torch.Tensor) and q.dtype != torch.int8:
        return c.fail(case + " (q)", f"expected dtype torch.int8, got {q.dtype}",
                      "convert the rounded values with .to(torch.int8)")
    expected = torch.clamp(torch.round(w / exp_scale), -127, 127).to(torch.int8)
    c.close(q, expected, case + " (q)", _HINT_Q, exact_dtype=True)


@checker
def quantize_int8(c: Check):
    """``quantize_int8(w)`` → ``(q, scale)``: symmetric per-tensor, scale = max|w|/127 (1.0 if
    all zero), q = clamp(round(w/scale), −127, 127) as int8."""
    g = c.generator()
    _quant_case(c, torch.randn(c.integers(5, 30), c.integers(5, 30), generator=g)
                * float(c.rng.uniform(0.01, 5)), "random 2-D weight")
    neg = torch.randn(c.integers(10, 40), generator=g)
    neg[c.integers(0, len(neg) - 1)] = -10.0  # the largest |w| is negative
    _quant_case(c, neg, "largest |w| negative")
    _quant_case(c, torch.zeros(3, 4), "all zeros (scale 1.0)")
    _quant_case(c, torch.randn(4, 2, 3, 3, generator=g, dtype=torch.float64), "4-D float64 weight")


@checker
def dequantize_int8(c: Check):
    """``dequantize_int8(q, scale)``: the float tensor scale·q (float32)."""
    g = c.generator()
    hint = "ŵ = q.float() * scale (multiply by the scale; the result is floating point)"
    for case, shape in [("random int8 matrix", (c.integers(3, 20), c.integers(3, 20))),
                        ("random int8 vector", (c.integers(5, 50),))]:
        q = torch.randint(-127, 128, shape, generator=g, dtype=torch.int8)
        scale = float(c.rng.uniform(1e-3, 0.2))
        ok, got = c.call(q.clone(), scale, case=case)
        if not ok:
            continue
        if isinstance(got, torch.Tensor) and not got.is_floating_point():
            c.fail(case, f"expected a floating-point tensor, got dtype {got.dtype}", hint)
            continue
        c.close(got, q.to(torch.float32) * scale, case, hint, atol=1e-6, rtol=1e-5)
    q = torch.tensor([-127, 0, 127], dtype=torch.int8)
    ok, got = c.call(q.clone(), 1.0, case="scale 1.0")
    if ok:
        c.close(got, q.to(torch.float32), "scale 1.0", hint)
