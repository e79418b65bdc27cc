"""Checkers of chapter 12: ``ring_allreduce``, ``accumulate_gradients``,
``scale_lr_for_batch``.

Inputs are drawn afresh on every run (number of workers, shapes with numel % W ≠ 0,
models, batch sizes, split counts, learning rates, warm-up lengths) next to fixed edge
cases (one worker, fewer elements than workers, unequal micro-batches, the last warm-up
step)."""

from __future__ import annotations

import copy

import torch
from torch import nn

from ._framework import Check, checker

__all__ = ["ring_allreduce", "accumulate_gradients", "scale_lr_for_batch"]


# ------------------------------------------------------------------------ ring_allreduce
_HINT_RING = ("flatten each tensor, cut it into W chunks with torch.tensor_split (sizes "
              "differ by one when numel % W != 0); reduce-scatter: W−1 steps where worker r "
              "sends chunk (r − s) % W to worker r+1, which adds it; all-gather: W−1 steps "
              "passing the finished chunks on (copy, not add)")


def _ring_case(c: Check, tensors: list, case: str):
    originals = [t.clone() for t in tensors]
    ok, got = c.call(tensors, case=case)
    if not ok:
        return
    w = len(tensors)
    expected = torch.stack(originals).sum(0)
    if not isinstance(got, (list, tuple)):
        return c.fail(case, f"expected a list of {w} tensors, got {type(got).__name__}",
                      "return one tensor per worker: a list of length len(tensors)")
    if len(got) != w:
        return c.fail(case, f"expected {w} tensors (one per worker), got {len(got)}",
                      "every worker ends with the full sum: return len(tensors) tensors"
                      + (" — with W = 1 the sum is the input itself (as a new tensor)"
                         if w == 1 else ""))
    if not all(isinstance(g, torch.Tensor) for g in got):
        return c.fail(case, "not every element of the result is a torch.Tensor", _HINT_RING)
    if any(g.data_ptr() == t.data_ptr() and g.numel() for g in got for t in tensors):
        return c.fail(case, "a returned tensor shares memory with an input",
                      "build new tensors (x.clone()); the inputs stand for other workers' memory")
    if any(tuple(g.shape) != tuple(expected.shape) for g in got):
        return c.fail(case, f"expected every tensor of shape {tuple(expected.shape)}, got "
                      f"{[tuple(g.shape) for g in got]}", "reshape the flat buffer back to "
                      "the input's shape")
    hint = _HINT_RING
    g0 = got[0].detach().double()
    if w > 1 and torch.allclose(g0, expected.double() / w, rtol=1e-4, atol=1e-6):
        hint = "that is the mean: all-reduce here sums (DDP divides by W afterwards)"
    elif w > 1 and all(torch.allclose(g.detach().double(), o.double()) for g, o in
                       zip(got, originals)):
        hint = "these are the inputs unchanged: the tensors must be summed"
    elif w > 1:
        flat = [g.detach().reshape(-1).double() for g in got]
        e = expected.reshape(-1).double()
        right = [torch.isclose(f, e, rtol=1e-4, atol=1e-5) for f in flat]
        fractions = [float(r.float().mean()) for r in right]
        if all(0 < f < 1 for f in fractions) and max(fractions) <= 1.5 / w + 1e-9:
            hint = ("each worker holds only one correct chunk: that is the end of "
                    "reduce-scatter — add the all-gather phase (W−1 more steps)")
    c.close_all([(f" (worker {r})", g, expected) for r, g in enumerate(got)], case, hint,
                atol=1e-5, rtol=1e-5)


@checker
def ring_allreduce(c: Check):
    """``ring_allreduce(tensors)``: W same-shape float tensors (one per simulated worker) →
    W new tensors, each the element-wise sum of all inputs, computed as a ring
    (reduce-scatter then all-gather over W chunks); inputs unchanged."""
    g = c.generator()
    w = c.integers(3, 6)
    rows, cols = c.integers(2, 7), c.integers(3, 9)
    rows += rows % w == 0          # rows not a multiple of w: some cols then works
    while (rows * cols) % w == 0:
        cols += 1
    shape = (rows, cols)
    _ring_case(c, [torch.randn(shape, generator=g) for _ in range(w)],
               f"{w} workers, shape {shape} (numel % W != 0)")
    _ring_case(c, [torch.randn(12, generator=g) for _ in range(4)], "4 workers, 12 elements")
    _ring_case(c, [torch.randn(37, generator=g) for _ in range(2)], "2 workers, 37 elements")
    _ring_case(c, [torch.randn(3, generator=g) for _ in range(5)], "5 workers, 3 elements "
               "(some chunks are empty)")
    _ring_case(c, [torch.randn(4, 3, generator=g)], "1 worker (nothing to send)")
    _ring_case(c, [torch.randn(2, 3, 4, generator=g, dtype=torch.float64) for _ in range(3)],
               "3 workers, float64, 3-D")


# ------------------------------------------------------------------ accumulate_gradients
_HINT_ACC = ("zero the gradients once before the loop; for each micro-batch of "
             "torch.tensor_split(X, steps) backpropagate loss_fn(model(xb), yb) * len(xb) / len(X)"
             " and do not zero in between")


def _full_grads(model, loss_fn, X, y):
    m = copy.deepcopy(model)
    m.zero_grad(set_to_none=True)
    loss_fn(m(X), y).backward()
    return [p.grad.detach().clone() for p in m.parameters()]


def _micro_grads(model, loss_fn, X, y, steps):
    out = []
    for xb, yb in zip(torch.tensor_split(X, steps), torch.tensor_split(y, steps)):
        m = copy.deepcopy(model)
        m.zero_grad(set_to_none=True)
        loss_fn(m(xb), yb).backward()
        out.append(([p.grad.detach().clone() for p in m.parameters()], len(xb)))
    return out


def _acc_hint(got, model, loss_fn, X, y, steps, stale):
    """Name the mistake the wrong gradients match, if any."""
    micro = _micro_grads(model, loss_fn, X, y, steps)

    def same(cands):
        return len(cands) == len(got) and all(
            isinstance(g, torch.Tensor) and g.shape == e.shape
            and torch.allclose(g.double(), e.double(), rtol=1e-4, atol=1e-6)
            for g, e in zip(got, cands))

    n = len(micro[0][0])
    total = [sum(m[0][i] for m in micro) for i in range(n)]
    full = _full_grads(model, loss_fn, X, y)
    if same(total):
        return "you summed the micro-batch means: weight each by len(xb) / len(X)"
    if same([t / steps for t in total]):
        return ("dividing by accumulation_steps is exact only for equal micro-batches: "
                "weight each by len(xb) / len(X)")
    if same([f + s for f, s in zip(full, stale)]):
        return "the gradients from before were not zeroed first: model.zero_grad() before the loop"
    last, size = micro[-1]
    if same([g * size / len(X) for g in last]) or same(last):
        return "only the last micro-batch is left: zero the gradients once, before the loop"
    return _HINT_ACC


def _acc_case(c: Check, model: nn.Module, loss_fn, X, y, steps: int, case: str):
    g = c.generator()
    stale = [torch.randn(p.shape, generator=g) for p in model.parameters()]
    for p, s in zip(model.parameters(), stale):
        p.grad = s.clone()
    pristine = copy.deepcopy(model)
    for p in pristine.parameters():
        p.grad = None
    expected = _full_grads(pristine, loss_fn, X, y)
    ok, got = c.call(model, loss_fn, X, y, steps, case=case)
    if not ok:
        return
    if not isinstance(got, (list, tuple)) or len(got) != len(expected):
        return c.fail(case, f"expected a list of {len(expected)} gradients (one per parameter),"
                      f" got {type(got).__name__}"
                      + (f" of length {len(got)}" if isinstance(got, (list, tuple)) else ""),
                      "return [p.grad.clone() for p in model.parameters()]")
    if any(isinstance(t, torch.Tensor) and t is p.grad for t, p in zip(got, model.parameters())):
        return c.fail(case, "returned the .grad tensors themselves, not clones",
                      "return p.grad.clone(): the next backward would change what you returned")
    hint = None
    if not all(isinstance(t, torch.Tensor) and t.shape == e.shape
               and torch.allclose(t.double(), e.double(), rtol=1e-4, atol=1e-6)
               for t, e in zip(got, expected)):
        hint = _acc_hint(got, pristine, loss_fn, X, y, steps, stale)
    grads_now = [p.grad for p in model.parameters()]
    if hint is None and any(gn is None or not torch.allclose(gn, e, rtol=1e-4, atol=1e-6)
                            for gn, e in zip(grads_now, expected)):
        return c.fail(case, "the returned list is right but the model's .grad is not",
                      "leave the accumulated gradients in p.grad (an optimizer step uses them)")
    c.close_all([(f" (parameter {i})", t, e) for i, (t, e) in enumerate(zip(got, expected))],
                case, hint or _HINT_ACC, atol=1e-6, rtol=1e-4)


@checker
def accumulate_gradients(c: Check):
    """``accumulate_gradients(model, loss_fn, X, y, accumulation_steps)``: zero the grads,
    backpropagate each micro-batch (torch.tensor_split) weighted by its size / len(X); the
    accumulated .grad equals the full-batch gradient; returns clones in parameters() order."""
    g = c.generator()
    d_in, d_h, k = c.integers(3, 8), c.integers(4, 12), c.integers(2, 5)

    def model():
        torch.manual_seed(int(c.rng.integers(2**31)))
        return nn.Sequential(nn.Linear(d_in, d_h), nn.Tanh(), nn.Linear(d_h, k))

    n = c.integers(25, 40)  # > 24: the equal-split case below takes the first 24
    steps = c.integers(3, 6)
    if n % steps == 0:
        n += 1
    X, y = torch.randn(n, d_in, generator=g), torch.randint(0, k, (n,), generator=g)
    ce = nn.CrossEntropyLoss()
    _acc_case(c, model(), ce, X, y, steps, f"{n} examples in {steps} unequal micro-batches")
    _acc_case(c, model(), ce, X[:24], y[:24], 4, "24 examples in 4 equal micro-batches")
    _acc_case(c, model(), ce, X[:10], y[:10], 1, "1 micro-batch (the full batch)")
    _acc_case(c, model(), ce, X[:7], y[:7], 7, "one example per micro-batch")
    reg = nn.Sequential(nn.Linear(d_in, 1))
    yr = torch.randn(13, 1, generator=g)
    _acc_case(c, reg, nn.MSELoss(), X[:13], yr, 3, "regression (MSELoss), 13 examples in 3")


# -------------------------------------------------------------------- scale_lr_for_batch
_HINT_LR = ("target = base_lr * batch / base_batch; while step < warmup_steps return "
            "base_lr + (target - base_lr) * step / warmup_steps, afterwards the target")


def _lr_hint(got, base_lr, base_batch, batch, step, warmup):
    target = base_lr * batch / base_batch
    cands = {
        "the ratio is inverted: multiply by batch / base_batch": base_lr * base_batch / batch,
        "that is square-root scaling; the linear rule multiplies by batch / base_batch":
            base_lr * (batch / base_batch) ** 0.5,
    }
    if warmup and step < warmup:
        cands["warm-up starts at base_lr, not at 0"] = target * step / warmup
        cands["warm-up is off by one: use step / warmup_steps"] = (
            base_lr + (target - base_lr) * (step + 1) / warmup)
    for text, value in cands.items():
        if isinstance(got, (int, float)) and abs(got - value) <= 1e-9 * max(1.0, abs(value)):
            return text
    return _HINT_LR


def _lr_case(c: Check, base_lr, base_batch, batch, step, warmup, case):
    ok, got = c.call(base_lr, base_batch, batch, step, warmup, case=case)
    if not ok:
        return
    target = base_lr * batch / base_batch
    expected = base_lr + (target - base_lr) * step / warmup if step < warmup else target
    hint = _lr_hint(got, base_lr, base_batch, batch, step, warmup) \
        if isinstance(got, (int, float)) and not isinstance(got, bool) else _HINT_LR
    c.close(got, float(expected), case, hint, atol=1e-12, rtol=1e-9)


@checker
def scale_lr_for_batch(c: Check):
    """``scale_lr_for_batch(base_lr, base_batch, batch, step=0, warmup_steps=0)``: linear
    scaling rule (target = base_lr · batch / base_batch) with gradual warm-up from base_lr."""
    base_lr = float(c.rng.choice([0.01, 0.05, 0.1])) * float(c.rng.uniform(0.5, 2.0))
    base_batch = int(c.rng.choice([16, 32, 256]))
    k = c.integers(2, 32)
    warm = c.integers(5, 50)
    _lr_case(c, base_lr, base_batch, k * base_batch, 0, 0, "no warm-up")
    _lr_case(c, base_lr, base_batch, k * base_batch, 0, warm, "step 0 of the warm-up")
    mid = c.integers(1, warm - 1)
    _lr_case(c, base_lr, base_batch, k * base_batch, mid, warm, f"step {mid} of {warm}")
    _lr_case(c, base_lr, base_batch, k * base_batch, warm - 1, warm, "last warm-up step")
    _lr_case(c, base_lr, base_batch, k * base_batch, warm, warm, "first step after warm-up")
    _lr_case(c, base_lr, base_batch, k * base_batch, warm + c.integers(1, 100), warm,
             "long after warm-up")
    _lr_case(c, base_lr, base_batch, base_batch // 4, 0, 0, "smaller batch (rate goes down)")
    _lr_case(c, 0.1, 256, 256 * 32, 3, 10, "Goyal et al.: 0.1 at 256 → 3.2 at 8k, step 3 of 10")
