"""Chapter 05's experiments and explorer, built on :mod:`course_utils.scratch.batchnorm`.

Training runs with and without normalization across learning rates, activation statistics
over training, the loss along the gradient (smoothness), accuracy in train vs eval mode,
time per step, the running-statistics explorer, and the notebook's summaries and plots.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import nn

from ..core import data, diagnostics, explorers, plotting, repro, training
from ..core.validation import (
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_tensor,
)
from ..scratch.batchnorm import NORMS, norm_mlp


# chapter computations: training runs and what they measure
# --------------------------------------------------------------------------------------
def run(splits, norm: str = "batch", lr: float = 0.1, *, epochs: int = 6, batch_size: int = 64,
        seed: int = 0, placement: str = "before", depth: int = 10, width: int = 100,
        activation: str = "relu", init: str = "he_normal", on_step=None, before=None,
        n_train: int | None = None, progress: bool = False):
    """Build :func:`norm_mlp` (seeded with ``seed``) and train it with plain SGD on
    ``splits`` (shuffled batches seeded with ``seed``); return ``(model, history)``.

    ``n_train`` keeps only the first that many training examples (None: all);
    ``before(model)``, if given, is called once on the fresh model before training;
    ``on_step`` is passed to ``training.fit``."""
    data.check_splits(splits)
    seed = check_int("seed", seed, min_value=0)
    lr = check_float("lr", lr, min_value=0.0, min_inclusive=False)
    if before is not None and not callable(before):
        raise TypeError(f"before must be callable or None, got {type(before).__name__}")
    torch.manual_seed(repro.seed(seed))
    model = norm_mlp(splits.n_features, splits.n_classes, norm=norm, placement=placement,
                     depth=depth, width=width, activation=activation, init=init)
    n = len(splits.X_train) if n_train is None else check_int(
        "n_train", n_train, min_value=2, max_value=len(splits.X_train))
    train_batches = data.Batches(splits.X_train[:n], splits.y_train[:n], batch_size,
                                 shuffle=True, seed=seed)
    if before is not None:
        before(model)
    history = training.fit(model, train_batches, splits.val(), epochs=epochs, lr=lr,
                           on_step=on_step, progress=progress, verbose=False)
    return model, history


def lr_sweep(splits, lrs, norms=("none", "batch"), *, seeds=(0,), target: float = 0.9,
             record_at: float | None = None, every: int = 10, **run_kw) -> list[dict]:
    """Train one network per (seed, norm, lr) with :func:`run`.  One row per run: ``seed``,
    ``norm``, ``lr``, ``val_acc`` (last epoch; None if it diverged), ``diverged``,
    ``epochs_to_target`` (first epoch with validation accuracy ≥ ``target``, or None),
    ``history``, and ``record``: for runs at ``lr == record_at`` the
    :func:`record_activation_stats` of that run (same training, instrumented every
    ``every`` steps), else None."""
    lrs = [check_float("lrs[i]", lr, min_value=0.0, min_inclusive=False) for lr in lrs]
    if not lrs:
        raise ValueError("lrs must hold at least one learning rate")
    norms = [check_choice("norms[i]", n, NORMS) for n in norms]
    if not norms:
        raise ValueError(f"norms must hold at least one of {', '.join(NORMS)}")
    target = check_float("target", target, min_value=0.0, max_value=1.0)
    if record_at is not None:
        record_at = check_float("record_at", record_at, min_value=0.0, min_inclusive=False)
    if not isinstance(seeds, (list, tuple, range)) or len(seeds) == 0:
        raise TypeError("seeds must be a non-empty list of seeds")
    rows = []
    for seed, norm, lr in [(sd, n, lr) for sd in seeds for n in norms for lr in lrs]:
        record = None
        if record_at is not None and math.isclose(lr, record_at):
            record = record_activation_stats(splits, norm, lr, every=every, seed=seed,
                                             **run_kw)
            h = record["history"]
        else:
            _, h = run(splits, norm, lr, seed=seed, **run_kw)
        rows.append({
            "seed": seed, "norm": norm, "lr": lr, "diverged": h.diverged,
            "val_acc": None if h.diverged else h.val_acc[-1],
            "epochs_to_target": None if h.diverged else h.epochs_to(target),
            "history": h, "record": record,
        })
    return rows


def sweep_table(rows: list[dict]) -> str:
    """Text table of :func:`lr_sweep` rows: one line per lr, one column per norm, each cell
    the final validation accuracy of every seed (``div`` = diverged, ``-`` = not run)."""
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise TypeError("rows must be the non-empty list of dicts lr_sweep returns")
    norms = list(dict.fromkeys(r["norm"] for r in rows))
    lrs = sorted(dict.fromkeys(r["lr"] for r in rows))
    width = 6 * len(set(r.get("seed", 0) for r in rows)) + 2
    lines = ["lr      " + "".join(f"{n:>{width}}" for n in norms)]
    for lr in lrs:
        parts = []
        for n in norms:
            rs = [r for r in rows if r["norm"] == n and r["lr"] == lr]
            text = " ".join("div" if r["diverged"] else f"{r['val_acc']:.3f}"[1:] if
                            r["val_acc"] < 1 else "1.00" for r in rs) or "-"
            parts.append(f"{text:>{width}}")
        lines.append(f"{lr:<8g}" + "".join(parts))
    return "\n".join(lines)


@torch.no_grad()
def _train_mode_stats(model: nn.Module, X: torch.Tensor):
    """``(activation stats, hidden-Linear stats)`` of a *copy* of ``model`` in training mode
    (batch statistics, as the optimizer sees them; the real model's running statistics stay
    untouched).  The hidden Linear outputs are what a normalization layer receives: its
    *input*, which BN does not standardize (its output is standardized by construction)."""
    probe = copy.deepcopy(model).train()
    linears = diagnostics.linear_layers(probe)[:-1]  # all but the output layer
    with diagnostics.ActivationRecorder(probe) as acts, \
            diagnostics.ActivationRecorder(probe, linears) as pre:
        probe(X)
    return acts.stats, pre.stats


def loss_along_gradient(model: nn.Module, X: torch.Tensor, y: torch.Tensor,
                        step_sizes=(0.05, 0.1, 0.2, 0.4)) -> dict:
    """Santurkar et al. (2018): how the loss and its gradient change along the gradient.

    With g = ∇L(w) on ``(X, y)`` (training mode, on a copy of the model), returns
    ``loss`` = [L(w − η g) for η in step_sizes] and ``grad_change`` =
    [‖∇L(w − η g) − g‖₂ for η in step_sizes].  A smooth landscape has a small spread of
    ``loss`` and small ``grad_change``."""
    check_tensor("X", X, ndim=2, floating=True)
    check_tensor("y", y, ndim=1)
    steps = [check_float("step_sizes[i]", s, min_value=0.0) for s in step_sizes]
    if not steps:
        raise ValueError("step_sizes must hold at least one step size")
    probe = copy.deepcopy(model).train()
    loss_fn = nn.CrossEntropyLoss()
    params = [p for p in probe.parameters() if p.requires_grad]

    def grad_at():
        probe.zero_grad(set_to_none=True)
        loss = loss_fn(probe(X), y)
        loss.backward()
        return loss.item(), torch.cat([p.grad.reshape(-1) for p in params])

    with torch.no_grad():
        w0 = [p.detach().clone() for p in params]
    _, g0 = grad_at()
    losses, changes = [], []
    for eta in steps:
        with torch.no_grad():
            offset = 0
            for p, w in zip(params, w0):
                n = p.numel()
                p.copy_(w - eta * g0[offset:offset + n].view_as(p))
                offset += n
        loss, g = grad_at()
        losses.append(loss)
        changes.append(float((g - g0).norm()))
    return {"step_sizes": np.array(steps), "loss": np.array(losses),
            "grad_change": np.array(changes)}


def record_activation_stats(splits, norm: str = "batch", lr: float = 0.1, *, every: int = 5,
                            probe_size: int = 256, step_sizes=(0.05, 0.1, 0.2, 0.4),
                            **run_kw) -> dict:
    """One :func:`run` instrumented every ``every`` optimizer steps (and before the first).

    On a fixed probe batch (the first ``probe_size`` training examples) it records the
    mean and std of every activation layer's output (``diagnostics.activation_stats`` on
    a training-mode copy) and :func:`loss_along_gradient`.  Returns a dict: ``steps``
    (T,), ``mean``/``std`` (T, layers) of the activations, ``pre_std`` (T, layers) of the hidden Linear outputs (the normalization layers' inputs), ``loss_range`` (T,) = max − min of the loss along
    the gradient, ``grad_change`` (T,) = its largest gradient change, ``history``,
    ``model``.  A diverged run stops recording at the last finite step."""
    data.check_splits(splits)
    every = check_int("every", every, min_value=1)
    probe_size = check_int("probe_size", probe_size, min_value=2)
    X, y = splits.X_train[:probe_size], splits.y_train[:probe_size]
    rec = {"steps": [], "mean": [], "std": [], "pre_std": [], "loss_range": [],
           "grad_change": []}

    def snapshot(step, model):
        stats, pre = _train_mode_stats(model, X)
        land = loss_along_gradient(model, X, y, step_sizes)
        if not (np.all(np.isfinite(land["loss"])) and all(np.isfinite(s.std) for s in stats)):
            return
        rec["steps"].append(step)
        rec["mean"].append([s.mean for s in stats])
        rec["std"].append([s.std for s in stats])
        rec["pre_std"].append([s.std for s in pre])
        rec["loss_range"].append(float(land["loss"].max() - land["loss"].min()))
        rec["grad_change"].append(float(land["grad_change"].max()))

    def on_step(info):
        if info["step"] % every == 0:
            snapshot(info["step"], info["model"])

    model, history = run(splits, norm, lr, on_step=on_step,
                         before=lambda m: snapshot(0, m), **run_kw)
    out = {k: np.array(v, dtype=float) for k, v in rec.items()}
    out["steps"] = out["steps"].astype(int)
    out["history"], out["model"] = history, model
    return out


@torch.no_grad()
def accuracy_in_mode(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, train_mode: bool,
                     batch_size: int | None = None, sort_by_label: bool = False) -> float:
    """Accuracy of ``model`` on ``(X, y)`` predicted in training or evaluation mode, in
    batches of ``batch_size`` (None: one batch), optionally with the examples sorted by
    label (as a class-ordered data stream would arrive).

    The mode flag is restored afterwards but, on purpose, **not** the batch-norm running
    statistics: in training mode every forward pass updates them — that is the pitfall
    this function demonstrates.  Pass a copy of the model to keep the original."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    check_tensor("X", X, ndim=2, floating=True)
    check_tensor("y", y, ndim=1)
    if len(X) != len(y) or len(X) == 0:
        raise ValueError(f"X and y must be non-empty and of the same length, got {len(X)} "
                         f"and {len(y)}")
    train_mode = check_bool("train_mode", train_mode)
    sort_by_label = check_bool("sort_by_label", sort_by_label)
    batch_size = len(X) if batch_size is None else check_int("batch_size", batch_size,
                                                             min_value=1)
    if sort_by_label:
        order = torch.argsort(y, stable=True)
        X, y = X[order], y[order]
    was_training = model.training
    model.train(train_mode)
    try:
        correct = 0
        for i in range(0, len(X), batch_size):
            correct += int((model(X[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum())
    finally:
        model.train(was_training)
    return correct / len(X)


def time_per_step(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, steps: int = 30,
                  lr: float = 0.01, repeats: int = 3) -> float:
    """Median wall time (seconds) of one SGD training step (forward, backward, update) on
    ``(X, y)``, over ``repeats`` timings of ``steps`` steps each, on a copy of ``model``."""
    import time

    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    check_tensor("X", X, ndim=2, floating=True)
    check_tensor("y", y, ndim=1)
    steps = check_int("steps", steps, min_value=1)
    repeats = check_int("repeats", repeats, min_value=1)
    lr = check_float("lr", lr, min_value=0.0)
    model = copy.deepcopy(model).train()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()

    def one():
        opt.zero_grad(set_to_none=True)
        loss_fn(model(X), y).backward()
        opt.step()

    one()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(steps):
            one()
        times.append((time.perf_counter() - t0) / steps)
    return float(np.median(times))


def step_time_ratios(models: dict, X: torch.Tensor, y: torch.Tensor, *, rounds: int = 5,
                     steps: int = 10) -> dict:
    """``{name: t_name / t_first}``: time per SGD step of each model relative to the first,
    each the *minimum* over ``rounds`` interleaved timings of :func:`time_per_step` — the
    minimum is what the machine can do; background load only ever adds time."""
    if not isinstance(models, dict) or not models:
        raise TypeError("models must be a non-empty dict {name: nn.Module}")
    rounds = check_int("rounds", rounds, min_value=1)
    best = {k: math.inf for k in models}
    for _ in range(rounds):
        for k, m in models.items():
            best[k] = min(best[k], time_per_step(m, X, y, steps=steps, repeats=1))
    first = best[next(iter(models))]
    return {k: v / first for k, v in best.items()}


# --------------------------------------------------------------------------------------
# the explorer: batch size and momentum → running estimates and eval-mode outputs
# --------------------------------------------------------------------------------------
def running_stats_trajectory(batch_size: int = 32, momentum: float = 0.1, *, steps: int = 200,
                             shift_at: int | None = 100, means=(2.0, -1.0), stds=(1.5, 0.5),
                             eps: float = 1e-5, seed: int = 0) -> dict:
    """The running estimates of one batch-norm feature over ``steps`` training steps.

    Step t draws a mini-batch of ``batch_size`` values from N(μ_t, σ_t²); the population
    changes from ``(means[0], stds[0])`` to ``(means[1], stds[1])`` at step ``shift_at``
    (as a layer's input does when the layers below it learn), or never if None.  The
    running estimates follow PyTorch's rule (running var from the unbiased batch variance),
    vectorized in NumPy: ``tests/test_batchnorm.py`` checks them against ``nn.BatchNorm1d``.

    Returns arrays of length ``steps`` (value after each step): ``batch_mean``,
    ``batch_std`` (biased: what training-mode normalization divides by),
    ``running_mean``, ``running_std`` (√running_var), ``pop_mean``, ``pop_std``, and the
    evaluation-mode output on the current population, which is N(``eval_mean``,
    ``eval_std``²) with eval_mean = (μ_t − running_mean)/√(running_var + ε) and
    eval_std = σ_t/√(running_var + ε) (ideal: 0 and 1)."""
    batch_size = check_int("batch_size", batch_size, min_value=2, max_value=100_000)
    momentum = check_float("momentum", momentum, min_value=0.0, max_value=1.0)
    steps = check_int("steps", steps, min_value=1, max_value=100_000)
    if shift_at is not None:
        shift_at = check_int("shift_at", shift_at, min_value=0)
    eps = check_float("eps", eps, min_value=0.0, min_inclusive=False)
    seed = check_int("seed", seed, min_value=0)
    if len(means) != 2 or len(stds) != 2:
        raise ValueError("means and stds must each hold two values (before, after the shift)")
    means = [check_float("means[i]", m) for m in means]
    stds = [check_float("stds[i]", s, min_value=0.0, min_inclusive=False) for s in stds]
    after = np.zeros(steps, dtype=bool) if shift_at is None else np.arange(steps) >= shift_at
    pop_mean = np.where(after, means[1], means[0])
    pop_std = np.where(after, stds[1], stds[0])
    x = batches_for_trajectory(batch_size, steps, seed) * pop_std[:, None] + pop_mean[:, None]
    batch_mean = x.mean(axis=1)
    batch_var = x.var(axis=1)                      # biased
    unbiased = batch_var * batch_size / (batch_size - 1)
    running_mean, running_var = np.empty(steps), np.empty(steps)
    rm, rv = 0.0, 1.0                              # nn.BatchNorm1d's initial buffers
    for t in range(steps):
        rm = (1 - momentum) * rm + momentum * batch_mean[t]
        rv = (1 - momentum) * rv + momentum * unbiased[t]
        running_mean[t], running_var[t] = rm, rv
    denom = np.sqrt(running_var + eps)
    return {"steps": np.arange(1, steps + 1), "batch_mean": batch_mean,
            "batch_std": np.sqrt(batch_var), "running_mean": running_mean,
            "running_std": np.sqrt(running_var), "pop_mean": pop_mean.astype(float),
            "pop_std": pop_std.astype(float), "eval_mean": (pop_mean - running_mean) / denom,
            "eval_std": pop_std / denom, "batch_size": batch_size, "momentum": momentum,
            "shift_at": shift_at}


def batches_for_trajectory(batch_size: int, steps: int, seed: int = 0) -> np.ndarray:
    """The standard-normal draws behind :func:`running_stats_trajectory`: shape
    (steps, batch_size), float64, from ``numpy.random.default_rng(seed)``."""
    batch_size = check_int("batch_size", batch_size, min_value=1)
    steps = check_int("steps", steps, min_value=1)
    return repro.rng(seed).standard_normal(
        (steps, batch_size))


def render_running_stats(result: dict, values: dict | None = None):
    """One lean panel: running mean and std against the population's (dashed), the raw
    batch means (grey), and the evaluation-mode output before the shift and at the end
    in the title.  (One panel keeps a control change under ~100 ms.)"""
    if not isinstance(result, dict) or "running_mean" not in result:
        raise TypeError("result must be the dict running_stats_trajectory returns")
    fig, axes = plotting.new_figure(width=6.0, height=2.7, dpi=72)
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.16, top=0.83)
    ax = axes[0, 0]
    s = result["steps"]
    ax.plot(s, result["batch_mean"], color="0.75", lw=0.8)
    ax.plot(s, result["pop_mean"], "--", color="C0", lw=1)
    ax.plot(s, result["pop_std"], "--", color="C1", lw=1)
    ax.plot(s, result["running_mean"], color="C0", lw=1.8)
    ax.plot(s, result["running_std"], color="C1", lw=1.8)
    ax.set_ylim(-2.5, 4.0)
    ax.set_xlabel("training step")
    ax.set_ylabel("estimate (dashed: true)")
    ax.text(0.99, 0.93, "running mean", color="C0", ha="right", transform=ax.transAxes)
    ax.text(0.99, 0.83, "running std", color="C1", ha="right", transform=ax.transAxes)
    ax.text(0.99, 0.73, "batch mean", color="0.55", ha="right", transform=ax.transAxes)
    em, es = result["eval_mean"], result["eval_std"]
    k = len(s) - 1 if not result["shift_at"] else min(result["shift_at"], len(s)) - 1
    ax.set_title(f"batch {result['batch_size']}, momentum {result['momentum']:.3g} — "
                 f"eval-mode output (ideal mean 0, std 1):\nbefore the shift {em[k]:+.2f}, "
                 f"{es[k]:.2f};  at the end {em[-1]:+.2f}, {es[-1]:.2f}", fontsize=9)
    ax.locator_params(nbins=5)
    return fig


@explorers.register_explorer("05 batch norm")
def make_explorer() -> explorers.Explorer:
    """Batch size and momentum → running estimates over steps and eval-mode outputs."""
    import ipywidgets as widgets

    controls = {
        "batch_size": widgets.IntSlider(value=16, min=2, max=256, step=2,
                                        description="batch size"),
        "momentum": widgets.FloatLogSlider(value=0.1, base=10, min=-3, max=0, step=0.1,
                                           description="momentum"),
    }
    return explorers.Explorer(
        lambda batch_size, momentum: running_stats_trajectory(batch_size, momentum),
        render_running_stats, controls,
        title="Running statistics of batch norm (population shifts at step 100)")


# --------------------------------------------------------------------------------------
# summaries and plots for the notebook
# --------------------------------------------------------------------------------------
def best_epochs_to_target(rows: list[dict], seed: int | None = None) -> dict:
    """``{norm: (epochs, lr)}``: the fewest epochs to the target over the learning rates
    of :func:`lr_sweep` rows (of one ``seed`` if given; ``(None, None)`` if no run of that
    norm reached it)."""
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise TypeError("rows must be the non-empty list of dicts lr_sweep returns")
    best = {}
    for r in rows:
        if seed is not None and r.get("seed", 0) != seed:
            continue
        cur = best.setdefault(r["norm"], (None, None))
        ep = r["epochs_to_target"]
        if ep is not None and (cur[0] is None or ep < cur[0]):
            best[r["norm"]] = (ep, r["lr"])
    return best


def drift_factor(std: np.ndarray) -> float:
    """Largest over layers of max/min of a layer's activation std over training
    (``std`` of shape (checkpoints, layers) from :func:`record_activation_stats`)."""
    std = np.asarray(std, dtype=float)
    if std.ndim != 2 or std.size == 0:
        raise ValueError(f"std must be a non-empty (checkpoints, layers) array, got shape "
                         f"{std.shape}")
    return float(np.max(std.max(axis=0) / np.maximum(std.min(axis=0), 1e-12)))


def plot_before_after(x: torch.Tensor, y: torch.Tensor, axes=None):
    """Histograms of each feature of a batch before (``x``) and after (``y``) batch norm."""
    import matplotlib.pyplot as plt

    check_tensor("x", x, ndim=2)
    check_tensor("y", y, ndim=2)
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(7.0, 2.6), layout="constrained")
    for k in range(x.shape[1]):
        axes[0].hist(x[:, k].detach().numpy(), bins=30, alpha=0.55, label=f"feature {k}")
        axes[1].hist(y[:, k].detach().numpy(), bins=30, alpha=0.55, label=f"feature {k}")
    axes[0].set_title("a batch entering the layer")
    axes[1].set_title("after batch norm (γ = 1, β = 0)")
    for ax in axes:
        ax.set_xlabel("value")
        ax.set_ylabel("count")
    axes[0].legend()
    return axes


def plot_lr_sweep(rows: list[dict], target: float = 0.9, axes=None):
    """Left: final validation accuracy against the learning rate, one dot per seed and the
    median as a line (× = diverged).  Right: epochs to reach ``target`` (missing = never)."""
    import matplotlib.pyplot as plt

    best_epochs_to_target(rows)  # validates rows
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(7.0, 2.8), layout="constrained")
    for i, norm in enumerate(dict.fromkeys(r["norm"] for r in rows)):
        rs, c = [r for r in rows if r["norm"] == norm], f"C{i}"
        lrs = sorted(set(r["lr"] for r in rs))
        ok = [r for r in rs if not r["diverged"]]
        axes[0].plot([r["lr"] for r in ok], [r["val_acc"] for r in ok], "o", color=c, alpha=0.5)
        med = [(lr, np.median([r["val_acc"] for r in ok if r["lr"] == lr])) for lr in lrs
               if any(r["lr"] == lr for r in ok)]
        if med:
            axes[0].plot(*zip(*med), "-", color=c, label=norm)
        bad = [r["lr"] for r in rs if r["diverged"]]
        axes[0].plot(bad, [0.0] * len(bad), "x", color=c, ms=9, mew=2)
        reached = [r for r in rs if r["epochs_to_target"] is not None]
        axes[1].plot([r["lr"] for r in reached], [r["epochs_to_target"] for r in reached],
                     "o", color=c, alpha=0.6, label=norm)
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("learning rate (SGD)")
    axes[0].set_ylabel("final validation accuracy")
    axes[0].set_ylim(-0.05, 1.02)
    axes[0].legend(title="× diverged")
    axes[1].set_ylabel(f"epochs to {target:g} val. accuracy")
    axes[1].set_ylim(0, None)
    return axes


def plot_activation_drift(records: dict, axes=None, key: str = "pre_std"):
    """One panel per run: each layer's std (on the probe batch) over training steps, shallow
    layers light, deep layers dark.  ``key``: "pre_std" (the hidden Linear outputs: what a
    normalization layer receives) or "std" (the activations).  ``records``: {label: record}."""
    import matplotlib.pyplot as plt

    if not isinstance(records, dict) or not records:
        raise TypeError("records must be a non-empty dict {label: record_activation_stats(...)}")
    if axes is None:
        _, axes = plt.subplots(1, len(records), figsize=(3.6 * len(records), 2.8),
                               layout="constrained", sharey=True)
    axes = np.atleast_1d(axes)
    cmap = plt.get_cmap("viridis")
    for ax, (label, rec) in zip(axes, records.items()):
        n = rec[key].shape[1]
        for layer in range(n):
            ax.plot(rec["steps"], rec[key][:, layer], color=cmap(1 - layer / max(n - 1, 1)),
                    lw=1.2, label=f"layer {layer + 1}" if layer in (0, n - 1) else None)
        ax.set_title(label)
        ax.set_xlabel("training step")
    axes[0].set_ylabel(("std of each layer's input to the norm" if key == "pre_std"
                        else "activation std") + " (probe batch)", fontsize=8)
    axes[0].legend()
    return axes


def plot_smoothness(records: dict, axes=None):
    """Santurkar et al.'s two measurements over training, one line per run (log scale):
    the spread of the loss along the gradient and the largest change of the gradient."""
    import matplotlib.pyplot as plt

    if not isinstance(records, dict) or not records:
        raise TypeError("records must be a non-empty dict {label: record_activation_stats(...)}")
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(7.0, 2.8), layout="constrained")
    for i, (label, rec) in enumerate(records.items()):
        axes[0].plot(rec["steps"], rec["loss_range"], color=f"C{i}", label=label)
        axes[1].plot(rec["steps"], rec["grad_change"], color=f"C{i}", label=label)
    axes[0].set_ylabel("loss range along −∇L")
    axes[1].set_ylabel("max ‖∇L(w − η∇L) − ∇L(w)‖")
    for ax in axes:
        ax.set_yscale("log")
        ax.set_xlabel("training step")
    axes[0].legend()
    return axes
