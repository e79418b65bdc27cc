"""From-scratch activations against torch.nn, and chapter 04's experiment/explorer code."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_utils.chapters import ch04_activations as activation_experiments
from course_utils.core import data, diagnostics, explorers, models, repro
from course_utils.scratch import activations as act

# every from-scratch module with the torch.nn module it must equal
PAIRS = [
    (act.Sigmoid, nn.Sigmoid, {}),
    (act.Tanh, nn.Tanh, {}),
    (act.ReLU, nn.ReLU, {}),
    (act.LeakyReLU, nn.LeakyReLU, {}),
    (act.LeakyReLU, nn.LeakyReLU, {"negative_slope": 0.3}),
    (act.ELU, nn.ELU, {}),
    (act.ELU, nn.ELU, {"alpha": 0.4}),
    (act.SELU, nn.SELU, {}),
    (act.GELU, nn.GELU, {}),
    (act.GELU, nn.GELU, {"approximate": "tanh"}),
    (act.Swish, nn.SiLU, {}),
    (act.RReLU, nn.RReLU, {}),        # eval mode: the fixed average slope
    (act.RReLU, nn.RReLU, {"lower": 0.05, "upper": 0.5}),
    (act.PReLU, nn.PReLU, {}),
]
IDS = [f"{a.__name__}{kw or ''}" for a, _, kw in PAIRS]


def _grid(dtype=torch.float64):
    g = torch.Generator().manual_seed(0)
    extremes = torch.tensor([0.0, -1e-8, 1e-8, -20.0, 20.0, -100.0, 100.0, -1000.0, 1000.0])
    return torch.cat([torch.randn(500, generator=g) * 4, extremes]).to(dtype)


@pytest.mark.parametrize(("ours_cls", "ref_cls", "kw"), PAIRS, ids=IDS)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_forward_and_autograd_equal_torch_nn(ours_cls, ref_cls, kw, dtype):
    ours, ref = ours_cls(**kw).eval().to(dtype), ref_cls(**kw).eval().to(dtype)
    x = _grid(dtype)
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = ours(a), ref(b)
    ya.sum().backward()
    yb.sum().backward()
    tol = {"atol": 1e-12, "rtol": 1e-12} if dtype == torch.float64 else {"atol": 2e-6, "rtol": 1e-5}
    assert ya.dtype == dtype and ya.shape == x.shape
    torch.testing.assert_close(ya, yb, **tol)
    assert torch.isfinite(a.grad).all()
    torch.testing.assert_close(a.grad, b.grad, **tol)
    # the closed-form derivative equals autograd of PyTorch's own module
    torch.testing.assert_close(ours.derivative(x), b.grad, **tol)


@pytest.mark.parametrize(("ours_cls", "ref_cls", "kw"), PAIRS, ids=IDS)
def test_second_derivative_like_torch_on_2d_input(ours_cls, ref_cls, kw):
    """Same values on a batch of vectors, and autograd can differentiate f' again."""
    x = torch.randn(7, 3, dtype=torch.float64) * 2
    ours, ref = ours_cls(**kw).eval().double(), ref_cls(**kw).eval().double()
    torch.testing.assert_close(ours(x), ref(x))
    xa = x.clone().requires_grad_()
    (g,) = torch.autograd.grad(ours(xa).sum(), xa, create_graph=True)
    assert g.requires_grad or isinstance(ours, (act.ReLU, act.LeakyReLU, act.RReLU, act.PReLU))


def test_swish_with_beta_equals_x_sigmoid_beta_x():
    x = _grid().requires_grad_()
    y = act.Swish(beta=2.5)(x)
    xr = x.detach().clone().requires_grad_()
    yr = xr * torch.sigmoid(2.5 * xr)
    torch.testing.assert_close(y, yr)
    y.sum().backward()
    yr.sum().backward()
    torch.testing.assert_close(x.grad, xr.grad)
    torch.testing.assert_close(act.Swish(beta=2.5).derivative(x.detach()), xr.grad)


def test_rrelu_eval_uses_average_slope_and_training_draws_uniform_slopes():
    lower, upper = 0.1, 0.4
    m = act.RReLU(lower, upper, generator=torch.Generator().manual_seed(1))
    x = -torch.rand(200_000, dtype=torch.float64) - 0.1  # all negative
    y = m.train()(x)
    slopes = y / x
    assert slopes.min() >= lower and slopes.max() <= upper
    assert abs(float(slopes.mean()) - (lower + upper) / 2) < 2e-3
    # same distribution as PyTorch's RReLU in training (quantiles of U(lower, upper))
    torch.manual_seed(0)
    ref = nn.RReLU(lower, upper).train()(x) / x
    q = torch.tensor([0.1, 0.25, 0.5, 0.75, 0.9], dtype=torch.float64)
    torch.testing.assert_close(torch.quantile(slopes, q), torch.quantile(ref, q), atol=5e-3, rtol=0)
    # positive inputs pass unchanged; a new forward draws new slopes
    pos = torch.rand(100, dtype=torch.float64) + 0.1
    assert torch.equal(m(pos), pos)
    assert not torch.equal(m(x[:100]), m(x[:100]))
    # the gradient is the slope drawn in that forward pass: derivative() returns it
    xa = x[:1000].clone().requires_grad_()
    m(xa).sum().backward()
    torch.testing.assert_close(xa.grad, m.derivative(x[:1000]))
    # evaluation: deterministic, equal to torch
    m.eval()
    torch.testing.assert_close(m(x), nn.RReLU(lower, upper).eval()(x))
    assert m.eval_slope == pytest.approx((lower + upper) / 2)


def test_rrelu_generator_makes_slopes_reproducible_and_derivative_needs_a_forward():
    x = -torch.rand(50)
    a = act.RReLU(generator=torch.Generator().manual_seed(3))(x)
    b = act.RReLU(generator=torch.Generator().manual_seed(3))(x)
    assert torch.equal(a, b)
    with pytest.raises(RuntimeError, match="call forward"):
        act.RReLU().train().derivative(x)


def test_prelu_learns_its_slope_like_torch():
    x = torch.randn(16, 5)
    target = torch.randn(16, 5)
    ours, ref = act.PReLU(), nn.PReLU()
    for m in (ours, ref):
        opt = torch.optim.SGD(m.parameters(), lr=0.5)
        for _ in range(3):
            opt.zero_grad()
            F.mse_loss(m(x), target).backward()
            opt.step()
    torch.testing.assert_close(ours.weight, ref.weight)
    assert float(ours.weight.detach()) != 0.25


def test_prelu_per_channel_on_images_equals_torch():
    x = torch.randn(2, 3, 4, 4, requires_grad=True)
    xr = x.detach().clone().requires_grad_()
    ours, ref = act.PReLU(3, init=0.1), nn.PReLU(3, init=0.1)
    with torch.no_grad():
        ours.weight.copy_(torch.tensor([0.1, -0.2, 0.7]))
        ref.weight.copy_(ours.weight)
    ours(x).square().sum().backward()
    ref(xr).square().sum().backward()
    torch.testing.assert_close(x.grad, xr.grad)
    torch.testing.assert_close(ours.weight.grad, ref.weight.grad)
    torch.testing.assert_close(ours.derivative(x.detach()),
                               torch.where(x > 0, 1.0, ours.weight.detach().view(1, 3, 1, 1)))
    with pytest.raises(ValueError, match="3 channels"):
        ours(torch.randn(2, 4))


def test_sigmoid_and_tanh_derivative_bounds():
    x = torch.linspace(-10, 10, 2001, dtype=torch.float64)
    assert float(act.Sigmoid().derivative(x).max()) == pytest.approx(0.25)
    assert float(act.Tanh().derivative(x).max()) == pytest.approx(1.0)
    assert float(act.Sigmoid().derivative(torch.tensor([5.0]))) < 0.0067


def test_flags_let_diagnostics_find_the_modules():
    model = nn.Sequential(nn.Linear(4, 8), act.ReLU(), nn.Linear(8, 8), act.Tanh(),
                          nn.Linear(8, 8), act.SELU(), nn.Linear(8, 2))
    found = [type(m) for _, m in diagnostics.activation_modules(model)]
    assert found == [act.ReLU, act.Tanh, act.SELU]
    for cls in (act.ReLU, act.LeakyReLU, act.RReLU, act.PReLU, act.ELU, act.SELU, act.GELU,
                act.Swish):
        assert cls.is_activation and cls.relu_like
    assert act.Sigmoid.saturating and act.Tanh.saturating and not act.Tanh.relu_like
    # a dead unit (bias −10, never positive) is counted by diagnostics
    lin = nn.Linear(4, 2)
    with torch.no_grad():
        lin.bias.copy_(torch.tensor([-10.0, 10.0]))
        lin.weight.zero_()
    stats = diagnostics.activation_stats(nn.Sequential(lin, act.ReLU()), torch.randn(20, 4))
    assert stats[0].dead == 0.5


def test_get_activation_and_mlp_keep_working():
    assert isinstance(act.get_activation("relu"), nn.ReLU)
    assert isinstance(act.get_activation("relu", from_scratch=True), act.ReLU)
    m = act.get_activation("leaky_relu", from_scratch=True, negative_slope=0.2)
    assert m.negative_slope == 0.2
    assert isinstance(act.get_activation("linear", from_scratch=True), nn.Identity)
    for name in act.ACTIVATIONS:
        net = models.mlp(5, 2, depth=2, width=4, activation=name)
        assert net(torch.randn(3, 5)).shape == (3, 2)
    with pytest.raises(ValueError, match="activation must be one of"):
        act.get_activation("relu6")
    with pytest.raises(ValueError, match="activation must be one of"):
        act.get_activation("relu6", from_scratch=True)
    with pytest.raises(TypeError, match="activation must be a name"):
        act.get_activation(3)
    with pytest.raises(TypeError, match="from_scratch must be True or False"):
        act.get_activation("relu", from_scratch="yes")


def test_constructor_and_input_validation():
    with pytest.raises(TypeError, match="negative_slope must be a real number"):
        act.LeakyReLU("0.1")
    with pytest.raises(ValueError, match="upper must be in"):
        act.RReLU(lower=0.5, upper=0.1)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        act.RReLU(generator=0)
    with pytest.raises(ValueError, match="approximate must be one of 'none', 'tanh'"):
        act.GELU(approximate="fast")
    with pytest.raises(ValueError, match="alpha must be in"):
        act.ELU(alpha=-1.0)
    with pytest.raises(ValueError, match="num_parameters must be in"):
        act.PReLU(num_parameters=0)
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        act.ReLU()(np.zeros(3))
    with pytest.raises(TypeError, match="x must be a floating-point tensor"):
        act.Sigmoid()(torch.arange(3))


def test_compare_with_torch_reports_tiny_differences():
    x = _grid()
    for name in act.SCRATCH:
        diffs = act.compare_with_torch(name, x)
        assert max(diffs.values()) < 1e-12, (name, diffs)
    assert act.compare_with_torch("swish", x, beta=2.0)["forward"] < 1e-12


def test_replace_activations_swaps_every_activation():
    torch.manual_seed(0)
    net = models.mlp(6, 3, depth=3, width=5, activation="relu")
    x = torch.randn(4, 6)
    before = net(x)
    act.replace_activations(net, "relu", from_scratch=True)
    assert [type(m) for _, m in diagnostics.activation_modules(net)] == [act.ReLU] * 3
    torch.testing.assert_close(net(x), before)
    act.replace_activations(net, "leaky_relu", negative_slope=0.2)
    slopes = [m.negative_slope for _, m in diagnostics.activation_modules(net)]
    assert slopes == [0.2] * 3
    with pytest.raises(ValueError, match="no activation modules"):
        act.replace_activations(nn.Sequential(nn.Linear(2, 2)), "relu")
    with pytest.raises(TypeError, match="model must be an nn.Module"):
        act.replace_activations("net", "relu")


def test_build_mlp_uses_recommended_init_and_alpha_dropout():
    net = activation_experiments.build_mlp("selu", 64, 10, depth=3, width=400, dropout=0.1, alpha_dropout=True)
    assert sum(isinstance(m, nn.AlphaDropout) for m in net) == 3
    assert not any(type(m) is nn.Dropout for m in net)
    w = net[3].weight  # second hidden Linear: LeCun normal, std 1/sqrt(400)
    assert abs(float(w.detach().std()) - 1 / math.sqrt(400)) < 0.002
    a = activation_experiments.build_mlp("relu", 8, 2, seed=5)
    b = activation_experiments.build_mlp("relu", 8, 2, seed=5)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    with pytest.raises(TypeError, match="act_kwargs must be a dict"):
        activation_experiments.build_mlp("relu", 8, 2, act_kwargs=0.2)


def test_layer_moments_worst_layer_and_settles_at():
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 4), nn.ReLU())
    x = torch.randn(50, 3)
    means, stds = activation_experiments.layer_moments(net, x)
    with torch.no_grad():
        h1 = torch.tanh(net[0](x))
        h2 = torch.relu(net[2](h1))
    np.testing.assert_allclose(means, [float(h1.mean()), float(h2.mean())], rtol=1e-6)
    np.testing.assert_allclose(stds, [float(h1.std()), float(h2.std())], rtol=1e-6)
    assert activation_experiments.worst_layer([0.0, 0.3, -0.05], [1.0, 1.1, 0.5]) == (3, -0.05, 0.5)
    assert activation_experiments.worst_layer([0.0, np.nan], [1.0, 1.0])[0] == 2
    assert activation_experiments.settles_at([0.5, 0.05, 0.0, 0.02], [3.0, 1.05, 0.98, 1.0]) == 2
    assert activation_experiments.settles_at([0.0, 0.0], [1.0, 1.0]) == 1
    assert activation_experiments.settles_at([0.0, 0.0], [1.0, 0.5]) is None
    with pytest.raises(ValueError, match="same nonzero length"):
        activation_experiments.worst_layer([0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="no activation modules"):
        activation_experiments.layer_moments(nn.Linear(3, 3), x)


@pytest.fixture(scope="module")
def digits():
    return data.load_digits_data()


def test_dead_unit_run_measures_with_diagnostics(digits):
    run = activation_experiments.dead_unit_run(digits, "relu", lr=0.01, epochs=1, depth=2, width=8, seed=0)
    assert len(run["dead"]) == 2 and run["history"].epochs == 1
    net = activation_experiments.build_mlp("relu", 64, 10, depth=2, width=8, seed=0).eval()
    stats = diagnostics.activation_stats(net, digits.X_train)
    assert run["dead_per_layer"][0] == [s.dead for s in stats]
    assert run["dead"][0] == pytest.approx(np.mean([s.dead for s in stats]))
    with pytest.raises(ValueError, match="optimizer must be one of"):
        activation_experiments.dead_unit_run(digits, "relu", optimizer="rmsprop")
    with pytest.raises(TypeError, match="splits must be"):
        activation_experiments.dead_unit_run((digits.X_train, digits.y_train), "relu")


def test_stacked_mlp_members_train_exactly_like_their_own_mlp_with_torch_sgd(digits):
    lrs, seeds = (0.05, 0.2), (0, 1)
    run = activation_experiments.train_stacked(digits, "tanh", lrs=lrs, seeds=seeds, steps=12, depth=2,
                                               width=8, batch_size=32, eval_every=5)
    assert run["val_acc"].shape == (2, 2) and run["val_curve"].shape == (3, 2, 2)
    assert list(run["curve_steps"]) == [5, 10, 12] and not run["diverged"].any()
    # member (lr 0.2, seed 1) alone: same init, same batches, torch.optim.SGD with that lr
    net = activation_experiments.build_mlp("tanh", 64, 10, depth=2, width=8, seed=1)
    opt = torch.optim.SGD(net.parameters(), lr=0.2, momentum=0.9)
    X, y = digits.X_train, digits.y_train
    g = repro.generator(1)
    order = torch.cat([torch.randperm(len(X), generator=g) for _ in range(2)])
    for k in range(12):
        idx = order[k * 32:(k + 1) * 32]
        opt.zero_grad()
        F.cross_entropy(net(X[idx]), y[idx]).backward()
        opt.step()
    Xv, yv = digits.val()
    with torch.no_grad():
        acc = float((net(Xv).argmax(1) == yv).float().mean())
    assert run["val_acc"][1, 1] == pytest.approx(acc, abs=1.5 / len(yv))
    # the stacked forward equals each member's own forward at initialization
    nets = [activation_experiments.build_mlp("relu", 64, 10, depth=2, width=8, seed=s) for s in (0, 1)]
    stacked = activation_experiments.StackedMLP.from_models(nets)
    out = stacked(digits.X_train[:5].expand(2, -1, -1))
    for i, n in enumerate(nets):
        torch.testing.assert_close(out[i], n(digits.X_train[:5]))
    assert stacked.n_members == 2
    with pytest.raises(ValueError, match="share their layer shapes"):
        activation_experiments.StackedMLP.from_models([nets[0], activation_experiments.build_mlp("relu", 64, 10, depth=3, width=8)])
    with pytest.raises(ValueError, match="optimizer must be one of"):
        activation_experiments.train_stacked(digits, "relu", optimizer="rmsprop")
    with pytest.raises(ValueError, match="no parameters"):
        activation_experiments.train_stacked(digits, "prelu", steps=1)
    with pytest.raises(ValueError, match="activation must be one of"):
        activation_experiments.train_stacked(digits, "softplus")


def test_stacked_adam_scales_the_step_per_member(digits):
    run = activation_experiments.train_stacked(digits, "relu", lrs=(1e-9, 0.01), seeds=(0,), steps=5, depth=1,
                                               width=8, optimizer="adam", eval_every=5)
    net = activation_experiments.build_mlp("relu", 64, 10, depth=1, width=8, seed=0)
    Xv, yv = digits.val()
    with torch.no_grad():
        acc0 = float((net(Xv).argmax(1) == yv).float().mean())
    assert run["val_acc"][0, 0] == pytest.approx(acc0)  # a tiny lr barely moves


def test_tuned_pair_wins_and_table():
    run = {"activation": "relu", "lrs": [0.01, 0.1], "val_acc": np.array([[0.9, 0.8], [0.95, np.nan]]),
           "test_acc": np.array([[0.91, 0.81], [0.96, np.nan]]), "val_curve": np.zeros((3, 2, 2)),
           "curve_steps": np.array([1, 2, 3])}
    t = activation_experiments.tuned(run)  # lr 0.01: mean 0.85 beats (0.95 + 0)/2
    assert t["lr"] == 0.01 and list(t["test_acc"]) == [0.91, 0.81]
    other = dict(t, activation="tanh", test_acc=np.array([0.95, 0.5]))
    assert activation_experiments.pair_wins([t, other], order=("relu", "tanh")) == [("relu", "tanh", 1, 2)]
    assert "relu" in activation_experiments.format_tuned([t, other]).splitlines()[2]
    with pytest.raises(ValueError, match="rows lack activations"):
        activation_experiments.pair_wins([t])


def test_revived_units_counts_falls_above_the_first_layer_only():
    assert activation_experiments.revived_units([[0.5, 0.2, 0.1], [0.3, 0.3, 0.0], [0.3, 0.1, 0.2]]) == pytest.approx(0.3)
    assert activation_experiments.revived_units([[0.5, 0.2]]) == 0.0
    with pytest.raises(ValueError, match="dead_per_layer"):
        activation_experiments.revived_units([0.1, 0.2])


def test_tanh_gets_xavier_times_five_thirds_like_chapter_03():
    a = activation_experiments.build_mlp("tanh", 64, 10, depth=1, width=256, seed=0)
    b = activation_experiments.build_mlp("tanh", 64, 10, depth=1, width=256, seed=0, init="xavier_uniform")
    assert float(a[0].weight.detach().std() / b[0].weight.detach().std()) == pytest.approx(5 / 3, rel=1e-5)


def test_explorer_defaults_and_suggested_values_are_on_the_slider_grid():
    e = activation_experiments.make_activation_explorer()
    p = e.controls["param"]
    for v in (p.value, 0.0, 2.0, 1.0):  # default; ELU α = 0, Swish β = 2, β = 0 ... suggested in the text
        k = (v - p.min) / p.step
        assert p.min <= v <= p.max and abs(k - round(k)) < 1e-9
    d = activation_experiments.make_distribution_explorer().controls["depth"]
    assert d.min <= 50 <= d.max and (d.value - d.min) % d.step == 0


def test_activation_curves_match_torch_and_mark_saturation():
    r = activation_experiments.activation_curves("leaky_relu", 0.3)
    x = torch.from_numpy(r["x"])
    np.testing.assert_allclose(r["f"], F.leaky_relu(x, 0.3).numpy())
    assert r["param_name"] == "negative_slope" and r["param"] == 0.3
    s = activation_experiments.activation_curves("sigmoid", 1.7, threshold=0.05)
    sig = torch.sigmoid(torch.from_numpy(s["x"]))
    np.testing.assert_array_equal(s["saturated"], (sig * (1 - sig) < 0.05).numpy())
    assert s["param"] is None  # sigmoid has no parameter: ignored
    assert s["saturated"][0] and not s["saturated"][len(s["x"]) // 2]
    rr = activation_experiments.activation_curves("rrelu")
    assert np.all(rr["lower"] >= rr["upper"] - 1e-12) and np.all(rr["f"] <= rr["lower"] + 1e-12)
    e = activation_experiments.activation_curves("elu", 2.0)
    np.testing.assert_allclose(e["df"], np.where(e["x"] > 0, 1.0, 2.0 * np.exp(np.minimum(e["x"], 0))))
    with pytest.raises(ValueError, match="activation must be one of"):
        activation_experiments.activation_curves("softmax")
    with pytest.raises(ValueError, match="x_max must be greater than x_min"):
        activation_experiments.activation_curves("relu", x_min=1.0, x_max=0.0)


def test_layer_distributions_match_a_direct_forward_and_leave_rng_alone():
    state = torch.get_rng_state()
    r = activation_experiments.layer_distributions("relu", "he_normal", depth=4, width=16, n_samples=64, seed=2)
    assert torch.equal(torch.get_rng_state(), state)
    # the first 4 hidden layers of a MAX_DEPTH-layer models.mlp seeded with 2
    torch.manual_seed(2)
    net = models.mlp(16, 10, depth=activation_experiments.MAX_DEPTH, width=16, activation="relu", init="he_normal")
    h = torch.randn(64, 16, generator=torch.Generator().manual_seed(2))
    stds, hs = [], []
    with torch.no_grad():
        for m in list(net)[:8]:
            h = m(h)
            if isinstance(m, nn.ReLU):
                stds.append(float(h.std()))
                hs.append(h.reshape(-1))
    np.testing.assert_allclose(r["std"], stds, rtol=1e-6)
    expected = np.histogram(np.clip(hs[1].numpy(), -3, 3), bins=r["edges"])[0] / hs[1].numel()
    np.testing.assert_allclose(r["density"][:, 1], expected, atol=1.5 / hs[1].numel())
    np.testing.assert_allclose(r["density"].sum(axis=0), 1.0)
    assert r["dead"][0] is not None and r["saturated"][0] is None
    deeper = activation_experiments.layer_distributions("relu", "he_normal", depth=6, width=16, n_samples=64, seed=2)
    np.testing.assert_allclose(deeper["std"][:4], r["std"])
    with pytest.raises(ValueError, match="depth must be in"):
        activation_experiments.layer_distributions(depth=activation_experiments.MAX_DEPTH + 1)
    with pytest.raises(ValueError, match="init must be one of"):
        activation_experiments.layer_distributions(init="orthogonal")


@pytest.mark.parametrize(("name", "control", "value"),
                         [("04 activation functions", "activation", "sigmoid"),
                          ("04 per-layer distributions", "depth", 3)])
def test_explorers_are_registered_and_redraw_on_a_change(name, control, value):
    """(tests/test_explorers.py drives every control to its extremes.)"""
    ex = explorers.EXPLORERS[name]()
    first = ex.png
    ex.controls[control].value = value
    assert ex.error is None and ex.png and ex.png != first
