"""The from-scratch optimizers refuse coefficients outside their meaning (torch.optim
accepts RMSprop(alpha=1.5) and SGD(momentum=5), which then blow up) and a model passed
instead of its parameters."""

import pytest
import torch
from torch import nn

from course_utils.scratch import optim


def _params():
    return [nn.Parameter(torch.zeros(3))]


@pytest.mark.parametrize("cls, kwargs, name", [
    (optim.SGD, dict(momentum=5), "momentum"),
    (optim.SGD, dict(momentum=1.0), "momentum"),
    (optim.SGD, dict(momentum=0.9, dampening=1.5), "dampening"),
    (optim.RMSprop, dict(alpha=1.5), "alpha"),
    (optim.RMSprop, dict(alpha=-0.1), "alpha"),
    (optim.RMSprop, dict(momentum=2.0), "momentum"),
    (optim.Adadelta, dict(rho=1.5), "rho"),
    (optim.Adam, dict(betas=(0.9, 1.0)), "betas"),
    (optim.AdamW, dict(betas=(1.5, 0.9)), "betas"),
    (optim.NAdam, dict(betas=0.9), "betas"),
])
def test_coefficients_out_of_range_name_the_argument(cls, kwargs, name):
    with pytest.raises((TypeError, ValueError), match=name):
        cls(_params(), **kwargs)


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adagrad, optim.Adadelta, optim.RMSprop,
                                 optim.Adam, optim.AdamW, optim.Adamax, optim.NAdam])
def test_a_model_or_a_single_tensor_instead_of_parameters(cls):
    with pytest.raises(TypeError, match="model.parameters\\(\\)"):
        cls(nn.Linear(2, 2))
    with pytest.raises(TypeError, match="not a single tensor"):
        cls(nn.Parameter(torch.zeros(2)))


def test_the_edges_of_the_ranges_are_still_accepted():
    optim.SGD(_params(), lr=0.1, momentum=0.99, dampening=1.0)
    optim.SGD(_params(), lr=0.1, momentum=0.0)
    optim.RMSprop(_params(), alpha=0.0)
    optim.RMSprop(_params(), alpha=1.0, momentum=0.9)
    groups = [{"params": _params(), "lr": 0.1}, {"params": _params()}]
    assert len(optim.Adam(groups).param_groups) == 2
