import pytest
import torch
from torch import nn

from course_utils.core import models


def test_mlp_structure_follows_the_knobs():
    m = models.mlp(64, 10, depth=3, width=32, activation="tanh", batch_norm=True, dropout=0.2)
    kinds = [type(x).__name__ for x in m]
    assert kinds == ["Linear", "BatchNorm1d", "Tanh", "Dropout"] * 3 + ["Linear"]
    assert m(torch.randn(5, 64)).shape == (5, 10)
    assert [x.out_features for x in m if isinstance(x, nn.Linear)] == [32, 32, 32, 10]


def test_mlp_hidden_list_and_linear_model():
    m = models.mlp(2, 3, hidden=[5, 7])
    assert [x.out_features for x in m if isinstance(x, nn.Linear)] == [5, 7, 3]
    lin = models.mlp(4, 1, depth=0)
    assert len(lin) == 1 and isinstance(lin[0], nn.Linear)


def test_mlp_init_is_applied():
    m = models.mlp(400, 10, depth=2, width=400, init="he_normal")
    w = m[0].weight
    assert abs(w.std().item() - (2 / 400) ** 0.5) < 0.005
    assert torch.all(m[0].bias == 0)
    z = models.mlp(4, 2, depth=1, width=3, init="zeros")
    assert torch.all(z[0].weight == 0)


def test_same_seed_same_model():
    torch.manual_seed(0)
    a = models.mlp(8, 2)
    torch.manual_seed(0)
    b = models.mlp(8, 2)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_small_cnn_on_digits_and_shapes_sizes():
    cnn = models.SmallCNN(1, 10, channels=8)
    assert cnn(torch.randn(4, 1, 8, 8)).shape == (4, 10)
    assert models.SmallCNN(1, 4, batch_norm=True)(torch.randn(2, 1, 16, 16)).shape == (2, 4)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        cnn(torch.randn(4, 64))


def test_count_parameters():
    m = models.mlp(3, 2, depth=1, width=4)
    assert models.count_parameters(m) == (3 * 4 + 4) + (4 * 2 + 2)
    m[0].weight.requires_grad_(False)
    assert models.count_parameters(m, trainable_only=True) == 4 + 10


def test_bad_arguments():
    with pytest.raises(ValueError, match="activation must be one of"):
        models.mlp(2, 2, activation="rleu")
    with pytest.raises(ValueError, match="init must be one of"):
        models.mlp(2, 2, init="glorot")
    with pytest.raises(ValueError, match="dropout must be in"):
        models.mlp(2, 2, dropout=1.0)
    with pytest.raises(TypeError, match="in_features must be an integer"):
        models.mlp(2.0, 2)


def test_mlp_passes_activation_kwargs():
    m = models.mlp(4, 2, depth=2, width=3, activation="leaky_relu",
                   activation_kwargs={"negative_slope": 0.2})
    assert [x.negative_slope for x in m if isinstance(x, nn.LeakyReLU)] == [0.2, 0.2]
    with pytest.raises(TypeError, match="activation_kwargs .* do not fit activation 'relu'"):
        models.mlp(4, 2, activation="relu", activation_kwargs={"negative_slope": 0.2})
    with pytest.raises(TypeError, match="activation_kwargs must be a dict"):
        models.mlp(4, 2, activation_kwargs=0.2)


@pytest.mark.parametrize("name, kwargs, match", [
    ("leaky_relu", {"negative_slope": "x"}, "negative_slope .*must be a real number"),
    ("elu", {"alpha": float("inf")}, "alpha .*must be finite"),
    ("relu", {"inplace": "yes"}, "inplace .*True or False"),
    ("gelu", {"approximate": "fast"}, "approximate .*'none', 'tanh'"),
    ("prelu", {"num_parameters": 0}, "num_parameters"),
    ("tanh", {"alpha": 1.0}, "takes no argument 'alpha'"),
])
def test_activation_keywords_fail_when_built_not_in_forward(name, kwargs, match):
    with pytest.raises((TypeError, ValueError), match=match):
        models.get_activation(name, **kwargs)
    with pytest.raises((TypeError, ValueError), match=match):
        models.mlp(3, 2, activation=name, activation_kwargs=kwargs)


def test_valid_activation_keywords_pass_through_unchanged():
    act = models.get_activation("leaky_relu", negative_slope=1)
    assert act.negative_slope == 1 and models.get_activation("prelu", num_parameters=3,
                                                              init=0.1).weight.shape == (3,)
