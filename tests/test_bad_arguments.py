"""A sweep of bad arguments over the public helpers of ``course_utils.core`` and the
from-scratch optimizers: each call must fail with a ``TypeError``/``ValueError`` whose message
names the argument (or what is wrong with it) — never a raw torch/NumPy/scikit-learn error,
and never a silent wrong result.

``classify`` sorts an outcome into clear / unclear / silent; ``python tests/test_bad_arguments.py``
prints the counts (run it against another checkout with PYTHONPATH to compare)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from course_utils.core import data, diagnostics, models, training
from course_utils.scratch import optim


def _xy(n=40, d=4, k=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.arange(n) % k


def _np_xy(n=60, d=3):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, d)), np.arange(n) % 2


def _model(d=4, k=3):
    torch.manual_seed(0)
    return models.mlp(d, k, depth=1, width=8)


def _batches():
    X, y = _xy()
    return data.Batches(X, y, 8)


def _with_nan():
    X, y = _np_xy()
    X[5, 1] = np.nan
    return X, y


def _with_inf():
    X, y = _np_xy()
    X[0, 0] = np.inf
    return X, y


def _fit(**kwargs):
    args = dict(model=_model(), train=_batches(), epochs=1, progress=False)
    args.update(kwargs)
    return training.fit(args.pop("model"), args.pop("train"), **args)


def _other_model_optimizer():
    return torch.optim.SGD(_model().parameters(), lr=0.1)


def _no_backward(fn):
    model = _model()
    return fn(model)


def _params():
    return [nn.Parameter(torch.zeros(3))]


X0, Y0 = _np_xy()

#: (id, call, words of which one must appear in the error message)
CASES = [
    # ---------------------------------------------------------------- data.make_splits
    ("make_splits NaN in X", lambda: data.make_splits(*_with_nan()), ["NaN"]),
    ("make_splits inf in X", lambda: data.make_splits(*_with_inf()), ["inf"]),
    ("make_splits labels -1/+1", lambda: data.make_splits(X0, 2 * Y0 - 1), ["labels"]),
    ("make_splits labels 1-based", lambda: data.make_splits(X0, Y0 + 1), ["labels"]),
    ("make_splits labels with a gap", lambda: data.make_splits(X0, Y0 * 2), ["labels"]),
    ("make_splits one-hot y", lambda: data.make_splits(X0, np.eye(2)[Y0].astype(int)), ["one-hot"]),
    ("make_splits y 2-D", lambda: data.make_splits(X0, Y0[:, None]), ["y must"]),
    ("make_splits y NaN", lambda: data.make_splits(X0, np.where(Y0 > 0, np.nan, 0.5)), ["y"]),
    ("make_splits X 1-D", lambda: data.make_splits(X0[:, 0], Y0), ["X must"]),
    ("make_splits X strings", lambda: data.make_splits([["a", "b"]] * 60, Y0), ["X must"]),
    ("make_splits y strings", lambda: data.make_splits(X0, np.array(["a", "b"] * 30)), ["y must"]),
    ("make_splits length", lambda: data.make_splits(X0, Y0[:-1]), ["same length"]),
    ("make_splits val_size 1.5", lambda: data.make_splits(X0, Y0, val_size=1.5), ["val_size"]),
    ("make_splits test_size -0.1", lambda: data.make_splits(X0, Y0, test_size=-0.1), ["test_size"]),
    ("make_splits sizes sum ≥ 1", lambda: data.make_splits(X0, Y0, val_size=0.5, test_size=0.5),
     ["val_size + test_size"]),
    ("make_splits standardize str", lambda: data.make_splits(X0, Y0, standardize="yes"),
     ["standardize"]),
    ("make_splits seed -1", lambda: data.make_splits(X0, Y0, seed=-1), ["seed"]),
    ("make_splits seed float", lambda: data.make_splits(X0, Y0, seed=0.5), ["seed"]),
    ("make_splits too few samples", lambda: data.make_splits(X0[:3], np.array([0, 1, 2])),
     ["cannot split"]),
    # ---------------------------------------------------------------- loaders
    ("load_digits images str", lambda: data.load_digits_data(images="yes"), ["images"]),
    ("load_digits val_size 1", lambda: data.load_digits_data(val_size=1.0), ["val_size"]),
    ("moons n_samples 0", lambda: data.make_moons_data(0), ["n_samples"]),
    ("moons noise -1", lambda: data.make_moons_data(noise=-1.0), ["noise"]),
    ("moons noise nan", lambda: data.make_moons_data(noise=float("nan")), ["noise"]),
    ("circles factor 1", lambda: data.make_circles_data(factor=1.0), ["factor"]),
    ("circles n_samples str", lambda: data.make_circles_data("600"), ["n_samples"]),
    ("spirals n_classes 1", lambda: data.spirals(n_classes=1), ["n_classes"]),
    ("spirals turns 0", lambda: data.spirals(turns=0.0), ["turns"]),
    ("spirals n_samples 2.5", lambda: data.spirals(2.5), ["n_samples"]),
    ("make_spirals_data bad split kw", lambda: data.make_spirals_data(val_size=2), ["val_size"]),
    ("classification n_classes 1", lambda: data.make_classification_data(n_classes=1),
     ["n_classes"]),
    ("classification n_features 0", lambda: data.make_classification_data(n_features=0),
     ["n_features"]),
    ("draw_shapes size 4", lambda: data.draw_shapes(10, size=4), ["size"]),
    ("draw_shapes noise -1", lambda: data.draw_shapes(10, noise=-1.0), ["noise"]),
    ("make_shapes_data n_samples 0", lambda: data.make_shapes_data(0), ["n_samples"]),
    ("check_splits tuple", lambda: data.check_splits((1, 2)), ["splits"]),
    # ---------------------------------------------------------------- data.Batches
    ("Batches numpy X", lambda: data.Batches(X0, torch.tensor(Y0)), ["X must"]),
    ("Batches list y", lambda: data.Batches(torch.zeros(3, 2), [0, 1, 0]), ["y must"]),
    ("Batches length", lambda: data.Batches(torch.zeros(3, 2), torch.zeros(2)), ["same length"]),
    ("Batches batch_size 0", lambda: data.Batches(*_xy(), batch_size=0), ["batch_size"]),
    ("Batches batch_size float", lambda: data.Batches(*_xy(), batch_size=8.0), ["batch_size"]),
    ("Batches shuffle int", lambda: data.Batches(*_xy(), shuffle=1), ["shuffle"]),
    ("Batches drop_last str", lambda: data.Batches(*_xy(), drop_last="no"), ["drop_last"]),
    ("Splits.loaders batch_size 0",
     lambda: data.make_moons_data(60).loaders(batch_size=0), ["batch_size"]),
    # ---------------------------------------------------------------- training.fit
    ("fit model not a module", lambda: training.fit("model", _batches()), ["model"]),
    ("fit model class", lambda: training.fit(nn.Linear, _batches()), ["model"]),
    ("fit (X, y) pair as train", lambda: _fit(train=_xy()), ["train"]),
    ("fit tensor as train", lambda: _fit(train=torch.zeros(4, 2)), ["train"]),
    ("fit Splits as train", lambda: _fit(train=data.make_moons_data(60)), ["train"]),
    ("fit one-shot iterator", lambda: _fit(train=iter(list(_batches())), epochs=2), ["iterator"]),
    ("fit generator", lambda: _fit(train=(b for b in _batches()), epochs=3), ["iterator"]),
    ("fit empty train", lambda: _fit(train=[]), ["no batches"]),
    ("fit epochs 0", lambda: _fit(epochs=0), ["epochs"]),
    ("fit epochs 1.5", lambda: _fit(epochs=1.5), ["epochs"]),
    ("fit lr -1", lambda: _fit(lr=-1.0), ["lr"]),
    ("fit lr nan", lambda: _fit(lr=float("nan")), ["lr"]),
    ("fit lr str", lambda: _fit(lr="0.1"), ["lr"]),
    ("fit loss_fn class", lambda: _fit(loss_fn=nn.CrossEntropyLoss), ["loss_fn"]),
    ("fit loss_fn str", lambda: _fit(loss_fn="cross_entropy"), ["loss_fn"]),
    ("fit optimizer of another model", lambda: _fit(optimizer=_other_model_optimizer()),
     ["optimizer"]),
    ("fit optimizer class", lambda: _fit(optimizer=torch.optim.SGD), ["optimizer"]),
    ("fit optimizer str", lambda: _fit(optimizer="adam"), ["optimizer"]),
    ("fit scheduler without step", lambda: _fit(scheduler=object()), ["scheduler"]),
    ("fit scheduler_step 'step'", lambda: _fit(scheduler_step="step"), ["scheduler_step"]),
    ("fit after_backward not callable", lambda: _fit(after_backward=3), ["after_backward"]),
    ("fit on_step not callable", lambda: _fit(on_step="x"), ["on_step"]),
    ("fit early_stop not callable", lambda: _fit(early_stop=5), ["early_stop"]),
    ("fit progress str", lambda: _fit(progress="no"), ["progress"]),
    ("fit verbose str", lambda: _fit(verbose="no"), ["verbose"]),
    ("fit device 'gpu'", lambda: _fit(device="gpu"), ["device"]),
    ("fit device cuda (none here)", lambda: _fit(device="cuda") if not torch.cuda.is_available()
     else _fit(device="gpu"), ["device"]),
    ("fit val triple", lambda: _fit(val=(torch.zeros(2, 4), torch.zeros(2), 1)), ["val"]),
    ("fit float64 inputs", lambda: _fit(train=[(torch.randn(8, 4, dtype=torch.float64),
                                                torch.zeros(8, dtype=torch.long))]),
     ["float64"]),
    ("fit int32 labels", lambda: _fit(train=[(torch.randn(8, 4),
                                              torch.zeros(8, dtype=torch.int32))]), ["int32"]),
    ("fit labels -1/+1", lambda: _fit(train=[(torch.randn(8, 4), torch.tensor([-1, 1] * 4))]),
     ["labels"]),
    ("fit restore_on_divergence str", lambda: _fit(restore_on_divergence="yes"),
     ["restore_on_divergence"]),
    # ---------------------------------------------------------------- training.evaluate
    ("evaluate loss_fn class",
     lambda: training.evaluate(_model(), _xy(), loss_fn=nn.CrossEntropyLoss), ["loss_fn"]),
    ("evaluate model str", lambda: training.evaluate("m", _xy()), ["model"]),
    ("evaluate triple", lambda: training.evaluate(_model(), (1, 2, 3)), ["data"]),
    ("evaluate empty", lambda: training.evaluate(_model(), []), ["empty"]),
    ("evaluate device 'gpu'", lambda: training.evaluate(_model(), _xy(), device="gpu"),
     ["device"]),
    ("evaluate float64", lambda: training.evaluate(_model(), (torch.randn(4, 4).double(),
                                                              torch.zeros(4).long())),
     ["float64"]),
    ("History.best metric", lambda: training.History().best("acc"), ["metric"]),
    ("History.epochs_to metric", lambda: training.History().epochs_to(0.9, "accuracy"),
     ["metric"]),
    # ---------------------------------------------------------------- models
    ("get_activation unknown", lambda: models.get_activation("relu6"), ["activation"]),
    ("get_activation int", lambda: models.get_activation(3), ["activation"]),
    ("get_activation negative_slope str",
     lambda: models.get_activation("leaky_relu", negative_slope="x"), ["negative_slope"]),
    ("get_activation negative_slope nan",
     lambda: models.get_activation("leaky_relu", negative_slope=float("nan")), ["negative_slope"]),
    ("get_activation alpha str", lambda: models.get_activation("elu", alpha="1"), ["alpha"]),
    ("get_activation unknown kw", lambda: models.get_activation("relu", slope=0.1), ["slope"]),
    ("get_activation gelu approximate",
     lambda: models.get_activation("gelu", approximate="fast"), ["approximate"]),
    ("get_activation prelu num_parameters 0",
     lambda: models.get_activation("prelu", num_parameters=0), ["num_parameters"]),
    ("mlp in_features 0", lambda: models.mlp(0, 3), ["in_features"]),
    ("mlp out_features str", lambda: models.mlp(4, "3"), ["out_features"]),
    ("mlp depth -1", lambda: models.mlp(4, 3, depth=-1), ["depth"]),
    ("mlp width 0", lambda: models.mlp(4, 3, width=0), ["width"]),
    ("mlp hidden 0", lambda: models.mlp(4, 3, hidden=[8, 0]), ["hidden"]),
    ("mlp activation unknown", lambda: models.mlp(4, 3, activation="relu6"), ["activation"]),
    ("mlp activation_kwargs str value",
     lambda: models.mlp(4, 3, activation="leaky_relu", activation_kwargs={"negative_slope": "x"}),
     ["negative_slope"]),
    ("mlp activation_kwargs list", lambda: models.mlp(4, 3, activation_kwargs=[1]),
     ["activation_kwargs"]),
    ("mlp init unknown", lambda: models.mlp(4, 3, init="glorot"), ["init"]),
    ("mlp dropout 1", lambda: models.mlp(4, 3, dropout=1.0), ["dropout"]),
    ("mlp batch_norm str", lambda: models.mlp(4, 3, batch_norm="yes"), ["batch_norm"]),
    ("mlp gain -1", lambda: models.mlp(4, 3, init="xavier_uniform", gain=-1.0), ["gain"]),
    ("init_layer not a layer", lambda: models.init_layer(nn.ReLU(), "he_normal"), ["layer"]),
    ("init_layer scheme", lambda: models.init_layer(nn.Linear(2, 2), "he"), ["scheme"]),
    ("init_layer std -1", lambda: models.init_layer(nn.Linear(2, 2), "normal", std=-1.0), ["std"]),
    ("init_layer generator int",
     lambda: models.init_layer(nn.Linear(2, 2), "normal", generator=0), ["generator"]),
    ("initialize model str", lambda: models.initialize("m"), ["model"]),
    ("initialize scheme", lambda: models.initialize(_model(), "xavier"), ["scheme"]),
    ("SmallCNN channels 0", lambda: models.SmallCNN(channels=0), ["channels"]),
    ("SmallCNN n_classes str", lambda: models.SmallCNN(n_classes="10"), ["n_classes"]),
    ("SmallCNN flat input", lambda: models.SmallCNN()(torch.zeros(2, 64)), ["SmallCNN"]),
    ("ResidualBlock width 0", lambda: models.ResidualBlock(0), ["width"]),
    ("ResidualBlock scale -1", lambda: models.ResidualBlock(4, scale=-1.0), ["scale"]),
    ("residual_mlp depth 0", lambda: models.residual_mlp(4, 3, depth=0), ["depth"]),
    ("residual_mlp block_layers", lambda: models.residual_mlp(4, 3, depth=4, block_layers=2),
     ["block_layers"]),
    # ---------------------------------------------------------------- diagnostics
    ("gradient_norms before backward", lambda: _no_backward(diagnostics.gradient_norms),
     ["backward"]),
    ("grad_data_ratios before backward", lambda: _no_backward(diagnostics.grad_data_ratios),
     ["backward"]),
    ("gradient_norms not a model", lambda: diagnostics.gradient_norms("m"), ["model"]),
    ("forward_backward loss_fn class",
     lambda: diagnostics.forward_backward(_model(), *_xy(), loss_fn=nn.CrossEntropyLoss),
     ["loss_fn"]),
    ("forward_backward loss_fn str",
     lambda: diagnostics.forward_backward(_model(), *_xy(), loss_fn="ce"), ["loss_fn"]),
    ("saturated_fraction kind", lambda: diagnostics.saturated_fraction(torch.zeros(3), "relu"),
     ["kind"]),
    ("saturated_fraction numpy", lambda: diagnostics.saturated_fraction(np.zeros(3), "tanh"),
     ["h must"]),
    ("saturated_fraction empty", lambda: diagnostics.saturated_fraction(torch.zeros(0), "tanh"),
     ["empty"]),
    ("dead_fraction 1-D", lambda: diagnostics.dead_fraction(torch.zeros(5)), ["h must"]),
    ("dead_fraction int", lambda: diagnostics.dead_fraction(torch.zeros(2, 3, dtype=torch.long)),
     ["floating"]),
    ("layer_stats max_values 0",
     lambda: diagnostics.layer_stats("a", nn.ReLU(), torch.ones(2, 2), max_values=0),
     ["max_values"]),
    ("linear_layers not a model", lambda: diagnostics.linear_layers([nn.Linear(2, 2)]), ["model"]),
    # ---------------------------------------------------------------- from-scratch optimizers
    ("SGD momentum 5", lambda: optim.SGD(_params(), lr=0.1, momentum=5), ["momentum"]),
    ("SGD momentum 1", lambda: optim.SGD(_params(), lr=0.1, momentum=1.0), ["momentum"]),
    ("SGD momentum -0.1", lambda: optim.SGD(_params(), lr=0.1, momentum=-0.1), ["momentum"]),
    ("SGD dampening 2", lambda: optim.SGD(_params(), momentum=0.9, dampening=2.0), ["dampening"]),
    ("SGD lr -1", lambda: optim.SGD(_params(), lr=-1.0), ["lr"]),
    ("SGD lr str", lambda: optim.SGD(_params(), lr="0.1"), ["lr"]),
    ("SGD nesterov without momentum", lambda: optim.SGD(_params(), nesterov=True), ["nesterov"]),
    ("SGD nesterov str", lambda: optim.SGD(_params(), momentum=0.9, nesterov="yes"), ["nesterov"]),
    ("SGD the model itself", lambda: optim.SGD(_model(), lr=0.1), ["params"]),
    ("SGD one tensor", lambda: optim.SGD(nn.Parameter(torch.zeros(2)), lr=0.1), ["params"]),
    ("RMSprop alpha 1.5", lambda: optim.RMSprop(_params(), alpha=1.5), ["alpha"]),
    ("RMSprop momentum 2", lambda: optim.RMSprop(_params(), momentum=2.0), ["momentum"]),
    ("RMSprop eps -1", lambda: optim.RMSprop(_params(), eps=-1.0), ["eps"]),
    ("RMSprop centered int", lambda: optim.RMSprop(_params(), centered=1), ["centered"]),
    ("Adagrad lr_decay -1", lambda: optim.Adagrad(_params(), lr_decay=-1.0), ["lr_decay"]),
    ("Adagrad model", lambda: optim.Adagrad(_model()), ["params"]),
    ("Adadelta rho 1.5", lambda: optim.Adadelta(_params(), rho=1.5), ["rho"]),
    ("Adam betas scalar", lambda: optim.Adam(_params(), betas=0.9), ["betas"]),
    ("Adam beta2 1", lambda: optim.Adam(_params(), betas=(0.9, 1.0)), ["betas"]),
    ("Adam beta1 -0.1", lambda: optim.Adam(_params(), betas=(-0.1, 0.99)), ["betas"]),
    ("Adam weight_decay -1", lambda: optim.Adam(_params(), weight_decay=-1.0), ["weight_decay"]),
    ("Adam amsgrad str", lambda: optim.Adam(_params(), amsgrad="yes"), ["amsgrad"]),
    ("Adam model", lambda: optim.Adam(_model()), ["params"]),
    ("AdamW betas 3", lambda: optim.AdamW(_params(), betas=(0.9, 0.999, 0.1)), ["betas"]),
    ("AdamW lr nan", lambda: optim.AdamW(_params(), lr=math.nan), ["lr"]),
    ("Adamax betas (1.2, 0.9)", lambda: optim.Adamax(_params(), betas=(1.2, 0.9)), ["betas"]),
    ("NAdam momentum_decay -1", lambda: optim.NAdam(_params(), momentum_decay=-1.0),
     ["momentum_decay"]),
]


def classify(call, words) -> tuple[str, str]:
    """('clear' | 'unclear' | 'silent', what happened)."""
    try:
        call()
    except (TypeError, ValueError) as exc:
        text = str(exc)
        if any(w.lower() in text.lower() for w in words):
            return "clear", f"{type(exc).__name__}: {text}"
        return "unclear", f"{type(exc).__name__}: {text}"
    except Exception as exc:  # noqa: BLE001 - a raw error from deep inside
        return "unclear", f"{type(exc).__name__}: {exc}"
    return "silent", "no error"


@pytest.mark.parametrize("case, call, words", CASES, ids=[c[0] for c in CASES])
def test_a_bad_argument_gets_a_clear_error(case, call, words):
    outcome, what = classify(call, words)
    assert outcome == "clear", f"{case}: {what}"


def test_the_sweep_is_broad():
    assert len(CASES) >= 150
    assert len({c[0] for c in CASES}) == len(CASES)


if __name__ == "__main__":
    import collections
    import sys

    counts = collections.Counter()
    for case, call, words in CASES:
        outcome, what = classify(call, words)
        counts[outcome] += 1
        if outcome != "clear" and "-v" in sys.argv:
            print(f"{outcome:8s} {case}: {what[:150]}")
    print(dict(counts), "of", len(CASES))
