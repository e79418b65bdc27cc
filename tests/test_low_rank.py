"""course_utils.scratch.low_rank against torch.linalg.svd (Eckart–Young) and nn.Conv2d."""

import pytest
import torch
from torch import nn

from course_utils.core import models
from course_utils.scratch import low_rank as lr_


@pytest.mark.parametrize("shape, rank", [((30, 12), 1), ((30, 12), 5), ((12, 30), 12), ((8, 8), 3)])
def test_factors_are_the_truncated_svd(shape, rank):
    w = torch.randn(*shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    A, B = lr_.low_rank_factorize(w, rank)
    assert A.shape == (shape[0], rank) and B.shape == (rank, shape[1])
    U, S, Vh = torch.linalg.svd(w, full_matrices=False)
    best = U[:, :rank] @ torch.diag(S[:rank]) @ Vh[:rank]
    assert torch.allclose(A @ B, best, atol=1e-10)
    err = torch.linalg.matrix_norm(w - A @ B)
    assert float(err) == pytest.approx(float(S[rank:].pow(2).sum().sqrt()), abs=1e-9)
    assert float(err) == pytest.approx(lr_.low_rank_error(w, rank), abs=1e-9)


def test_no_other_rank_r_matrix_is_closer():
    g = torch.Generator().manual_seed(1)
    w = torch.randn(20, 10, generator=g, dtype=torch.float64)
    A, B = lr_.low_rank_factorize(w, 3)
    best = torch.linalg.matrix_norm(w - A @ B)
    for _ in range(20):
        other = (A + 0.05 * torch.randn(A.shape, generator=g, dtype=torch.float64)) @ B
        assert torch.linalg.matrix_norm(w - other) >= best


def test_factorize_linear_and_mlp():
    torch.manual_seed(0)
    model = models.mlp(16, 4, hidden=[32, 8])
    full = lr_.factorize_linear(model[0], 16)
    x = torch.randn(5, 16)
    assert torch.allclose(full(x), model[0](x), atol=1e-5)  # full rank: the same layer
    small = lr_.factorize_mlp(model, 2)
    assert isinstance(small[0], nn.Sequential) and small[0][0].out_features == 2
    assert models.count_parameters(small) < models.count_parameters(model)
    assert isinstance(small[-1], nn.Linear)  # the output layer stays dense


def test_depthwise_separable_counts_match_pytorch():
    m, n, k = 32, 64, 3
    std = nn.Conv2d(m, n, k, padding=1, bias=False)
    sep = lr_.depthwise_separable(m, n, k, bias=False)
    assert lr_.conv_weights(m, n, k) == sum(p.numel() for p in std.parameters())
    assert lr_.conv_weights(m, n, k, separable=True) == sum(p.numel() for p in sep.parameters())
    ratio = lr_.conv_weights(m, n, k, True) / lr_.conv_weights(m, n, k)
    assert ratio == pytest.approx(1 / n + 1 / k ** 2, abs=1e-12) and round(ratio, 5) == 0.12674
    x = torch.randn(2, m, 6, 6)
    assert sep(x).shape == std(x).shape == (2, n, 6, 6)
    assert lr_.count_macs(nn.Sequential(std), (m, 6, 6)) == lr_.conv_macs(m, n, k, 6, 6)
    assert lr_.count_macs(sep, (m, 6, 6)) == lr_.conv_macs(m, n, k, 6, 6, separable=True)


def test_count_macs_of_an_mlp():
    assert lr_.count_macs(models.mlp(64, 10, hidden=[300, 100]), (64,)) == 64 * 300 + 300 * 100 + 1000


@pytest.mark.parametrize("call, error, words", [
    (lambda: lr_.low_rank_factorize(torch.ones(3), 1), ValueError, "dimension"),
    (lambda: lr_.low_rank_factorize(torch.ones(3, 4), 5), ValueError, "rank"),
    (lambda: lr_.low_rank_factorize(torch.ones(3, 4), 0), ValueError, "rank"),
    (lambda: lr_.factorize_linear(nn.Conv2d(1, 1, 1), 1), TypeError, "nn.Linear"),
    (lambda: lr_.depthwise_separable(0, 3), ValueError, "in_channels"),
    (lambda: lr_.conv_weights(3, 3, 3, separable=1), TypeError, "separable"),
])
def test_bad_arguments_are_named(call, error, words):
    with pytest.raises(error, match=words):
        call()
