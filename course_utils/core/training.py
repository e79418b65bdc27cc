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

A non-finite loss stops the run cleanly: ``history.diverged`` is True and one line says so;
``history.params_finite`` says whether the model's parameters are still finite (after a
blow-up they are often NaN/inf: rebuild the model, or pass ``restore_on_divergence=True``
to get back the state at the start of the epoch that diverged).

An interrupted run (the stop button: ``KeyboardInterrupt``) or an exception from a callback
is not swallowed, but the epochs that finished are kept: the exception carries them as
``exc.history`` and ``training.last_history`` holds them too (it always holds the History of
the latest ``fit``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import torch
from torch import nn

from .validation import check_bool, check_choice, check_float, check_int, check_loss_fn


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
    params_finite: bool = True   # False: the model's parameters hold NaN/inf (diverged)
    restored: bool = False       # True: put back to the start of the diverged epoch
    interrupted: bool = False    # True: stopped by an exception (attached to it as .history)

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


#: The History of the latest :func:`fit`, also when it was interrupted.
last_history: History | None = None




def _check_device(device):
    if device is None:
        return None
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be a torch.device or a string such as 'cpu' or 'cuda' "
                         f"(cu.setup() returns the right one), got {device!r}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(device)!r} is not available on this machine (no CUDA "
                         "GPU); use the device cu.setup() returns, or 'cpu'")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device 'mps' is not available on this machine; use 'cpu'")
    return device


def _explain(exc: Exception, model: nn.Module, xb, yb, loss_fn, where: str):
    """A clear error for the usual data mistakes behind a raw torch error, or None."""
    params = [p for p in model.parameters() if p.is_floating_point()]
    if where == "model" and isinstance(xb, torch.Tensor) and xb.is_floating_point() and params \
            and xb.dtype != params[0].dtype:
        return TypeError(f"the inputs are {xb.dtype} but the model's parameters are "
                         f"{params[0].dtype}: convert the data with X.float() (or the model "
                         f"with model.to({xb.dtype}))")
    if where == "model" and isinstance(xb, torch.Tensor) and params and xb.device != params[0].device:
        return RuntimeError(f"the inputs are on {xb.device} but the model is on "
                            f"{params[0].device}: pass device=... to fit, or move both")
    if where == "loss" and isinstance(loss_fn, (nn.CrossEntropyLoss, nn.NLLLoss)) \
            and isinstance(yb, torch.Tensor) and not yb.is_floating_point():
        if yb.dtype != torch.int64:
            return TypeError(f"the labels are {yb.dtype}; {type(loss_fn).__name__} needs int64 "
                             "class indices: y.long()")
        if isinstance(exc, IndexError) and yb.numel():
            return ValueError(f"the labels must be class indices 0 … C−1 for a model with C "
                              f"outputs; got labels from {int(yb.min())} to {int(yb.max())} "
                              f"(labels −1/+1? use (y > 0).long())")
    return None


def _is_classification(out: torch.Tensor, y: torch.Tensor) -> bool:
    """Accuracy makes sense when outputs are (N, classes) scores and labels are integers."""
    return out.ndim == 2 and not y.is_floating_point() and y.ndim == 1


def _forward(model, xb, yb, loss_fn):
    try:
        return model(xb)
    except (RuntimeError, TypeError) as exc:
        clear = _explain(exc, model, xb, yb, loss_fn, "model")
        if clear is None:
            raise
        raise clear from exc


def _loss(loss_fn, out, xb, yb, model):
    try:
        return loss_fn(out, yb)
    except (RuntimeError, IndexError, TypeError) as exc:
        clear = _explain(exc, model, xb, yb, loss_fn, "loss")
        if clear is None:
            raise
        raise clear from exc


def _check_batches(train, epochs: int):
    """``train`` must be re-iterable batches of (x, y), not one (X, y) pair."""
    if isinstance(train, tuple) and len(train) == 2 and all(isinstance(t, torch.Tensor)
                                                            for t in train):
        raise TypeError("train must be batches of (x, y), not one (X, y) pair: pass "
                        "data.Batches(X, y, batch_size=32) (or splits.loaders()[0]); only val "
                        "may be a single (X, y) pair")
    if isinstance(train, (torch.Tensor, str, bytes, dict)) or not hasattr(train, "__iter__"):
        raise TypeError(f"train must be batches of (x, y) pairs (data.Batches, a DataLoader, "
                        f"a list; from a Splits: splits.loaders()[0]), got {type(train).__name__}")
    if epochs > 1 and isinstance(train, Iterator):
        raise TypeError("train is a one-shot iterator (a generator, or iter(...)): it would be "
                        f"empty after the first of the {epochs} epochs; pass something that can "
                        "be iterated again (a list of batches, data.Batches, a DataLoader)")


def _check_optimizer(optimizer, model):
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}"
                        + (" (the class: build it as optimizer=Adam(model.parameters()))"
                           if isinstance(optimizer, type) else ""))
    mine = {id(p) for p in model.parameters()}
    held = [p for g in optimizer.param_groups for p in g["params"]]
    if mine and held and not any(id(p) in mine for p in held):
        raise ValueError("optimizer holds none of this model's parameters (was it built for "
                         "another model?): build it from this one, e.g. "
                         "torch.optim.SGD(model.parameters(), lr=0.1)")
    return optimizer


@torch.no_grad()
def evaluate(model: nn.Module, data, loss_fn=None, device=None) -> tuple[float, float | None]:
    """Mean loss and accuracy of ``model`` on ``data`` — an ``(X, y)`` pair or batches —
    in eval mode (the model's mode is restored).  Accuracy is None for regression losses."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    loss_fn = check_loss_fn(loss_fn)
    device = _check_device(device)
    batches = [data] if isinstance(data, tuple) else data
    if isinstance(data, tuple) and (len(data) != 2 or not all(isinstance(t, torch.Tensor)
                                                             for t in data)):
        raise TypeError("data must be an (X, y) pair of tensors or batches of such pairs")
    was_training = model.training
    model.eval()
    total, loss_sum, correct, classify = 0, 0.0, 0, False
    try:
        for xb, yb in batches:
            if device is not None:
                xb, yb = xb.to(device), yb.to(device)
            out = _forward(model, xb, yb, loss_fn)
            loss_sum += float(_loss(loss_fn, out, xb, yb, model)) * len(xb)
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
        verbose: bool = True, restore_on_divergence: bool = False) -> History:
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
    restore_on_divergence : after a divergence, put the model back to its state at the start
        of the epoch that diverged (``history.restored``); by default it is left as it is
        (``history.params_finite`` says whether it still holds finite numbers).

    Interrupted (``KeyboardInterrupt``) or stopped by an exception in a callback, ``fit``
    re-raises it with the finished epochs attached as ``exc.history`` (also in
    ``training.last_history``).
    """
    global last_history
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}"
                        + (" (the class: build it first, e.g. models.mlp(...))"
                           if isinstance(model, type) else ""))
    epochs = check_int("epochs", epochs, min_value=1)
    _check_batches(train, epochs)
    check_choice("scheduler_step", scheduler_step, ["epoch", "batch"])
    check_bool("progress", progress)
    check_bool("verbose", verbose)
    check_bool("restore_on_divergence", restore_on_divergence)
    loss_fn = check_loss_fn(loss_fn)
    for name, fn in (("after_backward", after_backward), ("early_stop", early_stop),
                     ("on_step", on_step)):
        if fn is not None and not callable(fn):
            raise TypeError(f"{name} must be callable or None, got {type(fn).__name__}")
    if scheduler is not None and not hasattr(scheduler, "step"):
        raise TypeError("scheduler must have a .step() method (a torch lr_scheduler or similar)")
    if isinstance(val, tuple) and (len(val) != 2 or not all(isinstance(t, torch.Tensor)
                                                           for t in val)):
        raise TypeError("val must be an (X, y) pair of tensors, batches of such pairs, or None")
    device = _check_device(device)
    if optimizer is None:
        optimizer = torch.optim.SGD(model.parameters(), lr=check_float("lr", lr, min_value=0.0))
    else:
        _check_optimizer(optimizer, model)
    plateau = (isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
               or getattr(scheduler, "needs_metric", False))
    if device is not None:
        model.to(device)

    history = last_history = History()
    try:
        _train(model, train, val, epochs, optimizer, loss_fn, after_backward, scheduler,
               scheduler_step, plateau, early_stop, on_step, progress, device, history,
               restore_on_divergence)
    except BaseException as exc:  # the stop button, or a callback's error: keep the epochs
        history.interrupted = True
        history.message = (f"interrupted by {type(exc).__name__} during epoch "
                           f"{history.epochs + 1}; {history.epochs} finished epoch(s) kept in "
                           "exc.history and training.last_history")
        try:
            exc.history = history
            if history.epochs and not isinstance(exc, KeyboardInterrupt):
                exc.add_note("fit: " + history.message)
        except (AttributeError, TypeError):
            pass
        if verbose and history.epochs and isinstance(exc, KeyboardInterrupt):
            print(history.message)
        raise
    if history.diverged and verbose:
        print(history.message)
    return history


def _params_finite(model: nn.Module) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in model.parameters() if p.is_floating_point())


def _train(model, train, val, epochs, optimizer, loss_fn, after_backward, scheduler,
           scheduler_step, plateau, early_stop, on_step, progress, device, history,
           restore_on_divergence):
    """The loop of :func:`fit` (arguments checked there); fills ``history``."""
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs, desc="epochs", leave=False)
    step = 0
    try:
        for epoch in range(epochs):
            t0 = time.perf_counter()
            saved = ({k: v.detach().clone() for k, v in model.state_dict().items()}
                     if restore_on_divergence else None)
            model.train()
            loss_sum, correct, seen, classify = 0.0, 0, 0, False
            for xb, yb in train:
                if device is not None:
                    xb, yb = xb.to(device), yb.to(device)
                out = _forward(model, xb, yb, loss_fn)
                loss = _loss(loss_fn, out, xb, yb, model)
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
                raise ValueError(f"train yielded no batches in epoch {epoch + 1} (is it empty, "
                                 "or an iterator used up by an earlier epoch?)")
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
    if history.diverged:
        history.params_finite = _params_finite(model)
        if restore_on_divergence and saved is not None:
            model.load_state_dict(saved)
            history.restored, history.params_finite = True, _params_finite(model)
