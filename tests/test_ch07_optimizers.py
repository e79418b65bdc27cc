"""course_utils.chapters.ch07_optimizers: state memory, the explorer's slider grid and the
values the notebook tells students to try."""

import math

import pytest
import torch

from course_utils.chapters import ch07_optimizers as ch
from course_utils.core.explorers import on_grid
from course_utils.scratch import optim


@pytest.mark.parametrize("cls,kwargs,expected", [
    (optim.SGD, dict(lr=0.1), 0), (optim.SGD, dict(lr=0.1, momentum=0.9), 1),
    (optim.Adagrad, {}, 1), (optim.RMSprop, {}, 1), (optim.Adadelta, {}, 2),
    (optim.Adam, {}, 2), (optim.Adam, dict(amsgrad=True), 3), (optim.AdamW, {}, 2),
    (torch.optim.Adam, {}, 2), (torch.optim.SGD, dict(lr=0.1, momentum=0.9), 1),
])
def test_state_per_parameter_counts_the_state_tensors(cls, kwargs, expected):
    assert ch.state_per_parameter(cls, **kwargs) == expected


def test_state_per_parameter_validates():
    with pytest.raises(TypeError, match="optimizer_class must be"):
        ch.state_per_parameter("Adam")


def test_lr_on_slider_accepts_grid_points_only():
    assert ch.lr_on_slider(-1.3) == 10 ** -1.3
    assert ch.lr_on_slider(-2) == 0.01
    with pytest.raises(ValueError, match="on the slider's grid"):
        ch.lr_on_slider(math.log10(0.05))
    with pytest.raises(ValueError, match="log10_lr must be in"):
        ch.lr_on_slider(1.0)


def test_every_explorer_default_is_on_its_slider_grid():
    e = ch.make_explorer()
    for name, control in e.controls.items():
        assert on_grid(control, control.value), f"{name}={control.value!r} is off the grid"
    assert e.controls["lr"].value == pytest.approx(0.0501, rel=1e-3)


# every value the notebook's explorer section suggests, as (control, value)
SUGGESTED = [("lr", 10 ** -1.7), ("lr", 10 ** -1.65), ("lr", 10 ** -1.9), ("lr", 10 ** -1.85),
             ("lr", 0.01), ("lr", 10 ** -0.5), ("beta1", 0.0), ("beta1", 0.9), ("beta2", 0.99),
             ("function", "quadratic"), ("function", "saddle"), ("function", "narrow_well"),
             ("optimizer", "GD"), ("optimizer", "Nesterov"), ("optimizer", "Momentum")]


@pytest.mark.parametrize("name,value", SUGGESTED)
def test_suggested_values_are_on_the_grid(name, value):
    assert on_grid(ch.make_explorer().controls[name], value)


@pytest.mark.parametrize("preset,log10_lr,diverges", [
    ("GD", -1.7, False), ("GD", -1.65, True),              # 2/λ_max = 0.02 lies between
    ("Nesterov", -1.9, False), ("Nesterov", -1.85, True),  # ~1.36/λ_max ≈ 0.0136 at μ = 0.9
    ("Momentum", -1.85, False),                            # heavy ball: stable up to ~0.038
])
def test_suggested_quadratic_rates_behave_as_the_notebook_says(preset, log10_lr, diverges):
    r = ch.explore("quadratic", preset, ch.lr_on_slider(log10_lr), 0.9, 0.999)
    assert r["diverged"] is diverges
