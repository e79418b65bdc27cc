"""Pretraining without the target's labels: autoencoders and pretext tasks.

* **autoencoder**: an encoder h = f(x) (the body of a classifier) and a decoder x̂ = g(h),
  trained to reconstruct the input, min ‖g(f(x)) − x‖²; the encoder is then reused.
  :func:`autoencoder` puts a mirrored decoder on an MLP body.
* **rotation pretext** (Gidaris et al. 2018): rotate every image by 0/90/180/270° and ask
  the network which rotation it sees; the labels come free, and answering needs the shape
  of the digit.  :func:`rotation_task` builds the 4N examples with ``torch.rot90``.
"""

from __future__ import annotations

import torch
from torch import nn

from ..core.validation import check_int

ROTATIONS = (0, 90, 180, 270)


def _check_images(X, name: str = "X") -> torch.Tensor:
    if not isinstance(X, torch.Tensor) or not X.is_floating_point():
        raise TypeError(f"{name} must be a floating-point torch.Tensor of images (N, C, H, W)")
    if X.ndim != 4 or X.shape[-1] != X.shape[-2]:
        raise ValueError(f"{name} must have shape (N, C, H, W) with H = W, got {tuple(X.shape)}")
    return X


def rotate(X: torch.Tensor, k: int) -> torch.Tensor:
    """Images ``X`` (N, C, H, W) rotated by k·90° counter-clockwise (``torch.rot90``)."""
    _check_images(X)
    k = check_int("k", k, min_value=0, max_value=3)
    return torch.rot90(X, k, dims=(2, 3))


def rotation_task(X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(X_rot, r)``: every image of ``X`` in the four rotations (4N images, block k is
    rotated by k·90°) and the rotation index r ∈ {0, 1, 2, 3} as int64 labels."""
    _check_images(X)
    X_rot = torch.cat([torch.rot90(X, k, dims=(2, 3)) for k in range(4)])
    r = torch.arange(4).repeat_interleave(len(X))
    return X_rot, r


def autoencoder(body: nn.Sequential, out_features: int) -> nn.Sequential:
    """``body`` (Linear → activation blocks) followed by a mirrored decoder that maps its
    output back to ``out_features`` numbers: Linear layers with the body's widths in reverse,
    ReLU between them, a linear last layer (reconstruction of standardized inputs).  The
    body's modules are *shared*, not copied: training the autoencoder trains ``body``."""
    if not isinstance(body, nn.Sequential):
        raise TypeError(f"body must be an nn.Sequential, got {type(body).__name__}")
    out_features = check_int("out_features", out_features, min_value=1)
    widths = [m.out_features for m in body if isinstance(m, nn.Linear)]
    if not widths:
        raise ValueError("body has no nn.Linear layer")
    sizes = widths[::-1] + [out_features]
    decoder: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        decoder.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            decoder.append(nn.ReLU())
    return nn.Sequential(*body, *decoder)


def shift_images(X: torch.Tensor, max_shift: int, generator=None, fill: float | None = None) -> torch.Tensor:
    """Every image of ``X`` (N, C, H, W) moved by its own random (dy, dx) ∈
    [−max_shift, max_shift]² (integers, from ``generator``); pixels that come in are ``fill``
    (default: the smallest value of ``X``, the background of standardized digits)."""
    _check_images(X)
    m = check_int("max_shift", max_shift, min_value=0, max_value=X.shape[-1] - 1)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    if m == 0:
        return X.clone()
    fill = float(X.min()) if fill is None else float(fill)
    n, _, h, w = X.shape
    padded = nn.functional.pad(X, (m, m, m, m), value=fill)
    dy = torch.randint(0, 2 * m + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * m + 1, (n,), generator=generator)
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None]          # (n, 1, h, 1)
    cols = (dx[:, None] + torch.arange(w))[:, None, None, :]          # (n, 1, 1, w)
    idx = torch.arange(n)[:, None, None, None]
    ch = torch.arange(X.shape[1])[None, :, None, None]
    return padded[idx, ch, rows, cols]
