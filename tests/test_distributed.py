"""scratch.distributed: the simulated and the real ring all-reduce against torch, the
launcher (results, failures, timeouts, parallel launches), the ZeRO memory formulas."""

import os
import time

import pytest
import torch
import torch.distributed as dist

from course_utils.scratch import distributed as D


@pytest.mark.parametrize("w, shape", [(1, (5,)), (2, (7,)), (3, (4, 5)), (4, (3,)), (5, (2, 3, 4))])
def test_ring_allreduce_equals_the_sum_and_leaves_inputs_alone(w, shape):
    g = torch.Generator().manual_seed(w)
    xs = [torch.randn(shape, generator=g) for _ in range(w)]
    before = [x.clone() for x in xs]
    log = []
    out = D.ring_allreduce(xs, log=log)
    assert len(out) == w
    for o in out:
        torch.testing.assert_close(o, torch.stack(before).sum(0))
    assert all(torch.equal(a, b) for a, b in zip(xs, before))
    assert len(log) == 2 * (w - 1) * w
    # each worker only ever receives from its left neighbour
    assert all(dst == (src + 1) % w for _, _, src, dst, _ in log)


def test_chunk_bounds_follow_tensor_split():
    for n in range(0, 13):
        for w in range(1, 6):
            sizes = [len(c) for c in torch.tensor_split(torch.arange(n), w)]
            assert [b - a for a, b in D.chunk_bounds(n, w)] == sizes


def test_ring_volume_formula():
    assert D.ring_volume(1000, 1) == 0
    assert D.ring_volume(1000, 2) == 1000
    assert D.ring_volume(1000, 4) == 1500


def test_ring_rejects_bad_inputs():
    with pytest.raises(TypeError, match="non-empty list"):
        D.ring_allreduce([])
    with pytest.raises(ValueError, match="one shape"):
        D.ring_allreduce([torch.ones(3), torch.ones(4)])
    with pytest.raises(TypeError, match="floating"):
        D.ring_allreduce([torch.ones(3, dtype=torch.long)])


def test_real_ring_matches_dist_all_reduce_and_sends_the_formula():
    for w, n in [(2, 1001), (3, 10)]:
        res = D.launch(D.ring_check_worker, w, (n, 0))
        assert all(r["max_diff"] <= 1e-5 for r in res)
        assert sum(r["sent"] for r in res) == pytest.approx(w * D.ring_volume(n, w), abs=w)


def _exits(rank, world_size):
    if rank == 1:
        os._exit(3)
    dist.barrier()  # would wait forever for rank 1
    return rank


def _raises(rank, world_size):
    raise ValueError(f"bad thing on rank {rank}")


def _sleeps(rank, world_size):
    time.sleep(60)


def test_a_dead_worker_is_reported_not_waited_for():
    t0 = time.monotonic()
    with pytest.raises(D.WorkerFailed, match="worker 1 of 2 exited with code 3"):
        D.launch(_exits, 2, timeout=60)
    assert time.monotonic() - t0 < 30


def test_an_exception_in_a_worker_is_reported():
    with pytest.raises(D.WorkerFailed, match="ValueError: bad thing on rank"):
        D.launch(_raises, 2)


def test_a_hanging_group_times_out():
    with pytest.raises(D.WorkerFailed, match="did not finish within 3 s"):
        D.launch(_sleeps, 2, timeout=3)


def test_launch_validates_arguments():
    with pytest.raises(ValueError, match="world_size"):
        D.launch(_raises, 0)
    with pytest.raises(ValueError, match="start_method"):
        D.launch(_raises, 2, start_method="thread")
    with pytest.raises(TypeError, match="args"):
        D.launch(_raises, 2, args=[1])


def test_spawn_works_too():
    assert [r["sent"] for r in D.launch(D.ring_check_worker, 2, (10, 1), start_method="spawn")] == [10, 10]


def test_zero_memory_matches_the_paper():
    gb = {s: D.memory_per_device(7.5e9, 64, s) / 1e9 for s in D.STRATEGIES}
    assert gb["data parallel"] == pytest.approx(120)
    assert gb["ZeRO-1"] == pytest.approx(31.4, abs=0.05)
    assert gb["ZeRO-2"] == pytest.approx(16.6, abs=0.05)
    assert gb["ZeRO-3 / FSDP"] == pytest.approx(1.88, abs=0.005)
    assert D.memory_per_device(1e9, 1, "ZeRO-3 / FSDP") == D.memory_per_device(1e9, 1, "data parallel")
    with pytest.raises(ValueError, match="strategy"):
        D.memory_per_device(1e9, 8, "ZeRO-4")
