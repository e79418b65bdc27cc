"""Fewer bits per weight: symmetric integer quantization and weight clustering.

Symmetric per-tensor int8 (Jacob et al. 2018, weights only): scale s = max|w| / 127
(1 if every w is 0), q = clamp(round(w / s), −127, 127) stored as int8, ŵ = s · q.  The
error per weight is at most s/2.  With b bits the same rule uses 2^(b−1) − 1 levels a side.

Weight clustering / sharing (Han et al. 2016): k-means on a layer's weights with 2^b
clusters; each weight is replaced by its cluster's centroid, so a layer stores b-bit indices
and a table of 2^b floats.
"""

from __future__ import annotations

import copy
import io

import torch
from torch import nn

from ..core import repro
from ..core.validation import check_int, check_tensor


def quantize_int8(w: torch.Tensor) -> tuple[torch.Tensor, float]:
    """``(q, scale)``: q = clamp(round(w / scale), −127, 127) as int8, scale = max|w| / 127
    (1.0 when w is all zeros).  Rounding is half-to-even (``torch.round``)."""
    return quantize_symmetric(w, 8)


def dequantize_int8(q: torch.Tensor, scale: float) -> torch.Tensor:
    """ŵ = scale · q as float32."""
    check_tensor("q", q)
    if q.is_floating_point():
        raise TypeError(f"q must be an integer tensor (int8), got dtype {q.dtype}")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
        raise ValueError(f"scale must be a number > 0, got {scale!r}")
    return q.to(torch.float32) * float(scale)


def quantize_symmetric(w: torch.Tensor, bits: int = 8) -> tuple[torch.Tensor, float]:
    """Symmetric per-tensor quantization to ``bits`` (2–8): L = 2^(bits−1) − 1 levels a
    side, scale = max|w| / L, q = clamp(round(w / scale), −L, L) as int8."""
    check_tensor("w", w, floating=True)
    bits = check_int("bits", bits, min_value=2, max_value=8)
    levels = 2 ** (bits - 1) - 1
    w = w.detach()
    m = float(w.abs().max()) if w.numel() else 0.0
    scale = m / levels if m > 0 else 1.0
    q = torch.clamp(torch.round(w / scale), -levels, levels).to(torch.int8)
    return q, scale


def fake_quantize(w: torch.Tensor, bits: int = 8) -> torch.Tensor:
    """ŵ = scale · q of :func:`quantize_symmetric`, in w's dtype (what the layer computes)."""
    q, scale = quantize_symmetric(w, bits)
    return (q.to(torch.float32) * scale).to(w.dtype)


def kmeans_cluster(w: torch.Tensor, n_clusters: int, seed: int = 0):
    """``(centroids, labels)``: scikit-learn ``KMeans`` on the values of ``w`` (one
    dimension), centroids sorted; ``centroids[labels]`` reshaped to w's shape is the shared
    weight tensor.  Uses ``n_init=1`` and k-means++ seeded through ``repro``."""
    from sklearn.cluster import KMeans

    check_tensor("w", w, floating=True)
    values = w.detach().reshape(-1, 1).double().numpy()
    n_clusters = check_int("n_clusters", n_clusters, min_value=1,
                           max_value=max(1, len(values)))
    km = KMeans(n_clusters=n_clusters, n_init=1, random_state=repro.seed(seed)).fit(values)
    order = km.cluster_centers_[:, 0].argsort()
    centroids = torch.tensor(km.cluster_centers_[order, 0], dtype=w.dtype)
    remap = torch.empty(n_clusters, dtype=torch.long)
    remap[torch.as_tensor(order)] = torch.arange(n_clusters)
    labels = remap[torch.as_tensor(km.labels_, dtype=torch.long)].reshape(w.shape)
    return centroids, labels


def cluster_weights(w: torch.Tensor, bits: int, seed: int = 0) -> torch.Tensor:
    """w with every value replaced by the centroid of its k-means cluster (2^bits clusters)."""
    bits = check_int("bits", bits, min_value=1, max_value=8)
    centroids, labels = kmeans_cluster(w, min(2 ** bits, w.numel()), seed)
    return centroids[labels]


@torch.no_grad()
def map_linear_weights(model: nn.Module, fn) -> nn.Module:
    """A deep copy of ``model`` with every ``nn.Linear`` weight W replaced by fn(W)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if not callable(fn):
        raise TypeError("fn must be a function of one weight tensor")
    new = copy.deepcopy(model)
    for m in new.modules():
        if isinstance(m, nn.Linear):
            m.weight.copy_(fn(m.weight))
    return new


def saved_bytes(obj) -> int:
    """Bytes of ``torch.save`` of ``obj`` (a model's state_dict, or a dict of tensors)."""
    if isinstance(obj, nn.Module):
        obj = obj.state_dict()
    buf = io.BytesIO()
    torch.save(obj, buf)
    return len(buf.getvalue())


def int8_state(model: nn.Module) -> dict:
    """What an int8 model stores: for each ``nn.Linear`` its int8 weight and float scale
    (:func:`quantize_int8`), the other tensors as they are."""
    out = {}
    for name, m in model.named_modules():
        if isinstance(m, nn.Linear):
            q, s = quantize_int8(m.weight)
            out[f"{name}.weight_int8"], out[f"{name}.scale"] = q, torch.tensor(s)
            if m.bias is not None:
                out[f"{name}.bias"] = m.bias.detach()
    return out
