"""course_utils.chapters.ch08_lr_schedules: the explorer's slider grids and the values the
notebook tells students to try."""

import math

import pytest

from course_utils.chapters import ch08_lr_schedules as ch
from course_utils.core.explorers import on_grid


@pytest.fixture(scope="module")
def explorer():
    return ch.make_explorer()


def test_on_slider_accepts_grid_points_only():
    assert ch.on_slider("peak_lr", -0.2) == 10 ** -0.2
    assert ch.on_slider("low", -2.0) == 0.01
    with pytest.raises(ValueError, match="on the peak_lr slider's grid"):
        ch.on_slider("peak_lr", math.log10(0.7))
    with pytest.raises(ValueError, match="log10_value must be in"):
        ch.on_slider("low", 0.0)
    with pytest.raises(ValueError, match="name must be one of"):
        ch.on_slider("epochs", 1.0)


def test_every_explorer_default_is_on_its_slider_grid(explorer):
    for name, control in explorer.controls.items():
        assert on_grid(control, control.value), f"{name}={control.value!r} is off the grid"
    assert explorer.controls["peak_lr"].value == pytest.approx(0.631, rel=1e-3)
    assert explorer.result["diverged"] is False


# every value the notebook's explorer section and its table suggest, as (control, value)
SUGGESTED = [("peak_lr", 10 ** -0.2), ("peak_lr", 10 ** 0.2), ("peak_lr", 10 ** 0.4),
             ("peak_lr", 10 ** 0.6), ("low", 10 ** -0.5), ("low", 0.001), ("low", 0.01),
             ("schedule", "1cycle"), ("schedule", "constant"), ("schedule", "linear warmup"),
             ("schedule", "cosine restarts"), ("schedule", "exponential"), ("epochs", 3)]


@pytest.mark.parametrize("name,value", SUGGESTED)
def test_suggested_values_are_on_the_grid(explorer, name, value):
    assert on_grid(explorer.controls[name], value)


def test_the_notebooks_rates_are_slider_points():
    # the reproduction's peak and "beyond the minimum" rates are what the explorer offers
    assert ch.on_slider("peak_lr", -0.2) == pytest.approx(0.631, rel=1e-3)
    assert ch.on_slider("peak_lr", 0.2) == pytest.approx(1.585, rel=1e-3)
