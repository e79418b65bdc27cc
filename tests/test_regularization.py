"""course_utils.scratch.regularization / augment / ensemble against PyTorch, SciPy and
scikit-learn on the same inputs."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import ndimage
from sklearn.utils.class_weight import compute_class_weight
from torch import nn

from course_utils.core import data, models, training
from course_utils.core.stacked import StackedMLP
from course_utils.scratch import augment, ensemble
from course_utils.scratch import regularization as reg


# ------------------------------------------------------------------------------- dropout
@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_draws_the_same_mask_as_torch(p):
    x = torch.randn(300, 40)
    torch.manual_seed(7)
    theirs = F.dropout(x, p, training=True)
    ours = reg.dropout(x, p, True, generator=torch.Generator().manual_seed(7))
    assert torch.equal(ours != 0, theirs != 0)
    torch.testing.assert_close(ours, theirs)
    torch.manual_seed(7)  # without a generator: the global one, as nn.Dropout
    torch.testing.assert_close(reg.dropout(x, p, True), theirs)


def test_dropout_statistics_keep_rate_and_scale():
    x = torch.ones(400_000)
    out = reg.dropout(x, 0.3, True, generator=torch.Generator().manual_seed(0))
    kept = out != 0
    assert abs(kept.float().mean().item() - 0.7) < 0.005
    assert torch.allclose(out[kept], torch.tensor(1 / 0.7))
    assert abs(out.mean().item() - 1.0) < 0.01  # inverted scaling: E[out] = x


def test_dropout_eval_p0_p1_and_layer():
    x = torch.randn(20, 5)
    for out in (reg.dropout(x, 0.5, False), reg.dropout(x, 0.0, True)):
        assert torch.equal(out, x) and out is not x
    assert torch.equal(reg.dropout(x, 1.0, True), torch.zeros_like(x))
    layer = reg.Dropout(0.5)
    layer.eval()
    assert torch.equal(layer(x), x)
    layer.train()
    assert (layer(x) == 0).any()


def test_dropout_validates():
    with pytest.raises(ValueError, match="p must be in"):
        reg.dropout(torch.ones(3), 1.5, True)
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        reg.dropout([1.0, 2.0], 0.5, True)
    with pytest.raises(TypeError, match="training must be True or False"):
        reg.dropout(torch.ones(3), 0.5, 1)
    with pytest.raises(TypeError, match="generator"):
        reg.dropout(torch.ones(3), 0.5, True, generator=3)


@pytest.mark.parametrize("p", [0.05, 0.2, 0.5])
def test_alpha_dropout_equals_torch_and_keeps_mean_and_variance(p):
    x = torch.randn(200, 30)
    torch.manual_seed(3)
    theirs = F.alpha_dropout(x, p, training=True)
    ours = reg.alpha_dropout(x, p, True, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)
    z = torch.selu(torch.randn(500_000))  # mean 0, variance 1
    out = reg.alpha_dropout(z, p, True, generator=torch.Generator().manual_seed(1))
    assert abs(out.mean().item()) < 0.01 and abs(out.var().item() - 1) < 0.02
    assert torch.equal(reg.alpha_dropout(x, p, False), x)


# ----------------------------------------------------------------------------- penalties
def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.BatchNorm1d(5), nn.Linear(5, 3))


def test_penalties_sum_over_weights_only_and_are_differentiable():
    m = _model()
    ws = [m[0].weight, m[2].weight, m[3].weight]
    l1, l2 = reg.l1_penalty(m, 0.3), reg.l2_penalty(m, 0.3)
    torch.testing.assert_close(l1, 0.3 * sum(w.abs().sum() for w in ws))
    torch.testing.assert_close(l2, 0.3 * sum((w ** 2).sum() for w in ws))
    l2.backward()
    torch.testing.assert_close(m[0].weight.grad, 0.6 * m[0].weight.detach())
    assert m[0].bias.grad is None
    with pytest.raises(ValueError, match="lam"):
        reg.l2_penalty(m, -1.0)
    with pytest.raises(TypeError, match="model"):
        reg.l1_penalty([1, 2], 0.1)


def test_l2_penalty_with_half_lambda_is_sgd_weight_decay():
    X, y = torch.randn(64, 4), torch.randint(3, (64,))
    runs = []
    for decay in (True, False):
        m = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
        m.load_state_dict(_model_state())
        groups = [{"params": [m[0].weight, m[2].weight], "weight_decay": 0.05 if decay else 0.0},
                  {"params": [m[0].bias, m[2].bias], "weight_decay": 0.0}]
        opt = torch.optim.SGD(groups, lr=0.1)
        for _ in range(50):
            loss = F.cross_entropy(m(X), y) + (0 if decay else reg.l2_penalty(m, 0.025))
            opt.zero_grad()
            loss.backward()
            opt.step()
        runs.append(torch.cat([p.detach().flatten() for p in m.parameters()]))
    torch.testing.assert_close(runs[0], runs[1], atol=1e-6, rtol=1e-5)


def _model_state():
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)).state_dict()


def test_max_norm_equals_torch_renorm():
    m = nn.Sequential(nn.Linear(6, 10), nn.ReLU(), nn.Linear(10, 4))
    with torch.no_grad():
        m[0].weight.mul_(5)
    expected = [torch.renorm(m[i].weight.detach(), 2, 0, 1.5) for i in (0, 2)]
    reg.max_norm_(m, 1.5)
    for i, e in zip((0, 2), expected):
        torch.testing.assert_close(m[i].weight.detach(), e, atol=1e-5, rtol=1e-5)
        assert (m[i].weight.norm(dim=1) <= 1.5 + 1e-5).all()


# ------------------------------------------------------------------------ early stopping
@pytest.mark.parametrize("losses, patience, delta, expected", [
    ([], 2, 0.0, False),
    ([1.0, 0.9], 2, 0.0, False),
    ([1.0, 0.9, 0.95, 0.92], 2, 0.0, True),
    ([1.0, 0.9, 0.95, 0.89], 2, 0.0, False),
    ([1.0, 0.9, 0.95, 0.89], 2, 0.02, True),
    ([1.0, 1.0, 1.0], 2, 0.0, True),   # equal is not better
    ([3, 2, 1, 1.5, 1.2, 0.5], 3, 0.0, False),
])
def test_should_stop(losses, patience, delta, expected):
    assert reg.should_stop(losses, patience, delta) is expected


def test_should_stop_validates():
    with pytest.raises(ValueError, match="patience"):
        reg.should_stop([1.0], 0)
    with pytest.raises(TypeError, match="val_losses"):
        reg.should_stop(3.0, 2)


def test_early_stopping_with_fit_restores_the_best_weights():
    d = data.load_digits_data()
    y_noisy, _ = reg.flip_labels(d.y_train, 0.4, 10, seed=0)
    y_val_noisy, _ = reg.flip_labels(d.y_val, 0.4, 10, seed=1)
    torch.manual_seed(0)
    model = models.mlp(64, 10, depth=2, width=64)
    stopper = reg.EarlyStopping(model, patience=3)
    train = data.Batches(d.X_train, y_noisy, batch_size=64, seed=0)
    h = training.fit(model, train, (d.X_val, y_val_noisy), epochs=60,
                     optimizer=torch.optim.Adam(model.parameters(), lr=0.01),
                     early_stop=stopper, progress=False)
    assert h.stopped_early and stopper.stopped_epoch == h.epochs < 60
    assert stopper.best_epoch == int(np.argmin(h.val_loss)) + 1 == h.epochs - 3
    restored = training.evaluate(model, (d.X_val, y_val_noisy))[0]
    assert restored == pytest.approx(min(h.val_loss), abs=1e-6)


def test_early_stopping_restore_without_stopping():
    model = nn.Linear(2, 1)
    stopper = reg.EarlyStopping(model, patience=5)
    stopper([1.0])
    best = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        model.weight.add_(1.0)
    assert stopper([1.0, 2.0]) is False
    stopper.restore()
    assert torch.equal(model.weight, best["weight"])
    with pytest.raises(TypeError, match="model"):
        reg.EarlyStopping("model")


# ------------------------------------------------------------------------------ MC dropout
def test_mc_dropout_keeps_batchnorm_in_eval_and_restores_modes():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))
    m.train()
    m[1].running_mean.fill_(0.5)
    X = torch.randn(10, 4)
    mean, std = reg.mc_dropout_predict(m, X, n_samples=200)
    assert all(mod.training for mod in m.modules())
    assert torch.equal(m[1].running_mean, torch.full((16,), 0.5))  # BN not updated
    assert mean.shape == std.shape == (10, 3) and not mean.requires_grad
    torch.testing.assert_close(mean.sum(1), torch.ones(10))
    m.eval()
    torch.manual_seed(1)
    expected = []
    for _ in range(200):  # by hand: BN in eval, dropout active
        h = m[2](m[1](m[0](X)))
        expected.append(torch.softmax(m[4](F.dropout(h, 0.3, True)), -1))
    e = torch.stack(expected).detach()
    torch.manual_seed(1)
    mean, std = reg.mc_dropout_predict(m, X, n_samples=200)
    torch.testing.assert_close(mean, e.mean(0))
    torch.testing.assert_close(std, e.std(0, unbiased=False))
    assert not any(mod.training for mod in m.modules())


# ------------------------------------------------------------------------- imbalance
def test_class_weights_equal_sklearn_balanced():
    y = torch.tensor([0] * 50 + [1] * 5 + [2] * 15)
    expected = compute_class_weight("balanced", classes=np.arange(3), y=y.numpy())
    np.testing.assert_allclose(reg.class_weights(y).numpy(), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="every class"):
        reg.class_weights(torch.tensor([0, 0, 2]))


@pytest.mark.parametrize("method", ["none", "over", "under"])
def test_resample_indices_balance_the_classes(method):
    y = torch.tensor([0] * 40 + [1] * 6)
    idx = reg.resample_indices(y, method, seed=0)
    counts = torch.bincount(y[idx], minlength=2).tolist()
    assert counts == {"none": [40, 6], "over": [40, 40], "under": [6, 6]}[method]
    if method == "under":
        assert len(set(idx.tolist())) == 12


def test_flip_labels_changes_exactly_the_fraction_to_other_classes():
    y = torch.arange(1000) % 10
    noisy, flipped = reg.flip_labels(y, 0.4, 10, seed=0)
    assert int(flipped.sum()) == 400
    assert bool((noisy[flipped] != y[flipped]).all()) and torch.equal(noisy[~flipped], y[~flipped])


# ------------------------------------------------------------------------------ augment
def test_whole_pixel_shifts_equal_scipy_and_rotation_equals_rot90():
    x = torch.randn(3, 1, 8, 6)
    out = augment.affine_images(x, torch.zeros(3), torch.tensor([1, -2, 0]), torch.tensor([0, 1, -1]))
    for i, (dy, dx) in enumerate([(0, 1), (1, -2), (-1, 0)]):
        np.testing.assert_allclose(out[i, 0].numpy(), ndimage.shift(x[i, 0].numpy(), (dy, dx), order=0),
                                   atol=1e-5)
    sq = torch.randn(2, 1, 8, 8)
    rot = augment.affine_images(sq, torch.tensor([90.0, 180.0]), torch.zeros(2), torch.zeros(2))
    torch.testing.assert_close(rot[0, 0], torch.rot90(sq[0, 0], 1), atol=1e-5, rtol=0)
    torch.testing.assert_close(rot[1, 0], torch.rot90(sq[1, 0], 2), atol=1e-5, rtol=0)
    small = augment.affine_images(sq, torch.tensor([20.0, -15.0]), torch.zeros(2), torch.zeros(2))
    for i, a in enumerate((20.0, -15.0)):
        ref = ndimage.rotate(sq[i, 0].numpy(), a, reshape=False, order=1)
        np.testing.assert_allclose(small[i, 0, 2:6, 2:6].numpy(), ref[2:6, 2:6], atol=1e-4)


def test_augment_images_flat_and_validation():
    x = torch.randn(5, 64)
    out = augment.augment_images(x, shift=1, max_degrees=0.0, generator=torch.Generator().manual_seed(0))
    assert out.shape == (5, 64)
    assert torch.equal(augment.augment_images(x, shift=0, max_degrees=0.0), x)
    with pytest.raises(ValueError, match="square"):
        augment.augment_images(torch.randn(2, 10))
    with pytest.raises(ValueError, match="shift"):
        augment.augment_images(x, shift=-1)


# ------------------------------------------------------------------------------ ensemble
def test_stacked_uniform_mlp_equals_sequential_models():
    m = StackedMLP.uniform(3, [5, 7, 6, 2], generator=torch.Generator().manual_seed(0))
    X = torch.randn(11, 5)
    out = m(X)
    for s in range(3):
        torch.testing.assert_close(out[s], m.to_models()[s](X), atol=1e-6, rtol=1e-5)
    with pytest.raises(ValueError, match="sizes"):
        StackedMLP.uniform(2, [3])


def test_parallel_training_equals_training_each_model_alone():
    X, y = torch.randn(40, 4), torch.randint(3, (40,))
    W = torch.stack([torch.ones(40), (torch.arange(40) < 20).float()])
    both = StackedMLP.uniform(2, [4, 8, 3], generator=torch.Generator().manual_seed(0))
    alone = [both.to_models()[s] for s in range(2)]
    ensemble.train_parallel(both, X, y, weight=W, steps=30, lr=0.01)
    for s, m in enumerate(alone):
        opt = torch.optim.Adam(m.parameters(), lr=0.01)
        keep = W[s].bool()
        for _ in range(30):
            loss = F.cross_entropy(m(X[keep]), y[keep])
            opt.zero_grad()
            loss.backward()
            opt.step()
        torch.testing.assert_close(both.to_models()[s](X), m(X), atol=1e-4, rtol=1e-4)


def test_parallel_max_norm_matches_max_norm_():
    m = StackedMLP.uniform(2, [6, 9, 3], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for w in m.weights:
            w.mul_(10)
    seq = [reg.max_norm_(m.to_models()[s], 1.0) for s in range(2)]
    m.max_norm_(1.0)
    for s in range(2):
        for a, b in zip(m.to_models()[s].parameters(), seq[s].parameters()):
            torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)


def test_train_parallel_validates():
    m = StackedMLP.uniform(2, [3, 2])
    with pytest.raises(TypeError, match="StackedMLP"):
        ensemble.train_parallel(nn.Linear(3, 2), torch.randn(4, 3), torch.zeros(4).long())
    with pytest.raises(ValueError, match="weight must have shape"):
        ensemble.train_parallel(m, torch.randn(4, 3), torch.zeros(4).long(), weight=torch.ones(3, 4))
    with pytest.raises(ValueError, match="optimizer"):
        ensemble.train_parallel(m, torch.randn(4, 3), torch.zeros(4).long(), optimizer="lbfgs")
