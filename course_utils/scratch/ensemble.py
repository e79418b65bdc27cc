"""Many small networks at once: one per seed, per variant or per bootstrap sample.

:class:`~course_utils.core.stacked.StackedMLP` holds S independent MLPs and evaluates them
with one batched matrix product; member s equals an ordinary ``nn.Sequential`` of
``nn.Linear``/``nn.ReLU``/``nn.Dropout`` (its ``to_models()``, tested).
:func:`train_parallel` trains them together: the sum of the S losses has S independent
gradients, so with Adam or SGD (element-wise updates) each model follows exactly the path
it would follow alone.  A weight per model and training example expresses subsets,
bootstrap samples (bagging: counts of a draw with replacement), class weights and
over-/under-sampling in one tensor (S, N).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..core import repro
from ..core.stacked import StackedMLP
from ..core.validation import check_choice, check_float, check_int


def train_parallel(model: StackedMLP, X, Y, *, weight=None, steps: int = 200, lr: float = 0.01,
                   optimizer: str = "adam", momentum: float = 0.0, batch_size: int | None = None,
                   seed: int = 0, augment: Callable | None = None, max_norm: float | None = None,
                   every: int = 0, on_eval: Callable | None = None, l2: float = 0.0,
                   progress: Callable | None = None) -> StackedMLP:
    """Train the S models of ``model`` together for ``steps`` steps (full batch by default).

    ``Y``: class labels (N,) or (S, N) (cross-entropy), or float targets (…, N, 1) (MSE).
    ``weight`` (S, N): example weights; model s minimizes Σᵢ wₛᵢ ℓₛᵢ / Σᵢ wₛᵢ.  ``augment(x,
    g)`` maps a batch (S, B, d) to an augmented one; ``max_norm`` applies max-norm after each
    step; ``l2`` adds l2·Σw² over the weight matrices; ``on_eval(step, model)`` is called
    every ``every`` steps in eval mode."""
    if not isinstance(model, StackedMLP):
        raise TypeError(f"model must be a StackedMLP, got {type(model).__name__}")
    for name, t in (("X", X), ("Y", Y)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if X.ndim not in (2, 3) or not X.is_floating_point():
        raise ValueError(f"X must be float inputs (N, d) or (S, N, d), got {tuple(X.shape)} {X.dtype}")
    steps = check_int("steps", steps, min_value=1)
    lr = check_float("lr", lr, min_value=0.0, min_inclusive=False)
    check_choice("optimizer", optimizer, ["adam", "sgd"])
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, min_value=1)
    if weight is not None and tuple(weight.shape) != (model.n_members, X.shape[-2]):
        raise ValueError(f"weight must have shape (S, N) = {(model.n_members, X.shape[-2])}, "
                         f"got {tuple(weight.shape)}")
    S, N = model.n_members, X.shape[-2]
    g = repro.generator(seed)
    torch.manual_seed(repro.seed(seed))  # dropout masks
    params = list(model.parameters())
    opt = (torch.optim.Adam(params, lr=lr) if optimizer == "adam"
           else torch.optim.SGD(params, lr=lr, momentum=momentum))
    regression = Y.is_floating_point()
    Y = Y if (Y.ndim == 3 or (Y.ndim == 2 and not regression)) else Y.expand(S, *Y.shape)
    W = torch.ones(S, N) if weight is None else weight.float()
    for t in range(steps):
        model.train()
        idx = None if batch_size is None else torch.randint(N, (batch_size,), generator=g)
        xb = X if idx is None else X[..., idx, :]
        xb = xb.expand(S, *xb.shape) if xb.ndim == 2 else xb
        if augment is not None:
            xb = augment(xb, g)
        yb, wb = (Y, W) if idx is None else (Y[:, idx], W[:, idx])
        out = model(xb)
        if regression:
            per = ((out - yb) ** 2).mean(-1)
        else:
            per = F.cross_entropy(out.reshape(-1, out.shape[-1]), yb.reshape(-1),
                                  reduction="none").reshape(S, -1)
        loss = ((per * wb).sum(1) / wb.sum(1).clamp(min=1e-12)).nan_to_num(0.0).sum()
        if l2:
            loss = loss + l2 * sum((w * w).sum() for w in model.weights)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if max_norm is not None:
            model.max_norm_(max_norm)
        if every and on_eval is not None and ((t + 1) % every == 0 or t + 1 == steps):
            model.eval()
            with torch.no_grad():
                on_eval(t + 1, model)
        if progress is not None:
            progress((t + 1) / steps)
    model.eval()
    return model


@torch.no_grad()
def accuracy(model, X, y) -> np.ndarray:
    """Accuracy of each of the S models on (X, y) (eval mode), as a NumPy array."""
    if not isinstance(model, StackedMLP):
        raise TypeError(f"model must be a StackedMLP, got {type(model).__name__}")
    model.eval()
    y = y if y.ndim == 2 else y.expand(model.n_members, -1)
    return (model(X).argmax(-1) == y).float().mean(1).numpy()


