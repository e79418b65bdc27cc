"""Checkers of chapter 10: ``replace_head``, ``freeze_lower_layers``, ``discriminative_lr_groups``.

Every run builds fresh random ``nn.Sequential`` models (depths, widths, activations, a batch
norm or dropout here and there, drawn from the run's own random stream) next to fixed edge
cases (``n_trainable`` = 0 and = all, a model whose lower layers were already frozen)."""

from __future__ import annotations

import torch
from torch import nn

from ._framework import Check, checker

__all__ = ["replace_head", "freeze_lower_layers", "discriminative_lr_groups"]


def _random_model(c: Check, *, extras: bool = True) -> nn.Sequential:
    """A flat Sequential of Linear blocks (with ReLU/Tanh, sometimes BatchNorm1d/Dropout)
    ending in a Linear head; weights from the run's generator."""
    g = c.generator()
    n_hidden = c.integers(1, 4)
    widths = [c.integers(3, 12) for _ in range(n_hidden + 1)] + [c.integers(2, 6)]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            if extras and c.integers(0, 2) == 0:
                layers.append(nn.BatchNorm1d(b))
            layers.append(nn.ReLU() if c.integers(0, 1) else nn.Tanh())
            if extras and c.integers(0, 3) == 0:
                layers.append(nn.Dropout(0.1))
    model = nn.Sequential(*layers)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    return model


def _param_modules(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if any(True for _ in m.parameters(recurse=False))]


# ---------------------------------------------------------------------------- replace_head
def _check_new_model(c: Check, model: nn.Sequential, out, n_classes: int, case: str) -> None:
    last = max(i for i, m in enumerate(model) if isinstance(m, nn.Linear))
    old = model[last]
    if not c.expect(isinstance(out, nn.Sequential), case,
                    f"expected an nn.Sequential, got {type(out).__name__}",
                    "return nn.Sequential(*body_layers, new_head)"):
        return
    if out is model:
        c.fail(case, "returned the model it was given",
               "build a new nn.Sequential from a deep copy of the body (copy.deepcopy)")
        return
    if not c.expect(len(out) == last + 1, case,
                    f"expected {last + 1} modules (the {last} below the last nn.Linear, then the "
                    f"new head), got {len(out)}",
                    "keep every module before the last nn.Linear (activations too) and replace "
                    "that Linear; do not append a head after the old one"):
        return
    head = out[-1]
    if not c.expect(isinstance(head, nn.Linear) and head.in_features == old.in_features
                    and head.out_features == n_classes, case,
                    f"the last module should be nn.Linear({old.in_features}, {n_classes}), got {head!r}",
                    "the new head takes the old head's in_features (the width of the features "
                    "below it) and outputs n_classes"):
        return
    kinds_ok = all(type(a) is type(b) for a, b in zip(out[:-1], model[:last]))
    if not c.expect(kinds_ok, case, "the layers below the head are not the model's layers in "
                    "the same order", "copy every module before the last nn.Linear, in order"):
        return
    mine = {p.data_ptr() for p in model.parameters()}
    shared = any(p.data_ptr() in mine for p in out.parameters())
    if not c.expect(not shared and all(a is not b for a, b in zip(out, model)), case,
                    "the new model shares layers (parameter tensors) with the original",
                    "deep-copy the body: copy.deepcopy(model) or copy.deepcopy(layer) for each; "
                    "nn.Sequential(*model[:-1], ...) reuses the same layer objects, so training "
                    "the new model would change the old one"):
        return
    same = all(torch.equal(a, b) for a, b in zip(
        [p for m in out[:-1] for p in m.parameters()], [p for m in model[:last] for p in m.parameters()]))
    if not c.expect(same, case, "the copied layers' weights differ from the original's",
                    "copy the body as it is (copy.deepcopy), do not re-initialize it"):
        return
    fresh = head is not old and (head.weight.shape != old.weight.shape
                                 or not torch.equal(head.weight, old.weight))
    c.expect(fresh, case, "the head has exactly the old head's weights",
             "the head must be a fresh nn.Linear")


@checker
def replace_head(c: Check):
    """``replace_head(model, n_classes)``: a new ``nn.Sequential`` — a deep copy of every module
    before the last ``nn.Linear``, then a fresh ``nn.Linear(in_features, n_classes)``; the
    original model is left untouched."""
    cases = [("a random MLP", _random_model(c, extras=False), c.integers(2, 9)),
             ("an MLP with batch norm and dropout", _random_model(c), c.integers(2, 9))]
    m = _random_model(c, extras=False)
    cases.append(("n_classes equal to the old number of outputs", m, m[-1].out_features))
    cases.append(("a single Linear layer (no body)", nn.Sequential(nn.Linear(c.integers(3, 8), 4)),
                  c.integers(2, 6)))
    for name, model, n_classes in cases:
        n_modules, flags = len(model), [p.requires_grad for p in model.parameters()]
        ok, out = c.call(model, n_classes, case=name)
        if not ok:
            continue
        if out is None:
            c.fail(name, "returned None", "did you forget `return`?")
            continue
        if not c.expect(len(model) == n_modules and flags == [p.requires_grad for p in model.parameters()],
                        name, "the original model was changed (its modules or requires_grad flags)",
                        "leave the model you are given untouched: build a new Sequential"):
            continue
        _check_new_model(c, model, out, n_classes, name)


# ---------------------------------------------------------------------- freeze_lower_layers
def _expected_flags(model: nn.Module, n_trainable: int) -> list[bool]:
    mods = _param_modules(model)
    top = mods[len(mods) - n_trainable:] if n_trainable else []
    keep = {id(p) for m in top for p in m.parameters(recurse=False)}
    return [id(p) in keep for p in model.parameters()]


def _describe(model: nn.Module, flags) -> str:
    names = [type(m).__name__ for m in _param_modules(model)]
    it = iter(flags)
    per = []
    for m in _param_modules(model):
        fl = [next(it) for _ in m.parameters(recurse=False)]
        per.append("T" if all(fl) else "F" if not any(fl) else "mixed")
    return ", ".join(f"{n}:{s}" for n, s in zip(names, per))


@checker
def freeze_lower_layers(c: Check):
    """``freeze_lower_layers(model, n_trainable)``: ``requires_grad = False`` on every
    parameter except those of the last ``n_trainable`` modules that have parameters (those
    are trainable); changes the model in place and returns it."""
    cases = []
    m = _random_model(c)
    cases.append(("a random model", m, c.integers(1, len(_param_modules(m)) - 1)))
    m = _random_model(c)
    cases.append(("another random model", m, c.integers(1, len(_param_modules(m)))))
    cases.append(("n_trainable = 0 (freeze everything)", _random_model(c), 0))
    m = _random_model(c)
    cases.append(("n_trainable = all modules with parameters", m, len(_param_modules(m))))
    m = _random_model(c)
    for p in m.parameters():
        p.requires_grad_(False)
    cases.append(("unfreezing the top of a fully frozen model", m, min(2, len(_param_modules(m)))))
    for name, model, n in cases:
        ok, out = c.call(model, n, case=f"{name}, n_trainable={n}")
        case = f"{name}, n_trainable={n}"
        if not ok:
            continue
        if out is None:
            c.fail(case, "returned None", "return the model at the end (return model)")
            continue
        if not c.expect(out is model, case, "did not return the model it was given",
                        "change requires_grad in place and `return model`"):
            continue
        got = [bool(p.requires_grad) for p in model.parameters()]
        want = _expected_flags(model, n)
        hint = ("count only modules that hold parameters (m.parameters(recurse=False) is not "
                "empty: Linear, BatchNorm1d, … — not ReLU or Dropout); freeze everything, then "
                "set requires_grad=True on the last n_trainable of them")
        if n == 0:
            hint += "; careful: mods[-0:] is the whole list"
        if "unfreezing" in name:
            hint = ("the last n_trainable modules with parameters must end up trainable "
                    "(requires_grad=True) even if they were frozen before")
        c.expect(got == want, case, f"expected [{_describe(model, want)}], got "
                 f"[{_describe(model, got)}] (T = trainable, F = frozen)", hint)


# ----------------------------------------------------------------- discriminative_lr_groups
@checker
def discriminative_lr_groups(c: Check):
    """``discriminative_lr_groups(model, lr, decay)``: a list of optimizer parameter groups,
    one per module that has parameters (module order), each ``{"params": [that module's
    parameters], "lr": lr * decay ** (L - 1 - i)}`` — the last (the head) at ``lr``."""
    cases = [("a random model", _random_model(c), float(c.rng.uniform(1e-3, 1e-1)),
              float(c.rng.uniform(0.1, 0.9))),
             ("decay = 1 (one rate for all)", _random_model(c, extras=False), 0.01, 1.0),
             ("a model with batch norm", _random_model(c), float(c.rng.uniform(1e-3, 1e-1)), 0.5)]
    while not any(isinstance(m, nn.BatchNorm1d) for m in cases[-1][1]):
        cases[-1] = (cases[-1][0], _random_model(c), cases[-1][2], cases[-1][3])
    for name, model, lr, decay in cases:
        case = f"{name}, lr={lr:.3g}, decay={decay:.3g}"
        ok, out = c.call(model, lr, decay, case=case)
        if not ok:
            continue
        mods = _param_modules(model)
        if not c.expect(isinstance(out, (list, tuple)) and all(isinstance(g, dict) for g in out), case,
                        f"expected a list of dicts, got {type(out).__name__}",
                        'return [{"params": [...], "lr": ...}, ...], one dict per module'):
            continue
        if not c.expect(len(out) == len(mods), case,
                        f"expected {len(mods)} groups (one per module with parameters), got {len(out)}",
                        "one group per module that holds parameters (m.parameters(recurse=False)), "
                        "with both its weight and its bias — not one per tensor, and not ReLU/Dropout"):
            continue
        ids_ok = all(isinstance(g.get("params"), (list, tuple)) and
                     [id(p) for p in g["params"]] == [id(p) for p in m.parameters(recurse=False)]
                     for g, m in zip(out, mods))
        if not c.expect(ids_ok, case, "a group's 'params' are not exactly its module's own "
                        "parameters, in module order",
                        "group i holds list(module_i.parameters(recurse=False)); the model's "
                        "modules in order (model.modules() lists the Sequential itself first)"):
            continue
        L = len(mods)
        want = [lr * decay ** (L - 1 - i) for i in range(L)]
        got = [g.get("lr") for g in out]
        good = all(isinstance(x, (int, float)) and abs(x - w) <= 1e-9 + 1e-6 * w for x, w in zip(got, want))
        hint = "the last group (the head) gets lr, the one below lr·decay, then lr·decay², …"
        if good is False and all(isinstance(x, (int, float)) for x in got):
            if all(abs(x - w) <= 1e-9 + 1e-6 * w for x, w in zip(got, want[::-1])):
                hint = "the order is reversed: the *lowest* layers get the smallest rate, the head lr"
        c.expect(good, case, "learning rates " + ", ".join(f"{x:.4g}" if isinstance(x, (int, float))
                                                         else repr(x) for x in got)
                 + ", expected " + ", ".join(f"{w:.4g}" for w in want), hint)
        try:
            torch.optim.SGD(out, lr=1.0)
        except Exception as exc:  # noqa: BLE001 - whatever torch says about the groups
            c.fail(case, f"torch.optim.SGD rejects the groups ({type(exc).__name__}: {exc})",
                   "each group is a dict with keys 'params' and 'lr'")
        else:
            c.ok()
