"""core.stacked.StackedMLP: S MLPs as one batched computation, each member equal to its
own nn.Sequential (forward, gradients, training with torch.optim)."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_utils.core.stacked import StackedMLP


def _mlp(seed, act=nn.ReLU, sizes=(5, 7, 6, 3)):
    torch.manual_seed(seed)
    layers = []
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if k < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


@pytest.mark.parametrize("act", [nn.ReLU, nn.Tanh, nn.ELU, nn.SELU, nn.GELU])
def test_each_member_equals_its_model_forward_and_backward(act):
    ms = [_mlp(s, act) for s in range(3)]
    net = StackedMLP.from_models(ms)
    X = torch.randn(3, 11, 5)
    out = net(X)
    for s, m in enumerate(ms):
        torch.testing.assert_close(out[s], m(X[s]), atol=1e-6, rtol=1e-5)
    out.square().sum().backward()
    for s, m in enumerate(ms):
        m(X[s]).square().sum().backward()
        lins = [x for x in m if isinstance(x, nn.Linear)]
        for k, lin in enumerate(lins):
            torch.testing.assert_close(net.weights[k].grad[s], lin.weight.grad.T, atol=1e-5, rtol=1e-4)
            torch.testing.assert_close(net.biases[k].grad[s, 0], lin.bias.grad, atol=1e-5, rtol=1e-4)


def test_shared_inputs_partial_depth_and_round_trip():
    ms = [_mlp(s) for s in range(2)]
    net = StackedMLP.from_models(ms)
    X = torch.randn(4, 5)
    with torch.no_grad():
        torch.testing.assert_close(net(X, n_layers=1)[1], torch.relu(ms[1][0](X)))
        back = net.to_models()
        for s in range(2):
            torch.testing.assert_close(back[s](X), ms[s](X))
    assert net.n_members == 2 and net.n_layers == 3 and net.sizes == [5, 7, 6, 3]
    assert [tuple(p.shape) for p in net.layer_parameters()][:2] == [(2, 5, 7), (2, 1, 7)]


def test_uniform_draws_like_nn_linear_and_trains_like_separate_adams():
    g = torch.Generator().manual_seed(0)
    net = StackedMLP.uniform(2, [4, 8, 3], generator=g)
    for w, (a, b) in zip(net.weights, [(4, 8), (8, 3)]):
        assert w.abs().max() <= 1 / a ** 0.5 and w.shape == (2, a, b)
    alone = net.to_models()
    X, y = torch.randn(20, 4), torch.randint(3, (20,))
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    for _ in range(10):
        loss = sum(F.cross_entropy(o, y) for o in net(X))
        opt.zero_grad()
        loss.backward()
        opt.step()
    for s, m in enumerate(alone):
        o = torch.optim.Adam(m.parameters(), lr=0.01)
        for _ in range(10):
            o.zero_grad()
            F.cross_entropy(m(X), y).backward()
            o.step()
        torch.testing.assert_close(net.to_models()[s](X), m(X), atol=1e-5, rtol=1e-4)


def test_dropout_in_train_mode_only_and_as_its_models_under_one_stream():
    net = StackedMLP.uniform(1, [6, 9, 2], dropout=0.5, input_dropout=0.2,
                             generator=torch.Generator().manual_seed(1))
    seq = net.to_models()[0]
    assert [type(x).__name__ for x in seq] == ["Dropout", "Linear", "ReLU", "Dropout", "Linear"]
    X = torch.randn(7, 6)
    net.eval(), seq.eval()
    torch.testing.assert_close(net(X)[0], seq(X))
    net.train(), seq.train()
    torch.manual_seed(3)
    a = net(X)[0]
    torch.manual_seed(3)
    torch.testing.assert_close(a, seq(X))


def test_max_norm_caps_every_column():
    net = StackedMLP.uniform(2, [6, 9, 3], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for w in net.weights:
            w.mul_(10)
    net.max_norm_(1.0)
    for w in net.weights:
        assert (w.norm(dim=1) <= 1.0 + 1e-5).all()


@pytest.mark.parametrize("call, err, match", [
    (lambda: StackedMLP.from_models([]), TypeError, "non-empty list"),
    (lambda: StackedMLP.from_models([_mlp(0), _mlp(1, sizes=(5, 7, 3))]), ValueError, "share"),
    (lambda: StackedMLP.from_models([_mlp(0), _mlp(1, nn.Tanh)]), ValueError, "share"),
    (lambda: StackedMLP.from_models([_mlp(0, nn.PReLU)]), ValueError, "no parameters"),
    (lambda: StackedMLP.uniform(0, [3, 2]), ValueError, "n_members"),
    (lambda: StackedMLP.uniform(2, [3]), ValueError, "sizes"),
    (lambda: StackedMLP.uniform(2, [3, 2], generator=3), TypeError, "generator"),
    (lambda: StackedMLP.uniform(2, [3, 2], dropout=1.0), ValueError, "dropout"),
    (lambda: StackedMLP([torch.zeros(2, 3, 4)], [torch.zeros(3, 4)]), ValueError, "biases"),
    (lambda: StackedMLP([torch.zeros(2, 3, 4), torch.zeros(2, 5, 1)],
                        [torch.zeros(2, 4), torch.zeros(2, 1)]), ValueError, "takes 5 inputs"),
    (lambda: StackedMLP.uniform(2, [3, 2])(torch.zeros(4, 5)), ValueError, "x must be"),
    (lambda: StackedMLP.uniform(2, [3, 2])(torch.zeros(4, 3, dtype=torch.long)), TypeError, "x"),
])
def test_bad_arguments(call, err, match):
    with pytest.raises(err, match=match):
        call()
