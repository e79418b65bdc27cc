"""The chapter 09 checkers accept the reference solutions and reject realistic mistakes,
each named for the mistake.  (Hanging, exiting, flooding, replaying and rebinding are
covered for every registered checker by tests/test_checker_sandbox.py.)"""

import torch
from torch import nn

from course_utils import checks


def _says(result, text):
    return any(text in m for m in result.messages)


# ------------------------------------------------------------------------------- dropout
def dropout_ref(x, p, training, generator=None):
    if not training or p == 0:
        return x.clone()
    if p == 1:
        return torch.zeros_like(x)
    mask = (torch.rand(x.shape, generator=generator) >= p).to(x.dtype)
    return x * mask / (1 - p)


def _dropout_variant(*, no_scale=False, multiply=False, keep_p=False, in_eval=False,
                     shared_mask=False, global_rng=False, nan_at_one=False, by_p=False):
    def fn(x, p, training, generator=None):
        if (not training and not in_eval) or p == 0:
            return x.clone()
        if p == 1 and not nan_at_one:
            return torch.zeros_like(x)
        shape = x.shape[-1:] if shared_mask else x.shape
        u = torch.rand(shape) if global_rng else torch.rand(shape, generator=generator)
        mask = ((u < p) if keep_p else (u >= p)).to(x.dtype)
        if no_scale:
            return x * mask
        if multiply:
            return x * mask * (1 - p)
        if by_p:
            return x * mask / p
        return x * mask / (1 - p)
    return fn


def test_dropout_reference_and_bernoulli_version_pass():
    assert checks.dropout(dropout_ref, verbose=False).passed

    def bernoulli(x, p, training, generator=None):
        if not training or p == 0:
            return x.clone()
        if p == 1:
            return torch.zeros_like(x)
        return x * torch.empty_like(x).bernoulli_(1 - p, generator=generator) / (1 - p)
    assert checks.dropout(bernoulli, verbose=False).passed


def test_dropout_rejects_missing_scaling():
    r = checks.dropout(_dropout_variant(no_scale=True), verbose=False)
    assert not r.passed and _says(r, "not scaled")


def test_dropout_rejects_multiplying_by_keep_probability():
    r = checks.dropout(_dropout_variant(multiply=True), verbose=False)
    assert not r.passed and _says(r, "x·(1 − p)")


def test_dropout_rejects_dividing_by_p():
    assert not checks.dropout(_dropout_variant(by_p=True), verbose=False).passed


def test_dropout_rejects_keeping_with_probability_p():
    r = checks.dropout(_dropout_variant(keep_p=True), verbose=False)
    assert not r.passed


def test_dropout_rejects_dropping_in_eval_mode():
    r = checks.dropout(_dropout_variant(in_eval=True), verbose=False)
    assert not r.passed and _says(r, "evaluation mode")


def test_dropout_rejects_one_mask_shared_by_all_rows():
    r = checks.dropout(_dropout_variant(shared_mask=True), verbose=False)
    assert not r.passed and _says(r, "same mask repeats")


def test_dropout_rejects_ignoring_the_generator():
    r = checks.dropout(_dropout_variant(global_rng=True), verbose=False)
    assert not r.passed and _says(r, "draw the mask from the generator")


def test_dropout_rejects_nan_for_p_one():
    r = checks.dropout(_dropout_variant(nan_at_one=True), verbose=False)
    assert not r.passed and _says(r, "p = 1")


def test_dropout_rejects_a_non_differentiable_version():
    def detached(x, p, training, generator=None):
        return dropout_ref(x.detach(), p, training, generator)
    r = checks.dropout(detached, verbose=False)
    assert not r.passed and _says(r, "not differentiable")


# ----------------------------------------------------------------------------- penalties
def l1_ref(model, lam):
    return lam * sum(p.abs().sum() for n, p in model.named_parameters() if n.endswith("weight"))


def l2_ref(model, lam):
    return lam * sum((p ** 2).sum() for n, p in model.named_parameters() if n.endswith("weight"))


def test_penalties_reference_passes():
    assert checks.l1_penalty(l1_ref, verbose=False).passed
    assert checks.l2_penalty(l2_ref, verbose=False).passed


def test_penalty_rejects_penalizing_biases():
    r = checks.l2_penalty(lambda m, lam: lam * sum((p ** 2).sum() for p in m.parameters()),
                          verbose=False)
    assert not r.passed and _says(r, "not penalized")


def test_penalty_rejects_mean_instead_of_sum():
    r = checks.l1_penalty(lambda m, lam: lam * sum(p.abs().mean() for n, p in m.named_parameters()
                                                   if n.endswith("weight")), verbose=False)
    assert not r.passed and _says(r, "not the mean")


def test_penalty_rejects_the_norm_instead_of_its_square():
    r = checks.l2_penalty(lambda m, lam: lam * sum(p.norm() for n, p in m.named_parameters()
                                                   if n.endswith("weight")), verbose=False)
    assert not r.passed and _says(r, "no square root")


def test_penalty_rejects_a_float_result():
    r = checks.l2_penalty(lambda m, lam: l2_ref(m, lam).item(), verbose=False)
    assert not r.passed and _says(r, "no .item()")


def test_penalty_rejects_forgetting_lam():
    r = checks.l1_penalty(lambda m, lam: l1_ref(m, 1.0), verbose=False)
    assert not r.passed and _says(r, "multiply by lam")


def test_penalty_rejects_squares_for_l1():
    assert not checks.l1_penalty(l2_ref, verbose=False).passed


def test_penalty_rejects_a_detached_sum():
    r = checks.l2_penalty(lambda m, lam: l2_ref(m, lam).detach(), verbose=False)
    assert not r.passed and _says(r, "not differentiable")


# ------------------------------------------------------------------------ early stopping
def stop_ref(val_losses, patience, min_delta=0.0):
    if len(val_losses) <= patience:
        return False
    best = min(val_losses[:-patience])
    return not any(v < best - min_delta for v in val_losses[-patience:])


def test_should_stop_reference_passes():
    assert checks.should_stop(stop_ref, verbose=False).passed


def test_should_stop_rejects_comparing_with_the_previous_loss():
    def previous(val_losses, patience, min_delta=0.0):
        if len(val_losses) <= patience:
            return False
        return all(val_losses[i] >= val_losses[i - 1] - min_delta
                   for i in range(len(val_losses) - patience, len(val_losses)))
    r = checks.should_stop(previous, verbose=False)
    assert not r.passed and _says(r, "best (minimum)")


def test_should_stop_rejects_a_window_one_epoch_too_long():
    def late(val_losses, patience, min_delta=0.0):
        if len(val_losses) <= patience + 1:
            return False
        best = min(val_losses[:-(patience + 1)])
        return not any(v < best - min_delta for v in val_losses[-(patience + 1):])
    assert not checks.should_stop(late, verbose=False).passed


def test_should_stop_rejects_stopping_without_earlier_losses():
    def eager(val_losses, patience, min_delta=0.0):
        earlier = val_losses[:-patience] or [float("-inf")]
        return not any(v < min(earlier) - min_delta for v in val_losses[-patience:])
    r = checks.should_stop(eager, verbose=False)
    assert not r.passed and _says(r, "no earlier epochs")


def test_should_stop_rejects_ignoring_min_delta():
    r = checks.should_stop(lambda v, p, min_delta=0.0: stop_ref(v, p), verbose=False)
    assert not r.passed and _says(r, "more than min_delta")


def test_should_stop_rejects_non_strict_comparison():
    def non_strict(val_losses, patience, min_delta=0.0):
        if len(val_losses) <= patience:
            return False
        best = min(val_losses[:-patience])
        return not any(v <= best - min_delta for v in val_losses[-patience:])
    assert not checks.should_stop(non_strict, verbose=False).passed


def test_should_stop_rejects_a_string_answer():
    r = checks.should_stop(lambda v, p, min_delta=0.0: str(stop_ref(v, p, min_delta)), verbose=False)
    assert not r.passed


# ------------------------------------------------------------------------------ MC dropout
_DROPS = (nn.Dropout,)


def mc_ref(model, X, n_samples=30):
    modes = {m: m.training for m in model.modules()}
    model.eval()
    for m in model.modules():
        if isinstance(m, _DROPS):
            m.train()
    with torch.no_grad():
        probs = torch.stack([torch.softmax(model(X), -1) for _ in range(n_samples)])
    for m, t in modes.items():
        m.train(t)
    return probs.mean(0), probs.std(0)


def _mc_variant(*, all_train=False, no_restore=False, no_softmax=False, no_dropout=False,
                grad=False, fixed_n=False):
    def fn(model, X, n_samples=30):
        modes = {m: m.training for m in model.modules()}
        model.train() if all_train else model.eval()
        if not no_dropout:
            for m in model.modules():
                if isinstance(m, _DROPS):
                    m.train()
        n = 30 if fixed_n else n_samples
        with torch.set_grad_enabled(grad):
            outs = [model(X) for _ in range(n)]
        probs = torch.stack(outs if no_softmax else [torch.softmax(o, -1) for o in outs])
        if not no_restore:
            for m, t in modes.items():
                m.train(t)
        return probs.mean(0), probs.std(0, unbiased=False)
    return fn


def test_mc_dropout_reference_passes():
    assert checks.mc_dropout_predict(mc_ref, verbose=False).passed


def test_mc_rejects_batch_norm_in_training_mode():
    r = checks.mc_dropout_predict(_mc_variant(all_train=True), verbose=False)
    assert not r.passed and _says(r, "only the dropout layers")


def test_mc_rejects_not_restoring_the_modes():
    r = checks.mc_dropout_predict(_mc_variant(no_restore=True), verbose=False)
    assert not r.passed and _says(r, "modes were not restored")


def test_mc_rejects_averaging_logits():
    r = checks.mc_dropout_predict(_mc_variant(no_softmax=True), verbose=False)
    assert not r.passed and _says(r, "softmax")


def test_mc_rejects_dropout_switched_off():
    r = checks.mc_dropout_predict(_mc_variant(no_dropout=True), verbose=False)
    assert not r.passed and _says(r, "all zeros")


def test_mc_rejects_results_with_gradients():
    r = checks.mc_dropout_predict(_mc_variant(grad=True), verbose=False)
    assert not r.passed and _says(r, "torch.no_grad")


def test_mc_rejects_a_fixed_number_of_passes():
    r = checks.mc_dropout_predict(_mc_variant(fixed_n=True), verbose=False)
    assert not r.passed and _says(r, "n_samples")
