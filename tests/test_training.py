import math

import pytest
import torch
from torch import nn

from course_utils.core import data, models, training


@pytest.fixture(scope="module")
def digits():
    return data.load_digits_data(seed=0)


def _bare_loop(model, splits, epochs, lr, batch_size, seed):
    """What fit must do, written out plainly."""
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    batches = data.Batches(splits.X_train, splits.y_train, batch_size, seed=seed)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        for xb, yb in batches:
            loss = loss_fn(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


def test_fit_equals_a_bare_loop_and_learns(digits):
    torch.manual_seed(0)
    a = models.mlp(64, 10, depth=1, width=32)
    torch.manual_seed(0)
    b = models.mlp(64, 10, depth=1, width=32)
    train, val, _ = digits.loaders(batch_size=32, seed=5)
    h = training.fit(a, train, val, epochs=3, lr=0.1, progress=False)
    _bare_loop(b, digits, 3, 0.1, 32, 5)
    assert all(torch.allclose(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert h.epochs == 3 and len(h.val_acc) == 3 and len(h.lr) == 3
    assert h.train_loss[-1] < h.train_loss[0] and h.val_acc[-1] > 0.85
    assert not h.diverged and h.epochs_to(0.5) == 1 and h.best("val_acc") == max(h.val_acc)


def test_evaluate_matches_manual_and_restores_mode(digits):
    model = models.mlp(64, 10, depth=1, width=16, dropout=0.5)
    model.train()
    loss, acc = training.evaluate(model, (digits.X_val, digits.y_val))
    assert model.training
    model.eval()
    with torch.no_grad():
        out = model(digits.X_val)
    assert math.isclose(loss, nn.functional.cross_entropy(out, digits.y_val).item(), rel_tol=1e-5)
    assert acc == pytest.approx((out.argmax(1) == digits.y_val).double().mean().item())


def test_train_history_matches_the_batches_seen(digits):
    model = models.mlp(64, 10, depth=1, width=16)
    batches = [(digits.X_train[:50], digits.y_train[:50])]
    h = training.fit(model, batches, epochs=1, lr=0.0, progress=False)
    loss, acc = training.evaluate(model, batches[0])
    assert math.isclose(h.train_loss[0], loss, rel_tol=1e-5) and h.train_acc[0] == acc


def test_divergence_stops_cleanly_and_says_so(digits, capsys):
    model = models.mlp(64, 10, depth=4, width=64, init="normal", std=3.0)
    train, val, _ = digits.loaders(32)
    h = training.fit(model, train, val, epochs=5, lr=50.0, progress=False)
    assert h.diverged and h.epochs < 5
    assert "diverged" in capsys.readouterr().out


def test_plug_points_are_called(digits):
    model = models.mlp(64, 10, depth=1, width=16)
    train, val, _ = digits.loaders(batch_size=256)
    calls = {"after_backward": 0, "on_step": []}

    def clip(m):
        calls["after_backward"] += 1
        nn.utils.clip_grad_norm_(m.parameters(), 1.0)

    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    h = training.fit(model, train, val, epochs=3, optimizer=opt, after_backward=clip,
                     scheduler=sched, on_step=lambda info: calls["on_step"].append(info["step"]),
                     progress=False)
    assert calls["after_backward"] == 3 * len(train)
    assert calls["on_step"] == list(range(1, 3 * len(train) + 1))
    assert h.lr == [0.1, 0.05, 0.025]


def test_batch_scheduler_and_plateau_and_early_stop(digits):
    model = models.mlp(64, 10, depth=1, width=16)
    train, val, _ = digits.loaders(batch_size=512)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 / (1 + s))
    h = training.fit(model, train, val, epochs=2, optimizer=opt, scheduler=sched,
                     scheduler_step="batch", progress=False)
    assert math.isclose(h.lr[0], 1.0 / (1 + len(train)))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5)
    h = training.fit(model, train, val, epochs=4, optimizer=opt, scheduler=plateau,
                     early_stop=lambda losses: len(losses) >= 2, progress=False)
    assert h.stopped_early and h.epochs == 2


def test_regression_loss_has_no_accuracy():
    X = torch.randn(64, 3)
    y = X.sum(1, keepdim=True)
    model = models.mlp(3, 1, depth=0)
    h = training.fit(model, [(X, y)], (X, y), epochs=50, lr=0.1, loss_fn=nn.MSELoss(),
                     progress=False)
    assert h.train_acc[0] is None and h.val_acc[0] is None and h.val_loss[-1] < 1e-3


def test_bad_arguments(digits):
    model = models.mlp(64, 10)
    train, _, _ = digits.loaders()
    with pytest.raises(ValueError, match="epochs must be in"):
        training.fit(model, train, epochs=0)
    with pytest.raises(ValueError, match="scheduler_step must be one of"):
        training.fit(model, train, scheduler_step="step")
    with pytest.raises(TypeError, match="optimizer must be a torch.optim.Optimizer"):
        training.fit(model, train, optimizer="adam")
    with pytest.raises(TypeError, match="on_step must be callable"):
        training.fit(model, train, on_step=3)
    with pytest.raises(TypeError, match="model must be an nn.Module"):
        training.fit(lambda x: x, train)
    with pytest.raises(ValueError, match="metric must be one of"):
        training.History().best("accuracy")


def test_any_scheduler_that_needs_a_metric_gets_the_validation_loss(digits):
    class Recorder:
        needs_metric = True

        def __init__(self):
            self.metrics = []

        def step(self, metric=None):
            self.metrics.append(metric)

    model = models.mlp(64, 10, depth=1, width=16)
    train, val, _ = digits.loaders(batch_size=512)
    rec = Recorder()
    h = training.fit(model, train, val, epochs=3, lr=0.1, scheduler=rec, scheduler_step="batch",
                     progress=False)
    assert rec.metrics == h.val_loss


# -- what fit keeps when a run is interrupted, diverges, or gets odd data --------------------

def _small():
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(48, 4, generator=g), torch.arange(48) % 3
    torch.manual_seed(0)
    return models.mlp(4, 3, depth=1, width=8), data.Batches(X, y, 16), (X, y)


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_an_interrupt_or_a_callback_error_keeps_the_finished_epochs(error, capsys):
    model, train, val = _small()

    def stop_in_epoch_3(info):
        if info["epoch"] == 3:
            raise error("stop")

    with pytest.raises(error) as caught:
        training.fit(model, train, val, epochs=5, on_step=stop_in_epoch_3, progress=False)
    history = caught.value.history
    assert history is training.last_history and history.interrupted
    assert history.epochs == 2 and len(history.val_loss) == 2
    assert "2 finished epoch(s)" in history.message
    if error is RuntimeError:
        assert any("exc.history" in note for note in caught.value.__notes__)
    else:
        assert "interrupted by KeyboardInterrupt" in capsys.readouterr().out


def test_last_history_is_the_latest_run():
    model, train, val = _small()
    h = training.fit(model, train, val, epochs=1, progress=False)
    assert training.last_history is h and not h.interrupted


def test_a_one_shot_iterator_works_for_one_epoch_and_is_refused_for_more():
    model, train, _ = _small()
    assert training.fit(model, iter(list(train)), epochs=1, progress=False).epochs == 1
    with pytest.raises(TypeError, match="one-shot iterator"):
        training.fit(model, (b for b in train), epochs=2, progress=False)


def test_divergence_says_whether_the_parameters_are_still_finite_and_can_restore(capsys):
    def poison(info):  # a weight becomes NaN after step 4 (in epoch 2): the next loss is NaN
        if info["step"] == 4:
            with torch.no_grad():
                info["model"][0].weight[0, 0] = float("nan")

    model, train, _ = _small()
    h = training.fit(model, train, epochs=3, lr=0.1, on_step=poison, progress=False)
    assert h.diverged and not h.params_finite and not h.restored
    assert capsys.readouterr().out == "diverged: loss became nan at epoch 2, step 5\n"
    model, train, _ = _small()
    h = training.fit(model, train, epochs=3, lr=0.1, on_step=poison, progress=False,
                     verbose=False, restore_on_divergence=True)
    assert h.diverged and h.restored and h.params_finite and h.epochs == 1
    reference, fresh, _ = _small()  # the state after epoch 1 = one epoch of the same run
    training.fit(reference, fresh, epochs=1, lr=0.1, progress=False)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), reference.parameters()))


def test_valid_runs_are_unchanged_by_restore_on_divergence():
    a, train, val = _small()
    b, _, _ = _small()
    ha = training.fit(a, train, val, epochs=2, progress=False)
    hb = training.fit(b, data.Batches(*val, 16), val, epochs=2, progress=False,
                      restore_on_divergence=True)
    assert ha.params_finite and hb.params_finite and not hb.restored
    assert all(torch.allclose(p, q) for p, q in zip(a.parameters(), b.parameters()))


@pytest.mark.parametrize("kwargs, match", [
    (dict(train=(torch.zeros(4, 4), torch.zeros(4).long())), "not one \\(X, y\\) pair"),
    (dict(loss_fn=nn.CrossEntropyLoss), "CrossEntropyLoss\\(\\) with parentheses"),
    (dict(device="gpu"), "device must be"),
    (dict(train=[(torch.zeros(4, 4).double(), torch.zeros(4).long())]), "X.float\\(\\)"),
    (dict(train=[(torch.zeros(4, 4), torch.zeros(4, dtype=torch.int32))]), "y.long\\(\\)"),
    (dict(train=[(torch.zeros(4, 4), torch.tensor([-1, 1, -1, 1]))]), "0 … C−1"),
])
def test_data_mistakes_get_clear_errors(kwargs, match):
    model, train, _ = _small()
    args = dict(train=train) | kwargs
    with pytest.raises((TypeError, ValueError), match=match):
        training.fit(model, args.pop("train"), epochs=1, progress=False, **args)


def test_an_optimizer_of_another_model_is_refused_but_a_partial_one_is_fine():
    model, train, _ = _small()
    other, _, _ = _small()
    with pytest.raises(ValueError, match="none of this model's parameters"):
        training.fit(model, train, optimizer=torch.optim.SGD(other.parameters(), lr=0.1),
                     progress=False)
    head_only = torch.optim.SGD(model[-1].parameters(), lr=0.1)
    assert training.fit(model, train, optimizer=head_only, epochs=1, progress=False).epochs == 1
