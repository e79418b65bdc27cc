import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from course_utils.core import data


def test_digits_split_sizes_stratified_and_standardized_with_train_stats():
    s = data.load_digits_data(val_size=0.2, test_size=0.2, seed=0)
    n = len(s.X_train) + len(s.X_val) + len(s.X_test)
    assert n == 1797 and s.n_classes == 10 and s.n_features == 64
    assert s.X_train.dtype == torch.float32 and s.y_train.dtype == torch.int64
    # standardized with training statistics: train columns have mean 0, std 1 (or all 0)
    mu, sd = s.X_train.mean(0), s.X_train.std(0, unbiased=False)
    assert torch.allclose(mu, torch.zeros(64), atol=1e-5)
    assert torch.all((sd - 1).abs() < 1e-4) | torch.all(sd[sd < 0.5] == 0)
    # stratified: every class within 2 samples of its expected share in each split
    counts = np.bincount(load_digits().target)
    for y in (s.y_train, s.y_val, s.y_test):
        share = np.bincount(y.numpy(), minlength=10) / len(y)
        assert np.all(np.abs(share - counts / counts.sum()) < 2 / len(y) + 1e-9)


def test_splits_are_reproducible_and_seed_dependent():
    a, b = data.load_digits_data(seed=3), data.load_digits_data(seed=3)
    c = data.load_digits_data(seed=4)
    assert torch.equal(a.X_train, b.X_train) and not torch.equal(a.X_train, c.X_train)


def test_digits_images_shape():
    s = data.load_digits_data(images=True)
    assert s.input_shape == (1, 8, 8)


def test_generated_sets_have_expected_shapes_and_classes():
    for s, k in [(data.make_moons_data(200), 2), (data.make_circles_data(200), 2),
                 (data.make_spirals_data(300, n_classes=3), 3),
                 (data.make_classification_data(), 2)]:
        assert s.n_classes == k
        assert len(torch.unique(s.y_train)) == k
    img = data.make_shapes_data(80, size=16)
    assert img.input_shape == (1, 16, 16) and img.n_classes == 4


def test_shapes_are_drawn_distinctly():
    X, y = data.draw_shapes(40, noise=0.0, seed=1)
    assert set(np.unique(X)) <= {0.0, 1.0}
    # every image has ink, and the mean image of each class differs from the others
    assert (X.reshape(40, -1).sum(1) > 5).all()
    means = [X[y == k].mean(0) for k in range(4)]
    assert all(np.abs(means[i] - means[j]).sum() > 1 for i in range(4) for j in range(i))


def test_classification_default_matches_sklearn_benchmark_data():
    from sklearn.datasets import make_classification
    X, y = make_classification(n_samples=1000, n_features=10, n_informative=10,
                               n_redundant=0, random_state=1)
    s = data.make_classification_data(val_size=0.0, test_size=0.0, standardize=False)
    assert len(s.X_train) == 1000
    assert sorted(map(tuple, s.X_train.numpy().round(4))) == sorted(map(tuple, X.astype(np.float32).round(4)))


def test_batches_cover_every_sample_once_and_reshuffle_each_pass():
    X = torch.arange(10.0)[:, None]
    y = torch.arange(10)
    b = data.Batches(X, y, batch_size=4, seed=0)
    assert len(b) == 3
    first = torch.cat([yb for _, yb in b])
    second = torch.cat([yb for _, yb in b])
    assert sorted(first.tolist()) == list(range(10)) == sorted(second.tolist())
    assert not torch.equal(first, second)
    again = torch.cat([yb for _, yb in data.Batches(X, y, batch_size=4, seed=0)])
    assert torch.equal(first, again)
    ordered = data.Batches(X, y, batch_size=4, shuffle=False, drop_last=True)
    assert len(ordered) == 2 and torch.equal(torch.cat([yb for _, yb in ordered]), torch.arange(8))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="val_size \\+ test_size must be < 1"):
        data.load_digits_data(val_size=0.5, test_size=0.5)
    with pytest.raises(ValueError, match="n_classes must be in"):
        data.spirals(100, n_classes=1)
    with pytest.raises(TypeError, match="batch_size must be an integer"):
        data.Batches(torch.ones(3, 1), torch.ones(3), batch_size=2.5)
    with pytest.raises(ValueError, match="same length"):
        data.Batches(torch.ones(3, 1), torch.ones(2))
    with pytest.raises(ValueError, match="size must be in"):
        data.draw_shapes(4, size=4)


def test_check_splits_names_what_is_expected():
    s = data.make_moons_data(50)
    assert data.check_splits(s) is s
    with pytest.raises(TypeError, match="splits must be a course_utils.core.data.Splits"):
        data.check_splits((s.X_train, s.y_train))


def test_make_splits_refuses_nan_and_inf_instead_of_spreading_them():
    X = np.random.default_rng(0).normal(size=(50, 3))
    y = np.arange(50) % 2
    X[7, 2] = np.nan
    with pytest.raises(ValueError, match=r"X contains 1 NaN or inf value\(s\) \(the first at index \(7, 2\)\)"):
        data.make_splits(X, y)
    X[7, 2] = np.inf
    with pytest.raises(ValueError, match="NaN or inf"):
        data.make_splits(X, y)


@pytest.mark.parametrize("labels, match", [
    ("pm1", "labels −1/\\+1"), ("one_based", "subtract 1"), ("gap", "np.unique"),
    ("one_hot", "one-hot"),
])
def test_make_splits_refuses_labels_that_would_give_a_wrong_n_classes(labels, match):
    X = np.random.default_rng(0).normal(size=(60, 3))
    y = np.arange(60) % 3
    y = {"pm1": np.where(y > 0, 1, -1), "one_based": y + 1, "gap": y * 2,
         "one_hot": np.eye(3, dtype=int)[y]}[labels]
    with pytest.raises(ValueError, match=match):
        data.make_splits(X, y)


def test_make_splits_still_takes_float_targets_and_bool_labels_as_before():
    X = np.random.default_rng(0).normal(size=(40, 2))
    s = data.make_splits(X, X[:, 0] * 2.0)
    assert s.n_classes == 1 and s.y_train.dtype == torch.float32
    s = data.make_splits(X, np.arange(40) % 4)
    assert s.n_classes == 4 and s.y_train.dtype == torch.int64


def test_batches_name_the_argument_that_is_not_a_tensor():
    with pytest.raises(TypeError, match="X must be a torch tensor, got ndarray"):
        data.Batches(torch.zeros(3, 2).numpy(), torch.zeros(3))


@pytest.mark.parametrize("size", [8, 9, 12, 128])
def test_shapes_draw_at_every_allowed_size(size):
    """size=8 used to fail inside NumPy (a centre range with low > high)."""
    X, y = data.draw_shapes(40, size=size, noise=0.0, seed=2)
    assert X.shape == (40, 1, size, size) and (X.reshape(40, -1).sum(1) > 0).all()



def test_cached_digits_is_loaded_once_per_seed_offset(monkeypatch):
    a = data.cached_digits()
    assert a is data.cached_digits()
    assert torch.equal(a.X_train, data.load_digits_data(seed=0).X_train)
    monkeypatch.setenv("COURSE_SEED_OFFSET", "1")
    b = data.cached_digits()
    assert b is not a and not torch.equal(b.y_train, a.y_train)
