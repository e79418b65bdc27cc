"""Checkers of chapter 06: ``clip_by_value`` and ``clip_by_norm``.

The expected results come from PyTorch itself: ``torch.nn.utils.clip_grad_value_`` and
``clip_grad_norm_`` applied to copies of the same gradients.  Fixed cases plus tensors
whose number, shapes and values are drawn afresh on every run.
"""

import torch

from ._framework import Check, checker, fmt

__all__ = ["clip_by_value", "clip_by_norm"]


def _torch_reference(grads, method, threshold):
    params = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    if method == "value":
        torch.nn.utils.clip_grad_value_(params, threshold)
        total = None
    else:
        total = torch.nn.utils.clip_grad_norm_(params, threshold)
    return [p.grad for p in params], total


def _random_grads(c: Check):
    """Two to four tensors of random shapes and scales (one of them tiny)."""
    g = c.generator()
    shapes = [(c.integers(2, 5), c.integers(2, 5)), (c.integers(3, 8),),
              (2, c.integers(1, 3), c.integers(2, 3)), (c.integers(1, 4),)][: c.integers(2, 4)]
    scales = [2.0, 0.05, 1.0, 3.0]
    return [torch.randn(shape, generator=g) * s for shape, s in zip(shapes, scales)]


def _check_list(c: Check, out, grads, case: str, what: str) -> bool:
    """``out`` is a list/tuple of tensors with the shapes of ``grads``."""
    if out is None:
        return c.fail(case, "returned None", "did you forget `return`?")
    if isinstance(out, torch.Tensor) or not isinstance(out, (list, tuple)):
        return c.fail(case, f"expected a list of tensors, got {type(out).__name__}",
                      f"return {what} — one clipped tensor per input tensor, in order")
    if len(out) != len(grads):
        return c.fail(case, f"expected {len(grads)} tensors, got {len(out)}",
                      "clip each tensor of the list and keep them separate (no flattening)")
    for i, (o, g) in enumerate(zip(out, grads)):
        if not isinstance(o, torch.Tensor):
            return c.fail(case, f"element {i} is a {type(o).__name__}, not a tensor")
        if tuple(o.shape) != tuple(g.shape):
            return c.fail(case, f"element {i} has shape {tuple(o.shape)}, expected "
                          f"{tuple(g.shape)}", "keep each tensor's shape")
    return c.ok()


def _compare(c: Check, out, expected, case: str, hint: str) -> bool:
    """Every tensor equal to the expected one (one check, whatever the number of tensors)."""
    return c.close_all([(f", tensor {i}", o, e) for i, (o, e) in enumerate(zip(out, expected))],
                       case, hint, atol=1e-6, rtol=1e-5,
                       shape_hint="keep each tensor's shape", dtype_hint="keep each tensor's dtype")


@checker
def clip_by_value(c: Check):
    """``clip_by_value(grads, clip_value)``: a new list with every element clamped to
    [−clip_value, clip_value] (as ``torch.nn.utils.clip_grad_value_``); inputs untouched."""
    hint_both = "clamp both sides: values above +c become +c, values below −c become −c"
    case = "one 2-D gradient (4, −1), clip_value 1.5"
    grads = [torch.tensor([4.0, -1.0])]
    ok, out = c.call(grads, 1.5, case=case)
    if ok and _check_list(c, out, grads, case, "a list"):
        _compare(c, out, [torch.tensor([1.5, -1.0])], case,
                 "only the first coordinate exceeds 1.5; the second stays −1")

    case = "signs: (−4, 3, −0.2), clip_value 1"
    grads = [torch.tensor([-4.0, 3.0, -0.2])]
    ok, out = c.call(grads, 1.0, case=case)
    if ok and _check_list(c, out, grads, case, "a list"):
        _compare(c, out, [torch.tensor([-1.0, 1.0, -0.2])], case, hint_both)

    mixed = _random_grads(c)
    case = "random tensors of different shapes, clip_value 0.5"
    ok, out = c.call(mixed, 0.5, case=case)
    if ok and _check_list(c, out, mixed, case, "a list"):
        expected, _ = _torch_reference(mixed, "value", 0.5)
        _compare(c, out, expected, case, hint_both + " (element-wise, every tensor)")

    case = "float64 tensors keep their dtype"
    grads = [torch.tensor([[2.0, -0.5], [-3.0, 0.1]], dtype=torch.float64)]
    ok, out = c.call(grads, 1.0, case=case)
    if ok and _check_list(c, out, grads, case, "a list"):
        if out[0].dtype != torch.float64:
            c.fail(case, f"expected dtype torch.float64, got {out[0].dtype}",
                   "torch.clamp keeps the dtype; avoid converting")
        else:
            _compare(c, out, [grads[0].clamp(-1.0, 1.0)], case, hint_both)


@checker
def clip_by_norm(c: Check):
    """``clip_by_norm(grads, max_norm)`` → ``(clipped_list, total_norm)`` as
    ``torch.nn.utils.clip_grad_norm_``: total_norm = √(Σ‖g_i‖²) over *all* tensors before
    clipping; every tensor times min(1, max_norm / (total_norm + 1e-6)); inputs untouched."""

    def unpack(out, grads, case):
        if out is None:
            c.fail(case, "returned None", "did you forget `return`?")
            return None, None
        if (not isinstance(out, (tuple, list)) or len(out) != 2
                or not isinstance(out[0], (list, tuple))):
            c.fail(case, f"expected a pair (clipped_list, total_norm), got {fmt(out)}",
                   "return clipped, total_norm — the list of clipped tensors and the norm "
                   "measured before clipping")
            return None, None
        clipped, total = out
        if not _check_list(c, clipped, grads, case, "the clipped tensors as a list"):
            return None, None
        return clipped, total

    hint_global = ("the norm is global: sqrt of the sum of the squared norms of *all* "
                   "tensors, and one common factor for every tensor")
    case = "one 2-D gradient (3, 4) (norm 5), max_norm 1"
    grads = [torch.tensor([3.0, 4.0])]
    ok, out = c.call(grads, 1.0, case=case)
    if ok:
        clipped, total = unpack(out, grads, case)
        if clipped is not None:
            expected, exp_total = _torch_reference(grads, "norm", 1.0)
            if c.close(total, float(exp_total), f"{case}, total_norm",
                       "total_norm is the norm *before* clipping: here √(3² + 4²) = 5"):
                _compare(c, clipped, expected, case,
                         "multiply by max_norm / (total_norm + 1e-6): (0.6, 0.8)")

    case = "a small gradient (norm 0.5 < max_norm 2) is left unchanged"
    grads = [torch.tensor([0.3, -0.4])]
    ok, out = c.call(grads, 2.0, case=case)
    if ok:
        clipped, total = unpack(out, grads, case)
        if clipped is not None and c.close(total, 0.5, f"{case}, total_norm"):
            _compare(c, clipped, [grads[0]], case,
                     "cap the coefficient at 1: never scale a gradient *up*")

    mixed = _random_grads(c)
    case = "random tensors of different norms, max_norm 1"
    ok, out = c.call(mixed, 1.0, case=case)
    if ok:
        clipped, total = unpack(out, mixed, case)
        if clipped is not None:
            expected, exp_total = _torch_reference(mixed, "norm", 1.0)
            if c.close(total, float(exp_total), f"{case}, total_norm", hint_global):
                _compare(c, clipped, expected, case, hint_global)

    case = "two tensors, max_norm 10 (above the total norm)"
    grads = [torch.tensor([[1.0, -2.0], [0.5, 0.0]]), torch.tensor([6.0, -3.0, 2.0])]
    ok, out = c.call(grads, 10.0, case=case)
    if ok:
        clipped, total = unpack(out, grads, case)
        if clipped is not None:
            expected, exp_total = _torch_reference(grads, "norm", 10.0)
            if c.close(total, float(exp_total), f"{case}, total_norm", hint_global):
                _compare(c, clipped, expected, case,
                         "below the threshold nothing changes (coefficient capped at 1)")
