"""Chapter 11's experiments and explorer: one digits MLP (64-300-100-10), trained once per
seed and cached, compressed every way the chapter teaches; the closing trade-off table;
the compression explorer."""

from __future__ import annotations

import copy
import statistics
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..core import data, models, repro, training
from ..core.explorers import Explorer, register_explorer
from ..core.validation import check_choice, check_float, check_int
from ..scratch import distillation as dist
from ..scratch import low_rank as lr_
from ..scratch import pruning as pr
from ..scratch import quantization as qz

HIDDEN = [300, 100]
_CACHE: dict = {}


#: The digits split every experiment of the chapter uses (split seed 0), loaded once.
digits = data.cached_digits


def accuracy(model: nn.Module, X: torch.Tensor | None = None, y: torch.Tensor | None = None) -> float:
    """Test accuracy of ``model`` (on the chapter's digits test set unless X, y given)."""
    if X is None:
        X, y = digits().test()
    with torch.no_grad():
        was = model.training
        model.eval()
        out = model(X)
        model.train(was)
    return float((out.float().argmax(1) == y).float().mean())


def fit_adam(model: nn.Module, seed: int, epochs: int, lr: float = 1e-3, masks=None) -> nn.Module:
    """Train ``model`` on the digits training set with Adam (batch 64, seed ``seed``); with
    ``masks`` the pruned weights are put back to 0 after every step (masked retraining)."""
    tr, _, _ = digits().loaders(batch_size=64, seed=seed)
    on_step = pr.keep_masked(masks) if masks is not None else None
    if masks is not None:
        pr.apply_masks(model, masks)
    training.fit(model, tr, epochs=epochs, optimizer=torch.optim.Adam(model.parameters(), lr=lr),
                 on_step=on_step, progress=False)
    return model.eval()


def fresh_mlp(seed: int, hidden=None) -> nn.Sequential:
    """A freshly initialized 64-…-10 ReLU MLP (PyTorch's default init, seeded)."""
    torch.manual_seed(repro.seed(seed))
    return models.mlp(64, 10, hidden=list(HIDDEN if hidden is None else hidden))


def base_model(seed: int = 0, epochs: int = 10) -> nn.Sequential:
    """The chapter's dense fp32 model 64-300-100-10, trained once per seed (Adam, 10 epochs)
    and cached: every section compresses this model.  Returns a copy (safe to change)."""
    seed = check_int("seed", seed, min_value=0)
    key = ("base", seed, epochs, repro.seed_offset())
    if key not in _CACHE:
        model = fresh_mlp(seed)
        _CACHE[("init", seed, repro.seed_offset())] = copy.deepcopy(model.state_dict())
        _CACHE[key] = fit_adam(model, seed, epochs)
    return copy.deepcopy(_CACHE[key])


def initial_state(seed: int = 0) -> dict:
    """The random initialization ``base_model(seed)`` started from (for lottery tickets)."""
    base_model(seed)
    return copy.deepcopy(_CACHE[("init", seed, repro.seed_offset())])


# ------------------------------------------------------------------------------- pruning
def prune_unstructured(model: nn.Module, sparsity: float) -> tuple[nn.Module, list]:
    """A copy of ``model`` with every Linear pruned by magnitude (layer-wise), and the masks."""
    new = copy.deepcopy(model)
    masks = pr.magnitude_masks(new, sparsity)
    return pr.apply_masks(new, masks), masks


def pruning_run(seed: int, sparsity: float, retrain_epochs: int = 5, lr: float = 3e-3) -> dict:
    """Dense, one-shot pruned and pruned + masked-retrained (Adam, ``lr``) test accuracy of
    one seed (cached: the closing table reuses it)."""
    key = ("prune", seed, sparsity, retrain_epochs, lr, repro.seed_offset())
    if key not in _CACHE:
        base = base_model(seed)
        pruned, masks = prune_unstructured(base, sparsity)
        one_shot = accuracy(pruned)
        fit_adam(pruned, seed + 100, retrain_epochs, lr=lr, masks=masks)
        _CACHE[key] = {"dense": accuracy(base), "one_shot": one_shot,
                       "retrained": accuracy(pruned), "sparsity": pr.sparsity_of(pruned),
                       "model": pruned}
    return _CACHE[key]


def structured_run(seed: int, keep_fraction: float, retrain_epochs: int = 5) -> dict:
    """Remove neurons (smaller dense MLP), before and after fine-tuning (cached)."""
    key = ("structured", seed, keep_fraction, retrain_epochs, repro.seed_offset())
    if key not in _CACHE:
        small = pr.shrink_mlp(base_model(seed), keep_fraction)
        one_shot = accuracy(small)
        fit_adam(small, seed + 100, retrain_epochs, lr=3e-3)
        _CACHE[key] = {"one_shot": one_shot, "retrained": accuracy(small), "model": small,
                       "params": models.count_parameters(small)}
    return _CACHE[key]


def lottery_ticket(seed: int, final_sparsity: float = 0.94, rounds: int = 3,
                   epochs_per_round: int = 4, ticket_epochs: int = 3,
                   lrs=(1e-3, 1e-2)) -> dict:
    """Frankle & Carbin (2019) in miniature.  Iterative magnitude pruning: train, prune each
    layer to the next sparsity of :func:`pruning.prune_rounds`, **rewind** the surviving
    weights to their original initialization, repeat.  Then train the final sparse network
    for ``ticket_epochs`` from (a) the original init (the ticket) and (b) a fresh random init
    with the same mask, at each learning rate of ``lrs``.  Returns ``{lr: (ticket, random)}``
    test accuracies and ``kept``, the mask's density."""
    init = initial_state(seed)
    model = base_model(seed)  # round 1 starts from the trained dense model
    masks = None
    for r, s in enumerate(pr.prune_rounds(final_sparsity, rounds)):
        if r > 0:
            fit_adam(model, seed + 200 + r, epochs_per_round, masks=masks)
        masks = pr.magnitude_masks(model, s)
        model.load_state_dict(init)
        pr.apply_masks(model, masks)
    out = {"kept": sum(int(m.sum()) for m in masks) / sum(m.numel() for m in masks)}
    for lr in lrs:
        ticket = fit_adam(copy.deepcopy(model), seed + 300, ticket_epochs, lr=lr, masks=masks)
        random_init = fit_adam(fresh_mlp(seed + 1000), seed + 300, ticket_epochs, lr=lr,
                               masks=masks)
        out[lr] = (accuracy(ticket), accuracy(random_init))
    return out


# --------------------------------------------------------------- sharing, low rank, bits
def clustered(model: nn.Module, bits: int, seed: int = 0) -> nn.Module:
    """A copy with each Linear's weights replaced by their k-means centroids (2^bits)."""
    return qz.map_linear_weights(model, lambda w: qz.cluster_weights(w, bits, seed))


def quantized(model: nn.Module, bits: int) -> nn.Module:
    """A copy with each Linear's weights symmetric-quantized to ``bits`` (fake-quantized)."""
    return qz.map_linear_weights(model, lambda w: qz.fake_quantize(w, bits))


def low_rank_run(seed: int, rank: int, finetune_epochs: int = 3) -> dict:
    """Hidden layers replaced by rank-``rank`` SVD factors, before and after fine-tuning
    (cached)."""
    key = ("lowrank", seed, rank, finetune_epochs, repro.seed_offset())
    if key not in _CACHE:
        model = lr_.factorize_mlp(base_model(seed), rank)
        before = accuracy(model)
        fit_adam(model, seed + 400, finetune_epochs)
        _CACHE[key] = {"before": before, "after": accuracy(model), "model": model,
                       "params": models.count_parameters(model)}
    return _CACHE[key]


def dynamic_int8(model: nn.Module):
    """PyTorch's dynamic int8 quantization of every ``nn.Linear``
    (``torch.ao.quantization.quantize_dynamic``), or ``None`` if this build cannot run it.
    Its deprecation warnings are silenced (the API still works in this version)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            q = torch.ao.quantization.quantize_dynamic(copy.deepcopy(model), {nn.Linear},
                                                       dtype=torch.qint8)
            q(torch.zeros(2, 64))
        return q
    except (RuntimeError, AttributeError, NotImplementedError):
        return None


class Cast(nn.Module):
    """Run ``model`` in ``dtype`` (fp16/bf16 weights and inputs), return float32 logits."""

    def __init__(self, model: nn.Module, dtype: torch.dtype):
        super().__init__()
        self.dtype = dtype
        self.model = copy.deepcopy(model).to(dtype)

    def forward(self, x):
        return self.model(x.to(self.dtype)).float()


# ------------------------------------------------------------------- compact convolutions
def small_cnn(separable: bool, channels: int = 16, seed: int = 0) -> nn.Sequential:
    """conv3×3(1→c) → ReLU → maxpool → [conv3×3 or depthwise-separable](c→2c) → ReLU →
    [same](2c→2c) → ReLU → global average pool → Linear(2c, 10), for 8×8 digits."""
    torch.manual_seed(repro.seed(seed))
    block = (lambda i, o: lr_.depthwise_separable(i, o, 3)) if separable else \
        (lambda i, o: nn.Conv2d(i, o, 3, padding=1))
    c = check_int("channels", channels, min_value=1)
    return nn.Sequential(nn.Conv2d(1, c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         block(c, 2 * c), nn.ReLU(), block(2 * c, 2 * c), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * c, 10))


def cnn_run(seed: int, separable: bool, epochs: int = 6) -> dict:
    """Train :func:`small_cnn` on the digits images; parameters, multiply-adds, accuracy."""
    key = ("images", repro.seed_offset())
    if key not in _CACHE:
        _CACHE[key] = data.load_digits_data(seed=0, images=True)
    d = _CACHE[key]
    model = small_cnn(separable, seed=seed)
    tr, _, _ = d.loaders(batch_size=64, seed=seed)
    training.fit(model, tr, epochs=epochs, optimizer=torch.optim.Adam(model.parameters(), 1e-2),
                 progress=False)
    return {"model": model.eval(), "params": models.count_parameters(model),
            "macs": lr_.count_macs(model, (1, 8, 8)), "acc": accuracy(model, *d.test())}


# ---------------------------------------------------------------------------- distillation
def distill_without_class(seed: int, temperatures=(4.0, 20.0), hidden_class: int = 3,
                          student_hidden=(100,), epochs: int = 20, bias_shift: float = 3.5,
                          alpha: float = 1.0) -> dict:
    """Hinton et al.'s "the student never sees a 3": the teacher is ``base_model(seed)``; the
    student (64-100-10) trains on the training set *without* ``hidden_class`` — on hard labels,
    or on the teacher's soft targets at each temperature.  Returns the share of test images
    of that class the student gets right, per setting, plus (for the highest temperature)
    after adding ``bias_shift`` to the student's output bias of that class."""
    teacher = base_model(seed)
    d = digits()
    keep = d.y_train != hidden_class
    X, y = d.X_train[keep], d.y_train[keep]
    with torch.no_grad():
        t_logits = teacher(X)
    Xt, yt = d.test()
    is_c = yt == hidden_class
    out = {}

    def share(model):
        with torch.no_grad():
            pred = model(Xt).argmax(1)
        return float((pred[is_c] == hidden_class).float().mean()), float((pred == yt).float().mean())

    student = dist.distill(fresh_mlp(seed + 500, student_hidden), X, y, None, epochs=epochs,
                           seed=seed + 600)
    out["hard labels"] = share(student)
    for T in temperatures:
        student = dist.distill(fresh_mlp(seed + 500, student_hidden), X, y, t_logits,
                               temperature=T, alpha=alpha, epochs=epochs, seed=seed + 600)
        out[f"soft T={T:g}"] = share(student)
    with torch.no_grad():
        student[-1].bias[hidden_class] += bias_shift
    out[f"soft T={temperatures[-1]:g} +{bias_shift:g} bias"] = share(student)
    return out


# ------------------------------------------------------------------------------ latency
def latency_ratios(named_models: dict, X: torch.Tensor, *, repeats: int = 15, number: int = 20,
                   reference: str | None = None) -> dict:
    """Median seconds of ``number`` forward passes on ``X``, repeated ``repeats`` times with
    the models interleaved (so load on the machine hits them all alike), divided by the
    reference model's (the first one by default).  Machine-dependent: shown, not compared."""
    repeats = check_int("repeats", repeats, min_value=1)
    number = check_int("number", number, min_value=1)
    names = list(named_models)
    reference = names[0] if reference is None else check_choice("reference", reference, names)
    times = {n: [] for n in names}
    with torch.inference_mode():
        for m in named_models.values():
            m.eval()
            m(X)  # warm-up
        for _ in range(repeats):
            for n, m in named_models.items():
                t0 = time.perf_counter()
                for _ in range(number):
                    m(X)
                times[n].append(time.perf_counter() - t0)
    med = {n: statistics.median(t) for n, t in times.items()}
    return {n: med[n] / med[reference] for n in names}


# --------------------------------------------------------------------- the closing table
def pareto_front(sizes, accuracies) -> list[int]:
    """Indices of the points no other point beats on both axes (smaller size and higher
    accuracy, one of them strictly), sorted by size."""
    s, a = np.asarray(sizes, float), np.asarray(accuracies, float)
    keep = [i for i in range(len(s))
            if not any((s[j] <= s[i] and a[j] >= a[i]) and (s[j] < s[i] or a[j] > a[i])
                       for j in range(len(s)))]
    return sorted(keep, key=lambda i: (s[i], -a[i]))


class SparseLinear(nn.Module):
    """y = W x + b with W stored in compressed sparse rows (CSR): only the kept weights
    and their column indices, multiplied with PyTorch's sparse kernel."""

    def __init__(self, layer: nn.Linear):
        super().__init__()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "sparse CSR support is in beta"
            self.weight = layer.weight.detach().to_sparse_csr()
        self.bias = None if layer.bias is None else layer.bias.detach().clone()

    def forward(self, x):
        out = (self.weight @ x.T).T
        return out if self.bias is None else out + self.bias


def sparse_mlp(model: nn.Sequential) -> nn.Sequential:
    """A copy of an MLP with every Linear as a :class:`SparseLinear`."""
    return nn.Sequential(*[SparseLinear(m) if isinstance(m, nn.Linear) else copy.deepcopy(m)
                           for m in model])


def _nonzero(model: nn.Module) -> int:
    return sum(int((p != 0).sum()) for p in model.parameters())


def compressed_variants(seed: int) -> dict:
    """Every technique of the chapter applied to ``base_model(seed)``:
    name → (model for inference, what it stores, parameters it uses).  Retrained variants
    reuse the cached runs of the sections (same epochs for each)."""
    base = base_model(seed)
    n_dense = models.count_parameters(base)
    out = {"dense fp32": (base, base.state_dict(), n_dense)}
    p90 = pruning_run(seed, 0.9)["model"]
    out["pruned 90%, stored dense"] = (p90, p90.state_dict(), _nonzero(p90))
    sp = sparse_mlp(p90)
    csr = {f"{i}.{n}": t for i, m in enumerate(sp) if isinstance(m, SparseLinear)
           for n, t in (("weight", m.weight), ("bias", m.bias))}
    out["pruned 90%, sparse CSR"] = (sp, csr, _nonzero(p90))
    small = structured_run(seed, 0.25)["model"]
    out["structured: 25% of neurons"] = (small, small.state_dict(), n_params(small))
    lr_model = low_rank_run(seed, 16)["model"]
    out["low rank 16 + fine-tune"] = (lr_model, lr_model.state_dict(), n_params(lr_model))
    km, km_store = copy.deepcopy(base), {}
    for name, m in km.named_modules():
        if isinstance(m, nn.Linear):
            cents, labels = qz.kmeans_cluster(m.weight, 16, seed)
            with torch.no_grad():
                m.weight.copy_(cents[labels])
            km_store[name + ".codes"] = labels.to(torch.uint8)
            km_store[name + ".codebook"], km_store[name + ".bias"] = cents, m.bias.detach()
    out["k-means 16 clusters (4 bits)"] = (km, km_store, n_dense)
    out["int8 from scratch"] = (quantized(base, 8), qz.int8_state(base), n_dense)
    dyn = dynamic_int8(base)
    if dyn is not None:
        out["PyTorch dynamic int8"] = (dyn, dyn.state_dict(), n_dense)
    half = Cast(base, torch.float16)
    out["fp16"] = (half, half.state_dict(), n_dense)
    key = ("student", seed, repro.seed_offset())
    if key not in _CACHE:
        d = digits()
        with torch.no_grad():
            t_logits = base(d.X_train)
        _CACHE[key] = dist.distill(fresh_mlp(seed + 500, [100]), d.X_train, d.y_train,
                                   t_logits, temperature=4.0, alpha=0.9, epochs=20,
                                   seed=seed + 600)
    student = _CACHE[key]
    out["distilled student 64-100-10"] = (student, student.state_dict(), n_params(student))
    return out


def n_params(model: nn.Module) -> int:
    return models.count_parameters(model)


def tradeoff_rows(seeds=(0, 1, 2), *, latency_repeats: int = 11) -> dict:
    """For each technique: bytes saved (``torch.save``), parameters used, test accuracy per
    seed, and the latency ratio to dense fp32 (seed 0's models, the 360 test images)."""
    rows: dict = {}
    timed = None
    for seed in seeds:
        variants = compressed_variants(seed)
        for name, (model, store, n) in variants.items():
            r = rows.setdefault(name, {"acc": []})
            r["acc"].append(accuracy(model))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r["bytes"], r["params"] = qz.saved_bytes(store), n
        if timed is None:
            timed = {n: m for n, (m, _, _) in variants.items()}
    ratios = latency_ratios(timed, digits().X_test, repeats=latency_repeats)
    for name, ratio in ratios.items():
        rows[name]["latency"] = ratio
    return rows


# ------------------------------------------------------------------------------- explorer
EXPLORER_VIEWS = ("unstructured", "structured", "low rank", "bits")


def _prepared() -> dict:
    key = ("explorer", repro.seed_offset())
    if key not in _CACHE:
        base = base_model(0)
        W = base[0].weight.detach()
        U, S, Vh = torch.linalg.svd(W, full_matrices=False)
        _CACHE[key] = {"base": base, "W": W, "svd": (U, S, Vh), "dense": accuracy(base),
                       "bytes": qz.saved_bytes(base), "X": digits().X_test, "y": digits().y_test}
    return _CACHE[key]


def explore_compute(view: str = "unstructured", sparsity: float = 0.9, rank: int = 8,
                    bits: int = 4) -> dict:
    """Compress the first layer (300×64) of the cached trained model four ways — magnitude
    pruning at ``sparsity``, removing that share of its neurons, rank ``rank``, ``bits``-bit
    symmetric quantization — without retraining; test accuracy and stored bytes of each,
    and the compressed weight matrix of ``view`` (pure; ≈ milliseconds)."""
    check_choice("view", view, EXPLORER_VIEWS)
    sparsity = check_float("sparsity", sparsity, min_value=0.0, max_value=0.99)
    rank = check_int("rank", rank, min_value=1, max_value=64)
    bits = check_int("bits", bits, min_value=2, max_value=8)
    p = _prepared()
    W, (U, S, Vh), base = p["W"], p["svd"], p["base"]
    out_f, in_f = W.shape
    n_rows = round(sparsity * out_f)
    row_keep = pr.structured_prune_mask(W, sparsity)
    weights = {
        "unstructured": W * pr.magnitude_prune_mask(W, sparsity),
        "structured": W * row_keep,
        "low rank": (U[:, :rank] * S[:rank]) @ Vh[:rank],
        "bits": qz.fake_quantize(W, bits),
    }
    nnz = int((weights["unstructured"] != 0).sum())
    stored = {  # bytes of the first layer's weights as each would store them
        "unstructured": nnz * (4 + 4) + (out_f + 1) * 4,   # CSR: value + int32 column index
        "structured": (out_f - n_rows) * in_f * 4,
        "low rank": rank * (in_f + out_f) * 4,
        "bits": (W.numel() * bits + 7) // 8 + 4,
    }
    acc = {}
    for name, w in weights.items():
        with torch.no_grad():
            z = torch.relu(F.linear(p["X"], w, base[0].bias))
            logits = base[2:](z)
        acc[name] = float((logits.argmax(1) == p["y"]).float().mean())
    return {"acc": acc, "stored": stored, "dense_bytes": W.numel() * 4, "dense_acc": p["dense"],
            "weight": weights[view].numpy(), "original": W.numpy(), "view": view,
            "diverged": False}


def explore_render(result: dict, values: dict):
    """Left: accuracy (blue) and stored size / fp32 (orange) of the four compressions.
    Right: the chosen compression's weight matrix (first 64 neurons; white = 0), with its
    histogram (red, √count) over the trained weights' (grey) in the strip above it."""
    from ..core.plotting import new_figure

    fig, axes = new_figure(2, 1, width=7.0, height=2.6, dpi=72,
                           margins={"left": 0.06, "right": 0.99, "wspace": 0.15,
                                    "bottom": 0.1, "top": 0.88})
    ax, ax3 = axes[0]
    names = list(EXPLORER_VIEWS)
    x = np.arange(len(names))
    ax.bar(x - 0.2, [result["acc"][n] for n in names], 0.4, color="C0")
    ax.bar(x + 0.2, [result["stored"][n] / result["dense_bytes"] for n in names], 0.4,
           color="C1")
    ax.axhline(result["dense_acc"], color="C0", ls="--", lw=1)
    ax.set_xticks(x, ["prune", "neurons", "rank", "bits"])
    ax.set_ylim(0, 1.1)
    ax.set_yticks([0, 0.5, 1.0])
    ax.set_title("accuracy (blue), size / fp32 (orange)", fontsize=9)
    w, w0 = result["weight"], result["original"]
    vmax = float(np.abs(w0).max())
    ax3.imshow(np.where(w[:64] == 0, np.nan, w[:64]), cmap="coolwarm", vmin=-vmax, vmax=vmax,
               aspect="auto", interpolation="nearest", extent=(0, 64, 64, 16))
    # the histograms (√count) in a strip above the matrix, x = the weight value (−max…max)
    edges = np.linspace(-vmax, vmax, 65)
    top = max(float(np.sqrt(np.histogram(w0, edges)[0]).max()), 1.0)
    for values_, kw in ((w0, {"fill": True, "color": "0.75"}), (w, {"color": "C3"})):
        h = np.minimum(np.sqrt(np.histogram(values_, edges)[0]) / top, 1.0)
        ax3.stairs(16 - 15 * h, (edges + vmax) * 32 / vmax, baseline=16, **kw)
    ax3.set_xlim(0, 64)
    ax3.set_ylim(64, 0)
    ax3.axis("off")
    ax3.set_title(f"{result['view']} (s {values['sparsity']:.2f}, r {values['rank']}, "
                  f"{values['bits']} bits): acc {result['acc'][result['view']]:.2f}", fontsize=9)
    return fig


@register_explorer("11 compression")
def make_explorer(view: str = "unstructured") -> Explorer:
    """Sparsity, rank and bits → accuracy, size, histogram and weight picture (no training
    after the first call: the model is trained once and cached)."""
    import ipywidgets as widgets

    check_choice("view", view, EXPLORER_VIEWS)
    controls = {
        "view": widgets.Dropdown(options=list(EXPLORER_VIEWS), value=view, description="show"),
        "sparsity": widgets.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01,
                                        description="sparsity"),
        "rank": widgets.IntSlider(value=8, min=1, max=64, description="rank"),
        "bits": widgets.IntSlider(value=4, min=2, max=8, description="bits"),
    }
    return Explorer(lambda **v: explore_compute(**v), explore_render, controls,
                    title="Compression explorer")
