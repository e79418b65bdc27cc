"""Chapter 12 — training beyond one process: data parallelism with torch.distributed (gloo,
``DistributedDataParallel``, ``DistributedSampler``), ring all-reduce, large batches,
mixed precision, checkpoints, and an explorer.

The multi-process experiments run in workers started by ``scratch.distributed.launch``;
their bodies are module-level functions here (a spawned/forked child imports them).  All
of a notebook's distributed experiments run in as few launches as possible.
"""

from __future__ import annotations

import os
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data.distributed import DistributedSampler

from ..core import data, models, plotting, repro, training
from ..core.explorers import Explorer, register_explorer
from ..core.validation import check_choice, check_int
from ..scratch import checkpoint as ckpt
from ..scratch import distributed as D
from ..scratch import large_batch as lb
from ..scratch import mixed_precision as mpx

HIDDEN = [32]
_CACHE: dict = {}


#: The digits split every experiment of the chapter uses (split seed 0), loaded once.
digits = data.cached_digits


def make_model(seed: int, *, batch_norm: bool = False, dropout: float = 0.0,
               hidden=None) -> nn.Sequential:
    """The 64-32-10 ReLU MLP every experiment trains (same init for the same seed)."""
    torch.manual_seed(repro.seed(seed))
    return models.mlp(64, 10, hidden=list(hidden or HIDDEN), batch_norm=batch_norm,
                      dropout=dropout)


def _optimizer(model, cfg):
    opt = torch.optim.SGD(model.parameters(), lr=cfg["lr"], momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=cfg.get("decay_every", 25), gamma=0.5)
    return opt, sched


def shard_batches(n: int, world_size: int, rank: int, batch: int, seed: int, steps: int,
                  start: int = 0, drop_last: bool = False):
    """The index batches ``rank`` sees at steps ``start … steps−1``: ``DistributedSampler``
    (shuffled with ``seed``, ``set_epoch(epoch)`` every epoch) cut into batches of ``batch``."""
    sampler = DistributedSampler(range(n), num_replicas=world_size, rank=rank, shuffle=True,
                                 seed=repro.seed(seed), drop_last=drop_last)
    per_epoch = -(-len(sampler) // batch)
    out = []
    for step in range(start, steps):
        epoch, k = divmod(step, per_epoch)
        if not out or k == 0 or step == start:
            sampler.set_epoch(epoch)
            order = list(sampler)
        out.append(order[k * batch:(k + 1) * batch])
    return out


# ------------------------------------------------------------------ the DDP worker body
def ddp_train(rank: int, world_size: int, cfg: dict) -> dict:
    """One data-parallel run (call inside ``launch``): the MLP wrapped in DDP, each rank on
    its ``DistributedSampler`` shard with ``cfg["batch"]`` examples per step, SGD with
    momentum and a StepLR schedule, ``cfg["steps"]`` steps.  Optional: ``ckpt_dir`` +
    ``every`` (save a full checkpoint per rank), ``resume`` (start from it), ``crash_at``
    (rank 1 dies at that step), ``batch_norm``/``sync_bn``/``dropout``/``seed_per_rank``,
    ``n`` (use only the first n training examples).  Returns the final parameters
    (rank 0), the first dropout mask, and what went wrong with SyncBatchNorm."""
    X, y = cfg["X"][: cfg.get("n")], cfg["y"][: cfg.get("n")]
    model = make_model(cfg["seed"], batch_norm=cfg.get("batch_norm", False),
                       dropout=cfg.get("dropout", 0.0))
    out = {"rank": rank}
    if cfg.get("sync_bn"):
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    torch.manual_seed(repro.seed(cfg["seed"]) + (1000 * (rank + 1) if cfg.get("seed_per_rank") else 0))
    try:
        net = DDP(model)
    except ValueError as exc:  # SyncBatchNorm on the CPU: "only work with GPU modules"
        out["error"] = str(exc)
        return out
    opt, sched = _optimizer(model, cfg)
    start, path = 0, None
    if cfg.get("ckpt_dir"):
        path = os.path.join(cfg["ckpt_dir"], f"rank{rank}.pt")
    if cfg.get("resume"):
        start = ckpt.load_checkpoint(path, model, opt, sched)["step"]
    rng_at_dropout = []  # the generator's state when the first dropout mask is drawn
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.register_forward_pre_hook(lambda mod, i: rng_at_dropout.append(
                torch.get_rng_state()) if not rng_at_dropout else None)
    batches = shard_batches(len(X), world_size, rank, cfg["batch"], cfg["seed"], cfg["steps"],
                            start, cfg.get("drop_last", False))
    for step, idx in enumerate(batches, start):
        if step == cfg.get("crash_at") and rank == 1:
            os._exit(1)  # a worker killed mid-training (no clean-up, like the OOM killer)
        opt.zero_grad()
        F.cross_entropy(net(X[idx]), y[idx]).backward()
        opt.step()
        sched.step()
        if path and cfg.get("every") and (step + 1) % cfg["every"] == 0:
            ckpt.save_checkpoint(path, model, opt, sched, step=step + 1)
    out["params"] = [p.detach().clone() for p in model.parameters()]
    out["dropout_rng"] = rng_at_dropout[0] if rng_at_dropout else None
    return out


def reference_train(cfg: dict, world_size: int = 2) -> list[torch.Tensor]:
    """The same run in this one process with batch ``world_size · cfg["batch"]``: the batch
    at each step is the union of the shards' batches (``training.fit`` on those batches)."""
    X, y = cfg["X"][: cfg.get("n")], cfg["y"][: cfg.get("n")]
    model = make_model(cfg["seed"], batch_norm=cfg.get("batch_norm", False),
                       dropout=cfg.get("dropout", 0.0))
    opt, sched = _optimizer(model, cfg)
    batches = shard_batches(len(X), 1, 0, world_size * cfg["batch"], cfg["seed"], cfg["steps"])
    training.fit(model, [(X[i], y[i]) for i in batches], epochs=1, optimizer=opt,
                 scheduler=sched, scheduler_step="batch", progress=False, verbose=False)
    return [p.detach().clone() for p in model.parameters()]


def max_diff(a, b) -> float:
    """Largest absolute difference between two lists of parameters."""
    return max(float((p - q).abs().max()) for p, q in zip(a, b))


def _timed_steps(model, X, y, batch: int, steps: int, seed: int) -> float:
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    g = repro.generator(seed)
    times = []
    for _ in range(steps):
        idx = torch.randint(len(X), (batch,), generator=g)
        t0 = time.perf_counter()
        opt.zero_grad()
        F.cross_entropy(model(X[idx]), y[idx]).backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def step_times(rank: int, world_size: int, batch: int = 256, steps: int = 30,
               hidden=(256, 256)) -> dict:
    """Median step time of one process alone (rank 0, the others wait) at batch 2B and B,
    then of the DDP group at B per worker (global batch 2B)."""
    X, y = torch.randn(2048, 64, generator=repro.generator(7)), torch.arange(2048) % 10
    out = {}
    if rank == 0:
        single = make_model(0, hidden=list(hidden))
        _timed_steps(single, X, y, batch, 5, 1)  # warm-up
        out["1 process, batch 2B"] = _timed_steps(single, X, y, world_size * batch, steps, 1)
        out["1 process, batch B"] = _timed_steps(single, X, y, batch, steps, 1)
    dist.barrier()
    net = DDP(make_model(0, hidden=list(hidden)))
    _timed_steps(net, X, y, batch, 5, 2 + rank)
    out[f"{world_size} processes, B each"] = _timed_steps(net, X, y, batch, steps, 2 + rank)
    return out


def experiments(rank: int, world_size: int, jobs: dict) -> dict:
    """Run several named jobs in one launch (each a ``(function, args)`` pair of this
    module, e.g. ``(ddp_train, (cfg,))``); returns ``{name: result}``."""
    results = {}
    for name, (fn, args) in jobs.items():
        results[name] = fn(rank, world_size, *args)
        dist.barrier()
    return results


def ring_job(rank: int, world_size: int, numel: int, seed: int) -> dict:
    """Ring all-reduce vs ``dist.all_reduce`` (see ``scratch.distributed.ring_check_worker``)."""
    return D.ring_check_worker(rank, world_size, numel, repro.seed(seed))


# ------------------------------------------------------------ large batches: LR scaling
def large_batch_run(seed: int, batch: int, lr: float, warmup_steps: int = 0, *,
                    base_lr: float | None = None, base_batch: int | None = None,
                    epochs: int = 10, hidden=None) -> dict:
    """Train the MLP on the digits with SGD (momentum 0.9) at ``batch`` for ``epochs``; the
    learning rate follows ``scale_lr_for_batch(base_lr, base_batch, batch, step,
    warmup_steps)`` per step (``lr`` itself when no base is given).  Returns test accuracy
    and the training-loss curve per epoch."""
    d = digits()
    model = make_model(seed, hidden=hidden)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    sched = None
    if base_lr is not None:
        sched = lb.warmup_scheduler(opt, base_lr, base_batch, batch, warmup_steps)
    train = data.Batches(*d.train(), batch_size=batch, shuffle=True, seed=seed)
    h = training.fit(model, train, epochs=epochs, optimizer=opt, scheduler=sched,
                     scheduler_step="batch", progress=False, verbose=False)
    acc = training.evaluate(model, d.test())[1] if not h.diverged else 0.1
    return {"acc": float(acc), "train_loss": list(h.train_loss), "diverged": h.diverged}


class Autocast(nn.Module):
    """Run ``inner`` under ``torch.autocast("cpu", dtype=torch.bfloat16)``; fp32 logits out."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return self.inner(x).float()


BASE_BATCH, BASE_LR = 16, 0.05


def curve_run(batch: int, precision: str = "fp32", seed: int = 0, epochs: int = 3) -> dict:
    """A short run at (effective) ``batch`` with the linearly scaled rate and a one-epoch
    warm-up from (BASE_BATCH, BASE_LR); ``precision`` "bf16" trains under autocast.  The
    training loss is recorded after every step against the examples seen so far."""
    check_choice("precision", precision, ["fp32", "bf16"])
    d = digits()
    model = make_model(seed)
    net = Autocast(model) if precision == "bf16" else model
    opt = torch.optim.SGD(model.parameters(), lr=BASE_LR, momentum=0.9)
    train = data.Batches(*d.train(), batch_size=batch, shuffle=True, seed=seed)
    sched = lb.warmup_scheduler(opt, BASE_LR, BASE_BATCH, batch, warmup_steps=len(train))
    seen, losses = [], []

    def on_step(info):
        seen.append((len(seen) + 1) * batch)
        losses.append(float(info["loss"]))

    training.fit(net, train, epochs=epochs, optimizer=opt, scheduler=sched,
                 scheduler_step="batch", on_step=on_step, progress=False, verbose=False)
    return {"seen": np.array(seen), "loss": np.array(losses),
            "acc": float(training.evaluate(model, d.test())[1])}


# ------------------------------------------------------------------------------ explorer
WORKERS, PER_WORKER, ACCUM = (1, 2, 4), (8, 16, 32), (1, 2, 4)
PRECISIONS = ("fp32", "bf16")


def explorer_grid(seed: int = 0, epochs: int = 3, progress=None) -> dict:
    """Every (effective batch, precision) the explorer can reach, trained once and cached:
    the equality claims (W workers × b × a accumulation steps == one batch of W·b·a) are what
    make the curve depend on the effective batch and the precision only."""
    key = ("grid", seed, epochs, repro.seed_offset())
    if key not in _CACHE:
        batches = sorted({w * b * a for w in WORKERS for b in PER_WORKER for a in ACCUM})
        grid, todo = {}, [(b, p) for p in PRECISIONS for b in batches]
        for i, (b, p) in enumerate(todo):
            grid[(b, p)] = curve_run(b, p, seed, epochs)
            if progress is not None:
                progress((i + 1) / len(todo))
        _CACHE[key] = grid
    return _CACHE[key]


def _n_params() -> int:
    return models.count_parameters(make_model(0))


def explore_compute(workers: int = 2, per_worker_batch: int = 16, accumulation: int = 1,
                    precision: str = "fp32") -> dict:
    """Effective batch, bytes per worker and per step, and the cached loss curve."""
    w = check_int("workers", workers, min_value=1)
    b = check_int("per_worker_batch", per_worker_batch, min_value=1)
    a = check_int("accumulation", accumulation, min_value=1)
    check_choice("precision", precision, PRECISIONS)
    eff = w * b * a
    grid = explorer_grid()
    if (eff, precision) not in grid:
        raise ValueError(f"effective batch {eff} is not in the precomputed grid")
    n = _n_params()
    act_bytes = 2 if precision == "bf16" else 4
    width = 64 + sum(HIDDEN) * 2 + 10  # inputs, pre/post activations, logits per example
    memory = {"parameters": 4 * n, "gradients": 4 * n, "momentum": 4 * n,
              "activations": act_bytes * width * b}
    comm = 4 * D.ring_volume(n, w)  # fp32 gradients, once per optimizer step
    run = grid[(eff, precision)]
    return {"effective": eff, "memory": memory, "comm": comm, "n_params": n,
            "seen": run["seen"], "loss": run["loss"], "acc": run["acc"],
            "lr": lb.scale_lr_for_batch(BASE_LR, BASE_BATCH, eff),
            "reference": grid[(BASE_BATCH, "fp32")], "diverged": not np.isfinite(run["loss"]).all()}


def explore_render(result: dict, values: dict):
    """Loss curve (smoothed) against examples seen, and the memory/communication bars."""
    fig, axes = plotting.new_figure(ncols=2, width=9.0, height=3.0,
                                    margins={"left": 0.07, "right": 0.98, "wspace": 0.45})
    ax, bx = axes[0]

    def smooth(run, points=60):  # mean loss over equal spans of examples seen
        edges = np.linspace(0, run["seen"][-1], points + 1)
        bins = np.clip(np.searchsorted(edges, run["seen"], side="left") - 1, 0, points - 1)
        sums = np.bincount(bins, weights=run["loss"], minlength=points)
        counts = np.bincount(bins, minlength=points)
        keep = counts > 0
        return edges[1:][keep], np.log10(np.maximum(sums[keep] / counts[keep], 1e-4))

    ax.plot(*smooth(result["reference"]), color="0.7", lw=1, label=f"batch {BASE_BATCH}, fp32")
    ax.plot(*smooth(result), lw=1.6, label=f"batch {result['effective']}, {values['precision']}")
    ax.set_xlabel("training examples seen")
    ax.set_ylabel("log10 training loss (smoothed)")
    ax.legend(fontsize=8, loc="upper right")
    mem = result["memory"]
    names = list(mem) + ["sent per step"]
    vals = [v / 1024 for v in mem.values()] + [result["comm"] / 1024]
    pos = np.arange(len(names))
    bx.barh(pos, vals, color=["C0"] * len(mem) + ["C3"])
    bx.set_yticks(pos, names)
    bx.set_xlabel("KiB per worker")
    fig.suptitle(f"{values['workers']} worker(s) × batch {values['per_worker_batch']} × "
                 f"{values['accumulation']} accumulation step(s), {values['precision']}: "
                 f"effective batch {result['effective']}, lr {result['lr']:.3g}, "
                 f"test acc {result['acc']:.3f}", fontsize=9)
    return fig


@register_explorer("12 training at scale")
def make_explorer() -> Explorer:
    """Workers, per-worker batch, accumulation and precision → effective batch, memory and
    communication per worker, and the loss curve of that effective batch (precomputed)."""
    import ipywidgets as widgets

    style = {"description_width": "110px"}  # the labels in full
    controls = {
        "workers": widgets.SelectionSlider(options=list(WORKERS), value=2,
                                           description="workers", style=style),
        "per_worker_batch": widgets.SelectionSlider(options=list(PER_WORKER), value=16,
                                                    description="batch/worker", style=style),
        "accumulation": widgets.SelectionSlider(options=list(ACCUM), value=1,
                                                description="accum. steps", style=style),
        "precision": widgets.ToggleButtons(options=list(PRECISIONS), value="fp32",
                                           description="precision", style=style),
    }
    return Explorer(explore_compute, explore_render, controls,
                    title="Training at scale explorer")


# ----------------------------------------------------------------------- on paper
def memory_table(sizes=(1.5e9, 7.5e9, 175e9), n_devices: int = 64) -> list[dict]:
    """GB of model states per device for each strategy (mixed-precision Adam, K = 12)."""
    rows = []
    for psi in sizes:
        row = {"parameters": psi}
        for s in D.STRATEGIES:
            row[s] = D.memory_per_device(psi, n_devices, s) / 1e9
        rows.append(row)
    return rows


# ------------------------------------------------------------------ checkpoints, 1 process
def single_run(seed: int, steps: int, *, path=None, stop_at: int | None = None,
               resume: bool = False, rng: bool = True, batch: int = 32):
    """One process, the MLP with dropout 0.2, SGD + momentum + StepLR, ``steps`` steps on
    sampler-ordered batches.  ``stop_at``: save a checkpoint to ``path`` at that step and
    stop (return None) — a run that is killed right after its last checkpoint;
    ``resume``: start from ``path``; ``rng=False`` saves no generator states.  Returns the
    final parameters."""
    X, y = digits().train()
    torch.manual_seed(repro.seed(seed))  # what a fresh process does first
    model = make_model(seed, dropout=0.2)
    opt, sched = _optimizer(model, {"lr": 0.05})
    start = ckpt.load_checkpoint(path, model, opt, sched)["step"] if resume else 0
    for step, idx in enumerate(shard_batches(len(X), 1, 0, batch, seed, steps, start), start):
        if step == stop_at:
            ckpt.save_checkpoint(path, model, opt, sched, step=step, rng=rng)
            return None
        opt.zero_grad()
        F.cross_entropy(model(X[idx]), y[idx]).backward()
        opt.step()
        sched.step()
    return [p.detach().clone() for p in model.parameters()]


# ------------------------------------------------------------------ mixed precision
def scaler_comparison(seed: int = 0, steps: int = 24, blow_up_at=(3, 10)) -> dict:
    """``mixed_precision.LossScaler`` vs ``torch.amp.GradScaler("cpu")`` on the same model,
    batches and overflows (growth every 4 good steps): scales, skipped steps, parameters."""
    X, y = digits().train()
    batches = [(X[i], y[i]) for i in shard_batches(len(X), 1, 0, 32, seed, steps)]
    ours = mpx.scaled_training(make_model(seed), batches, 0.05,
                               mpx.LossScaler(init_scale=2.0**10, growth_interval=4),
                               blow_up_at=set(blow_up_at))
    ref = mpx.scaled_training(make_model(seed), batches, 0.05,
                              torch.amp.GradScaler("cpu", init_scale=2.0**10, growth_interval=4),
                              blow_up_at=set(blow_up_at))
    return {"ours": ours, "torch": ref}



def lr_scaling_study(seeds=(0, 1, 2), epochs: int = 10) -> dict:
    """Test accuracy per seed: small batch (16, lr 0.05), k = 16 and k = 64 times larger
    batches at the linearly scaled lr with and without a 2-epoch warm-up, and k = 16 at the
    unscaled lr.  ``{setting: [acc per seed]}``."""
    n = len(digits().X_train)
    out: dict = {}
    for s in seeds:
        runs = {"small batch": (BASE_BATCH, None, 0)}
        for k in (16, 64):
            b = BASE_BATCH * k
            two_epochs = 2 * -(-n // b)
            runs[f"k={k}, scaled, warm-up"] = (b, BASE_LR, two_epochs)
            runs[f"k={k}, scaled, no warm-up"] = (b, BASE_LR, 0)
        runs["k=16, unscaled"] = (BASE_BATCH * 16, None, 0)
        for name, (b, base, warm) in runs.items():
            if base is None:
                r = large_batch_run(s, b, BASE_LR, epochs=epochs)
            else:
                r = large_batch_run(s, b, BASE_LR, warm, base_lr=BASE_LR,
                                    base_batch=BASE_BATCH, epochs=epochs)
            out.setdefault(name, []).append(r["acc"])
    return out
