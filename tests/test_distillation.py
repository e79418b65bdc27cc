"""course_utils.scratch.distillation against torch.nn.functional's KL divergence and CE."""

import pytest
import torch
import torch.nn.functional as F

from course_utils.core import models
from course_utils.scratch import distillation as dist


def torch_loss(s, t, y, T, alpha):
    kl = F.kl_div(F.log_softmax(s / T, 1), F.softmax(t / T, 1), reduction="batchmean")
    return alpha * T * T * kl + (1 - alpha) * F.cross_entropy(s, y)


@pytest.mark.parametrize("T, alpha", [(1.0, 0.5), (4.0, 0.9), (20.0, 1.0), (2.0, 0.0)])
def test_loss_equals_torch_formulation(T, alpha):
    g = torch.Generator().manual_seed(0)
    s = torch.randn(16, 10, generator=g, dtype=torch.float64, requires_grad=True)
    t = torch.randn(16, 10, generator=g, dtype=torch.float64) * 3
    y = torch.randint(0, 10, (16,), generator=g)
    ours = dist.distillation_loss(s, t, y, T, alpha)
    ref = torch_loss(s, t, y, T, alpha)
    assert float(ours.detach()) == pytest.approx(float(ref.detach()), rel=1e-10, abs=1e-12)
    (g1,) = torch.autograd.grad(ours, s)
    (g2,) = torch.autograd.grad(torch_loss(s, t, y, T, alpha), s)
    assert torch.allclose(g1, g2, atol=1e-12)


def test_defaults_and_no_gradient_to_the_teacher():
    s = torch.randn(4, 3, requires_grad=True)
    t = torch.randn(4, 3, requires_grad=True)
    y = torch.tensor([0, 1, 2, 0])
    loss = dist.distillation_loss(s, t, y)
    assert float(loss.detach()) == pytest.approx(float(torch_loss(s, t, y, 4.0, 0.9).detach()), rel=1e-5)
    loss.backward()
    assert t.grad is None


def test_soft_gradient_is_p_minus_q_over_T():
    """∂/∂s of T²·KL = T·(softmax(s/T) − softmax(t/T)) / batch: the T² keeps it ~ 1/T·(s−t)."""
    s = torch.randn(1, 5, dtype=torch.float64, requires_grad=True)
    t = torch.randn(1, 5, dtype=torch.float64)
    T = 8.0
    loss = dist.distillation_loss(s, t, torch.tensor([0]), T, alpha=1.0)
    (grad,) = torch.autograd.grad(loss, s)
    expected = T * (torch.softmax(s / T, 1) - torch.softmax(t / T, 1))
    assert torch.allclose(grad, expected.detach(), atol=1e-12)
    assert torch.allclose(dist.soft_targets(t, T), torch.softmax(t / T, 1))


def test_distill_trains_a_student():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(200, 5, generator=g)
    y = (X[:, 0] > 0).long()
    teacher_logits = torch.stack([-X[:, 0], X[:, 0]], 1) * 3
    torch.manual_seed(0)
    student = models.mlp(5, 2, hidden=[8])
    dist.distill(student, X, y, teacher_logits, temperature=2.0, epochs=20, lr=1e-2)
    assert float((student(X).argmax(1) == y).float().mean()) > 0.9
    torch.manual_seed(0)
    hard = dist.distill(models.mlp(5, 2, hidden=[8]), X, y, None, epochs=20, lr=1e-2)
    assert float((hard(X).argmax(1) == y).float().mean()) > 0.9


@pytest.mark.parametrize("call, error, words", [
    (lambda: dist.distillation_loss(torch.ones(2, 3), torch.ones(2, 4), torch.zeros(2).long()),
     ValueError, "teacher_logits"),
    (lambda: dist.distillation_loss(torch.ones(2, 3), torch.ones(2, 3), torch.zeros(2)),
     ValueError, "labels"),
    (lambda: dist.distillation_loss(torch.ones(2, 3), torch.ones(2, 3), torch.zeros(2).long(), 0.0),
     ValueError, "temperature"),
    (lambda: dist.distillation_loss(torch.ones(2, 3), torch.ones(2, 3), torch.zeros(2).long(), 2.0, 1.5),
     ValueError, "alpha"),
    (lambda: dist.soft_targets([1.0], 1.0), TypeError, "logits"),
])
def test_bad_arguments_are_named(call, error, words):
    with pytest.raises(error, match=words):
        call()
