import numpy as np

from course_utils import checks


def reference(X):
    sd = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(sd == 0, 1.0, sd)


def test_reference_passes():
    assert checks.standardize(reference, verbose=False).passed


def test_rejects_one_mean_for_the_whole_matrix():
    assert not checks.standardize(lambda X: (X - X.mean()) / X.std(), verbose=False).passed


def test_rejects_sample_std_ddof1():
    def ddof1(X):
        sd = X.std(axis=0, ddof=1)
        return (X - X.mean(axis=0)) / np.where(sd == 0, 1.0, sd)
    assert not checks.standardize(ddof1, verbose=False).passed


def test_rejects_division_by_zero_std():
    def naive(X):
        with np.errstate(all="ignore"):
            return (X - X.mean(axis=0)) / X.std(axis=0)
    r = checks.standardize(naive, verbose=False)
    assert not r.passed and any("NaN" in m for m in r.messages)


def test_rejects_in_place_standardization():
    def in_place(X):
        sd = X.std(axis=0)
        X -= X.mean(axis=0)
        X /= np.where(sd == 0, 1.0, sd)
        return X
    r = checks.standardize(in_place, verbose=False)
    assert not r.passed and any("in place" in m for m in r.messages)


def test_rejects_only_centering():
    assert not checks.standardize(lambda X: X - X.mean(axis=0), verbose=False).passed
