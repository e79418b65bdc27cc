"""Chapter 09's experiments and explorers: learning curves, penalties, noisy labels with
dropout and early stopping, max-norm, MC dropout, augmentation, bagging, class imbalance.

Most experiments train several small nets at once — one per seed or per variant — as a
:class:`~course_utils.core.stacked.StackedMLP`, with a per-model weight on every
training example (a subset, a bootstrap sample, class weights, over-/under-sampling counts
are all such weights).  That keeps the chapter inside its time budget."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..core import repro
from ..core.explorers import Explorer, register_explorer
from ..core.stacked import StackedMLP
from ..core.validation import check_choice, check_float, check_int
from ..scratch.augment import augment_images
from ..scratch.ensemble import accuracy, train_parallel
from ..scratch.regularization import (
    class_weights,
    flip_labels,
    l1_penalty,
    l2_penalty,
    resample_indices,
)


# ------------------------------------------------------------ 1 · under- and over-fitting
def data_size_curve(splits, sizes=(25, 50, 100, 200, 400, 800), *, width: int = 64,
                    steps: int = 200, seed: int = 0) -> dict:
    """Train and validation accuracy of one architecture (full-batch Adam) trained on the
    first n examples of a seeded permutation of the training set, for each n in ``sizes``."""
    perm = torch.from_numpy(repro.rng(seed).permutation(len(splits.X_train)))
    train, val = [], []
    for k, n in enumerate(sizes):
        X, y = splits.X_train[perm[:n]], splits.y_train[perm[:n]]
        model = StackedMLP.uniform(1, [splits.n_features, width, width, splits.n_classes],
                            generator=repro.generator(seed + k))
        train_parallel(model, X, y, steps=steps, lr=0.01, seed=seed)
        train.append(float(accuracy(model, X, y)[0]))
        val.append(float(accuracy(model, *splits.val())[0]))
    return {"sizes": list(sizes), "train": np.array(train), "val": np.array(val)}


def capacity_curve(splits, widths=(1, 2, 4, 16, 64, 256), *, n_train: int = 200,
                   steps: int = 300, seed: int = 0) -> dict:
    """Train/validation accuracy of one-hidden-layer nets of each width on ``n_train``
    training examples: too narrow underfits (both low), wide fits the training set."""
    X, y = splits.X_train[:n_train], splits.y_train[:n_train]
    train, val = [], []
    for k, w in enumerate(widths):
        model = StackedMLP.uniform(1, [splits.n_features, w, splits.n_classes],
                            generator=repro.generator(seed + k))
        train_parallel(model, X, y, steps=steps, lr=0.01, seed=seed)
        train.append(float(accuracy(model, X, y)[0]))
        val.append(float(accuracy(model, *splits.val())[0]))
    return {"widths": list(widths), "train": np.array(train), "val": np.array(val)}


# ----------------------------------------------------------------- 2 · L1 and L2 penalties
def penalty_weights(splits, penalty: str, lam: float, *, steps: int = 300, lr: float = 0.1,
                    seed: int = 0) -> dict:
    """Train a 64-64-10 ReLU net with full-batch SGD on cross-entropy + ``penalty``
    (``"none"``, ``"l1"`` = λΣ|w|, ``"l2"`` = λΣw²); return its first-layer weights (flat
    NumPy array) and its validation accuracy."""
    from ..core import models

    check_choice("penalty", penalty, ["none", "l1", "l2"])
    lam = check_float("lam", lam, min_value=0.0)
    torch.manual_seed(repro.seed(seed))
    model = models.mlp(splits.n_features, splits.n_classes, depth=1, width=64)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(steps):
        loss = F.cross_entropy(model(splits.X_train), splits.y_train)
        if penalty == "l1":
            loss = loss + l1_penalty(model, lam)
        elif penalty == "l2":
            loss = loss + l2_penalty(model, lam)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    with torch.no_grad():
        acc = float((model(splits.X_val).argmax(1) == splits.y_val).float().mean())
    return {"weights": model[0].weight.detach().flatten().numpy(), "val_acc": acc}


def decay_vs_l2(splits, *, steps: int = 200, lr: float = 0.05, wd: float = 0.01,
                seed: int = 0) -> dict:
    """Largest parameter difference after ``steps`` full-batch steps from the same init:
    SGD with weight_decay=wd on the weights vs SGD + l2_penalty(λ = wd/2); the same for
    Adam; and AdamW(weight_decay=wd) vs Adam + the penalty (Adam's lr = lr/50).  Only the
    weights are decayed (a parameter group), as l2_penalty only sees the weights."""
    from ..core import models

    torch.manual_seed(repro.seed(seed))
    init = models.mlp(splits.n_features, splits.n_classes, depth=1, width=32).state_dict()
    X, y = splits.X_train, splits.y_train

    def run(opt_class, decay, lam, **kw):
        model = models.mlp(splits.n_features, splits.n_classes, depth=1, width=32)
        model.load_state_dict(init)
        groups = [{"params": [p for n, p in model.named_parameters() if n.endswith("weight")],
                   "weight_decay": decay},
                  {"params": [p for n, p in model.named_parameters() if not n.endswith("weight")],
                   "weight_decay": 0.0}]
        opt = opt_class(groups, **kw)
        for _ in range(steps):
            loss = F.cross_entropy(model(X), y)
            if lam:
                loss = loss + l2_penalty(model, lam)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    a_lr = lr / 50
    sgd_wd, sgd_l2 = run(torch.optim.SGD, wd, 0, lr=lr), run(torch.optim.SGD, 0.0, wd / 2, lr=lr)
    adam_wd = run(torch.optim.Adam, wd, 0, lr=a_lr)
    adam_l2 = run(torch.optim.Adam, 0.0, wd / 2, lr=a_lr)
    adamw = run(torch.optim.AdamW, wd, 0, lr=a_lr)
    return {"sgd": float((sgd_wd - sgd_l2).abs().max()),
            "adam": float((adam_wd - adam_l2).abs().max()),
            "adamw": float((adamw - adam_l2).abs().max())}


# ------------------------------------------- 3 · noisy labels: memorization and its cures
def noisy_label_experiment(splits, *, seeds: int = 3, noise: float = 0.4, width: int = 64,
                           steps: int = 400, batch_size: int = 128, lr: float = 0.01,
                           every: int = 10) -> dict:
    """Zhang et al. / Srivastava et al. in miniature: ``noise`` of the training *and*
    validation labels are flipped (a seeded draw per seed); 64-``width``-``width``-10 nets,
    Adam, mini-batches.  Arms: no regularization, dropout 0.5 (0.2 on the inputs), and early
    stopping = the unregularized run restored to its best *noisy* validation loss (checked
    every ``every`` steps, as :class:`EarlyStopping` with restore does).  Returns per arm
    the accuracy on the noisy training labels and on the clean test set (one per seed), and
    the validation-loss curve of the unregularized runs."""
    seeds = check_int("seeds", seeds, min_value=1, max_value=20)
    C = splits.n_classes
    y_tr = torch.stack([flip_labels(splits.y_train, noise, C, seed=s)[0] for s in range(seeds)])
    y_va = torch.stack([flip_labels(splits.y_val, noise, C, seed=100 + s)[0] for s in range(seeds)])
    sizes = [splits.n_features, width, width, C]
    out, curves = {}, {"steps": [], "val_loss": [], "train_loss": []}
    for arm, (p, p_in) in {"none": (0.0, 0.0), "dropout": (0.5, 0.2)}.items():
        model = StackedMLP.uniform(seeds, sizes, dropout=p, input_dropout=p_in,
                            generator=repro.generator(0))
        best = {"loss": np.full(seeds, np.inf), "test": np.zeros(seeds), "train": np.zeros(seeds)}

        def on_eval(step, m, arm=arm, best=best):
            logits = m(splits.X_val)
            vl = F.cross_entropy(logits.reshape(-1, C), y_va.reshape(-1),
                                 reduction="none").reshape(seeds, -1).mean(1).numpy()
            if arm != "none":
                return
            tl = F.cross_entropy(m(splits.X_train).reshape(-1, C), y_tr.reshape(-1),
                                 reduction="none").reshape(seeds, -1).mean(1).numpy()
            curves["steps"].append(step)
            curves["val_loss"].append(vl)
            curves["train_loss"].append(tl)
            better = vl < best["loss"]
            best["loss"] = np.where(better, vl, best["loss"])
            best["test"] = np.where(better, accuracy(m, *splits.test()), best["test"])
            best["train"] = np.where(better, accuracy(m, splits.X_train, y_tr), best["train"])

        train_parallel(model, splits.X_train, y_tr, steps=steps, lr=lr, batch_size=batch_size,
                       seed=1, every=every, on_eval=on_eval)
        out[arm] = {"train": accuracy(model, splits.X_train, y_tr),
                    "test": accuracy(model, *splits.test())}
        if arm == "none":
            out["early stopping"] = {"train": best["train"], "test": best["test"]}
    curves = {k: np.array(v) for k, v in curves.items()}
    return {"arms": out, "curves": curves}


# ------------------------------------------------------------------------ 4 · max-norm
def max_norm_experiment(splits, *, runs=((0.1, None), (0.3, None), (0.3, 2.0)), seeds: int = 3,
                        width: int = 128, steps: int = 200, momentum: float = 0.9) -> dict:
    """Dropout nets (0.5, 0.2 on inputs) trained with SGD + momentum, for each (learning
    rate, max-norm radius c) of ``runs`` (c = None: no max-norm); test accuracy per seed,
    keyed (lr, c)."""
    out = {}
    for lr, c in runs:
        model = StackedMLP.uniform(seeds, [splits.n_features, width, width, splits.n_classes],
                            dropout=0.5, input_dropout=0.2, generator=repro.generator(0))
        train_parallel(model, splits.X_train, splits.y_train, steps=steps, lr=lr,
                       optimizer="sgd", momentum=momentum, batch_size=128, seed=1, max_norm=c)
        out[lr, c] = accuracy(model, *splits.test())
    return out


# ------------------------------------------------------------------------ 5 · MC dropout
def sine_data(n: int = 100, *, seed: int = 0, models: int = 1, low: float = -3.0,
              high: float = 3.0, noise: float = 0.1):
    """``models`` independent draws of n points x ~ U(low, high), y = sin x + N(0, noise²):
    tensors of shape (models, n, 1)."""
    g = repro.generator(seed)
    x = torch.rand(models, n, 1, generator=g) * (high - low) + low
    return x, torch.sin(x) + noise * torch.randn(models, n, 1, generator=g)


def mc_dropout_regression(*, p: float = 0.05, seeds: int = 3, width: int = 64,
                          steps: int = 500, n_passes: int = 100, n: int = 100,
                          progress: Callable | None = None) -> dict:
    """Train ``seeds`` 1-``width``-``width``-1 ReLU nets with dropout p on sin x over
    [−3, 3]; then ``n_passes`` stochastic passes on a grid over [−8, 8].  Returns the grid,
    the data, the MC mean and std (seeds × grid) and the ratio of the mean std on
    |x| ∈ [5, 8] to the mean std on |x| ≤ 3, per seed."""
    x, y = sine_data(n, seed=0, models=seeds)
    model = StackedMLP.uniform(seeds, [1, width, width, 1], dropout=p, generator=repro.generator(1))
    train_parallel(model, x, y, steps=steps, lr=0.01, seed=2, progress=progress)
    grid = torch.linspace(-8, 8, 161)[:, None]
    model.train()  # only dropout is random in this model: train mode = MC dropout
    with torch.no_grad():
        passes = torch.stack([model(grid) for _ in range(n_passes)])[..., 0]  # (T, S, G)
    model.eval()
    mean, std = passes.mean(0).numpy(), passes.std(0).numpy()
    g = grid[:, 0].numpy()
    inside, outside = np.abs(g) <= 3, np.abs(g) >= 5
    return {"grid": g, "x": x.numpy(), "y": y.numpy(), "mean": mean, "std": std,
            "ratio": std[:, outside].mean(1) / std[:, inside].mean(1)}


# ---------------------------------------------------------------- 6 · data augmentation
def augmentation_experiment(splits, *, n_train: int = 100, seeds: int = 3, steps: int = 300,
                            width: int = 64, shift: int = 1, max_degrees: float = 5.0,
                            noise: float = 0.0) -> dict:
    """The same nets on the first ``n_train`` training digits, with and without a fresh
    random augmentation (shifts, rotations, noise) of every batch, for the same number of
    full-batch steps.  Test accuracy per seed for each arm, on the test digits as they are
    and on a copy of them each shifted by one random pixel (``"…_shifted"``).  ``splits``
    holds images standardized with one mean and std (``load_digits_data(images=True)``), so a
    shifted pixel keeps its meaning; the nets see them flattened."""
    X, y = splits.X_train[:n_train].flatten(1), splits.y_train[:n_train]
    X_test, y_test = splits.X_test.flatten(1), splits.y_test
    n = len(X_test)
    g = repro.generator(7)
    moves = torch.tensor([(1, 0), (-1, 0), (0, 1), (0, -1)])[torch.randint(4, (n,), generator=g)]
    from ..scratch.augment import affine_images

    X_shifted = affine_images(splits.X_test, torch.zeros(n), moves[:, 0], moves[:, 1]).flatten(1)
    S = 2 * seeds  # models 0 … seeds−1 plain, seeds … 2·seeds−1 augmented

    def augment(xb, g):
        aug = augment_images(xb[seeds:].reshape(-1, xb.shape[-1]), shift=shift,
                             max_degrees=max_degrees, noise=noise, generator=g)
        return torch.cat([xb[:seeds], aug.reshape(seeds, -1, xb.shape[-1])])

    model = StackedMLP.uniform(S, [X.shape[1], width, width, splits.n_classes],
                        generator=repro.generator(0))
    train_parallel(model, X, y, steps=steps, lr=0.01, seed=1, augment=augment)
    acc, acc_shifted = accuracy(model, X_test, y_test), accuracy(model, X_shifted, y_test)
    return {"plain": acc[:seeds], "augmented": acc[seeds:],
            "plain_shifted": acc_shifted[:seeds], "augmented_shifted": acc_shifted[seeds:],
            "X_shifted": X_shifted}


# ------------------------------------------------------------------------- 7 · bagging
def bagging_experiment(splits, *, n_bags: int = 4, bag_size: int = 5, width: int = 64,
                       steps: int = 150, seed: int = 0) -> dict:
    """``n_bags`` × ``bag_size`` nets, each trained on its own bootstrap sample (weights =
    counts of a draw with replacement).  Returns the test accuracy of every single net and
    of every bag's average, and the variance (across nets, resp. across bags) of the
    predicted probability of the true class, averaged over the test set."""
    S, N = n_bags * bag_size, len(splits.X_train)
    g = repro.generator(seed)
    W = torch.stack([torch.bincount(torch.randint(N, (N,), generator=g), minlength=N)
                     for _ in range(S)]).float()
    model = StackedMLP.uniform(S, [splits.n_features, width, width, splits.n_classes],
                        generator=repro.generator(seed + 1))
    train_parallel(model, splits.X_train, splits.y_train, weight=W, steps=steps, lr=0.01,
                   seed=seed)
    with torch.no_grad():
        probs = torch.softmax(model(splits.X_test), -1)  # (S, N_test, C)
    bags = probs.reshape(n_bags, bag_size, *probs.shape[1:]).mean(1)
    yt = splits.y_test
    p_true = probs[:, torch.arange(len(yt)), yt]
    bag_true = bags[:, torch.arange(len(yt)), yt]
    return {"single_acc": (probs.argmax(-1) == yt).float().mean(1).numpy(),
            "bag_acc": (bags.argmax(-1) == yt).float().mean(1).numpy(),
            "single_var": float(p_true.var(0).mean()), "bag_var": float(bag_true.var(0).mean())}


# ---------------------------------------------------------------------- 8 · class imbalance
def imbalanced_digits(splits, *, positive: int = 9, fraction: float = 0.05, seed: int = 0):
    """Binary "is it a ``positive``?" from a digits Splits, with the positives subsampled
    (seeded) so they are ``fraction`` of each split.  Returns {split: (X, y)} for train, val
    and test, labels 1 = positive, 0 = any other digit."""
    rng = repro.rng(seed)
    out = {}
    for name in ("train", "val", "test"):
        X, y = getattr(splits, name)()
        pos, neg = np.flatnonzero(y.numpy() == positive), np.flatnonzero(y.numpy() != positive)
        n_pos = max(2, int(round(fraction / (1 - fraction) * len(neg))))
        keep = np.sort(np.concatenate([neg, rng.choice(pos, size=n_pos, replace=False)]))
        out[name] = (X[keep], (y[keep] == positive).long())
    return out


def imbalance_experiment(data: dict, *, seeds: int = 3, width: int = 32, steps: int = 150,
                         batch_size: int = 64) -> dict:
    """One architecture, the same seeds, four ways to train on imbalanced data — plain,
    class weights n/(K·n_k), oversampling, undersampling (as example weights; every model
    draws the same mini-batch indices) — plus threshold moving on the plain models (the
    threshold on p(positive) that maximizes balanced accuracy on validation).  Returns, per
    method, the test scores p(positive) (seeds × N) and the thresholds used."""
    X, y = data["train"]
    N = len(y)
    methods = ["plain", "class weights", "oversampling", "undersampling"]
    rows = []
    for m in methods:
        for s in range(seeds):
            if m == "plain":
                rows.append(torch.ones(N))
            elif m == "class weights":
                rows.append(class_weights(y, 2)[y])
            else:
                idx = resample_indices(y, "over" if m == "oversampling" else "under", seed=s)
                rows.append(torch.bincount(idx, minlength=N).float())
    W = torch.stack(rows)
    model = StackedMLP.uniform(len(rows), [X.shape[1], width, width, 2], generator=repro.generator(0))
    train_parallel(model, X, y, weight=W, steps=steps, lr=0.01, seed=1, batch_size=batch_size)
    with torch.no_grad():
        p_test = torch.softmax(model(data["test"][0]), -1)[..., 1].numpy()
        p_val = torch.softmax(model(data["val"][0]), -1)[..., 1].numpy()
    out = {m: {"scores": p_test[i * seeds:(i + 1) * seeds], "threshold": np.full(seeds, 0.5)}
           for i, m in enumerate(methods)}
    yv = data["val"][1].numpy()
    grid = np.linspace(0.01, 0.99, 99)
    thresholds = []
    for s in range(seeds):
        bal = [0.5 * (((p_val[s] >= t) & (yv == 1)).sum() / max(1, (yv == 1).sum())
                      + ((p_val[s] < t) & (yv == 0)).sum() / max(1, (yv == 0).sum())) for t in grid]
        thresholds.append(grid[int(np.argmax(bal))])
    out["threshold moving"] = {"scores": out["plain"]["scores"], "threshold": np.array(thresholds)}
    return out


def imbalance_metrics(result: dict, y_test) -> dict:
    """Per method: accuracy, balanced accuracy, recall of each class and average precision
    (area under the precision–recall curve), one value per seed (scikit-learn metrics)."""
    from sklearn.metrics import (
        accuracy_score,
        average_precision_score,
        balanced_accuracy_score,
        recall_score,
    )

    y = np.asarray(y_test)
    table = {}
    for m, r in result.items():
        pred = [(sc >= t).astype(int) for sc, t in zip(r["scores"], r["threshold"])]
        table[m] = {
            "accuracy": np.array([accuracy_score(y, p) for p in pred]),
            "balanced accuracy": np.array([balanced_accuracy_score(y, p) for p in pred]),
            "recall (minority)": np.array([recall_score(y, p, pos_label=1, zero_division=0) for p in pred]),
            "recall (majority)": np.array([recall_score(y, p, pos_label=0, zero_division=0) for p in pred]),
            "average precision": np.array([average_precision_score(y, sc) for sc in r["scores"]]),
        }
    return table


# ------------------------------------------------------------------------------ explorers
L2_GRID = (0.0, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1)


def fit_explorer_compute(l2: float = 0.0, dropout: float = 0.0, n_train: int = 60, *,
                         steps: int = 300, every: int = 10, seed: int = 0,
                         progress: Callable | None = None) -> dict:
    """Explorer (1): a 2-64-64-2 ReLU net on ``n_train`` noisy moons (full-batch Adam,
    ``steps`` steps) with an L2 penalty ``l2``·Σw² and dropout ``dropout``.  Returns the
    train/validation loss curves, the predicted p(class 1) on a grid, the data and the
    final accuracies."""
    from sklearn.datasets import make_moons

    l2 = check_float("l2", l2, min_value=0.0)
    dropout = check_float("dropout", dropout, min_value=0.0, max_value=0.9)
    n_train = check_int("n_train", n_train, min_value=4, max_value=2000)
    X, y = make_moons(n_samples=n_train + 400, noise=0.3, random_state=repro.seed(seed))
    X, y = torch.tensor(X, dtype=torch.float32), torch.tensor(y)
    Xt, yt, Xv, yv = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    model = StackedMLP.uniform(1, [2, 64, 64, 2], dropout=dropout, generator=repro.generator(seed))
    curve = {"steps": [], "train": [], "val": []}

    def on_eval(step, m):
        curve["steps"].append(step)
        curve["train"].append(float(F.cross_entropy(m(Xt)[0], yt)))
        curve["val"].append(float(F.cross_entropy(m(Xv)[0], yv)))

    train_parallel(model, Xt, yt, steps=steps, lr=0.01, seed=seed, l2=l2, every=every,
                   on_eval=on_eval, progress=progress)
    xx, yy = np.meshgrid(np.linspace(-2, 3, 60), np.linspace(-1.5, 2, 45))
    grid = torch.tensor(np.c_[xx.ravel(), yy.ravel()], dtype=torch.float32)
    with torch.no_grad():
        p = torch.softmax(model(grid)[0], -1)[:, 1].reshape(xx.shape).numpy()
    return {"curve": {k: np.array(v) for k, v in curve.items()}, "xx": xx, "yy": yy, "p": p,
            "X": Xt.numpy(), "y": yt.numpy(), "train_acc": float(accuracy(model, Xt, yt)[0]),
            "val_acc": float(accuracy(model, Xv, yv)[0]),
            "diverged": not np.isfinite(curve["train"][-1])}


def fit_explorer_render(result: dict, values: dict):
    from ..core.plotting import new_figure

    fig, axes = new_figure(2, 1, width=8.0, height=2.8, margins={"wspace": 0.28})
    ax = axes[0, 0]
    ax.contourf(result["xx"], result["yy"], result["p"], levels=np.linspace(0, 1, 11),
                cmap="RdBu_r", alpha=0.6)
    ax.scatter(*result["X"].T, c=result["y"], cmap="RdBu_r", s=12, edgecolors="k", linewidths=0.4)
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    ax.set_title(f"n = {values['n_train']}: train acc {result['train_acc']:.2f}, "
                 f"val acc {result['val_acc']:.2f}", fontsize=9)
    ax = axes[0, 1]
    c = result["curve"]
    ax.plot(c["steps"], c["train"], label="train")
    ax.plot(c["steps"], c["val"], "--", label="validation")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy")
    ax.set_title(f"L2 {values['l2']:g}, dropout {values['dropout']:.1f}", fontsize=9)
    ax.legend()
    return fig


@register_explorer("09 overfitting")
def make_fit_explorer() -> Explorer:
    """L2 strength, dropout rate and training-set size → the fit and its learning curves."""
    import ipywidgets as widgets

    controls = {
        "l2": widgets.SelectionSlider(options=list(L2_GRID), value=0.0, description="L2 λ"),
        "dropout": widgets.FloatSlider(value=0.0, min=0.0, max=0.6, step=0.1, description="dropout"),
        "n_train": widgets.IntSlider(value=60, min=20, max=400, step=20, description="n train"),
    }
    return Explorer(lambda **v: fit_explorer_compute(**v), fit_explorer_render, controls,
                    title="Over- and under-fitting explorer", progress=True)


_MC_CACHE: dict = {}


def mc_explorer_compute(p: float = 0.1, n_samples: int = 50, *, steps: int = 300, seed: int = 0,
                        progress: Callable | None = None) -> dict:
    """Explorer (2): a 1-64-64-1 net with dropout ``p`` trained on sin x over [−3, 3]
    (cached per p), then ``n_samples`` MC-dropout passes on [−8, 8]: mean and std."""
    p = check_float("p", p, min_value=0.0, max_value=0.9)
    n_samples = check_int("n_samples", n_samples, min_value=2, max_value=1000)
    key = (round(p, 6), steps, repro.seed(seed))
    if key not in _MC_CACHE:
        x, y = sine_data(100, seed=seed)
        model = StackedMLP.uniform(1, [1, 64, 64, 1], dropout=p, generator=repro.generator(seed + 1))
        train_parallel(model, x, y, steps=steps, lr=0.01, seed=seed + 2, progress=progress)
        _MC_CACHE[key] = (model, x[0, :, 0].numpy(), y[0, :, 0].numpy())
    elif progress is not None:
        progress(1.0)
    model, x, y = _MC_CACHE[key]
    grid = torch.linspace(-8, 8, 161)[:, None]
    torch.manual_seed(repro.seed(seed + 3))
    model.train()
    with torch.no_grad():
        passes = torch.stack([model(grid)[0, :, 0] for _ in range(n_samples)])
    model.eval()
    g = grid[:, 0].numpy()
    mean, std = passes.mean(0).numpy(), passes.std(0).numpy()
    inside, outside = np.abs(g) <= 3, np.abs(g) >= 5
    return {"grid": g, "mean": mean, "std": std, "x": x, "y": y,
            "ratio": float(std[outside].mean() / max(std[inside].mean(), 1e-12))}


def mc_explorer_render(result: dict, values: dict):
    from ..core.plotting import new_figure

    fig, axes = new_figure(1, 1, width=6.4, height=2.8)
    ax = axes[0, 0]
    g, m, s = result["grid"], result["mean"], result["std"]
    ax.axvspan(-3, 3, color="0.92", zorder=0)
    ax.fill_between(g, m - 2 * s, m + 2 * s, alpha=0.3, label="mean ± 2 std")
    ax.plot(g, m, label="MC mean")
    ax.plot(g, np.sin(g), "k:", lw=1, label="sin x")
    ax.scatter(result["x"], result["y"], s=6, c="k")
    ax.set_ylim(-4, 4)
    ax.set_xlabel("x (grey: training range)")
    ax.set_ylabel("y")
    ax.set_title(f"p = {values['p']:.2f}, {values['n_samples']} passes: std outside / inside "
                 f"= {result['ratio']:.1f}", fontsize=9)
    ax.legend(loc="lower left", fontsize=7)
    return fig


@register_explorer("09 MC dropout")
def make_mc_explorer() -> Explorer:
    """Dropout rate and number of MC passes → the predictive band inside and outside the data."""
    import ipywidgets as widgets

    controls = {
        "p": widgets.FloatSlider(value=0.1, min=0.05, max=0.5, step=0.05, description="dropout p"),
        "n_samples": widgets.IntSlider(value=50, min=5, max=200, step=5, description="passes"),
    }
    return Explorer(lambda **v: mc_explorer_compute(**v), mc_explorer_render, controls,
                    title="MC dropout explorer", progress=True)
