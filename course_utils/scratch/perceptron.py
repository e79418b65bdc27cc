r"""The perceptron (Rosenblatt 1958) from scratch in NumPy, checked against scikit-learn.

For an input x ∈ ℝᵈ, weights w and bias b the perceptron computes the activation
a = w·x + b and predicts ŷ = 1 iff a > 0 (else 0).  After each training sample it applies

    w ← w + η (y − ŷ) x,        b ← b + η (y − ŷ),

which changes nothing when the prediction was right (y − ŷ = 0) and moves the decision line
towards the misclassified sample otherwise.  One pass over the data is an *epoch*; between
epochs the order is reshuffled.

Novikoff (1962): if some unit vector u separates the data with margin γ
(yᵢ⁺ u·x̃ᵢ ≥ γ with yᵢ⁺ = ±1) and every ‖x̃ᵢ‖ ≤ R, the perceptron started at zero makes at
most (R/γ)² mistakes, whatever the order and the learning rate.  With a bias the theorem is
applied to the folded inputs x̃ = (x, 1) and weights w̃ = (w, b): the perceptron with a bias
*is* the bias-free perceptron on x̃.  :func:`margin_radius` computes R and the largest
possible γ (a hard-margin linear SVM, scikit-learn ``SVC(kernel="linear")``).

Contents: :func:`predict`, :func:`epoch` (the exact update rule, one sample at a time),
:func:`fit` (epochs, shuffling, mistake counting, stop at the first error-free epoch),
:func:`trace` (every intermediate weight vector, for the explorer), the scikit-learn
compatible :class:`ScratchPerceptron` (so ``cross_val_score`` can evaluate it),
:func:`margin_radius`, :func:`separator_margin`, :func:`mistake_bound`,
:func:`is_separable`.  Chapter 01's data sets and explorer are in
``course_utils.chapters.ch01_perceptron``.

Where it differs from scikit-learn's ``Perceptron`` (same update otherwise — it is
``SGDClassifier(loss="perceptron", learning_rate="constant", penalty=None)``):

* scikit-learn updates when yᵢ⁺·a ≤ 0, so a sample *on* the line (a = 0) counts as a
  mistake for both classes; here a sample of class 0 at a = 0 is predicted 0 and is right.
  From w = 0 this matters for the very first sample only (continuous data never lands
  exactly on the line again).
* scikit-learn stops when its training loss mean(max(0, −yᵢ⁺ aᵢ)) has not improved by
  ``tol`` (1e-3) for ``n_iter_no_change`` (5) epochs; that loss scales with ``eta0``, so a
  small ``eta0`` stops it early.  Here training stops at the first epoch without mistakes
  or after ``epochs``.
* Both shuffle before every epoch, with different random generators.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.svm import SVC

from ..core import repro
from ..core.validation import check_bool, check_float, check_int

# ----------------------------------------------------------------------------------------
# argument checks shared by the functions below
# ----------------------------------------------------------------------------------------


def _check_X(X, name: str = "X") -> np.ndarray:
    if hasattr(X, "detach"):  # a torch tensor
        X = X.detach().cpu().numpy()
    try:
        arr = np.asarray(X)
    except Exception as exc:  # ragged lists
        raise TypeError(f"{name} must be a 2-D numeric array (n_samples, n_features), "
                        f"got {type(X).__name__}") from exc
    if arr.dtype == object or arr.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be a 2-D numeric array (n_samples, n_features), "
                        f"got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must have at least one row and one column, got shape {arr.shape}")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must contain only finite numbers (no NaN or inf)")
    return arr


def _check_y(y, n: int, name: str = "y") -> np.ndarray:
    if hasattr(y, "detach"):
        y = y.detach().cpu().numpy()
    arr = np.asarray(y)
    if arr.ndim != 1 or len(arr) != n:
        raise ValueError(f"{name} must be 1-D with one label per row of X ({n}), got shape {arr.shape}")
    if arr.dtype.kind not in "fiub" or not np.isin(arr, (0, 1)).all():
        raise ValueError(f"{name} must contain only the labels 0 and 1")
    return arr.astype(np.int64)


def _check_w(w, d: int, name: str = "w") -> np.ndarray:
    if hasattr(w, "detach"):
        w = w.detach().cpu().numpy()
    arr = np.asarray(w)
    if arr.dtype == object or arr.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be a 1-D numeric array, got dtype {arr.dtype}")
    if arr.shape != (d,):
        raise ValueError(f"{name} must have shape ({d},) (one weight per column of X), "
                         f"got shape {arr.shape}")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must contain only finite numbers")
    return arr


# ----------------------------------------------------------------------------------------
# the algorithm
# ----------------------------------------------------------------------------------------


def activation(X, w, b) -> np.ndarray:
    """The activation a = X @ w + b of every row (the signed, unnormalized distance)."""
    X = _check_X(X)
    return X @ _check_w(w, X.shape[1]) + check_float("b", b)


def predict(X, w, b) -> np.ndarray:
    """ŷ = 1 iff w·x + b > 0, else 0, for every row of ``X`` (an int64 array).

    A point exactly on the line (a = 0) is predicted 0."""
    return (activation(X, w, b) > 0).astype(np.int64)


def epoch(X, y, w, b, lr=1.0, order=None):
    """One pass over the samples in ``order`` (default: as given), one update per sample:

    ŷᵢ = [w·xᵢ + b > 0],   w ← w + η(yᵢ − ŷᵢ)xᵢ,   b ← b + η(yᵢ − ŷᵢ).

    Returns ``(w, b, n_errors)``: new arrays (inputs untouched) and the number of samples
    that were misclassified *when they were visited* (= the number of updates)."""
    X = _check_X(X)
    y = _check_y(y, len(X))
    w = _check_w(w, X.shape[1]).copy()
    b = check_float("b", b)
    lr = check_float("lr", lr, min_value=0.0, min_inclusive=False)
    order = _check_order(order, len(X))
    n_errors = 0
    for i in order:
        y_hat = 1 if X[i] @ w + b > 0 else 0
        delta = y[i] - y_hat
        if delta != 0:
            w = w + lr * delta * X[i]
            b = b + lr * delta
            n_errors += 1
    return w, b, n_errors


def _check_order(order, n: int) -> np.ndarray:
    if order is None:
        return np.arange(n)
    order = np.asarray(order)
    if order.ndim != 1 or order.dtype.kind not in "iu" or len(order) == 0 \
            or order.min() < 0 or order.max() >= n:
        raise ValueError(f"order must be a 1-D array of row indices in [0, {n}), got {order!r}")
    return order


def _epoch_fast(X, y, w, b, lr, order, fit_intercept=True):
    """:func:`epoch` without the Python loop over correctly classified samples.

    Samples before the next mistake do not change w, so their predictions can be computed
    together: find the first mistake in the next block of samples (the block grows with
    the gap between mistakes), update, continue after it.  Same result as :func:`epoch`
    (up to the rounding of a matrix-vector product)."""
    Xo, pos = X[order], y[order] == 1
    step = lr * np.where(pos, 1.0, -1.0)  # η(y − ŷ) whenever the sample is a mistake
    w = w.copy()
    n, i, chunk, n_errors = len(Xo), 0, 16, 0
    while i < n:
        j_end = min(n, i + chunk)
        wrong = (Xo[i:j_end] @ w + b > 0) != pos[i:j_end]
        k = int(wrong.argmax())
        if not wrong[k]:
            i, chunk = j_end, min(2 * chunk, 1024)
            continue
        j = i + k
        w += step[j] * Xo[j]
        if fit_intercept:
            b = b + step[j]
        n_errors += 1
        i, chunk = j + 1, max(8, min(2 * (k + 1), 1024))
    return w, b, n_errors


@dataclass
class FitResult:
    """What :func:`fit` learned and how it got there."""

    w: np.ndarray
    b: float
    mistakes_per_epoch: list = field(default_factory=list)
    converged: bool = False

    @property
    def epochs(self) -> int:
        """Epochs run (the last one is error-free when ``converged``)."""
        return len(self.mistakes_per_epoch)

    @property
    def mistakes(self) -> int:
        """Total number of mistakes = number of updates."""
        return int(sum(self.mistakes_per_epoch))


def fit(X, y, *, lr=1.0, epochs=100, shuffle=True, seed=0, fit_intercept=True,
        w0=None, b0=0.0) -> FitResult:
    """Train a perceptron: up to ``epochs`` passes of :func:`epoch`, stopping after the
    first pass without a mistake (converged).  With ``shuffle`` every pass visits the
    samples in a fresh random order (``repro.rng(seed).permutation`` before
    every epoch, the first included).  ``w0``/``b0`` default to zeros; with
    ``fit_intercept=False`` b stays at ``b0``.  Returns a :class:`FitResult`."""
    X = _check_X(X)
    y = _check_y(y, len(X))
    lr = check_float("lr", lr, min_value=0.0, min_inclusive=False)
    epochs = check_int("epochs", epochs, min_value=1)
    shuffle = check_bool("shuffle", shuffle)
    seed = check_int("seed", seed, min_value=0)
    fit_intercept = check_bool("fit_intercept", fit_intercept)
    w = np.zeros(X.shape[1]) if w0 is None else _check_w(w0, X.shape[1], "w0").copy()
    b = check_float("b0", b0)
    rng = repro.rng(seed)
    result = FitResult(w, b)
    for _ in range(epochs):
        order = rng.permutation(len(X)) if shuffle else np.arange(len(X))
        w, b, n_err = _epoch_fast(X, y, w, b, lr, order, fit_intercept)
        result.mistakes_per_epoch.append(n_err)
        if n_err == 0:
            result.converged = True
            break
    result.w, result.b = w, float(b)
    return result


@dataclass
class Trace:
    """Every step of a run: after step k (k = 1 … n·epochs) the weights are ``ws[k]``,
    ``bs[k]``; ``ws[0]``, ``bs[0]`` is the start.  ``sample[k-1]`` is the row visited at
    step k and ``mistake[k-1]`` whether it was misclassified (and so caused an update)."""

    ws: np.ndarray
    bs: np.ndarray
    sample: np.ndarray
    mistake: np.ndarray
    n_samples: int

    @property
    def steps(self) -> int:
        return len(self.sample)

    def mistakes_per_epoch(self) -> np.ndarray:
        return self.mistake.reshape(-1, self.n_samples).sum(axis=1)


def trace(X, y, *, lr=1.0, epochs=5, shuffle=True, seed=0, w0=None, b0=0.0) -> Trace:
    """Run :func:`epoch` sample by sample for ``epochs`` passes (no early stop) and keep
    the weights after every step (for the explorer; fine for a few thousand steps)."""
    X = _check_X(X)
    y = _check_y(y, len(X))
    lr = check_float("lr", lr, min_value=0.0, min_inclusive=False)
    epochs = check_int("epochs", epochs, min_value=1)
    shuffle = check_bool("shuffle", shuffle)
    rng = repro.rng(seed)
    w = np.zeros(X.shape[1]) if w0 is None else _check_w(w0, X.shape[1], "w0").copy()
    b = check_float("b0", b0)
    n = len(X)
    steps = n * epochs
    ws = np.empty((steps + 1, X.shape[1]))
    bs = np.empty(steps + 1)
    sample = np.empty(steps, dtype=np.int64)
    mistake = np.zeros(steps, dtype=bool)
    ws[0], bs[0] = w, b
    k = 0
    for _ in range(epochs):
        order = rng.permutation(n) if shuffle else np.arange(n)
        for i in order:
            delta = y[i] - (1 if X[i] @ w + b > 0 else 0)
            if delta != 0:
                w = w + lr * delta * X[i]
                b = b + lr * delta
                mistake[k] = True
            sample[k] = i
            k += 1
            ws[k], bs[k] = w, b
    return Trace(ws, bs, sample, mistake, n)


# ----------------------------------------------------------------------------------------
# a scikit-learn estimator around fit()
# ----------------------------------------------------------------------------------------


class ScratchPerceptron(ClassifierMixin, BaseEstimator):
    """The from-scratch perceptron as a scikit-learn classifier (``fit``/``predict``/
    ``decision_function``/``score``), so ``cross_val_score`` and ``Pipeline`` can use it.

    Parameters mirror scikit-learn's ``Perceptron``: ``lr`` ↔ ``eta0``, ``epochs`` ↔
    ``max_iter``, ``shuffle``, ``random_state``, ``fit_intercept``.  Training starts at
    w = 0, b = 0 and stops after the first epoch without a mistake (no ``tol``).
    Attributes after ``fit``: ``coef_`` (1, d), ``intercept_`` (1,), ``classes_``,
    ``n_iter_`` (epochs run), ``mistakes_`` (per epoch), ``converged_``.
    Binary problems only: the second of the sorted ``classes_`` is the positive class.
    """

    def __init__(self, lr=1.0, epochs=100, shuffle=True, random_state=0, fit_intercept=True):
        self.lr = lr
        self.epochs = epochs
        self.shuffle = shuffle
        self.random_state = random_state
        self.fit_intercept = fit_intercept

    def fit(self, X, y):
        X = _check_X(X)
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(X):
            raise ValueError(f"y must be 1-D with one label per row of X ({len(X)}), "
                             f"got shape {y.shape}")
        self.classes_, y01 = np.unique(y, return_inverse=True)
        if len(self.classes_) != 2:
            raise ValueError(f"y must contain exactly two classes, got {len(self.classes_)}: "
                             f"{self.classes_[:5]}")
        res = fit(X, y01, lr=self.lr, epochs=self.epochs, shuffle=self.shuffle,
                  seed=self.random_state, fit_intercept=self.fit_intercept)
        self.coef_ = res.w[None, :]
        self.intercept_ = np.array([res.b])
        self.n_iter_ = res.epochs
        self.mistakes_ = list(res.mistakes_per_epoch)
        self.converged_ = res.converged
        self.n_features_in_ = X.shape[1]
        return self

    def _check_fitted(self, X):
        if not hasattr(self, "coef_"):
            raise RuntimeError("this ScratchPerceptron is not fitted yet: call fit(X, y) first")
        X = _check_X(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X must have {self.n_features_in_} columns (as in fit), "
                             f"got {X.shape[1]}")
        return X

    def decision_function(self, X):
        """The activation w·x + b of every row."""
        X = self._check_fitted(X)
        return X @ self.coef_[0] + self.intercept_[0]

    def predict(self, X):
        """The class of every row: ``classes_[1]`` where w·x + b > 0, else ``classes_[0]``."""
        positive = self.decision_function(X) > 0
        return self.classes_[positive.astype(np.int64)]


# ----------------------------------------------------------------------------------------
# the convergence theorem: margin, radius, bound
# ----------------------------------------------------------------------------------------


def _fold(X, fit_intercept: bool) -> np.ndarray:
    return np.hstack([X, np.ones((len(X), 1))]) if fit_intercept else X


def separator_margin(X, y, w, b=0.0, *, fit_intercept=True) -> float:
    """The margin γ of the separator (w, b): min over samples of yᵢ⁺·(w·xᵢ + b) / ‖w̃‖,
    with yᵢ⁺ = 2yᵢ − 1 ∈ {−1, +1} and w̃ = (w, b) (or w alone when ``fit_intercept`` is
    False, b must then be 0).  Negative or 0 when (w, b) does not separate the data."""
    X = _check_X(X)
    y = _check_y(y, len(X))
    w = _check_w(w, X.shape[1])
    b = check_float("b", b)
    check_bool("fit_intercept", fit_intercept)
    if not fit_intercept and b != 0.0:
        raise ValueError("b must be 0 when fit_intercept is False (a separator through the origin)")
    wt = np.append(w, b) if fit_intercept else w
    norm = float(np.linalg.norm(wt))
    if norm == 0:
        raise ValueError("w and b are all zero: the zero vector defines no separator")
    s = 2 * y - 1
    return float(np.min(s * (X @ w + b)) / norm)


def is_separable(X, y, *, fit_intercept=True) -> bool:
    """True iff some (w, b) (or w alone) has (2yᵢ − 1)(w·xᵢ + b) > 0 for every sample.

    A linear program (scipy's HiGHS): is there w̃ with (2yᵢ − 1) w̃·x̃ᵢ ≥ 1 for all i?"""
    from scipy.optimize import linprog

    X = _check_X(X)
    y = _check_y(y, len(X))
    Xt = _fold(X, check_bool("fit_intercept", fit_intercept))
    s = (2 * y - 1).astype(float)
    res = linprog(np.zeros(Xt.shape[1]), A_ub=-(s[:, None] * Xt), b_ub=-np.ones(len(X)),
                  bounds=(None, None), method="highs")
    return res.status == 0


def margin_radius(X, y, *, fit_intercept=True, C=1e6):
    """``(gamma, R)`` for the convergence bound (R/γ)² on the (folded) data.

    R = max ‖x̃ᵢ‖.  γ is the margin of a max-margin separator through the origin in the
    folded space, from scikit-learn's ``SVC(kernel="linear", C=C)`` fitted on the data
    together with its mirror image (−x̃ᵢ with the opposite label), which forces the SVM's
    own intercept to 0.  γ is then measured on the data (:func:`separator_margin`), so it
    is the margin of an actual separator: the bound computed from it is always valid.
    Data that are not linearly separable (checked first, :func:`is_separable`) give
    γ = 0: no margin, no bound."""
    X = _check_X(X)
    y = _check_y(y, len(X))
    fit_intercept = check_bool("fit_intercept", fit_intercept)
    C = check_float("C", C, min_value=0.0, min_inclusive=False)
    if len(np.unique(y)) < 2:
        raise ValueError("y must contain both classes 0 and 1")
    Xt = _fold(X, fit_intercept)
    R = float(np.max(np.linalg.norm(Xt, axis=1)))
    if not is_separable(X, y, fit_intercept=fit_intercept):
        return 0.0, R
    Z = np.vstack([Xt, -Xt])
    s = np.concatenate([y, 1 - y])
    u = SVC(kernel="linear", C=C).fit(Z, s).coef_[0]
    if fit_intercept:
        gamma = separator_margin(X, y, u[:-1], u[-1])
    else:
        gamma = separator_margin(X, y, u, 0.0, fit_intercept=False)
    return gamma, R


def mistake_bound(X, y, w, b=0.0) -> float:
    """Novikoff's bound (R/γ)² for the separator (w, b) on the folded inputs x̃ = (x, 1):
    R = max‖x̃ᵢ‖, γ = :func:`separator_margin`.  ``inf`` when (w, b) does not separate."""
    X = _check_X(X)
    gamma = separator_margin(X, y, w, b)
    if gamma <= 0:
        return float("inf")
    R = float(np.max(np.linalg.norm(_fold(X, True), axis=1)))
    return (R / gamma) ** 2
