"""Checkers of chapter 12: the reference solutions pass; realistic mistakes fail, each with
the message that names it."""

import math

import pytest
import torch
from checking import fails as _fails

from course_utils import checks
from course_utils.scratch import distributed as D
from course_utils.scratch import large_batch as lb


@pytest.mark.parametrize("checker, fn", [
    (checks.ring_allreduce, D.ring_allreduce),
    (checks.accumulate_gradients, lb.accumulate_gradients),
    (checks.scale_lr_for_batch, lb.scale_lr_for_batch),
])
def test_references_pass_every_time(checker, fn, capsys):
    for _ in range(3):
        assert checker(fn).passed
    assert capsys.readouterr().out.count("all ") == 3


# ------------------------------------------------------------------------ ring_allreduce
def _reduce_scatter_only(tensors):
    w = len(tensors)
    bufs = [t.clone().reshape(-1) for t in tensors]
    bounds = D.chunk_bounds(bufs[0].numel(), w)
    for s in range(w - 1):
        msgs = [(r, (r + 1) % w, (r - s) % w) for r in range(w)]
        payload = [bufs[r][slice(*bounds[c])].clone() for r, _, c in msgs]
        for (_, dst, c), p in zip(msgs, payload):
            bufs[dst][slice(*bounds[c])] += p
    return [b.reshape(tensors[0].shape) for b in bufs]


def test_ring_rejects_returning_the_inputs():
    def ring_allreduce(tensors):
        return [t.clone() for t in tensors]
    _fails(checks.ring_allreduce, ring_allreduce, "inputs unchanged")


def test_ring_rejects_averaging():
    def ring_allreduce(tensors):
        mean = torch.stack(tensors).mean(0)
        return [mean.clone() for _ in tensors]
    _fails(checks.ring_allreduce, ring_allreduce, "that is the mean")


def test_ring_rejects_reduce_scatter_only():
    def ring_allreduce(tensors):
        return _reduce_scatter_only(tensors)
    _fails(checks.ring_allreduce, ring_allreduce, "reduce-scatter", "all-gather")


def test_ring_rejects_mutating_the_inputs():
    def ring_allreduce(tensors):
        for t in tensors[1:]:
            tensors[0].add_(t)
        return [tensors[0].clone() for _ in tensors]
    _fails(checks.ring_allreduce, ring_allreduce, "modified its argument")


def test_ring_rejects_off_by_one_chunking():
    def ring_allreduce(tensors):  # chunks of numel // W: the remainder is never reduced
        w, flat = len(tensors), [t.reshape(-1) for t in tensors]
        n = flat[0].numel()
        size = n // w
        out = torch.zeros(n, dtype=flat[0].dtype)
        for c in range(w):
            out[c * size:(c + 1) * size] = sum(f[c * size:(c + 1) * size] for f in flat)
        return [out.clone().reshape(tensors[0].shape) for _ in tensors]
    _fails(checks.ring_allreduce, ring_allreduce, "numel % W != 0", "tensor_split")


def test_ring_rejects_mishandled_single_worker():
    def ring_allreduce(tensors):
        return [] if len(tensors) == 1 else D.ring_allreduce(tensors)
    _fails(checks.ring_allreduce, ring_allreduce, "1 worker", "W = 1")


def test_ring_rejects_returning_an_input_itself():
    def ring_allreduce(tensors):
        return list(tensors) if len(tensors) == 1 else D.ring_allreduce(tensors)
    _fails(checks.ring_allreduce, ring_allreduce, "shares memory")


# ------------------------------------------------------------------ accumulate_gradients
def test_accumulate_rejects_sum_of_means():
    def accumulate_gradients(model, loss_fn, X, y, accumulation_steps):
        model.zero_grad()
        for xb, yb in zip(torch.tensor_split(X, accumulation_steps),
                          torch.tensor_split(y, accumulation_steps)):
            loss_fn(model(xb), yb).backward()
        return [p.grad.clone() for p in model.parameters()]
    _fails(checks.accumulate_gradients, accumulate_gradients, "summed the micro-batch means")


def test_accumulate_rejects_dividing_by_steps_with_unequal_sizes():
    def accumulate_gradients(model, loss_fn, X, y, accumulation_steps):
        model.zero_grad()
        for xb, yb in zip(torch.tensor_split(X, accumulation_steps),
                          torch.tensor_split(y, accumulation_steps)):
            (loss_fn(model(xb), yb) / accumulation_steps).backward()
        return [p.grad.clone() for p in model.parameters()]
    text = _fails(checks.accumulate_gradients, accumulate_gradients, "unequal micro-batches",
                  "exact only for equal micro-batches")
    assert "4 equal micro-batches" not in text  # the equal split passes


def test_accumulate_rejects_not_zeroing_first():
    def accumulate_gradients(model, loss_fn, X, y, accumulation_steps):
        for xb, yb in zip(torch.tensor_split(X, accumulation_steps),
                          torch.tensor_split(y, accumulation_steps)):
            (loss_fn(model(xb), yb) * len(xb) / len(X)).backward()
        return [p.grad.clone() for p in model.parameters()]
    _fails(checks.accumulate_gradients, accumulate_gradients, "not zeroed first")


def test_accumulate_rejects_zeroing_inside_the_loop():
    def accumulate_gradients(model, loss_fn, X, y, accumulation_steps):
        for xb, yb in zip(torch.tensor_split(X, accumulation_steps),
                          torch.tensor_split(y, accumulation_steps)):
            model.zero_grad()
            (loss_fn(model(xb), yb) * len(xb) / len(X)).backward()
        return [p.grad.clone() for p in model.parameters()]
    _fails(checks.accumulate_gradients, accumulate_gradients, "only the last micro-batch")


def test_accumulate_rejects_returning_grad_without_clone():
    def accumulate_gradients(model, loss_fn, X, y, accumulation_steps):
        lb.accumulate_gradients(model, loss_fn, X, y, accumulation_steps)
        return [p.grad for p in model.parameters()]
    _fails(checks.accumulate_gradients, accumulate_gradients, "not clones")


# -------------------------------------------------------------------- scale_lr_for_batch
def test_lr_rejects_inverse_ratio():
    def scale_lr_for_batch(base_lr, base_batch, batch, step=0, warmup_steps=0):
        return lb.scale_lr_for_batch(base_lr, batch, base_batch, step, warmup_steps)
    _fails(checks.scale_lr_for_batch, scale_lr_for_batch, "inverted")


def test_lr_rejects_square_root_scaling():
    def scale_lr_for_batch(base_lr, base_batch, batch, step=0, warmup_steps=0):
        target = base_lr * math.sqrt(batch / base_batch)
        if step < warmup_steps:
            return base_lr + (target - base_lr) * step / warmup_steps
        return target
    _fails(checks.scale_lr_for_batch, scale_lr_for_batch, "square-root")


def test_lr_rejects_warmup_from_zero():
    def scale_lr_for_batch(base_lr, base_batch, batch, step=0, warmup_steps=0):
        target = base_lr * batch / base_batch
        return target * step / warmup_steps if step < warmup_steps else target
    _fails(checks.scale_lr_for_batch, scale_lr_for_batch, "step 0 of the warm-up",
           "starts at base_lr")


def test_lr_rejects_off_by_one_warmup():
    def scale_lr_for_batch(base_lr, base_batch, batch, step=0, warmup_steps=0):
        target = base_lr * batch / base_batch
        if step < warmup_steps:
            return base_lr + (target - base_lr) * (step + 1) / warmup_steps
        return target
    _fails(checks.scale_lr_for_batch, scale_lr_for_batch, "off by one")


def test_lr_rejects_warmup_that_ends_a_step_late():
    def scale_lr_for_batch(base_lr, base_batch, batch, step=0, warmup_steps=0):
        target = base_lr * batch / base_batch
        if step <= warmup_steps and warmup_steps:
            return base_lr + (target - base_lr) * step / (warmup_steps + 1)
        return target
    _fails(checks.scale_lr_for_batch, scale_lr_for_batch, "warm-up")
