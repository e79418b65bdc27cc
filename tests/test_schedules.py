"""course_utils.scratch.schedules: every schedule against the matching torch.optim.lr_scheduler."""

from bisect import bisect_right

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as L

from course_utils.chapters import ch08_lr_schedules as schedule_experiments
from course_utils.core import data, models, training
from course_utils.scratch import schedules
from course_utils.scratch.schedules import (
    Plateau,
    Scheduler,
    constant,
    cosine_restarts,
    cyclical,
    exponential_decay,
    linear_warmup,
    lr_curve,
    one_cycle,
    piecewise_constant,
    power_schedule,
    reduce_on_plateau,
    step_decay,
)


def torch_lrs(make, n, lr=0.1, metrics=None):
    """lr of a torch scheduler after 0 … n−1 steps (optimizer.step() first: no warning)."""
    opt = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=lr, momentum=0.9)
    sched = make(opt)
    out = []
    for t in range(n):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        if t == n - 1:
            break
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[t])
    return np.array(out)


def ours(fn, n):
    return np.array([fn(t) for t in range(n)])


def assert_same(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("s,c", [(10.0, 1.0), (3.0, 0.5), (50.0, 2.0), (1.0, 0.0)])
def test_power_matches_lambda_lr(s, c):
    n = 120
    ref = torch_lrs(lambda o: L.LambdaLR(o, lambda t: 1 / (1 + t / s) ** c), n, lr=0.3)
    assert_same(ours(lambda t: power_schedule(t, 0.3, s, c), n), ref)


@pytest.mark.parametrize("rate,steps", [(0.1, 100), (0.5, 7), (0.97, 1), (3.0, 50)])
def test_exponential_matches_exponential_lr(rate, steps):
    n = 150
    ref = torch_lrs(lambda o: L.ExponentialLR(o, gamma=rate ** (1 / steps)), n, lr=0.05)
    np.testing.assert_allclose(ours(lambda t: exponential_decay(t, 0.05, rate, steps), n), ref,
                               rtol=1e-10)


def test_exponential_is_multiplied_by_rate_every_decay_steps():
    assert exponential_decay(40, 0.2, 0.1, 20) == pytest.approx(0.2 * 0.01)


@pytest.mark.parametrize("milestones,gamma", [([10, 30], 0.1), ([1], 0.5), ([5, 6, 40], 0.3)])
def test_piecewise_matches_multistep_lr(milestones, gamma):
    n = 60
    values = [0.1 * gamma**k for k in range(len(milestones) + 1)]
    ref = torch_lrs(lambda o: L.MultiStepLR(o, milestones=milestones, gamma=gamma), n)
    assert_same(ours(lambda t: piecewise_constant(t, milestones, values), n), ref)


def test_piecewise_with_arbitrary_values_matches_lambda_lr():
    bounds, values = [5, 12, 20], [0.1, 0.3, 0.02, 0.05]  # not geometric: warm-up, then drops
    ref = torch_lrs(lambda o: L.LambdaLR(o, lambda t: values[bisect_right(bounds, t)] / 0.1), 30)
    assert_same(ours(lambda t: piecewise_constant(t, bounds, values), 30), ref)
    assert piecewise_constant(4, bounds, values) == 0.1
    assert piecewise_constant(5, bounds, values) == 0.3  # step ≥ boundary: the next value


@pytest.mark.parametrize("step_size,gamma", [(10, 0.1), (1, 0.9), (7, 0.5)])
def test_step_decay_matches_step_lr(step_size, gamma):
    ref = torch_lrs(lambda o: L.StepLR(o, step_size=step_size, gamma=gamma), 50)
    assert_same(ours(lambda t: step_decay(t, 0.1, step_size, gamma), 50), ref)


@pytest.mark.parametrize("T_0,T_mult,eta_min", [(10, 1, 0.0), (4, 2, 0.001), (3, 3, 0.01), (1, 2, 0.0)])
def test_cosine_restarts_matches_torch(T_0, T_mult, eta_min):
    n = 200
    ref = torch_lrs(lambda o: L.CosineAnnealingWarmRestarts(o, T_0=T_0, T_mult=T_mult,
                                                            eta_min=eta_min), n)
    assert_same(ours(lambda t: cosine_restarts(t, 0.1, T_0, T_mult, eta_min), n), ref)


def test_cosine_restarts_restarts_at_the_right_steps():
    lrs = ours(lambda t: cosine_restarts(t, 1.0, 2, 2), 15)
    assert [t for t in range(15) if lrs[t] == 1.0] == [0, 2, 6, 14]


@pytest.mark.parametrize("up,down,mode", [(5, None, "triangular"), (4, 9, "triangular"),
                                          (6, 2, "triangular2"), (1, 1, "triangular")])
def test_cyclical_matches_cyclic_lr(up, down, mode):
    n = 80
    ref = torch_lrs(lambda o: L.CyclicLR(o, base_lr=0.01, max_lr=0.2, step_size_up=up,
                                         step_size_down=down, mode=mode, cycle_momentum=False), n)
    np.testing.assert_allclose(ours(lambda t: cyclical(t, 0.01, 0.2, up, down, mode), n), ref,
                               rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("T,f0,f1", [(10, 1 / 3, 1.0), (1, 0.1, 1.0), (25, 0.5, 0.8), (8, 1.0, 0.1)])
def test_linear_warmup_matches_linear_lr(T, f0, f1):
    n = 40
    ref = torch_lrs(lambda o: L.LinearLR(o, start_factor=f0, end_factor=f1, total_iters=T), n)
    np.testing.assert_allclose(ours(lambda t: linear_warmup(t, 0.1, T, f0, f1), n), ref, rtol=1e-12)


ONE_CYCLE_CASES = [
    dict(total_steps=100, max_lr=0.1),
    dict(total_steps=37, max_lr=1.0, pct_start=0.25, div_factor=10.0, final_div_factor=100.0),
    dict(total_steps=7, max_lr=0.5, pct_start=0.3),  # pct_start·N − 1 = 1.1 is not an integer
    dict(total_steps=50, max_lr=0.2, anneal="linear"),
    dict(total_steps=60, max_lr=0.2, three_phase=True),
    dict(total_steps=45, max_lr=3.0, pct_start=0.4, three_phase=True, anneal="linear"),
]


@pytest.mark.parametrize("kw", ONE_CYCLE_CASES)
def test_one_cycle_matches_one_cycle_lr(kw):
    kw = dict(kw)
    anneal = kw.pop("anneal", "cos")
    n = kw["total_steps"] + 1  # the scheduler may be stepped total_steps times
    ref = torch_lrs(lambda o: L.OneCycleLR(o, anneal_strategy=anneal, **kw), n)
    assert_same(ours(lambda t: one_cycle(t, anneal=anneal, **kw), n), ref)


def test_one_cycle_shape():
    lrs = ours(lambda t: one_cycle(t, 100, 1.0), 100)
    assert lrs[0] == pytest.approx(1 / 25)
    assert lrs.max() == pytest.approx(1.0) and int(lrs.argmax()) == 29
    assert lrs[-1] == pytest.approx(1 / 25 / 1e4)


def _plateau_metrics(seed, n=60):
    rng = np.random.default_rng(seed)
    return (1.0 + 3 * np.exp(-np.arange(n) / 6) + 0.05 * rng.standard_normal(n)).tolist()


@pytest.mark.parametrize("kw", [
    dict(),
    dict(factor=0.5, patience=2),
    dict(factor=0.5, patience=0, cooldown=3, min_lr=0.004),
    dict(factor=0.3, patience=1, threshold=0.05, threshold_mode="abs"),
    dict(factor=0.5, patience=1, mode="max"),
    dict(factor=0.2, patience=3, threshold=0.01, mode="max", threshold_mode="abs", cooldown=1),
])
@pytest.mark.parametrize("seed", [0, 1])
def test_plateau_matches_reduce_lr_on_plateau(kw, seed):
    metrics = _plateau_metrics(seed)
    ref = torch_lrs(lambda o: L.ReduceLROnPlateau(o, **kw), len(metrics) + 1, metrics=metrics)
    got = [0.1, *reduce_on_plateau(metrics, 0.1, **kw)]
    assert_same(got, ref)


def test_plateau_reduces_after_patience_bad_epochs():
    lrs = reduce_on_plateau([1.0, 0.9, 0.9, 0.9, 0.9], 1.0, factor=0.5, patience=2)
    assert lrs == [1.0, 1.0, 1.0, 1.0, 0.5]  # 3 bad epochs in a row > patience 2


def test_plateau_example_actually_reduces():
    lrs = reduce_on_plateau(_plateau_metrics(0), 0.1, factor=0.5, patience=2)
    assert len(set(lrs)) >= 3


def test_compare_with_torch_all_match():
    rows = schedule_experiments.compare_with_torch(200)
    assert len(rows) == 9
    assert {r["torch class"] for r in rows} >= {"OneCycleLR", "ReduceLROnPlateau", "CyclicLR"}
    assert all(r["max relative difference"] < 1e-12 for r in rows)


# ---------------------------------------------------------------------------------------
# Driving an optimizer
# ---------------------------------------------------------------------------------------
def _train(make_sched, opt_cls, n_steps=40, **opt_kw):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    groups = [{"params": model[0].parameters()}, {"params": model[2].parameters(), "lr": 0.05}]
    opt = opt_cls(groups, lr=0.1, **opt_kw)
    sched = make_sched(opt)
    X, y = torch.randn(32, 5), torch.randint(0, 2, (32,))
    lrs = []
    for _ in range(n_steps):
        loss = torch.nn.functional.cross_entropy(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        lrs.append([g["lr"] for g in opt.param_groups])
    return np.array(lrs), torch.cat([p.detach().flatten() for p in model.parameters()])


@pytest.mark.parametrize("opt_cls,kw", [(torch.optim.SGD, {"momentum": 0.9}), (torch.optim.Adam, {})])
def test_scheduler_follows_torch_one_cycle_trajectory(opt_cls, kw):
    n = 40
    ref_lrs, ref_params = _train(lambda o: L.OneCycleLR(o, max_lr=[0.5, 0.25], total_steps=n,
                                                        cycle_momentum=False), opt_cls, n, **kw)
    got_lrs, got_params = _train(
        lambda o: Scheduler(o, lambda t: one_cycle(t, n, 0.5), scales=[1.0, 0.5]), opt_cls, n, **kw)
    assert_same(got_lrs, ref_lrs)
    torch.testing.assert_close(got_params, ref_params, rtol=0, atol=0)


def test_scheduler_with_plateau_follows_reduce_lr_on_plateau():
    metrics = _plateau_metrics(3, 30)
    opt_a = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.2)
    opt_b = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.2)
    ref = L.ReduceLROnPlateau(opt_a, factor=0.5, patience=1)
    it = iter(metrics)
    ours_ = Scheduler(opt_b, Plateau(0.2, factor=0.5, patience=1), monitor=lambda: next(it))
    for m in metrics:
        ref.step(m)
        ours_.step()
        assert ours_.get_last_lr() == [opt_a.param_groups[0]["lr"]]
    assert opt_b.param_groups[0]["lr"] < 0.2


def test_scheduler_in_fit_matches_torch_scheduler():
    splits = data.load_digits_data()
    histories = []
    for make in (lambda o, n: L.OneCycleLR(o, max_lr=0.3, total_steps=n, cycle_momentum=False),
                 lambda o, n: Scheduler(o, lambda t: one_cycle(t, n, 0.3))):
        torch.manual_seed(0)
        train, val, _ = splits.loaders(batch_size=64, seed=0)
        model = models.mlp(64, 10, hidden=[32])
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        histories.append(training.fit(model, train, val, epochs=2, optimizer=opt,
                                      scheduler=make(opt, 2 * len(train)), scheduler_step="batch",
                                      progress=False))
    a, b = histories
    assert a.lr == b.lr and a.train_loss == b.train_loss and a.val_acc == b.val_acc


def test_scheduler_plateau_needs_a_metric():
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    sched = Scheduler(opt, Plateau(0.1))
    with pytest.raises(ValueError, match="needs the metric"):
        sched.step()
    sched.step(1.0)
    assert sched.last_step == 2 and sched.get_last_lr() == [0.1]


def test_scheduler_sets_initial_lr_at_construction():
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=123.0)
    Scheduler(opt, lambda t: one_cycle(t, 10, 1.0))
    assert opt.param_groups[0]["lr"] == pytest.approx(1 / 25)


def test_make_schedule_and_lr_curve():
    fn = schedules.make_schedule("step", lr0=0.1, step_size=3, gamma=0.5)
    assert_same(lr_curve(fn, 7), [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025])
    assert lr_curve(lambda t: constant(t, 0.2), 3).tolist() == [0.2, 0.2, 0.2]
    assert set(schedules.SCHEDULES) >= {"power", "exponential", "piecewise constant", "step",
                                        "cosine restarts", "cyclical", "linear warmup", "1cycle"}


# ---------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------
def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="step must be in"):
        exponential_decay(-1, 0.1, 0.5, 10)
    with pytest.raises(TypeError, match="step must be an integer"):
        power_schedule(1.5, 0.1, 10)
    with pytest.raises(ValueError, match="decay_steps must be in"):
        exponential_decay(3, 0.1, 0.5, 0)
    with pytest.raises(ValueError, match="values must have len"):
        piecewise_constant(3, [5, 10], [0.1, 0.01])
    with pytest.raises(ValueError, match="strictly increasing"):
        piecewise_constant(3, [10, 5], [0.1, 0.01, 0.001])
    with pytest.raises(TypeError, match="boundaries must be a list"):
        piecewise_constant(3, 5, [0.1, 0.01])
    with pytest.raises(ValueError, match="pct_start"):
        one_cycle(0, 100, 0.1, pct_start=1.0)
    with pytest.raises(ValueError, match="pct_start · total_steps must be > 1"):
        one_cycle(0, 10, 0.1, pct_start=0.1)
    with pytest.raises(ValueError, match="step must be in \\[0, total_steps=10\\]"):
        one_cycle(11, 10, 0.1)
    with pytest.raises(ValueError, match="mode must be one of"):
        cyclical(0, 0.1, 1.0, 5, mode="sine")
    with pytest.raises(ValueError, match="max_lr must be in"):
        cyclical(0, 0.1, 0.05, 5)
    with pytest.raises(ValueError, match="factor must be in"):
        Plateau(0.1, factor=1.5)
    with pytest.raises(ValueError, match="name must be one of"):
        schedules.make_schedule("cosine", lr0=0.1)
    with pytest.raises(TypeError, match="wrong parameters for the 'step' schedule"):
        schedules.make_schedule("step", lr0=0.1)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(TypeError, match="schedule must be a function"):
        Scheduler(opt, 0.1)
    with pytest.raises(ValueError, match="scales must be a list of 1"):
        Scheduler(opt, lambda t: 0.1, scales=[1.0, 2.0])
    with pytest.raises(TypeError, match="optimizer must be a torch.optim.Optimizer"):
        Scheduler("sgd", lambda t: 0.1)


# ---------------------------------------------------------------------------------------
# Runs, the explorer's compute, toy problems
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", schedule_experiments.RUN_SCHEDULES)
def test_schedule_for_run_peaks_and_floors(kind):
    n, spe, peak, low = 120, 30, 0.8, 0.05
    plan = schedule_experiments.schedule_for_run(kind, peak, n, spe, low)
    if kind == "reduce on plateau":
        assert isinstance(plan, Plateau) and plan.lr == peak and plan.min_lr == pytest.approx(peak * low)
        return
    lrs = lr_curve(plan, n)
    assert lrs.max() == pytest.approx(peak)
    if kind in ("power", "exponential", "piecewise constant", "step", "1cycle"):
        assert lrs[-1] == pytest.approx(peak * low)  # these end at the floor
    if kind in ("cyclical", "linear warmup"):
        assert lrs.min() == pytest.approx(peak * low)  # these touch it
    if kind == "cosine restarts":  # gets within one step of it before each restart
        assert lrs.min() == pytest.approx(peak * low, rel=0.02)


def test_train_with_schedule_records_every_step_and_epoch():
    splits = data.load_digits_data()
    run = schedule_experiments.train_with_schedule("1cycle", splits, 0.5, epochs=2, seed=1)
    steps = 2 * len(splits.loaders(batch_size=32)[0])
    assert len(run.step_lr) == len(run.step_loss) == steps
    assert_same(run.step_lr, lr_curve(lambda t: one_cycle(t, steps, 0.5, final_div_factor=4.0), steps))
    assert len(run.test_acc) == len(run.history.val_acc) == 2 and not run.diverged
    again = schedule_experiments.train_with_schedule("1cycle", splits, 0.5, epochs=2, seed=1)
    assert again.step_loss == run.step_loss  # seeded
    plateau = schedule_experiments.train_with_schedule("reduce on plateau", splits, 0.5, epochs=2, seed=1)
    assert set(plateau.step_lr) <= {0.5, 0.15}  # the rate only changes between epochs
    summary = schedule_experiments.summarize_runs([run, again], epoch=2, target=0.5)
    assert summary["val mean"] == pytest.approx(run.history.val_acc[-1])
    assert summary["val std"] == 0.0 and summary["epochs to target"] == [1, 1]


def test_explorer_compute_and_divergence():
    calls = []
    result = schedule_experiments.explorer_compute("cosine restarts", 0.5, 0.01, 1, progress=calls.append)
    assert not result["diverged"] and result["val_acc"] > 0.5
    assert len(result["loss"]) == result["total_steps"] == len(result["planned_lr"])
    assert calls[-1] == pytest.approx(1.0) and calls == sorted(calls)
    blown = schedule_experiments.explorer_compute("constant", 10.0, 0.01, 1)
    assert blown["diverged"] and blown["val_acc"] is None and len(blown["loss"]) < blown["total_steps"]
    fig = schedule_experiments.explorer_render(blown)
    assert "diverged" in fig.axes[1].get_title()


def test_noisy_quadratic_floor_matches_theory():
    for eta in (0.5, 0.05):
        floor = schedule_experiments.sgd_on_noisy_quadratic(lambda t, eta=eta: eta, 3000, n_runs=400)[-1500:].mean()
        assert floor == pytest.approx(eta / (2 - eta), rel=0.1)
    decaying = schedule_experiments.sgd_on_noisy_quadratic(lambda t: power_schedule(t, 1.0, 1.0), 1000)
    assert decaying[-1] < 0.5 * 0.01 / (2 - 0.01)  # below the floor of the small constant rate


def test_plots_build():
    import matplotlib.pyplot as plt

    fig = schedule_experiments.plot_schedule_gallery(total_steps=60, steps_per_epoch=10)
    assert len([ax for ax in fig.axes if ax.get_visible()]) == len(schedule_experiments.RUN_SCHEDULES)
    plt.close(fig)
    run = schedule_experiments.train_with_schedule("constant", data.load_digits_data(), 0.2, epochs=1)
    ax = schedule_experiments.plot_accuracy_curves({"constant": [run]}, target=0.9)
    assert len(ax.lines) == 2
    plt.close(ax.figure)


def test_explorer_is_registered_and_updates():
    from course_utils.core import explorers

    assert explorers.EXPLORERS["08 lr schedules"] is schedule_experiments.make_explorer
    ex = schedule_experiments.make_explorer()
    first = ex.png
    assert ex.error is None and first and ex.progress_bar.value == 1.0
    ex.controls["epochs"].value = 1
    assert ex.error is None and ex.png != first
