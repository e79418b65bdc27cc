"""Datasets that ship with the course: nothing is downloaded.

Every loader returns a :class:`Splits` of float32 inputs and int64 labels as torch tensors,
split train / validation / test (stratified), optionally standardized with the *training*
mean and standard deviation only (x ← (x − μ_train) / σ_train).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from . import repro
from .validation import check_bool, check_float, check_fraction, check_int


@dataclass
class Splits:
    """Train/validation/test tensors plus the facts a model needs (features, classes)."""

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_val: torch.Tensor
    y_val: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    n_classes: int
    name: str = ""

    @property
    def n_features(self) -> int:
        return int(np.prod(self.X_train.shape[1:]))

    @property
    def input_shape(self) -> tuple:
        return tuple(self.X_train.shape[1:])

    def train(self):
        return self.X_train, self.y_train

    def val(self):
        return self.X_val, self.y_val

    def test(self):
        return self.X_test, self.y_test

    def loaders(self, batch_size: int = 32, seed: int = 0):
        """``(train_batches, val_batches, test_batches)``; only training batches shuffle."""
        return (
            Batches(self.X_train, self.y_train, batch_size, shuffle=True, seed=seed),
            Batches(self.X_val, self.y_val, batch_size=1024, shuffle=False),
            Batches(self.X_test, self.y_test, batch_size=1024, shuffle=False),
        )

    def __repr__(self) -> str:
        return (f"Splits({self.name!r}: train {tuple(self.X_train.shape)}, "
                f"val {tuple(self.X_val.shape)}, test {tuple(self.X_test.shape)}, "
                f"{self.n_classes} classes)")


def check_splits(splits, name: str = "splits") -> Splits:
    """Return ``splits`` if it is a :class:`Splits`; otherwise say what is expected."""
    if not isinstance(splits, Splits):
        raise TypeError(f"{name} must be a course_utils.core.data.Splits (e.g. from "
                        f"load_digits_data()), got {type(splits).__name__}")
    return splits


class Batches:
    """Mini-batches from in-memory tensors: a fast, seeded stand-in for a DataLoader.

    Each pass draws a fresh permutation from its own generator (if ``shuffle``), so two
    runs with the same ``seed`` see the same batches in the same order.
    """

    def __init__(self, X: torch.Tensor, y: torch.Tensor, batch_size: int = 32,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False):
        for name, value in (("X", X), ("y", y)):
            if not isinstance(value, torch.Tensor):
                raise TypeError(f"{name} must be a torch tensor, got {type(value).__name__} "
                                f"(convert with torch.as_tensor({name}); inputs as float32, "
                                "class labels as int64)")
        if len(X) != len(y):
            raise ValueError(f"X and y must have the same length, got {len(X)} and {len(y)}")
        self.X, self.y = X, y
        self.batch_size = check_int("batch_size", batch_size, min_value=1)
        self.shuffle = check_bool("shuffle", shuffle)
        self.drop_last = check_bool("drop_last", drop_last)
        self.generator = repro.generator(seed)

    def __len__(self) -> int:
        n = len(self.X) / self.batch_size
        return math.floor(n) if self.drop_last else math.ceil(n)

    def __iter__(self):
        n = len(self.X)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else None
        for i in range(len(self)):
            if order is None:
                sl = slice(i * self.batch_size, (i + 1) * self.batch_size)
                yield self.X[sl], self.y[sl]
            else:
                idx = order[i * self.batch_size:(i + 1) * self.batch_size]
                yield self.X[idx], self.y[idx]


def _check_inputs(X) -> np.ndarray:
    """``X`` as a finite float32 array of shape (n_samples, ...), or a clear error."""
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    try:
        X = np.asarray(X, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"X must be a numeric array of shape (n_samples, n_features), "
                        f"got {type(X).__name__} that NumPy cannot turn into numbers ({exc})") from None
    if X.ndim < 2:
        raise ValueError(f"X must have shape (n_samples, n_features) or (n_samples, C, H, W), "
                         f"got shape {X.shape} (one feature? use X.reshape(-1, 1))")
    bad = ~np.isfinite(X)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"X contains {int(bad.sum())} NaN or inf value(s) (the first at index "
                         f"{first}); one of them would make a whole column NaN after "
                         "standardizing: drop or impute those rows first")
    return X


def _check_labels(y, n: int) -> np.ndarray:
    """``y``: class labels 0 … K−1 (integers) or regression targets (floats), 1-D."""
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    y = np.asarray(y)
    if y.dtype == object or y.dtype.kind not in "biuf":
        raise TypeError(f"y must hold numbers (class labels 0 … K−1 or float targets), got "
                        f"dtype {y.dtype}")
    if y.ndim == 2 and y.shape[1] > 1 and np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all():
        raise ValueError(f"y looks one-hot encoded (shape {y.shape}); pass class labels "
                         "0 … K−1 of shape (n_samples,): y.argmax(axis=1)")
    if y.ndim != 1:
        raise ValueError(f"y must have shape (n_samples,), got {y.shape}")
    if len(y) != n:
        raise ValueError(f"X and y must have the same length, got {n} and {len(y)}")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError(f"y contains {int((~np.isfinite(y)).sum())} NaN or inf value(s)")
    if np.issubdtype(y.dtype, np.integer) and len(y):
        labels = np.unique(y)
        if labels[0] < 0 or labels[-1] != len(labels) - 1:
            shown = ", ".join(str(v) for v in labels[:6]) + (", …" if len(labels) > 6 else "")
            fix = (" (labels −1/+1? use (y > 0).astype(int))" if set(labels) == {-1, 1}
                   else " (1-based? subtract 1)" if labels[0] == 1 and labels[-1] == len(labels)
                   else " (map them with np.unique(y, return_inverse=True)[1])")
            raise ValueError(f"y must hold the class labels 0 … K−1 (every class present), got "
                             f"the labels {shown}{fix}")
    return y


def make_splits(X, y, *, val_size=0.2, test_size=0.2, standardize=True, seed=0,
                name="") -> Splits:
    """Stratified train/val/test split of NumPy arrays, standardized with train statistics.

    ``X``: finite numbers of shape (n_samples, ...); ``y``: class labels 0 … K−1 (integers;
    ``n_classes`` = K) or float targets (regression, ``n_classes`` = 1)."""
    X = _check_inputs(X)
    y = _check_labels(y, len(X))
    val_size = check_fraction("val_size", val_size)
    test_size = check_fraction("test_size", test_size)
    if val_size + test_size >= 1:
        raise ValueError(f"val_size + test_size must be < 1, got {val_size + test_size}")
    check_bool("standardize", standardize)
    seed = check_int("seed", seed, min_value=0)
    from sklearn.model_selection import train_test_split  # lazy: sklearn is slow to import

    idx = np.arange(len(X))
    strat = y if np.issubdtype(y.dtype, np.integer) else None
    holdout = val_size + test_size
    try:
        if holdout > 0:
            tr, rest = train_test_split(idx, test_size=holdout, stratify=strat,
                                        random_state=repro.seed(seed))
        else:
            tr, rest = idx, idx[:0]
        if val_size > 0 and test_size > 0:
            va, te = train_test_split(rest, test_size=test_size / holdout,
                                      stratify=None if strat is None else y[rest],
                                      random_state=repro.seed(seed))
        elif val_size > 0:
            va, te = rest, rest[:0]
        else:
            va, te = rest[:0], rest
    except ValueError as exc:
        raise ValueError(f"cannot split {len(X)} samples into train/val/test with val_size="
                         f"{val_size}, test_size={test_size}, stratified by class: {exc} "
                         "(more samples, or smaller/larger fractions)") from None
    if standardize:
        axes = (0,) if X.ndim == 2 else tuple(range(X.ndim))  # images: one mean/std overall
        mu = X[tr].mean(axis=axes, keepdims=True)
        sd = X[tr].std(axis=axes, keepdims=True)
        sd[sd == 0] = 1.0  # constant pixels (digits' corners) stay 0
        X = (X - mu) / sd
    n_classes = int(y.max()) + 1 if np.issubdtype(y.dtype, np.integer) else 1
    yt = torch.from_numpy(y.astype(np.int64) if strat is not None else y.astype(np.float32))
    Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    return Splits(Xt[tr], yt[tr], Xt[va], yt[va], Xt[te], yt[te], n_classes, name)


def load_digits_data(*, val_size=0.2, test_size=0.2, standardize=True, seed=0,
                     images=False) -> Splits:
    """scikit-learn's 8×8 handwritten digits (1797 samples, 10 classes, pixels 0–16).

    ``images=True`` gives shape (N, 1, 8, 8) for convolutional models, else (N, 64).
    """
    check_bool("images", images)
    from sklearn.datasets import load_digits

    d = load_digits()
    X = d.images[:, None, :, :] if images else d.data
    return make_splits(X, d.target, val_size=val_size, test_size=test_size,
                       standardize=standardize, seed=seed, name="digits")


def make_moons_data(n_samples=600, *, noise=0.2, seed=0, **split_kw) -> Splits:
    """Two interleaving half-moons in 2-D (scikit-learn ``make_moons``)."""
    n_samples = check_int("n_samples", n_samples, min_value=10)
    noise = check_float("noise", noise, min_value=0.0)
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=n_samples, noise=noise, random_state=repro.seed(seed))
    return make_splits(X, y, seed=seed, name="moons", **split_kw)


def make_circles_data(n_samples=600, *, noise=0.1, factor=0.5, seed=0, **split_kw) -> Splits:
    """A small circle inside a large one (scikit-learn ``make_circles``)."""
    n_samples = check_int("n_samples", n_samples, min_value=10)
    noise = check_float("noise", noise, min_value=0.0)
    factor = check_float("factor", factor, min_value=0.0, max_value=1.0, max_inclusive=False)
    from sklearn.datasets import make_circles

    X, y = make_circles(n_samples=n_samples, noise=noise, factor=factor, random_state=repro.seed(seed))
    return make_splits(X, y, seed=seed, name="circles", **split_kw)


def spirals(n_samples=600, *, n_classes=3, noise=0.2, turns=1.0, seed=0):
    """NumPy arrays ``(X, y)`` of ``n_classes`` interleaved spiral arms in 2-D.

    Arm k: angle θ = 2π·turns·r + 2πk/K, point r(cos θ, sin θ) + noise, r ∈ [0, 1].
    """
    n_classes = check_int("n_classes", n_classes, min_value=2, max_value=10)
    n_samples = check_int("n_samples", n_samples, min_value=n_classes)
    noise = check_float("noise", noise, min_value=0.0)
    turns = check_float("turns", turns, min_value=0.0, min_inclusive=False)
    rng = repro.rng(seed)
    y = np.arange(n_samples) % n_classes
    r = rng.uniform(0.05, 1.0, n_samples)
    theta = 2 * np.pi * turns * r + 2 * np.pi * y / n_classes
    X = np.c_[r * np.cos(theta), r * np.sin(theta)] + noise * 0.1 * rng.standard_normal((n_samples, 2))
    return X.astype(np.float32), y.astype(np.int64)


def make_spirals_data(n_samples=600, *, n_classes=3, noise=0.2, turns=1.0, seed=0,
                      **split_kw) -> Splits:
    """:func:`spirals` as :class:`Splits`."""
    X, y = spirals(n_samples, n_classes=n_classes, noise=noise, turns=turns, seed=seed)
    return make_splits(X, y, seed=seed, name="spirals", **split_kw)


def make_classification_data(n_samples=1000, *, n_features=10, n_informative=10,
                             n_redundant=0, n_classes=2, seed=1, **split_kw) -> Splits:
    """scikit-learn ``make_classification`` (defaults: the perceptron chapter's benchmark)."""
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=check_int("n_samples", n_samples, min_value=10),
        n_features=check_int("n_features", n_features, min_value=1),
        n_informative=check_int("n_informative", n_informative, min_value=1),
        n_redundant=check_int("n_redundant", n_redundant, min_value=0),
        n_classes=check_int("n_classes", n_classes, min_value=2),
        random_state=repro.seed(seed),
    )
    return make_splits(X, y, seed=seed, name="classification", **split_kw)


SHAPES = ("circle", "square", "triangle", "cross")


def draw_shapes(n_samples=800, *, size=16, noise=0.1, seed=0):
    """NumPy ``(images, labels)``: procedurally drawn outlines of circles, squares,
    triangles and crosses at random positions and scales, plus Gaussian pixel noise.

    ``images`` has shape (n_samples, 1, size, size) with values around [0, 1].
    """
    n_samples = check_int("n_samples", n_samples, min_value=1)
    size = check_int("size", size, min_value=8, max_value=128)
    noise = check_float("noise", noise, min_value=0.0)
    rng = repro.rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    images = np.zeros((n_samples, 1, size, size), dtype=np.float32)
    labels = np.arange(n_samples) % len(SHAPES)
    rng.shuffle(labels)
    for i, lab in enumerate(labels):
        r = rng.uniform(0.22, 0.38) * size
        margin = min(1.0, (size - 2 * r) / 2)  # a 1-pixel border where the image allows
        cx, cy = rng.uniform(r + margin, size - r - margin, 2)
        dx, dy = xx - cx, yy - cy
        w = max(1.0, size / 16)  # stroke width in pixels
        kind = SHAPES[lab]
        if kind == "circle":
            img = np.abs(np.hypot(dx, dy) - r) < w * 0.75
        elif kind == "square":
            m = np.maximum(np.abs(dx), np.abs(dy))
            img = np.abs(m - r * 0.85) < w * 0.75
        elif kind == "triangle":  # apex up, base down
            h = r * 1.6
            top, base = cy - h / 2, cy + h / 2
            half = (yy - top) / h * r
            inside = (yy >= top) & (yy <= base) & (np.abs(dx) <= half)
            inner = (yy >= top + 2 * w) & (yy <= base - w) & (np.abs(dx) <= half - 1.6 * w)
            img = inside & ~inner
        else:  # cross
            img = ((np.abs(dx) < w * 0.75) | (np.abs(dy) < w * 0.75)) & (np.maximum(np.abs(dx), np.abs(dy)) < r)
        images[i, 0] = img.astype(np.float32)
    images += noise * rng.standard_normal(images.shape).astype(np.float32)
    return images, labels.astype(np.int64)


_DIGITS: dict = {}


def cached_digits() -> Splits:
    """``load_digits_data(seed=0)``, loaded once per seed offset and shared by the chapters
    that call it (treat it as read-only)."""
    key = repro.seed_offset()
    if key not in _DIGITS:
        _DIGITS[key] = load_digits_data(seed=0)
    return _DIGITS[key]


def make_shapes_data(n_samples=800, *, size=16, noise=0.1, seed=0, **split_kw) -> Splits:
    """:func:`draw_shapes` as :class:`Splits` of images (N, 1, size, size), 4 classes."""
    X, y = draw_shapes(n_samples, size=size, noise=noise, seed=seed)
    return make_splits(X, y, seed=seed, name="shapes", **split_kw)
