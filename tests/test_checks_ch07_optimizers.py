"""Chapter 07 checkers: the reference passes; realistic mistakes each fail."""

import torch

from course_utils import checks
from course_utils.scratch.optim import functional as F


def _passes(checker, fn):
    return checker(fn, verbose=False).passed


# ------------------------------------------------------------------ sgd_momentum_step

def test_sgd_reference_passes():
    assert _passes(checks.sgd_momentum_step, F.sgd_momentum_step)


def test_sgd_rejects_dampened_velocity_one_minus_momentum():
    def dampened(param, grad, velocity, lr, momentum=0.9, nesterov=False):
        v = momentum * velocity + (1 - momentum) * grad
        d = grad + momentum * v if nesterov else v
        return param - lr * d, v
    assert not _passes(checks.sgd_momentum_step, dampened)


def test_sgd_rejects_keras_convention_lr_inside_velocity():
    def keras(param, grad, velocity, lr, momentum=0.9, nesterov=False):
        v = momentum * velocity - lr * grad
        d = momentum * v - lr * grad if nesterov else v
        return param + d, v
    assert not _passes(checks.sgd_momentum_step, keras)


def test_sgd_rejects_ignoring_nesterov():
    def no_nesterov(param, grad, velocity, lr, momentum=0.9, nesterov=False):
        v = momentum * velocity + grad
        return param - lr * v, v
    r = checks.sgd_momentum_step(no_nesterov, verbose=False)
    assert not r.passed and any("nesterov" in m.lower() for m in r.messages)


def test_sgd_rejects_step_with_old_velocity():
    def old_velocity(param, grad, velocity, lr, momentum=0.9, nesterov=False):
        new_p = param - lr * (grad + momentum * velocity if nesterov else velocity)
        return new_p, momentum * velocity + grad
    assert not _passes(checks.sgd_momentum_step, old_velocity)


def test_sgd_rejects_wrong_default_momentum():
    def default_half(param, grad, velocity, lr, momentum=0.5, nesterov=False):
        return F.sgd_momentum_step(param, grad, velocity, lr, momentum, nesterov)
    r = checks.sgd_momentum_step(default_half, verbose=False)
    assert not r.passed and any("default arguments" in m for m in r.messages)


def test_sgd_rejects_in_place_update():
    def in_place(param, grad, velocity, lr, momentum=0.9, nesterov=False):
        velocity.mul_(momentum).add_(grad)
        param.sub_(lr * (grad + momentum * velocity if nesterov else velocity))
        return param, velocity
    r = checks.sgd_momentum_step(in_place, verbose=False)
    assert not r.passed and any("in place" in m for m in r.messages)


def test_sgd_reports_none_and_exceptions_without_raising():
    def returns_none(param, grad, velocity, lr, momentum=0.9, nesterov=False):
        pass

    def raises(param, grad, velocity, lr, momentum=0.9, nesterov=False):
        raise RuntimeError("boom")
    r = checks.sgd_momentum_step(returns_none, verbose=False)
    assert not r.passed and any("returned None" in m for m in r.messages)
    r = checks.sgd_momentum_step(raises, verbose=False)
    assert not r.passed and any("RuntimeError: boom" in m for m in r.messages)


def test_sgd_reports_a_single_tensor_instead_of_a_tuple():
    def only_param(param, grad, velocity, lr, momentum=0.9, nesterov=False):
        return F.sgd_momentum_step(param, grad, velocity, lr, momentum, nesterov)[0]
    r = checks.sgd_momentum_step(only_param, verbose=False)
    assert not r.passed and any("expected a tuple" in m for m in r.messages)


def test_not_implemented_and_wrong_signature_are_reported():
    def todo(param, grad, velocity, lr, momentum=0.9, nesterov=False):
        raise NotImplementedError()
    r = checks.sgd_momentum_step(todo, verbose=False)
    assert not r.passed and "not implemented yet" in r.messages[0]
    r = checks.adam_step(lambda param, grad, m, v: None, verbose=False)
    assert not r.passed and "cannot be called" in r.messages[0]


# ------------------------------------------------------------------ adagrad_step

def test_adagrad_reference_passes():
    assert _passes(checks.adagrad_step, F.adagrad_step)


def test_adagrad_rejects_eps_inside_the_square_root():
    def eps_inside(param, grad, sum_sq, lr=0.01, eps=1e-10):
        s = sum_sq + grad**2
        return param - lr * grad / (s + eps).sqrt(), s
    r = checks.adagrad_step(eps_inside, verbose=False)
    assert not r.passed and any("large eps" in m for m in r.messages)


def test_adagrad_rejects_not_accumulating_the_squares():
    def no_sum(param, grad, sum_sq, lr=0.01, eps=1e-10):
        s = grad**2
        return param - lr * grad / (s.sqrt() + eps), s
    assert not _passes(checks.adagrad_step, no_sum)


def test_adagrad_rejects_missing_square_root():
    def no_sqrt(param, grad, sum_sq, lr=0.01, eps=1e-10):
        s = sum_sq + grad**2
        return param - lr * grad / (s + eps), s
    assert not _passes(checks.adagrad_step, no_sqrt)


def test_adagrad_rejects_dividing_by_the_old_sum():
    def old_sum(param, grad, sum_sq, lr=0.01, eps=1e-10):
        return param - lr * grad / (sum_sq.sqrt() + eps), sum_sq + grad**2
    assert not _passes(checks.adagrad_step, old_sum)


def test_adagrad_reports_none():
    r = checks.adagrad_step(lambda param, grad, sum_sq, lr=0.01, eps=1e-10: None, verbose=False)
    assert not r.passed and any("returned None" in m for m in r.messages)


# ------------------------------------------------------------------ rmsprop_step

def test_rmsprop_reference_passes():
    assert _passes(checks.rmsprop_step, F.rmsprop_step)


def test_rmsprop_rejects_alpha_and_one_minus_alpha_swapped():
    def swapped(param, grad, sq_avg, lr=0.01, alpha=0.99, eps=1e-8):
        s = (1 - alpha) * sq_avg + alpha * grad**2
        return param - lr * grad / (s.sqrt() + eps), s
    assert not _passes(checks.rmsprop_step, swapped)


def test_rmsprop_rejects_eps_inside_the_square_root():
    def eps_inside(param, grad, sq_avg, lr=0.01, alpha=0.99, eps=1e-8):
        s = alpha * sq_avg + (1 - alpha) * grad**2
        return param - lr * grad / (s + eps).sqrt(), s
    r = checks.rmsprop_step(eps_inside, verbose=False)
    assert not r.passed and any("large eps" in m for m in r.messages)


def test_rmsprop_rejects_missing_square_root():
    def no_sqrt(param, grad, sq_avg, lr=0.01, alpha=0.99, eps=1e-8):
        s = alpha * sq_avg + (1 - alpha) * grad**2
        return param - lr * grad / (s + eps), s
    assert not _passes(checks.rmsprop_step, no_sqrt)


def test_rmsprop_rejects_keras_default_alpha_0_9():
    def keras_default(param, grad, sq_avg, lr=0.01, alpha=0.9, eps=1e-8):
        return F.rmsprop_step(param, grad, sq_avg, lr, alpha, eps)
    r = checks.rmsprop_step(keras_default, verbose=False)
    assert not r.passed and any("default arguments" in m for m in r.messages)


def test_rmsprop_reports_exceptions_without_raising():
    def bad(param, grad, sq_avg, lr=0.01, alpha=0.99, eps=1e-8):
        return param.sqrt(grad)  # a typo that raises TypeError
    r = checks.rmsprop_step(bad, verbose=False)
    assert not r.passed and any("raised TypeError" in m for m in r.messages)


# ------------------------------------------------------------------ adam_step

def test_adam_reference_passes():
    assert _passes(checks.adam_step, F.adam_step)


def test_adam_rejects_missing_bias_correction():
    def no_correction(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad**2
        return param - lr * m / (v.sqrt() + eps), m, v
    assert not _passes(checks.adam_step, no_correction)


def test_adam_rejects_t_counted_from_zero():
    def t_from_zero(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        return F.adam_step(param, grad, m, v, t + 1, lr, beta1, beta2, eps)
    assert not _passes(checks.adam_step, t_from_zero)


def test_adam_rejects_returning_bias_corrected_moments():
    def corrected_state(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        p, m, v = F.adam_step(param, grad, m, v, t, lr, beta1, beta2, eps)
        return p, m / (1 - beta1**t), v / (1 - beta2**t)
    r = checks.adam_step(corrected_state, verbose=False)
    assert not r.passed and any("new_m" in m for m in r.messages)


def test_adam_rejects_eps_inside_the_square_root():
    def eps_inside(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad**2
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        return param - lr * m_hat / (v_hat + eps).sqrt(), m, v
    r = checks.adam_step(eps_inside, verbose=False)
    assert not r.passed and any("large eps" in m for m in r.messages)


def test_adam_rejects_gradient_instead_of_first_moment_in_the_step():
    def uses_grad(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad**2
        return param - lr * grad / ((v / (1 - beta2**t)).sqrt() + eps), m, v
    assert not _passes(checks.adam_step, uses_grad)


def test_adam_reports_none_and_a_wrong_number_of_results():
    r = checks.adam_step(lambda param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999,
                         eps=1e-8: None, verbose=False)
    assert not r.passed and any("returned None" in m for m in r.messages)

    def two(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        return F.adam_step(param, grad, m, v, t, lr, beta1, beta2, eps)[:2]
    r = checks.adam_step(two, verbose=False)
    assert not r.passed and any("of length 2" in m for m in r.messages)


def test_adam_reports_numpy_results():
    def numpy_out(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        return tuple(x.numpy() for x in F.adam_step(param, grad, m, v, t, lr, beta1, beta2, eps))
    r = checks.adam_step(numpy_out, verbose=False)
    assert not r.passed and any("should be a torch.Tensor" in m for m in r.messages)


def test_checkers_print_a_deterministic_report(capsys):
    checks.adam_step(F.adam_step)
    first = capsys.readouterr().out
    checks.adam_step(F.adam_step)
    assert capsys.readouterr().out == first and first.startswith("✓ adam_step: all")


def test_checkers_do_not_change_the_global_random_state():
    torch.manual_seed(5)
    a = torch.rand(1)
    torch.manual_seed(5)
    checks.rmsprop_step(F.rmsprop_step, verbose=False)
    assert torch.equal(torch.rand(1), a)
