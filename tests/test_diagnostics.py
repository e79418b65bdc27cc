"""Diagnostics on tiny models whose numbers are known by hand (closed forms), and their plots."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from course_utils.core import data, diagnostics, models, plotting, training  # noqa: E402
from course_utils.scratch import activations


def _linear_model_and_data(n=6, d=3, k=2):
    """y_hat = W x (no bias); MSE over n·k numbers ⇒ ∂L/∂W = (2/(n·k)) (W Xᵀ − Yᵀ) X."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    Y = torch.randn(n, k, generator=g, dtype=torch.float64)
    model = nn.Linear(d, k, bias=False).double()
    with torch.no_grad():
        model.weight.copy_(torch.randn(k, d, generator=g, dtype=torch.float64))
    W = model.weight.detach().numpy().copy()
    grad = 2.0 / (n * k) * (W @ X.numpy().T - Y.numpy().T) @ X.numpy()
    return model, X, Y, W, grad


def test_gradient_norm_of_a_linear_model_matches_the_closed_form():
    model, X, Y, W, grad = _linear_model_and_data()
    loss, stats, norms = diagnostics.forward_backward(model, X, Y, nn.MSELoss())
    assert loss == pytest.approx(np.mean((X.numpy() @ W.T - Y.numpy()) ** 2))
    assert stats == []  # no activation modules
    assert norms == [pytest.approx(np.linalg.norm(grad), rel=1e-12)]
    assert diagnostics.grad_data_ratios(model) == [pytest.approx(grad.std(ddof=1) / W.std(ddof=1),
                                                                 rel=1e-10)]


def test_forward_backward_zeroes_old_gradients_first():
    model, X, Y, _, grad = _linear_model_and_data()
    diagnostics.forward_backward(model, X, Y, nn.MSELoss())
    _, _, norms = diagnostics.forward_backward(model, X, Y, nn.MSELoss())
    assert norms[0] == pytest.approx(np.linalg.norm(grad), rel=1e-12)


def test_gradient_norms_follow_module_order_and_match_autograd():
    torch.manual_seed(0)
    m = models.residual_mlp(5, 3, depth=3, width=4, activation="tanh")
    X, y = torch.randn(7, 5), torch.randint(0, 3, (7,))
    _, stats, norms = diagnostics.forward_backward(m, X, y)
    linears = [mod for mod in m.modules() if isinstance(mod, nn.Linear)]
    grads = torch.autograd.grad(nn.functional.cross_entropy(m(X), y), [lin.weight for lin in linears])
    assert norms == pytest.approx([float(g.norm()) for g in grads], rel=1e-5)
    assert [s.name for s in stats] == ["1.branch.0", "2.branch.0", "3"]


def test_saturation_and_dead_fractions_of_hand_built_activations():
    h_tanh = torch.tensor([[0.995, 0.5], [-0.999, 0.0]])
    assert diagnostics.saturated_fraction(h_tanh, "tanh") == 0.5
    h_sig = torch.tensor([[0.005, 0.5], [0.995, 0.7]])
    assert diagnostics.saturated_fraction(h_sig, "sigmoid") == 0.5
    # units = columns: 0 never positive, 1 positive once, 2 exactly zero → 2 of 3 dead
    h_relu = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    assert diagnostics.dead_fraction(h_relu) == pytest.approx(2 / 3)
    # conv maps: channel 1 has one positive pixel, channel 0 none → half dead
    maps = torch.zeros(2, 2, 3, 3)
    maps[1, 1, 2, 2] = 0.1
    assert diagnostics.dead_fraction(maps) == 0.5


def test_layer_stats_uses_the_right_notion_per_activation():
    h = torch.tensor([[0.995, 0.5], [-0.999, 0.0]])
    s = diagnostics.layer_stats("t", nn.Tanh(), h)
    assert (s.saturated, s.dead, s.kind) == (0.5, None, "Tanh")
    assert s.mean == pytest.approx(float(h.mean())) and s.std == pytest.approx(float(h.std()))
    r = diagnostics.layer_stats("r", nn.ReLU(), torch.tensor([[0.0, 1.0], [0.0, 2.0]]))
    assert (r.saturated, r.dead) == (None, 0.5)
    i = diagnostics.layer_stats("i", nn.Identity(), h)
    assert (i.saturated, i.dead) == (None, None)
    one = diagnostics.layer_stats("one", nn.Identity(), torch.tensor([[3.0]]))
    assert one.std == 0.0


def test_activation_kind_knows_torch_and_course_modules():
    kinds = [diagnostics.activation_kind(m) for m in
             (nn.Sigmoid(), nn.Tanh(), nn.ReLU(), nn.GELU(), nn.Identity(),
              activations.Sigmoid(), activations.Tanh(), activations.ReLU())]
    assert kinds == ["sigmoid", "tanh", "relu", "relu", None, "sigmoid", "tanh", "relu"]


def test_recorder_matches_a_manual_forward_and_removes_its_hooks():
    torch.manual_seed(0)
    m = models.mlp(4, 2, depth=2, width=5, activation="sigmoid")
    X = torch.randn(9, 4)
    stats = diagnostics.activation_stats(m, X)
    with torch.no_grad():
        h1 = torch.sigmoid(m[0](X))
        h2 = torch.sigmoid(m[2](h1))
    assert [s.mean for s in stats] == pytest.approx([float(h1.mean()), float(h2.mean())])
    assert [s.std for s in stats] == pytest.approx([float(h1.std()), float(h2.std())])
    assert torch.equal(stats[1].values, h2.reshape(-1))
    assert all(not mod._forward_hooks for mod in m.modules())


def test_activation_histograms_equal_numpy_histograms():
    torch.manual_seed(0)
    m = models.mlp(4, 2, depth=3, width=8, activation="tanh")
    stats = diagnostics.activation_stats(m, torch.randn(50, 4))
    counts, edges = diagnostics.activation_histograms(stats, bins=10, value_range=(-1, 1))
    for row, s in zip(counts, stats):
        expected, _ = np.histogram(s.values.numpy(), bins=10, range=(-1, 1))
        assert row == pytest.approx(expected / expected.sum())
    assert edges[0] == -1 and edges[-1] == 1 and counts.shape == (3, 10)


def test_layer_report_rows_and_table():
    torch.manual_seed(0)
    m = models.mlp(4, 3, depth=2, width=5, activation="relu")
    X, y = torch.randn(8, 4), torch.randint(0, 3, (8,))
    rows = diagnostics.layer_report(m, X, y)
    assert [r["layer"] for r in rows] == ["0", "1", "2", "3", "4"]
    assert rows[0]["grad_norm"] == pytest.approx(float(m[0].weight.grad.norm()))
    assert rows[1]["dead"] is not None and "grad_norm" not in rows[1]
    table = diagnostics.format_report(rows)
    assert table.splitlines()[0].split() == ["layer", "kind", "mean", "std", "saturated",
                                             "dead", "grad_norm", "grad_data"]
    assert len(table.splitlines()) == 6


def test_fast_std_equals_torch_std():
    t = torch.randn(300, 7) * 3 + 5
    assert float(diagnostics._std(t)) == pytest.approx(float(t.std()), rel=1e-5)
    assert float(diagnostics._std(torch.tensor([2.0]))) == 0.0


def test_update_ratio_of_plain_sgd_is_lr_times_grad_data_ratio():
    """ΔW = −η g  ⇒  std(ΔW)/std(W) = η · std(g)/std(W)."""
    model, X, Y, W, grad = _linear_model_and_data()
    lr = 0.05
    tracker = diagnostics.UpdateRatioTracker(model)
    training.fit(model, [(X, Y)], epochs=3, lr=lr, loss_fn=nn.MSELoss(), progress=False,
                 **tracker.as_callbacks())
    assert len(tracker.history) == 3
    assert tracker.history[0][0] == pytest.approx(lr * grad.std(ddof=1) / W.std(ddof=1), rel=1e-9)


def _tiny_run(every=1, probe_every=None, batch_norm=False, after_backward=None):
    torch.manual_seed(0)
    splits = data.make_moons_data(120, seed=0)
    m = models.mlp(2, 2, depth=2, width=8, activation="tanh", batch_norm=batch_norm)
    mon = diagnostics.TrainingMonitor(m, probe=splits.X_val, every=every, probe_every=probe_every)
    hist = training.fit(m, data.Batches(splits.X_train, splits.y_train, 16, seed=0), epochs=2,
                        lr=0.1, progress=False, **mon.callbacks(after_backward=after_backward))
    return m, mon, hist, splits


def test_monitor_records_every_step_and_plain_sgd_identity():
    m, mon, hist, splits = _tiny_run()
    n_steps = 2 * len(data.Batches(splits.X_train, splits.y_train, 16))
    assert mon.steps == list(range(1, n_steps + 1))
    assert mon.grad_norms.shape == mon.grad_data.shape == mon.update_data.shape == (n_steps, 3)
    # plain SGD: update:data = lr · grad:data, layer by layer, step by step
    assert mon.update_data == pytest.approx(0.1 * mon.grad_data, rel=1e-3)
    assert len(mon.loss) == n_steps and np.all(np.isfinite(mon.loss))
    assert mon.probe_steps == [0] and mon.act_mean.shape == (1, 2)
    assert np.all(np.isnan(mon.dead)) and np.all(mon.saturated >= 0)


def test_monitor_every_and_probe_every():
    _, mon, _, splits = _tiny_run(every=3, probe_every=4)
    n_steps = 2 * len(data.Batches(splits.X_train, splits.y_train, 16))
    assert n_steps == 10
    assert mon.steps == [3, 6, 9]
    assert mon.probe_steps == [0, 4, 8]
    assert mon.act_std.shape == (3, 2)


def test_monitor_records_gradient_norms_before_your_clipping():
    clip = lambda model: nn.utils.clip_grad_norm_(model.parameters(), 1e-3)
    _, mon, _, _ = _tiny_run(after_backward=clip)
    assert mon.grad_norms.max() > 1e-2  # the raw norms, not the clipped ones


def test_monitor_probe_restores_mode_and_leaves_batchnorm_statistics_alone():
    torch.manual_seed(0)
    m = models.mlp(2, 2, depth=1, width=4, batch_norm=True)
    mon = diagnostics.TrainingMonitor(m, probe=torch.randn(10, 2))
    before = m[1].running_mean.clone()
    m.train()
    mon.record_probe(5)
    assert m.training and torch.equal(m[1].running_mean, before)
    assert mon.probe_steps == [0, 5]


def test_diagnostics_validate_their_arguments():
    with pytest.raises(TypeError, match="model must be an nn.Module"):
        diagnostics.linear_layers("net")
    with pytest.raises(ValueError, match="kind must be one of 'sigmoid', 'tanh'"):
        diagnostics.saturated_fraction(torch.zeros(2, 2), "relu")
    with pytest.raises(ValueError, match="h must have shape"):
        diagnostics.dead_fraction(torch.zeros(3))
    with pytest.raises(ValueError, match="X and y must have the same length"):
        diagnostics.forward_backward(nn.Linear(2, 2), torch.zeros(3, 2), torch.zeros(2))
    with pytest.raises(TypeError, match="loss_fn must be callable"):
        diagnostics.forward_backward(nn.Linear(2, 2), torch.zeros(3, 2), torch.zeros(3), "mse")
    with pytest.raises(ValueError, match="probe_every needs a probe"):
        diagnostics.TrainingMonitor(nn.Linear(2, 2), probe_every=5)
    with pytest.raises(ValueError, match="every must be in"):
        diagnostics.TrainingMonitor(nn.Linear(2, 2), every=0)
    with pytest.raises(TypeError, match="stats must be a non-empty list of LayerStats"):
        diagnostics.activation_histograms([])
    with pytest.raises(RuntimeError, match="call before_step"):
        diagnostics.UpdateRatioTracker(nn.Linear(2, 2)).after_step()


# -- diagnostic plots ---------------------------------------------------------------------------

def test_diagnostic_plots_draw_what_they_are_given():
    torch.manual_seed(0)
    m = models.mlp(4, 2, depth=3, width=8, activation="sigmoid")
    stats = diagnostics.activation_stats(m, torch.randn(30, 4))
    ax = plotting.plot_layer_histograms(stats)
    assert len(ax.lines) == 3 and "sat." in ax.get_legend().get_texts()[0].get_text()
    ax = plotting.plot_layer_norms({"a": [1e-3, 1e-2, 0.0], "b": [1, 2, 3]})
    assert ax.get_yscale() == "log" and len(ax.lines) == 2
    assert len(ax.lines[0].get_xdata()) == 2  # the zero is left out ...
    assert "1 not shown" in ax.get_legend().get_texts()[0].get_text()  # ... and said so
    ax = plotting.plot_over_steps([1, 2, 3, 4], np.outer([1, 2, 3, 4], [1e-3, 2e-3, 3e-3]), reference=1e-3,
                                 smooth=2)
    assert len(ax.lines) == 4 and len(ax.lines[0].get_xdata()) == 3
    plt.close("all")


def test_new_figure_and_plot_validation():
    fig, axes = plotting.new_figure(2)
    assert axes.shape == (1, 2) and len(fig.axes) == 2 and fig.get_layout_engine() is None
    with pytest.raises(ValueError, match="margins must be a dict"):
        plotting.new_figure(margins={"middle": 0.5})
    with pytest.raises(ValueError, match="values must have shape"):
        plotting.plot_over_steps([1, 2], np.ones((3, 2)))
    with pytest.raises(TypeError, match="stats must be a non-empty list"):
        plotting.plot_layer_histograms([1, 2])
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        plotting.plot_layer_norms([1, 2], ax="left")
    plt.close("all")


def test_gradient_norms_refuse_a_model_without_any_gradient():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    for fn in (diagnostics.gradient_norms, diagnostics.grad_data_ratios):
        with pytest.raises(ValueError, match="no layer has a gradient yet"):
            fn(model)
    model[2].weight.requires_grad_(False)  # a frozen layer still reports 0.0
    model(torch.randn(5, 3)).sum().backward()
    norms = diagnostics.gradient_norms(model)
    assert norms[0] > 0 and norms[1] == 0.0


def test_a_loss_class_instead_of_an_instance_is_named():
    model = nn.Sequential(nn.Linear(3, 2))
    with pytest.raises(TypeError, match="CrossEntropyLoss\\(\\) with parentheses"):
        diagnostics.forward_backward(model, torch.randn(4, 3), torch.zeros(4).long(),
                                     loss_fn=nn.CrossEntropyLoss)
