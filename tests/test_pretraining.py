"""course_utils.scratch.pretraining compared with NumPy / PyTorch on the same inputs."""

import numpy as np
import pytest
import torch
from torch import nn

from course_utils.core import models
from course_utils.scratch import pretraining as pre


def test_rotate_matches_numpy_rot90():
    X = torch.randn(3, 1, 8, 8)
    for k in range(4):
        assert np.array_equal(pre.rotate(X, k).numpy(), np.rot90(X.numpy(), k, axes=(2, 3)))


def test_rotation_task_blocks_and_labels():
    X = torch.randn(5, 1, 8, 8)
    Xr, r = pre.rotation_task(X)
    assert Xr.shape == (20, 1, 8, 8) and r.dtype == torch.int64
    assert r.tolist() == [0] * 5 + [1] * 5 + [2] * 5 + [3] * 5
    assert torch.equal(Xr[10:15], torch.rot90(X, 2, dims=(2, 3)))


def test_shift_images_matches_a_loop_with_roll():
    X = torch.arange(2 * 64, dtype=torch.float32).reshape(2, 1, 8, 8)
    g = torch.Generator().manual_seed(0)
    out = pre.shift_images(X, 2, torch.Generator().manual_seed(0), fill=-1.0)
    dy = torch.randint(0, 5, (2,), generator=g) - 2
    dx = torch.randint(0, 5, (2,), generator=g) - 2
    for i in range(2):
        ref = torch.full((8, 8), -1.0)
        src = X[i, 0]
        for r in range(8):
            for c in range(8):
                rr, cc = r + int(dy[i]), c + int(dx[i])
                if 0 <= rr < 8 and 0 <= cc < 8:
                    ref[r, c] = src[rr, cc]
        assert torch.equal(out[i, 0], ref)
    assert torch.equal(pre.shift_images(X, 0), X)


def test_autoencoder_shares_the_body_and_mirrors_it():
    torch.manual_seed(0)
    body = models.mlp(64, 16, hidden=[32])
    ae = pre.autoencoder(body, 64)
    widths = [m.out_features for m in ae if isinstance(m, nn.Linear)]
    assert widths == [32, 16, 32, 64]
    assert ae[0] is body[0]
    assert ae(torch.randn(3, 64)).shape == (3, 64)


@pytest.mark.parametrize("call, err, match", [
    (lambda: pre.rotate(torch.randn(2, 8, 8), 1), ValueError, "N, C, H, W"),
    (lambda: pre.rotate(torch.randn(2, 1, 8, 8), 4), ValueError, "k"),
    (lambda: pre.rotation_task(np.zeros((2, 1, 8, 8))), TypeError, "torch.Tensor"),
    (lambda: pre.shift_images(torch.randn(2, 1, 8, 8), 9), ValueError, "max_shift"),
    (lambda: pre.autoencoder(nn.Linear(2, 2), 2), TypeError, "nn.Sequential"),
])
def test_bad_arguments(call, err, match):
    with pytest.raises(err, match=match):
        call()
