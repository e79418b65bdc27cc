import numpy as np
import pytest
import torch

from course_utils.chapters import ch00_start_here as warmup
from course_utils.core import explorers
from course_utils.core.explorers import on_grid


@pytest.mark.parametrize("lr, regime", [(0.5, "converges"), (1.0, "converges"),
                                        (1.5, "converges, oscillating"),
                                        (1.95, "converges, oscillating"),
                                        (2.0, "oscillates forever"), (2.5, "diverges"),
                                        (0.0, "stalls")])
def test_regimes_follow_one_minus_eta_a(lr, regime):
    out = warmup.gradient_descent_1d(lr, steps=10)
    assert out["regime"] == regime and out["diverged"] == (regime == "diverges")


def test_iterates_equal_autograd_gradient_descent():
    w = torch.tensor(1.3, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.4)
    expected = [1.3]
    for _ in range(5):
        opt.zero_grad()
        (0.5 * 3.0 * w**2).backward()
        opt.step()
        expected.append(w.item())
    got = warmup.gradient_descent_1d(0.4, steps=5, w0=1.3, curvature=3.0)["w"]
    assert np.allclose(got, expected, rtol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="lr must be in"):
        warmup.gradient_descent_1d(-0.1)
    with pytest.raises(ValueError, match="curvature must be in"):
        warmup.gradient_descent_1d(0.1, curvature=0.0)


def test_explorer_is_registered_and_changes_with_lr():
    ex = warmup.make_explorer()
    assert explorers.EXPLORERS["00 gradient descent on a parabola"] is warmup.make_explorer
    ex.controls["lr"].value = 2.5
    assert ex.result["diverged"] and "diverged" in ex.status.value


def test_converging_regimes_really_shrink_the_iterates():
    for lr in (0.5, 1.5, 1.95):
        w = warmup.gradient_descent_1d(lr, steps=200)["w"]
        assert abs(w[-1]) < 1e-3 * abs(w[0])




def test_explorer_default_and_suggested_values_lie_on_the_slider_grid():
    ex = warmup.make_explorer()
    assert on_grid(ex.controls["lr"]) and on_grid(ex.controls["steps"])
    for lr in (1.0, 1.5, 1.95, 2.0):  # the values the notebook suggests
        ex.controls["lr"].value = lr
        assert on_grid(ex.controls["lr"]) and ex.controls["lr"].value == lr
