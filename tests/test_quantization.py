"""course_utils.scratch.quantization against PyTorch's quantizers and scikit-learn's KMeans."""

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from course_utils.scratch import quantization as qz


def torch_int8(w, scale):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.quantize_per_tensor(w, scale, 0, torch.qint8).int_repr()


@pytest.mark.parametrize("seed", range(5))
def test_int8_equals_quantize_per_tensor(seed):
    w = torch.randn(40, 30, generator=torch.Generator().manual_seed(seed)) * (seed + 1)
    q, scale = qz.quantize_int8(w)
    assert q.dtype == torch.int8 and q.shape == w.shape
    assert scale == pytest.approx(float(w.abs().max()) / 127)
    assert torch.equal(q, torch_int8(w, scale))
    assert int(q.abs().max()) == 127
    back = qz.dequantize_int8(q, scale)
    assert back.dtype == torch.float32
    assert float((back - w).abs().max()) <= scale / 2 + 1e-6
    fake = torch.fake_quantize_per_tensor_affine(w, scale, 0, -127, 127)
    assert torch.allclose(back, fake, atol=1e-6)


def test_zeros_and_half_way_rounding():
    q, scale = qz.quantize_int8(torch.zeros(3, 2))
    assert scale == 1.0 and torch.equal(q, torch.zeros(3, 2, dtype=torch.int8))
    w = torch.tensor([127.0, 0.5, 1.5, 2.5, -0.5, -2.5])  # scale 1: round half to even
    q, scale = qz.quantize_int8(w)
    assert scale == 1.0 and q.tolist() == [127, 0, 2, 2, 0, -2]


@pytest.mark.parametrize("bits", [2, 3, 4, 8])
def test_fewer_bits(bits):
    w = torch.randn(50, generator=torch.Generator().manual_seed(0))
    q, scale = qz.quantize_symmetric(w, bits)
    levels = 2 ** (bits - 1) - 1
    assert int(q.abs().max()) == levels and len(torch.unique(q)) <= 2 * levels + 1
    fake = torch.fake_quantize_per_tensor_affine(w, scale, 0, -levels, levels)
    assert torch.allclose(qz.fake_quantize(w, bits), fake, atol=1e-6)


def test_kmeans_matches_sklearn():
    from sklearn.cluster import KMeans

    w = torch.randn(30, 20, generator=torch.Generator().manual_seed(0))
    cents, labels = qz.kmeans_cluster(w, 8, seed=0)
    assert labels.shape == w.shape and len(cents) == 8 and bool((cents[1:] > cents[:-1]).all())
    shared = qz.cluster_weights(w, 3, seed=0)
    assert len(torch.unique(shared)) == 8
    assert torch.equal(shared, cents[labels])
    km = KMeans(n_clusters=8, n_init=1, random_state=0).fit(w.reshape(-1, 1).double().numpy())
    ref = np.sort(km.cluster_centers_[:, 0])
    assert np.allclose(cents.numpy(), ref, atol=1e-5)
    # every weight goes to its nearest centroid
    nearest = (w.reshape(-1, 1) - cents[None]).abs().argmin(1).reshape(w.shape)
    assert torch.equal(nearest, labels)


def test_map_linear_weights_and_bytes():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 3))
    q = qz.map_linear_weights(model, lambda w: qz.fake_quantize(w, 8))
    assert not torch.equal(q[0].weight, model[0].weight)
    assert torch.allclose(q[0].weight, model[0].weight, atol=float(model[0].weight.detach().abs().max()) / 254 + 1e-7)
    dense, small = qz.saved_bytes(model), qz.saved_bytes(qz.int8_state(model))
    assert small < dense
    assert qz.saved_bytes(model) == qz.saved_bytes(model.state_dict())


@pytest.mark.parametrize("call, error, words", [
    (lambda: qz.quantize_int8([1.0]), TypeError, "w"),
    (lambda: qz.quantize_int8(torch.ones(2, dtype=torch.long)), TypeError, "floating"),
    (lambda: qz.quantize_symmetric(torch.ones(2), 9), ValueError, "bits"),
    (lambda: qz.dequantize_int8(torch.ones(2), 1.0), TypeError, "integer"),
    (lambda: qz.dequantize_int8(torch.ones(2, dtype=torch.int8), 0.0), ValueError, "scale"),
    (lambda: qz.kmeans_cluster(torch.ones(4), 5), ValueError, "n_clusters"),
    (lambda: qz.map_linear_weights(nn.Linear(2, 2), 3), TypeError, "fn"),
])
def test_bad_arguments_are_named(call, error, words):
    with pytest.raises(error, match=words):
        call()
