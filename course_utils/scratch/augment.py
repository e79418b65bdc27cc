"""Data augmentation for small images (digits 8×8, drawn shapes), from scratch.

Each image gets its own random affine map — a rotation by θ ~ U(−max_degrees, max_degrees)
and a shift by (dx, dy) whole pixels, dx, dy ∈ {−shift, …, shift} — applied with
``torch.nn.functional.affine_grid``/``grid_sample`` (bilinear, zeros outside the image),
then Gaussian pixel noise.  A shift by whole pixels moves the pixels exactly (tested
against ``scipy.ndimage.shift``); a rotation by 90° is ``torch.rot90``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..core.validation import check_float, check_int, check_tensor


def affine_images(images: torch.Tensor, degrees: torch.Tensor, dx: torch.Tensor,
                  dy: torch.Tensor) -> torch.Tensor:
    """Rotate each image of (N, C, H, W) counter-clockwise by ``degrees[i]`` about its centre,
    then shift it right by ``dx[i]`` and down by ``dy[i]`` pixels (zeros come in)."""
    check_tensor("images", images, ndim=4, floating=True)
    n, _, h, w = images.shape
    for name, t in (("degrees", degrees), ("dx", dx), ("dy", dy)):
        check_tensor(name, t, ndim=1)
        if len(t) != n:
            raise ValueError(f"{name} must have one entry per image ({n}), got {len(t)}")
    th = -degrees.to(images.dtype) * math.pi / 180  # counter-clockwise as displayed (rows down)
    cos, sin = torch.cos(th), torch.sin(th)
    # grid_sample maps output coordinates (normalized to [−1, 1]) to input coordinates:
    # input = R(−θ)(output − shift); one pixel is 2/W (x) or 2/H (y) in normalized units.
    tx, ty = dx.to(images.dtype) * 2 / w, dy.to(images.dtype) * 2 / h
    theta = torch.stack([
        torch.stack([cos, sin * h / w, -(cos * tx + sin * ty * h / w)], 1),
        torch.stack([-sin * w / h, cos, -(-sin * tx * w / h + cos * ty)], 1)], 1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def augment_images(images: torch.Tensor, *, shift: int = 1, max_degrees: float = 10.0,
                   noise: float = 0.0, generator=None) -> torch.Tensor:
    """A randomly augmented copy of ``images`` (N, C, H, W): per image a rotation by
    U(−max_degrees, max_degrees), a shift by whole pixels in {−shift … shift}² and added
    N(0, noise²) pixel noise.  Flat inputs (N, H·W) of square images are accepted and
    returned flat."""
    check_tensor("images", images, ndim=(2, 4), floating=True)
    shift = check_int("shift", shift, min_value=0, max_value=8)
    max_degrees = check_float("max_degrees", max_degrees, min_value=0.0, max_value=180.0)
    noise = check_float("noise", noise, min_value=0.0)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    flat = images.ndim == 2
    if flat:
        side = int(round(math.sqrt(images.shape[1])))
        if side * side != images.shape[1]:
            raise ValueError(f"flat images must have a square number of pixels, got {images.shape[1]}")
        images = images.reshape(-1, 1, side, side)
    n = len(images)
    deg = (torch.rand(n, generator=generator) * 2 - 1) * max_degrees
    dx = torch.randint(-shift, shift + 1, (n,), generator=generator)
    dy = torch.randint(-shift, shift + 1, (n,), generator=generator)
    out = affine_images(images, deg, dx, dy)
    if noise > 0:
        out = out + noise * torch.randn(out.shape, generator=generator)
    return out.reshape(n, -1) if flat else out
