"""A simple tanh recurrent network and the adding problem, for the exploding-gradient chapter.

The network (Elman RNN) reads x_1 … x_T and predicts from its last state:

    h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh),   h_0 = 0,   ŷ = W_out h_T + b_out

Backpropagation through time multiplies T Jacobians ∂h_t/∂h_{t−1} = diag(1 − h_t²) W_hh, so
with W_hh = s·(orthogonal) the gradient can grow like s^T (Pascanu et al. 2013).

The **adding problem** (Hochreiter & Schmidhuber 1997): each time step carries a value
u_t ~ U(0, 1) and a marker m_t ∈ {0, 1}; exactly two steps are marked, one in each half of
the sequence; the target is the sum of the two marked values.  Always predicting 1 gives
MSE Var(u_i + u_j) = 1/6 ≈ 0.167: a model must beat that to have learned anything.

:class:`StackedTanhRNN` evaluates n independent networks side by side (one batched matrix
product per time step) so that a comparison over methods × seeds trains in one loop;
:func:`train_adding` is that comparison, each member behaving exactly like its own
``TanhRNN`` trained with ``torch.optim.SGD`` and ``clip_grad_value_``/``clip_grad_norm_``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .clipping import EPS
from .validation import check_array, check_bool, check_choice, check_float, check_int

#: MSE of always predicting 1 (the mean target) on the adding problem: Var(U + U') = 1/6
ADDING_BASELINE_MSE = 1.0 / 6.0


def adding_problem(n_samples: int, seq_len: int, *, seed: int = 0):
    """``(X, y)`` float32 tensors: X (n, T, 2) = (value, marker) per step, y (n, 1) the sum
    of the two marked values (one marker in each half of the sequence)."""
    n = check_int("n_samples", n_samples, min_value=1)
    T = check_int("seq_len", seq_len, min_value=2)
    g = torch.Generator().manual_seed(check_int("seed", seed, min_value=0))
    values = torch.rand(n, T, generator=g)
    first = torch.randint(0, T // 2, (n,), generator=g)
    second = torch.randint(T // 2, T, (n,), generator=g)
    markers = torch.zeros(n, T)
    rows = torch.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    X = torch.stack([values, markers], dim=-1)
    y = (values * markers).sum(dim=1, keepdim=True)
    return X, y


def _orthogonal(n: int, scale: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """scale · Q, Q a random orthogonal n×n matrix (QR of a Gaussian matrix, sign-fixed)."""
    a = torch.randn(n, n, generator=generator)
    q, r = torch.linalg.qr(a)
    q = q * torch.sign(torch.diagonal(r))
    return scale * q


class TanhRNN(nn.Module):
    """Elman RNN regressor, written out with three ``nn.Linear`` layers:
    ``inp`` (W_ih, b_ih), ``rec`` (W_hh, b_hh) and ``head`` (W_out, b_out).

    Initialization: PyTorch's default for the linear layers, then W_hh ← s·Q with Q random
    orthogonal (every singular value of W_hh equals s = ``recurrent_scale``).  Because the
    weights are ``nn.Linear``, ``diagnostics.gradient_norms(model)`` lists
    [‖∂L/∂W_ih‖, ‖∂L/∂W_hh‖, ‖∂L/∂W_out‖]."""

    def __init__(self, input_size: int = 2, hidden_size: int = 32, output_size: int = 1,
                 recurrent_scale: float = 1.5):
        super().__init__()
        self.input_size = check_int("input_size", input_size, min_value=1)
        self.hidden_size = check_int("hidden_size", hidden_size, min_value=1)
        self.output_size = check_int("output_size", output_size, min_value=1)
        self.recurrent_scale = check_float("recurrent_scale", recurrent_scale, min_value=0.0)
        self.inp = nn.Linear(input_size, hidden_size)
        self.rec = nn.Linear(hidden_size, hidden_size)
        self.head = nn.Linear(hidden_size, output_size)
        with torch.no_grad():
            self.rec.weight.copy_(_orthogonal(hidden_size, self.recurrent_scale))

    def _check_input(self, x) -> None:
        if not isinstance(x, torch.Tensor) or x.ndim != 3 or x.shape[-1] != self.input_size:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"x must have shape (batch, time, {self.input_size}), got {shape}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        xi = self.inp(x)
        h = x.new_zeros(x.shape[0], self.hidden_size)
        for t in range(x.shape[1]):
            h = torch.tanh(xi[:, t] + self.rec(h))
        return self.head(h)

    def states(self, x: torch.Tensor) -> torch.Tensor:
        """All hidden states h_1 … h_T, shape (batch, time, hidden) (e.g. to measure how
        many units are saturated, |h| > 0.99)."""
        self._check_input(x)
        xi = self.inp(x)
        h = x.new_zeros(x.shape[0], self.hidden_size)
        out = []
        for t in range(x.shape[1]):
            h = torch.tanh(xi[:, t] + self.rec(h))
            out.append(h)
        return torch.stack(out, dim=1)


class StackedTanhRNN(nn.Module):
    """``n_members`` independent :class:`TanhRNN` s evaluated side by side.

    Parameters carry a leading member axis (weights stored transposed, x @ W):
    ``weight_ih`` (n, in, H), ``bias_ih`` (n, 1, H), ``weight_hh`` (n, H, H), ``bias_hh``
    (n, 1, H), ``weight_out`` (n, H, out), ``bias_out`` (n, 1, out).  Member i never sees
    member j: ``forward`` maps x (n, B, T, in) to (n, B, out) with one ``bmm`` per step."""

    def __init__(self, models: Sequence[TanhRNN]):
        super().__init__()
        if not isinstance(models, (list, tuple)) or not models:
            raise TypeError("models must be a non-empty list of TanhRNN")
        for i, m in enumerate(models):
            if not isinstance(m, TanhRNN):
                raise TypeError(f"models[{i}] must be a TanhRNN, got {type(m).__name__}")
        sizes = {(m.input_size, m.hidden_size, m.output_size) for m in models}
        if len(sizes) != 1:
            raise ValueError(f"every model must have the same sizes, got {sorted(sizes)}")
        self.input_size, self.hidden_size, self.output_size = sizes.pop()

        def stack(get):
            return nn.Parameter(torch.stack([get(m).detach().clone() for m in models]))

        self.weight_ih = stack(lambda m: m.inp.weight.T)
        self.bias_ih = stack(lambda m: m.inp.bias[None])
        self.weight_hh = stack(lambda m: m.rec.weight.T)
        self.bias_hh = stack(lambda m: m.rec.bias[None])
        self.weight_out = stack(lambda m: m.head.weight.T)
        self.bias_out = stack(lambda m: m.head.bias[None])

    @property
    def n_members(self) -> int:
        return self.weight_hh.shape[0]

    def member(self, i: int) -> TanhRNN:
        """A standalone copy of member ``i`` as a :class:`TanhRNN`."""
        i = check_int("i", i, min_value=0, max_value=self.n_members - 1)
        m = TanhRNN(self.input_size, self.hidden_size, self.output_size, recurrent_scale=0.0)
        with torch.no_grad():
            m.inp.weight.copy_(self.weight_ih[i].T)
            m.inp.bias.copy_(self.bias_ih[i, 0])
            m.rec.weight.copy_(self.weight_hh[i].T)
            m.rec.bias.copy_(self.bias_hh[i, 0])
            m.head.weight.copy_(self.weight_out[i].T)
            m.head.bias.copy_(self.bias_out[i, 0])
        m.recurrent_scale = float(torch.linalg.matrix_norm(self.weight_hh[i].detach(), ord=2))
        return m

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[0] != self.n_members
                or x.shape[-1] != self.input_size):
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"x must have shape ({self.n_members}, batch, time, "
                             f"{self.input_size}), got {shape}")
        n, B, T, _ = x.shape
        # (T, n, B, H): the input part of every step at once, contiguous per step
        xi = (torch.matmul(x, self.weight_ih[:, None]) + (self.bias_ih + self.bias_hh)[:, None])
        xi = xi.permute(2, 0, 1, 3).contiguous()
        h = x.new_zeros(n, B, self.hidden_size)
        for t in range(T):
            h = torch.tanh(torch.baddbmm(xi[t], h, self.weight_hh))
        return torch.baddbmm(self.bias_out, h, self.weight_out)


def _check_stacked(tensors) -> list[torch.Tensor]:
    if isinstance(tensors, torch.Tensor) or not isinstance(tensors, (list, tuple)) or not tensors:
        raise TypeError("tensors must be a non-empty list of tensors with a leading member axis")
    for i, t in enumerate(tensors):
        if not isinstance(t, torch.Tensor) or t.ndim < 1:
            raise TypeError(f"tensors[{i}] must be a tensor of shape (n_members, ...)")
        if t.shape[0] != tensors[0].shape[0]:
            raise ValueError(f"tensors[{i}] has {t.shape[0]} members, tensors[0] has "
                             f"{tensors[0].shape[0]}")
    return list(tensors)


def member_norms(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """Global L2 norm of each member's slice: √(Σ_k ‖t_k[i]‖²) for every i, shape (n,)."""
    tensors = _check_stacked(tensors)
    return torch.sqrt(sum((t.detach().reshape(t.shape[0], -1) ** 2).sum(1) for t in tensors))


def clip_members_(tensors: Sequence[torch.Tensor], value: torch.Tensor, norm: torch.Tensor):
    """Clip each member's gradient slice in place: first rescale member i to at most
    ``norm[i]`` (global L2 norm, torch's 1e-6 guard), then clamp its elements to
    ±``value[i]`` (``inf`` switches either off).  Returns the norms before clipping."""
    tensors = _check_stacked(tensors)
    n = tensors[0].shape[0]
    for name, thr in (("value", value), ("norm", norm)):
        if not isinstance(thr, torch.Tensor) or tuple(thr.shape) != (n,):
            raise ValueError(f"{name} must be a tensor of shape ({n},): one threshold per "
                             f"member (inf for none)")
        if bool((thr <= 0).any()):
            raise ValueError(f"{name} thresholds must be > 0 (use inf to switch clipping off)")
    pre = member_norms(tensors)
    coef = torch.clamp(norm / (pre + EPS), max=1.0)
    for t in tensors:
        shape = (-1,) + (1,) * (t.ndim - 1)
        c = value.view(shape)
        t.mul_(coef.view(shape))
        torch.maximum(torch.minimum(t, c), -c, out=t)
    return pre


def _cosines(a: Sequence[torch.Tensor], b: Sequence[torch.Tensor]) -> torch.Tensor:
    dot = sum((x.reshape(x.shape[0], -1) * y.reshape(y.shape[0], -1)).sum(1) for x, y in zip(a, b))
    return dot / (member_norms(a) * member_norms(b)).clamp_min(1e-30)


@dataclass
class AddingResult:
    """What :func:`train_adding` measured, one column per member (config × seed)."""

    labels: list            # "none", "value 0.05", ... per member
    seeds: list             # seed per member
    diverged_step: list     # first step (1-based) with a non-finite loss, or None
    final_mse: np.ndarray   # validation MSE at the end (nan if diverged)
    train_loss: np.ndarray  # (steps, n) training loss per step (nan after divergence)
    grad_norm: np.ndarray   # (steps, n) global gradient norm before clipping
    cosine: np.ndarray      # (steps, n) cos(gradient before, gradient after clipping)
    model: StackedTanhRNN
    baseline: float = ADDING_BASELINE_MSE

    def rows(self) -> list[dict]:
        """One row per config: final MSE per seed, diverged count, median final MSE."""
        out = []
        for label in dict.fromkeys(self.labels):
            idx = [i for i, lab in enumerate(self.labels) if lab == label]
            finals = [None if self.diverged_step[i] else float(self.final_mse[i]) for i in idx]
            finite = [f for f in finals if f is not None]
            out.append({"method": label, "seeds": [self.seeds[i] for i in idx],
                        "final_mse": finals,
                        "diverged": sum(self.diverged_step[i] is not None for i in idx),
                        "below_baseline": sum(f < self.baseline for f in finite),
                        "median_mse": float(np.median(finite)) if finite else math.nan})
        return out

    def table(self) -> str:
        """The comparison as fixed-width text (3 significant digits)."""
        rows = self.rows()
        seeds = rows[0]["seeds"]
        head = f"{'method':<12}" + "".join(f"{'seed ' + str(s):>11}" for s in seeds)
        head += f"{'diverged':>10}{'median':>9}"
        lines = [head, "-" * len(head)]
        for r in rows:
            idx = [i for i, lab in enumerate(self.labels) if lab == r["method"]]
            cells = [f"{'NaN@' + str(self.diverged_step[i]):>11}" if self.diverged_step[i]
                     else f"{self.final_mse[i]:>11.3g}" for i in idx]
            med = "-" if math.isnan(r["median_mse"]) else f"{r['median_mse']:.3g}"
            lines.append(f"{r['method']:<12}" + "".join(cells)
                         + f"{str(r['diverged']) + '/' + str(len(idx)):>10}{med:>9}")
        return "\n".join(lines)


def _config_label(method: str, threshold) -> str:
    return method if method == "none" else f"{method} {threshold:g}"


def train_adding(configs=(("none", None), ("value", 0.05), ("norm", 0.25)),
                 seeds=(0, 1, 2), *, steps: int = 600, seq_len: int = 15,
                 hidden_size: int = 32, batch_size: int = 32, lr: float = 0.1,
                 momentum: float = 0.9, recurrent_scale: float = 1.5, n_val: int = 1000,
                 progress: bool = False) -> AddingResult:
    """Train the same :class:`TanhRNN` on the adding problem once per (config, seed).

    ``configs``: pairs ``(method, threshold)`` with method "none", "value" or "norm".  For
    a given seed every config starts from the same weights and sees the same batches
    (fresh sequences every step); SGD with ``lr`` and ``momentum``; clipping between
    backward and step.  A member whose loss stops being finite is *diverged*; from then on
    its gradients are zeroed and its loss is not recorded.
    Validation: ``n_val`` sequences (seed 10⁶), evaluated at the end."""
    if not isinstance(configs, (list, tuple)) or not configs:
        raise TypeError("configs must be a non-empty list of (method, threshold) pairs")
    parsed = []
    for i, cfg in enumerate(configs):
        if not isinstance(cfg, (list, tuple)) or len(cfg) != 2:
            raise TypeError(f"configs[{i}] must be a (method, threshold) pair, got {cfg!r}")
        method = check_choice(f"configs[{i}] method", cfg[0], ["none", "value", "norm"])
        thr = None if method == "none" else check_float(
            f"configs[{i}] threshold", cfg[1], min_value=0.0, min_inclusive=False)
        parsed.append((method, thr))
    if not isinstance(seeds, (list, tuple, range)) or len(seeds) == 0:
        raise TypeError("seeds must be a non-empty list of integers")
    seeds = [check_int("seeds[i]", s, min_value=0) for s in seeds]
    steps = check_int("steps", steps, min_value=1)
    seq_len = check_int("seq_len", seq_len, min_value=2)
    hidden_size = check_int("hidden_size", hidden_size, min_value=1)
    batch_size = check_int("batch_size", batch_size, min_value=1)
    lr = check_float("lr", lr, min_value=0.0, min_inclusive=False)
    momentum = check_float("momentum", momentum, min_value=0.0, max_value=1.0,
                           max_inclusive=False)
    recurrent_scale = check_float("recurrent_scale", recurrent_scale, min_value=0.0)
    n_val = check_int("n_val", n_val, min_value=1)
    check_bool("progress", progress)

    members = [(m, t, s) for (m, t) in parsed for s in seeds]
    n = len(members)
    inits = {}
    for s in seeds:
        torch.manual_seed(s)
        inits[s] = TanhRNN(2, hidden_size, 1, recurrent_scale)
    model = StackedTanhRNN([inits[s] for _, _, s in members])
    params = list(model.parameters())
    value = torch.tensor([t if m == "value" else math.inf for m, t, _ in members])
    norm = torch.tensor([t if m == "norm" else math.inf for m, t, _ in members])
    data = {s: adding_problem(steps * batch_size, seq_len, seed=s) for s in seeds}
    order = [seeds.index(s) for _, _, s in members]
    X_all = torch.stack([data[s][0] for s in seeds])  # (n_seeds, steps·B, T, 2)
    y_all = torch.stack([data[s][1] for s in seeds])
    optimizer = torch.optim.SGD(params, lr=lr, momentum=momentum)

    alive = torch.ones(n, dtype=torch.bool)
    diverged: list = [None] * n
    losses = np.full((steps, n), np.nan)
    norms = np.full((steps, n), np.nan)
    cosines = np.full((steps, n), np.nan)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc="steps", leave=False)
    try:
        for k in range(steps):
            sl = slice(k * batch_size, (k + 1) * batch_size)
            xb, yb = X_all[order, sl], y_all[order, sl]
            loss = ((model(xb) - yb) ** 2).mean(dim=(1, 2))
            bad = alive & ~torch.isfinite(loss)
            for i in bad.nonzero().flatten().tolist():
                diverged[i] = k + 1
            alive &= ~bad
            if not alive.any():
                break
            optimizer.zero_grad(set_to_none=False)
            loss[alive].sum().backward()
            with torch.no_grad():
                grads = [p.grad for p in params]
                raw = [g.clone() for g in grads]
                pre = clip_members_(grads, value, norm)
                cos = _cosines(raw, grads)
                for g in grads:  # a diverged member is frozen
                    g[~alive] = 0.0
            a = alive.numpy()
            losses[k, a] = loss.detach().numpy()[a]
            norms[k, a] = pre.numpy()[a]
            cosines[k, a] = cos.numpy()[a]
            optimizer.step()
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    Xv, yv = adding_problem(n_val, seq_len, seed=10**6)
    with torch.no_grad():
        final = ((model(Xv.expand(n, -1, -1, -1)) - yv) ** 2).mean(dim=(1, 2)).numpy()
    final = np.where(alive.numpy(), final, np.nan)
    return AddingResult([_config_label(m, t) for m, t, _ in members], [s for *_, s in members],
                        diverged, final, losses, norms, cosines, model)


def gradient_norm(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """Global L2 norm of ∂MSE/∂θ over all parameters for one batch (grads are zeroed first)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    model.zero_grad(set_to_none=True)
    loss = nn.functional.mse_loss(model(X), y)
    loss.backward()
    return float(torch.sqrt(sum((p.grad ** 2).sum() for p in model.parameters()
                                if p.grad is not None)))


def first_step_gradient(lengths=(5, 20, 80), scales=(0.8, 1.0, 1.5, 2.0), *,
                        hidden_size: int = 32, n_samples: int = 64, seed: int = 0) -> dict:
    """{scale: [‖∂L/∂x_1‖ for each sequence length]}: the gradient that reaches the *first*
    input through all T Jacobians diag(1 − h_t²) W_hh, at initialization (MSE loss,
    adding-problem batch).  Same data and same initial weights for every scale (only the
    scale of the orthogonal W_hh changes)."""
    lengths = [check_int("lengths[i]", t, min_value=2) for t in lengths]
    scales = [check_float("scales[i]", s, min_value=0.0) for s in scales]
    seed = check_int("seed", seed, min_value=0)
    out = {}
    for s in scales:
        out[s] = []
        for T in lengths:
            torch.manual_seed(seed)
            model = TanhRNN(2, hidden_size, 1, recurrent_scale=s)
            X, y = adding_problem(n_samples, T, seed=seed)
            X.requires_grad_(True)
            nn.functional.mse_loss(model(X), y).backward()
            out[s].append(float(torch.linalg.vector_norm(X.grad[:, 0])))
    return out


def single_unit_rnn_loss(w, b, *, steps: int = 50, x0: float = 0.5, target: float = 0.7):
    """``(loss, dL/dw, dL/db)`` of Pascanu et al.'s one-neuron RNN (2013, Fig. 6), NumPy,
    element-wise over arrays w and b:  x_t = w·σ(x_{t−1}) + b,  L = (x_T − target)².

    The gradient is carried forward with the state: ∂x_t/∂w = σ(x_{t−1}) + w σ'(x_{t−1})
    ∂x_{t−1}/∂w and ∂x_t/∂b = 1 + w σ'(x_{t−1}) ∂x_{t−1}/∂b."""
    steps = check_int("steps", steps, min_value=1)
    x0 = check_float("x0", x0)
    target = check_float("target", target)
    w = check_array("w", w, dtype_kind="fiu").astype(float)
    b = check_array("b", b, dtype_kind="fiu").astype(float)
    x = np.full(np.broadcast(w, b).shape, x0)
    dw = np.zeros_like(x)
    db = np.zeros_like(x)
    for _ in range(steps):
        s = 0.5 * (1.0 + np.tanh(0.5 * x))
        ds = s * (1.0 - s)
        dw = s + w * ds * dw
        db = 1.0 + w * ds * db
        x = w * s + b
    r = x - target
    return r ** 2, 2 * r * dw, 2 * r * db
