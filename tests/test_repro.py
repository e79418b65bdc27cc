import random

import numpy as np
import pytest
import torch

import course_utils as cu


def _draws():
    return random.random(), float(np.random.rand()), float(torch.rand(()))


def test_setup_seeds_python_numpy_and_torch():
    cu.setup(seed=123)
    a = _draws()
    cu.setup(seed=123)
    assert _draws() == a
    cu.setup(seed=124)
    assert _draws() != a


def test_setup_sets_threads_and_returns_cpu_when_forced(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert cu.setup(seed=0, threads=1) == torch.device("cpu")
    assert torch.get_num_threads() == 1
    assert cu.set_threads(2) == 2
    assert cu.set_threads(None) == 2  # None keeps the current setting


def test_get_device_validates(monkeypatch):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    with pytest.raises(ValueError, match="prefer .* must be one of"):
        cu.get_device("tpu")
    assert cu.get_device("auto").type in ("cpu", "cuda", "mps")


def test_bad_seed_and_threads_raise():
    with pytest.raises(ValueError, match="seed must be in"):
        cu.seed_everything(-1)
    with pytest.raises(TypeError, match="n must be an integer"):
        cu.set_threads("2")


def test_environment_report_names_the_pinned_stack():
    rep = cu.environment_report()
    assert rep["torch"] == torch.__version__.split("+")[0]
    assert {"python", "numpy", "scikit-learn", "matplotlib", "ipywidgets", "device"} <= rep.keys()


def test_deterministic_flag_is_left_alone_on_cpu_and_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    torch.use_deterministic_algorithms(False)
    cu.setup(seed=0)  # CPU kernels are deterministic already: no (slow) global switch
    assert not torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    cu.setup(seed=0, deterministic=False)
    assert not torch.are_deterministic_algorithms_enabled()
