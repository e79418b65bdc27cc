"""Knowledge distillation from scratch (Hinton, Vinyals & Dean 2015).

Soft targets at temperature T: p_i = softmax(z/T)_i.  The student minimises

    L = α · T² · KL(p_teacher^T ‖ p_student^T) + (1 − α) · CE(student logits, labels)

(KL averaged over the batch).  The T² keeps the soft term's gradient the same size as T
changes: ∂KL/∂z_student = (p_student^T − p_teacher^T)/T, which shrinks like 1/T² for large T.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..core import repro
from ..core.validation import check_float, check_int, check_tensor


def soft_targets(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """softmax(logits / T) along the last dimension."""
    check_tensor("logits", logits, floating=True)
    t = check_float("temperature", temperature, min_value=0.0, min_inclusive=False)
    return torch.softmax(logits / t, dim=-1)


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                      labels: torch.Tensor, temperature: float = 4.0,
                      alpha: float = 0.9) -> torch.Tensor:
    """α·T²·KL(softmax(t/T) ‖ softmax(s/T)) (batch mean) + (1 − α)·CE(s, labels)."""
    check_tensor("student_logits", student_logits, ndim=2, floating=True)
    check_tensor("teacher_logits", teacher_logits, ndim=2, floating=True)
    check_tensor("labels", labels, ndim=1)
    if teacher_logits.shape != student_logits.shape:
        raise ValueError(f"teacher_logits must have the student's shape "
                         f"{tuple(student_logits.shape)}, got {tuple(teacher_logits.shape)}")
    if len(labels) != len(student_logits) or labels.is_floating_point():
        raise ValueError("labels must be integer class indices, one per row of the logits")
    t = check_float("temperature", temperature, min_value=0.0, min_inclusive=False)
    alpha = check_float("alpha", alpha, min_value=0.0, max_value=1.0)
    log_p_s = torch.log_softmax(student_logits / t, dim=-1)
    log_p_t = torch.log_softmax(teacher_logits.detach() / t, dim=-1)
    kl = (log_p_t.exp() * (log_p_t - log_p_s)).sum(dim=-1).mean()
    hard = -torch.log_softmax(student_logits, dim=-1).gather(1, labels[:, None]).mean()
    return alpha * t * t * kl + (1 - alpha) * hard


def distill(student: nn.Module, X: torch.Tensor, y: torch.Tensor,
            teacher_logits: torch.Tensor | None = None, *, temperature: float = 4.0,
            alpha: float = 0.9, epochs: int = 20, lr: float = 1e-3, batch_size: int = 64,
            seed: int = 0) -> nn.Module:
    """Train ``student`` in place with Adam on :func:`distillation_loss` against fixed
    ``teacher_logits`` (one row per row of X); without teacher logits it trains on the hard
    labels only (plain cross-entropy).  Returns the student."""
    if not isinstance(student, nn.Module):
        raise TypeError(f"student must be an nn.Module, got {type(student).__name__}")
    check_tensor("X", X, floating=True)
    check_tensor("y", y, ndim=1)
    if teacher_logits is not None:
        check_tensor("teacher_logits", teacher_logits, ndim=2, floating=True)
        if len(teacher_logits) != len(X):
            raise ValueError("teacher_logits must have one row per row of X")
    epochs = check_int("epochs", epochs, min_value=1)
    batch_size = check_int("batch_size", batch_size, min_value=1)
    lr = check_float("lr", lr, min_value=0.0, min_inclusive=False)
    g = repro.generator(seed)
    opt = torch.optim.Adam(student.parameters(), lr=lr)
    student.train()
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=g)
        for i in range(0, len(X), batch_size):
            idx = order[i:i + batch_size]
            out = student(X[idx])
            if teacher_logits is None:
                loss = F.cross_entropy(out, y[idx])
            else:
                loss = distillation_loss(out, teacher_logits[idx], y[idx], temperature, alpha)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    student.eval()
    return student
