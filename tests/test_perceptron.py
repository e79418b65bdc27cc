"""The from-scratch perceptron against scikit-learn's, the convergence bound, the data
sets and the explorer's pure computation (course_utils.scratch.perceptron)."""

import numpy as np
import pytest
from matplotlib.figure import Figure
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.linear_model import Perceptron
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from course_utils.chapters import ch01_perceptron as ch01
from course_utils.core.explorers import on_grid
from course_utils.scratch import perceptron as P


@pytest.fixture(scope="module")
def bench():
    """A 300-row slice of the chapter's benchmark, reordered so the first row is class 1."""
    X, y = make_classification(n_samples=300, n_features=10, n_informative=10, n_redundant=0,
                               random_state=1)
    first = int(np.flatnonzero(y == 1)[0])
    order = np.r_[first, np.delete(np.arange(len(y)), first)]
    return X[order], y[order]


# ----------------------------------------------------------------------------------------
# predict / epoch / fit against scikit-learn
# ----------------------------------------------------------------------------------------

def test_predict_matches_sklearn_with_the_same_weights(bench):
    X, y = bench
    sk = Perceptron(random_state=0).fit(X, y)
    ours = P.predict(X, sk.coef_[0], sk.intercept_[0])
    assert ours.dtype == np.int64
    np.testing.assert_array_equal(ours, sk.predict(X))
    np.testing.assert_allclose(P.activation(X, sk.coef_[0], sk.intercept_[0]),
                               sk.decision_function(X), rtol=1e-12, atol=1e-12)


def test_predict_puts_points_on_the_line_in_class_0():
    X = np.array([[1.0, 1.0], [2.0, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(P.predict(X, np.array([1.0, -1.0]), 0.0), [0, 1, 0])


@pytest.mark.parametrize("eta0", [1.0, 0.1, 0.003])
def test_one_epoch_equals_sklearn_without_shuffling(bench, eta0):
    X, y = bench
    sk = Perceptron(eta0=eta0, max_iter=1, tol=None, shuffle=False).fit(X, y)
    w, b, n_errors = P.epoch(X, y, np.zeros(X.shape[1]), 0.0, lr=eta0)
    np.testing.assert_allclose(w, sk.coef_[0], rtol=1e-10, atol=1e-12)
    assert b == pytest.approx(sk.intercept_[0], abs=1e-12)
    assert n_errors > 0


@pytest.mark.parametrize("epochs", [2, 7])
def test_several_epochs_equal_sklearn_without_shuffling(bench, epochs):
    X, y = bench
    sk = Perceptron(eta0=0.5, max_iter=epochs, tol=None, shuffle=False).fit(X, y)
    res = P.fit(X, y, lr=0.5, epochs=epochs, shuffle=False)
    assert not res.converged and res.epochs == epochs
    np.testing.assert_allclose(res.w, sk.coef_[0], rtol=1e-9, atol=1e-9)
    assert res.b == pytest.approx(sk.intercept_[0], abs=1e-9)
    est = P.ScratchPerceptron(lr=0.5, epochs=epochs, shuffle=False).fit(X, y)
    np.testing.assert_allclose(est.coef_, sk.coef_, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(est.predict(X), sk.predict(X))


def test_sklearn_also_updates_on_a_class_0_sample_lying_on_the_line(bench):
    """From w = 0 the first sample has a = 0. Class 0: we predict 0 (right, no update);
    scikit-learn counts y±·a ≤ 0 as a mistake and steps by −η·x.  Starting our epoch from
    that step reproduces scikit-learn exactly."""
    X, y = bench
    first0 = int(np.flatnonzero(y == 0)[0])
    order = np.r_[first0, np.delete(np.arange(len(y)), first0)]
    X, y = X[order], y[order]
    lr = 0.25
    sk = Perceptron(eta0=lr, max_iter=1, tol=None, shuffle=False).fit(X, y)
    w_plain, _, _ = P.epoch(X, y, np.zeros(X.shape[1]), 0.0, lr)
    assert not np.allclose(w_plain, sk.coef_[0])
    w, b, _ = P.epoch(X[1:], y[1:], -lr * X[0], -lr, lr)
    np.testing.assert_allclose(w, sk.coef_[0], rtol=1e-10, atol=1e-12)
    assert b == pytest.approx(sk.intercept_[0], abs=1e-12)


def test_epoch_follows_the_update_rule_by_hand():
    X = np.array([[1.0, 2.0], [-1.0, 1.0], [2.0, -1.0]])
    y = np.array([1, 0, 1])
    # w=0,b=0: x0: a=0 -> ŷ=0, y=1: w=(1,2), b=1;  x1: a=1+... = -1+2+1=2>0, y=0: w=(2,1), b=0
    # x2: a=4-1=3>0, y=1: right.
    w, b, n = P.epoch(X, y, np.zeros(2), 0.0, 1.0)
    np.testing.assert_array_equal(w, [2.0, 1.0])
    assert (b, n) == (0.0, 2)


def test_epoch_does_not_modify_its_inputs():
    X = np.array([[1.0, 2.0], [-1.0, 1.0]])
    w = np.zeros(2)
    P.epoch(X, np.array([1, 0]), w, 0.0, 1.0)
    np.testing.assert_array_equal(w, [0.0, 0.0])


def test_fast_epoch_equals_the_sample_by_sample_loop():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 6))
    y = (X @ rng.normal(size=6) + 0.5 * rng.normal(size=500) > 0).astype(int)
    order = rng.permutation(500)
    w0 = rng.normal(size=6)
    for fit_intercept in (True, False):
        w_fast, b_fast, n_fast = P._epoch_fast(X, y, w0, 0.3, 0.7, order, fit_intercept)
        w, b, n = w0.copy(), 0.3, 0
        for i in order:  # the reference loop, with or without the bias update
            d = y[i] - int(X[i] @ w + b > 0)
            if d:
                w, n = w + 0.7 * d * X[i], n + 1
                b = b + 0.7 * d if fit_intercept else b
        np.testing.assert_allclose(w_fast, w, rtol=1e-12, atol=1e-12)
        assert (b_fast, n_fast) == (pytest.approx(b), n)


def test_fit_shuffles_with_a_fresh_permutation_every_epoch():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] + 0.3 * rng.normal(size=60) > 0).astype(int)
    res = P.fit(X, y, lr=1.0, epochs=4, shuffle=True, seed=5)
    perm = np.random.default_rng(5)
    w, b, mistakes = np.zeros(3), 0.0, []
    for _ in range(4):
        w, b, n = P.epoch(X, y, w, b, 1.0, order=perm.permutation(60))
        mistakes.append(n)
    np.testing.assert_allclose(res.w, w)
    assert res.b == pytest.approx(b) and res.mistakes_per_epoch == mistakes


def test_fit_without_intercept_keeps_b_and_stops_when_an_epoch_is_clean():
    X, y = ch01.separable_data(200, 4, margin=0.2, seed=0)
    res = P.fit(X, y, fit_intercept=False, b0=0.0, epochs=100)
    assert res.b == 0.0 and res.converged and res.mistakes_per_epoch[-1] == 0
    np.testing.assert_array_equal(P.predict(X, res.w, res.b), y)


def test_learning_rate_only_rescales_the_weights_from_zero():
    X, y = ch01.separable_data(300, 5, margin=0.05, seed=2)
    runs = [P.fit(X, y, lr=lr, epochs=200, seed=3) for lr in (0.01, 1.0, 50.0)]
    assert len({r.mistakes for r in runs}) == 1
    np.testing.assert_allclose(runs[0].w / 0.01, runs[1].w, rtol=1e-9)
    np.testing.assert_allclose(runs[2].w / 50.0, runs[1].w, rtol=1e-9)


# ----------------------------------------------------------------------------------------
# the estimator
# ----------------------------------------------------------------------------------------

def test_estimator_works_in_cross_validation_and_pipelines(bench):
    X, y = bench
    est = P.ScratchPerceptron(epochs=5, random_state=3)
    assert clone(est).get_params() == est.get_params()
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    scores = cross_val_score(make_pipeline(StandardScaler(), est), X, y, cv=cv, scoring="accuracy")
    assert scores.shape == (3,) and (scores > 0.6).all()


def test_estimator_keeps_arbitrary_class_labels(bench):
    X, y = bench
    labels = np.where(y == 1, "yes", "no")
    est = P.ScratchPerceptron(epochs=3).fit(X, labels)
    assert list(est.classes_) == ["no", "yes"]
    ref = P.ScratchPerceptron(epochs=3).fit(X, y)
    np.testing.assert_array_equal(est.predict(X) == "yes", ref.predict(X) == 1)
    assert est.score(X, labels) == ref.score(X, y)
    assert len(est.mistakes_) == est.n_iter_ == 3


def test_estimator_validates():
    X = np.zeros((6, 2))
    with pytest.raises(ValueError, match="exactly two classes"):
        P.ScratchPerceptron().fit(X, [0, 1, 2, 0, 1, 2])
    with pytest.raises(RuntimeError, match="not fitted"):
        P.ScratchPerceptron().predict(X)
    with pytest.raises(ValueError, match="epochs must be in"):
        P.ScratchPerceptron(epochs=0).fit(X, [0, 1] * 3)
    est = P.ScratchPerceptron(epochs=2).fit(np.eye(6)[:, :2], [0, 1] * 3)
    with pytest.raises(ValueError, match="X must have 2 columns"):
        est.predict(np.zeros((2, 3)))


# ----------------------------------------------------------------------------------------
# the convergence theorem
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("margin", [0.3, 0.1, 0.03])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_mistakes_never_exceed_the_novikoff_bound(margin, fit_intercept):
    for seed in range(2):
        X, y = ch01.separable_data(400, 6, margin=margin, seed=seed)
        gamma, R = P.margin_radius(X, y, fit_intercept=fit_intercept)
        assert gamma >= margin * (1 - 1e-3)  # the max margin is at least the one built in
        for lr, order_seed in [(1.0, 0), (0.01, 1), (7.0, 2)]:
            res = P.fit(X, y, lr=lr, epochs=10_000, seed=order_seed, fit_intercept=fit_intercept)
            assert res.converged
            assert 0 < res.mistakes <= (R / gamma) ** 2


def test_margin_radius_on_a_case_solved_by_hand():
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    y = np.array([1, 0])
    gamma, R = P.margin_radius(X, y, fit_intercept=False)
    assert gamma == pytest.approx(1 / np.sqrt(2), rel=1e-4) and R == pytest.approx(1.0)
    gamma, R = P.margin_radius(X, y)  # folded: (1, 0, 1) vs (0, 1, 1): u ∝ (1, −1, 0)
    assert gamma == pytest.approx(1 / np.sqrt(2), rel=1e-4) and R == pytest.approx(np.sqrt(2))


def test_margin_radius_beats_any_other_separator():
    X, y = ch01.separable_data(300, 3, margin=0.1, seed=4)
    gamma, _ = P.margin_radius(X, y)
    rng = np.random.default_rng(0)
    res = P.fit(X, y, epochs=1000)
    assert P.separator_margin(X, y, res.w, res.b) <= gamma + 1e-9
    for _ in range(200):
        u = rng.normal(size=4)
        assert P.separator_margin(X, y, u[:3], u[3]) <= gamma + 1e-9


def test_separator_margin_and_mistake_bound_by_formula():
    X = np.array([[2.0, 2.0], [3.0, 1.0], [-1.0, -2.0], [-2.0, 0.0]])
    y = np.array([1, 1, 0, 0])
    w, b = np.array([1.0, 0.5]), -0.5
    s = 2 * y - 1
    gamma = np.min(s * (X @ w + b)) / np.linalg.norm([1.0, 0.5, -0.5])
    assert P.separator_margin(X, y, w, b) == pytest.approx(gamma)
    R = np.max(np.linalg.norm(np.c_[X, np.ones(4)], axis=1))
    assert P.mistake_bound(X, y, w, b) == pytest.approx((R / gamma) ** 2)
    assert P.mistake_bound(X, y, np.array([1.0, -1.0]), 2.0) == np.inf
    assert P.separator_margin(X, y, np.array([-1.0, 0.0]), 0.0) < 0


def test_xor_is_not_separable_and_the_perceptron_never_converges():
    X, y = ch01.xor_data(1, noise=0.0)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] < 0).astype(int))
    assert P.margin_radius(*ch01.xor_data(20, seed=1))[0] == 0.0
    truth = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    res = P.fit(truth, np.array([0, 1, 1, 0]), epochs=500)
    assert not res.converged and min(res.mistakes_per_epoch) >= 1


def test_is_separable_agrees_with_the_perceptron():
    Xs, ys = ch01.separable_data(200, 3, margin=0.05, seed=1)
    assert P.is_separable(Xs, ys) and P.is_separable(Xs, ys, fit_intercept=False)
    assert P.fit(Xs, ys, epochs=1000).converged
    Xn, yn = ch01.toy_data("noisy", 40, seed=0)
    assert not P.is_separable(Xn, yn)
    assert not P.fit(Xn, yn, epochs=300).converged
    # shifted away from the origin: separable with a bias, not through the origin
    X1 = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    y1 = np.array([0, 1, 1])
    assert P.is_separable(X1, y1) and not P.is_separable(X1, y1, fit_intercept=False)
    assert P.margin_radius(X1, y1, fit_intercept=False)[0] == 0.0


def test_toy_data_kinds():
    Xs, ys = ch01.toy_data("separable", 40, seed=0)
    assert Xs.shape == (40, 2) and P.margin_radius(Xs, ys)[0] > 0
    for kind in ("noisy", "XOR"):
        X, y = ch01.toy_data(kind, 40, seed=0)
        assert X.shape == (40, 2) and set(y) == {0, 1}
        assert not P.is_separable(X, y) and P.margin_radius(X, y)[0] == 0.0


def test_separable_data_is_balanced_and_inside_a_small_ball():
    m = 0.4
    X, y = ch01.separable_data(101, 7, margin=m, seed=9)
    assert X.shape == (101, 7) and abs(int(y.sum()) - 50) <= 1
    # ‖x‖² = ‖z‖² − p² + (m + (1 − m)|p|)² ≤ 1 − p² + (…)², largest at |p| = (1 − m)/(2 − m)
    p = (1 - m) / (2 - m)
    assert np.linalg.norm(X, axis=1).max() <= np.sqrt(1 - p * p + (m + (1 - m) * p) ** 2) + 1e-12


# ----------------------------------------------------------------------------------------
# trace and the explorer's computation
# ----------------------------------------------------------------------------------------

def test_trace_agrees_with_epoch_at_every_epoch_end():
    X, y = ch01.toy_data("noisy", 20, seed=1)
    tr = P.trace(X, y, lr=0.5, epochs=3, seed=2, w0=np.array([0.1, -0.2]), b0=0.3)
    perm = np.random.default_rng(2)
    w, b = np.array([0.1, -0.2]), 0.3
    for e in range(3):
        order = perm.permutation(20)
        np.testing.assert_array_equal(tr.sample[20 * e:20 * (e + 1)], order)
        w, b, n = P.epoch(X, y, w, b, 0.5, order=order)
        np.testing.assert_allclose(tr.ws[20 * (e + 1)], w)
        assert tr.bs[20 * (e + 1)] == pytest.approx(b)
        assert tr.mistakes_per_epoch()[e] == n
    changed = np.any(tr.ws[1:] != tr.ws[:-1], axis=1) | (tr.bs[1:] != tr.bs[:-1])
    np.testing.assert_array_equal(changed, tr.mistake)


def test_explorer_compute_steps_through_the_run():
    start = ch01.explorer_compute("separable", 1.0, 2, 0, "random")
    assert start["step"] == 0 and start["current"] is None and start["mistakes_so_far"] == 0
    np.testing.assert_array_equal(start["w"], [0.6, -0.8])
    end = ch01.explorer_compute("separable", 1.0, 2, 10_000, "random")
    assert end["step"] == end["steps"] == 2 * ch01.EXPLORER_SAMPLES  # clipped to the run
    assert end["mistakes_so_far"] == int(end["mistakes_per_epoch"].sum())
    assert len(end["mistake_samples"]) <= end["mistakes_so_far"]
    mid = ch01.explorer_compute("XOR", 1.0, 2, 5, "random")
    assert 0 <= mid["current"] < ch01.EXPLORER_SAMPLES and mid["first_clean_epoch"] is None


def test_explorer_learning_rate_matters_only_with_a_random_start():
    a = ch01.explorer_compute("noisy", 0.01, 3, 60, "zero")
    b = ch01.explorer_compute("noisy", 10.0, 3, 60, "zero")
    np.testing.assert_allclose(a["w"] / 0.01, b["w"] / 10.0)
    assert a["mistakes_so_far"] == b["mistakes_so_far"]
    c = ch01.explorer_compute("noisy", 0.01, 3, 60, "random")
    d = ch01.explorer_compute("noisy", 10.0, 3, 60, "random")
    assert not np.allclose(c["w"] / np.linalg.norm(c["w"]), d["w"] / np.linalg.norm(d["w"]))


def test_explorer_render_draws_one_panel():
    fig = ch01.explorer_render(ch01.explorer_compute("XOR", 1.0, 1, 3, "zero"), {})
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    assert "step 3/40" in fig.axes[0].get_title()


def test_explorer_step_slider_spans_the_run():
    e = ch01.make_explorer()
    e.controls["epochs"].value = 5
    assert e.controls["step"].max == 5 * ch01.EXPLORER_SAMPLES
    e.controls["step"].value = 5 * ch01.EXPLORER_SAMPLES
    assert e.result["step"] == 5 * ch01.EXPLORER_SAMPLES and e.error is None


# ----------------------------------------------------------------------------------------
# argument validation
# ----------------------------------------------------------------------------------------

def test_functions_validate_their_arguments():
    X, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match=r"X must be 2-D \(n_samples, n_features\)"):
        P.predict(np.zeros(3), np.zeros(3), 0.0)
    with pytest.raises(ValueError, match=r"w must have shape \(2,\)"):
        P.predict(X, np.zeros(3), 0.0)
    with pytest.raises(TypeError, match="b must be a real number"):
        P.predict(X, np.zeros(2), "0")
    with pytest.raises(ValueError, match="y must contain only the labels 0 and 1"):
        P.epoch(X, np.array([0, 1, 2, 1]), np.zeros(2), 0.0)
    with pytest.raises(ValueError, match=r"lr must be in \(0"):
        P.epoch(X, y, np.zeros(2), 0.0, lr=0.0)
    with pytest.raises(ValueError, match="order must be a 1-D array of row indices"):
        P.epoch(X, y, np.zeros(2), 0.0, order=[0, 4])
    with pytest.raises(ValueError, match="X must contain only finite numbers"):
        P.fit(np.full((4, 2), np.nan), y)
    with pytest.raises(TypeError, match="shuffle must be True or False"):
        P.fit(X, y, shuffle="yes")
    with pytest.raises(ValueError, match="w and b are all zero"):
        P.separator_margin(X, y, np.zeros(2), 0.0)
    with pytest.raises(ValueError, match="b must be 0 when fit_intercept is False"):
        P.separator_margin(X, y, np.ones(2), 1.0, fit_intercept=False)
    with pytest.raises(ValueError, match="y must contain both classes"):
        P.margin_radius(X, np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match=r"margin must be in \[0.0, 1.0\)"):
        ch01.separable_data(margin=1.0)
    with pytest.raises(ValueError, match="kind must be one of 'separable', 'noisy', 'XOR'"):
        ch01.toy_data("circles")
    with pytest.raises(ValueError, match=r"epochs must be in \[1, 10\]"):
        ch01.explorer_compute(epochs=11)




def test_explorer_defaults_lie_on_the_slider_grid_and_show_enough_epochs():
    e = ch01.make_explorer()
    sliders = [w for w in e.controls.values() if hasattr(w, "step")]
    assert sliders and all(on_grid(w) for w in sliders)
    assert e.controls["epochs"].value >= 5
    assert ch01.explorer_compute()["first_clean_epoch"] is not None  # the separable set converges
