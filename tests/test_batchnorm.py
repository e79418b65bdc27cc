"""course_utils.scratch.batchnorm: the from-scratch layers against PyTorch's, and the chapter's
computations (each compared with PyTorch on the same inputs where there is a counterpart)."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn

from course_utils.chapters import ch05_batch_norm as batchnorm_experiments
from course_utils.core import data, training
from course_utils.scratch import batchnorm as B


@pytest.fixture(scope="module")
def digits():
    return data.load_digits_data()


def _pair(c, momentum=0.1, affine=True, seed=0):
    torch.manual_seed(seed)
    ref = nn.BatchNorm1d(c, momentum=momentum, affine=affine)
    if affine:
        with torch.no_grad():
            ref.weight.uniform_(0.5, 2.0)
            ref.bias.normal_()
    mine = B.BatchNorm1d(c, momentum=momentum, affine=affine)
    mine.load_state_dict(ref.state_dict())
    return ref, mine


def _close(a, b, atol=1e-5, rtol=1e-5):
    assert torch.allclose(a, b, atol=atol, rtol=rtol), float((a - b).abs().max())


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm1d_equals_torch_over_many_steps_in_train_and_eval(momentum, affine):
    ref, mine = _pair(6, momentum, affine)
    gen = torch.Generator().manual_seed(1)
    for step in range(120):
        n = int(torch.randint(2, 40, (1,), generator=gen))
        shift = 3 * torch.sin(torch.tensor(step / 20.0))  # a drifting input distribution
        x = torch.randn(n, 6, generator=gen) * (1 + step / 60) + shift
        if step % 10 == 9:  # evaluation: running statistics, nothing updated
            ref.eval()
            mine.eval()
            _close(mine(x), ref(x))
            ref.train()
            mine.train()
            continue
        x1, x2 = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
        o1, o2 = ref(x1), mine(x2)
        _close(o2, o1)
        g = torch.randn(o1.shape, generator=gen)
        o1.backward(g)
        o2.backward(g)
        _close(x2.grad, x1.grad, atol=1e-4, rtol=1e-4)
        _close(mine.running_mean, ref.running_mean)
        _close(mine.running_var, ref.running_var, rtol=1e-4)
        assert int(mine.num_batches_tracked) == int(ref.num_batches_tracked)
    if affine:
        _close(mine.weight.grad, ref.weight.grad, atol=1e-3, rtol=1e-4)
        _close(mine.bias.grad, ref.bias.grad, atol=1e-3, rtol=1e-4)


def test_compare_with_torch_reports_tiny_differences_and_sees_a_real_one(monkeypatch):
    worst = B.compare_with_torch(num_features=4, steps=60)
    assert set(worst) == {"train output", "input gradient", "running mean", "running var",
                          "eval output"}
    assert all(0 <= v < 1e-5 for v in worst.values()), worst
    # a layer that gets the running variance wrong must show up
    real = B.batchnorm_forward

    def biased_running_var(x, g, b, rm, rv, training, momentum=0.1, eps=1e-5):
        out, m, v = real(x, g, b, rm, rv, training, momentum, eps)
        if training:
            n = x.shape[0]
            v = (v - (1 - momentum) * rv) * (n - 1) / n + (1 - momentum) * rv
        return out, m, v
    monkeypatch.setattr(B, "batchnorm_forward", biased_running_var)
    bad = B.compare_with_torch(num_features=4, steps=60)
    assert bad["running var"] > 1e-3 and bad["eval output"] > 1e-3


def test_batchnorm1d_equals_torch_on_sequences_n_c_l():
    ref, mine = _pair(3)
    for _ in range(5):
        x = torch.randn(4, 3, 7) * 2 + 1
        _close(mine(x), ref(x))
    _close(mine.running_var, ref.running_var)
    ref.eval()
    mine.eval()
    x = torch.randn(2, 3, 5)
    _close(mine(x), ref(x))


def test_eval_mode_uses_running_stats_and_updates_nothing():
    _, mine = _pair(4)
    for _ in range(3):
        mine(torch.randn(8, 4) * 3 + 2)
    mine.eval()
    before = copy.deepcopy(mine.state_dict())
    x = torch.randn(5, 4)
    expected = (x - mine.running_mean) / torch.sqrt(mine.running_var + mine.eps) * mine.weight \
        + mine.bias
    _close(mine(x), expected)
    for k, v in mine.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_state_dicts_load_both_ways_and_running_var_is_unbiased():
    mine = B.BatchNorm1d(3, momentum=1.0)
    x = torch.tensor([[0.0, 1.0, 2.0], [2.0, 3.0, 6.0]])
    mine(x)
    # momentum 1: the running estimates are exactly this batch's mean and unbiased variance
    _close(mine.running_mean, x.mean(0))
    _close(mine.running_var, x.var(0, unbiased=True))
    ref = nn.BatchNorm1d(3)
    ref.load_state_dict(mine.state_dict())
    assert set(ref.state_dict()) == set(mine.state_dict())


def test_functional_batchnorm_equals_torch_and_keeps_inputs():
    torch.manual_seed(3)
    x, gamma, beta = torch.randn(9, 5) * 2, torch.rand(5) + 0.5, torch.randn(5)
    rm, rv = torch.randn(5), torch.rand(5) + 0.5
    kept = [t.clone() for t in (x, gamma, beta, rm, rv)]
    for train_mode in (True, False):
        for momentum, eps in ((0.1, 1e-5), (0.3, 0.5)):
            out, m, v = B.batchnorm_forward(x, gamma, beta, rm, rv, train_mode, momentum, eps)
            rm2, rv2 = rm.clone(), rv.clone()
            expected = F.batch_norm(x, rm2, rv2, gamma, beta, train_mode, momentum, eps)
            _close(out, expected)
            _close(m, rm2)
            _close(v, rv2)
    for t, k in zip((x, gamma, beta, rm, rv), kept):
        assert torch.equal(t, k)


def test_layernorm_equals_torch_forward_and_backward():
    torch.manual_seed(4)
    ref = nn.LayerNorm(7)
    with torch.no_grad():
        ref.weight.uniform_(0.5, 2)
        ref.bias.normal_()
    mine = B.LayerNorm(7)
    mine.load_state_dict(ref.state_dict())
    for shape in [(5, 7), (3, 4, 7), (7,)]:
        x = torch.randn(shape) * 3 + 1
        x1, x2 = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
        o1, o2 = ref(x1), mine(x2)
        _close(o2, o1)
        o1.pow(2).sum().backward()
        o2.pow(2).sum().backward()
        _close(x2.grad, x1.grad, atol=1e-4, rtol=1e-4)
    _close(mine.weight.grad, ref.weight.grad, atol=1e-4, rtol=1e-4)
    plain = B.LayerNorm(7, elementwise_affine=False)
    x = torch.randn(4, 7)
    _close(plain(x), F.layer_norm(x, (7,)))
    # independent of the rest of the batch, and the same in both modes
    _close(mine(x)[:1], mine(x[:1]))
    mine.eval()
    _close(mine(x), ref(x))


def test_scratch_model_trains_exactly_like_torch(digits):
    torch.manual_seed(0)
    ref = B.norm_mlp(64, 10, norm="batch", depth=3, width=32)
    mine = B.to_scratch_batchnorm(ref)
    assert sum(isinstance(m, B.BatchNorm1d) for m in mine.modules()) == 3
    assert not any(type(m) is nn.BatchNorm1d for m in mine.modules())
    batches = list(data.Batches(digits.X_train, digits.y_train, 32, seed=0))
    for model in (ref, mine):  # one epoch; at a much larger lr both would be chaotic:
        # torch against torch with 1e-7 perturbed weights drifts apart just the same
        training.fit(model, batches, epochs=1, lr=0.1, progress=False)
    for (k, a), (_, b) in zip(ref.state_dict().items(), mine.state_dict().items()):
        if a.is_floating_point():
            _close(b, a, atol=1e-4, rtol=1e-4)
        else:
            assert torch.equal(a, b), k
    ref.eval()
    mine.eval()
    _close(mine(digits.X_val), ref(digits.X_val), atol=1e-4, rtol=1e-4)


def test_norm_mlp_kinds_and_placement():
    kinds = {"none": None, "batch": nn.BatchNorm1d, "scratch_batch": B.BatchNorm1d,
             "layer": nn.LayerNorm, "scratch_layer": B.LayerNorm}
    for norm, cls in kinds.items():
        model = B.norm_mlp(8, 3, norm=norm, depth=2, width=5)
        types = [type(m) for m in model]
        if cls is None:
            assert types == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
        else:
            assert types == [nn.Linear, cls, nn.ReLU, nn.Linear, cls, nn.ReLU, nn.Linear]
    after = B.norm_mlp(8, 3, norm="batch", placement="after", depth=2, width=5)
    assert [type(m) for m in after] == [nn.Linear, nn.ReLU, nn.BatchNorm1d, nn.Linear,
                                        nn.ReLU, nn.BatchNorm1d, nn.Linear]


def test_loss_along_gradient_matches_a_manual_step_and_leaves_the_model_alone():
    torch.manual_seed(5)
    model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 3))
    X, y = torch.randn(20, 4), torch.randint(0, 3, (20,))
    before = copy.deepcopy(model.state_dict())
    res = batchnorm_experiments.loss_along_gradient(model, X, y, step_sizes=(0.0, 0.5))
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    manual = copy.deepcopy(model).train()
    loss = F.cross_entropy(manual(X), y)
    grads = torch.autograd.grad(loss, list(manual.parameters()))
    with torch.no_grad():
        for p, g in zip(manual.parameters(), grads):
            p -= 0.5 * g
    moved = F.cross_entropy(manual(X), y)
    g2 = torch.autograd.grad(moved, list(manual.parameters()))
    change = torch.cat([(a - b).reshape(-1) for a, b in zip(g2, grads)]).norm()
    assert res["loss"][0] == pytest.approx(loss.item(), rel=1e-5)
    assert res["grad_change"][0] == pytest.approx(0.0, abs=1e-6)
    assert res["loss"][1] == pytest.approx(moved.item(), rel=1e-5)
    assert res["grad_change"][1] == pytest.approx(float(change), rel=1e-4)


def test_accuracy_in_mode_eval_matches_evaluate_and_train_mode_moves_running_stats(digits):
    torch.manual_seed(0)
    model = B.norm_mlp(64, 10, norm="batch", depth=2, width=16)
    training.fit(model, digits.loaders(64)[0], epochs=1, lr=0.3, progress=False)
    model.eval()
    _, acc = training.evaluate(model, digits.test())
    assert batchnorm_experiments.accuracy_in_mode(model, *digits.test(), train_mode=False) == pytest.approx(acc)
    rm = model[1].running_mean.clone()
    batchnorm_experiments.accuracy_in_mode(model, *digits.test(), train_mode=True, batch_size=10, sort_by_label=True)
    assert not model.training  # the mode flag is restored ...
    assert not torch.equal(model[1].running_mean, rm)  # ... the running statistics are not


def test_record_activation_stats_does_not_disturb_training(digits):
    kw = dict(depth=2, width=16, epochs=2, batch_size=128, seed=3)
    rec = batchnorm_experiments.record_activation_stats(digits, "batch", 0.2, every=3, probe_size=64, **kw)
    _, plain = batchnorm_experiments.run(digits, "batch", 0.2, **kw)
    assert rec["history"].val_acc == plain.val_acc
    n_steps = 2 * len(digits.loaders(128)[0])
    assert list(rec["steps"]) == [0, *range(3, n_steps + 1, 3)]
    assert rec["std"].shape == (len(rec["steps"]), 2) and rec["mean"].shape == rec["std"].shape
    assert np.all(rec["loss_range"] >= 0) and np.all(rec["grad_change"] >= 0)


def test_lr_sweep_rows_and_table(digits):
    rows = batchnorm_experiments.lr_sweep(digits, [0.1, 1e3], ["none", "batch"], depth=4, width=16, epochs=1,
                      batch_size=256, record_at=0.1, every=2, target=0.0)
    assert [(r["norm"], r["lr"]) for r in rows] == [("none", 0.1), ("none", 1e3),
                                                     ("batch", 0.1), ("batch", 1e3)]
    assert rows[1]["diverged"] and rows[1]["val_acc"] is None
    assert rows[0]["record"] is not None and rows[1]["record"] is None
    assert rows[0]["epochs_to_target"] == 1
    table = batchnorm_experiments.sweep_table(rows)
    assert "div" in table and table.splitlines()[0].split() == ["lr", "none", "batch"]


def test_time_per_step_is_positive(digits):
    model = B.norm_mlp(64, 10, depth=1, width=8)
    assert batchnorm_experiments.time_per_step(model, digits.X_train[:32], digits.y_train[:32], steps=2,
                           repeats=1) > 0


def test_running_stats_trajectory_equals_torch_batchnorm_fed_the_same_batches():
    res = batchnorm_experiments.running_stats_trajectory(8, 0.2, steps=60, shift_at=30, means=(1.0, -2.0),
                                     stds=(2.0, 0.5), seed=4)
    z = batchnorm_experiments.batches_for_trajectory(8, 60, 4)
    bn = nn.BatchNorm1d(1, momentum=0.2).double()
    for t in range(60):
        mu, sd = (1.0, 2.0) if t < 30 else (-2.0, 0.5)
        x = torch.from_numpy(z[t] * sd + mu)[:, None]
        bn.train()
        bn(x)
        assert res["running_mean"][t] == pytest.approx(float(bn.running_mean[0]), rel=1e-9)
        assert res["running_std"][t] ** 2 == pytest.approx(float(bn.running_var[0]), rel=1e-9)
        # evaluation-mode output of the population N(mu, sd²): BN maps mu and mu + sd
        bn.eval()
        lo, hi = bn(torch.tensor([[mu], [mu + sd]], dtype=torch.float64))[:, 0].tolist()
        assert res["eval_mean"][t] == pytest.approx(lo, abs=1e-9)
        assert res["eval_std"][t] == pytest.approx(hi - lo, rel=1e-9)
        assert res["batch_mean"][t] == pytest.approx(float(x.mean()))


def test_running_stats_trajectory_behaviour():
    big = batchnorm_experiments.running_stats_trajectory(256, 0.1, shift_at=None)
    small = batchnorm_experiments.running_stats_trajectory(4, 0.1, shift_at=None)
    # batch means scatter like sigma / sqrt(B)
    assert np.std(big["batch_mean"]) == pytest.approx(1.5 / 16, rel=0.25)
    assert np.std(small["batch_mean"]) == pytest.approx(1.5 / 2, rel=0.25)
    assert abs(big["eval_mean"][-1]) < 0.1 and abs(big["eval_std"][-1] - 1) < 0.05
    last = batchnorm_experiments.running_stats_trajectory(16, 1.0)
    np.testing.assert_allclose(last["running_mean"], last["batch_mean"])
    slow = batchnorm_experiments.running_stats_trajectory(64, 0.001)  # barely moves from its initial 0 and 1
    assert abs(slow["running_mean"][-1]) < 0.5 and abs(slow["eval_mean"][-1]) > 0.5


def test_render_and_explorer():
    fig = batchnorm_experiments.render_running_stats(batchnorm_experiments.running_stats_trajectory(16, 0.1))
    assert isinstance(fig, Figure) and fig.axes[0].get_xlabel() == "training step"
    e = batchnorm_experiments.make_explorer()
    assert e.png and e.error is None
    e.controls["batch_size"].value = 2
    assert e.error is None and e.result["batch_size"] == 2


@pytest.mark.parametrize("call, error, match", [
    (lambda: B.batchnorm_forward(torch.randn(5), None, None, torch.zeros(5), torch.ones(5),
                                 True), ValueError, "x must have 2 or 3 or 4 dimension"),
    (lambda: B.batchnorm_forward(torch.randn(4, 3), torch.ones(2), None, torch.zeros(3),
                                 torch.ones(3), True), ValueError, "gamma must have one entry"),
    (lambda: B.batchnorm_forward(torch.randn(1, 3), None, None, torch.zeros(3), torch.ones(3),
                                 True), ValueError, "more than one value per feature"),
    (lambda: B.batchnorm_forward(torch.randn(4, 3), None, None, torch.zeros(3), torch.ones(3),
                                 True, momentum=1.5), ValueError, r"momentum must be in \[0"),
    (lambda: B.batchnorm_forward(torch.randn(4, 3), None, None, torch.zeros(3), torch.ones(3),
                                 1), TypeError, "training must be True or False"),
    (lambda: B.batchnorm_forward(torch.randn(4, 3), None, None, torch.zeros(3), torch.ones(3),
                                 True, eps=0.0), ValueError, r"eps must be in \(0"),
    (lambda: B.BatchNorm1d(0), ValueError, "num_features must be in"),
    (lambda: B.BatchNorm1d(3)(torch.randn(4, 5)), ValueError, "x must have 3 features"),
    (lambda: B.LayerNorm(3)(torch.randn(4, 5)), ValueError, "x must have 3 features"),
    (lambda: B.norm_mlp(4, 2, norm="group"), ValueError, "norm must be one of"),
    (lambda: B.norm_mlp(4, 2, placement="middle"), ValueError, "placement must be one of"),
    (lambda: B.to_scratch_batchnorm("model"), TypeError, "model must be an nn.Module"),
    (lambda: batchnorm_experiments.running_stats_trajectory(1, 0.1), ValueError, "batch_size must be in"),
    (lambda: batchnorm_experiments.running_stats_trajectory(8, -0.1), ValueError, "momentum must be in"),
    (lambda: batchnorm_experiments.lr_sweep("digits", [0.1]), TypeError, "splits must be a"),
    (lambda: batchnorm_experiments.sweep_table([]), TypeError, "rows must be"),
    (lambda: batchnorm_experiments.render_running_stats({}), TypeError, "result must be"),
])
def test_arguments_are_validated(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm2d_equals_torch_per_channel_over_n_h_w(momentum):
    torch.manual_seed(1)
    ref = nn.BatchNorm2d(3, momentum=momentum)
    with torch.no_grad():
        ref.weight.uniform_(0.5, 2.0)
        ref.bias.normal_()
    mine = B.BatchNorm2d(3, momentum=momentum)
    mine.load_state_dict(ref.state_dict())
    for step in range(20):
        x = torch.randn(6, 3, 5, 4) * torch.tensor([1.0, 3.0, 0.2]).view(1, 3, 1, 1) + step / 10
        xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
        oa, ob = mine(xa), ref(xb)
        (oa ** 3).sum().backward()
        (ob ** 3).sum().backward()
        torch.testing.assert_close(oa, ob, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(xa.grad, xb.grad, atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(mine.running_mean, ref.running_mean)
        torch.testing.assert_close(mine.running_var, ref.running_var)
    # per-channel statistics: each channel of the training output has mean 0, std 1 over (N, H, W)
    out = copy.deepcopy(mine)(torch.randn(8, 3, 4, 4) * 5 + 2).detach() - mine.bias.detach().view(1, 3, 1, 1)
    out = out / mine.weight.detach().view(1, 3, 1, 1)
    torch.testing.assert_close(out.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5, rtol=0)
    mine.eval(), ref.eval()
    x = torch.randn(2, 3, 5, 4)
    torch.testing.assert_close(mine(x), ref(x), atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match=r"x must have 4 dimension\(s\)"):
        mine(torch.randn(4, 3))
    worst = B.compare_with_torch(num_features=3, steps=40, image_size=4)
    assert max(worst.values()) < 1e-5


def test_batch_dependence_is_bn_noise_and_zero_for_layer_norm_and_eval():
    X = torch.randn(100, 6) * 2 + 1
    bn = nn.BatchNorm1d(6)
    out = B.batch_dependence(bn, X, index=3, n_batches=30, batch_size=8)
    assert out.shape == (30, 6) and float(out.std(0).min()) > 0.05
    assert int(bn.num_batches_tracked) == 0  # the layer itself is untouched
    ln = B.batch_dependence(nn.LayerNorm(6), X, index=3, n_batches=10, batch_size=8)
    assert float(ln.std(0).max()) < 1e-6
    again = B.batch_dependence(bn, X, index=3, n_batches=30, batch_size=8)
    torch.testing.assert_close(out, again)  # seeded
    with pytest.raises(ValueError, match="batch_size"):
        B.batch_dependence(bn, X, batch_size=1)


def test_sweep_over_seeds_table_and_step_time_ratios(digits):
    rows = batchnorm_experiments.lr_sweep(digits, [0.1, 1e3], ["none"], seeds=[0, 1], depth=2, width=8,
                                          epochs=1, batch_size=256, target=0.0)
    assert [(r["seed"], r["lr"]) for r in rows] == [(0, 0.1), (0, 1e3), (1, 0.1), (1, 1e3)]
    table = batchnorm_experiments.sweep_table(rows)
    expected = ["div" if r["diverged"] else f"{r['val_acc']:.3f}"[1:] for r in rows if r["lr"] == 1e3]
    assert table.splitlines()[2].split()[1:] == expected
    assert batchnorm_experiments.best_epochs_to_target(rows, seed=1) == {"none": (1, 0.1)}
    models = {"none": B.norm_mlp(64, 10, norm="none", depth=1, width=8),
              "batch": B.norm_mlp(64, 10, norm="batch", depth=1, width=8)}
    r = batchnorm_experiments.step_time_ratios(models, digits.X_train[:32], digits.y_train[:32], rounds=1, steps=2)
    assert r["none"] == 1.0 and r["batch"] > 0
    with pytest.raises(TypeError, match="seeds must be"):
        batchnorm_experiments.lr_sweep(digits, [0.1], seeds=[])


def test_record_keeps_the_inputs_of_the_normalization_layers(digits):
    rec = batchnorm_experiments.record_activation_stats(digits, "batch", 0.1, every=5, probe_size=64,
                                                        depth=2, width=8, epochs=1, batch_size=256)
    assert rec["pre_std"].shape == rec["std"].shape
    net = B.norm_mlp(64, 10, norm="batch", depth=2, width=8)
    # first checkpoint: the std of the first hidden Linear output of the fresh (seed 0) net
    torch.manual_seed(0)
    net = B.norm_mlp(64, 10, norm="batch", depth=2, width=8)
    with torch.no_grad():
        expected = float(net[0](digits.X_train[:64]).std())
    assert rec["pre_std"][0, 0] == pytest.approx(expected, rel=1e-5)


def test_batch_norm_explorer_defaults_and_suggested_values_are_on_the_grid():
    import math as _m
    e = batchnorm_experiments.make_explorer()
    b, m = e.controls["batch_size"], e.controls["momentum"]
    assert all((v - b.min) % b.step == 0 for v in (b.value, 2))
    for v in (m.value, 1.0, 0.001, 0.1, 0.01):  # default and the values the text suggests
        k = (_m.log10(v) - m.min) / m.step
        assert m.min <= _m.log10(v) <= m.max and abs(k - round(k)) < 1e-9
