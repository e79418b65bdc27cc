"""course_utils.scratch.rnn: the adding problem, TanhRNN against nn.RNN, the stacked trainer
against separate models trained with torch.optim.SGD and torch's clipping."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from course_utils.chapters import ch06_gradient_clipping as ch06
from course_utils.core import diagnostics
from course_utils.scratch import rnn


def test_adding_problem_shapes_markers_and_targets():
    X, y = rnn.adding_problem(500, 12, seed=3)
    assert X.shape == (500, 12, 2) and y.shape == (500, 1)
    assert X.dtype == torch.float32 and y.dtype == torch.float32
    markers = X[..., 1]
    assert torch.equal(markers.sum(1), torch.full((500,), 2.0))
    assert torch.equal(markers[:, :6].sum(1), torch.ones(500))  # one in each half
    expected = torch.stack([X[i, markers[i] == 1, 0].sum() for i in range(500)])
    torch.testing.assert_close(y[:, 0], expected)
    assert ((X[..., 0] >= 0) & (X[..., 0] < 1)).all()


def test_adding_problem_is_seeded_and_the_baseline_is_one_sixth():
    a, b, c = (rnn.adding_problem(50, 8, seed=s) for s in (1, 1, 2))
    assert torch.equal(a[0], b[0]) and not torch.equal(a[0], c[0])
    _, y = rnn.adding_problem(100_000, 10, seed=0)
    mse_of_one = float(((y - 1.0) ** 2).mean())
    # standard error of the mean of (y - 1)^2 is about 0.0005 here
    assert mse_of_one == pytest.approx(rnn.ADDING_BASELINE_MSE, abs=0.003)


def _torch_rnn_like(model: rnn.TanhRNN):
    ref = nn.RNN(model.input_size, model.hidden_size, nonlinearity="tanh", batch_first=True)
    head = nn.Linear(model.hidden_size, model.output_size)
    with torch.no_grad():
        ref.weight_ih_l0.copy_(model.inp.weight)
        ref.bias_ih_l0.copy_(model.inp.bias)
        ref.weight_hh_l0.copy_(model.rec.weight)
        ref.bias_hh_l0.copy_(model.rec.bias)
        head.load_state_dict(model.head.state_dict())
    return ref, head


def test_tanh_rnn_equals_torch_rnn_forward_and_backward():
    torch.manual_seed(0)
    model = rnn.TanhRNN(2, 16, 1, recurrent_scale=1.2)
    ref, head = _torch_rnn_like(model)
    X, y = rnn.adding_problem(32, 9, seed=0)
    out = model(X)
    ref_states = ref(X)[0]
    ref_out = head(ref_states[:, -1])
    torch.testing.assert_close(out, ref_out, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(model.states(X), ref_states, rtol=1e-5, atol=1e-6)
    nn.functional.mse_loss(out, y).backward()
    nn.functional.mse_loss(ref_out, y).backward()
    torch.testing.assert_close(model.rec.weight.grad, ref.weight_hh_l0.grad, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(model.inp.weight.grad, ref.weight_ih_l0.grad, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(model.rec.bias.grad, ref.bias_hh_l0.grad, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(model.head.weight.grad, head.weight.grad, rtol=1e-4, atol=1e-6)


def test_recurrent_weights_are_scaled_orthogonal_and_diagnostics_see_three_layers():
    torch.manual_seed(0)
    model = rnn.TanhRNN(2, 24, 1, recurrent_scale=1.5)
    sv = torch.linalg.svdvals(model.rec.weight.detach())
    torch.testing.assert_close(sv, torch.full((24,), 1.5), rtol=1e-5, atol=1e-5)
    X, y = rnn.adding_problem(16, 6, seed=0)
    total = ch06.gradient_norm(model, X, y)
    per_layer = diagnostics.gradient_norms(model)
    assert per_layer == pytest.approx([float(m.weight.grad.norm())
                                       for m in (model.inp, model.rec, model.head)])
    all_grads = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
    assert total == pytest.approx(float(all_grads.norm()), rel=1e-6)


def _members(n=3, hidden=8):
    models = []
    for s in range(n):
        torch.manual_seed(s)
        models.append(rnn.TanhRNN(2, hidden, 1, recurrent_scale=1.0 + 0.3 * s))
    return models


def test_stacked_members_equal_separate_models_forward_and_gradients():
    models = _members()
    stacked = rnn.StackedTanhRNN(models)
    xs = [rnn.adding_problem(10, 7, seed=s) for s in range(3)]
    X = torch.stack([x for x, _ in xs])
    Y = torch.stack([y for _, y in xs])
    out = stacked(X)
    assert out.shape == (3, 10, 1)
    ((out - Y) ** 2).mean(dim=(1, 2)).sum().backward()
    for i, m in enumerate(models):
        o = m(xs[i][0])
        torch.testing.assert_close(out[i], o, rtol=1e-5, atol=1e-6)
        nn.functional.mse_loss(o, xs[i][1]).backward()
        torch.testing.assert_close(stacked.weight_hh.grad[i], m.rec.weight.grad.T,
                                   rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(stacked.weight_ih.grad[i], m.inp.weight.grad.T,
                                   rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(stacked.bias_out.grad[i, 0], m.head.bias.grad,
                                   rtol=1e-4, atol=1e-6)
        copy = stacked.member(i)
        torch.testing.assert_close(copy(xs[i][0]), o, rtol=1e-5, atol=1e-6)


def test_clip_members_equals_torch_clipping_of_each_member():
    models = _members()
    stacked = rnn.StackedTanhRNN(models)
    g = torch.Generator().manual_seed(0)
    grads = [torch.randn(p.shape, generator=g) * 3 for p in stacked.parameters()]
    value = torch.tensor([math.inf, 0.5, math.inf])
    norm = torch.tensor([math.inf, math.inf, 2.0])
    clipped = [t.clone() for t in grads]
    pre = rnn.clip_members_(clipped, value, norm)
    for i in range(3):
        params = [nn.Parameter(torch.zeros_like(t[i])) for t in grads]
        for p, t in zip(params, grads):
            p.grad = t[i].clone()
        total = torch.nn.utils.clip_grad_norm_(params, norm[i].item())
        if math.isfinite(value[i].item()):
            torch.nn.utils.clip_grad_value_(params, value[i].item())
        assert float(pre[i]) == pytest.approx(float(total), rel=1e-5)
        for p, t in zip(params, clipped):
            torch.testing.assert_close(t[i], p.grad, rtol=1e-5, atol=1e-7)


def test_train_adding_equals_separate_training_with_sgd_and_torch_clipping():
    configs = (("none", None), ("value", 0.05), ("norm", 0.25))
    seeds, steps, B, T, H = (0, 1), 6, 8, 6, 8
    res = ch06.train_adding(configs, seeds, steps=steps, seq_len=T, hidden_size=H,
                           batch_size=B, lr=0.1, momentum=0.9, recurrent_scale=1.5, n_val=20)
    assert res.labels == ["none", "none", "value 0.05", "value 0.05", "norm 0.25", "norm 0.25"]
    i = 0
    for method, thr in configs:
        for s in seeds:
            torch.manual_seed(s)
            m = rnn.TanhRNN(2, H, 1, recurrent_scale=1.5)
            X, y = rnn.adding_problem(steps * B, T, seed=s)
            opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
            norms = []
            for k in range(steps):
                opt.zero_grad()
                nn.functional.mse_loss(m(X[k * B:(k + 1) * B]), y[k * B:(k + 1) * B]).backward()
                limit = thr if method == "norm" else math.inf
                norms.append(float(torch.nn.utils.clip_grad_norm_(m.parameters(), limit)))
                if method == "value":
                    torch.nn.utils.clip_grad_value_(m.parameters(), thr)
                opt.step()
            np.testing.assert_allclose(res.grad_norm[:, i], norms, rtol=1e-4)
            trained = res.model.member(i)
            for p, q in zip(trained.parameters(), m.parameters()):
                torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)
            Xv, yv = rnn.adding_problem(20, T, seed=10**6)
            with torch.no_grad():
                val = float(nn.functional.mse_loss(m(Xv), yv))
            assert res.final_mse[i] == pytest.approx(val, rel=1e-4)
            i += 1
    # cosines: 1 for no clipping and norm clipping, at most 1 for value clipping
    np.testing.assert_allclose(res.cosine[:, :2], 1.0, atol=1e-5)
    np.testing.assert_allclose(res.cosine[:, 4:], 1.0, atol=1e-5)
    assert (res.cosine[:, 2:4] <= 1 + 1e-6).all()


def test_train_adding_marks_and_freezes_diverged_runs_and_tabulates():
    res = ch06.train_adding((("none", None), ("norm", 0.1)), (0,), steps=40, seq_len=10,
                           hidden_size=8, batch_size=8, lr=5.0, momentum=0.0,
                           recurrent_scale=2.0, n_val=10)
    assert res.diverged_step[0] is not None and math.isnan(res.final_mse[0])
    k = res.diverged_step[0]
    assert np.isnan(res.train_loss[k - 1:, 0]).all()
    assert res.diverged_step[1] is None and np.isfinite(res.final_mse[1])
    rows = res.rows()
    assert [r["diverged"] for r in rows] == [1, 0]
    table = res.table()
    assert f"NaN@{k}" in table and "norm 0.1" in table and "1/1" in table


def test_first_step_gradient_equals_autograd_of_torch_rnn():
    out = ch06.first_step_gradient((4, 12), (0.5, 1.5), hidden_size=8, n_samples=16)
    torch.manual_seed(0)
    m = rnn.TanhRNN(2, 8, 1, recurrent_scale=1.5)
    ref, head = _torch_rnn_like(m)
    X, y = rnn.adding_problem(16, 12, seed=0)
    X.requires_grad_(True)
    nn.functional.mse_loss(head(ref(X)[0][:, -1]), y).backward()
    assert out[1.5][1] == pytest.approx(float(X.grad[:, 0].norm()), rel=1e-4)
    assert len(out[0.5]) == 2


def test_single_unit_rnn_gradient_matches_autograd():
    rng = np.random.default_rng(0)
    w = rng.uniform(-6, 10, 50)
    b = rng.uniform(-8, 4, 50)
    for steps in (5, 30):
        tw = torch.tensor(w, dtype=torch.float64, requires_grad=True)
        tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
        x = torch.full_like(tw, 0.5)
        for _ in range(steps):
            x = tw * torch.sigmoid(x) + tb
        loss = (x - 0.7) ** 2
        loss.sum().backward()
        L, gw, gb = ch06.single_unit_rnn_loss(w, b, steps=steps)
        np.testing.assert_allclose(L, loss.detach().numpy(), rtol=1e-9)
        np.testing.assert_allclose(gw, tw.grad.numpy(), rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(gb, tb.grad.numpy(), rtol=1e-6, atol=1e-9)


def test_validation_messages():
    with pytest.raises(ValueError, match=r"seq_len must be in \[2, inf\)"):
        rnn.adding_problem(10, 1)
    with pytest.raises(ValueError, match=r"x must have shape \(batch, time, 2\)"):
        rnn.TanhRNN()(torch.zeros(3, 2))
    with pytest.raises(TypeError, match=r"models\[1\] must be a TanhRNN"):
        rnn.StackedTanhRNN([rnn.TanhRNN(), nn.Linear(2, 2)])
    with pytest.raises(ValueError, match="every model must have the same sizes"):
        rnn.StackedTanhRNN([rnn.TanhRNN(hidden_size=4), rnn.TanhRNN(hidden_size=5)])
    with pytest.raises(ValueError, match=r"x must have shape \(2, batch, time, 2\)"):
        rnn.StackedTanhRNN(_members(2))(torch.zeros(3, 4, 5, 2))
    with pytest.raises(ValueError, match=r"configs\[0\] method must be one of"):
        ch06.train_adding((("l2", 1.0),), (0,))
    with pytest.raises(ValueError, match=r"configs\[1\] threshold must be in \(0.0, inf\)"):
        ch06.train_adding((("none", None), ("norm", 0.0)), (0,))
    with pytest.raises(ValueError, match=r"momentum must be in \[0.0, 1.0\)"):
        ch06.train_adding(momentum=1.0)
    with pytest.raises(ValueError, match=r"norm must be a tensor of shape \(2,\)"):
        rnn.clip_members_([torch.ones(2, 3)], torch.ones(2), torch.ones(3))
    with pytest.raises(ValueError, match="tensors\\[1\\] has 3 members"):
        rnn.member_norms([torch.ones(2, 3), torch.ones(3, 3)])
    with pytest.raises(TypeError, match="w must have a numeric dtype"):
        ch06.single_unit_rnn_loss(["a"], 0.0)


def test_adding_result_per_seed_views_summary_and_label_suffix():
    res = ch06.train_adding((("none", None), ("norm", 0.1)), (0, 1), steps=30, seq_len=10,
                            hidden_size=8, batch_size=8, lr=3.0, momentum=0.0, n_val=50,
                            label_suffix=", lr 3")
    assert res.labels == ["none, lr 3", "none, lr 3", "norm 0.1, lr 3", "norm 0.1, lr 3"]
    rows = {r["method"]: r for r in res.rows()}
    finals = res.finals("norm 0.1, lr 3")
    assert finals.shape == (2,)
    assert [f is None for f in rows["norm 0.1, lr 3"]["final_mse"]] == list(np.isnan(finals))
    assert sum(res.diverged("none, lr 3")) == rows["none, lr 3"]["diverged"]
    frac = res.clipped_fraction("norm 0.1, lr 3", 0.1)
    idx = [i for i, lab in enumerate(res.labels) if lab == "norm 0.1, lr 3"]
    for f, i in zip(frac, idx):
        col = res.grad_norm[:, i]
        assert f == pytest.approx(np.mean(col[np.isfinite(col)] > 0.1))
    text = res.summary()
    assert text.splitlines()[0].split()[:3] == ["method", "diverged", "below"]
    assert len(text.splitlines()) == 4
    with pytest.raises(ValueError, match="label must be one of"):
        res.finals("norm 0.2")
    with pytest.raises(TypeError, match="label_suffix must be a string"):
        ch06.train_adding((("none", None),), (0,), steps=2, label_suffix=3)
