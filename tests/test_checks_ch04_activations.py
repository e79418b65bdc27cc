"""Checkers of chapter 04: the reference solutions pass, realistic mistakes fail."""

import numpy as np
import torch
from checking import fails as _fails

from course_utils import checks

ALPHA, SCALE = 1.6732632423543772, 1.0507009873554805


def _passes(checker, fn):
    result = checker(fn, verbose=False)
    return result.passed


# --------------------------------------------------------------------------- leaky_relu
def ref_leaky_relu(z, alpha=0.01):
    return torch.where(z > 0, z, alpha * z)


def test_leaky_relu_reference_passes(capsys):
    assert checks.leaky_relu(ref_leaky_relu).passed
    assert "all" in capsys.readouterr().out


def test_leaky_relu_rejects_max_of_z_and_alpha_z():
    def leaky_relu(z, alpha=0.01):
        return torch.maximum(z, alpha * z)  # wrong when alpha > 1
    _fails(checks.leaky_relu, leaky_relu, "alpha=1.5", "max(z, alpha * z)")


def test_leaky_relu_rejects_hard_coded_slope():
    def leaky_relu(z, alpha=0.01):
        return torch.where(z > 0, z, 0.01 * z)
    _fails(checks.leaky_relu, leaky_relu, "alpha=0.2")


def test_leaky_relu_rejects_swapped_branches():
    def leaky_relu(z, alpha=0.01):
        return torch.where(z > 0, alpha * z, z)
    _fails(checks.leaky_relu, leaky_relu, "1-D float32 with 0")


def test_leaky_relu_rejects_plain_relu():
    def leaky_relu(z, alpha=0.01):
        return torch.relu(z)
    _fails(checks.leaky_relu, leaky_relu)


def test_leaky_relu_rejects_numpy_result():
    def leaky_relu(z, alpha=0.01):
        a = z.detach().numpy()
        return np.where(a > 0, a, alpha * a)
    _fails(checks.leaky_relu, leaky_relu, "expected a torch.Tensor")


def test_leaky_relu_rejects_result_cut_from_autograd():
    def leaky_relu(z, alpha=0.01):
        a = z.detach().numpy()
        return torch.from_numpy(np.where(a > 0, a, alpha * a))
    _fails(checks.leaky_relu, leaky_relu, "autograd")


def test_leaky_relu_rejects_in_place_modification():
    def leaky_relu(z, alpha=0.01):
        z[z < 0] *= alpha
        return z
    _fails(checks.leaky_relu, leaky_relu, "in place")


def test_leaky_relu_rejects_float32_cast():
    def leaky_relu(z, alpha=0.01):
        z = z.float()
        return torch.where(z > 0, z, alpha * z)
    _fails(checks.leaky_relu, leaky_relu, "dtype")


def test_leaky_relu_reports_none_and_exceptions_without_raising():
    def returns_none(z, alpha=0.01):
        z * 2

    def raises(z, alpha=0.01):
        raise ValueError("boom")

    def not_done(z, alpha=0.01):
        raise NotImplementedError()

    _fails(checks.leaky_relu, returns_none, "returned None")
    _fails(checks.leaky_relu, raises, "raised ValueError: boom")
    _fails(checks.leaky_relu, not_done, "not implemented")
    _fails(checks.leaky_relu, lambda z: z, "cannot be called")  # no alpha argument
    _fails(checks.leaky_relu, "not a function", "expected a function")


# --------------------------------------------------------------------------------- elu
def ref_elu(z, alpha=1.0):
    return torch.where(z > 0, z, alpha * torch.expm1(z.clamp(max=0)))


def test_elu_reference_passes():
    assert _passes(checks.elu, ref_elu)


def test_elu_also_accepts_exp_minus_one_of_clamped_input():
    def elu(z, alpha=1.0):
        return torch.where(z > 0, z, alpha * (torch.exp(torch.clamp(z, max=0)) - 1))
    assert _passes(checks.elu, elu)


def test_elu_rejects_missing_alpha():
    def elu(z, alpha=1.0):
        return torch.where(z > 0, z, torch.exp(z.clamp(max=0)) - 1)
    _fails(checks.elu, elu, "alpha=0.5")


def test_elu_rejects_precedence_mistake_alpha_exp_minus_one():
    def elu(z, alpha=1.0):
        return torch.where(z > 0, z, alpha * torch.exp(z.clamp(max=0)) - 1)
    _fails(checks.elu, elu, "alpha=0.5")


def test_elu_rejects_forgotten_minus_one():
    def elu(z, alpha=1.0):
        return torch.where(z > 0, z, alpha * torch.exp(z.clamp(max=0)))
    _fails(checks.elu, elu, "1-D float32 with 0")


def test_elu_rejects_unclamped_exp_whose_gradient_is_nan():
    def elu(z, alpha=1.0):
        return torch.where(z > 0, z, alpha * (torch.exp(z) - 1))
    text = _fails(checks.elu, elu, "gradient at large |z|", "NaN")
    assert "clamp" in text


def test_elu_rejects_alpha_on_positive_side():
    def elu(z, alpha=1.0):
        return alpha * torch.where(z > 0, z, torch.expm1(z.clamp(max=0)))
    _fails(checks.elu, elu, "alpha=0.5")


def test_elu_reports_none_and_exceptions_without_raising():
    def returns_none(z, alpha=1.0):
        return None

    def raises(z, alpha=1.0):
        return z.numpy() + undefined_name  # noqa: F821

    _fails(checks.elu, returns_none, "returned None")
    _fails(checks.elu, raises, "raised")


# -------------------------------------------------------------------------------- selu
def ref_selu(z):
    return SCALE * torch.where(z > 0, z, ALPHA * torch.expm1(z.clamp(max=0)))


def test_selu_reference_passes():
    assert _passes(checks.selu, ref_selu)


def test_selu_rejects_swapped_constants():
    def selu(z):
        return ALPHA * torch.where(z > 0, z, SCALE * torch.expm1(z.clamp(max=0)))
    _fails(checks.selu, selu, "scale multiplies both branches")


def test_selu_rejects_scale_only_on_positive_branch():
    def selu(z):
        return torch.where(z > 0, SCALE * z, ALPHA * torch.expm1(z.clamp(max=0)))
    _fails(checks.selu, selu)


def test_selu_rejects_missing_scale():
    def selu(z):
        return torch.where(z > 0, z, ALPHA * torch.expm1(z.clamp(max=0)))
    _fails(checks.selu, selu)


def test_selu_rejects_constants_rounded_to_two_decimals():
    def selu(z):
        return 1.05 * torch.where(z > 0, z, 1.67 * torch.expm1(z.clamp(max=0)))
    _fails(checks.selu, selu, "full")


def test_selu_rejects_unclamped_exp_whose_gradient_is_nan():
    def selu(z):
        return SCALE * torch.where(z > 0, z, ALPHA * (torch.exp(z) - 1))
    _fails(checks.selu, selu, "gradient at large |z|")


def test_selu_reports_none_and_exceptions_without_raising():
    def returns_none(z):
        pass

    def raises(z):
        raise RuntimeError("shape mismatch")

    _fails(checks.selu, returns_none, "returned None")
    _fails(checks.selu, raises, "raised RuntimeError")


def test_checker_reports_are_deterministic(capsys):
    def wrong(z):
        return torch.where(z > 0, z, ALPHA * torch.expm1(z.clamp(max=0)))
    checks.selu(wrong)
    first = capsys.readouterr().out
    checks.selu(wrong)
    assert capsys.readouterr().out == first and "✗ selu" in first
