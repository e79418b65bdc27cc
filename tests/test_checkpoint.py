"""scratch.checkpoint: a resumed run equals the uninterrupted one; what is saved."""

import random

import numpy as np
import pytest
import torch
from torch import nn

from course_utils.scratch import checkpoint as ckpt


def _setup(seed=0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Dropout(0.3), nn.BatchNorm1d(8), nn.Linear(8, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    sched = torch.optim.lr_scheduler.StepLR(opt, 3, 0.5)
    return model, opt, sched


def _steps(model, opt, sched, start, stop):
    for step in range(start, stop):
        g = torch.Generator().manual_seed(step)  # data order from the step counter
        x, y = torch.randn(16, 5, generator=g), torch.randint(0, 2, (16,), generator=g)
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        sched.step()
        random.random()
        np.random.rand()


def test_resume_equals_uninterrupted(tmp_path):
    model, opt, sched = _setup()
    _steps(model, opt, sched, 0, 20)
    full = [p.clone() for p in model.state_dict().values()]

    model, opt, sched = _setup()
    _steps(model, opt, sched, 0, 8)
    ckpt.save_checkpoint(tmp_path / "c.pt", model, opt, sched, step=8, extra={"epoch": 0})
    torch.manual_seed(123)  # a new process would start from other generator states
    model, opt, sched = _setup(seed=5)
    info = ckpt.load_checkpoint(tmp_path / "c.pt", model, opt, sched)
    assert info == {"step": 8, "extra": {"epoch": 0}}
    _steps(model, opt, sched, info["step"], 20)
    assert all(torch.equal(a, b) for a, b in zip(full, model.state_dict().values()))


def test_without_rng_the_dropout_masks_differ(tmp_path):
    model, opt, sched = _setup()
    _steps(model, opt, sched, 0, 20)
    full = [p.clone() for p in model.parameters()]
    model, opt, sched = _setup()
    _steps(model, opt, sched, 0, 8)
    ckpt.save_checkpoint(tmp_path / "c.pt", model, opt, sched, step=8, rng=False)
    torch.manual_seed(123)
    model, opt, sched = _setup(seed=5)
    ckpt.load_checkpoint(tmp_path / "c.pt", model, opt, sched)
    _steps(model, opt, sched, 8, 20)
    assert not all(torch.equal(a, b) for a, b in zip(full, model.parameters()))


def test_rng_state_roundtrip():
    s = ckpt.rng_state()
    a = (torch.rand(3), np.random.rand(), random.random())
    ckpt.set_rng_state(s)
    b = (torch.rand(3), np.random.rand(), random.random())
    assert torch.equal(a[0], b[0]) and a[1:] == b[1:]


def test_checkpoint_validation(tmp_path):
    model, opt, sched = _setup()
    with pytest.raises(TypeError, match="model"):
        ckpt.save_checkpoint(tmp_path / "c.pt", "model")
    with pytest.raises(TypeError, match="optimizer"):
        ckpt.save_checkpoint(tmp_path / "c.pt", model, optimizer=3)
    with pytest.raises(FileNotFoundError):
        ckpt.load_checkpoint(tmp_path / "missing.pt", model)
    ckpt.save_checkpoint(tmp_path / "c.pt", model)
    with pytest.raises(ValueError, match="no optimizer state"):
        ckpt.load_checkpoint(tmp_path / "c.pt", model, opt)
    assert not (tmp_path / "c.pt.tmp").exists()
    with pytest.raises(ValueError, match="rng_state"):
        ckpt.set_rng_state({"torch": None})
