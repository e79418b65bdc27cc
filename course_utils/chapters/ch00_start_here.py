"""The start notebook's first explorer: gradient descent on f(w) = ½·a·w².

    w_{t+1} = w_t − η ∇f(w_t) = (1 − η a) w_t

so the iterates shrink when |1 − ηa| < 1 (0 < η < 2/a) — monotonically for η ≤ 1/a, flipping
sign every step for 1/a < η < 2/a —, flip sign forever without shrinking at η = 2/a, and
diverge when η > 2/a: the whole story of the learning rate in one line.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from ..core.explorers import Explorer, register_explorer
from ..core.plotting import new_figure
from ..core.validation import check_float, check_int


def gradient_descent_1d(lr: float, steps: int = 20, w0: float = 1.0, curvature: float = 1.0) -> dict:
    """Iterates of GD on ½·a·w² from ``w0``: ``{"w": array of steps+1, "loss", "diverged",
    "regime"}``; ``regime`` is 'converges' (0 < ηa ≤ 1), 'converges, oscillating'
    (1 < ηa < 2), 'oscillates forever' (ηa = 2), 'diverges' (ηa > 2) or 'stalls' (η = 0)."""
    lr = check_float("lr", lr, min_value=0.0)
    steps = check_int("steps", steps, min_value=1, max_value=10_000)
    w0 = check_float("w0", w0)
    a = check_float("curvature", curvature, min_value=0.0, min_inclusive=False)
    factor = 1.0 - lr * a
    with np.errstate(over="ignore"):
        w = w0 * factor ** np.arange(steps + 1, dtype=float)
    if abs(factor) >= 1:
        regime = "stalls" if factor == 1 else ("diverges" if abs(factor) > 1 else "oscillates forever")
    else:
        regime = "converges, oscillating" if factor < 0 else "converges"
    return {"w": w, "loss": 0.5 * a * w**2, "diverged": abs(factor) > 1, "regime": regime,
            "lr": lr, "curvature": a}


_GRID = np.linspace(-3, 3, 121)


def render_gradient_descent_1d(result: dict, values: dict | None = None):
    """The parabola with the iterates on it, and log₁₀ of the loss per step (log values on a
    linear axis: a log-scaled axis costs ~50 ms more per redraw)."""
    fig, axes = new_figure(2, width=6.4, height=2.6)
    ax1, ax2 = axes[0]
    a, w = result["curvature"], result["w"]
    shown = np.clip(w, -3, 3)
    ax1.plot(_GRID, 0.5 * a * _GRID**2, color="0.6")
    ax1.plot(shown, 0.5 * a * shown**2, "o-", ms=3, color="C0")
    ax1.set(xlim=(-3, 3), ylim=(-0.1, 4.6 * a), xlabel="w", ylabel="f(w) = ½·a·w²",
            title=f"η = {result['lr']:.2f}: {result['regime']}")
    with np.errstate(divide="ignore"):
        log_loss = np.log10(np.clip(result["loss"], 1e-12, 1e6))
    ax2.plot(np.arange(len(log_loss)), log_loss, color="C1")
    ax2.set(ylim=(-12.5, 6.5), yticks=[-12, -8, -4, 0, 4], xlabel="step", ylabel="log₁₀ loss")
    return fig


@register_explorer("00 gradient descent on a parabola")
def make_explorer() -> Explorer:
    """Learning rate and number of steps → the iterates on the parabola and the loss."""
    return Explorer(
        lambda lr, steps: gradient_descent_1d(lr, steps),
        render_gradient_descent_1d,
        {"lr": widgets.FloatSlider(value=0.3, min=0.0, max=2.5, step=0.05, description="η"),
         "steps": widgets.IntSlider(value=20, min=1, max=60, description="steps")},
        title="Gradient descent on a parabola",
    )
