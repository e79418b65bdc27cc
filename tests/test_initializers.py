"""From-scratch initializers against torch.nn.init: same draws, statistics, bounds, gains."""

import math

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

from course_utils.chapters import ch03_initialization as ch03
from course_utils.core import diagnostics, models
from course_utils.core.explorers import on_grid
from course_utils.scratch import init as ini


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------------- fans and gains
@pytest.mark.parametrize("shape", [(5, 3), (16, 3, 3, 3), (8, 4, 5), (2, 3, 1, 1, 7), (1, 1)])
def test_fans_match_torch(shape):
    expected = nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert ini.fan_in_and_fan_out(shape) == expected
    assert ini.fan_in_and_fan_out(torch.empty(shape)) == expected


def test_fan_modes():
    assert ini.fan(300, 100, "fan_in") == 300
    assert ini.fan(300, 100, "fan_out") == 100
    assert ini.fan(300, 100, "fan_avg") == 200


@pytest.mark.parametrize("name", ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose2d",
                                  "sigmoid", "tanh", "relu", "leaky_relu", "selu"])
def test_gain_matches_torch(name):
    assert ini.calculate_gain(name) == pytest.approx(nn.init.calculate_gain(name), rel=1e-12)


@pytest.mark.parametrize("slope", [0.0, 0.2, 1.0, 3])
def test_leaky_relu_gain_matches_torch(slope):
    assert ini.calculate_gain("leaky_relu", slope) == pytest.approx(
        nn.init.calculate_gain("leaky_relu", slope), rel=1e-12)


def test_selu_gain_pitfall():
    """calculate_gain('selu') is 3/4, not the 1 that self-normalization needs: with it a deep
    SELU stack's activations shrink, with LeCun normal (gain 1) they keep std ≈ 1."""
    assert ini.calculate_gain("selu") == nn.init.calculate_gain("selu") == 0.75
    good = ch03.forward_stats("lecun_normal", "selu", depth=50, width=128, n_samples=500)
    bad = ch03.forward_stats("lecun_normal", "selu", depth=50, width=128, n_samples=500,
                            gain=ini.calculate_gain("selu"))
    assert 0.8 < good[-1].std < 1.2 and abs(good[-1].mean) < 0.2
    assert bad[-1].std < 0.5 * good[-1].std


# ------------------------------------------------------------- same draws as torch.nn.init
FI, FO = 300, 200


@pytest.mark.parametrize("gain", [1.0, 5 / 3])
def test_xavier_uniform_equals_torch(gain):
    ref = nn.init.xavier_uniform_(torch.empty(FO, FI), gain=gain, generator=gen(1))
    got = ini.xavier_uniform(FI, FO, gen(1), gain=gain)
    torch.testing.assert_close(got, ref, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("gain", [1.0, 5 / 3])
def test_xavier_normal_equals_torch(gain):
    ref = nn.init.xavier_normal_(torch.empty(FO, FI), gain=gain, generator=gen(2))
    got = ini.xavier_normal(FI, FO, gen(2), gain=gain)
    torch.testing.assert_close(got, ref, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
def test_he_equals_torch_kaiming(mode):
    ref = nn.init.kaiming_normal_(torch.empty(FO, FI), mode=mode, nonlinearity="relu",
                                  generator=gen(3))
    torch.testing.assert_close(ini.he_normal(FI, FO, gen(3), mode=mode), ref, rtol=1e-6, atol=1e-7)
    ref = nn.init.kaiming_uniform_(torch.empty(FO, FI), mode=mode, nonlinearity="relu",
                                   generator=gen(4))
    torch.testing.assert_close(ini.he_uniform(FI, FO, gen(4), mode=mode), ref, rtol=1e-6, atol=1e-7)


def test_lecun_equals_kaiming_linear():
    ref = nn.init.kaiming_normal_(torch.empty(FO, FI), nonlinearity="linear", generator=gen(5))
    torch.testing.assert_close(ini.lecun_normal(FI, FO, gen(5)), ref, rtol=1e-6, atol=1e-7)


def test_standard_uniform_is_pytorch_default():
    ref = nn.init.kaiming_uniform_(torch.empty(FO, FI), a=math.sqrt(5), generator=gen(6))
    torch.testing.assert_close(ini.standard_uniform(FI, FO, gen(6)), ref, rtol=1e-6, atol=1e-7)


def test_normal_equals_torch():
    ref = nn.init.normal_(torch.empty(FO, FI), 0.0, 0.01, generator=gen(7))
    torch.testing.assert_close(ini.normal(FI, FO, gen(7), std=0.01), ref, rtol=1e-6, atol=1e-9)


def test_conv_shape_equals_torch():
    shape = (16, 8, 3, 3)
    fi, fo = ini.fan_in_and_fan_out(shape)
    ref = nn.init.xavier_uniform_(torch.empty(shape), generator=gen(8))
    torch.testing.assert_close(ini.xavier_uniform(fi, fo, gen(8), shape=shape), ref,
                               rtol=1e-6, atol=1e-7)


# -------------------------------------------------------------- statistics of large draws
SCHEME_FUNCS = {"xavier_uniform": ini.xavier_uniform, "xavier_normal": ini.xavier_normal,
                "he_normal": ini.he_normal, "he_uniform": ini.he_uniform,
                "lecun_normal": ini.lecun_normal}


@pytest.mark.parametrize("scheme", list(SCHEME_FUNCS))
def test_statistics_of_large_draws(scheme):
    fi, fo = 500, 250
    w = SCHEME_FUNCS[scheme](fi, fo, gen(9), gain=1.3)
    expected = ini.scheme_std(scheme, fi, fo, gain=1.3)
    assert w.shape == (fo, fi) and w.dtype == torch.float32
    assert abs(float(w.mean())) < 0.02 * expected
    assert float(w.std()) == pytest.approx(expected, rel=0.015)
    # torch's own draws have the same spread
    torch_w = {"xavier_uniform": lambda t: nn.init.xavier_uniform_(t, gain=1.3),
               "xavier_normal": lambda t: nn.init.xavier_normal_(t, gain=1.3),
               "he_normal": lambda t: nn.init.kaiming_normal_(t, nonlinearity="relu").mul_(1.3),
               "he_uniform": lambda t: nn.init.kaiming_uniform_(t, nonlinearity="relu").mul_(1.3),
               "lecun_normal": lambda t: nn.init.kaiming_normal_(t, nonlinearity="linear").mul_(1.3),
               }[scheme](torch.empty(fo, fi))
    assert float(w.std()) == pytest.approx(float(torch_w.std()), rel=0.03)


@pytest.mark.parametrize("fi, fo", [(64, 64), (784, 100), (10, 1000)])
def test_xavier_uniform_bound(fi, fo):
    r = math.sqrt(6 / (fi + fo))
    w = ini.xavier_uniform(fi, fo, gen(10))
    assert float(w.abs().max()) <= r
    assert float(w.abs().max()) > 0.99 * r
    assert float(w.var()) == pytest.approx(r ** 2 / 3, rel=0.05)  # r = √(3/fan_avg)


def test_he_uniform_bound():
    w = ini.he_uniform(200, 50, gen(11))
    r = math.sqrt(6 / 200)
    assert r * 0.99 < float(w.abs().max()) <= r


def test_normal_tails_are_gaussian():
    w = ini.he_normal(400, 300, gen(12)).double()
    s = math.sqrt(2 / 400)
    assert float((w.abs() > 2 * s).double().mean()) == pytest.approx(0.0455, abs=0.004)


def test_generator_reproducible_and_global_rng():
    a = ini.he_normal(20, 10, gen(3))
    b = ini.he_normal(20, 10, gen(3))
    c = ini.he_normal(20, 10, gen(4))
    assert torch.equal(a, b) and not torch.equal(a, c)
    torch.manual_seed(0)
    d = ini.he_normal(20, 10)
    torch.manual_seed(0)
    assert torch.equal(d, ini.he_normal(20, 10))


def test_scheme_std_values():
    assert ini.scheme_std("xavier_uniform", 300, 100) == pytest.approx(math.sqrt(2 / 400))
    assert ini.scheme_std("he_normal", 300, 100) == pytest.approx(math.sqrt(2 / 300))
    assert ini.scheme_std("lecun_normal", 300, 100, gain=2) == pytest.approx(2 / math.sqrt(300))
    assert ini.scheme_std("default", 300, 100) == pytest.approx(1 / math.sqrt(900))
    assert ini.scheme_std("normal", 300, 100, std=0.3) == 0.3
    assert ini.scheme_std("zeros", 3, 1) == 0.0


# ------------------------------------------------------------------ applying to a model
@pytest.mark.parametrize("scheme", ini.SCHEMES)
def test_init_layer_linear_and_conv(scheme):
    for layer in (nn.Linear(120, 80), nn.Conv2d(8, 16, 3)):
        models.init_layer(layer, scheme, gain=1.0, std=0.05, value=0.3, generator=gen(0))
        fi, fo = ini.fan_in_and_fan_out(layer.weight)
        w = layer.weight.detach()
        if scheme == "zeros":
            assert torch.all(w == 0)
        elif scheme == "constant":
            assert torch.all(w == 0.3)
        else:
            assert float(w.std()) == pytest.approx(ini.scheme_std(scheme, fi, fo, std=0.05), rel=0.12)
        if scheme == "default":
            b = layer.bias.detach()
            assert 0 < float(b.abs().max()) <= 1 / math.sqrt(fi)
        else:
            assert torch.all(layer.bias == 0)


def test_default_scheme_matches_reset_parameters_distribution():
    layer = nn.Linear(400, 300)
    models.init_layer(layer, "default", generator=gen(1))
    torch.manual_seed(1)
    ref = nn.Linear(400, 300)
    assert float(layer.weight.detach().abs().max()) <= 1 / 20
    assert float(layer.weight.detach().std()) == pytest.approx(float(ref.weight.detach().std()), rel=0.02)


def test_initialize_model_reproducible_and_mlp_uses_it():
    m1 = models.initialize(models.mlp(64, 10, depth=3, width=32), "he_normal", generator=gen(5))
    m2 = models.initialize(models.mlp(64, 10, depth=3, width=32), "he_normal", generator=gen(5))
    for p, q in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(p, q)
    m = models.mlp(64, 10, depth=3, width=256, init="lecun_normal", gain=2.0)
    assert float(m[2].weight.detach().std()) == pytest.approx(2 / 16, rel=0.03)
    m = models.mlp(64, 10, depth=2, width=256, init="normal", std=0.2)
    assert float(m[0].weight.detach().std()) == pytest.approx(0.2, rel=0.03)


def test_constant_init_keeps_units_identical_through_training():
    torch.manual_seed(0)
    X, y = torch.randn(64, 5), torch.randint(0, 3, (64,))
    model = models.mlp(5, 3, depth=2, width=8, activation="tanh", init="constant")
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(20):
        loss = nn.functional.cross_entropy(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert not torch.all(model[0].weight == 0.1)  # it did learn something
    assert ini.distinct_units(model[0].weight) == 1
    assert ini.distinct_units(model[2].weight) == 1
    he = models.initialize(models.mlp(5, 3, depth=2, width=8), "he_normal", generator=gen(0))
    assert ini.distinct_units(he[0].weight) == 8


def test_distinct_units_matches_unique_rows():
    w = torch.tensor([[1.0, 2.0], [1.0, 2.0], [3.0, 4.0], [1.0, 2.5]])
    assert ini.distinct_units(w) == len(torch.unique(w, dim=0)) == 3
    assert ini.distinct_units(w, atol=0.6) == 2


# ------------------------------------------------------------------ forward statistics
def test_forward_stats_use_diagnostics_and_classic_results():
    he = ch03.forward_stats("he_normal", "relu", depth=50, width=128, n_samples=400)
    xa = ch03.forward_stats("xavier_normal", "relu", depth=50, width=128, n_samples=400)
    lin = ch03.forward_stats("lecun_normal", "linear", depth=50, width=128, n_samples=400)
    assert len(he) == 50 and isinstance(he[0], diagnostics.LayerStats)
    assert 0.3 < he[-1].std / he[0].std < 3  # He keeps ReLU activations' scale
    assert xa[-1].std / xa[0].std < 1e-5      # Xavier halves the variance per ReLU layer
    assert 0.5 < lin[-1].std < 2              # LeCun keeps a linear stack at std 1
    # the recorded std is the std of what the model computes
    model = models.mlp(128, 1, depth=2, width=128, activation="relu")
    models.initialize(model, "he_normal", generator=gen(0))
    X = torch.randn(400, 128, generator=gen(1))
    stats = diagnostics.activation_stats(model, X)
    with torch.no_grad():
        h = model[1](model[0](X))
    assert stats[0].std == pytest.approx(float(h.std()), rel=1e-5)


def test_pretrain_greedy_trains_each_stage_and_sets_the_head():
    torch.manual_seed(0)
    X = torch.randn(300, 10)
    y = (X[:, 0] + X[:, 1] > 0).long() + (X[:, 2] > 0.5).long()  # 3 classes
    model = models.mlp(10, 3, depth=3, width=16, init="normal", std=0.01)
    first = model[0].weight.detach().clone()
    accs = ch03.pretrain_greedy(model, X, y, epochs=15, lr=0.01, seed=0)
    assert len(accs) == 3 and min(accs) > 0.8  # each shallow stage learns
    assert not torch.equal(model[0].weight, first)
    with torch.no_grad():  # the model now computes the last stage's classifier
        acc = float((model(X).argmax(1) == y).float().mean())
    assert acc == pytest.approx(accs[-1])
    assert all(p.grad is None for p in model.parameters())


# ----------------------------------------------------------------------------- explorer
def test_explore_compute_shapes_and_values():
    r = ch03.explore_compute("He normal", 1.0, 12, "relu")
    assert r["std"].shape == (12,) and r["hist"].shape[0] == 12
    np.testing.assert_allclose(r["hist"].sum(1) + r["zero"], 1.0, atol=1e-6)
    assert 0.3 < r["zero"].mean() < 0.7  # ReLU zeros about half of the values
    assert not r["diverged"]
    s = ch03.forward_stats("he_normal", "relu", depth=12, width=64, n_samples=128)
    np.testing.assert_allclose(r["std"], [x.std for x in s])


def test_explore_compute_extremes():
    blown = ch03.explore_compute("N(0, 1)", 3.0, 60, "linear")
    assert blown["diverged"]
    assert isinstance(ch03.explore_render(blown, {"scheme": "N(0, 1)", "gain": 3.0, "activation": "linear"}), Figure)
    small = ch03.explore_compute("N(0, 0.01²)", 1.0, 20, "tanh")
    assert small["std"][-1] < 1e-10 and not small["diverged"]
    sat = ch03.explore_compute("N(0, 1)", 1.0, 10, "tanh")
    assert sat["saturated"][-1] > 0.5
    fig = ch03.explore_render(sat, {"scheme": "N(0, 1)", "gain": 1.0, "activation": "tanh"})
    assert isinstance(fig, Figure)


def test_explorer_is_registered():
    from course_utils.core import explorers

    assert explorers.EXPLORERS["03 initialization"] is ch03.make_explorer


# --------------------------------------------------------------------------- validation
def test_bad_arguments():
    with pytest.raises(ValueError, match="fan_in must be in"):
        ini.xavier_uniform(0, 3)
    with pytest.raises(TypeError, match="fan_out must be an integer"):
        ini.he_normal(3, 2.5)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        ini.lecun_normal(3, 4, generator=0)
    with pytest.raises(ValueError, match="gain must be in"):
        ini.xavier_normal(3, 4, gain=-1.0)
    with pytest.raises(ValueError, match="mode must be one of"):
        ini.he_normal(3, 4, mode="fan_avg")
    with pytest.raises(ValueError, match="does not match fan_in"):
        ini.xavier_uniform(3, 4, shape=(3, 4))
    with pytest.raises(ValueError, match="nonlinearity must be one of"):
        ini.calculate_gain("softmax")
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        ini.fan_in_and_fan_out((5,))
    with pytest.raises(ValueError, match="scheme must be one of"):
        models.init_layer(nn.Linear(2, 2), "glorot")
    with pytest.raises(TypeError, match="layer must be an nn.Linear"):
        models.init_layer(nn.ReLU(), "he_normal")
    with pytest.raises(TypeError, match="model must be an nn.Module"):
        models.initialize("model", "he_normal")
    with pytest.raises(ValueError, match="scheme must be one of"):
        ch03.explore_compute("Glorot", 1.0, 3, "relu")
    with pytest.raises(TypeError, match="weight must be a torch.Tensor"):
        ini.distinct_units([[1.0]])
    with pytest.raises(ValueError, match="at least one hidden Linear"):
        ch03.pretrain_greedy(nn.Sequential(nn.Linear(3, 2)), torch.randn(4, 3), torch.zeros(4).long())
    with pytest.raises(TypeError, match="y must be a 1-D integer"):
        ch03.pretrain_greedy(models.mlp(3, 2), torch.randn(4, 3), torch.zeros(4))




def test_explorer_defaults_and_suggested_gains_lie_on_the_slider_grid():
    e = ch03.make_explorer()
    sliders = [w for w in e.controls.values() if hasattr(w, "step")]
    assert sliders and all(on_grid(w) for w in sliders)
    for gain in (1.0, 1.4, 0.75):  # the values the notebook suggests trying
        assert on_grid(e.controls["gain"], gain)
        e.controls["gain"].value = gain
        assert e.controls["gain"].value == gain


def test_tanh_matched_init_is_xavier_times_five_thirds():
    plain = ch03.forward_stats("xavier_normal", "tanh", depth=50, width=128, n_samples=300)
    matched = ch03.forward_stats("xavier_normal", "tanh", depth=50, width=128, n_samples=300,
                                 gain=ini.calculate_gain("tanh"))
    assert plain[-1].std / plain[0].std < 0.2            # gain 1 fades over 50 layers
    assert 0.2 < matched[-1].std / matched[0].std < 5    # gain 5/3 keeps the scale
