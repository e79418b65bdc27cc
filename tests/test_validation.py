import numpy as np
import pytest
import torch

from course_utils.core import validation as v


def test_check_int_accepts_numpy_ints_and_rejects_bools_and_floats():
    assert v.check_int("n", np.int64(3)) == 3
    with pytest.raises(TypeError, match="n must be an integer"):
        v.check_int("n", True)
    with pytest.raises(TypeError, match="n must be an integer"):
        v.check_int("n", 2.0)


def test_ranges_name_the_argument_and_interval():
    with pytest.raises(ValueError, match=r"depth must be in \[1, 10\]; got 0"):
        v.check_int("depth", 0, min_value=1, max_value=10)
    with pytest.raises(ValueError, match=r"p must be in \[0.0, 1.0\); got 1.0"):
        v.check_fraction("p", 1.0)
    with pytest.raises(ValueError, match="lr must be finite"):
        v.check_float("lr", float("nan"))
    assert v.check_float("lr", 1) == 1.0


def test_choice_lists_allowed_values():
    with pytest.raises(ValueError, match="activation must be one of 'relu', 'tanh'; got 'rleu'"):
        v.check_choice("activation", "rleu", ["relu", "tanh"])


def test_check_array_and_tensor():
    assert v.check_array("X", [[1, 2]], ndim=2).shape == (1, 2)
    assert v.check_array("X", torch.ones(3), ndim=1).shape == (3,)
    with pytest.raises(ValueError, match="X must have 2 dimension"):
        v.check_array("X", [1, 2], ndim=2)
    with pytest.raises(TypeError, match="X must be a numeric array"):
        v.check_array("X", np.array([object()]))
    with pytest.raises(TypeError, match="w must be a torch.Tensor"):
        v.check_tensor("w", [1.0])
    with pytest.raises(TypeError, match="floating-point"):
        v.check_tensor("w", torch.ones(2, dtype=torch.long), floating=True)
