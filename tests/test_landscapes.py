"""course_utils.scratch.landscapes: test functions, trajectories and the explorer's computation."""

import math
import warnings

import numpy as np
import pytest
import torch

from course_utils.chapters import ch07_optimizers as ch07
from course_utils.core import plotting
from course_utils.scratch import landscapes as L
from course_utils.scratch import optim

NAMES = list(L.FUNCTIONS)


@pytest.mark.parametrize("name", NAMES)
def test_analytic_gradient_matches_autograd(name):
    fn = L.FUNCTIONS[name]
    rng = np.random.default_rng(0)
    for _ in range(5):
        x = rng.uniform(*fn.xlim)
        y = rng.uniform(*fn.ylim)
        p = torch.tensor([x, y], dtype=torch.float64, requires_grad=True)
        fn.f(p[0], p[1]).backward()
        assert np.allclose(fn.grad(x, y), p.grad.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", NAMES)
def test_minimum_is_a_stationary_point_with_positive_curvature(name):
    fn = L.FUNCTIONS[name]
    assert np.allclose(fn.grad(*fn.minimum), 0.0, atol=1e-9)
    assert (L.hessian_eigenvalues(name, fn.minimum) > 0).all()
    X, Y, Z = L.landscape_grid(name, 200)
    assert Z.min() >= fn.f_min - 1e-12  # nothing on the plotted grid is lower
    assert Z.shape == (200, 200) and X[0, 0] == fn.xlim[0] and Y[-1, 0] == fn.ylim[1]


def test_quadratic_is_ill_conditioned_along_rotated_axes():
    h = L.hessian("quadratic", (0.3, -0.2))
    vals, vecs = np.linalg.eigh(h)
    assert np.allclose(vals, [1.0, L.KAPPA])
    angle = math.degrees(math.atan2(vecs[1, 0], vecs[0, 0])) % 180
    assert math.isclose(angle, 30.0, abs_tol=1e-9)


def test_saddle_has_curvatures_of_both_signs_at_the_origin():
    lo, hi = L.hessian_eigenvalues("saddle", (0.0, 0.0))
    assert lo < 0 < hi and math.isclose(lo, -1.0) and math.isclose(hi, 2.0)


def test_narrow_well_is_steep_and_the_bowl_is_gentle():
    well = L.hessian_eigenvalues("narrow_well", L.FUNCTIONS["narrow_well"].minimum)
    bowl = L.hessian_eigenvalues("narrow_well", (-0.9, -0.9))
    assert well.min() > 50 * bowl.max()


def test_gradient_descent_path_matches_the_closed_form():
    lr, steps = 0.015, 60
    traj = L.run_trajectory("quadratic", optim.SGD, lr=lr, steps=steps)
    A = L.hessian("quadratic", (0.0, 0.0))
    x = np.array(L.FUNCTIONS["quadratic"].start)
    expected = [x]
    for _ in range(steps):
        x = x - lr * A @ x
        expected.append(x)
    assert np.allclose(traj.path, np.array(expected), atol=1e-12)


@pytest.mark.parametrize("preset", ["Nesterov", "RMSprop", "Adam", "AdaDelta"])
def test_runner_gives_the_same_path_with_torch_optim(preset):
    ours_cls, kwargs = ch07.PRESETS[preset]
    theirs_cls = optim.OPTIMIZERS[ours_cls.__name__][1]
    kw = kwargs(0.01, 0.9, 0.99)
    a = L.run_trajectory("rosenbrock", ours_cls, steps=100, **kw)
    b = L.run_trajectory("rosenbrock", theirs_cls, steps=100, **kw)
    assert np.array_equal(a.path, b.path)


def test_divergence_is_flagged_and_stops_the_run_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        traj = L.run_trajectory("quadratic", optim.SGD, lr=0.03, steps=5000)
    assert traj.diverged and traj.steps < 5000
    assert not L.run_trajectory("quadratic", optim.SGD, lr=0.019, steps=100).diverged


def test_stop_below_ends_where_steps_to_says():
    full = ch07.run_preset("quadratic", "Momentum", 0.01, 0.9, steps=400)
    short = ch07.run_preset("quadratic", "Momentum", 0.01, 0.9, steps=400, stop_below=1e-6)
    k = full.steps_to(1e-6)
    assert k is not None and short.steps == k
    assert np.array_equal(short.path, full.path[: k + 1])


def test_momentum_and_nesterov_need_far_fewer_steps_than_gd():
    steps = {p: ch07.run_preset("quadratic", p, 0.01, 0.9, steps=2000, stop_below=1e-6).steps
             for p in ["GD", "Momentum", "Nesterov"]}
    assert steps["Momentum"] < steps["GD"] / 3 and steps["Nesterov"] < steps["GD"] / 3


def test_effective_lr_of_adagrad_is_lr_over_root_of_summed_squares():
    lr, eps = 0.05, 1e-10
    traj = L.run_trajectory("rosenbrock", optim.Adagrad, lr=lr, eps=eps, steps=50)
    fn = L.FUNCTIONS["rosenbrock"]
    grads = np.stack(fn.grad(traj.path[:-1, 0], traj.path[:-1, 1]), axis=1)
    expected = lr / (np.sqrt(np.cumsum(grads**2, axis=0)) + eps)
    assert np.allclose(traj.effective_lr(), expected, rtol=1e-6)
    dist = traj.distance_to_minimum()
    assert dist[0] == pytest.approx(math.hypot(-1.2 - 1.0, 1.0 - 1.0))


def test_nesterov_with_zero_momentum_is_plain_gd():
    a = ch07.run_preset("saddle", "Nesterov", 0.05, beta1=0.0, steps=50)
    b = ch07.run_preset("saddle", "GD", 0.05, steps=50)
    assert np.array_equal(a.path, b.path)


def test_tune_lr_picks_the_lowest_final_gap():
    lrs = [1e-3, 1e-2, 0.05, 0.5]
    lr, best, runs = ch07.tune_lr("rosenbrock", "Adam", lrs, steps=100)
    gaps = {v: ch07.run_preset("rosenbrock", "Adam", v, steps=100) for v in lrs}
    finite = {v: t.gap[-1] for v, t in gaps.items() if not t.diverged}
    assert lr == min(finite, key=finite.get) and best.gap[-1] == finite[lr]
    assert sorted(runs) == lrs and all(np.array_equal(runs[v].path, gaps[v].path) for v in lrs)


def test_explore_is_pure_and_the_view_redraws_only_what_changed():
    a = ch07.explore("narrow_well", "Momentum", 0.05, 0.9, 0.999)
    b = ch07.explore("narrow_well", "Momentum", 0.05, 0.9, 0.999)
    assert np.array_equal(a["trajectory"].path, b["trajectory"].path)
    view = ch07.ExploreView()
    png_a = plotting.figure_to_png(view(a), dpi=ch07.ExploreView.DPI)
    c = ch07.explore("narrow_well", "Adam", 0.05, 0.9, 0.999)
    png_c = plotting.figure_to_png(view(c), dpi=ch07.ExploreView.DPI)
    assert png_a != png_c and len(view._cache) == 1  # same function: background reused
    assert plotting.figure_to_png(view(a), dpi=ch07.ExploreView.DPI) == png_a  # redrawing is deterministic
    d = ch07.explore("quadratic", "GD", 1.0, 0.9, 0.999)
    assert d["diverged"] and math.isinf(d["final_gap"])
    fig = view(d)  # a diverged run still draws
    assert len(view._cache) == 2
    w, h = fig.get_size_inches() * fig.dpi
    assert (round(w), round(h)) == (round(6.4 * ch07.ExploreView.DPI), round(2.6 * ch07.ExploreView.DPI))


def test_the_view_matches_a_plain_redraw_of_the_same_picture():
    """Blitting must give the same pixels as drawing every artist from scratch."""
    r = ch07.explore("saddle", "RMSprop", 0.05, 0.9, 0.99)
    view = ch07.ExploreView()
    view(r)
    fig, canvas, art, background = view._static("saddle", r["steps_max"])
    pixels_blit = np.asarray(canvas.buffer_rgba()).copy()
    canvas.restore_region(background)
    pixels_background = np.asarray(canvas.buffer_rgba()).copy()
    for artist in art.values():
        artist.set_animated(False)
    canvas.draw()
    pixels_full = np.asarray(canvas.buffer_rgba()).copy()
    drawn = np.mean(pixels_full != pixels_background)  # what the dynamic artists cover
    assert drawn > 0.005
    assert np.mean(pixels_blit != pixels_full) < 0.01 * drawn


def test_explorer_controls_all_change_the_default_picture():
    e = ch07.make_explorer()
    used = ch07.USES[e.controls["optimizer"].value]
    assert set(used) == {"beta1", "beta2"}  # the default optimizer reads both β sliders


@pytest.mark.parametrize("call,exc,match", [
    (lambda: L.get_function("sphere"), ValueError, "function must be one of"),
    (lambda: L.get_function(3), TypeError, "function must be a name"),
    (lambda: L.run_trajectory("saddle", "Adam"), TypeError, "optimizer must be a torch.optim"),
    (lambda: L.run_trajectory("saddle", optim.Adam, steps=0), ValueError, r"steps must be in \[1"),
    (lambda: L.run_trajectory("saddle", optim.Adam, start=(1.0,)), TypeError,
     r"start must be a pair"),
    (lambda: ch07.run_preset("saddle", "Adagrad", 0.1), ValueError, "preset must be one of"),
    (lambda: ch07.run_preset("saddle", "Adam", 0.1, beta1=1.0), ValueError, "beta1 must be in"),
    (lambda: ch07.tune_lr("saddle", "Adam", []), ValueError, "lrs must hold"),
    (lambda: L.hessian("saddle", "origin"), TypeError, "point must be a pair"),
])
def test_bad_arguments_are_named(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_pictures_draw_the_landscape_and_a_path():
    import matplotlib

    matplotlib.use("Agg")
    fig, axes = plotting.new_figure(2)
    ax1, ax2 = axes[0]
    L.plot_landscape("rosenbrock", ax1)
    assert ax1.get_xlim() == L.FUNCTIONS["rosenbrock"].xlim and len(ax1.images) == 1
    t = ch07.run_preset("rosenbrock", "Adam", 0.05, steps=20)
    L.plot_trajectory(t, ax2, label="Adam")
    assert ax2.lines[0].get_label() == "Adam" and len(ax2.lines[0].get_xdata()) == 21
    img = L.landscape_image("saddle")
    assert img.shape == (120, 120) and img.min() >= -16
    assert L.log_gap([1.0, 1.0 + 1e-3], 1.0).tolist() == [-16.0, pytest.approx(-3.0)]
    with pytest.raises(TypeError, match="traj must be a Trajectory"):
        L.plot_trajectory("path", ax2)
