"""The learning-rate range test ("LR finder", Smith 2017), from scratch.

Train for a few hundred steps while the lr grows exponentially from ``start_lr`` to
``end_lr``,

    η_i = η_start · (η_end / η_start)^(i / (n − 1)),        i = 0 … n − 1

(``schedules.exponential_decay`` with a rate > 1), record the loss of every batch, smooth
it with a bias-corrected exponential moving average

    a_i = β a_{i−1} + (1 − β) ℓ_i,     ℓ̄_i = a_i / (1 − β^{i+1}),

and stop once the smoothed loss exceeds ``diverge_factor`` × its minimum (checked after
the first tenth of the steps) or is not finite. Plot ℓ̄ against η on a log axis: the loss is flat where the lr is too small to
matter, falls where it is useful, bottoms out and then shoots up. The model and optimizer
are restored afterwards, so the test changes nothing.

Reading it (rules of thumb, not laws): for a constant lr take about a tenth of the lr at the
minimum ("min/10", fastai's old default) or the steepest descent ("steepest"); for 1cycle,
max_lr can be close to (below) the point where the loss starts to climb.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ..core.validation import check_choice, check_float, check_int

__all__ = ["RULES", "RangeTestResult", "exponential_lrs", "lr_range_test", "plot_range_test",
           "smooth_losses", "suggest_lr"]

RULES = ("min/10", "steepest", "min")


def exponential_lrs(start_lr: float, end_lr: float, num_steps: int) -> np.ndarray:
    """η_i = η_start (η_end/η_start)^(i/(n − 1)) for i = 0 … n − 1 (η_0 = start, η_{n−1} = end)."""
    start_lr = check_float("start_lr", start_lr, min_value=0.0, min_inclusive=False)
    end_lr = check_float("end_lr", end_lr, min_value=start_lr, min_inclusive=False)
    num_steps = check_int("num_steps", num_steps, min_value=2)
    return start_lr * (end_lr / start_lr) ** (np.arange(num_steps) / (num_steps - 1))


def smooth_losses(losses, beta: float = 0.98) -> np.ndarray:
    """Bias-corrected exponential moving average: a_i = β a_{i−1} + (1−β) ℓ_i, ℓ̄_i = a_i/(1−β^{i+1}).

    The correction makes ℓ̄_0 = ℓ_0 instead of (1−β)ℓ_0 (the same correction as Adam's m̂)."""
    beta = check_float("beta", beta, min_value=0.0, max_value=1.0, max_inclusive=False)
    values = np.asarray(losses, dtype=float)
    if values.ndim != 1:
        raise ValueError(f"losses must be a 1-D sequence, got shape {values.shape}")
    out = np.empty_like(values)
    avg = 0.0
    for i, loss in enumerate(values):
        avg = beta * avg + (1 - beta) * loss
        out[i] = avg / (1 - beta ** (i + 1))
    return out


def suggest_lr(lrs, smoothed, rule: str = "min/10") -> float:
    """A learning rate read off a range test.

    ``"min"``: the lr at the lowest smoothed loss; ``"min/10"``: a tenth of it;
    ``"steepest"``: where the smoothed loss falls fastest per decade of lr (the most negative
    d ℓ̄ / d log η), looked for before the minimum."""
    check_choice("rule", rule, RULES)
    lrs = np.asarray(lrs, dtype=float)
    smoothed = np.asarray(smoothed, dtype=float)
    if lrs.ndim != 1 or lrs.shape != smoothed.shape or len(lrs) < 3:
        raise ValueError("lrs and smoothed must be 1-D, the same length, at least 3 values; "
                         f"got shapes {lrs.shape} and {smoothed.shape}")
    finite = np.isfinite(smoothed)
    if not finite.any():
        raise ValueError("smoothed has no finite value: the run diverged at once (lower start_lr)")
    i_min = int(np.nanargmin(np.where(finite, smoothed, np.nan)))
    if rule == "min":
        return float(lrs[i_min])
    if rule == "min/10":
        return float(lrs[i_min] / 10)
    if i_min < 2:
        return float(lrs[i_min])
    slope = np.gradient(smoothed[: i_min + 1], np.log(lrs[: i_min + 1]))
    return float(lrs[int(np.argmin(slope))])


def _set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = float(lr)


def _cycle(train):
    """Pass over ``train`` again and again (a new shuffle each pass); stop if it is empty."""
    while True:
        empty = True
        for batch in train:
            empty = False
            yield batch
        if empty:
            return


@dataclass
class RangeTestResult:
    """What a range test saw: lr, raw and smoothed loss per step, and the suggestion."""

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    stopped_early: bool
    rule: str
    suggestion: float
    lr_at_min: float
    diverged_at: float | None = None  # lr at which the test stopped, if it did
    message: str = field(default="")


def lr_range_test(model: nn.Module, train: Iterable, *, optimizer: torch.optim.Optimizer | None = None,
                  loss_fn: Callable | None = None, start_lr: float = 1e-4, end_lr: float = 10.0,
                  num_steps: int = 100, beta: float = 0.98, diverge_factor: float = 4.0,
                  rule: str = "min/10", device=None) -> RangeTestResult:
    """Run the LR range test on ``model`` with batches from ``train`` (cycled if short).

    ``optimizer`` defaults to SGD with momentum 0.9 (the test depends on the optimizer: use
    the one you will train with). The model's parameters, buffers and train/eval mode and
    the optimizer's state and lrs are restored at the end (the batches' shuffling and the
    global random state do move on)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if not isinstance(train, Iterable):
        raise TypeError(f"train must be an iterable of (x, y) batches, got {type(train).__name__}")
    lrs = exponential_lrs(start_lr, end_lr, num_steps)
    beta = check_float("beta", beta, min_value=0.0, max_value=1.0, max_inclusive=False)
    diverge_factor = check_float("diverge_factor", diverge_factor, min_value=1.0, min_inclusive=False)
    check_choice("rule", rule, RULES)
    if loss_fn is not None and not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable or None, got {type(loss_fn).__name__}")
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    if optimizer is None:
        optimizer = torch.optim.SGD(model.parameters(), lr=float(lrs[0]), momentum=0.9)
    elif not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    if device is not None:
        model.to(device)

    model_state = copy.deepcopy(model.state_dict())
    opt_state = copy.deepcopy(optimizer.state_dict())
    was_training = model.training
    losses: list[float] = []
    stopped = False
    try:
        model.train()
        _set_lr(optimizer, lrs[0])
        batches = _cycle(train)
        best = np.inf
        avg = 0.0
        for i, (xb, yb) in zip(range(num_steps), batches):
            if device is not None:
                xb, yb = xb.to(device), yb.to(device)
            loss = loss_fn(model(xb), yb)
            value = loss.item()
            losses.append(value)
            avg = beta * avg + (1 - beta) * value
            smooth = avg / (1 - beta ** (i + 1))
            # no divergence verdict in the first tenth of the sweep: a few noisy batches of an
            # already trained model can be 4× apart
            if not np.isfinite(smooth) or (smooth > diverge_factor * best and i >= num_steps // 10):
                stopped = True
                break
            best = min(best, smooth)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if i < num_steps - 1:
                _set_lr(optimizer, lrs[i + 1])
    finally:
        model.load_state_dict(model_state)
        optimizer.load_state_dict(opt_state)
        model.train(was_training)
    if not losses:
        raise ValueError("train yielded no batches")
    n = len(losses)
    seen_lrs = lrs[:n]
    smoothed = smooth_losses(losses, beta)
    if n < 3:
        raise ValueError(f"the loss diverged after {n} step(s): lower start_lr (was {lrs[0]:.3g})")
    suggestion = suggest_lr(seen_lrs, smoothed, rule)
    lr_at_min = suggest_lr(seen_lrs, smoothed, "min")
    message = (f"stopped at lr {seen_lrs[-1]:.3g} (smoothed loss > {diverge_factor:g} × its minimum)"
               if stopped else f"ran all {num_steps} steps up to lr {lrs[-1]:.3g}")
    return RangeTestResult(seen_lrs, np.asarray(losses), smoothed, stopped, rule, suggestion,
                           lr_at_min, float(seen_lrs[-1]) if stopped else None, message)


def plot_range_test(result: RangeTestResult, ax=None, show_raw: bool = True):
    """Smoothed (and raw) loss against the lr on a log axis, the suggestion marked. Returns ax."""
    if not isinstance(result, RangeTestResult):
        raise TypeError(f"result must be a RangeTestResult, got {type(result).__name__}")
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 3.2), layout="constrained")
    if show_raw:
        ax.plot(result.lrs, result.losses, color="0.75", lw=0.8, label="loss per batch")
    ax.plot(result.lrs, result.smoothed, lw=2, label="smoothed loss")
    ax.axvline(result.lr_at_min, color="C3", ls=":", label=f"minimum: {result.lr_at_min:.2g}")
    ax.axvline(result.suggestion, color="C2", ls="--",
               label=f"suggestion ({result.rule}): {result.suggestion:.2g}")
    ax.set_xscale("log")
    finite = result.smoothed[np.isfinite(result.smoothed)]
    lo, hi = finite.min(), finite[0]
    ax.set_ylim(lo - 0.1 * (hi - lo), hi + 0.6 * (hi - lo) + 1e-12)
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("training loss")
    ax.legend()
    return ax
