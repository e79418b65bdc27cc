"""Chapter 10's experiments and explorer: transfer from digits 0–4 to digits 5–9 with few
labels, which layers transfer, negative transfer, unsupervised / auxiliary / self-supervised
pretraining, and the fine-tuning explorer.

Every "pretrained" model is trained here, in seconds: 64-128-64-64 ReLU MLPs, full-batch Adam
on a few hundred 8×8 digits, every seed of an experiment in one batched computation
(:class:`course_utils.core.stacked.StackedMLP`), cached per seed list
(``functools.lru_cache``).  Nothing is downloaded.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..core import data, models, repro
from ..core.explorers import Explorer, register_explorer
from ..core.stacked import StackedMLP
from ..core.validation import check_choice, check_float, check_int
from ..scratch import pretraining as pre
from ..scratch import transfer as tr

HIDDEN = (128, 64, 64)   #: hidden widths of every classifier of the chapter
N_CLASSES = 5            #: source digits 0–4; target digits 5–9 (label = digit − 5)
SOURCES = ("digits 0–4", "shifted digits 0–4", "random labels", "permuted pixels",
           "autoencoder", "rotation", "shapes")
TARGETS = ("digits 5–9", "shifted digits 5–9")
PRETRAIN_STEPS, STEPS, LR = 100, 150, 10 ** -2.5   # LR ≈ 3.2e-3
MAX_SHIFT = 2            #: the shifted sets move each digit by up to 2 pixels each way


@dataclass
class TransferData:
    """Flattened 8×8 digits, standardized with one global mean/std (so rotations and
    shifts keep the meaning of a pixel value)."""

    X_source: torch.Tensor   # digits 0–4 of the training split, labels y_source 0–4
    y_source: torch.Tensor
    X_pool: torch.Tensor     # digits 5–9 of the training split: labels are drawn from here
    y_pool: torch.Tensor     # (digit − 5); the images alone are the "unlabeled" data
    X_test: torch.Tensor     # digits 5–9 of the validation + test splits
    y_test: torch.Tensor

    @property
    def max_per_class(self) -> int:
        return int(torch.bincount(self.y_pool).min())

    def labeled_index(self, per_class: int, seed: int = 0) -> np.ndarray:
        """Indices into the pool of ``per_class`` examples of each class (``repro.rng(seed)``)."""
        per_class = check_int("per_class", per_class, min_value=1, max_value=self.max_per_class)
        rng, y = repro.rng(seed), self.y_pool.numpy()
        return np.concatenate([rng.choice(np.flatnonzero(y == c), per_class, replace=False)
                               for c in range(N_CLASSES)])


def _shift(X: torch.Tensor, seed: int) -> torch.Tensor:
    out = pre.shift_images(X.reshape(-1, 1, 8, 8), MAX_SHIFT, repro.generator(seed), fill=_BG[0])
    return out.reshape(len(X), 64)


_BG = [0.0]


@functools.lru_cache(maxsize=4)
def _load(offset: int, target: str) -> TransferData:
    d = data.load_digits_data(images=True, val_size=0.2, test_size=0.2, seed=0)
    _BG[0] = float(d.X_train.min())
    flat = lambda X: X.reshape(len(X), -1)  # noqa: E731
    src, pool = d.y_train < 5, d.y_train >= 5
    X_rest, y_rest = torch.cat([d.X_val, d.X_test]), torch.cat([d.y_val, d.y_test])
    test = y_rest >= 5
    out = TransferData(flat(d.X_train[src]), d.y_train[src], flat(d.X_train[pool]),
                       d.y_train[pool] - 5, flat(X_rest[test]), y_rest[test] - 5)
    if target == "shifted digits 5–9":  # every image moved once, at random
        out.X_source, out.X_pool, out.X_test = (_shift(out.X_source, 41), _shift(out.X_pool, 42),
                                                _shift(out.X_test, 43))
    return out


def load(target: str = "digits 5–9") -> TransferData:
    """The chapter's data for ``target`` (cached; the split follows ``COURSE_SEED_OFFSET``)."""
    check_choice("target", target, TARGETS)
    return _load(repro.seed_offset(), target)


def new_model(n_out: int = N_CLASSES, seed: int = 0, hidden=HIDDEN) -> nn.Sequential:
    """A fresh 64-128-64-64-``n_out`` ReLU MLP with PyTorch's default initialization."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(repro.seed(seed))
        return models.mlp(64, n_out, hidden=list(hidden))


def _rates(n_runs: int, n_layers: int, lr: float, n_frozen: int = 0,
           body_lr: float | None = None) -> torch.Tensor:
    r = torch.full((n_runs, n_layers), float(lr if body_lr is None else body_lr))
    r[:, -1] = lr
    r[:, :n_frozen] = 0.0
    return r


# ------------------------------------------------------------------------- pretraining
def _source_task(source: str, seeds: tuple) -> tuple[torch.Tensor, torch.Tensor, int]:
    d = load("shifted digits 5–9" if source == "shifted digits 0–4" else "digits 5–9")
    if source == "rotation":  # each unlabeled image once, at a random rotation
        r = torch.from_numpy(repro.rng(11).integers(0, 4, len(d.X_pool)))
        imgs = d.X_pool.reshape(-1, 1, 8, 8)
        X = torch.stack([pre.rotate(imgs[i:i + 1], int(k))[0] for i, k in enumerate(r)])
        return X.reshape(len(X), -1), r, 4
    if source == "shapes":
        X, y = data.draw_shapes(540, size=16, noise=0.1, seed=12)   # drawn at 16×16,
        X = nn.functional.avg_pool2d(torch.from_numpy(X), 2)        # averaged down to 8×8
        return ((X - X.mean()) / X.std()).reshape(len(X), -1), torch.from_numpy(y), 4
    X, y = d.X_source, d.y_source
    if source == "shifted digits 0–4":  # two more shifted copies: a larger, more varied source
        X = torch.cat([X, _shift(X, 44), _shift(X, 45)])
        y = y.repeat(3)
    elif source == "random labels":
        y = torch.from_numpy(repro.rng(13).integers(0, N_CLASSES, len(y)))
    elif source == "permuted pixels":
        X = X[:, torch.from_numpy(repro.rng(14).permutation(64))]
    return X, y, N_CLASSES


@functools.lru_cache(maxsize=32)
def _pretrain(source: str, seeds: tuple, offset: int, steps: int):
    if source == "autoencoder":  # 64-128-64-64 encoder, mirrored decoder, on unlabeled 5–9
        X = load().X_pool
        ae = StackedMLP.from_models([new_model(64, s, hidden=HIDDEN + HIDDEN[-2::-1])
                                        for s in seeds])
        loss = tr.train_stacked(ae, X, X.expand(len(seeds), -1, -1),
                                _rates(len(seeds), ae.n_layers, LR), steps=steps, loss="mse")
        bodies = [m[:2 * len(HIDDEN)] for m in ae.to_models()]
        out = [nn.Sequential(*b, nn.Linear(HIDDEN[-1], N_CLASSES)) for b in bodies]
        return out, (1.0 - loss).numpy()  # fraction of the (unit) variance reconstructed
    X, y, n_out = _source_task(source, seeds)
    net = StackedMLP.from_models([new_model(n_out, s) for s in seeds])
    tr.train_stacked(net, X, y.expand(len(seeds), -1), _rates(len(seeds), net.n_layers, LR),
                     steps=steps)
    with torch.no_grad():
        acc = (net(X).argmax(-1) == y).float().mean(1).numpy()
    return net.to_models(), acc


def pretrain(source: str = "digits 0–4", seeds=(0, 1, 2, 3, 4),
             steps: int = PRETRAIN_STEPS) -> tuple[list[nn.Sequential], np.ndarray]:
    """``(models, score)``: one model per seed pretrained on ``source`` (cached: clone before
    training them).  ``score`` per seed: training accuracy on the source task (autoencoder:
    1 − reconstruction MSE, the fraction of the variance it reconstructs).

    Sources: digits 0–4 (related), shifted digits 0–4 (related, more varied; for the shifted
    target), random labels and permuted pixels (unrelated), an autoencoder and a rotation
    pretext task on the *unlabeled* target images, drawn shapes (an auxiliary task)."""
    check_choice("source", source, SOURCES)
    seeds = tuple(check_int("seed", s, min_value=0) for s in seeds)
    steps = check_int("steps", steps, min_value=1)
    return _pretrain(source, seeds, repro.seed_offset(), steps)


# ----------------------------------------------------------------------- target runs
@dataclass(frozen=True)
class Config:
    """One way to train on the target: ``source`` None = from scratch; else its model with
    a new head, the first ``n_frozen`` Linear layers frozen (3 = a frozen feature extractor,
    0 = fine-tune everything); ``reinit``: layers above ``n_frozen`` start afresh (AnB)."""

    name: str
    source: str | None = None
    n_frozen: int = 0
    reinit: bool = False
    body_lr: float | None = None


SCRATCH = Config("from scratch")
FROZEN = Config("frozen features", "digits 0–4", 3)
FINE_TUNED = Config("fine-tuned", "digits 0–4", 0)


def _target_models(cfg: Config, seeds: tuple) -> list[nn.Sequential]:
    if cfg.source is None:
        return [new_model(seed=100 + s) for s in seeds]
    out = []
    for s, m in zip(seeds, pretrain(cfg.source, seeds)[0]):
        m = tr.replace_head(m, N_CLASSES, generator=repro.generator(500 + s))
        if cfg.reinit:
            tr.reinit_above(m, cfg.n_frozen, generator=repro.generator(600 + s))
        out.append(m)
    return out


def compare(configs, per_class: int, seeds=(0, 1, 2, 3, 4), *, target: str = "digits 5–9",
            steps: int = STEPS, lr: float = LR, curve_every: int = 0, progress=None) -> dict:
    """Test accuracy of every ``Config`` trained on ``per_class`` labels per class of
    ``target`` (the same labeled examples for every config of a seed), all runs at once.

    Returns ``{name: accuracies (n_seeds,)}``; with ``curve_every`` = k > 0 also
    ``{"curves": {name: (n_seeds, steps // k) accuracies}, "steps": [...]}``."""
    d = load(target)
    per_class = check_int("per_class", per_class, min_value=1, max_value=d.max_per_class)
    seeds = tuple(check_int("seed", s, min_value=0) for s in seeds)
    lr = check_float("lr", lr, min_value=0.0, min_inclusive=False)
    idx = [d.labeled_index(per_class, s) for s in seeds]
    X = torch.stack([d.X_pool[i] for i in idx])
    y = torch.stack([d.y_pool[i] for i in idx])
    nets, rates = [], []
    for cfg in configs:
        nets += _target_models(cfg, seeds)
        rates.append(_rates(len(seeds), len(HIDDEN) + 1, lr, cfg.n_frozen, cfg.body_lr))
    net = StackedMLP.from_models(nets)
    n = len(configs)
    curves: list = []

    def on_step(t):
        if progress is not None:
            progress(t / steps)
        if curve_every and t % curve_every == 0:
            with torch.no_grad():
                curves.append((net(d.X_test).argmax(-1) == d.y_test).float().mean(1))

    tr.train_stacked(net, X.repeat(n, 1, 1), y.repeat(n, 1), torch.cat(rates), steps=steps,
                     on_step=on_step)
    with torch.no_grad():
        acc = (net(d.X_test).argmax(-1) == d.y_test).float().mean(1).reshape(n, len(seeds))
    out = {cfg.name: acc[i].numpy() for i, cfg in enumerate(configs)}
    if curve_every:
        c = torch.stack(curves, 1).reshape(n, len(seeds), -1)
        out["curves"] = {cfg.name: c[i].numpy() for i, cfg in enumerate(configs)}
        out["steps"] = list(range(curve_every, steps + 1, curve_every))
    return out


def label_curve(configs, budgets=(1, 5, 20, 100), seeds=(0, 1, 2, 3, 4), **kw) -> dict:
    """``{name: (len(budgets), n_seeds) accuracies}``: :func:`compare` at every budget."""
    rows = [compare(configs, k, seeds, **kw) for k in budgets]
    return {cfg.name: np.stack([r[cfg.name] for r in rows]) for cfg in configs}


def features(model: nn.Sequential, X: torch.Tensor, n_layers: int = len(HIDDEN)) -> torch.Tensor:
    """Activations after the first ``n_layers`` Linear → ReLU blocks of ``model``."""
    n_layers = check_int("n_layers", n_layers, min_value=1, max_value=len(tr.linear_indices(model)) - 1)
    with torch.no_grad():
        return model[:2 * n_layers](X)


def nearest_centroid_accuracy(F_train, y_train, F_test, y_test) -> float:
    """Accuracy of the nearest class mean in a feature space (how separable it is)."""
    mu = torch.stack([F_train[y_train == c].mean(0) for c in range(N_CLASSES)])
    return float((torch.cdist(F_test, mu).argmin(1) == y_test).float().mean())


# ------------------------------------------------------------------------------ explorer
EXPLORER_SOURCES = ("digits 0–4", "autoencoder", "rotation", "shapes", "random labels")


def explore_compute(per_class: int = 5, n_frozen: int = 0, lr: float = LR,
                    source: str = "autoencoder", *, steps: int = 120, every: int = 6,
                    progress=None) -> dict:
    """Accuracy curves of one seed's fine-tuning (source model, new head, the first
    ``n_frozen`` layers frozen, the unfrozen body at ``lr``, head at ``LR``) and of the
    from-scratch run (all at ``LR``), on ``per_class`` labels per class of digits 5–9."""
    check_choice("source", source, EXPLORER_SOURCES)
    n_frozen = check_int("n_frozen", n_frozen, min_value=0, max_value=len(HIDDEN))
    lr = check_float("lr", lr, min_value=0.0, min_inclusive=False)
    cfgs = [Config("transfer", source, n_frozen, body_lr=lr), SCRATCH]
    out = compare(cfgs, per_class, (0,), steps=steps, curve_every=every, progress=progress)
    curves = {k: v[0] for k, v in out["curves"].items()}
    return {"steps": out["steps"], "transfer": curves["transfer"],
            "scratch": curves["from scratch"], "diverged": False}


def explore_render(result: dict, values: dict):
    from ..core.plotting import new_figure

    fig, axes = new_figure(1, 1, width=5.4, height=2.5, dpi=72)
    ax = axes[0, 0]
    s = result["steps"]
    ax.plot(s, result["transfer"], color="C0", label=f"from {values.get('source')}")
    ax.plot(s, result["scratch"], color="C3", ls="--", label="from scratch")
    ax.set_ylim(0, 1)
    ax.set_xlabel("fine-tuning step (full batch)")
    ax.set_ylabel("test accuracy, digits 5–9")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(f"{values.get('per_class')} labels/class, {values.get('n_frozen')} frozen, "
                 f"body lr {values.get('lr'):.0e}: {result['transfer'][-1]:.2f} vs "
                 f"{result['scratch'][-1]:.2f}", fontsize=9)
    return fig


@register_explorer("10 transfer learning")
def make_explorer() -> Explorer:
    """Labels per class, frozen layers, body learning rate, source → accuracy curves."""
    import ipywidgets as widgets

    controls = {
        "per_class": widgets.IntSlider(value=5, min=1, max=50, step=1, description="labels/class"),
        "n_frozen": widgets.IntSlider(value=0, min=0, max=3, step=1, description="frozen layers"),
        "lr": widgets.FloatLogSlider(value=LR, base=10, min=-4, max=-1, step=0.5,
                                     description="body lr"),
        "source": widgets.Dropdown(options=list(EXPLORER_SOURCES), value="autoencoder",
                                   description="source"),
    }
    return Explorer(lambda progress=None, **v: explore_compute(**v, progress=progress),
                    explore_render, controls, title="Fine-tuning explorer", progress=True)
