"""The batchnorm_forward checker accepts the reference and rejects realistic mistakes."""

import pytest
import torch

from course_utils import checks


def reference(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    if training:
        n = x.shape[0]
        mean = x.mean(dim=0)
        var = x.var(dim=0, unbiased=False)
        new_mean = (1 - momentum) * running_mean + momentum * mean.detach()
        new_var = (1 - momentum) * running_var + momentum * var.detach() * n / (n - 1)
    else:
        mean, var = running_mean, running_var
        new_mean, new_var = running_mean.clone(), running_var.clone()
    out = gamma * (x - mean) / torch.sqrt(var + eps) + beta
    return out, new_mean, new_var


def _variant(*, norm_unbiased=False, running_biased=False, keras=False, eps_outside=False,
             update_in_eval=False, running_in_training=False, batch_in_eval=False,
             in_place=False, detach_stats=False, swap_gamma_beta=False):
    """The reference with one realistic mistake switched on."""
    def fn(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
        n = x.shape[0]
        mean = x.mean(dim=0)
        var = x.var(dim=0, unbiased=False)
        if detach_stats:
            mean, var = mean.detach(), var.detach()
        run_var_batch = var.detach() if running_biased else var.detach() * n / max(n - 1, 1)
        if keras:
            new_mean = momentum * running_mean + (1 - momentum) * mean.detach()
            new_var = momentum * running_var + (1 - momentum) * run_var_batch
        else:
            new_mean = (1 - momentum) * running_mean + momentum * mean.detach()
            new_var = (1 - momentum) * running_var + momentum * run_var_batch
        if training:
            use_mean, use_var = mean, x.var(dim=0, unbiased=True) if norm_unbiased else var
            if running_in_training:
                use_mean, use_var = running_mean, running_var
        else:
            use_mean, use_var = (mean, var) if batch_in_eval else (running_mean, running_var)
            if not update_in_eval:
                new_mean, new_var = running_mean.clone(), running_var.clone()
        if in_place:
            running_mean.copy_(new_mean)
            running_var.copy_(new_var)
            new_mean, new_var = running_mean, running_var
        denom = torch.sqrt(use_var) + eps if eps_outside else torch.sqrt(use_var + eps)
        x_hat = (x - use_mean) / denom
        out = x_hat * beta + gamma if swap_gamma_beta else gamma * x_hat + beta
        return out, new_mean, new_var
    return fn


def _run(fn):
    return checks.batchnorm_forward(fn, verbose=False)


def _says(result, text):
    return any(text in m for m in result.messages)


def test_reference_passes():
    r = _run(reference)
    assert r.passed and r.n_cases >= 20


def test_rejects_unbiased_variance_in_normalization():
    r = _run(_variant(norm_unbiased=True))
    assert not r.passed and _says(r, "biased* batch variance")


def test_rejects_biased_variance_in_running_var():
    r = _run(_variant(running_biased=True))
    assert not r.passed and _says(r, "running_var is updated with the *unbiased*")


def test_rejects_keras_momentum_convention():
    r = _run(_variant(keras=True))
    assert not r.passed and _says(r, "Keras")


def test_rejects_eps_outside_the_sqrt():
    r = _run(_variant(eps_outside=True))
    assert not r.passed and _says(r, "inside the square root")


def test_rejects_running_stats_updated_in_eval():
    r = _run(_variant(update_in_eval=True))
    assert not r.passed and _says(r, "must come back unchanged")


def test_rejects_running_stats_used_in_training():
    r = _run(_variant(running_in_training=True))
    assert not r.passed and _says(r, "batch's own mean and variance")


def test_rejects_batch_stats_used_in_eval():
    r = _run(_variant(batch_in_eval=True))
    assert not r.passed and _says(r, "in evaluation mode normalize with running_mean")


def test_rejects_updating_running_stats_in_place():
    r = _run(_variant(in_place=True))
    assert not r.passed and _says(r, "in place")


def test_rejects_swapped_gamma_and_beta():
    assert not _run(_variant(swap_gamma_beta=True)).passed


def test_rejects_detached_batch_statistics():
    r = _run(_variant(detach_stats=True))
    assert not r.passed and _says(r, "d out / d x")


def test_rejects_a_numpy_implementation_without_gradients():
    def numpy_version(x, gamma, beta, running_mean, running_var, training, momentum=0.1,
                      eps=1e-5):
        out, m, v = reference(x.detach(), gamma.detach(), beta.detach(), running_mean,
                              running_var, training, momentum, eps)
        return torch.from_numpy(out.numpy()), m, v
    r = _run(numpy_version)
    assert not r.passed and _says(r, "not differentiable")


def test_rejects_returning_only_the_output():
    r = _run(lambda x, gamma, beta, rm, rv, training, momentum=0.1, eps=1e-5:
             reference(x, gamma, beta, rm, rv, training, momentum, eps)[0])
    assert not r.passed and _says(r, "expected a tuple")


def test_rejects_none_and_does_not_raise():
    r = _run(lambda x, gamma, beta, rm, rv, training, momentum=0.1, eps=1e-5: None)
    assert not r.passed and _says(r, "got None")


def test_reports_an_exception_without_raising():
    def broken(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
        raise RuntimeError("shape mismatch")
    r = _run(broken)
    assert not r.passed and _says(r, "raised RuntimeError: shape mismatch")


def test_not_implemented_and_wrong_signature_stop_early():
    def todo(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
        raise NotImplementedError()
    r = _run(todo)
    assert not r.passed and _says(r, "not implemented yet") and r.n_cases == 1
    r = _run(lambda x, gamma, beta: x)
    assert not r.passed and _says(r, "keep the signature")


@pytest.mark.parametrize("bad", [None, 3, "batchnorm_forward"])
def test_non_function_is_reported(bad):
    assert not _run(bad).passed


def test_report_is_printed(capsys):
    checks.batchnorm_forward(reference)
    assert "batchnorm_forward: all" in capsys.readouterr().out
