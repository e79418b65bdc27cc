"""course_utils.scratch.clipping against torch.nn.utils.clip_grad_value_ / clip_grad_norm_."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_utils.chapters import ch06_gradient_clipping as ch06
from course_utils.core import explorers, plotting, training
from course_utils.core.explorers import on_grid
from course_utils.scratch import clipping


def _grads(seed=0, scales=(3.0, 0.05, 1.0), dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    shapes = [(4, 5), (7,), (2, 3, 2)]
    return [torch.randn(*s, generator=g, dtype=dtype) * k for s, k in zip(shapes, scales)]


def _torch_clip(grads, method, threshold):
    """Apply PyTorch's in-place clipping to Parameter copies; return (grads, total)."""
    params = [nn.Parameter(torch.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    total = None
    if method == "value":
        torch.nn.utils.clip_grad_value_(params, threshold)
    else:
        total = torch.nn.utils.clip_grad_norm_(params, threshold)
    return [p.grad for p in params], total


@pytest.mark.parametrize("clip_value", [0.01, 0.5, 2.0, 100.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_clip_by_value_equals_clip_grad_value(seed, clip_value):
    grads = _grads(seed)
    before = [g.clone() for g in grads]
    ours = clipping.clip_by_value(grads, clip_value)
    theirs, _ = _torch_clip(grads, "value", clip_value)
    for a, b in zip(ours, theirs):
        assert torch.equal(a, b)
    for g, b in zip(grads, before):  # inputs untouched
        assert torch.equal(g, b)


@pytest.mark.parametrize("max_norm", [0.1, 1.0, 3.0, 1e4])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_clip_by_norm_equals_clip_grad_norm(max_norm, dtype):
    grads = _grads(2, dtype=dtype)
    before = [g.clone() for g in grads]
    ours, total = clipping.clip_by_norm(grads, max_norm)
    theirs, t_total = _torch_clip(grads, "norm", max_norm)
    assert torch.allclose(total, t_total.to(total.dtype), rtol=1e-6, atol=0)
    for a, b in zip(ours, theirs):
        assert a.dtype == dtype
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
    for g, b in zip(grads, before):
        assert torch.equal(g, b)


def test_clip_by_norm_below_threshold_is_unchanged_and_above_has_norm_max_norm():
    grads = _grads(3)
    total = float(clipping.global_norm(grads))
    same, _ = clipping.clip_by_norm(grads, total * 2)
    for a, b in zip(same, grads):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=0)
    small, _ = clipping.clip_by_norm(grads, total / 10)
    assert float(clipping.global_norm(small)) == pytest.approx(total / 10, rel=1e-5)


def test_global_norm_equals_norm_of_the_concatenated_vector():
    grads = _grads(4)
    flat = torch.cat([g.reshape(-1) for g in grads])
    torch.testing.assert_close(clipping.global_norm(grads), torch.linalg.vector_norm(flat))
    assert float(clipping.global_norm([])) == 0.0


def test_per_tensor_clipping_equals_clip_grad_norm_on_each_tensor():
    grads = _grads(5)
    ours, norms = clipping.clip_by_norm_per_tensor(grads, 0.5)
    for a, g, n in zip(ours, grads, norms):
        (b,), t = _torch_clip([g], "norm", 0.5)
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
        assert n == pytest.approx(float(t), rel=1e-6)


def test_norm_keeps_direction_value_and_per_tensor_do_not():
    grads = _grads(6)  # tensors of very different sizes
    flat = torch.cat([g.reshape(-1) for g in grads])

    def cos_torch(clipped):
        return float(F.cosine_similarity(flat, torch.cat([c.reshape(-1) for c in clipped]), dim=0))

    by_norm = clipping.clip_by_norm(grads, 0.5)[0]
    by_value = clipping.clip_by_value(grads, 0.5)
    per_tensor = clipping.clip_by_norm_per_tensor(grads, 0.5)[0]
    assert clipping.cosine_similarity(grads, by_norm) == pytest.approx(1.0, abs=1e-6)
    for clipped in (by_norm, by_value, per_tensor):
        assert clipping.cosine_similarity(grads, clipped) == pytest.approx(cos_torch(clipped),
                                                                           abs=1e-6)
    assert clipping.cosine_similarity(grads, by_value) < 0.99
    assert clipping.cosine_similarity(grads, per_tensor) < 0.99


def test_clip_dispatches_to_each_method():
    grads = _grads(7)
    assert all(torch.equal(a, b) for a, b in zip(clipping.clip(grads, "none"), grads))
    for method, expected in (("value", clipping.clip_by_value(grads, 0.3)),
                             ("norm", clipping.clip_by_norm(grads, 0.3)[0]),
                             ("per_tensor", clipping.clip_by_norm_per_tensor(grads, 0.3)[0])):
        assert all(torch.equal(a, b) for a, b in zip(clipping.clip(grads, method, 0.3), expected))


def _model_with_grads(seed=0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
    X, y = torch.randn(16, 5) * 4, torch.randint(0, 3, (16,))
    nn.functional.cross_entropy(model(X), y).backward()
    return model


@pytest.mark.parametrize("method,threshold", [("norm", 0.05), ("value", 0.01), ("none", None)])
def test_clip_gradients_in_place_equals_torch(method, threshold):
    a, b = _model_with_grads(), _model_with_grads()
    pre = clipping.clip_gradients_(a, method, threshold)
    if method == "norm":
        t_pre = torch.nn.utils.clip_grad_norm_(b.parameters(), threshold)
    else:
        t_pre = torch.nn.utils.clip_grad_norm_(b.parameters(), math.inf)
        if method == "value":
            torch.nn.utils.clip_grad_value_(b.parameters(), threshold)
    assert pre == pytest.approx(float(t_pre), rel=1e-6)
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-6, atol=1e-7)


def test_clip_hook_in_fit_equals_a_manual_loop_with_clip_grad_norm():
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(64, 5, generator=g) * 3, torch.randint(0, 3, (64,), generator=g)
    batches = [(X[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16)]

    torch.manual_seed(1)
    a = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
    b = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
    b.load_state_dict(a.state_dict())
    hook = clipping.make_clip_hook("norm", 0.1)
    training.fit(a, batches, epochs=2, lr=0.5, after_backward=hook, progress=False)

    opt = torch.optim.SGD(b.parameters(), lr=0.5)
    norms = []
    for _ in range(2):
        for xb, yb in batches:
            opt.zero_grad()
            nn.functional.cross_entropy(b(xb), yb).backward()
            norms.append(float(torch.nn.utils.clip_grad_norm_(b.parameters(), 0.1)))
            opt.step()
    assert hook.norms == pytest.approx(norms, rel=1e-5)
    assert hook.clipped == [n > 0.1 for n in norms]
    assert hook.clipped_fraction == pytest.approx(np.mean([n > 0.1 for n in norms]))
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_clip_hook_value_flags_and_none_only_records():
    model = _model_with_grads()
    grads = [p.grad.clone() for p in model.parameters()]
    rec = clipping.ClipHook("none")
    rec(model)
    assert rec.norms[0] == pytest.approx(float(clipping.global_norm(grads)), rel=1e-6)
    assert all(torch.equal(p.grad, g) for p, g in zip(model.parameters(), grads))
    big = max(float(g.abs().max()) for g in grads)
    hook = clipping.ClipHook("value", big * 2)
    hook(model)
    hook_small = clipping.ClipHook("value", big / 2)
    hook_small(model)
    assert hook.clipped == [False] and hook_small.clipped == [True]
    assert "steps=1" in repr(hook)


def test_norm_statistics_match_numpy():
    rng = np.random.default_rng(0)
    norms = list(rng.lognormal(0, 1, 500)) + [math.inf, math.nan]
    stats = clipping.norm_statistics(norms)
    finite = np.array(norms[:500])
    assert stats["median"] == pytest.approx(np.median(finite))
    assert stats["p90"] == pytest.approx(np.percentile(finite, 90))
    assert stats["max"] == pytest.approx(finite.max())
    assert stats["n"] == 500 and stats["non_finite"] == 2


def test_cliff_gradient_matches_autograd():
    rng = np.random.default_rng(1)
    w = rng.uniform([-8, -5], [4, 5], size=(200, 2))
    w = np.vstack([w, [[1.0, 0.0], [0.9, 0.1], [1.02, -0.05]]])  # on the wall
    c = ch06.CLIFF
    t = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    u = c["steepness"] * (t[:, 0] + c["tilt"] * t[:, 1] - c["offset"])
    loss = 0.5 * (c["curv1"] * (t[:, 0] - c["center1"]) ** 2 + c["curv2"] * t[:, 1] ** 2) \
        + c["height"] * torch.sigmoid(u)
    loss.sum().backward()
    L, g1, g2 = ch06.cliff_loss(w[:, 0], w[:, 1])
    np.testing.assert_allclose(L, loss.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(np.c_[g1, g2], t.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_descend_without_clipping_is_plain_gradient_descent():
    tr = ch06.descend(ch06.cliff_loss, (-6.0, 3.0), lr=0.1, steps=20, method="none")
    w = np.array([-6.0, 3.0])
    for k in range(20):
        _, g1, g2 = ch06.cliff_loss(*w)
        w = w - 0.1 * np.array([g1, g2])
        np.testing.assert_allclose(tr.points[k + 1], w, rtol=1e-12)
    assert len(tr.losses) == 21 and not tr.diverged


def test_descend_with_clipping_bounds_every_step():
    lr, tau = 0.6, 1.0
    by_norm = ch06.descend(lr=lr, steps=80, method="norm", threshold=tau)
    by_value = ch06.descend(lr=lr, steps=80, method="value", threshold=tau)
    none = ch06.descend(lr=lr, steps=80, method="none")
    steps_norm = np.linalg.norm(np.diff(by_norm.points, axis=0), axis=1)
    steps_value = np.abs(np.diff(by_value.points, axis=0))
    assert steps_norm.max() <= lr * tau * (1 + 1e-6)
    assert steps_value.max() <= lr * tau * (1 + 1e-9)
    # on the wall the raw gradient is large: the unclipped step is far longer
    assert none.grad_norms.max() > 10 * tau
    assert none.longest_step > 10 * by_norm.longest_step


def test_descend_reports_divergence():
    def blows_up(w1, w2):
        return np.inf, np.inf, 0.0
    tr = ch06.descend(blows_up, (0.0, 0.0), lr=0.1, steps=5)
    assert tr.diverged and len(tr.points) == 1


def test_clip_2d_vectors_norms_and_cosines():
    r = ch06.clip_2d(4.0, 1.0, 1.5)
    np.testing.assert_allclose(r["value"], [1.5, 1.0])
    np.testing.assert_allclose(r["norm"], np.array([4.0, 1.0]) * 1.5 / (math.hypot(4, 1) + 1e-6))
    expected_cos = (4 * 1.5 + 1 * 1.0) / (math.hypot(4, 1) * math.hypot(1.5, 1.0))
    assert r["cos_value"] == pytest.approx(expected_cos, abs=1e-9)
    assert r["cos_norm"] == pytest.approx(1.0, abs=1e-12)
    assert r["norm_norm"] == pytest.approx(1.5, rel=1e-6)
    # a diagonal gradient keeps its direction under value clipping too
    assert ch06.clip_2d(3.0, 3.0, 1.0)["cos_value"] == pytest.approx(1.0, abs=1e-12)
    assert ch06.clip_2d(0.0, 0.0, 1.0)["cos_value"] == 1.0


def test_cliff_runs_and_renders():
    runs = ch06.cliff_runs(lr=0.6, threshold=1.0, steps=40)
    assert set(runs) == {"none", "value", "norm"}
    assert runs["none"].longest_step > runs["norm"].longest_step
    fig = ch06.render_cliff_runs(runs, {})
    assert len(fig.axes[0].lines) >= 3
    assert plotting.figure_to_png(ch06.render_clip_2d(ch06.clip_2d(1, 2, 1)))


def test_explorers_are_registered():
    # tests/test_explorers.py drives every registered explorer to its extremes
    for name, factory in (("06 clip a 2-D gradient", ch06.make_clip_explorer),
                          ("06 cliff trajectory", ch06.make_cliff_explorer)):
        assert explorers.EXPLORERS[name] is factory


def test_validation_messages():
    with pytest.raises(TypeError, match="grads must be a list or tuple of torch tensors"):
        clipping.clip_by_value(torch.ones(3), 1.0)
    with pytest.raises(TypeError, match=r"grads\[1\] must be a torch.Tensor"):
        clipping.clip_by_norm([torch.ones(2), [1.0]], 1.0)
    with pytest.raises(TypeError, match=r"grads\[0\] must be a floating-point tensor"):
        clipping.global_norm([torch.ones(2, dtype=torch.long)])
    with pytest.raises(ValueError, match=r"clip_value must be in \(0.0, inf\)"):
        clipping.clip_by_value([torch.ones(2)], 0.0)
    with pytest.raises(ValueError, match=r"max_norm must be in \(0.0, inf\)"):
        clipping.clip_by_norm([torch.ones(2)], -1.0)
    with pytest.raises(ValueError, match="method must be one of"):
        clipping.clip([torch.ones(2)], "l1", 1.0)
    with pytest.raises(ValueError, match="threshold is required"):
        clipping.ClipHook("norm", None)
    with pytest.raises(ValueError, match="same shapes"):
        clipping.cosine_similarity([torch.ones(2)], [torch.ones(3)])
    with pytest.raises(ValueError, match="start must be 2 finite numbers"):
        ch06.descend(start=(1.0, 2.0, 3.0))
    with pytest.raises(TypeError, match="parameters must be an nn.Module or an iterable"):
        clipping.clip_gradients_(3, "norm", 1.0)
    with pytest.raises(ValueError, match="norms must not be empty"):
        clipping.norm_statistics([])
    with pytest.raises(TypeError, match="w1 must have a numeric dtype"):
        ch06.cliff_loss("x", 0.0)




def test_cliff_explorer_defaults_and_suggested_values_are_on_the_slider_grid():
    e = ch06.make_cliff_explorer()
    for name, key in (("lr", "lr"), ("steps", "steps")):
        w = e.controls[name]
        assert on_grid(w) and (w.min, w.max, w.step, w.value) == ch06.CLIFF_SLIDERS[key]
    t = e.controls["threshold"]
    assert on_grid(t)
    lo, hi, step, _ = ch06.CLIFF_SLIDERS["lr"]
    assert all(lo <= v <= hi and on_grid(e.controls['lr'], v) for v in ch06.CLIFF_SUGGESTED["lr"])
    lo, hi, step, _ = ch06.CLIFF_SLIDERS["log10_threshold"]
    assert all(lo <= math.log10(v) <= hi and on_grid(t, v)
               for v in ch06.CLIFF_SUGGESTED["threshold"])
    # the 2-D clipping explorer too
    c = ch06.make_clip_explorer()
    assert all(on_grid(w) for w in c.controls.values())


def test_cliff_render_has_a_loss_per_step_panel():
    fig = ch06.render_cliff_runs(ch06.cliff_runs(lr=0.6, threshold=1.0, steps=20), {})
    assert len(fig.axes) == 2 and len(fig.axes[1].lines) == 3
    assert fig.axes[1].get_yscale() == "log"
