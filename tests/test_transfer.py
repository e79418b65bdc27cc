"""course_utils.scratch.transfer: cloning, heads, freezing, discriminative rates, stacked
runs and PCA, each compared with PyTorch / scikit-learn on the same inputs."""

import copy

import numpy as np
import pytest
import torch
from torch import nn

from course_utils.core import models
from course_utils.core.stacked import StackedMLP
from course_utils.scratch import transfer as tr


def mlp(seed=0, out=5):
    torch.manual_seed(seed)
    return models.mlp(64, out, hidden=[32, 16, 16])


def test_clone_copies_and_sharing_shares():
    m = mlp()
    c = tr.clone(m)
    shared = nn.Sequential(*list(m)[:-1], nn.Linear(16, 3))
    assert not tr.shares_parameters(m, c) and tr.shares_parameters(m, shared)
    with torch.no_grad():
        shared[0].weight.add_(1.0)          # training the "new" model changes the old one
    assert torch.equal(m[0].weight, shared[0].weight)
    assert not torch.equal(m[0].weight, c[0].weight)


def test_replace_head_matches_manual_construction_and_leaves_model_untouched():
    m = mlp()
    before = copy.deepcopy(m.state_dict())
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    new = tr.replace_head(m, 7, generator=g1)
    assert isinstance(new, nn.Sequential) and len(new) == len(m)
    assert new[-1].in_features == 16 and new[-1].out_features == 7
    assert not tr.shares_parameters(m, new)
    for k, v in before.items():
        assert torch.equal(m.state_dict()[k], v)
    X = torch.randn(10, 64)
    assert torch.equal(new[:-1](X), m[:-1](X))
    ref = nn.Linear(16, 7)                               # torch's own init from the same stream
    b = 1 / 16 ** 0.5
    with torch.no_grad():
        ref.weight.uniform_(-b, b, generator=g2)
        ref.bias.uniform_(-b, b, generator=g2)
    assert torch.equal(new[-1].weight, ref.weight) and torch.equal(new[-1].bias, ref.bias)


def test_freeze_lower_layers_stops_gradients_like_requires_grad():
    m = tr.freeze_lower_layers(mlp(), 2)
    flags = [p.requires_grad for p in m.parameters()]
    assert flags == [False] * 4 + [True] * 4
    X, y = torch.randn(8, 64), torch.randint(0, 5, (8,))
    nn.functional.cross_entropy(m(X), y).backward()
    assert m[0].weight.grad is None and m[4].weight.grad is not None
    tr.freeze_lower_layers(m, 4)
    assert all(p.requires_grad for p in m.parameters())
    tr.freeze_lower_layers(m, 0)
    assert not any(p.requires_grad for p in m.parameters())


def test_freeze_first_linear_and_reinit_above():
    m = tr.freeze_first_linear(mlp(), 2)
    assert [m[i].weight.requires_grad for i in (0, 2, 4, 6)] == [False, False, True, True]
    w0, w2 = m[0].weight.clone(), m[4].weight.clone()
    tr.reinit_above(m, 2, generator=torch.Generator().manual_seed(1))
    assert torch.equal(m[0].weight, w0) and not torch.equal(m[4].weight, w2)


def test_discriminative_groups_step_like_per_layer_sgd():
    m, ref = mlp(), mlp()
    groups = tr.discriminative_lr_groups(m, 0.1, 0.5)
    assert [g["lr"] for g in groups] == [0.1 * 0.5 ** 3, 0.1 * 0.5 ** 2, 0.1 * 0.5, 0.1]
    opt = torch.optim.SGD(groups, lr=1.0)
    X, y = torch.randn(8, 64), torch.randint(0, 5, (8,))
    for model in (m, ref):
        nn.functional.cross_entropy(model(X), y).backward()
    opt.step()
    with torch.no_grad():
        for k, i in enumerate((0, 2, 4, 6)):
            for p in ref[i].parameters():
                p -= 0.1 * 0.5 ** (3 - k) * p.grad
    for a, b in zip(m.parameters(), ref.parameters()):
        assert torch.allclose(a, b, atol=1e-7)


def test_stacked_mlp_equals_each_model_and_trains_like_torch_adam():
    ms = [mlp(s) for s in range(3)]
    net = StackedMLP.from_models(ms)
    X = torch.randn(3, 12, 64)
    with torch.no_grad():
        for r in range(3):
            assert torch.allclose(net(X)[r], ms[r](X[r]), atol=1e-6)
    lr = torch.tensor([[1e-3, 1e-3, 2e-3, 5e-3]] * 3)
    lr[1, :2] = 0.0                                   # run 1: first two layers frozen
    y = torch.randint(0, 5, (3, 12))
    tr.train_stacked(net, X, y, lr, steps=5)
    for r, m in enumerate(ms):
        lin = [x for x in m if isinstance(x, nn.Linear)]
        opt = torch.optim.Adam([{"params": list(l.parameters()), "lr": float(lr[r, i])}
                                for i, l in enumerate(lin)])
        for _ in range(5):
            opt.zero_grad()
            nn.functional.cross_entropy(m(X[r]), y[r]).backward()
            opt.step()
        back = net.to_models()[r]
        for a, b in zip(back.parameters(), m.parameters()):
            assert torch.allclose(a, b, atol=1e-6)
    assert torch.equal(net.to_models()[1][0].weight, ms[1][0].weight)


def test_stacked_mse_and_features():
    ms = [mlp(s, out=64) for s in range(2)]
    net = StackedMLP.from_models(ms)
    X = torch.randn(6, 64)
    with torch.no_grad():
        assert torch.allclose(net(X, n_layers=1)[0], torch.relu(ms[0][0](X)), atol=1e-6)
    with torch.no_grad():
        loss0 = float(((net(X) - X) ** 2).mean())
    last = tr.train_stacked(net, X, X.expand(2, -1, -1), torch.full((2, 4), 1e-2), steps=30,
                            loss="mse")
    assert last.shape == (2,) and float(last.mean()) < loss0


def test_pca_matches_sklearn():
    from sklearn.decomposition import PCA

    X = np.random.default_rng(0).normal(size=(50, 6)) * [5, 3, 1, 1, 1, 1]
    ours = tr.pca_2d(X)
    ref = PCA(2).fit(X)
    comp = ref.components_ * np.sign(ref.components_[np.arange(2), np.abs(ref.components_).argmax(1)])[:, None]
    assert np.allclose(ours, (X - X.mean(0)) @ comp.T, atol=1e-8)


def test_body_features_is_the_input_of_the_head():
    m = mlp()
    X = torch.randn(4, 64)
    assert torch.allclose(tr.body_features(m, X), m[:-1](X))


@pytest.mark.parametrize("call, err, match", [
    (lambda: tr.replace_head(nn.Linear(3, 2), 2), TypeError, "nn.Sequential"),
    (lambda: tr.replace_head(nn.Sequential(nn.ReLU()), 2), ValueError, "no nn.Linear"),
    (lambda: tr.replace_head(mlp(), 0), ValueError, "n_classes"),
    (lambda: tr.replace_head(mlp(), 2, generator=3), TypeError, "generator"),
    (lambda: tr.freeze_lower_layers(mlp(), 5), ValueError, "n_trainable"),
    (lambda: tr.freeze_lower_layers("m", 1), TypeError, "nn.Module"),
    (lambda: tr.discriminative_lr_groups(mlp(), 0.1, 2.0), ValueError, "decay"),
    (lambda: tr.freeze_first_linear(mlp(), 9), ValueError, "n_frozen"),
    (lambda: tr.train_stacked(mlp(), torch.randn(2, 64), torch.zeros(1, 2, dtype=torch.long),
                              torch.ones(1, 4), steps=1), TypeError, "StackedMLP"),
    (lambda: tr.train_stacked(StackedMLP.from_models([mlp()]), torch.randn(2, 64),
                              torch.zeros(1, 2, dtype=torch.long), torch.ones(2, 4), steps=1),
     ValueError, "lr must be"),
    (lambda: tr.pca_2d(np.ones(3)), ValueError, "n_samples"),
])
def test_bad_arguments(call, err, match):
    with pytest.raises(err, match=match):
        call()
