"""Many small MLPs of one shape trained side by side as one batched computation.

Seeds, learning rates, label budgets or variants become a leading *member* axis: member s
of layer l holds W_l[s] (in, out) and b_l[s] (1, out), and

    h ← act(h W_l[s] + b_l[s])        (the last layer linear)

is one ``torch.baddbmm`` for all members.  Summing the members' losses trains them
independently (their gradients do not mix), so a notebook can average over seeds in the time
of a few runs.  Member s computes exactly what ``to_models()[s]`` computes (tested).
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from .validation import check_float, check_int, check_tensor


def _check_generator(generator):
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got "
                        f"{type(generator).__name__}")


class StackedMLP(nn.Module):
    """S MLPs of one shape: ``weights[l]`` (S, in, out), ``biases[l]`` (S, 1, out).

    ``activation``: a module without parameters applied after every hidden layer (default
    ReLU); ``dropout`` after each hidden activation and ``input_dropout`` on the inputs, as
    ``nn.Dropout``.  Inputs (N, in) are shared by all members, (S, N, in) give each its own;
    outputs are (S, N, out).  Build one from ``nn.Sequential`` models (:meth:`from_models`)
    or draw ``nn.Linear``'s default U(±1/√fan_in) for every member (:meth:`uniform`)."""

    def __init__(self, weights, biases, *, activation: nn.Module | None = None,
                 dropout: float = 0.0, input_dropout: float = 0.0):
        super().__init__()
        weights, biases = list(weights), list(biases)
        if not weights or len(weights) != len(biases):
            raise ValueError("weights and biases must be non-empty lists of the same length")
        S = weights[0].shape[0] if isinstance(weights[0], torch.Tensor) else None
        for k, (w, b) in enumerate(zip(weights, biases)):
            check_tensor(f"weights[{k}]", w, ndim=3, floating=True)
            check_tensor(f"biases[{k}]", b, floating=True)
            if b.ndim == 2:
                b = b[:, None, :]
            if w.shape[0] != S or tuple(b.shape) != (S, 1, w.shape[2]):
                raise ValueError(f"weights[{k}] must be (S, in, out) and biases[{k}] (S, out) "
                                 f"or (S, 1, out) with S = {S}; got {tuple(w.shape)} and "
                                 f"{tuple(b.shape)}")
            if k and w.shape[1] != weights[k - 1].shape[2]:
                raise ValueError(f"weights[{k}] takes {w.shape[1]} inputs but layer {k - 1} "
                                 f"gives {weights[k - 1].shape[2]}")
            biases[k] = b
        activation = nn.ReLU() if activation is None else activation
        if not isinstance(activation, nn.Module) or any(True for _ in activation.parameters()):
            raise ValueError("activation must be an nn.Module with no parameters (a learned "
                             "slope such as PReLU's cannot be shared by the members)")
        self.act = activation
        self.p = check_float("dropout", dropout, min_value=0.0, max_value=1.0,
                             max_inclusive=False)
        self.p_input = check_float("input_dropout", input_dropout, min_value=0.0,
                                   max_value=1.0, max_inclusive=False)
        self.weights = nn.ParameterList(nn.Parameter(w.detach().clone().contiguous())
                                        for w in weights)
        self.biases = nn.ParameterList(nn.Parameter(b.detach().clone().contiguous())
                                       for b in biases)

    @classmethod
    def from_models(cls, models, *, dropout: float = 0.0, input_dropout: float = 0.0):
        """Stack ``nn.Sequential`` MLPs of the same layer shapes and one activation
        (``Linear → act → … → Linear``; dropout layers are left out: pass ``dropout``)."""
        models = list(models) if isinstance(models, (list, tuple)) else models
        if not isinstance(models, list) or not models or not all(
                isinstance(m, nn.Sequential) for m in models):
            raise TypeError("models must be a non-empty list of nn.Sequential MLPs")
        lins, acts = [], []
        for m in models:
            lins.append([x for x in m if isinstance(x, nn.Linear)])
            acts.append([x for x in m if not isinstance(x, (nn.Linear, nn.Dropout))])
        shapes = {tuple(tuple(x.weight.shape) for x in ls) for ls in lins}
        kinds = {tuple(type(a).__name__ for a in ac) for ac in acts}
        if len(shapes) != 1 or len(kinds) != 1 or len(set(next(iter(kinds)))) > 1:
            raise ValueError("models must share their layer shapes and one activation")
        if len(acts[0]) != len(lins[0]) - 1:
            raise ValueError("models must be Linear → activation → … → Linear")
        weights = [torch.stack([ls[k].weight.detach().T for ls in lins])
                   for k in range(len(lins[0]))]
        biases = [torch.stack([ls[k].bias.detach()[None] for ls in lins])
                  for k in range(len(lins[0]))]
        return cls(weights, biases, activation=acts[0][0] if acts[0] else None,
                   dropout=dropout, input_dropout=input_dropout)

    @classmethod
    def uniform(cls, n_members: int, sizes, *, activation: nn.Module | None = None,
                dropout: float = 0.0, input_dropout: float = 0.0, generator=None):
        """``n_members`` MLPs with layer widths ``sizes`` (input, hidden…, output), each layer
        drawn as ``nn.Linear`` draws it: W and b ~ U(±1/√fan_in), W then b, layer by layer."""
        n_members = check_int("n_members", n_members, min_value=1)
        sizes = [check_int("sizes[i]", s, min_value=1) for s in sizes]
        if len(sizes) < 2:
            raise ValueError(f"sizes must list at least the input and output widths, got {sizes}")
        _check_generator(generator)
        weights, biases = [], []
        for a, b in zip(sizes[:-1], sizes[1:]):
            bound = 1.0 / math.sqrt(a)
            weights.append((torch.rand(n_members, a, b, generator=generator) * 2 - 1) * bound)
            biases.append((torch.rand(n_members, 1, b, generator=generator) * 2 - 1) * bound)
        return cls(weights, biases, activation=activation, dropout=dropout,
                   input_dropout=input_dropout)

    @property
    def n_members(self) -> int:
        return self.weights[0].shape[0]

    @property
    def n_layers(self) -> int:
        return len(self.weights)

    @property
    def sizes(self) -> list[int]:
        return [self.weights[0].shape[1]] + [w.shape[2] for w in self.weights]

    def layer_parameters(self) -> list[nn.Parameter]:
        """[W₀, b₀, W₁, b₁, …]: the parameters layer by layer."""
        return [t for pair in zip(self.weights, self.biases) for t in pair]

    def forward(self, x: torch.Tensor, n_layers: int | None = None) -> torch.Tensor:
        """Outputs (S, N, out); with ``n_layers`` = k < L, the activations after layer k."""
        check_tensor("x", x, floating=True)
        if x.ndim == 2:
            x = x.expand(self.n_members, *x.shape)
        if x.ndim != 3 or x.shape[0] != self.n_members or x.shape[2] != self.sizes[0]:
            raise ValueError(f"x must be (N, {self.sizes[0]}) or ({self.n_members}, N, "
                             f"{self.sizes[0]}), got {tuple(x.shape)}")
        k = self.n_layers if n_layers is None else check_int(
            "n_layers", n_layers, min_value=0, max_value=self.n_layers)
        if self.p_input:
            x = nn.functional.dropout(x, self.p_input, self.training)
        for i in range(k):
            x = torch.baddbmm(self.biases[i], x, self.weights[i])
            if i < self.n_layers - 1:
                x = self.act(x)
                if self.p:
                    x = nn.functional.dropout(x, self.p, self.training)
        return x

    def to_models(self) -> list[nn.Sequential]:
        """The members as ordinary ``nn.Sequential`` models (copies of their weights)."""
        out = []
        for s in range(self.n_members):
            layers: list[nn.Module] = [nn.Dropout(self.p_input)] if self.p_input else []
            for i, (w, b) in enumerate(zip(self.weights, self.biases)):
                lin = nn.Linear(w.shape[1], w.shape[2])
                with torch.no_grad():
                    lin.weight.copy_(w[s].T)
                    lin.bias.copy_(b[s, 0])
                layers.append(lin)
                if i < self.n_layers - 1:
                    layers.append(copy.deepcopy(self.act))
                    if self.p:
                        layers.append(nn.Dropout(self.p))
            out.append(nn.Sequential(*layers))
        return out

    @torch.no_grad()
    def max_norm_(self, c: float) -> None:
        """Max-norm on every member: each unit's incoming weights (a column of W_l[s]) get
        ‖w‖₂ ≤ c (as ``scratch.regularization.max_norm_`` on each of :meth:`to_models`)."""
        c = check_float("c", c, min_value=0.0, min_inclusive=False)
        for w in self.weights:
            norms = w.norm(dim=1, keepdim=True)
            w.mul_(torch.where(norms > c, c / (norms + 1e-7), torch.ones_like(norms)))
