"""Checkers of chapter 10 accept correct answers and reject the usual mistakes."""

import copy

import pytest
from torch import nn

from course_utils import checks
from course_utils.scratch import transfer as tr


def run(checker, fn):
    result = checker(fn, verbose=False)
    assert isinstance(result, checks.CheckResult)
    return result


def text(result):
    return "\n".join(result.messages)


# ---------------------------------------------------------------- replace_head
def replace_head_ref(model, n_classes):
    idx = max(i for i, m in enumerate(model) if isinstance(m, nn.Linear))
    body = copy.deepcopy(model[:idx])
    return nn.Sequential(*body, nn.Linear(model[idx].in_features, n_classes))


def replace_head_copy_whole(model, n_classes):
    new = copy.deepcopy(model)
    new[-1] = nn.Linear(new[-1].in_features, n_classes)
    return new


def shares_body(model, n_classes):
    return nn.Sequential(*list(model)[:-1], nn.Linear(model[-1].in_features, n_classes))


def in_place(model, n_classes):
    model[-1] = nn.Linear(model[-1].in_features, n_classes)
    return model


def appends_head(model, n_classes):
    return nn.Sequential(*copy.deepcopy(model), nn.Linear(model[-1].out_features, n_classes))


def wrong_in_features(model, n_classes):
    return nn.Sequential(*copy.deepcopy(model[:-1]), nn.Linear(model[0].in_features, n_classes))


def drops_activations(model, n_classes):
    lin = [copy.deepcopy(m) for m in model if isinstance(m, nn.Linear)]
    return nn.Sequential(*lin[:-1], nn.Linear(lin[-1].in_features, n_classes))


@pytest.mark.parametrize("fn", [replace_head_ref, replace_head_copy_whole, tr.replace_head])
def test_replace_head_accepts_correct(fn):
    result = run(checks.replace_head, fn)
    assert result.passed, text(result)


@pytest.mark.parametrize("fn, message", [
    (shares_body, "shares layers"), (in_place, "modified its argument"),
    (appends_head, "expected"), (wrong_in_features, "in_features"),
    (drops_activations, "modules"),
])
def test_replace_head_rejects_mistakes(fn, message):
    result = run(checks.replace_head, fn)
    assert not result.passed and message in text(result), text(result)


# ---------------------------------------------------------- freeze_lower_layers
def freeze_ref(model, n_trainable):
    mods = [m for m in model.modules() if list(m.parameters(recurse=False))]
    for p in model.parameters():
        p.requires_grad = False
    for m in mods[len(mods) - n_trainable:]:
        for p in m.parameters():
            p.requires_grad = True
    return model


def counts_every_module(model, n_trainable):
    for p in model.parameters():
        p.requires_grad = False
    for m in list(model)[len(model) - n_trainable:]:
        for p in m.parameters():
            p.requires_grad = True
    return model


def minus_zero_slice(model, n_trainable):
    mods = [m for m in model if list(m.parameters())]
    for p in model.parameters():
        p.requires_grad = False
    for m in mods[-n_trainable:]:
        for p in m.parameters():
            p.requires_grad = True
    return model


def counts_tensors(model, n_trainable):
    params = list(model.parameters())
    for i, p in enumerate(params):
        p.requires_grad = i >= len(params) - n_trainable
    return model


def freezes_the_top(model, n_trainable):
    mods = [m for m in model if list(m.parameters())]
    for i, m in enumerate(mods):
        for p in m.parameters():
            p.requires_grad = i >= n_trainable
    return model


def never_unfreezes(model, n_trainable):
    mods = [m for m in model if list(m.parameters())]
    for m in mods[:len(mods) - n_trainable]:
        for p in m.parameters():
            p.requires_grad = False
    return model


def returns_nothing(model, n_trainable):
    freeze_ref(model, n_trainable)


@pytest.mark.parametrize("fn", [freeze_ref, tr.freeze_lower_layers])
def test_freeze_accepts_correct(fn):
    result = run(checks.freeze_lower_layers, fn)
    assert result.passed, text(result)


@pytest.mark.parametrize("fn, message", [
    (counts_every_module, "expected ["), (minus_zero_slice, "mods[-0:]"),
    (counts_tensors, "expected ["), (freezes_the_top, "expected ["),
    (never_unfreezes, "even if they were frozen"), (returns_nothing, "return model"),
])
def test_freeze_rejects_mistakes(fn, message):
    result = run(checks.freeze_lower_layers, fn)
    assert not result.passed and message in text(result), text(result)


# ------------------------------------------------------ discriminative_lr_groups
def groups_ref(model, lr, decay):
    mods = [m for m in model.modules() if list(m.parameters(recurse=False))]
    return [{"params": list(m.parameters(recurse=False)), "lr": lr * decay ** (len(mods) - 1 - i)}
            for i, m in enumerate(mods)]


def reversed_rates(model, lr, decay):
    mods = [m for m in model.modules() if list(m.parameters(recurse=False))]
    return [{"params": list(m.parameters(recurse=False)), "lr": lr * decay ** i} for i, m in enumerate(mods)]


def off_by_one(model, lr, decay):
    mods = [m for m in model.modules() if list(m.parameters(recurse=False))]
    return [{"params": list(m.parameters(recurse=False)), "lr": lr * decay ** (len(mods) - i)}
            for i, m in enumerate(mods)]


def per_tensor(model, lr, decay):
    ps = list(model.parameters())
    return [{"params": [p], "lr": lr * decay ** (len(ps) - 1 - i)} for i, p in enumerate(ps)]


def linear_only(model, lr, decay):
    mods = [m for m in model if isinstance(m, nn.Linear)]
    return [{"params": list(m.parameters()), "lr": lr * decay ** (len(mods) - 1 - i)}
            for i, m in enumerate(mods)]


@pytest.mark.parametrize("fn", [groups_ref, tr.discriminative_lr_groups])
def test_groups_accept_correct(fn):
    result = run(checks.discriminative_lr_groups, fn)
    assert result.passed, text(result)


@pytest.mark.parametrize("fn, message", [
    (reversed_rates, "reversed"), (off_by_one, "learning rates"),
    (per_tensor, "groups (one per module"), (linear_only, "groups (one per module"),
])
def test_groups_reject_mistakes(fn, message):
    result = run(checks.discriminative_lr_groups, fn)
    assert not result.passed and message in text(result), text(result)


# ------------------------------------------------- broken functions never break a checker
def raises(*args):
    raise ValueError("boom")


def not_implemented(*args):
    raise NotImplementedError()


def exits(*args):
    raise SystemExit(1)


@pytest.mark.parametrize("checker", [checks.replace_head, checks.freeze_lower_layers,
                                     checks.discriminative_lr_groups])
@pytest.mark.parametrize("fn, message", [
    (raises, "raised ValueError: boom"), (not_implemented, "not implemented yet"),
    (exits, "sys.exit"), (42, "expected a function"), (lambda: None, "keep the signature"),
])
def test_broken_functions_fail_without_raising(checker, fn, message, capsys):
    result = checker(fn)
    out = capsys.readouterr().out
    assert not result.passed and message in out and "Traceback" not in out


@pytest.mark.parametrize("repeat", range(5))
def test_reference_passes_for_other_draws(repeat):
    for checker, fn in [(checks.replace_head, replace_head_ref), (checks.freeze_lower_layers, freeze_ref),
                        (checks.discriminative_lr_groups, groups_ref)]:
        assert run(checker, fn).passed
