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
product per time step) so that a comparison over methods × seeds trains in one loop
(chapter 06's ``train_adding``), each member behaving exactly like its own ``TanhRNN``
trained with ``torch.optim.SGD`` and ``clip_grad_value_``/``clip_grad_norm_`` (tested).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..core import repro
from ..core.validation import check_float, check_int

#: MSE of always predicting 1 (the mean target) on the adding problem: Var(U + U') = 1/6
ADDING_BASELINE_MSE = 1.0 / 6.0
EPS = 1e-6  # the guard of torch.nn.utils.clip_grad_norm_ (as scratch.clipping.EPS)


def adding_problem(n_samples: int, seq_len: int, *, seed: int = 0):
    """``(X, y)`` float32 tensors: X (n, T, 2) = (value, marker) per step, y (n, 1) the sum
    of the two marked values (one marker in each half of the sequence)."""
    n = check_int("n_samples", n_samples, min_value=1)
    T = check_int("seq_len", seq_len, min_value=2)
    g = repro.generator(seed)
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
