"""Bigger batches without more memory, and the learning rate that goes with them.

* **Gradient accumulation.** With a loss that is a mean over the batch,
  L = (1/n) Σᵢ ℓᵢ = Σₖ (nₖ/n) · Lₖ for micro-batches of sizes nₖ with mean losses Lₖ.
  So backpropagating (nₖ/n)·Lₖ for each micro-batch and *not* zeroing in between leaves in
  ``.grad`` exactly the full-batch gradient — one optimizer step for the whole batch.
* **Linear scaling rule with gradual warm-up** (Goyal et al. 2017): when the batch grows
  k-fold, multiply the learning rate by k; start at the small-batch rate and raise it
  linearly over the first steps, because the early, fast-changing network does not
  tolerate the large rate.
"""

from __future__ import annotations

import torch
from torch import nn

from ..core.validation import check_float, check_int, check_loss_fn, check_tensor


def accumulate_gradients(model: nn.Module, loss_fn, X: torch.Tensor, y: torch.Tensor,
                         accumulation_steps: int) -> list[torch.Tensor]:
    """Zero the gradients, then backpropagate ``accumulation_steps`` micro-batches of
    ``(X, y)`` (``torch.tensor_split`` along dim 0), each mean loss weighted by
    len(micro-batch)/len(X); the accumulated ``.grad`` then equals the gradient of
    ``loss_fn(model(X), y)``.  Returns clones of every ``p.grad`` in ``model.parameters()``
    order."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    loss_fn = check_loss_fn(loss_fn)
    check_tensor("X", X)
    check_tensor("y", y)
    if len(X) != len(y) or len(X) == 0:
        raise ValueError(f"X and y must be non-empty with one length, got {len(X)} and {len(y)}")
    steps = check_int("accumulation_steps", accumulation_steps, min_value=1, max_value=len(X))
    model.zero_grad(set_to_none=False)
    for p in model.parameters():  # parameters that never had a gradient: start from zeros
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    for xb, yb in zip(torch.tensor_split(X, steps), torch.tensor_split(y, steps)):
        (loss_fn(model(xb), yb) * (len(xb) / len(X))).backward()
    return [p.grad.detach().clone() for p in model.parameters()]


def scale_lr_for_batch(base_lr: float, base_batch: int, batch: int, step: int = 0,
                       warmup_steps: int = 0) -> float:
    """Goyal et al.'s rule: target = base_lr · batch / base_batch; during warm-up
    (step < warmup_steps) the rate rises linearly from base_lr:
    base_lr + (target − base_lr) · step / warmup_steps; afterwards it is the target."""
    base_lr = check_float("base_lr", base_lr, min_value=0.0)
    base_batch = check_int("base_batch", base_batch, min_value=1)
    batch = check_int("batch", batch, min_value=1)
    step = check_int("step", step, min_value=0)
    warmup_steps = check_int("warmup_steps", warmup_steps, min_value=0)
    target = base_lr * batch / base_batch
    if step < warmup_steps:
        return base_lr + (target - base_lr) * step / warmup_steps
    return target


def warmup_scheduler(optimizer: torch.optim.Optimizer, base_lr: float, base_batch: int,
                     batch: int, warmup_steps: int = 0) -> torch.optim.lr_scheduler.LambdaLR:
    """A per-step ``LambdaLR`` that follows :func:`scale_lr_for_batch` (set the optimizer's
    lr to ``base_lr`` first; step the scheduler after every optimizer step)."""
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    base_lr = check_float("base_lr", base_lr, min_value=0.0, min_inclusive=False)
    for group in optimizer.param_groups:
        group["lr"] = base_lr
        group["initial_lr"] = base_lr
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: scale_lr_for_batch(base_lr, base_batch, batch, s, warmup_steps)
        / base_lr)
