"""course_utils.scratch.pruning against torch.nn.utils.prune on the same inputs."""

import pytest
import torch
from torch import nn
from torch.nn.utils import prune

from course_utils.core import models
from course_utils.scratch import pruning as pr


def torch_l1_mask(w, amount):
    lin = nn.Linear(w.shape[1], w.shape[0])
    with torch.no_grad():
        lin.weight.copy_(w)
    prune.l1_unstructured(lin, "weight", amount=amount)
    return lin.weight_mask.bool()


@pytest.mark.parametrize("sparsity", [0.0, 0.1, 0.5, 0.9, 0.95, 1.0])
def test_magnitude_mask_equals_l1_unstructured(sparsity):
    w = torch.randn(17, 23, generator=torch.Generator().manual_seed(1))
    mask = pr.magnitude_prune_mask(w, sparsity)
    assert mask.dtype == torch.bool and mask.shape == w.shape
    assert torch.equal(mask, torch_l1_mask(w, sparsity))
    assert int((~mask).sum()) == round(sparsity * w.numel())


def test_magnitude_mask_with_ties_equals_pytorch():
    w = torch.tensor([[1.0, -1.0, 2.0, 0.5], [0.5, -0.5, 1.0, 3.0]])
    for s in (0.25, 0.5, 0.625):
        assert torch.equal(pr.magnitude_prune_mask(w, s), torch_l1_mask(w, s))


def test_rounding_of_the_count_is_pythons_round():
    w = torch.randn(5, 2, generator=torch.Generator().manual_seed(2))  # 10 weights
    assert int((~pr.magnitude_prune_mask(w, 0.25)).sum()) == round(2.5) == 2
    assert torch.equal(pr.magnitude_prune_mask(w, 0.25), torch_l1_mask(w, 0.25))


def test_structured_mask_equals_ln_structured():
    w = torch.randn(12, 7, generator=torch.Generator().manual_seed(3))
    lin = nn.Linear(7, 12)
    with torch.no_grad():
        lin.weight.copy_(w)
    prune.ln_structured(lin, "weight", amount=0.5, n=2, dim=0)
    assert torch.equal(pr.structured_prune_mask(w, 0.5), lin.weight_mask.bool())


def test_masks_apply_and_stay_during_training():
    torch.manual_seed(0)
    model = models.mlp(8, 3, hidden=[16, 8])
    masks = pr.magnitude_masks(model, 0.7)
    pr.apply_masks(model, masks)
    assert pr.sparsity_of(model) == pytest.approx(0.7, abs=0.01)
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    keep = pr.keep_masked(masks)
    for _ in range(3):
        loss = model(torch.randn(10, 8)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        keep({"model": model})
    assert pr.sparsity_of(model) == pytest.approx(0.7, abs=0.01)
    dense_last = pr.magnitude_masks(model, 0.5, include_last=False)[-1]
    assert bool(dense_last.all())


def test_shrink_mlp_keeps_the_function_of_the_kept_neurons():
    torch.manual_seed(0)
    model = models.mlp(6, 3, hidden=[10, 4])
    with torch.no_grad():  # make 5 neurons of layer 1 dead-weight (zero rows)
        model[0].weight[::2] = 0
        model[0].bias[::2] = -1.0  # ReLU(−1) = 0: these neurons output nothing
    small = pr.shrink_mlp(model, 0.5)
    assert small[0].out_features == 5 and small[2].in_features == 5
    assert small[2].out_features == 2 and small[4].in_features == 2
    x = torch.randn(20, 6)
    full_half = pr.shrink_mlp(model, 1.0)
    assert torch.allclose(full_half(x), model(x), atol=1e-6)
    assert model[0].out_features == 10  # the input model is untouched


def test_prune_rounds():
    s = pr.prune_rounds(0.94, 3)
    assert len(s) == 3 and s[-1] == pytest.approx(0.94)
    assert all(a < b for a, b in zip(s, s[1:]))


@pytest.mark.parametrize("call, error, words", [
    (lambda: pr.magnitude_prune_mask([1.0], 0.5), TypeError, "weight"),
    (lambda: pr.magnitude_prune_mask(torch.ones(3), 1.5), ValueError, "sparsity"),
    (lambda: pr.magnitude_prune_mask(torch.ones(3, dtype=torch.long), 0.5), TypeError, "floating"),
    (lambda: pr.structured_prune_mask(torch.ones(3), 0.5), ValueError, "dimension"),
    (lambda: pr.shrink_mlp(nn.Linear(2, 2), 0.5), TypeError, "Sequential"),
    (lambda: pr.shrink_mlp(models.mlp(2, 2, hidden=[3]), 0.0), ValueError, "keep_fraction"),
    (lambda: pr.apply_masks(models.mlp(2, 2, hidden=[3]), []), ValueError, "one mask per"),
    (lambda: pr.prune_rounds(1.0, 3), ValueError, "final_sparsity"),
])
def test_bad_arguments_are_named(call, error, words):
    with pytest.raises(error, match=words):
        call()
