"""Checkers of chapter 09: ``dropout``, ``l1_penalty``, ``l2_penalty``, ``should_stop``,
``mc_dropout_predict``.

Dropout is random, and a correct mask may be drawn in more than one way, so ``dropout`` is
judged by structure (each output is 0 or x/(1 − p)), by statistics over 200 000 elements
(keep rate, independence of the elements), and by reproducibility with a seeded generator.
The penalties are compared with the sums over the weights and their gradients; should_stop
with the rule on sequences drawn afresh; MC dropout with a large-sample reference.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._framework import Check, checker

__all__ = ["dropout", "l1_penalty", "l2_penalty", "should_stop", "mc_dropout_predict"]


# ------------------------------------------------------------------------------- dropout
def _tensor_result(c: Check, out, x, case: str) -> bool:
    if out is None:
        return c.fail(case, "returned None", "did you forget `return`?")
    if not isinstance(out, torch.Tensor):
        return c.fail(case, f"expected a torch.Tensor, got {type(out).__name__}",
                      "return a tensor of the shape of x")
    if tuple(out.shape) != tuple(x.shape):
        return c.fail(case, f"expected shape {tuple(x.shape)}, got {tuple(out.shape)}",
                      "draw one mask element per element of x: torch.rand_like(x) or "
                      "torch.empty_like(x).bernoulli_(...)")
    return True


def _dropout_structure(c: Check, out, x, p: float, case: str):
    """Every output is 0 or x/(1 − p); returns the kept mask, or None (failure recorded)."""
    out = out.detach().to(torch.float64)
    scaled = x.to(torch.float64) / (1 - p)
    zero = out == 0
    kept = torch.isclose(out, scaled, atol=1e-5, rtol=1e-4)
    if bool((zero | kept).all()):
        return kept & ~zero
    if bool((zero | torch.isclose(out, x.double(), atol=1e-5, rtol=1e-4)).all()):
        c.fail(case, "the kept values equal x: they are not scaled",
               "inverted dropout divides the kept values by (1 − p), so that E[out] = x and "
               "evaluation needs no rescaling")
    elif bool((zero | torch.isclose(out, x.double() * (1 - p), atol=1e-5, rtol=1e-4)).all()):
        c.fail(case, "the kept values are x·(1 − p)",
               "divide by (1 − p), do not multiply: out = x · mask / (1 − p)")
    elif p != 0.5 and bool((zero | torch.isclose(out, x.double() / p, atol=1e-5,
                                                  rtol=1e-4)).all()):
        c.fail(case, "the kept values are x/p", "divide by the keep probability (1 − p), not by p")
    else:
        c.fail(case, "some outputs are neither 0 nor x/(1 − p)",
               "out = x · mask / (1 − p) with a mask of 0s and 1s")
    return None


@checker
def dropout(c: Check):
    """``dropout(x, p, training, generator=None)``: inverted dropout — each element kept with
    probability 1 − p and scaled by 1/(1 − p), independently; identity in evaluation or for
    p = 0; zeros for p = 1; draws from ``generator``; x is not modified."""
    n, d = c.integers(5, 9), c.integers(4, 8)
    x = torch.randn(n, d, generator=c.generator())
    p = float(c.rng.uniform(0.2, 0.8))
    case = "evaluation mode (training=False)"
    ok, out = c.call(x, p, False, case=case)
    if ok and _tensor_result(c, out, x, case):
        c.close(out, x, case, "in evaluation mode dropout does nothing: return x unchanged "
                "(inverted dropout already scaled in training)")
    case = "p = 0 in training"
    ok, out = c.call(x, 0.0, True, case=case)
    if ok and _tensor_result(c, out, x, case):
        c.close(out, x, case, "with p = 0 nothing is dropped and 1/(1 − 0) = 1: out = x")
    case = "p = 1 in training"
    ok, out = c.call(x, 1.0, True, case=case)
    if ok and _tensor_result(c, out, x, case):
        c.close(out, torch.zeros_like(x), case, "with p = 1 every element is dropped: return "
                "zeros (and avoid dividing by 1 − p = 0, which gives NaN)")
    # statistics over a large tensor: values, keep rate, element-wise independence
    p = float(c.rng.choice([0.1, 0.3, 0.7]))
    rows = 2000
    base = torch.rand(100, generator=c.generator()) + 0.5
    big = base.repeat(rows, 1)  # identical rows: a mask shared by rows would show
    case = f"200 000 elements, p = {p}"
    seed = int(c.rng.integers(2**62))
    ok, out = c.call(big, p, True, torch.Generator().manual_seed(seed), case=case)
    if ok and _tensor_result(c, out, big, case):
        kept = _dropout_structure(c, out, big, p, case)
        if kept is not None:
            rate = kept.double().mean().item()
            sigma = math.sqrt(p * (1 - p) / kept.numel())
            if abs(rate - (1 - p)) > 6 * sigma:
                hint = ("the mask must keep an element with probability 1 − p (drop with "
                        "probability p): mask = torch.rand_like(x) >= p")
                if abs(rate - p) <= 6 * sigma:
                    hint = "you keep with probability p: an element is *dropped* with probability p"
                c.fail(case, f"kept {rate:.3f} of the elements, expected {1 - p:.3f}", hint)
            else:
                c.ok()
            same_rows = (kept == kept[:1]).all(1).double().mean().item()
            per_column = kept.double().mean(0)
            c.expect(same_rows < 0.5 and bool((per_column - (1 - p)).abs().max() < 0.1),
                     case + ": independence",
                     "the same mask repeats across rows or columns",
                     "draw one independent random number per element (a mask of the shape of x)")
        ok2, again = c.call(big, p, True, torch.Generator().manual_seed(seed), case=case + ", again")
        if ok2 and isinstance(again, torch.Tensor) and again.shape == out.shape:
            c.expect(bool(torch.equal(again, out)), case + ": same generator seed",
                     "two calls with generators of the same seed gave different masks",
                     "draw the mask from the generator you are given: "
                     "torch.rand(x.shape, generator=generator) (or "
                     "torch.empty_like(x).bernoulli_(1 - p, generator=generator))")
    # gradients flow through the kept elements
    case = "gradient"
    xs = torch.randn(6, 5, generator=c.generator()).requires_grad_(True)
    ok, out = c.call(xs, 0.25, True, c.generator(), case=case)
    if ok and _tensor_result(c, out, xs, case):
        if not out.requires_grad:
            c.fail(case, "the output is not differentiable with respect to x",
                   "compute with torch operations on x (no .detach(), .numpy() or .item())")
        else:
            (grad,) = torch.autograd.grad(out.sum(), xs)
            expected = (out.detach() != 0).double() / 0.75
            c.close(grad.double(), expected, case, "d out / d x is mask / (1 − p)")


# ----------------------------------------------------------------------------- penalties
class _Scaled(nn.Module):
    """A module with a parameter that is not a weight (``scale``)."""

    def __init__(self, n, g):
        super().__init__()
        self.scale = nn.Parameter(torch.rand(n, generator=g) + 0.5)

    def forward(self, x):
        return x * self.scale


def _random_model(c: Check) -> nn.Module:
    g = c.generator()
    a, b, k = c.integers(3, 6), c.integers(3, 7), c.integers(2, 4)
    model = nn.Sequential(nn.Linear(a, b), nn.ReLU(), _Scaled(b, g), nn.Linear(b, k))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    return model


def _penalty_check(c: Check, kind: str):
    power = 1 if kind == "l1" else 2
    formula = "λ·Σ|w|" if kind == "l1" else "λ·Σw²"
    for case_no in range(3):
        model = _random_model(c)
        lam = [0.0, float(c.rng.uniform(0.01, 0.5)), float(c.rng.uniform(0.5, 3.0))][case_no]
        case = f"model {case_no + 1}, lam = {lam:.4g}"
        ok, out = c.call(model, lam, case=case)
        if not ok:
            continue
        weights = [model[0].weight, model[3].weight]
        with torch.no_grad():
            expected = lam * sum((w.abs() ** power).sum() for w in weights).double()
            with_bias = expected + lam * sum((p.abs() ** power).sum() for n, p in
                                             model.named_parameters() if not n.endswith("weight"))
            mean = lam * sum((w.abs() ** power).mean() for w in weights).double()
            no_lam = expected / lam if lam else expected
            norm = lam * sum(w.norm() for w in weights).double()
        if not isinstance(out, torch.Tensor):
            c.fail(case, f"expected a torch.Tensor, got {type(out).__name__}",
                   "return the penalty as a tensor (no .item() / float(...)): it is added to "
                   "the loss and must be differentiable")
            continue
        if out.numel() != 1:
            c.fail(case, f"expected one number (a 0-d tensor), got shape {tuple(out.shape)}",
                   "sum over all the weights of all the layers")
            continue
        value = out.detach().double().reshape(())
        hint = f"the penalty is {formula} over the parameters whose name ends in 'weight'"
        mistakes = [(with_bias, "biases and other parameters (names not ending in 'weight') "
                     "are not penalized: filter model.named_parameters() by "
                     "name.endswith('weight')"),
                    (mean, "sum over the weights, not the mean"), (no_lam, "multiply by lam")]
        if kind == "l2":
            mistakes.append((norm, "λ·Σw² is the squared norm: no square root"))
        for wrong, text in mistakes:
            if lam and not torch.isclose(wrong, expected, rtol=1e-4) \
                    and torch.isclose(value, wrong, rtol=1e-4, atol=1e-6):
                hint = text
                break
        if not c.close(value, expected, case, hint, atol=1e-5, rtol=1e-4):
            continue
        if lam == 0:
            continue
        if not out.requires_grad:
            c.fail(case + ": gradient", "the penalty is not differentiable",
                   "build it from the parameters with torch operations (no .item(), .detach(), "
                   "NumPy) so that loss.backward() sees it")
            continue
        grads = torch.autograd.grad(out, list(model.parameters()), allow_unused=True)
        got = dict(zip([n for n, _ in model.named_parameters()], grads))
        w = model[0].weight.detach()
        exp_grad = lam * (torch.sign(w) if kind == "l1" else 2 * w)
        if got["0.weight"] is None:
            c.fail(case + ": gradient", "the penalty does not depend on the first layer's weight",
                   "sum over every layer: for name, p in model.named_parameters()")
            continue
        c.close(got["0.weight"], exp_grad, case + ": gradient w.r.t. a weight",
                "d/dw of " + ("λ|w| is λ·sign(w)" if kind == "l1" else "λw² is 2λw"),
                atol=1e-5, rtol=1e-4)


@checker
def l1_penalty(c: Check):
    """``l1_penalty(model, lam)`` = lam · Σ|w| over the parameters whose name ends in
    ``weight``, as a differentiable tensor; the model is not modified."""
    _penalty_check(c, "l1")


@checker
def l2_penalty(c: Check):
    """``l2_penalty(model, lam)`` = lam · Σw² over the parameters whose name ends in
    ``weight``, as a differentiable tensor; the model is not modified."""
    _penalty_check(c, "l2")


# ------------------------------------------------------------------------ early stopping
def _stop_rule(losses, patience, min_delta):
    if len(losses) <= patience:
        return False
    best = min(losses[:-patience])
    return not any(v < best - min_delta for v in losses[-patience:])


def _stop_hint(losses, patience, min_delta, expected):
    if len(losses) <= patience:
        return (f"with {len(losses)} losses and patience {patience} there are no earlier epochs "
                "to compare with: never stop while len(val_losses) <= patience")
    best = min(losses[:-patience])
    recent = losses[-patience:]
    if any(v == best - min_delta for v in recent) and expected:
        return "a loss equal to the best minus min_delta is not an improvement: use a strict <"
    if min_delta and expected != _stop_rule(losses, patience, 0.0):
        return ("an improvement must beat the best earlier loss by more than min_delta: "
                "v < min(earlier) − min_delta")
    return ("compare the last `patience` losses with the best (minimum) of all the *earlier* "
            "losses, not with the previous one or the last one")


_FIXED = [([0.9, 0.8], 2, 0.0), ([1.0, 0.9, 0.95, 0.92], 2, 0.0), ([1.0, 0.9, 0.95, 0.89], 2, 0.0),
          ([1.0, 0.9, 0.95, 0.89], 2, 0.02), ([1.0, 1.0, 1.0], 2, 0.0), ([0.5, 0.6, 0.7], 1, 0.0),
          ([2.0, 1.0, 1.5, 1.2, 1.1, 0.99], 3, 0.0), ([0.3, 0.5, 0.4, 0.35], 3, 0.0),
          ([1.0, 0.95, 0.96], 1, 0.05)]


@checker
def should_stop(c: Check):
    """``should_stop(val_losses, patience, min_delta=0.0)``: True iff there are more than
    ``patience`` losses and none of the last ``patience`` is below min(earlier) − min_delta."""
    cases = [(list(l), p, d) for l, p, d in _FIXED]
    for k in range(24):  # fresh sequences: a noisy decline, then a plateau or a late dip
        n, patience = c.integers(2, 12), c.integers(1, 5)
        if k < 2:  # one sure stop and one sure go, so no single constant answer passes
            n = max(n, patience + 2)
        losses = [round(1.0 / (1 + 0.3 * i) + float(c.rng.normal(0, 0.05)), 3) for i in range(n)]
        if n > patience and c.rng.random() < 0.4:
            best = min(losses[:-patience])
            losses[-c.integers(1, patience)] = round(best - float(c.rng.choice([0.0, 0.01, 0.05])), 3)
        delta = float(c.rng.choice([0.0, 0.0, 0.02]))
        if k < 2:
            best = min(losses[:-patience])
            if k == 0:  # a plateau: nothing in the last `patience` beats the best
                losses[-patience:] = [round(best + abs(float(c.rng.normal(0, 0.05))) + 0.01, 3)
                                      for _ in range(patience)]
            else:  # a clear late dip
                losses[-1] = round(best - delta - 0.05 - float(c.rng.uniform(0, 0.05)), 3)
        cases.append((losses, patience, delta))
    for i, (losses, patience, delta) in enumerate(cases):
        expected = _stop_rule(losses, patience, delta)
        shown = losses if len(losses) <= 8 else losses[:3] + ["…"] + losses[-4:]
        case = f"case {i + 1}: val_losses={shown}, patience={patience}" + \
            (f", min_delta={delta}" if delta else "")
        kwargs = {"min_delta": delta} if delta else {}
        ok, out = c.call(list(losses), patience, case=case, **kwargs)
        if ok:
            if isinstance(out, (bool,)) or type(out).__name__ == "bool_":
                out = bool(out)
            c.close(out, expected, case, _stop_hint(losses, patience, delta, expected),
                    type_hint="return True or False")


# ------------------------------------------------------------------------------ MC dropout
def _mc_model(c: Check, p: float, training: bool):
    g = c.generator()
    d, h, k = c.integers(3, 6), c.integers(4, 7), c.integers(3, 5)
    # momentum 0 and no batch counter: a pass in training mode leaves the state as it was,
    # so a wrong mode shows in the values (with a precise hint), not as "modified in place"
    model = nn.Sequential(nn.Linear(d, h), nn.BatchNorm1d(h, momentum=0.0), nn.ReLU(),
                          nn.Dropout(p), nn.Linear(h, k))
    model[1].num_batches_tracked = None
    with torch.no_grad():
        for q in model.parameters():
            q.copy_(torch.randn(q.shape, generator=g))
        model[1].running_mean.copy_(torch.randn(h, generator=g))
        model[1].running_var.copy_(torch.rand(h, generator=g) + 0.5)
    model.train(training)
    X = torch.randn(c.integers(4, 8), d, generator=g)
    return model, X


@torch.no_grad()
def _mc_reference(model, X):
    """The exact mean and std of the softmax output over the dropout masks (BN in eval
    mode): the hidden layer is small, so all 2^h masks are enumerated with their
    probabilities — the student's Monte-Carlo estimate must come close to it."""
    bn, p = model[1], model[3].p
    h = torch.relu(nn.functional.batch_norm(model[0](X), bn.running_mean, bn.running_var,
                                            bn.weight, bn.bias, False, 0.0, bn.eps)).double()
    width = h.shape[1]
    masks = ((torch.arange(2 ** width)[:, None] >> torch.arange(width)) & 1).double()
    weights = (1 - p) ** masks.sum(1) * p ** (width - masks.sum(1))      # (M,)
    head = model[4]
    logits = (h[None] * masks[:, None] / (1 - p)) @ head.weight.double().T + head.bias.double()
    probs = torch.softmax(logits, -1)                                     # (M, N, C)
    mean = (weights[:, None, None] * probs).sum(0)
    var = (weights[:, None, None] * (probs - mean) ** 2).sum(0)
    return mean, var.sqrt()


def _pair(c: Check, out, shape, case) -> tuple | None:
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        what = "None" if out is None else type(out).__name__
        c.fail(case, f"expected a tuple (mean_probs, std_probs), got {what}",
               "end with `return mean_probs, std_probs`")
        return None
    for name, t in zip(("mean_probs", "std_probs"), out):
        if not isinstance(t, torch.Tensor):
            c.fail(case, f"{name} is a {type(t).__name__}, not a tensor",
                   "stack the passes with torch.stack and reduce with .mean(0) / .std(0)")
            return None
        if tuple(t.shape) != shape:
            c.fail(case, f"{name} has shape {tuple(t.shape)}, expected {shape}",
                   "stack the n_samples outputs (n_samples, N, C) and reduce over dim 0")
            return None
    return tuple(out)


def _modes(model):
    return [m.training for m in model.modules()]


@checker
def mc_dropout_predict(c: Check):
    """``mc_dropout_predict(model, X, n_samples=30)`` → ``(mean_probs, std_probs)``: mean and
    standard deviation over ``n_samples`` passes of the softmax outputs, with only the
    dropout layers active (batch norm in eval mode), no gradients, the model's modes
    restored and its weights and statistics untouched."""
    for training in (False, True):
        case = f"model in {'training' if training else 'evaluation'} mode, n_samples=2000"
        model, X = _mc_model(c, float(c.rng.uniform(0.2, 0.5)), training)
        before = _modes(model)
        ok, out = c.call(model, X, n_samples=2000, case=case)
        if not ok:
            continue
        if _modes(model) != before:
            c.fail(case, "the model's modes were not restored",
                   "remember each module's .training before and put it back afterwards "
                   "(a model that came in training mode must leave in training mode)")
            continue
        c.ok()
        pair = _pair(c, out, (len(X), model[4].out_features), case)
        if pair is None:
            continue
        mean, std = pair
        if mean.requires_grad or std.requires_grad:
            c.fail(case, "the results carry gradients (requires_grad=True)",
                   "run the passes under `with torch.no_grad():`")
            continue
        ref_mean, ref_std = _mc_reference(model, X)
        sums = mean.detach().double().sum(-1)
        if not torch.allclose(sums, torch.ones_like(sums), atol=1e-4):
            c.fail(case, "mean_probs rows do not sum to 1",
                   "apply torch.softmax(logits, dim=-1) to every pass before averaging")
            continue
        if float(std.detach().abs().max()) == 0.0:
            c.fail(case, "std_probs is all zeros: every pass gave the same output",
                   "switch the dropout layers to training mode (m.train() for every "
                   "nn.Dropout in model.modules()) so each pass draws a new mask")
            continue
        hint = ("only the dropout layers may be in training mode: put the model in eval mode, "
                "then call .train() on each nn.Dropout (batch norm must use its running "
                "statistics)")
        c.close(mean.detach().double(), ref_mean, case + ": mean_probs", hint, atol=0.05,
                rtol=0.0)
        c.close(std.detach().double(), ref_std, case + ": std_probs",
                "the std over the passes of the softmax probabilities (dim 0)", atol=0.05,
                rtol=0.0)
    n = c.integers(3, 9)
    case = f"n_samples={n}"
    model, X = _mc_model(c, 0.5, False)
    rows = []
    model[0].register_forward_hook(lambda m, inp, out: rows.append(len(inp[0])))
    ok, out = c.call(model, X, n_samples=n, case=case)
    if ok and _pair(c, out, (len(X), model[4].out_features), case) is not None:
        c.expect(sum(rows) == n * len(X), case, f"the model saw {sum(rows)} rows, expected "
                 f"n_samples × N = {n * len(X)}", "make exactly n_samples stochastic passes "
                 "over X (use the n_samples argument, not a fixed number)")
