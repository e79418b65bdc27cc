"""Chapter 01's data sets and explorer (the perceptron itself is ``scratch.perceptron``)."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.patches import Polygon

from ..core import repro
from ..core.explorers import Explorer, register_explorer
from ..core.plotting import new_figure
from ..core.validation import check_choice, check_float, check_int
from ..scratch.perceptron import predict, trace

# ----------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------


def separable_data(n_samples=2000, n_features=10, *, margin=0.1, seed=0):
    """Linearly separable NumPy ``(X, y)`` with a margin of at least ``margin`` around a
    random hyperplane through the origin: points uniform in the unit ball, each pushed
    away from the plane along its normal u so that |u·x| ∈ [margin, 1]."""
    n = check_int("n_samples", n_samples, min_value=2)
    d = check_int("n_features", n_features, min_value=1)
    margin = check_float("margin", margin, min_value=0.0, max_value=1.0, max_inclusive=False)
    rng = repro.rng(seed)
    u = rng.standard_normal(d)
    u /= np.linalg.norm(u)
    z = rng.standard_normal((n, d))
    z *= (rng.uniform(size=(n, 1)) ** (1 / d)) / np.linalg.norm(z, axis=1, keepdims=True)
    p = z @ u
    side = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)  # balanced classes
    new_p = side * (margin + (1 - margin) * np.abs(p))
    X = z + np.outer(new_p - p, u)
    y = (side > 0).astype(np.int64)
    return X, y


def xor_data(n_per_corner=50, *, noise=0.15, seed=0):
    """XOR: Gaussian clusters at the corners (±1, ±1); class 1 where x₁·x₂ < 0
    (the corners (1, −1) and (−1, 1)), class 0 at (1, 1) and (−1, −1).
    ``n_per_corner=1, noise=0`` gives the four logical points."""
    n = check_int("n_per_corner", n_per_corner, min_value=1)
    noise = check_float("noise", noise, min_value=0.0)
    rng = repro.rng(seed)
    corners = np.array([[-1.0, -1.0], [1.0, 1.0], [1.0, -1.0], [-1.0, 1.0]])
    X = np.repeat(corners, n, axis=0) + noise * rng.standard_normal((4 * n, 2))
    y = np.repeat([0, 0, 1, 1], n).astype(np.int64)
    return X, y


TOY_KINDS = ("separable", "noisy", "XOR")


def toy_data(kind="separable", n_samples=40, *, seed=0):
    """Small 2-D ``(X, y)`` for pictures: ``"separable"`` (two clusters with a clear gap),
    ``"noisy"`` (overlapping clusters: no line separates them) or ``"XOR"``."""
    kind = check_choice("kind", kind, TOY_KINDS)
    n = check_int("n_samples", n_samples, min_value=4)
    rng = repro.rng(seed)
    if kind == "XOR":
        X, y = xor_data(int(np.ceil(n / 4)), noise=0.25, seed=int(rng.integers(2**31)))
        return X[:n], y[:n]
    y = (np.arange(n) % 2).astype(np.int64)
    centers = np.array([[-0.2, -0.9], [0.9, 0.2]])
    spread = 0.6 if kind == "separable" else 0.8
    X = centers[y] + spread * rng.standard_normal((n, 2))
    if kind == "separable":  # push points out of a band of half-width 0.15 around x₁ + x₂ = 0
        normal = np.array([1.0, 1.0]) / np.sqrt(2)
        p = X @ normal
        side = 2 * y - 1
        X += np.outer(side * np.maximum(0.0, 0.15 - side * p), normal)
    return X, y


# ----------------------------------------------------------------------------------------
# the explorer: step through the updates one sample at a time
# ----------------------------------------------------------------------------------------

EXPLORER_SAMPLES = 40
EXPLORER_MAX_EPOCHS = 10
EXPLORER_EPOCHS = 5  # default: long enough to see the separable set reach an error-free epoch
_LIM = 2.8


def explorer_compute(data="separable", lr=1.0, epochs=EXPLORER_EPOCHS, step=20, start="random"):
    """Pure computation behind the explorer.

    Runs :func:`trace` on ``toy_data(data)`` (40 points, shuffled each epoch, seed 0)
    from w = 0 (``start="zero"``) or from a fixed random line (``start="random"``) and
    returns the state after ``step`` updates (clipped to the run's length): the line
    before and after the step, the sample just visited, which samples were mistakes so
    far, and the mistakes per epoch."""
    check_choice("data", data, TOY_KINDS)
    lr = check_float("lr", lr, min_value=0.0, min_inclusive=False)
    epochs = check_int("epochs", epochs, min_value=1, max_value=EXPLORER_MAX_EPOCHS)
    step = check_int("step", step, min_value=0)
    check_choice("start", start, ("zero", "random"))
    X, y = toy_data(data, EXPLORER_SAMPLES, seed=0)
    w0, b0 = (np.zeros(2), 0.0) if start == "zero" else (np.array([0.6, -0.8]), 0.3)
    tr = trace(X, y, lr=lr, epochs=epochs, shuffle=True, seed=0, w0=w0, b0=b0)
    step = min(step, tr.steps)
    done = tr.mistake[:step]
    per_epoch = tr.mistakes_per_epoch()
    clean = np.flatnonzero(per_epoch == 0)
    return {
        "X": X, "y": y, "step": step, "steps": tr.steps, "n": tr.n_samples,
        "w": tr.ws[step], "b": float(tr.bs[step]),
        "w_prev": tr.ws[max(step - 1, 0)], "b_prev": float(tr.bs[max(step - 1, 0)]),
        "current": int(tr.sample[step - 1]) if step > 0 else None,
        "current_mistake": bool(tr.mistake[step - 1]) if step > 0 else False,
        "mistake_samples": np.unique(tr.sample[:step][done]),
        "mistakes_so_far": int(done.sum()),
        "mistakes_per_epoch": per_epoch,
        "first_clean_epoch": int(clean[0]) + 1 if len(clean) else None,
        "train_errors": int((predict(X, tr.ws[step], tr.bs[step]) != y).sum()),
    }


def _line_points(w, b):
    """Two points of the line w·x + b = 0 inside the plotting box (None if w = 0)."""
    if np.allclose(w, 0):
        return None
    t = np.array([-2 * _LIM, 2 * _LIM])
    if abs(w[1]) >= abs(w[0]):
        return t, -(b + w[0] * t) / w[1]
    return -(b + w[1] * t) / w[0], t


def explorer_render(result, values=None):
    """One panel: the samples (class 0 blue, class 1 red), the half-plane predicted 1
    shaded, the line before (dashed) and after (solid) the current step, the current
    sample ringed, the samples that caused a mistake so far crossed."""
    fig, axes = new_figure(width=5.2, height=3.8, dpi=72)
    ax = axes[0, 0]
    ax.set_position([0.14, 0.13, 0.83, 0.73])
    X, y, w, b = result["X"], result["y"], result["w"], result["b"]
    box = np.array([[-_LIM, -_LIM], [_LIM, -_LIM], [_LIM, _LIM], [-_LIM, _LIM]])
    if not np.allclose(w, 0):  # shade {x : w·x + b > 0} by clipping the box (cheap)
        poly = _clip_halfplane(box, w, b)
        if len(poly) >= 3:
            ax.add_patch(Polygon(poly, closed=True, color="#d62728", alpha=0.08, lw=0))
    colors = np.where(y == 1, "#d62728", "#1f77b4")
    ax.scatter(X[:, 0], X[:, 1], c=colors, s=18, edgecolors="none")
    m = result["mistake_samples"]
    if len(m):
        ax.scatter(X[m, 0], X[m, 1], marker="x", c="k", s=22, linewidths=0.9)
    prev = _line_points(result["w_prev"], result["b_prev"])
    if prev is not None and result["current_mistake"]:
        ax.plot(*prev, "--", color="0.45", lw=1)
    line = _line_points(w, b)
    if line is not None:
        ax.plot(*line, "-", color="k", lw=1.6)
    if result["current"] is not None:
        c = X[result["current"]]
        ax.scatter([c[0]], [c[1]], s=150, facecolors="none", linewidths=1.6,
                   edgecolors="#ff7f0e" if result["current_mistake"] else "#2ca02c")
    ax.set_xlim(-_LIM, _LIM)
    ax.set_ylim(-_LIM, _LIM)
    ax.set_xticks([-2, 0, 2])
    ax.set_yticks([-2, 0, 2])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    n, step = result["n"], result["step"]
    ep, within = (divmod(step - 1, n) if step else (0, -1))
    what = ("mistake → update" if result["current_mistake"] else "correct → no change") \
        if step else "start"
    clean = result["first_clean_epoch"]
    ax.set_title(f"step {step}/{result['steps']} (epoch {ep + 1}, sample {within + 1}/{n}): "
                 f"{what}\nmistakes so far {result['mistakes_so_far']}, training errors now "
                 f"{result['train_errors']}; error-free epoch: "
                 f"{clean if clean else 'none'}", fontsize=9)
    return fig


def _clip_halfplane(poly, w, b):
    """Sutherland–Hodgman: the part of convex polygon ``poly`` where w·x + b > 0."""
    out = []
    vals = poly @ w + b
    for k in range(len(poly)):
        p, q = poly[k], poly[(k + 1) % len(poly)]
        vp, vq = vals[k], vals[(k + 1) % len(poly)]
        if vp > 0:
            out.append(p)
        if (vp > 0) != (vq > 0):
            out.append(p + (q - p) * vp / (vp - vq))
    return np.array(out)


@register_explorer("01 perceptron")
def make_explorer():
    """The chapter's explorer: data set, learning rate, epochs, start, and a step slider
    that walks through the run one sample at a time."""
    style = {"description_width": "90px"}
    epochs = widgets.IntSlider(value=EXPLORER_EPOCHS, min=1, max=EXPLORER_MAX_EPOCHS, description="epochs",
                               style=style, continuous_update=False)
    step = widgets.IntSlider(value=20, min=0, max=EXPLORER_EPOCHS * EXPLORER_SAMPLES, description="step",
                             style=style)
    controls = {
        "data": widgets.Dropdown(options=list(TOY_KINDS), value="separable",
                                 description="data", style=style),
        "lr": widgets.FloatLogSlider(value=1.0, base=10, min=-2, max=1, step=0.25,
                                     description="learning rate", style=style,
                                     continuous_update=False),
        "epochs": epochs,
        "step": step,
        "start": widgets.Dropdown(options=["random", "zero"], value="random",
                                  description="start", style=style),
    }

    def _rescale(change):  # the step slider spans the whole run
        step.max = change["new"] * EXPLORER_SAMPLES

    epochs.observe(_rescale, names="value")
    return Explorer(explorer_compute, explorer_render, controls,
                    title="Perceptron, one update at a time")


