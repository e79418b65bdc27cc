"""Checkers of chapter 03 accept correct initializers and reject the usual mistakes."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from course_utils import checks
from course_utils.scratch import init as ini


def run(checker, fn):
    result = checker(fn, verbose=False)
    assert isinstance(result, checks.CheckResult)
    return result


def text(result):
    return "\n".join(result.messages)


# ------------------------------------------------------------------ correct answers pass
def xavier_reference(fan_in, fan_out, generator=None):
    r = math.sqrt(6.0 / (fan_in + fan_out))
    return (2 * torch.rand(fan_out, fan_in, generator=generator) - 1) * r


def xavier_via_uniform_(fan_in, fan_out, generator=None):
    r = math.sqrt(3.0 / ((fan_in + fan_out) / 2))
    return torch.empty(fan_out, fan_in).uniform_(-r, r, generator=generator)


def xavier_via_torch(fan_in, fan_out, generator=None):
    return nn.init.xavier_uniform_(torch.empty(fan_out, fan_in, dtype=torch.float64),
                                   generator=generator)


def he_reference(fan_in, fan_out, generator=None):
    return torch.randn(fan_out, fan_in, generator=generator) * math.sqrt(2.0 / fan_in)


def he_via_torch(fan_in, fan_out, generator=None):
    return nn.init.kaiming_normal_(torch.empty(fan_out, fan_in), nonlinearity="relu",
                                   generator=generator)


def lecun_reference(fan_in, fan_out, generator=None):
    return torch.randn(fan_out, fan_in, generator=generator) / math.sqrt(fan_in)


def lecun_via_normal_(fan_in, fan_out, generator=None):
    return torch.empty(fan_out, fan_in).normal_(0.0, (1.0 / fan_in) ** 0.5, generator=generator)


@pytest.mark.parametrize("checker, fn", [
    (checks.xavier_uniform, ini.xavier_uniform), (checks.xavier_uniform, xavier_reference),
    (checks.xavier_uniform, xavier_via_uniform_), (checks.xavier_uniform, xavier_via_torch),
    (checks.he_normal, ini.he_normal), (checks.he_normal, he_reference),
    (checks.he_normal, he_via_torch),
    (checks.lecun_normal, ini.lecun_normal), (checks.lecun_normal, lecun_reference),
    (checks.lecun_normal, lecun_via_normal_),
])
def test_accepts_correct_implementations(checker, fn):
    result = run(checker, fn)
    assert result.passed, text(result)
    assert result.n_cases >= 10


@pytest.mark.parametrize("repeat", range(12))
def test_reference_passes_reliably_for_other_draws(repeat):
    """The tolerances hold for any draw: every run draws new fans and generator seeds."""
    for checker, fn in [(checks.xavier_uniform, ini.xavier_uniform),
                        (checks.he_normal, ini.he_normal),
                        (checks.lecun_normal, ini.lecun_normal)]:
        result = run(checker, fn)
        assert result.passed, text(result)


def test_report_is_deterministic(capsys):
    """A correct answer prints the same line on every run; a wrong one the same verdict and
    hint (the measured numbers come from this run's fresh draws)."""
    checks.he_normal(he_reference)
    assert capsys.readouterr().out == checks.he_normal(he_reference, verbose=False).report() + "\n"

    def wrong(fan_in, fan_out, generator=None):
        return torch.randn(fan_out, fan_in, generator=generator) * 2 / fan_in

    first, second = (checks.he_normal(wrong, verbose=False) for _ in range(2))
    assert first.report().splitlines()[0] == second.report().splitlines()[0]
    assert "✗ he_normal" in first.report()
    assert [m.split("hint:")[-1] for m in first.messages] == \
        [m.split("hint:")[-1] for m in second.messages]


# ------------------------------------------------------------------ xavier_uniform mistakes
def test_rejects_xavier_swapped_shape():
    def swapped(fan_in, fan_out, generator=None):
        return xavier_reference(fan_out, fan_in, generator).T.contiguous().T.reshape(fan_in, fan_out)
    result = run(checks.xavier_uniform, swapped)
    assert not result.passed and "swapped" in text(result)


def test_rejects_xavier_using_fan_in_only():
    def fan_in_only(fan_in, fan_out, generator=None):
        r = math.sqrt(6.0 / fan_in)
        return (2 * torch.rand(fan_out, fan_in, generator=generator) - 1) * r
    result = run(checks.xavier_uniform, fan_in_only)
    assert not result.passed and "fan_in alone" in text(result)


def test_rejects_xavier_normal_instead_of_uniform():
    def normal(fan_in, fan_out, generator=None):
        return torch.randn(fan_out, fan_in, generator=generator) * math.sqrt(2.0 / (fan_in + fan_out))
    result = run(checks.xavier_uniform, normal)
    assert not result.passed and "beyond the bound" in text(result)


def test_rejects_xavier_bound_used_as_normal_std():
    def bound_as_std(fan_in, fan_out, generator=None):
        return torch.randn(fan_out, fan_in, generator=generator) * math.sqrt(6.0 / (fan_in + fan_out))
    result = run(checks.xavier_uniform, bound_as_std)
    assert not result.passed and "not its standard deviation" in text(result)


def test_rejects_xavier_ignoring_generator():
    def no_generator(fan_in, fan_out, generator=None):
        return xavier_reference(fan_in, fan_out)
    result = run(checks.xavier_uniform, no_generator)
    assert not result.passed and "seeded alike gave different" in text(result)


def test_rejects_xavier_reseeding_global_rng():
    def reseeds(fan_in, fan_out, generator=None):
        torch.manual_seed(0)
        return xavier_reference(fan_in, fan_out)
    result = run(checks.xavier_uniform, reseeds)
    assert not result.passed
    assert "different seeds gave the same" in text(result)
    assert "global random state" in text(result)


def test_rejects_xavier_not_centred():
    def zero_to_r(fan_in, fan_out, generator=None):
        return torch.rand(fan_out, fan_in, generator=generator) * math.sqrt(6.0 / (fan_in + fan_out))
    result = run(checks.xavier_uniform, zero_to_r)
    assert not result.passed and "mean is" in text(result)


def test_rejects_xavier_numpy_array():
    def numpy_version(fan_in, fan_out, generator=None):
        r = math.sqrt(6.0 / (fan_in + fan_out))
        return np.random.default_rng(0).uniform(-r, r, size=(fan_out, fan_in))
    result = run(checks.xavier_uniform, numpy_version)
    assert not result.passed and "expected a torch.Tensor" in text(result)


# ---------------------------------------------------------------------- he_normal mistakes
def test_rejects_he_variance_used_as_std():
    def var_as_std(fan_in, fan_out, generator=None):
        return torch.randn(fan_out, fan_in, generator=generator) * (2.0 / fan_in)
    result = run(checks.he_normal, var_as_std)
    assert not result.passed and "is the variance" in text(result)


def test_rejects_he_using_fan_out():
    def fan_out_he(fan_in, fan_out, generator=None):
        return torch.randn(fan_out, fan_in, generator=generator) * math.sqrt(2.0 / fan_out)
    result = run(checks.he_normal, fan_out_he)
    assert not result.passed and "not fan_out" in text(result)


def test_rejects_he_uniform_instead_of_normal():
    result = run(checks.he_normal, ini.he_uniform)
    assert not result.passed and "uniform distribution" in text(result)


def test_rejects_he_truncated_normal():
    def truncated(fan_in, fan_out, generator=None):  # Keras' he_normal
        std = math.sqrt(2.0 / fan_in) / 0.87962566103423978
        w = torch.empty(fan_out, fan_in)
        return nn.init.trunc_normal_(w, 0.0, std, -2 * std, 2 * std, generator=generator)
    result = run(checks.he_normal, truncated)
    assert not result.passed and "not truncated" in text(result)


def test_rejects_he_torch_kaiming_on_transposed_weight():
    def transposed(fan_in, fan_out, generator=None):
        return nn.init.kaiming_normal_(torch.empty(fan_in, fan_out), nonlinearity="relu",
                                       generator=generator)
    result = run(checks.he_normal, transposed)
    assert not result.passed and "swapped" in text(result)


def test_rejects_he_ignoring_generator():
    def no_generator(fan_in, fan_out, generator=None):
        return torch.randn(fan_out, fan_in) * math.sqrt(2.0 / fan_in)
    result = run(checks.he_normal, no_generator)
    assert not result.passed and "seeded alike gave different" in text(result)


# ------------------------------------------------------------------- lecun_normal mistakes
def test_rejects_lecun_with_he_variance():
    result = run(checks.lecun_normal, ini.he_normal)
    assert not result.passed and "He's variance" in text(result)


def test_rejects_lecun_variance_used_as_std():
    def var_as_std(fan_in, fan_out, generator=None):
        return torch.randn(fan_out, fan_in, generator=generator) / fan_in
    result = run(checks.lecun_normal, var_as_std)
    assert not result.passed and "is the variance" in text(result)


def test_rejects_lecun_with_xavier_variance():
    result = run(checks.lecun_normal, ini.xavier_normal)
    assert not result.passed and "Xavier's variance" in text(result)


def test_rejects_lecun_ignoring_generator():
    def no_generator(fan_in, fan_out, generator=None):
        return torch.randn(fan_out, fan_in) / math.sqrt(fan_in)
    result = run(checks.lecun_normal, no_generator)
    assert not result.passed and "seeded alike gave different" in text(result)


# ------------------------------------------------------ broken functions never break a checker
def returns_none(fan_in, fan_out, generator=None):
    return None


def raises(fan_in, fan_out, generator=None):
    raise ValueError("boom")


def not_implemented(fan_in, fan_out, generator=None):
    # YOUR CODE HERE
    raise NotImplementedError()


def nan_weights(fan_in, fan_out, generator=None):
    return torch.full((fan_out, fan_in), float("nan"))


def wrong_signature(fan_in, fan_out):
    return torch.zeros(fan_out, fan_in)


def returns_int_tensor(fan_in, fan_out, generator=None):
    return torch.zeros(fan_out, fan_in, dtype=torch.long)


def returns_scalar(fan_in, fan_out, generator=None):
    return torch.tensor(0.5)


@pytest.mark.parametrize("checker", [checks.xavier_uniform, checks.he_normal, checks.lecun_normal])
@pytest.mark.parametrize("fn, message", [
    (returns_none, "returned None"), (raises, "raised ValueError: boom"),
    (not_implemented, "not implemented yet"), (nan_weights, "NaN"),
    (wrong_signature, "keep the signature"), (returns_int_tensor, "floating-point"),
    (returns_scalar, "expected shape"), (42, "expected a function"),
])
def test_broken_functions_fail_without_raising(checker, fn, message, capsys):
    result = checker(fn)
    out = capsys.readouterr().out
    assert not result.passed
    assert message in out
    assert "Traceback" not in out
