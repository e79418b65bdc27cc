"""Chapter 12's experiments: the equality claims (DDP == one big batch, resumed ==
uninterrupted, accumulation == big batch), the explorer's pure compute and its grid."""

import torch
from torch import nn

from course_utils.chapters import ch12_training_at_scale as ch
from course_utils.core import explorers
from course_utils.scratch import distributed as D
from course_utils.scratch import large_batch as lb


def _base(**kw):
    X, y = ch.digits().train()
    return dict(dict(X=X, y=y, seed=0, batch=16, steps=20, lr=0.05), **kw)


def test_shards_union_is_the_big_batch():
    shards = [ch.shard_batches(12, 2, r, 3, 0, 6) for r in range(2)]
    one = ch.shard_batches(12, 1, 0, 6, 0, 6)
    assert all(sorted(shards[0][s] + shards[1][s]) == sorted(one[s]) for s in range(6))
    assert one[0] != one[2]  # set_epoch reshuffles every epoch
    padded = [ch.shard_batches(11, 2, r, 6, 0, 1)[0] for r in range(2)]
    assert len(padded[0] + padded[1]) == 12  # 11 examples: one handed out twice


def test_ddp_equals_one_big_batch_and_breaks_with_batch_norm(tmp_path):
    jobs = {"plain": (ch.ddp_train, (_base(),)),
            "bn": (ch.ddp_train, (_base(batch_norm=True),)),
            "sync": (ch.ddp_train, (_base(batch_norm=True, sync_bn=True),)),
            "ckpt": (ch.ddp_train, (_base(ckpt_dir=str(tmp_path), every=5),))}
    res = D.launch(ch.experiments, 2, (jobs,))
    ref = ch.reference_train(_base())
    assert ch.max_diff(res[0]["plain"]["params"], ref) < 1e-5
    assert ch.max_diff(res[0]["plain"]["params"], res[1]["plain"]["params"]) == 0
    assert ch.max_diff(res[0]["bn"]["params"], ch.reference_train(_base(batch_norm=True))) > 1e-4
    assert "GPU" in res[0]["sync"]["error"]
    # a killed worker, then a relaunch from the last checkpoint: equal to uninterrupted
    crash = tmp_path / "crash"
    crash.mkdir()
    cfg = _base(ckpt_dir=str(crash), every=5)
    try:
        D.launch(ch.ddp_train, 2, (dict(cfg, crash_at=12),), timeout=60)
        raise AssertionError("the launch should have failed")
    except D.WorkerFailed as err:
        assert "worker 1 of 2 exited with code 1" in str(err)
    again = D.launch(ch.ddp_train, 2, (dict(cfg, resume=True),))
    assert ch.max_diff(again[0]["params"], res[0]["ckpt"]["params"]) == 0
    assert ch.max_diff(again[0]["params"], res[0]["plain"]["params"]) == 0


def test_single_process_resume_is_exact_only_with_rng(tmp_path):
    path = str(tmp_path / "c.pt")
    full = ch.single_run(0, 30)
    assert ch.single_run(0, 30, path=path, stop_at=12) is None
    assert ch.max_diff(full, ch.single_run(0, 30, path=path, resume=True)) == 0
    ch.single_run(0, 30, path=path, stop_at=12, rng=False)
    assert ch.max_diff(full, ch.single_run(0, 30, path=path, resume=True)) > 1e-5


def test_accumulation_equals_big_batch_on_digits():
    X, y = ch.digits().train()
    model = ch.make_model(0)
    acc = lb.accumulate_gradients(model, nn.CrossEntropyLoss(), X[:100], y[:100], 3)
    model.zero_grad()
    nn.functional.cross_entropy(model(X[:100]), y[:100]).backward()
    assert max(float((a - p.grad).abs().max()) for a, p in zip(acc, model.parameters())) < 1e-6


def test_scaler_comparison_is_exact():
    cmp = ch.scaler_comparison(0, steps=12, blow_up_at=(2,))
    assert cmp["ours"]["scales"] == cmp["torch"]["scales"]
    assert ch.max_diff(cmp["ours"]["params"], cmp["torch"]["params"]) == 0


def test_explorer_compute_and_grid(monkeypatch):
    fake = {(b, p): {"seen": torch.arange(1, 11).numpy() * b, "loss": torch.linspace(2, 0.1, 10).numpy(),
                     "acc": 0.9} for b in (8, 16, 32, 64, 128, 256, 512) for p in ch.PRECISIONS}
    monkeypatch.setattr(ch, "explorer_grid", lambda *a, **k: fake)
    r = ch.explore_compute(workers=4, per_worker_batch=32, accumulation=4, precision="bf16")
    assert r["effective"] == 512
    assert r["comm"] == 4 * D.ring_volume(r["n_params"], 4)
    assert r["memory"]["activations"] == 2 * (64 + 2 * sum(ch.HIDDEN) + 10) * 32
    assert r["lr"] == lb.scale_lr_for_batch(ch.BASE_LR, ch.BASE_BATCH, 512)
    e = ch.make_explorer()
    for name, control in e.controls.items():
        assert explorers.on_grid(control), name
    for v in [(4, 32, 4), (1, 8, 1)]:  # the values the notebook suggests
        for name, value in zip(("workers", "per_worker_batch", "accumulation"), v):
            assert explorers.on_grid(e.controls[name], value)
    explorers.drive_to_extremes(e)


def test_memory_table_rows():
    rows = ch.memory_table()
    assert [round(r["data parallel"]) for r in rows] == [24, 120, 2800]


def test_lr_scaling_study_shape():
    study = ch.lr_scaling_study(seeds=(0,), epochs=1)
    assert set(study) == {"small batch", "k=16, scaled, warm-up", "k=16, scaled, no warm-up",
                          "k=64, scaled, warm-up", "k=64, scaled, no warm-up", "k=16, unscaled"}
    assert all(len(v) == 1 and 0 <= v[0] <= 1 for v in study.values())
