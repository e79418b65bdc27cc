"""What every from-scratch optimizer shares: argument checks and the loop over parameters.

Each algorithm module (``sgd.py``, ``adam.py``, …) only writes ``_update(p, grad, state,
group)`` — the rule for one parameter tensor — so the update reads like its formula.
"""

from __future__ import annotations

import torch
from torch.optim import Optimizer

from ...core.validation import check_bool, check_float


def nonnegative(name: str, value) -> float:
    """A finite float ≥ 0 (learning rates, weight decay, ε, momentum)."""
    return check_float(name, value, min_value=0.0)


def coefficient(name: str, value, *, allow_one: bool = False) -> float:
    """A decay coefficient in [0, 1) (or [0, 1] with ``allow_one``)."""
    return check_float(name, value, min_value=0.0, max_value=1.0, max_inclusive=allow_one)


def check_betas(betas) -> tuple[float, float]:
    """``(β₁, β₂)``, each in [0, 1)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"betas must be a pair (beta1, beta2) of floats in [0, 1), got {betas!r}")
    return coefficient("betas[0]", betas[0]), coefficient("betas[1]", betas[1])


def flag(name: str, value) -> bool:
    return check_bool(name, value)


def momentum_coefficient(name: str, value) -> float:
    """A momentum in [0, 1): the share of the old velocity kept each step (≥ 1 never
    forgets, so the steps grow without bound)."""
    return check_float(name, value, min_value=0.0, max_value=1.0, max_inclusive=False)


def check_params(params):
    """What ``torch.optim.Optimizer`` takes: parameters (or parameter groups), not a model."""
    if isinstance(params, torch.nn.Module):
        raise TypeError("params must be the model's parameters, not the model itself: pass "
                        "model.parameters()")
    if isinstance(params, torch.Tensor):
        raise TypeError("params must be an iterable of tensors (e.g. model.parameters() or "
                        "[w]), not a single tensor: wrap it in a list")
    if isinstance(params, type) or not hasattr(params, "__iter__"):
        raise TypeError(f"params must be an iterable of tensors or of parameter groups (dicts), "
                        f"e.g. model.parameters(); got {type(params).__name__}")
    return params


class ScratchOptimizer(Optimizer):
    """``torch.optim.Optimizer`` whose ``step`` calls ``_update`` once per parameter.

    The gradient handed to ``_update`` is ``−∇`` when the group has ``maximize=True``.
    ``_update`` changes ``p`` and ``state`` in place (it runs under ``torch.no_grad``).
    """

    def __init__(self, params, defaults: dict):
        super().__init__(check_params(params), defaults)

    def _update(self, p: torch.Tensor, grad: torch.Tensor, state: dict, group: dict) -> None:
        raise NotImplementedError

    @torch.no_grad()
    def step(self, closure=None):
        """One optimization step; ``closure`` (optional) re-evaluates and returns the loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse or torch.is_complex(p):
                    raise TypeError(f"{type(self).__name__} (from scratch) supports dense real "
                                    "tensors only; use torch.optim for sparse or complex ones")
                grad = -p.grad if group["maximize"] else p.grad
                self._update(p, grad, self.state[p], group)
        return loss
