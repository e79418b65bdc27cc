"""Plots with one consistent style: learning curves, decision boundaries, figure → PNG."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from .training import History
from .validation import check_float, check_int

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


def new_figure(ncols: int = 1, nrows: int = 1, width: float = 6.4, height: float = 2.6,
               dpi: int = 72, margins: dict | None = None):
    """``(fig, axes)``: a figure *not* registered with pyplot (never auto-displayed), with
    fixed margins instead of a layout engine — about half the drawing time, for explorers
    that must redraw in under 100 ms.  ``axes`` is a 2-D array (nrows × ncols);
    ``margins`` overrides any of left/right/bottom/top/wspace/hspace (figure fractions)."""
    ncols = check_int("ncols", ncols, min_value=1, max_value=8)
    nrows = check_int("nrows", nrows, min_value=1, max_value=8)
    width = check_float("width", width, min_value=0.5, max_value=40)
    height = check_float("height", height, min_value=0.5, max_value=40)
    dpi = check_int("dpi", dpi, min_value=10, max_value=600)
    adjust = {"left": 0.09, "right": 0.98, "bottom": 0.2, "top": 0.86,
              "wspace": 0.3, "hspace": 0.45}
    if margins is not None:
        if not isinstance(margins, dict) or not set(margins) <= set(adjust):
            raise ValueError(f"margins must be a dict with keys among {sorted(adjust)}")
        adjust.update(margins)
    fig = Figure(figsize=(width, height), dpi=dpi)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    fig.subplots_adjust(**adjust)
    return fig, axes


def figure_to_png(fig: Figure, dpi: int | None = None, header: str | None = None) -> bytes:
    """Render ``fig`` to PNG bytes (deterministic: no timestamp metadata).

    ``header``: a line of text drawn in a strip above the figure, whatever the figure holds
    (explorers put their title and current settings there)."""
    if header is None:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
        return buf.getvalue()
    dpi = fig.dpi if dpi is None else check_int("dpi", dpi, min_value=10, max_value=600)
    return pixels_to_png(figure_pixels(fig, dpi), dpi, header)


def figure_pixels(fig: Figure, dpi: float) -> np.ndarray:
    """The RGBA pixels (rows × columns × 4, uint8) of ``fig`` drawn at ``dpi``."""
    own = fig.dpi
    fig.set_dpi(dpi)
    try:
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        return np.asarray(canvas.buffer_rgba()).copy()
    finally:
        fig.set_dpi(own)


#: The header's font: matplotlib's own DejaVu Sans Bold (ships with matplotlib), 10 pt.
HEADER_FONT = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans-Bold.ttf"


def pixels_to_png(pixels: np.ndarray, dpi: float, header: str | None = None) -> bytes:
    """PNG bytes of RGBA ``pixels``, with ``header`` (if given) in a strip above them, in
    bold 10-pt text wrapped between its " · "-separated parts.  Drawn with Pillow (a few
    milliseconds; a second matplotlib figure would cost an explorer 15–25 ms per move)."""
    if header is not None and not isinstance(header, str):
        raise TypeError(f"header must be a str or None, got {type(header).__name__}")
    image = PILImage.fromarray(pixels)
    if header:
        font = ImageFont.truetype(str(HEADER_FONT), size=max(6, round(10 * dpi / 72)))
        margin = round(0.12 * dpi)
        lines = [""]
        for part in header.split(" · "):
            joined = f"{lines[-1]} · {part}" if lines[-1] else part
            if not lines[-1] or font.getlength(joined) <= image.width - 2 * margin:
                lines[-1] = joined
            else:
                lines.append(part)
        step = round(font.size * 1.35)
        top = PILImage.new(image.mode, (image.width, margin + step * len(lines)), "white")
        draw = ImageDraw.Draw(top)
        for k, line in enumerate(lines):
            draw.text((margin, margin // 2 + k * step), line, font=font, fill="black")
        canvas = PILImage.new(image.mode, (image.width, top.height + image.height), "white")
        canvas.paste(top, (0, 0))
        canvas.paste(image, (0, top.height))
        image = canvas
    buf = io.BytesIO()
    image.save(buf, format="png", compress_level=1)  # fast; deterministic (no time stamp)
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
    lo, hi = X.min(0) - margin, X.max(0) + margin
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
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


# ----------------------------------------------------------------------------------------
# Diagnostic plots (chapter 02): per-layer histograms, per-layer norms, ratios over steps
# ----------------------------------------------------------------------------------------

def _layer_colors(n: int):
    cmap = matplotlib.colormaps["viridis"]
    return [cmap(0.9 * i / max(1, n - 1)) for i in range(n)]


def _new_axes(ax, width=4.2, height=3.0):
    if ax is None:
        _, ax = plt.subplots(figsize=(width, height), layout="constrained")
    elif not isinstance(ax, matplotlib.axes.Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    return ax


def plot_layer_histograms(stats, ax=None, bins: int = 40, value_range=None,
                          layers=None, title: str | None = None):
    """Per-layer activation histograms (Glorot & Bengio's figures): one outline per layer,
    darker = closer to the input, from ``diagnostics.activation_stats`` output.

    ``layers`` picks which layers (0-based indices, default all, at most 12 shown);
    the legend gives each layer's saturated or dead fraction when it has one."""
    from .diagnostics import LayerStats, activation_histograms
    from .validation import check_int

    if not isinstance(stats, (list, tuple)) or not stats or not all(
            isinstance(s, LayerStats) for s in stats):
        raise TypeError("stats must be a non-empty list of LayerStats (diagnostics.activation_stats)")
    bins = check_int("bins", bins, min_value=2, max_value=1000)
    if layers is None:
        layers = list(range(len(stats)))
        if len(layers) > 12:
            layers = sorted({round(i * (len(stats) - 1) / 11) for i in range(12)})
    layers = [check_int("layers[i]", i, min_value=0, max_value=len(stats) - 1) for i in layers]
    chosen = [stats[i] for i in layers]
    counts, edges = activation_histograms(chosen, bins, value_range)
    ax = _new_axes(ax)
    centers = (edges[:-1] + edges[1:]) / 2
    for i, s, c, color in zip(layers, chosen, counts, _layer_colors(len(chosen))):
        extra = ""
        if s.saturated is not None:
            extra = f" ({100 * s.saturated:.0f}% sat.)"
        elif s.dead is not None:
            extra = f" ({100 * s.dead:.0f}% dead)"
        ax.step(centers, c, where="mid", color=color, label=f"layer {i + 1}{extra}")
    ax.set_xlabel("activation value")
    ax.set_ylabel("share of values")
    ax.legend(fontsize=7, ncols=1 if len(chosen) <= 6 else 2)
    if title:
        ax.set_title(title)
    return ax


def plot_layer_norms(values, ax=None, ylabel: str = "gradient norm ‖∂L/∂W‖",
                     xlabel: str = "layer (input → output)", title: str | None = None,
                     marker: str = "o"):
    """Per-layer values on a log scale: ``values`` is one sequence (layer 1 first) or
    ``{label: sequence}``.  Zeros and non-finite values are left out (a log axis cannot
    show them) and counted in the legend."""
    if isinstance(values, dict):
        series = values
    else:
        series = {"": values}
    if not series:
        raise ValueError("values must not be empty")
    ax = _new_axes(ax)
    texts = []
    for label, v in series.items():
        try:
            arr = np.asarray(v, dtype=float).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"values[{label!r}] must be a sequence of numbers") from exc
        ok = np.isfinite(arr) & (arr > 0)
        missing = int((~ok).sum())
        text = (str(label) + (f" ({missing} not shown: 0 or inf)" if missing else "")).strip()
        texts.append(text)
        ax.plot(np.arange(1, len(arr) + 1)[ok], arr[ok], marker=marker, ms=3,
                label=text or None)
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if any(texts):
        ax.legend()
    if title:
        ax.set_title(title)
    return ax


def plot_over_steps(steps, values, ax=None, ylabel: str = "update:data ratio",
                    labels=None, log: bool = True, reference: float | None = None,
                    title: str | None = None, smooth: int = 1, linestyle: str = "-",
                    legend: str | None = "best"):
    """One line per layer of a ``(steps × layers)`` array over training steps, darker =
    closer to the input (``TrainingMonitor`` arrays), on a log scale by default.

    ``reference`` draws a dashed horizontal guide (e.g. 1e-3 for update:data ratios);
    ``smooth`` > 1 averages over a moving window of that many records; ``legend`` is
    ``"best"``, ``"outside"`` (right of the axes) or None."""
    from .validation import check_choice, check_int

    check_choice("legend", legend, ["best", "outside", None])

    steps = np.asarray(steps, dtype=float).reshape(-1)
    v = np.asarray(values, dtype=float)
    if v.ndim == 1:
        v = v[:, None]
    if v.ndim != 2 or len(v) != len(steps):
        raise ValueError(f"values must have shape (len(steps), layers) = ({len(steps)}, ...), "
                         f"got {np.shape(values)}")
    smooth = check_int("smooth", smooth, min_value=1)
    if labels is not None and len(labels) != v.shape[1]:
        raise ValueError(f"labels must have one entry per layer ({v.shape[1]}), got {len(labels)}")
    if smooth > 1 and len(v) >= smooth:
        kernel = np.ones(smooth) / smooth
        v = np.stack([np.convolve(col, kernel, mode="valid") for col in v.T], axis=1)
        steps = steps[smooth - 1:]
    ax = _new_axes(ax, width=4.6)
    for j, color in enumerate(_layer_colors(v.shape[1])):
        label = labels[j] if labels is not None else f"layer {j + 1}"
        ax.plot(steps, v[:, j], color=color, lw=1.2, ls=linestyle, label=label)
    if reference is not None:
        ax.axhline(reference, color="k", ls="--", lw=1)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel(ylabel)
    if legend == "outside":
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    elif legend == "best":
        ax.legend(fontsize=7, ncols=1 if v.shape[1] <= 6 else 2)
    if title:
        ax.set_title(title)
    return ax
