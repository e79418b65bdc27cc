"""Chapter 09's experiments (small settings) and explorers (pure compute, render, grid)."""

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from course_utils.chapters import ch09_regularization as ch
from course_utils.core import data, explorers
from course_utils.core.explorers import on_grid


@pytest.fixture(scope="module")
def digits():
    return data.load_digits_data()


def test_data_size_and_capacity_curves(digits):
    r = ch.data_size_curve(digits, sizes=(20, 200), width=16, steps=60)
    assert r["sizes"] == [20, 200] and r["train"].shape == r["val"].shape == (2,)
    assert r["val"][1] > r["val"][0]
    c = ch.capacity_curve(digits, widths=(1, 32), n_train=100, steps=60)
    assert c["train"][1] > c["train"][0]


def test_penalty_weights_l1_is_sparser(digits):
    l1 = ch.penalty_weights(digits, "l1", 0.005, steps=150)
    none = ch.penalty_weights(digits, "none", 0.0, steps=150)
    assert np.mean(np.abs(l1["weights"]) < 1e-3) > np.mean(np.abs(none["weights"]) < 1e-3) + 0.3
    with pytest.raises(ValueError, match="penalty"):
        ch.penalty_weights(digits, "l3", 0.1)


def test_decay_vs_l2(digits):
    d = ch.decay_vs_l2(digits, steps=30)
    assert d["sgd"] < 1e-5 and d["adam"] < 1e-4 and d["adamw"] > d["adam"]


def test_noisy_label_experiment_shapes(digits):
    r = ch.noisy_label_experiment(digits, seeds=2, steps=40, every=10)
    assert set(r["arms"]) == {"none", "dropout", "early stopping"}
    assert all(v["test"].shape == (2,) for v in r["arms"].values())
    assert r["curves"]["val_loss"].shape == (4, 2)


def test_max_norm_and_mc_and_bagging_small(digits):
    mn = ch.max_norm_experiment(digits, runs=[(0.1, 2.0)], seeds=2, width=16, steps=20)
    assert mn[0.1, 2.0].shape == (2,)
    mc = ch.mc_dropout_regression(p=0.1, seeds=2, steps=30, n_passes=10, n=20)
    assert mc["std"].shape == (2, 161) and mc["ratio"].shape == (2,)
    bag = ch.bagging_experiment(digits, n_bags=2, bag_size=2, width=8, steps=20)
    assert bag["single_acc"].shape == (4,) and bag["bag_acc"].shape == (2,)


def test_augmentation_experiment_small():
    imgs = data.load_digits_data(images=True)
    r = ch.augmentation_experiment(imgs, n_train=50, seeds=2, steps=20)
    assert r["plain"].shape == r["augmented_shifted"].shape == (2,)
    assert r["X_shifted"].shape == (len(imgs.X_test), 64)


def test_imbalance_split_and_metrics(digits):
    imb = ch.imbalanced_digits(digits, positive=3, fraction=0.05)
    for X, y in imb.values():
        assert len(X) == len(y) and 0.03 < y.float().mean() < 0.07
    res = ch.imbalance_experiment(imb, seeds=2, steps=20)
    assert set(res) == {"plain", "class weights", "oversampling", "undersampling", "threshold moving"}
    table = ch.imbalance_metrics(res, imb["test"][1])
    assert table["plain"]["balanced accuracy"].shape == (2,)


# ------------------------------------------------------------------------------ explorers


# every value the notebook's prose suggests trying
SUGGESTED = {"09 overfitting": {"n_train": [20, 400], "l2": [0.0, 0.01, 0.1], "dropout": [0.3]},
             "09 MC dropout": {"p": [0.05, 0.2, 0.5], "n_samples": [5, 200]}}


@pytest.mark.parametrize("name", sorted(SUGGESTED))
def test_explorer_defaults_and_suggestions_are_on_the_grid(name):
    e = explorers.EXPLORERS[name]()
    for key, control in e.controls.items():
        assert on_grid(control, control.value), (key, control.value)
        for v in SUGGESTED[name].get(key, []):
            assert on_grid(control, v), (key, v)


def test_fit_explorer_compute_and_render():
    r = ch.fit_explorer_compute(l2=0.01, dropout=0.2, n_train=40, steps=40)
    assert r["p"].shape == r["xx"].shape and len(r["curve"]["steps"]) == 4
    assert 0 <= r["train_acc"] <= 1 and not r["diverged"]
    assert isinstance(ch.fit_explorer_render(r, {"n_train": 40, "l2": 0.01, "dropout": 0.2}), Figure)
    with pytest.raises(ValueError, match="dropout"):
        ch.fit_explorer_compute(dropout=1.5)


def test_mc_explorer_compute_caches_and_renders():
    seen = []
    r = ch.mc_explorer_compute(p=0.15, n_samples=10, steps=30, progress=seen.append)
    assert seen[-1] == 1.0 and r["std"].shape == (161,)
    again = ch.mc_explorer_compute(p=0.15, n_samples=20, steps=30, progress=seen.append)
    assert np.allclose(again["mean"], r["mean"], atol=1.0)  # same trained net, new passes
    assert isinstance(ch.mc_explorer_render(r, {"p": 0.15, "n_samples": 10}), Figure)
    with pytest.raises(ValueError, match="n_samples"):
        ch.mc_explorer_compute(n_samples=1)


def test_train_parallel_regression_targets():
    x, y = ch.sine_data(30, models=2)
    assert x.shape == y.shape == (2, 30, 1)
    assert torch.all(x.abs() <= 3)
