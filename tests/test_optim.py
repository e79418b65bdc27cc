"""course_utils.scratch.optim: every from-scratch optimizer follows torch.optim's trajectory.

Two copies of one small network start from the same weights and see the same 100
mini-batches; one is trained by ``course_utils.scratch.optim.X``, the other by ``torch.optim.X``
with the same arguments.  Every parameter must agree within 1e-6 after every step.
"""

import inspect

import numpy as np
import pytest
import torch
from torch import nn

from course_utils.chapters import ch07_optimizers as E
from course_utils.core import data
from course_utils.scratch import optim
from course_utils.scratch.optim import functional as F

STEPS = 100

# (name, kwargs): every option of every optimizer, alone and combined
CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.5)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.8, weight_decay=0.05, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.5, maximize=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
    ("Adagrad", dict(lr=0.05, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.05, initial_accumulator_value=0.3)),
    ("Adagrad", dict(lr=0.05, eps=1e-3)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.5)),
    ("Adadelta", dict(eps=1e-3, weight_decay=0.1)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.005, alpha=0.9, eps=1e-4)),
    ("RMSprop", dict(lr=0.002, momentum=0.9)),
    ("RMSprop", dict(centered=True)),
    ("RMSprop", dict(lr=0.002, centered=True, momentum=0.5, weight_decay=0.1)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, betas=(0.5, 0.9), eps=1e-4)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, amsgrad=True, maximize=True)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.01, weight_decay=0.5, amsgrad=True)),
    ("AdamW", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-4, weight_decay=0.0)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.01, betas=(0.5, 0.9), eps=1e-3)),
    ("Adamax", dict(weight_decay=0.1)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, momentum_decay=0.05, eps=1e-4)),
    ("NAdam", dict(weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, betas=(0.8, 0.99))),
]


def _net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3))


def _batches(steps=STEPS, seed=1):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(steps, 16, 6, generator=g)
    y = torch.randint(0, 3, (steps, 16), generator=g)
    return X, y


def _trajectory(make_optimizer, steps=STEPS, lr_change=None):
    """Flattened parameters after each step; ``make_optimizer(model)`` builds the optimizer."""
    model = _net()
    X, y = _batches(steps)
    opt = make_optimizer(model)
    out = []
    for i in range(steps):
        if lr_change is not None and i == steps // 2:
            for group in opt.param_groups:
                group["lr"] *= lr_change
        loss = nn.functional.cross_entropy(model(X[i]), y[i])
        opt.zero_grad()
        loss.backward()
        opt.step()
        out.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    return torch.stack(out)


def _ids(case):
    name, kw = case
    return name + "(" + ",".join(f"{k}={v}" for k, v in kw.items()) + ")"


@pytest.mark.parametrize("name,kwargs", CASES, ids=[_ids(c) for c in CASES])
def test_trajectory_matches_torch(name, kwargs):
    ours, theirs = optim.OPTIMIZERS[name]
    a = _trajectory(lambda m: ours(m.parameters(), **kwargs))
    b = _trajectory(lambda m: theirs(m.parameters(), **kwargs))
    assert torch.isfinite(a).all()
    moved = (a[-1] - b[0]).abs().max()
    assert moved > 1e-3, "the test network barely moved: the comparison would prove nothing"
    assert (a - b).abs().max() <= 1e-6


def test_every_option_of_every_optimizer_is_exercised():
    for name, (ours, _) in optim.OPTIMIZERS.items():
        options = set(inspect.signature(ours).parameters) - {"params", "maximize"}
        used = set().union(*[kw for n, kw in CASES if n == name])
        assert options <= used | {"lr"}, f"{name}: options never tested: {options - used}"


@pytest.mark.parametrize("name", list(optim.OPTIMIZERS))
def test_arguments_and_defaults_are_pytorchs(name):
    ours, theirs = optim.OPTIMIZERS[name]
    mine = inspect.signature(ours).parameters
    ref = inspect.signature(theirs).parameters
    implementation_switches = {"foreach", "fused", "capturable", "differentiable"}
    assert set(ref) - implementation_switches == set(mine)
    for arg, p in mine.items():
        assert p.default == ref[arg].default, f"{name}({arg}=...) default differs from torch's"


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_param_groups_and_lr_changes_follow_torch(name):
    ours, theirs = optim.OPTIMIZERS[name]

    def groups(cls):
        def make(model):
            return cls([{"params": model[0].parameters(), "lr": 0.02},
                        {"params": model[2].parameters()}], lr=0.005, momentum=0.9) \
                if name != "Adam" else cls([{"params": model[0].parameters(), "lr": 0.02},
                                            {"params": model[2].parameters()}], lr=0.005)
        return make

    a = _trajectory(groups(ours), steps=40, lr_change=0.1)
    b = _trajectory(groups(theirs), steps=40, lr_change=0.1)
    assert (a - b).abs().max() <= 1e-6


def test_step_with_closure_returns_the_loss():
    model = _net()
    X, y = _batches(1)
    opt = optim.Adam(model.parameters())

    def closure():
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(X[0]), y[0])
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert torch.isclose(loss, nn.functional.cross_entropy(_net()(X[0]), y[0]))


def test_state_dict_round_trip_continues_the_same_trajectory():
    X, y = _batches(20)

    def run(model, opt, lo, hi):
        for i in range(lo, hi):
            opt.zero_grad()
            nn.functional.cross_entropy(model(X[i]), y[i]).backward()
            opt.step()

    m1 = _net()
    o1 = optim.NAdam(m1.parameters(), lr=0.01)
    run(m1, o1, 0, 20)
    m2 = _net()
    o2 = optim.NAdam(m2.parameters(), lr=0.01)
    run(m2, o2, 0, 10)
    m3 = _net()
    m3.load_state_dict(m2.state_dict())
    o3 = optim.NAdam(m3.parameters(), lr=0.01)
    o3.load_state_dict(o2.state_dict())
    run(m3, o3, 10, 20)
    for p, q in zip(m1.parameters(), m3.parameters()):
        assert torch.equal(p, q)


def test_parameters_without_grad_are_skipped():
    model = _net()
    before = model[0].weight.detach().clone()
    model[0].weight.requires_grad_(False)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    X, y = _batches(1)
    nn.functional.cross_entropy(model(X[0]), y[0]).backward()
    opt.step()
    assert torch.equal(model[0].weight, before)


def test_sparse_gradients_are_refused_with_a_clear_message():
    emb = nn.Embedding(5, 3, sparse=True)
    emb(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(TypeError, match="dense real tensors"):
        optim.Adam(emb.parameters()).step()


@pytest.mark.parametrize("make,match", [
    (lambda p: optim.SGD(p, lr=-0.1), "lr must be in"),
    (lambda p: optim.SGD(p, lr="fast"), "lr must be a real number"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "nesterov=True needs momentum > 0"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
     "dampening = 0"),
    (lambda p: optim.Adam(p, betas=(0.9, 1.0)), r"betas\[1\] must be in \[0.0, 1.0\)"),
    (lambda p: optim.Adam(p, betas=0.9), "betas must be a pair"),
    (lambda p: optim.AdamW(p, weight_decay=-1), "weight_decay must be in"),
    (lambda p: optim.Adagrad(p, lr_decay=-0.1), "lr_decay must be in"),
    (lambda p: optim.Adadelta(p, rho=1.5), r"rho must be in \[0.0, 1.0\]"),
    (lambda p: optim.RMSprop(p, centered="yes"), "centered must be True or False"),
    (lambda p: optim.NAdam(p, momentum_decay=-1e-3), "momentum_decay must be in"),
    (lambda p: optim.Adamax(p, eps=float("nan")), "eps must be finite"),
])
def test_bad_arguments_are_named(make, match):
    with pytest.raises((TypeError, ValueError), match=match):
        make(_net().parameters())


# ---------------------------------------------------------------- functional single steps

def _torch_steps(cls, kwargs, grads, p0):
    p = p0.clone().requires_grad_(True)
    opt = cls([p], **kwargs)
    out = []
    for g in grads:
        p.grad = g.clone()
        opt.step()
        out.append(p.detach().clone())
    return out


def _grads(n=30, shape=(4, 3), seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g), [torch.randn(shape, generator=g) for _ in range(n)]


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_step_follows_torch_sgd(nesterov):
    p0, grads = _grads()
    ref = _torch_steps(torch.optim.SGD, dict(lr=0.05, momentum=0.8, nesterov=nesterov), grads, p0)
    p, v = p0.clone(), torch.zeros_like(p0)
    for g, r in zip(grads, ref):
        p, v = F.sgd_momentum_step(p, g, v, 0.05, momentum=0.8, nesterov=nesterov)
        assert torch.allclose(p, r, atol=1e-6)


def test_adagrad_step_follows_torch_adagrad():
    p0, grads = _grads()
    ref = _torch_steps(torch.optim.Adagrad, dict(lr=0.1, eps=1e-6), grads, p0)
    p, s = p0.clone(), torch.zeros_like(p0)
    for g, r in zip(grads, ref):
        p, s = F.adagrad_step(p, g, s, lr=0.1, eps=1e-6)
        assert torch.allclose(p, r, atol=1e-6)


def test_rmsprop_step_follows_torch_rmsprop():
    p0, grads = _grads()
    ref = _torch_steps(torch.optim.RMSprop, dict(lr=0.01, alpha=0.9, eps=1e-6), grads, p0)
    p, s = p0.clone(), torch.zeros_like(p0)
    for g, r in zip(grads, ref):
        p, s = F.rmsprop_step(p, g, s, lr=0.01, alpha=0.9, eps=1e-6)
        assert torch.allclose(p, r, atol=1e-6)


def test_adam_step_follows_torch_adam():
    p0, grads = _grads()
    ref = _torch_steps(torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6), grads, p0)
    p, m, v = p0.clone(), torch.zeros_like(p0), torch.zeros_like(p0)
    for t, (g, r) in enumerate(zip(grads, ref), start=1):
        p, m, v = F.adam_step(p, g, m, v, t, lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6)
        assert torch.allclose(p, r, atol=1e-6)


def test_functional_steps_do_not_modify_their_inputs():
    p0, (g, *_) = _grads(1)
    z = torch.zeros_like(p0)
    args = [p0.clone(), g.clone(), z.clone(), z.clone()]
    F.adam_step(*args, 1)
    F.sgd_momentum_step(*args[:3], 0.1)
    F.adagrad_step(*args[:3])
    F.rmsprop_step(*args[:3])
    for a, b in zip(args, [p0, g, z, z]):
        assert torch.equal(a, b)


@pytest.mark.parametrize("call,exc,match", [
    (lambda p, g, s: F.adam_step(p, g, s, s, 0), ValueError, r"t must be in \[1"),
    (lambda p, g, s: F.adam_step(p, g, s, s, 1.0), TypeError, "t must be an integer"),
    (lambda p, g, s: F.adam_step(p, g, s, s, 1, beta2=1.0), ValueError, "beta2 must be in"),
    (lambda p, g, s: F.sgd_momentum_step(p, g[:2], s, 0.1), ValueError, "grad must have the shape"),
    (lambda p, g, s: F.adagrad_step(p, g, s.numpy()), TypeError, "sum_sq must be a torch.Tensor"),
    (lambda p, g, s: F.rmsprop_step(p, g, s, alpha=1.5), ValueError, "alpha must be in"),
    (lambda p, g, s: F.sgd_momentum_step(p, g, s, -1.0), ValueError, "lr must be in"),
])
def test_functional_bad_arguments_are_named(call, exc, match):
    p0, (g, *_) = _grads(1)
    with pytest.raises(exc, match=match):
        call(p0, g, torch.zeros_like(p0))


# ---------------------------------------------------------------- experiments


@pytest.fixture(scope="module")
def digits():
    return data.load_digits_data()


@pytest.mark.parametrize("cls,kwargs,moment", [
    (torch.optim.Adagrad, dict(lr=0.1, lr_decay=0.05), None),
    (torch.optim.RMSprop, dict(lr=0.01, alpha=0.9), None),
    (torch.optim.SGD, dict(lr=0.3), None),
    (torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.9)), "exp_avg"),
    (torch.optim.Adamax, dict(lr=0.01), "exp_avg"),
    (optim.Adam, dict(lr=0.01, amsgrad=True), "exp_avg"),
])
def test_effective_lr_is_the_factor_of_the_last_step(cls, kwargs, moment):
    p0, grads = _grads(5, shape=(7,))
    p = p0.clone().requires_grad_(True)
    opt = cls([p], **kwargs)
    for g in grads:
        before = p.detach().clone()
        p.grad = g.clone()
        opt.step()
    step = p.detach() - before
    direction = g if moment is None else opt.state[p][moment]
    factor = E.effective_lr(opt, reduce="none").float()
    assert torch.allclose(step, -factor * direction, rtol=1e-4, atol=1e-7)
    assert E.effective_lr(opt) == pytest.approx(float(factor.double().median()))


def test_effective_lr_needs_a_first_step():
    with pytest.raises(ValueError, match="no state yet"):
        E.effective_lr(optim.Adam([torch.zeros(2, requires_grad=True)]))
    with pytest.raises(ValueError, match="reduce must be one of"):
        E.effective_lr(optim.SGD([torch.zeros(2, requires_grad=True)]), reduce="sum")


def test_gradient_noise_follows_the_sampling_formula():
    torch.manual_seed(0)
    X, y = torch.randn(40, 3), torch.randint(0, 2, (40,))
    model = nn.Linear(3, 2)
    loss_fn = nn.CrossEntropyLoss()
    per_example = torch.stack([E._flat_grad(model, X[i:i + 1], y[i:i + 1], loss_fn)
                               for i in range(40)])
    full = E._flat_grad(model, X, y, loss_fn)
    sigma2 = ((per_example - full) ** 2).sum(1).mean()
    noise = E.gradient_noise(model, X, y, [5, 40], n_draws=400, seed=1)
    assert noise[40][0] < 1e-5  # the whole set is the full batch
    predicted = float((sigma2 / 5 * 35 / 39).sqrt() / full.norm())
    # the mean of ‖error‖ is a little below the root of its mean square
    assert 0.8 * predicted < noise[5][0] < 1.02 * predicted


def test_weight_norm_counts_weights_not_biases():
    model = _net()
    with torch.no_grad():
        expected = torch.sqrt(model[0].weight.pow(2).sum() + model[2].weight.pow(2).sum())
    assert E.weight_norm(model) == pytest.approx(float(expected))
    assert E.weight_norm(optim.SGD(model.parameters())) == pytest.approx(float(expected))
    with pytest.raises(TypeError, match="model must be an nn.Module or an optimizer"):
        E.weight_norm([1.0])


def test_shrinkage_by_gradient_splits_by_quantile():
    g = torch.arange(1.0, 101.0)
    ref = torch.ones(100)
    w = torch.where(g <= 25, 0.5, 1.0)
    low, high = E.shrinkage_by_gradient(w, ref, g)
    assert low == pytest.approx(0.5) and high == pytest.approx(1.0)
    with pytest.raises(ValueError, match="same shape"):
        E.shrinkage_by_gradient(w, ref[:5], g)


def test_trajectory_gap_zero_for_identical_updates_and_l2_equals_decay_for_sgd(digits):
    same = E.trajectory_gap(digits, (optim.Adam, {}), (torch.optim.Adam, {}), steps=20)
    assert same == 0.0
    sgd = E.trajectory_gap(digits, (optim.SGD, dict(lr=0.1, weight_decay=0.01)),
                           (optim.SGD, dict(lr=0.1)), l2=(0.0, 0.01), steps=20)
    adamw = E.trajectory_gap(digits, (optim.AdamW, dict(lr=0.01, weight_decay=0.01)),
                             (optim.Adam, dict(lr=0.01)), l2=(0.0, 0.01), steps=20)
    assert sgd < 1e-6 < 1e-2 < adamw


def test_compare_optimizers_shares_init_and_batches_per_seed(digits):
    setups = {"a": (optim.Adam, dict(lr=0.01)), "b": (torch.optim.Adam, dict(lr=0.01)),
              "c": (optim.SGD, dict(lr=0.1))}
    res = E.compare_optimizers(digits, setups, seeds=(0, 1), epochs=2, batch_size=128,
                               record=E.weight_norm, every=3, keep_models=True)
    a, b, c = res["a"], res["b"], res["c"]
    assert a[0].history.train_loss == b[0].history.train_loss  # same init, same batches
    assert a[0].history.train_loss != a[1].history.train_loss  # another seed
    assert a[0].history.train_loss[0] != c[0].history.train_loss[0]
    assert len(a[0].record) == a[0].steps // 3 and a[0].model is not None
    rows = E.summarize(res, reference="c")
    assert [r["optimizer"] for r in rows] == ["a", "b", "c"]
    assert rows[2]["relative_time"] == pytest.approx(1.0)
    mean, std = E.mean_curve(a, "val_acc")
    assert mean.shape == (2,) and np.allclose(mean, np.mean([r.history.val_acc for r in a], 0))


def test_first_layer_shrinkage_reads_the_reference_adam_state(digits):
    res = E.compare_optimizers(digits, {"adam": (optim.Adam, dict(lr=0.01)),
                                        "sgd": (optim.SGD, dict(lr=0.1))},
                               seeds=(0,), epochs=1, batch_size=256, keep_models=True)
    ref, sgd = res["adam"][0], res["sgd"][0]
    assert E.first_layer_shrinkage(ref, ref) == (1.0, 1.0)
    w, w_ref = sgd.model[0].weight, ref.model[0].weight
    rms = ref.optimizer.state[w_ref]["exp_avg_sq"].sqrt()
    assert E.first_layer_shrinkage(sgd, ref) == E.shrinkage_by_gradient(w, w_ref, rms)
    with pytest.raises(ValueError, match="Adam-type"):
        E.first_layer_shrinkage(ref, sgd)
    with pytest.raises(TypeError, match="keep_models=True"):
        E.first_layer_shrinkage(ref, "adam")


@pytest.mark.parametrize("call,exc,match", [
    (lambda d: E.compare_optimizers(d, {}), TypeError, "non-empty dict"),
    (lambda d: E.compare_optimizers(d, {"x": (optim.SGD,)}), TypeError, r"optimizers\['x'\]"),
    (lambda d: E.compare_optimizers(d, {"x": (optim.SGD, {})}, epochs=0), ValueError, "epochs"),
    (lambda d: E.compare_optimizers("digits", {"x": (optim.SGD, {})}), TypeError, "splits"),
    (lambda d: E.gradient_noise(_net(), torch.randn(4, 6), torch.zeros(4, dtype=torch.long),
                                [8]), ValueError, r"batch_sizes\[i\] must be in"),
    (lambda d: E.mean_curve([], "val_acc"), ValueError, "runs is empty"),
    (lambda d: E.summarize({}), TypeError, "results must be"),
])
def test_experiment_helpers_name_bad_arguments(digits, call, exc, match):
    with pytest.raises(exc, match=match):
        call(digits)
