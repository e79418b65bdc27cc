"""Plots with one consistent style: learning curves, decision boundaries, figure → PNG."""

from __future__ import annotations

import io

import matplotlib

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from .training import History

STYLE = {
    "figure.figsize": (7.0, 3.2),
    "figure.dpi": 90,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "svg.hashsalt": "course",  # in case someone saves SVG: stable ids
}


def use_course_style() -> None:
    """Apply the course's matplotlib style (called by every notebook's setup cell)."""
    matplotlib.rcParams.update(STYLE)


def new_figure(ncols: int = 1, nrows: int = 1, width: float = 7.0, height: float = 3.2,
               dpi: int = 80):
    """A figure *not* registered with pyplot (for explorers: never auto-displayed)."""
    fig = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def figure_to_png(fig: Figure, dpi: int | None = None) -> bytes:
    """Render ``fig`` to PNG bytes (deterministic: no timestamp metadata)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def _histories(histories):
    if isinstance(histories, History):
        return {"": histories}
    if not isinstance(histories, dict) or not all(isinstance(h, History) for h in histories.values()):
        raise TypeError("histories must be a History or a dict {label: History}")
    return histories


def plot_history(histories, metrics=("loss", "acc"), axes=None, title: str | None = None):
    """Learning curves: one panel per metric, train solid and validation dashed.

    ``histories`` is a :class:`History` or ``{label: History}``. Returns the axes."""
    hs = _histories(histories)
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    for m in metrics:
        if m not in ("loss", "acc"):
            raise ValueError(f"metrics must contain only 'loss' and 'acc', got {m!r}")
    if axes is None:
        _, axes = plt.subplots(1, len(metrics), figsize=(3.6 * len(metrics), 3.0), layout="constrained")
    axes = np.atleast_1d(axes)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, metric in zip(axes, metrics):
        for i, (label, h) in enumerate(hs.items()):
            c = colors[i % len(colors)]
            tr, va = getattr(h, f"train_{metric}"), getattr(h, f"val_{metric}")
            ep = np.arange(1, len(tr) + 1)
            if tr and tr[0] is not None:
                ax.plot(ep, tr, color=c, label=f"{label} train".strip())
            if va and va[0] is not None:
                ax.plot(np.arange(1, len(va) + 1), va, "--", color=c, label=f"{label} val".strip())
        ax.set_xlabel("epoch")
        ax.set_ylabel("cross-entropy loss" if metric == "loss" else "accuracy")
        if metric == "loss":
            ax.set_yscale("log")
        ax.legend()
    if title:
        axes[0].figure.suptitle(title)
    return axes


def plot_decision_boundary(predict, X, y, ax=None, resolution: int = 200, margin: float = 0.5,
                           title: str | None = None):
    """Shade the class ``predict`` gives each point of a grid over 2-D data, then scatter X.

    ``predict`` maps an (n, 2) float array or tensor to class labels (array or tensor)."""
    X = X.detach().cpu().numpy() if isinstance(X, torch.Tensor) else np.asarray(X)
    y = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (n, 2) for a decision boundary, got {X.shape}")
    if not callable(predict):
        raise TypeError("predict must be callable")
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3.6), layout="constrained")
    (x0, x1), (y0, y1) = X.min(0) - margin, X.max(0) + margin
    gx, gy = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    grid = np.c_[gx.ravel(), gy.ravel()].astype(np.float32)
    z = predict(grid)
    z = z.detach().cpu().numpy() if isinstance(z, torch.Tensor) else np.asarray(z)
    ax.contourf(gx, gy, z.reshape(gx.shape), alpha=0.25, cmap="coolwarm",
                levels=np.arange(int(max(z.max(), y.max())) + 2) - 0.5)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", s=12, edgecolors="k", linewidths=0.3)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    return ax
