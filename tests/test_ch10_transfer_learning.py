"""course_utils.chapters.ch10_transfer_learning: data, pretraining, target runs, explorer."""


import numpy as np
import pytest
import torch

from course_utils.chapters import ch10_transfer_learning as ch
from course_utils.core.explorers import on_grid


@pytest.fixture(scope="module")
def explorer():
    return ch.make_explorer()


def test_every_explorer_default_is_on_its_slider_grid(explorer):
    for name, control in explorer.controls.items():
        assert on_grid(control, control.value), f"{name}={control.value!r} is off the grid"


@pytest.mark.parametrize("name, value", [
    ("per_class", 1), ("source", "autoencoder"), ("source", "digits 0–4"), ("n_frozen", 3),
    ("lr", 1e-1), ("lr", 1e-4), ("lr", ch.LR),
])
def test_values_the_notebook_suggests_are_on_the_grid(explorer, name, value):
    assert on_grid(explorer.controls[name], value)


def test_data_splits_are_disjoint_and_balanced():
    d = ch.load()
    assert d.X_source.shape[1] == d.X_pool.shape[1] == d.X_test.shape[1] == 64
    assert set(d.y_source.tolist()) == set(d.y_pool.tolist()) == set(d.y_test.tolist()) == set(range(5))
    idx = d.labeled_index(3, seed=1)
    assert np.array_equal(idx, d.labeled_index(3, seed=1))
    assert np.bincount(d.y_pool[idx].numpy()).tolist() == [3] * 5
    shifted = ch.load("shifted digits 5–9")
    assert shifted.X_test.shape == d.X_test.shape and not torch.equal(shifted.X_test, d.X_test)
    assert torch.equal(shifted.y_test, d.y_test)


def test_pretrain_fits_the_source_and_is_cached():
    models_, acc = ch.pretrain("digits 0–4", seeds=(0,))
    assert len(models_) == 1 and acc[0] >= 0.98
    assert ch.pretrain("digits 0–4", seeds=(0,))[0][0] is models_[0]
    ae, score = ch.pretrain("autoencoder", seeds=(0,))
    assert 0.5 < score[0] < 1 and ae[0][-1].out_features == ch.N_CLASSES


def test_compare_is_deterministic_and_frozen_layers_do_not_move():
    cfgs = [ch.SCRATCH, ch.FROZEN]
    a = ch.compare(cfgs, 2, seeds=(0,), steps=10)
    b = ch.compare(cfgs, 2, seeds=(0,), steps=10, curve_every=5)
    assert np.array_equal(a["from scratch"], b["from scratch"])
    assert b["curves"]["frozen features"].shape == (1, 2) and b["steps"] == [5, 10]
    assert all(0 <= v <= 1 for v in a["frozen features"])


def test_features_and_separability():
    m = ch.new_model(seed=0)
    d = ch.load()
    F = ch.features(m, d.X_test)
    assert F.shape == (len(d.X_test), ch.HIDDEN[-1]) and bool((F >= 0).all())
    acc = ch.nearest_centroid_accuracy(ch.features(m, d.X_pool), d.y_pool, F, d.y_test)
    assert 0.2 < acc <= 1.0


def test_explore_compute_reports_progress_and_curves():
    seen = []
    r = ch.explore_compute(per_class=2, n_frozen=1, lr=1e-3, source="digits 0–4", steps=12,
                           every=6, progress=seen.append)
    assert r["steps"] == [6, 12] and len(r["transfer"]) == len(r["scratch"]) == 2
    assert seen and seen[-1] == 1.0 and not r["diverged"]
    fig = ch.explore_render(r, {"per_class": 2, "n_frozen": 1, "lr": 1e-3, "source": "digits 0–4"})
    assert fig.axes


@pytest.mark.parametrize("call, err, match", [
    (lambda: ch.load("mnist"), ValueError, "target"),
    (lambda: ch.pretrain("imagenet"), ValueError, "source"),
    (lambda: ch.compare([ch.SCRATCH], 0), ValueError, "per_class"),
    (lambda: ch.compare([ch.SCRATCH], 1, lr=-1.0), ValueError, "lr"),
    (lambda: ch.explore_compute(n_frozen=4), ValueError, "n_frozen"),
    (lambda: ch.explore_compute(source="permuted pixels"), ValueError, "source"),
])
def test_bad_arguments(call, err, match):
    with pytest.raises(err, match=match):
        call()
