"""course_utils.chapters.ch11_compression: the cached model, the compressions, the table's
helpers, and the explorer (pure compute, slider grids, the values the notebook suggests)."""

import math
import statistics
import time

import numpy as np
import pytest
import torch

from course_utils.chapters import ch11_compression as ch
from course_utils.core import explorers, models
from course_utils.core.explorers import on_grid


@pytest.fixture(scope="module")
def explorer():
    return ch.make_explorer()


def test_base_model_is_cached_and_returned_as_a_copy():
    a = ch.base_model(0)
    with torch.no_grad():
        a[0].weight.zero_()
    b = ch.base_model(0)
    assert float(b[0].weight.detach().abs().sum()) > 0
    assert models.count_parameters(b) == 50_610
    assert ch.accuracy(b) > 0.9
    init = ch.initial_state(0)
    assert not torch.equal(init["0.weight"], b[0].weight)


def test_every_explorer_default_and_suggested_value_is_on_the_grid(explorer):
    for name, control in explorer.controls.items():
        assert on_grid(control, control.value), f"{name}={control.value!r} is off the grid"
    suggested = [("sparsity", 0.9), ("rank", 4), ("rank", 8), ("rank", 32), ("bits", 2),
                 ("bits", 3)] + [("view", v) for v in ch.EXPLORER_VIEWS]
    for name, value in suggested:
        assert on_grid(explorer.controls[name], value), (name, value)
    assert explorer.error is None


def test_explore_compute_is_pure_and_exact_at_the_ends():
    r0 = ch.explore_compute("unstructured", sparsity=0.0, rank=64, bits=8)
    dense = ch.accuracy(ch.base_model(0))
    assert r0["acc"]["unstructured"] == pytest.approx(dense)
    assert r0["acc"]["structured"] == pytest.approx(dense)
    assert r0["acc"]["low rank"] == pytest.approx(dense, abs=0.01)  # rank 64 = full rank
    assert np.array_equal(r0["weight"], r0["original"])
    again = ch.explore_compute("unstructured", sparsity=0.0, rank=64, bits=8)
    assert again["acc"] == r0["acc"]
    r = ch.explore_compute("unstructured", sparsity=0.9, rank=4, bits=2)
    assert (r["weight"] == 0).mean() == pytest.approx(0.9, abs=1e-3)
    assert r["stored"]["low rank"] == 4 * (64 + 300) * 4
    assert r["stored"]["bits"] < r["dense_bytes"] / 10
    lr = ch.explore_compute("low rank", rank=3)
    assert np.linalg.matrix_rank(lr["weight"]) == 3
    st = ch.explore_compute("structured", sparsity=0.5)
    assert int((np.abs(st["weight"]).sum(1) == 0).sum()) == 150


@pytest.mark.parametrize("bad", [{"view": "nope"}, {"sparsity": 1.5}, {"rank": 0}, {"bits": 9}])
def test_explore_compute_validates(bad):
    with pytest.raises((TypeError, ValueError)):
        ch.explore_compute(**bad)


def test_explorer_is_registered_and_fast(explorer):
    assert explorers.EXPLORERS["11 compression"] is ch.make_explorer
    times = []
    for value in (0.5, 0.8, 0.95):
        t0 = time.perf_counter()
        explorer.controls["sparsity"].value = value
        times.append(time.perf_counter() - t0)
    assert explorer.error is None
    assert statistics.median(times) < 0.5  # ≈ 60 ms on a quiet 2-core CPU; generous under load


def test_pareto_front():
    sizes, accs = [10, 5, 5, 20, 1], [0.9, 0.9, 0.95, 0.99, 0.5]
    assert ch.pareto_front(sizes, accs) == [4, 2, 3]


def test_sparse_mlp_computes_the_same_function():
    pruned, _ = ch.prune_unstructured(ch.base_model(0), 0.9)
    X = ch.digits().X_test[:50]
    with torch.no_grad():
        assert torch.allclose(ch.sparse_mlp(pruned)(X), pruned(X), atol=1e-4)


def test_latency_ratios_relative_to_the_first_model():
    m = ch.base_model(0)
    small = ch.structured_run(0, 0.25)["model"]
    r = ch.latency_ratios({"dense": m, "small": small}, ch.digits().X_test, repeats=3, number=2)
    assert r["dense"] == 1.0 and r["small"] > 0


def test_cnns_have_the_counted_parameters_and_macs():
    std, sep = ch.small_cnn(False), ch.small_cnn(True)
    assert models.count_parameters(std) == 14_378 and models.count_parameters(sep) == 2_570
    assert std(torch.zeros(2, 1, 8, 8)).shape == sep(torch.zeros(2, 1, 8, 8)).shape == (2, 10)


def test_casts_and_dynamic_int8_keep_predictions():
    m, X = ch.base_model(0), ch.digits().X_test
    with torch.no_grad():
        ref = m(X).argmax(1)
        assert float((ch.Cast(m, torch.float16)(X).argmax(1) == ref).float().mean()) > 0.99
        assert float((ch.quantized(m, 8)(X).argmax(1) == ref).float().mean()) > 0.99
        dyn = ch.dynamic_int8(m)
        if dyn is not None:
            assert float((dyn(X).argmax(1) == ref).float().mean()) > 0.97


def test_lottery_rounds_reach_the_final_sparsity():
    out = ch.lottery_ticket(0, final_sparsity=0.9, rounds=2, epochs_per_round=1,
                            ticket_epochs=1, lrs=(1e-3,))
    assert math.isclose(out["kept"], 0.1, abs_tol=0.002)
    assert set(out) == {"kept", 1e-3}
