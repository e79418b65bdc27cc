"""Claims print a fixed verdict when they hold and fail the cell when they do not."""

import numpy as np
import pytest
import torch

from course_utils.core import claims, repro


def test_a_claim_that_holds_prints_a_fixed_verdict(capsys):
    assert claims.check("He beats Xavier", True, measured="He 0.8, Xavier 0.1") is None
    out = capsys.readouterr().out.splitlines()
    assert out == ["✔ claim holds: He beats Xavier", "  measured: He 0.8, Xavier 0.1"]


def test_a_claim_that_does_not_hold_raises_with_what_was_measured(capsys):
    with pytest.raises(claims.ClaimFailed, match="does NOT hold: He beats Xavier") as e:
        claims.check("He beats Xavier", False, measured="He 0.1")
    assert "measured: He 0.1" in str(e.value)
    assert capsys.readouterr().out == ""
    assert issubclass(claims.ClaimFailed, AssertionError)


@pytest.mark.parametrize("holds", [np.bool_(True), torch.tensor(True), torch.tensor([True])])
def test_numpy_and_torch_booleans_are_accepted(holds):
    claims.check("x", holds)


@pytest.mark.parametrize("holds", [1, 0.5, "yes", None, torch.tensor([True, False]), np.array([True])])
def test_a_claim_must_be_a_yes_or_no(holds):
    with pytest.raises(TypeError, match="holds must be True or False"):
        claims.check("x", holds)


def test_statement_and_label_must_be_text():
    with pytest.raises(TypeError, match="statement"):
        claims.check("", True)
    with pytest.raises(TypeError, match="label"):
        claims.check("x", True, label=3)


def test_not_reproduced_label(capsys):
    claims.check("transfer beats scratch", True, label="not reproduced here")
    assert capsys.readouterr().out.startswith("✔ not reproduced here: transfer beats scratch")


def test_in_k_of_n(capsys):
    claims.in_k_of_n("ReLU has more dead units than ELU", [True, True, False, True, True], 4)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "✔ claim holds: ReLU has more dead units than ELU (in ≥ 4 of 5 seeds)"
    assert out[1] == "  measured: 4 of 5"
    with pytest.raises(claims.ClaimFailed, match="3 of 5"):
        claims.in_k_of_n("x", [True, True, False, True, False], 4)
    with pytest.raises(ValueError, match="k must be"):
        claims.in_k_of_n("x", [True], 2)
    with pytest.raises(ValueError, match="outcomes"):
        claims.in_k_of_n("x", [], 1)


def test_spread_and_mean_gap():
    assert claims.spread([0.5]) == "0.5"
    assert claims.spread([1.0, 2.0, 3.0]) == "2 ± 1 [1, 3]"
    assert claims.spread([float("nan"), 1.0]).startswith("nan")
    assert claims.mean_gap([1, 2], [0, 0]) == pytest.approx(1.5)
    with pytest.raises(ValueError):
        claims.spread([])


def test_seed_offset_shifts_every_seed(monkeypatch):
    monkeypatch.delenv("COURSE_SEED_OFFSET", raising=False)
    assert repro.seed(3) == 3 and repro.seeds(2) == [0, 1]
    base = torch.rand(3, generator=repro.generator(0))
    monkeypatch.setenv("COURSE_SEED_OFFSET", "2")
    assert repro.seed(3) == 5 and repro.seeds(2, start=1) == [3, 4]
    assert torch.equal(torch.rand(3, generator=repro.generator(0)), torch.rand(3, generator=torch.Generator().manual_seed(2)))
    assert not torch.equal(torch.rand(3, generator=repro.generator(0)), base)
    assert repro.rng(0).integers(1000) == np.random.default_rng(2).integers(1000)
    repro.seed_everything(0)
    a = torch.rand(1)
    torch.manual_seed(2)
    assert torch.equal(a, torch.rand(1))


@pytest.mark.parametrize("bad", ["x", "-1", "1.5"])
def test_bad_seed_offset_is_a_clear_error(monkeypatch, bad):
    monkeypatch.setenv("COURSE_SEED_OFFSET", bad)
    with pytest.raises(ValueError, match="COURSE_SEED_OFFSET must be a non-negative integer"):
        repro.seed(0)
