"""Regularization from scratch, each piece tested against PyTorch or scikit-learn.

* **dropout** (inverted): keep each unit with probability 1 − p and scale the kept ones by
  1/(1 − p), so E[out] = x in training; identity in evaluation.  Same mask as
  ``nn.Dropout`` for the same random stream (a Bernoulli(1 − p) draw per element).
* **alpha dropout** (for SELU, Klambauer et al. 2017): dropped units are set to SELU's
  negative saturation α' = −λα instead of 0, then an affine map a·h + b restores mean 0 and
  variance 1:  a = ((1 − p)(1 + p α'²))^(−1/2),  b = −a α' p.
* **L1 / L2 penalties**: λ Σ|w| and λ Σw² over the weights (parameters named ``…weight``).
  For plain SGD the penalty ½λ Σw² is exactly ``SGD(weight_decay=λ)``.
* **max-norm**: after each step, rescale every unit's incoming weight vector w so ‖w‖₂ ≤ c
  (as ``torch.renorm(W, 2, 0, c)``).
* **early stopping**: :func:`should_stop` (patience, min_delta) and :class:`EarlyStopping`,
  a ``fit(early_stop=...)`` plug that keeps and restores the best weights.
* **MC dropout** (Gal & Ghahramani 2016): keep only the dropout layers active at test time,
  average T stochastic passes; their spread is a measure of the model's uncertainty.
* **class imbalance**: "balanced" class weights n / (K·n_k) (as scikit-learn's
  ``compute_class_weight``) and over/under-sampling indices.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import nn

from ..core import repro
from ..core.validation import check_bool, check_choice, check_float, check_int, check_tensor

#: SELU's constants (Klambauer et al. 2017), as in ``torch.nn.SELU``.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
ALPHA_PRIME = -SELU_SCALE * SELU_ALPHA  # the value SELU saturates to for x → −∞


def _check_generator(generator):
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    return generator


def _check_p(p) -> float:
    return check_float("p", p, min_value=0.0, max_value=1.0)


# ------------------------------------------------------------------------------- dropout
def dropout(x: torch.Tensor, p: float, training: bool, generator=None) -> torch.Tensor:
    """Inverted dropout: out = x · m / (1 − p), m ~ Bernoulli(1 − p) per element.

    Identity (the same values, a new tensor) in evaluation or for p = 0; zeros for p = 1."""
    check_tensor("x", x, floating=True)
    p = _check_p(p)
    training = check_bool("training", training)
    _check_generator(generator)
    if not training or p == 0.0:
        return x.clone()
    if p == 1.0:
        return torch.zeros_like(x)
    mask = torch.empty_like(x).bernoulli_(1.0 - p, generator=generator)
    return x * mask / (1.0 - p)


def alpha_dropout(x: torch.Tensor, p: float, training: bool, generator=None) -> torch.Tensor:
    """Alpha dropout (``nn.AlphaDropout``): keeps mean 0 and variance 1 of SELU activations.

    out = a·(x·m + α'(1 − m)) + b with m ~ Bernoulli(1 − p), α' = −λα,
    a = ((1 − p)(1 + p α'²))^(−1/2), b = −a α' p.  Identity in evaluation or for p = 0."""
    check_tensor("x", x, floating=True)
    p = _check_p(p)
    training = check_bool("training", training)
    _check_generator(generator)
    if not training or p == 0.0:
        return x.clone()
    if p == 1.0:
        return torch.zeros_like(x)  # as nn.AlphaDropout: everything dropped
    mask = torch.empty_like(x).bernoulli_(1.0 - p, generator=generator)
    a = ((1.0 - p) * (1.0 + p * ALPHA_PRIME ** 2)) ** -0.5
    b = -a * ALPHA_PRIME * p
    return a * (x * mask + ALPHA_PRIME * (1.0 - mask)) + b


class Dropout(nn.Module):
    """:func:`dropout` as a layer (train/eval from ``module.training``), like ``nn.Dropout``."""

    def __init__(self, p: float = 0.5, generator=None):
        super().__init__()
        self.p = check_float("p", p, min_value=0.0, max_value=1.0)
        self.generator = _check_generator(generator)

    def forward(self, x):
        return dropout(x, self.p, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"


# ----------------------------------------------------------------------------- penalties
def _weights(model):
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    return [w for name, w in model.named_parameters() if name.endswith("weight")]


def l1_penalty(model: nn.Module, lam: float) -> torch.Tensor:
    """λ · Σ|w| over the parameters whose name ends in ``weight`` (biases are not penalized);
    a differentiable 0-d tensor."""
    lam = check_float("lam", lam, min_value=0.0)
    ws = _weights(model)
    if not ws:
        return torch.zeros(())
    return lam * sum(w.abs().sum() for w in ws)


def l2_penalty(model: nn.Module, lam: float) -> torch.Tensor:
    """λ · Σw² over the parameters whose name ends in ``weight``; a differentiable 0-d tensor.

    Its gradient is 2λw: ``SGD(weight_decay=wd)`` (which adds wd·w) equals this penalty with
    λ = wd/2."""
    lam = check_float("lam", lam, min_value=0.0)
    ws = _weights(model)
    if not ws:
        return torch.zeros(())
    return lam * sum((w * w).sum() for w in ws)


@torch.no_grad()
def max_norm_(model: nn.Module, c: float) -> nn.Module:
    """In place: every row of every ``nn.Linear`` weight (one unit's incoming weights) with
    ‖w‖₂ > c is rescaled to norm c (as ``torch.renorm(W, 2, 0, c)``).  Returns the model;
    use as ``fit(..., on_step=lambda info: max_norm_(info["model"], c))``."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    c = check_float("c", c, min_value=0.0, min_inclusive=False)
    for m in model.modules():
        if isinstance(m, nn.Linear):
            norms = m.weight.norm(dim=1, keepdim=True)
            m.weight.mul_(torch.where(norms > c, c / (norms + 1e-7), torch.ones_like(norms)))
    return model


# ------------------------------------------------------------------------ early stopping
def should_stop(val_losses, patience: int, min_delta: float = 0.0) -> bool:
    """True iff there are more than ``patience`` losses and none of the last ``patience`` is
    below min(earlier losses) − min_delta (no improvement for ``patience`` epochs)."""
    if isinstance(val_losses, (str, bytes)) or not hasattr(val_losses, "__len__"):
        raise TypeError(f"val_losses must be a list of numbers, got {type(val_losses).__name__}")
    patience = check_int("patience", patience, min_value=1)
    min_delta = check_float("min_delta", min_delta, min_value=0.0)
    losses = [float(v) for v in val_losses]
    if len(losses) <= patience:
        return False
    best_before = min(losses[:-patience])
    return not any(v < best_before - min_delta for v in losses[-patience:])


class EarlyStopping:
    """A ``fit(early_stop=...)`` plug with patience that keeps the best weights.

    Called with the validation losses after each epoch: when the last one is the best so far
    (by more than ``min_delta``) it snapshots ``model.state_dict()``; when :func:`should_stop`
    says stop, it loads the best snapshot back into the model and returns True.  A run that
    ends without stopping keeps its last weights: call :meth:`restore` for the best ones."""

    def __init__(self, model: nn.Module, patience: int = 10, min_delta: float = 0.0,
                 restore_best: bool = True):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
        self.model = model
        self.patience = check_int("patience", patience, min_value=1)
        self.min_delta = check_float("min_delta", min_delta, min_value=0.0)
        self.restore_best = check_bool("restore_best", restore_best)
        self.best_loss = math.inf
        self.best_epoch = 0          # 1-based epoch of the snapshot (0: none yet)
        self.best_state = None
        self.stopped_epoch = None

    def __call__(self, val_losses) -> bool:
        losses = list(val_losses)
        if losses and float(losses[-1]) < self.best_loss - self.min_delta:
            self.best_loss, self.best_epoch = float(losses[-1]), len(losses)
            self.best_state = copy.deepcopy(self.model.state_dict())
        if should_stop(losses, self.patience, self.min_delta):
            self.stopped_epoch = len(losses)
            if self.restore_best:
                self.restore()
            return True
        return False

    def restore(self) -> nn.Module:
        """Load the best weights seen so far (no-op before the first epoch); return the model."""
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        return self.model


# ------------------------------------------------------------------------------ MC dropout
_DROPOUTS = (nn.Dropout, nn.AlphaDropout, nn.FeatureAlphaDropout, nn.Dropout1d, nn.Dropout2d,
             Dropout)


@torch.no_grad()
def mc_dropout_samples(model: nn.Module, X: torch.Tensor, n_samples: int = 30) -> torch.Tensor:
    """``n_samples`` stochastic forward passes, stacked (n_samples, N, …), with the model in
    eval mode except its dropout layers (batch norm keeps its running statistics); the
    model's modes are restored afterwards."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    check_tensor("X", X, floating=True)
    n_samples = check_int("n_samples", n_samples, min_value=1)
    modes = {m: m.training for m in model.modules()}
    try:
        model.eval()
        for m in model.modules():
            if isinstance(m, _DROPOUTS):
                m.train()
        return torch.stack([model(X) for _ in range(n_samples)])
    finally:
        for m, mode in modes.items():
            m.training = mode


def mc_dropout_predict(model: nn.Module, X: torch.Tensor, n_samples: int = 30):
    """``(mean_probs, std_probs)``: mean and standard deviation (over the passes, ddof 0) of
    the softmax outputs of :func:`mc_dropout_samples`."""
    probs = torch.softmax(mc_dropout_samples(model, X, n_samples), dim=-1)
    return probs.mean(0), probs.std(0, unbiased=False)


# -------------------------------------------------------------------------- class imbalance
def class_weights(y, n_classes: int | None = None) -> torch.Tensor:
    """"Balanced" weights w_k = n / (K · n_k) (scikit-learn's ``compute_class_weight``), as a
    float32 tensor for ``nn.CrossEntropyLoss(weight=...)``: every class weighs as much in
    the loss as if the classes were equally frequent."""
    y = torch.as_tensor(y)
    if y.ndim != 1 or y.is_floating_point() or len(y) == 0:
        raise ValueError("y must be a non-empty 1-D tensor of integer class labels")
    K = int(y.max()) + 1 if n_classes is None else check_int("n_classes", n_classes, min_value=1)
    if int(y.min()) < 0 or int(y.max()) >= K:
        raise ValueError(f"labels must lie in 0 … {K - 1}, got {int(y.min())} … {int(y.max())}")
    counts = torch.bincount(y, minlength=K).double()
    if (counts == 0).any():
        raise ValueError(f"every class needs at least one example; counts {counts.long().tolist()}")
    return (len(y) / (K * counts)).float()


def resample_indices(y, method: str, seed: int = 0) -> torch.Tensor:
    """Indices of a class-balanced training set: ``"over"`` repeats random minority examples
    until every class has the majority's count; ``"under"`` keeps a random subset of every
    class of the minority's size; ``"none"`` keeps all (shuffled)."""
    y = torch.as_tensor(y)
    check_choice("method", method, ["none", "over", "under"])
    if y.ndim != 1 or y.is_floating_point() or len(y) == 0:
        raise ValueError("y must be a non-empty 1-D tensor of integer class labels")
    g = repro.generator(seed)
    classes = torch.unique(y)
    groups = [torch.nonzero(y == k).flatten() for k in classes]
    sizes = [len(idx) for idx in groups]
    target = max(sizes) if method == "over" else min(sizes)
    picked = []
    for idx in groups:
        if method == "none":
            picked.append(idx)
        elif method == "over":
            extra = idx[torch.randint(len(idx), (target - len(idx),), generator=g)]
            picked.append(torch.cat([idx, extra]))
        else:
            picked.append(idx[torch.randperm(len(idx), generator=g)[:target]])
    out = torch.cat(picked)
    return out[torch.randperm(len(out), generator=g)]


def flip_labels(y, fraction: float, n_classes: int, seed: int = 0):
    """A copy of ``y`` with ``fraction`` of the labels replaced by a *different* random class
    (uniform among the others), and the boolean mask of the flipped ones."""
    y = torch.as_tensor(y)
    fraction = check_float("fraction", fraction, min_value=0.0, max_value=1.0)
    n_classes = check_int("n_classes", n_classes, min_value=2)
    rng = repro.rng(seed)
    n = len(y)
    flip = np.zeros(n, dtype=bool)
    flip[rng.choice(n, size=int(round(fraction * n)), replace=False)] = True
    shift = torch.from_numpy(rng.integers(1, n_classes, size=n))
    noisy = torch.where(torch.from_numpy(flip), (y + shift) % n_classes, y)
    return noisy, torch.from_numpy(flip)
