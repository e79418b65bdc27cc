"""Checkers of chapter 02: the reference passes, realistic mistakes fail (named per mistake)."""

import math

import numpy as np
import pytest
import torch
from scipy.special import expit
from torch import nn

from course_utils import checks
from course_utils.chapters import ch02_vanishing_exploding_gradients as gradients


def passes(check, fn):
    return check(fn, verbose=False).passed


def messages(check, fn):
    r = check(fn, verbose=False)
    assert not r.passed
    return "\n".join(r.messages)


# -- sigmoid ---------------------------------------------------------------------------------

def test_sigmoid_reference_and_correct_variants_pass():
    assert passes(checks.sigmoid, gradients.sigmoid)
    assert passes(checks.sigmoid, lambda z: expit(np.asarray(z, dtype=float)))
    assert passes(checks.sigmoid, lambda z: 0.5 * (1 + np.tanh(np.asarray(z, dtype=float) / 2)))

    def clipped(z):
        z = np.clip(np.asarray(z, dtype=float), -500, 500)
        return 1 / (1 + np.exp(-z))
    assert passes(checks.sigmoid, clipped)

    def masked(z):
        z = np.asarray(z, dtype=float)
        out = np.empty_like(z)
        pos = z >= 0
        out[pos] = 1 / (1 + np.exp(-z[pos]))
        e = np.exp(z[~pos])
        out[~pos] = e / (1 + e)
        return out
    assert passes(checks.sigmoid, masked)


def test_rejects_naive_formula_that_overflows():
    text = messages(checks.sigmoid, lambda z: 1 / (1 + np.exp(-z)))
    assert "overflow" in text and "np.abs" in text


def test_rejects_np_where_that_evaluates_both_branches():
    def both(z):
        return np.where(z >= 0, 1 / (1 + np.exp(-z)), np.exp(z) / (1 + np.exp(z)))
    assert "NumPy warned" in messages(checks.sigmoid, both)


def test_rejects_exp_z_over_one_plus_exp_z_nan_at_plus_1000():
    text = messages(checks.sigmoid, lambda z: np.exp(z) / (1 + np.exp(z)))
    assert "NaN" in text


def test_rejects_sign_error():
    assert "σ(0) = 0.5" in messages(checks.sigmoid, lambda z: 1 / (1 + np.exp(np.clip(z, -500, 500))))


def test_rejects_integer_output_from_empty_like():
    def int_out(z):
        out = np.empty_like(z)
        e = np.exp(-np.abs(z))
        out[...] = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
        return out
    text = messages(checks.sigmoid, int_out)
    assert "integer input" in text and "dtype" in text


def test_rejects_scalar_only_math_exp():
    text = messages(checks.sigmoid, lambda z: 1 / (1 + math.exp(-z)))
    assert "raised TypeError" in text


def test_rejects_flattened_output():
    assert "shape" in messages(checks.sigmoid, lambda z: gradients.sigmoid(z).ravel())


def test_rejects_in_place_modification_of_z():
    def in_place(z):
        np.clip(z, -500, 500, out=z)  # fine numerically, but it changes the caller's array
        return 1 / (1 + np.exp(-z))
    assert "in place" in messages(checks.sigmoid, in_place)


def test_sigmoid_not_implemented_none_and_raising():
    def todo(z):
        raise NotImplementedError()
    assert "not implemented" in messages(checks.sigmoid, todo)
    assert "returned None" in messages(checks.sigmoid, lambda z: None)

    def boom(z):
        raise RuntimeError("boom")
    assert "raised RuntimeError: boom" in messages(checks.sigmoid, boom)
    assert "expected a function" in messages(checks.sigmoid, 3)


# -- sigmoid_derivative -----------------------------------------------------------------------

def test_sigmoid_derivative_reference_and_variants_pass():
    assert passes(checks.sigmoid_derivative, gradients.sigmoid_derivative)

    def via_sigmoid(z):
        s = gradients.sigmoid(z)
        return s * (1 - s)
    assert passes(checks.sigmoid_derivative, via_sigmoid)
    assert passes(checks.sigmoid_derivative,
                  lambda z: expit(np.asarray(z, float)) * (1 - expit(np.asarray(z, float))))


def test_rejects_derivative_formula_applied_to_z():
    text = messages(checks.sigmoid_derivative, lambda z: z * (1 - z))
    assert "not to z" in text


def test_rejects_naive_derivative_that_overflows_to_nan():
    text = messages(checks.sigmoid_derivative, lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2)
    assert "NaN" in text or "NumPy warned" in text


def test_rejects_tanh_style_one_minus_square():
    assert not passes(checks.sigmoid_derivative, lambda z: 1 - gradients.sigmoid(z) ** 2)


def test_rejects_returning_sigmoid_itself():
    assert not passes(checks.sigmoid_derivative, gradients.sigmoid)


def test_rejects_plus_instead_of_minus():
    def plus(z):
        s = gradients.sigmoid(z)
        return s * (1 + s)
    assert not passes(checks.sigmoid_derivative, plus)


def test_sigmoid_derivative_none_and_raising():
    assert "returned None" in messages(checks.sigmoid_derivative, lambda z: None)
    assert "raised ValueError" in messages(checks.sigmoid_derivative,
                                           lambda z: (_ for _ in ()).throw(ValueError("x")))


# -- gradient_norms_per_layer ----------------------------------------------------------------

def _linears(model):
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def reference(model, X, y, loss_fn):
    model.zero_grad()
    loss_fn(model(X), y).backward()
    return [float(m.weight.grad.norm()) for m in _linears(model)]


def test_gradient_norms_reference_and_variants_pass():
    assert passes(checks.gradient_norms_per_layer, reference)

    def tensors_in_a_list(model, X, y, loss_fn):
        for p in model.parameters():
            p.grad = None
        loss_fn(model(X), y).backward()
        return [torch.linalg.vector_norm(m.weight.grad) for m in _linears(model)]
    assert passes(checks.gradient_norms_per_layer, tensors_in_a_list)


def test_rejects_forgetting_to_zero_the_gradients():
    def accumulate(model, X, y, loss_fn):
        loss_fn(model(X), y).backward()
        return [float(m.weight.grad.norm()) for m in _linears(model)]
    assert "stale gradients" in messages(checks.gradient_norms_per_layer, accumulate)


def test_rejects_including_biases_and_batchnorm_parameters():
    def all_params(model, X, y, loss_fn):
        model.zero_grad()
        loss_fn(model(X), y).backward()
        return [float(p.grad.norm()) for p in model.parameters()]
    assert "one per nn.Linear" in messages(checks.gradient_norms_per_layer, all_params)


def test_rejects_reverse_order():
    def backwards(model, X, y, loss_fn):
        return reference(model, X, y, loss_fn)[::-1]
    assert "reverse order" in messages(checks.gradient_norms_per_layer, backwards)


def test_rejects_iterating_only_top_level_children():
    def top_level(model, X, y, loss_fn):
        model.zero_grad()
        loss_fn(model(X), y).backward()
        return [float(m.weight.grad.norm()) for m in model if isinstance(m, nn.Linear)]
    assert "nested blocks" in messages(checks.gradient_norms_per_layer, top_level)


def test_rejects_weight_norm_instead_of_gradient_norm():
    def weights(model, X, y, loss_fn):
        model.zero_grad()
        loss_fn(model(X), y).backward()
        return [float(m.weight.detach().norm()) for m in _linears(model)]
    assert not passes(checks.gradient_norms_per_layer, weights)


def test_rejects_squared_norms():
    def squared(model, X, y, loss_fn):
        return [n ** 2 for n in reference(model, X, y, loss_fn)]
    assert not passes(checks.gradient_norms_per_layer, squared)


def test_rejects_switching_the_model_to_train_mode():
    def train_mode(model, X, y, loss_fn):
        model.train()
        return reference(model, X, y, loss_fn)
    assert "changed the model's mode" in messages(checks.gradient_norms_per_layer, train_mode)


def test_rejects_autograd_grad_that_leaves_stale_grads():
    def side_channel(model, X, y, loss_fn):
        ws = [m.weight for m in _linears(model)]
        gs = torch.autograd.grad(loss_fn(model(X), y), ws)
        return [float(g.norm()) for g in gs]
    assert "not the gradient of this batch" in messages(checks.gradient_norms_per_layer,
                                                        side_channel)


def test_rejects_a_stacked_tensor_instead_of_a_list():
    def stacked(model, X, y, loss_fn):
        return torch.tensor(reference(model, X, y, loss_fn))
    assert "Python list" in messages(checks.gradient_norms_per_layer, stacked)


@pytest.mark.parametrize("bad", [lambda m, X, y, f: None,
                                 lambda m, X, y, f: ["a", "b", "c"],
                                 lambda m, X, y, f: 1 / 0,
                                 lambda m, X: [1.0]])
def test_gradient_norms_checker_never_raises(bad):
    r = checks.gradient_norms_per_layer(bad, verbose=False)
    assert not r.passed and r.messages


def test_report_is_deterministic(capsys):
    checks.gradient_norms_per_layer(reference)
    checks.sigmoid(lambda z: 1 / (1 + np.exp(-z)))
    first = capsys.readouterr().out
    checks.gradient_norms_per_layer(reference)
    checks.sigmoid(lambda z: 1 / (1 + np.exp(-z)))
    assert capsys.readouterr().out == first
    assert first.startswith("✓ gradient_norms_per_layer: all")
