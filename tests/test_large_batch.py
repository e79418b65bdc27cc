"""scratch.large_batch: accumulation equals the full-batch gradient; the LR rule."""

import pytest
import torch
from torch import nn

from course_utils.scratch import large_batch as lb


@pytest.mark.parametrize("n, steps", [(30, 1), (30, 3), (31, 4), (7, 7)])
def test_accumulation_equals_full_batch_gradient(n, steps):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))
    X, y = torch.randn(n, 4), torch.randint(0, 3, (n,))
    for p in model.parameters():
        p.grad = torch.randn_like(p)  # stale gradients must be cleared
    got = lb.accumulate_gradients(model, nn.CrossEntropyLoss(), X, y, steps)
    model.zero_grad()
    nn.functional.cross_entropy(model(X), y).backward()
    for g, p in zip(got, model.parameters()):
        torch.testing.assert_close(g, p.grad, atol=1e-6, rtol=1e-5)


def test_scale_lr_rule_and_warmup():
    assert lb.scale_lr_for_batch(0.1, 256, 8192) == pytest.approx(3.2)
    assert lb.scale_lr_for_batch(0.1, 256, 8192, step=0, warmup_steps=5) == pytest.approx(0.1)
    assert lb.scale_lr_for_batch(0.1, 256, 8192, step=4, warmup_steps=5) == pytest.approx(0.1 + 3.1 * 0.8)
    assert lb.scale_lr_for_batch(0.1, 256, 8192, step=5, warmup_steps=5) == pytest.approx(3.2)
    assert lb.scale_lr_for_batch(0.1, 256, 64) == pytest.approx(0.025)


def test_warmup_scheduler_follows_the_rule():
    p = nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    sched = lb.warmup_scheduler(opt, 0.05, 16, 256, warmup_steps=4)
    seen = []
    for _ in range(6):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    expected = [lb.scale_lr_for_batch(0.05, 16, 256, s, 4) for s in range(6)]
    assert seen == pytest.approx(expected)


def test_validation():
    with pytest.raises(ValueError, match="base_batch"):
        lb.scale_lr_for_batch(0.1, 0, 10)
    with pytest.raises(ValueError, match="accumulation_steps"):
        lb.accumulate_gradients(nn.Linear(2, 2), None, torch.ones(3, 2), torch.zeros(3, dtype=torch.long), 4)
    with pytest.raises(TypeError, match="model"):
        lb.accumulate_gradients("m", None, torch.ones(3, 2), torch.zeros(3), 1)
