"""Chapter 02 computations against PyTorch/SciPy on the same inputs, the residual MLP
builder, and the explorer's pure computation."""

import warnings

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from scipy.special import expit
from torch import nn

from course_utils.chapters import ch02_vanishing_exploding_gradients as gradients
from course_utils.core import diagnostics, models
from course_utils.core.explorers import on_grid


@pytest.fixture
def strict_numpy():
    """NumPy warnings are errors (underflow to 0 is fine and silent, as by default)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            yield


def test_sigmoid_equals_torch_and_scipy_without_warnings(strict_numpy):
    z = np.concatenate([np.linspace(-40, 40, 161), [-1000.0, -745.0, 709.0, 1000.0]])
    got = gradients.sigmoid(z)
    assert got.dtype == np.float64 and got.shape == z.shape
    np.testing.assert_allclose(got, torch.sigmoid(torch.from_numpy(z)).numpy(), rtol=1e-12,
                               atol=1e-300)  # σ(−745) = 5e-324 (subnormal) where torch gives 0
    np.testing.assert_allclose(got, expit(z), rtol=1e-12, atol=1e-300)
    assert gradients.sigmoid(np.array([-1000.0, 1000.0])).tolist() == [0.0, 1.0]


def test_sigmoid_derivative_equals_autograd_without_warnings(strict_numpy):
    z = np.linspace(-15, 15, 61)
    t = torch.from_numpy(z).requires_grad_()
    torch.sigmoid(t).sum().backward()
    np.testing.assert_allclose(gradients.sigmoid_derivative(z), t.grad.numpy(), rtol=1e-9)
    # in the tails autograd's σ(1 − σ) loses everything (1 − σ rounds to 0 from z ≈ 37);
    # σ′(z) = σ(z)·σ(−z) with SciPy's accurate expit is the independent reference there
    z = np.concatenate([np.linspace(-60, 60, 241), [-1000.0, 1000.0]])
    np.testing.assert_allclose(gradients.sigmoid_derivative(z), expit(z) * expit(-z), rtol=1e-12)
    assert gradients.sigmoid_derivative(np.array([0.0]))[0] == 0.25
    assert gradients.sigmoid_derivative(z).max() == 0.25


def test_tanh_derivative_equals_autograd(strict_numpy):
    z = np.linspace(-20, 20, 81)
    t = torch.from_numpy(z).requires_grad_()
    torch.tanh(t).sum().backward()
    np.testing.assert_allclose(gradients.tanh_derivative(z), t.grad.numpy(), rtol=1e-9, atol=1e-15)


def test_dtypes_shapes_and_inputs_left_alone():
    z32 = np.array([[-1.0, 0.0], [2.0, 3.0]], dtype=np.float32)
    copy = z32.copy()
    assert gradients.sigmoid(z32).dtype == np.float32 and gradients.sigmoid(z32).shape == (2, 2)
    assert gradients.sigmoid_derivative(z32).dtype == np.float32
    assert np.array_equal(z32, copy)
    assert gradients.sigmoid(np.array([-3, 0, 3])).dtype == np.float64
    assert gradients.sigmoid([0, 0])[0] == 0.5  # lists are fine


def test_saturation_table_at_plus_minus_five():
    t = gradients.saturation_table()
    assert list(t["z"]) == [-5, -2, 0, 2, 5]
    assert t["sigmoid'"][0] == pytest.approx(np.exp(-5) / (1 + np.exp(-5)) ** 2)
    assert t["sigmoid'"][0] < 0.0067 and t["sigmoid'"][2] == 0.25 and t["tanh'"][2] == 1.0


def test_sigmoid_validates_its_input():
    with pytest.raises(TypeError, match="z must have a numeric dtype"):
        gradients.sigmoid(np.array(["a"]))
    with pytest.raises(TypeError, match="z must be array-like"):
        gradients.sigmoid([[1, 2], [3]])


# -- gradient flow ---------------------------------------------------------------------------

def _batch(n=20, d=6, k=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.randint(0, k, (n,), generator=g)


def test_gradient_flow_matches_autograd_with_retained_activation_grads():
    torch.manual_seed(0)
    m = models.mlp(6, 3, depth=4, width=8, activation="tanh")
    X, y = _batch()
    flow = gradients.gradient_flow(m, X, y)
    # by hand: keep every activation output and ask autograd for all gradients at once
    hs, h = [], X
    for layer in m:
        h = layer(h)
        if isinstance(layer, nn.Tanh):
            hs.append(h)
    loss = nn.functional.cross_entropy(h, y)
    weights = [lin.weight for lin in m if isinstance(lin, nn.Linear)]
    grads = torch.autograd.grad(loss, weights + hs)
    assert flow.loss == pytest.approx(loss.item())
    np.testing.assert_allclose(flow.grad_norms, [float(g.norm()) for g in grads[:5]], rtol=1e-5)
    np.testing.assert_allclose(flow.signal, [float(g.norm()) for g in grads[5:]], rtol=1e-5)
    np.testing.assert_allclose(flow.act_std, [a.std().item() for a in hs], rtol=1e-5)
    np.testing.assert_allclose(np.prod(flow.factors), flow.signal[0] / flow.signal[-1], rtol=1e-6)
    assert flow.act_kind == "tanh" and np.all(np.isnan(flow.dead)) and not flow.diverged
    assert flow.hist.shape == (4, 30) and np.allclose(flow.hist.sum(1), 1)


def test_decades():
    assert gradients.decades([1e-3, 1.0, 0.1]) == pytest.approx(3.0)
    assert gradients.decades([0.0, 1.0]) == np.inf
    with pytest.raises(ValueError, match="values must be ≥ 0"):
        gradients.decades([-1.0, 1.0])


def test_build_net_scales_one_set_of_weights_and_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    a = gradients.build_net(6, 64, "tanh", 1.0)
    b = gradients.build_net(6, 64, "relu", 2.0)
    r = gradients.build_net(6, 64, "sigmoid", 1.0, residual=True)
    assert torch.equal(torch.random.get_rng_state(), state)
    wa, wb, wr = ([m.weight for m in net.modules() if isinstance(m, nn.Linear)] for net in (a, b, r))
    assert all(torch.allclose(2 * x, y) and torch.equal(x, z) for x, y, z in zip(wa, wb, wr))
    big = gradients.build_net(3, 512, "linear", 1.0, in_features=512)
    assert big[2].weight.std().item() == pytest.approx(1 / np.sqrt(512), rel=0.02)
    assert all(torch.all(m.bias == 0) for m in big.modules() if isinstance(m, nn.Linear))
    with pytest.raises(ValueError, match="activation must be one of"):
        gradients.build_net(3, 8, "softmax", 1.0)
    with pytest.raises(ValueError, match="weight_scale must be in"):
        gradients.build_net(3, 8, "relu", 0.0)


@pytest.mark.parametrize("activation", gradients.EXPLORER_ACTIVATIONS)
@pytest.mark.parametrize("residual", [False, True])
def test_explore_equals_gradient_flow_of_the_same_network(activation, residual):
    fast = gradients.explore(7, 32, activation, 1.5, residual)
    X, y = gradients.probe_batch(64)
    net = gradients.build_net(7, 32, activation, 1.5, residual)
    ranges = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}
    slow = gradients.gradient_flow(net, X, y, bins=24, value_range=ranges.get(activation, (-4, 4)),
                                   standardize_hist=activation not in ranges)
    assert fast.layer_names == slow.layer_names and fast.act_names == slow.act_names
    assert fast.loss == pytest.approx(slow.loss, rel=1e-5)
    for key in ("grad_norms", "grad_data", "signal", "act_mean", "act_std"):
        np.testing.assert_allclose(getattr(fast, key), getattr(slow, key), rtol=2e-4, atol=1e-7,
                                   err_msg=key)
    for key in ("saturated", "dead"):
        np.testing.assert_array_equal(getattr(fast, key), getattr(slow, key), err_msg=key)
    np.testing.assert_allclose(fast.hist, slow.hist, atol=2 / (64 * 32))  # ≤ 1 value on an edge
    assert fast.act_kind == slow.act_kind


def test_explore_shows_the_chapter_in_numbers():
    sig = gradients.explore(20, 64, "sigmoid", 1.0)
    assert gradients.decades(sig.grad_norms[:-1]) > 5            # vanishing
    res = gradients.explore(20, 64, "sigmoid", 1.0, residual=True)
    assert gradients.decades(res.grad_norms[:-1]) < 1            # skips keep it flat
    he = gradients.explore(20, 64, "relu", 2 ** 0.5)
    assert gradients.decades(he.act_std) < 1                     # He init keeps the scale
    big = gradients.explore(20, 64, "linear", 8.0)
    assert big.act_std[-1] / big.act_std[0] > 1e10               # exploding
    tanh = gradients.explore(10, 64, "tanh", 8.0)
    assert np.nanmean(tanh.saturated) > 0.5 and tanh.act_std.max() <= 1
    assert gradients.explore(50, 128, "linear", 8.0).diverged    # overflow says so


def test_explore_validates_and_render_draws_both_panels():
    with pytest.raises(ValueError, match="depth must be in"):
        gradients.explore(0)
    with pytest.raises(TypeError, match="residual must be True or False"):
        gradients.explore(residual="yes")
    flow = gradients.explore(5, 16, "relu", 1.0)
    fig = gradients.render(flow)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert len(fig.axes[0].lines[0].get_xdata()) == 6 and "dead" in fig.axes[1].texts[-1].get_text()
    with pytest.raises(TypeError, match="result must be a GradientFlow"):
        gradients.render({"grad_norms": [1]})


def test_explorer_figure_is_reused_and_updated():
    e = gradients.make_explorer()
    first = e.png
    fig = e.render.fig
    e.controls["activation"].value = "relu"
    assert e.png != first and e.render.fig is fig and e.error is None


# -- residual MLP -----------------------------------------------------------------------------

def test_residual_mlp_has_the_linear_layers_of_mlp_plus_skips():
    torch.manual_seed(0)
    plain = models.mlp(6, 3, depth=4, width=8, activation="tanh")
    torch.manual_seed(0)
    res = models.residual_mlp(6, 3, depth=4, width=8, activation="tanh")
    lp = [m for m in plain.modules() if isinstance(m, nn.Linear)]
    lr = [m for m in res.modules() if isinstance(m, nn.Linear)]
    assert [tuple(m.weight.shape) for m in lp] == [tuple(m.weight.shape) for m in lr]
    assert all(torch.equal(a.weight, b.weight) for a, b in zip(lp, lr))  # same seed, same init
    X = torch.randn(5, 6)
    with torch.no_grad():  # h1 = W1 x;  h_{l+1} = h_l + W_{l+1} tanh(h_l);  out = W_out tanh(h4)
        h = lr[0](X)
        for lin in lr[1:-1]:
            h = h + lin(torch.tanh(h))
        expected = lr[-1](torch.tanh(h))
        assert torch.allclose(res(X), expected, atol=1e-6)


def test_residual_mlp_options():
    m = models.residual_mlp(4, 2, depth=5, width=6, block_layers=2, batch_norm=True,
                            residual_scale=0.5, init="he_normal")
    kinds = [type(x).__name__ for x in m]
    assert kinds == ["Linear", "ResidualBlock", "ResidualBlock", "BatchNorm1d", "ReLU", "Linear"]
    assert [type(x).__name__ for x in m[1].branch] == ["BatchNorm1d", "ReLU", "Linear"] * 2
    assert m[1].scale == 0.5 and m(torch.randn(3, 4)).shape == (3, 2)
    assert len(models.residual_mlp(4, 2, depth=1)) == 3  # stem, activation, head
    with pytest.raises(ValueError, match="depth - 1 must be a multiple of block_layers=2"):
        models.residual_mlp(4, 2, depth=4, block_layers=2)
    with pytest.raises(ValueError, match="init must be one of"):
        models.residual_mlp(4, 2, init="glorot")
    with pytest.raises(ValueError, match="residual_scale must be in"):
        models.residual_mlp(4, 2, residual_scale=-1.0)


def test_skip_connections_reach_the_diagnostics():
    m = models.residual_mlp(4, 2, depth=3, width=5, activation="relu")
    names = [n for n, _ in diagnostics.linear_layers(m)]
    assert names == ["0", "1.branch.1", "2.branch.1", "4"]




def test_explorer_defaults_and_suggested_values_lie_on_the_slider_grid():
    e = gradients.make_explorer()
    sliders = [w for w in e.controls.values() if hasattr(w, "step")]
    assert sliders and all(on_grid(w) for w in sliders)
    for gain in (1.0, 2 ** 0.5, 2.0, 4.0, 8.0):  # the gains the notebook suggests
        assert on_grid(e.controls["weight_scale"], gain)
    for depth in (10, 50):
        assert on_grid(e.controls["depth"], depth)


def test_relu_gradient_norm_profile_is_flat_at_any_gain_but_activations_are_not():
    X, y = gradients.probe_batch(64)
    for gain in (1.0, 2.0):
        f = gradients.gradient_flow(gradients.build_net(20, 64, "relu", gain), X, y)
        assert gradients.decades(f.grad_norms[:-1]) < 1.5
        assert gradients.decades(f.act_std) > 2
    he = gradients.gradient_flow(gradients.build_net(20, 64, "relu", 2 ** 0.5), X, y)
    assert gradients.decades(he.act_std) < 0.5
