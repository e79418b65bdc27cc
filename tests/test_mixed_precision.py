"""scratch.mixed_precision: the loss scaler equals torch.amp.GradScaler; formats."""

import copy

import pytest
import torch
from torch import nn

from course_utils.scratch import mixed_precision as mpx


def _model_and_batches():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    g = torch.Generator().manual_seed(1)
    X, y = torch.randn(64, 8, generator=g), torch.randint(0, 3, (64,), generator=g)
    return model, [(X[i:i + 8], y[i:i + 8]) for i in range(0, 64, 8)] * 3


@pytest.mark.parametrize("interval, blow_ups", [(3, {2, 9}), (2000, {0}), (1, set())])
def test_dynamic_scaler_equals_gradscaler(interval, blow_ups):
    model, batches = _model_and_batches()
    ours = mpx.scaled_training(copy.deepcopy(model), batches, 0.1,
                               mpx.LossScaler(2.0**10, growth_interval=interval), blow_up_at=blow_ups)
    ref = mpx.scaled_training(copy.deepcopy(model), batches, 0.1,
                              torch.amp.GradScaler("cpu", init_scale=2.0**10, growth_interval=interval),
                              blow_up_at=blow_ups)
    assert ours["scales"] == ref["scales"]
    assert ours["taken"] == ref["taken"]
    assert all(torch.equal(a, b) for a, b in zip(ours["params"], ref["params"]))
    assert [i for i, t in enumerate(ours["taken"]) if not t] == sorted(blow_ups)


def test_static_scaler_never_changes_and_takes_bad_steps():
    model, batches = _model_and_batches()
    s = mpx.LossScaler(2.0**8, dynamic=False)
    out = mpx.scaled_training(model, batches[:4], 0.1, s, blow_up_at={1})
    assert out["scales"] == [256.0] * 4
    assert not all(torch.isfinite(p).all() for p in out["params"])


def test_underflow_and_formats():
    x = torch.tensor([1e-9, 1e-7, 1e-3, 0.0])
    assert mpx.underflow_fraction(x, "fp16") == pytest.approx(1 / 3)
    assert mpx.underflow_fraction(x, "bf16") == 0
    assert mpx.underflow_fraction(x * 2**16, "fp16") == 0
    assert mpx.relative_error(torch.tensor([1.0, 2.0]), "bf16") == 0


def test_autocast_lowers_matmul_and_keeps_losses_in_fp32():
    d = mpx.autocast_dtypes()
    assert d["matmul"] == "bfloat16" and d["linear (x @ Wᵀ)"] == "bfloat16"
    assert d["cross_entropy"] == "float32" and d["mse_loss"] == "float32"


def test_validation():
    with pytest.raises(ValueError, match="backoff_factor"):
        mpx.LossScaler(backoff_factor=1.5)
    with pytest.raises(ValueError, match="dtype"):
        mpx.underflow_fraction(torch.ones(2), "fp8")
    with pytest.raises(TypeError, match="optimizer"):
        mpx.LossScaler().step("sgd")
