"""The clip_by_value / clip_by_norm checkers accept the references and reject realistic
mistakes (each test is named for the mistake)."""

import torch

from course_utils import checks


def ref_clip_by_value(grads, clip_value):
    return [torch.clamp(g, -clip_value, clip_value) for g in grads]


def ref_clip_by_norm(grads, max_norm):
    total = torch.sqrt(sum((g ** 2).sum() for g in grads))
    coef = min(1.0, max_norm / (float(total) + 1e-6))
    return [g * coef for g in grads], total


def _fails(checker, fn, needle=None):
    result = checker(fn, verbose=False)
    assert not result.passed
    if needle is not None:
        assert any(needle in m for m in result.messages), result.messages
    return result


# -- clip_by_value ---------------------------------------------------------------------
def test_clip_by_value_reference_passes():
    assert checks.clip_by_value(ref_clip_by_value, verbose=False).passed


def test_clip_by_value_accepts_a_tuple_and_torch_clamp_with_min_max():
    def as_tuple(grads, clip_value):
        return tuple(g.clamp(min=-clip_value, max=clip_value) for g in grads)
    assert checks.clip_by_value(as_tuple, verbose=False).passed


def test_rejects_clamping_only_the_upper_side():
    _fails(checks.clip_by_value, lambda grads, c: [torch.clamp(g, max=c) for g in grads],
           "clamp both sides")


def test_rejects_dropping_the_sign():
    _fails(checks.clip_by_value, lambda grads, c: [torch.clamp(g.abs(), max=c) for g in grads])


def test_rejects_rescaling_by_the_norm_instead_of_clamping():
    def by_norm(grads, c):
        return [g * min(1.0, c / float(g.norm())) for g in grads]
    _fails(checks.clip_by_value, by_norm)


def test_rejects_clipping_in_place():
    def in_place(grads, c):
        for g in grads:
            g.clamp_(-c, c)
        return grads
    _fails(checks.clip_by_value, in_place, "in place")


def test_rejects_a_flattened_single_tensor():
    def flattened(grads, c):
        return torch.cat([g.reshape(-1) for g in grads]).clamp(-c, c)
    _fails(checks.clip_by_value, flattened, "expected a list of tensors")


def test_rejects_casting_to_float32():
    _fails(checks.clip_by_value, lambda grads, c: [g.float().clamp(-c, c) for g in grads],
           "float64")


def test_clip_by_value_none_and_exceptions_are_reported_not_raised():
    _fails(checks.clip_by_value, lambda grads, c: None, "returned None")

    def boom(grads, c):
        raise RuntimeError("oops")
    _fails(checks.clip_by_value, boom, "raised RuntimeError: oops")

    def todo(grads, clip_value):
        raise NotImplementedError()
    r = _fails(checks.clip_by_value, todo, "not implemented yet")
    assert r.n_cases == 1
    _fails(checks.clip_by_value, lambda grads: grads, "cannot be called")


# -- clip_by_norm ----------------------------------------------------------------------
def test_clip_by_norm_reference_passes():
    assert checks.clip_by_norm(ref_clip_by_norm, verbose=False).passed


def test_clip_by_norm_accepts_torch_itself_on_copies():
    def via_torch(grads, max_norm):
        params = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
        for p, g in zip(params, grads):
            p.grad = g.clone()
        total = torch.nn.utils.clip_grad_norm_(params, max_norm)
        return [p.grad for p in params], total
    assert checks.clip_by_norm(via_torch, verbose=False).passed


def test_rejects_per_tensor_norms():
    def per_tensor(grads, max_norm):
        out = [g * min(1.0, max_norm / (float(g.norm()) + 1e-6)) for g in grads]
        return out, torch.sqrt(sum((g ** 2).sum() for g in grads))
    _fails(checks.clip_by_norm, per_tensor, "global")


def test_rejects_an_uncapped_coefficient():
    def uncapped(grads, max_norm):
        total = torch.sqrt(sum((g ** 2).sum() for g in grads))
        return [g * max_norm / (total + 1e-6) for g in grads], total
    _fails(checks.clip_by_norm, uncapped, "cap the coefficient at 1")


def test_rejects_returning_the_norm_after_clipping():
    def after(grads, max_norm):
        clipped, _ = ref_clip_by_norm(grads, max_norm)
        return clipped, torch.sqrt(sum((g ** 2).sum() for g in clipped))
    _fails(checks.clip_by_norm, after, "before")


def test_rejects_a_sum_of_norms_instead_of_the_l2_norm():
    def l1_of_norms(grads, max_norm):
        total = sum(g.norm() for g in grads)
        coef = min(1.0, max_norm / (float(total) + 1e-6))
        return [g * coef for g in grads], total
    _fails(checks.clip_by_norm, l1_of_norms)


def test_rejects_a_squared_norm_forgotten_sqrt():
    def squared(grads, max_norm):
        total = sum((g ** 2).sum() for g in grads)
        coef = min(1.0, max_norm / (float(total) + 1e-6))
        return [g * coef for g in grads], total
    _fails(checks.clip_by_norm, squared)


def test_rejects_value_clipping_in_place_of_norm_clipping():
    def by_value(grads, max_norm):
        total = torch.sqrt(sum((g ** 2).sum() for g in grads))
        return [g.clamp(-max_norm, max_norm) for g in grads], total
    _fails(checks.clip_by_norm, by_value)


def test_rejects_scaling_in_place():
    def in_place(grads, max_norm):
        total = torch.sqrt(sum((g ** 2).sum() for g in grads))
        coef = min(1.0, max_norm / (float(total) + 1e-6))
        for g in grads:
            g.mul_(coef)
        return grads, total
    _fails(checks.clip_by_norm, in_place, "in place")


def test_rejects_missing_total_norm():
    _fails(checks.clip_by_norm, lambda grads, m: ref_clip_by_norm(grads, m)[0],
           "expected a pair (clipped_list, total_norm)")


def test_clip_by_norm_none_and_exceptions_are_reported_not_raised():
    _fails(checks.clip_by_norm, lambda grads, m: None, "returned None")
    _fails(checks.clip_by_norm, lambda grads, m: (None, 1.0), "expected a pair")

    def boom(grads, m):
        return [g / 0 for g in grads], "five"
    result = checks.clip_by_norm(boom, verbose=False)
    assert not result.passed
    _fails(checks.clip_by_norm, lambda grads, m: 1 / 0, "raised ZeroDivisionError")
