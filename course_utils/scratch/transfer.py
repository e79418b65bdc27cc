"""Transfer learning from scratch: clone, replace the head, freeze, discriminative rates.

* **clone before reuse**: ``copy.deepcopy(model)`` gives new parameter tensors; reusing the
  *same* modules in a second model (``nn.Sequential(*old[:-1], new_head)``) shares them, so
  training the new model silently changes the old one.
* **replace the head**: keep every module before the last ``nn.Linear`` (the "body", a
  feature extractor h = f(x)) and put a fresh ``nn.Linear(in_features, n_classes)`` on top.
* **freeze**: ``requires_grad = False`` on the lower parameters; autograd then computes no
  gradient for them and the optimizer skips them (their ``.grad`` stays None).
* **discriminative learning rates** (Howard & Ruder 2018): one optimizer parameter group per
  layer, the top layer at rate η, each lower one at η·γ (γ < 1): lower layers hold general
  features and should move less.  ``torch.optim`` applies a group's ``lr`` to its parameters:
  θ_l ← θ_l − η γ^{L−1−l} ∂L/∂θ_l for plain SGD.
* :func:`pca_2d`: principal components by SVD, x ↦ (x − μ) V₂ (compared with scikit-learn's
  ``PCA``, signs fixed so the largest |loading| of each component is positive).
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from ..core import repro
from ..core.stacked import StackedMLP
from ..core.validation import check_float, check_int


def _check_sequential(model, name: str = "model") -> nn.Sequential:
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"{name} must be an nn.Sequential (e.g. from models.mlp), got "
                        f"{type(model).__name__}")
    return model


def _check_module(model, name: str = "model") -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"{name} must be an nn.Module, got {type(model).__name__}")
    return model


def clone(model: nn.Module) -> nn.Module:
    """An independent copy (``copy.deepcopy``): new parameter tensors, same values."""
    return copy.deepcopy(_check_module(model))


def shares_parameters(a: nn.Module, b: nn.Module) -> bool:
    """Whether ``a`` and ``b`` hold at least one parameter tensor in common (same storage)."""
    _check_module(a, "a")
    _check_module(b, "b")
    ptrs = {p.data_ptr() for p in a.parameters()}
    return any(p.data_ptr() in ptrs for p in b.parameters())


def linear_indices(model: nn.Sequential) -> list[int]:
    """Positions of the ``nn.Linear`` modules of a Sequential, in order."""
    return [i for i, m in enumerate(_check_sequential(model)) if isinstance(m, nn.Linear)]


def replace_head(model: nn.Sequential, n_classes: int, generator=None) -> nn.Sequential:
    """A new Sequential: a deep copy of every module before the last ``nn.Linear``, then a
    fresh ``nn.Linear(in_features, n_classes)`` (PyTorch's default initialization, drawn from
    ``generator`` if one is given).  ``model`` is left untouched."""
    idx = linear_indices(model)
    if not idx:
        raise ValueError("model has no nn.Linear layer to replace")
    n_classes = check_int("n_classes", n_classes, min_value=1)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    old = model[idx[-1]]
    head = nn.Linear(old.in_features, n_classes, bias=old.bias is not None)
    if generator is not None:  # same distribution as nn.Linear's reset_parameters
        bound = 1.0 / old.in_features ** 0.5
        with torch.no_grad():
            head.weight.uniform_(-bound, bound, generator=generator)
            if head.bias is not None:
                head.bias.uniform_(-bound, bound, generator=generator)
    body = copy.deepcopy(nn.Sequential(*list(model)[:idx[-1]]))
    return nn.Sequential(*body, head)


def parameter_modules(model: nn.Module) -> list[nn.Module]:
    """The modules that hold parameters of their own (``recurse=False``), in module order."""
    return [m for m in _check_module(model).modules() if any(True for _ in m.parameters(recurse=False))]


def freeze_lower_layers(model: nn.Module, n_trainable: int) -> nn.Module:
    """``requires_grad = False`` on every parameter except those of the last ``n_trainable``
    modules that have parameters (``requires_grad = True`` there).  In place; returns ``model``."""
    mods = parameter_modules(model)
    n_trainable = check_int("n_trainable", n_trainable, min_value=0, max_value=len(mods))
    for p in model.parameters():
        p.requires_grad_(False)
    for m in mods[len(mods) - n_trainable:]:
        for p in m.parameters(recurse=False):
            p.requires_grad_(True)
    return model


def freeze_first_linear(model: nn.Sequential, n_frozen: int) -> nn.Sequential:
    """Freeze the parameters of the first ``n_frozen`` ``nn.Linear`` layers (and anything
    before them), leave the rest trainable.  In place; returns ``model``."""
    idx = linear_indices(model)
    n_frozen = check_int("n_frozen", n_frozen, min_value=0, max_value=len(idx))
    stop = idx[n_frozen - 1] + 1 if n_frozen else 0
    for i, m in enumerate(model):
        for p in m.parameters():
            p.requires_grad_(i >= stop)
    return model


def discriminative_lr_groups(model: nn.Module, lr: float, decay: float) -> list[dict]:
    """Optimizer parameter groups, one per module with parameters (module order): the last
    gets ``lr``, the one below ``lr·decay``, then ``lr·decay²`` … (``decay`` ∈ [0, 1])."""
    lr = check_float("lr", lr, min_value=0.0)
    decay = check_float("decay", decay, min_value=0.0, max_value=1.0)
    mods = parameter_modules(model)
    n = len(mods)
    return [{"params": list(m.parameters(recurse=False)), "lr": lr * decay ** (n - 1 - i)}
            for i, m in enumerate(mods)]


def reinit_above(model: nn.Sequential, n_kept: int, generator=None) -> nn.Sequential:
    """Re-initialize every ``nn.Linear`` after the first ``n_kept`` (PyTorch's default
    distribution U(±1/√fan_in), from ``generator``).  In place; returns ``model``."""
    idx = linear_indices(model)
    n_kept = check_int("n_kept", n_kept, min_value=0, max_value=len(idx))
    g = generator if generator is not None else repro.generator(0)
    with torch.no_grad():
        for i in idx[n_kept:]:
            lin = model[i]
            bound = 1.0 / lin.in_features ** 0.5
            lin.weight.uniform_(-bound, bound, generator=g)
            if lin.bias is not None:
                lin.bias.uniform_(-bound, bound, generator=g)
    return model


@torch.no_grad()
def body_features(model: nn.Sequential, X: torch.Tensor) -> torch.Tensor:
    """The input of the last ``nn.Linear`` (the features the head sees), in eval mode."""
    idx = linear_indices(model)
    if not idx:
        raise ValueError("model has no nn.Linear layer")
    if not isinstance(X, torch.Tensor) or not X.is_floating_point():
        raise TypeError("X must be a floating-point torch.Tensor")
    was = model.training
    model.eval()
    try:
        return nn.Sequential(*list(model)[:idx[-1]])(X)
    finally:
        model.train(was)


def pca_2d(X, n_components: int = 2) -> np.ndarray:
    """Project rows of ``X`` on their first principal components: (X − μ) V_k by SVD, each
    component's sign chosen so its largest-|loading| entry is positive."""
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or len(X) < 2:
        raise ValueError(f"X must have shape (n_samples ≥ 2, n_features), got {X.shape}")
    n_components = check_int("n_components", n_components, min_value=1, max_value=min(X.shape))
    Xc = X - X.mean(axis=0)
    _, _, Vt = np.linalg.svd(Xc, full_matrices=False)
    V = Vt[:n_components].T
    signs = np.sign(V[np.abs(V).argmax(axis=0), np.arange(n_components)])
    signs[signs == 0] = 1.0
    return Xc @ (V * signs)


# ------------------------------------------------------------- many small runs at once
def train_stacked(net: StackedMLP, X: torch.Tensor, y: torch.Tensor, lr: torch.Tensor, *,
                  steps: int, loss: str = "ce", betas=(0.9, 0.999), eps: float = 1e-8,
                  on_step=None) -> torch.Tensor:
    """Full-batch Adam on every run of ``net`` at once; returns the last loss of each run (R,).

    ``lr`` (R, L): the learning rate of layer l in run r — 0 freezes it, a smaller one below
    the head gives discriminative rates.  Each run's loss is the mean over its own examples
    (cross-entropy on labels ``y`` (R, N), or ``"mse"`` against targets ``y`` (R, N, out)),
    and their sum is differentiated, so the runs do not interact.  The update is
    ``torch.optim.Adam``'s (bias-corrected moments) with a per-run rate."""
    steps = check_int("steps", steps, min_value=0)
    if loss not in ("ce", "mse"):
        raise ValueError(f"loss must be 'ce' or 'mse', got {loss!r}")
    if not isinstance(net, StackedMLP):
        raise TypeError(f"net must be a StackedMLP, got {type(net).__name__}")
    R, L = net.n_members, net.n_layers
    if not isinstance(lr, torch.Tensor) or tuple(lr.shape) != (R, L):
        raise ValueError(f"lr must be a tensor of shape (runs, layers) = ({R}, {L})")
    b1, b2 = betas
    params = net.layer_parameters()
    rates = [lr[:, i // 2].reshape(R, *([1] * (p.ndim - 1))) for i, p in enumerate(params)]
    m = [torch.zeros_like(p) for p in params]
    v = [torch.zeros_like(p) for p in params]
    last = torch.zeros(R)
    for t in range(1, steps + 1):
        out = net(X)
        if loss == "ce":
            per = nn.functional.cross_entropy(out.transpose(1, 2), y, reduction="none").mean(1)
        else:
            per = ((out - y) ** 2).mean(dim=(1, 2))
        grads = torch.autograd.grad(per.sum(), params)
        last = per.detach()
        with torch.no_grad():  # θ ← θ − a · (m/c₁) / (√(v/c₂) + ε), as torch.optim.Adam
            c1, c2 = 1 - b1 ** t, (1 - b2 ** t) ** 0.5
            for p, g, mi, vi, a in zip(params, grads, m, v, rates):
                mi.mul_(b1).add_(g, alpha=1 - b1)
                vi.mul_(b2).addcmul_(g, g, value=1 - b2)
                denom = vi.sqrt().div_(c2).add_(eps)
                p.addcdiv_(mi * (a / c1), denom, value=-1.0)
        if on_step is not None:
            on_step(t)
    return last
