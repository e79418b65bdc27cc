"""course_utils.scratch.lr_finder: the LR range test from scratch."""

import numpy as np
import pytest
import torch
from torch import nn

from course_utils.core import plotting
from course_utils.scratch import lr_finder
from course_utils.scratch.lr_finder import exponential_lrs, lr_range_test, smooth_losses, suggest_lr


def test_exponential_lrs_match_exponential_lr():
    start, end, n = 1e-4, 10.0, 50
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=start)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=(end / start) ** (1 / (n - 1)))
    ref = []
    for _ in range(n):
        ref.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    lrs = exponential_lrs(start, end, n)
    np.testing.assert_allclose(lrs, ref, rtol=1e-10)
    assert lrs[0] == pytest.approx(start) and lrs[-1] == pytest.approx(end)


def test_smoothing_equals_adams_bias_corrected_first_moment():
    rng = np.random.default_rng(0)
    losses = 2.0 + rng.standard_normal(40)
    beta = 0.9
    p = torch.zeros(1, requires_grad=True)
    adam = torch.optim.Adam([p], lr=1e-3, betas=(beta, 0.999))
    ref = []
    for t, loss in enumerate(losses, start=1):
        p.grad = torch.tensor([loss], dtype=torch.float32)
        adam.step()
        ref.append(float(adam.state[p]["exp_avg"]) / (1 - beta**t))
    np.testing.assert_allclose(smooth_losses(losses, beta), ref, rtol=1e-5)
    # and the closed form  Σ_j (1−β) β^(i−j) ℓ_j / (1 − β^(i+1))
    i = 17
    closed = sum((1 - beta) * beta ** (i - j) * losses[j] for j in range(i + 1)) / (1 - beta ** (i + 1))
    assert smooth_losses(losses, beta)[i] == pytest.approx(closed, rel=1e-12)
    assert smooth_losses(losses, beta)[0] == pytest.approx(losses[0])


def _regression(n=200, d=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g) * torch.tensor([3.0, 1.0, 1.0, 0.5, 0.2])
    y = X @ torch.randn(d, 1, generator=g) + 0.1 * torch.randn(n, 1, generator=g)
    return X, y


def test_stops_just_past_the_stability_limit_of_gradient_descent():
    """Full-batch GD on a quadratic diverges exactly for lr > 2/L, L = λ_max of the Hessian."""
    X, y = _regression()
    Xb = torch.cat([X, torch.ones(len(X), 1)], 1).double()
    L = float(torch.linalg.eigvalsh(2 * Xb.T @ Xb / len(X)).max())  # Hessian of mean squared error
    limit = 2 / L
    torch.manual_seed(0)
    model = nn.Linear(5, 1)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    result = lr_range_test(model, [(X, y)], optimizer=opt, loss_fn=nn.MSELoss(), start_lr=1e-4,
                           end_lr=10.0, num_steps=300, beta=0.9)
    assert result.stopped_early
    assert limit < result.diverged_at < 3 * limit
    # the loss keeps falling in the other directions for a while: its minimum is already past
    # the limit, which is why the rules of thumb take a fraction of it
    assert limit / 3 < result.lr_at_min < result.diverged_at
    assert result.suggestion < limit


def test_restores_model_optimizer_and_mode():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    X, y = torch.randn(64, 4), torch.randint(0, 3, (64,))
    nn.functional.cross_entropy(model(X), y).backward()
    opt.step()  # some momentum state to restore
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    momentum = [opt.state[p]["momentum_buffer"].clone() for p in model.parameters()]
    batches = [(X[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16)]
    result = lr_range_test(model, batches, optimizer=opt, num_steps=30, end_lr=1.0)
    assert len(result.lrs) == len(result.losses) == len(result.smoothed) > 3
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert all(torch.equal(opt.state[p]["momentum_buffer"], m)
               for p, m in zip(model.parameters(), momentum))
    assert opt.param_groups[0]["lr"] == 0.05
    assert not model.training


def test_lrs_follow_the_sweep_and_batches_cycle():
    X, y = _regression(n=32)
    model = nn.Linear(5, 1)
    result = lr_range_test(model, [(X, y)], loss_fn=nn.MSELoss(), start_lr=1e-5, end_lr=1e-3,
                           num_steps=25)  # one batch, reused 25 times; too small to diverge
    assert not result.stopped_early and result.diverged_at is None
    np.testing.assert_allclose(result.lrs, exponential_lrs(1e-5, 1e-3, 25))
    assert result.smoothed[-1] < result.smoothed[0]


def test_suggestion_rules():
    lrs = np.logspace(-4, 1, 201)
    x = np.log10(lrs)
    loss = 2 - np.tanh(2 * (x + 2)) + np.exp(4 * (x - 0.5))  # steepest fall at lr = 0.01
    i_min = int(np.argmin(loss))
    assert suggest_lr(lrs, loss, "min") == lrs[i_min]
    assert suggest_lr(lrs, loss, "min/10") == pytest.approx(lrs[i_min] / 10)
    assert suggest_lr(lrs, loss, "steepest") == pytest.approx(0.01, rel=0.06)


def test_digits_range_test_and_plot():
    from course_utils.core import data, models

    torch.manual_seed(0)
    splits = data.load_digits_data()
    train, _, _ = splits.loaders(batch_size=64, seed=0)
    model = models.mlp(64, 10, hidden=[32])
    result = lr_range_test(model, train, start_lr=1e-3, end_lr=30.0, num_steps=80)
    assert result.stopped_early and np.isfinite(result.smoothed).all()
    assert result.suggestion == pytest.approx(result.lr_at_min / 10)
    assert result.smoothed.min() < 0.8 * result.smoothed[0]  # it did learn on the way
    fig, axes = plotting.new_figure()
    ax = lr_finder.plot_range_test(result, ax=axes[0, 0])
    assert ax.get_xscale() == "log" and len(ax.lines) == 4


def test_bad_arguments_are_named():
    model = nn.Linear(2, 1)
    data = [(torch.randn(4, 2), torch.randn(4, 1))]
    with pytest.raises(ValueError, match="end_lr must be in"):
        exponential_lrs(1.0, 0.1, 10)
    with pytest.raises(ValueError, match="num_steps must be in"):
        exponential_lrs(1e-3, 1.0, 1)
    with pytest.raises(ValueError, match="rule must be one of"):
        lr_range_test(model, data, rule="valley", loss_fn=nn.MSELoss())
    with pytest.raises(TypeError, match="model must be an nn.Module"):
        lr_range_test("net", data)
    with pytest.raises(TypeError, match="optimizer must be a torch.optim.Optimizer"):
        lr_range_test(model, data, optimizer="sgd", loss_fn=nn.MSELoss())
    with pytest.raises(ValueError, match="beta must be in"):
        smooth_losses([1.0, 2.0], beta=1.0)
    with pytest.raises(ValueError, match="the same length"):
        suggest_lr([1e-3, 1e-2, 1e-1], [1.0, 0.5])
    with pytest.raises(ValueError, match="train yielded no batches"):
        lr_range_test(model, [], loss_fn=nn.MSELoss())
