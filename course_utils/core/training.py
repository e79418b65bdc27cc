"""One readable training loop, with plug points for the chapters.

    for epoch in range(epochs):
        for xb, yb in train:                      # one step
            loss = loss_fn(model(xb), yb)
            optimizer.zero_grad(); loss.backward()
            after_backward(model)                 # e.g. gradient clipping (ch 06)
            optimizer.step()
            on_step(info)                         # per-step logging (ch 02)
            scheduler.step()  if per batch        # schedules (ch 08)
        evaluate on val;  scheduler.step() if per epoch;  early_stop(val_losses)? (ch 09)

A non-finite loss stops the run cleanly: ``history.diverged`` is True and one line says so.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
from torch import nn

from .validation import check_bool, check_choice, check_float, check_int


@dataclass
class History:
    """Per-epoch curves of one run (lists have one entry per finished epoch)."""

    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    epoch_time: list = field(default_factory=list)
    diverged: bool = False
    stopped_early: bool = False
    message: str = ""

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    def best(self, metric: str = "val_acc"):
        values = getattr(self, check_choice("metric", metric, ["train_loss", "train_acc", "val_loss", "val_acc"]))
        if not values:
            return None
        return (max if metric.endswith("acc") else min)(values)

    def epochs_to(self, target: float, metric: str = "val_acc"):
        """First epoch (1-based) where ``metric`` reaches ``target`` (≥ for acc, ≤ for loss), or None."""
        values = getattr(self, check_choice("metric", metric, ["train_loss", "train_acc", "val_loss", "val_acc"]))
        better = (lambda v: v >= target) if metric.endswith("acc") else (lambda v: v <= target)
        return next((i + 1 for i, v in enumerate(values) if v is not None and better(v)), None)

    def summary(self) -> str:
        if self.diverged:
            return self.message
        parts = [f"{self.epochs} epochs", f"train loss {self.train_loss[-1]:.4f}" if self.train_loss else ""]
        if self.val_acc and self.val_acc[-1] is not None:
            parts.append(f"val acc {self.val_acc[-1]:.3f}")
        if self.stopped_early:
            parts.append("stopped early")
        return ", ".join(p for p in parts if p)


def _is_classification(out: torch.Tensor, y: torch.Tensor) -> bool:
    """Accuracy makes sense when outputs are (N, classes) scores and labels are integers."""
    return out.ndim == 2 and not y.is_floating_point() and y.ndim == 1


@torch.no_grad()
def evaluate(model: nn.Module, data, loss_fn=None, device=None) -> tuple[float, float | None]:
    """Mean loss and accuracy of ``model`` on ``data`` — an ``(X, y)`` pair or batches —
    in eval mode (the model's mode is restored).  Accuracy is None for regression losses."""
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    batches = [data] if isinstance(data, tuple) else data
    was_training = model.training
    model.eval()
    total, loss_sum, correct, classify = 0, 0.0, 0, False
    try:
        for xb, yb in batches:
            if device is not None:
                xb, yb = xb.to(device), yb.to(device)
            out = model(xb)
            loss_sum += float(loss_fn(out, yb)) * len(xb)
            classify = _is_classification(out, yb)
            if classify:
                correct += int((out.argmax(1) == yb).sum())
            total += len(xb)
    finally:
        model.train(was_training)
    if total == 0:
        raise ValueError("data is empty: nothing to evaluate")
    acc = correct / total if classify else None
    return loss_sum / total, acc


def fit(model: nn.Module, train: Iterable, val=None, *, epochs: int = 10,
        optimizer: torch.optim.Optimizer | None = None, lr: float = 0.01,
        loss_fn: Callable | None = None, after_backward: Callable | None = None,
        scheduler=None, scheduler_step: str = "epoch", early_stop: Callable | None = None,
        on_step: Callable | None = None, progress: bool = True, device=None,
        verbose: bool = True) -> History:
    """Train ``model`` and return its :class:`History`.

    Parameters
    ----------
    train, val : batches of ``(x, y)`` (``Batches``, a DataLoader, a list) — ``val`` may
        also be a single ``(X, y)`` pair or None.
    optimizer : default ``torch.optim.SGD(model.parameters(), lr=lr)``.
    after_backward : ``f(model)`` called between ``backward`` and ``step`` (clipping).
    scheduler : anything with ``.step()``; stepped per ``"epoch"`` or per ``"batch"``.
        ``ReduceLROnPlateau`` (or any scheduler with ``needs_metric = True``) is stepped
        once per epoch with the validation loss (the training loss if there is no ``val``).
    early_stop : ``f(val_losses) -> bool`` checked after each epoch.
    on_step : ``f(info)`` after each optimizer step; ``info`` has step, epoch, loss, model,
        optimizer.
    progress : show a tqdm.auto bar over epochs.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    epochs = check_int("epochs", epochs, min_value=1)
    check_choice("scheduler_step", scheduler_step, ["epoch", "batch"])
    check_bool("progress", progress)
    for name, fn in (("loss_fn", loss_fn), ("after_backward", after_backward),
                     ("early_stop", early_stop), ("on_step", on_step)):
        if fn is not None and not callable(fn):
            raise TypeError(f"{name} must be callable or None, got {type(fn).__name__}")
    if scheduler is not None and not hasattr(scheduler, "step"):
        raise TypeError("scheduler must have a .step() method (a torch lr_scheduler or similar)")
    if optimizer is None:
        optimizer = torch.optim.SGD(model.parameters(), lr=check_float("lr", lr, min_value=0.0))
    elif not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    plateau = (isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
               or getattr(scheduler, "needs_metric", False))
    if device is not None:
        model.to(device)

    history = History()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs, desc="epochs", leave=False)
    step = 0
    try:
        for epoch in range(epochs):
            t0 = time.perf_counter()
            model.train()
            loss_sum, correct, seen, classify = 0.0, 0, 0, False
            for xb, yb in train:
                if device is not None:
                    xb, yb = xb.to(device), yb.to(device)
                out = model(xb)
                loss = loss_fn(out, yb)
                loss_value = loss.item()  # one sync per step: the divergence check needs it
                if not math.isfinite(loss_value):
                    history.diverged = True
                    history.message = (f"diverged: loss became {loss_value} at epoch "
                                       f"{epoch + 1}, step {step + 1}")
                    break
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if after_backward is not None:
                    after_backward(model)
                optimizer.step()
                step += 1
                n = len(xb)
                classify = _is_classification(out, yb)
                loss_sum += loss_value * n
                if classify:
                    correct += int((out.detach().argmax(1) == yb).sum())
                seen += n
                if on_step is not None:
                    on_step({"step": step, "epoch": epoch + 1, "loss": loss_value,
                             "model": model, "optimizer": optimizer})
                if scheduler is not None and scheduler_step == "batch" and not plateau:
                    scheduler.step()
            if history.diverged:
                break
            if seen == 0:
                raise ValueError("train yielded no batches")
            history.train_loss.append(loss_sum / seen)
            history.train_acc.append(correct / seen if classify else None)
            history.lr.append(optimizer.param_groups[0]["lr"])
            if val is not None:
                vl, va = evaluate(model, val, loss_fn, device)
                history.val_loss.append(vl)
                history.val_acc.append(va)
                if not math.isfinite(vl):
                    history.diverged = True
                    history.message = f"diverged: validation loss became {vl} at epoch {epoch + 1}"
            history.epoch_time.append(time.perf_counter() - t0)
            if scheduler is not None and (scheduler_step == "epoch" or plateau):
                if plateau:
                    scheduler.step(history.val_loss[-1] if history.val_loss else history.train_loss[-1])
                else:
                    scheduler.step()
            if bar is not None:
                bar.update(1)
            if history.diverged:
                break
            if early_stop is not None and early_stop(list(history.val_loss or history.train_loss)):
                history.stopped_early = True
                break
    finally:
        if bar is not None:
            bar.close()
    if history.diverged and verbose:
        print(history.message)
    return history
