r"""Two-dimensional test functions and optimizer trajectories on them (chapter 07).

Four landscapes, each a hard case for some optimizer:

* ``quadratic`` — ill-conditioned bowl f = ½(u² + κv²), κ = 100, with (u, v) the
  coordinates rotated by 30°: curvatures 1 and 100, so gradient descent must use γ < 2/100
  and then crawls along u (~κ·ln(1/tol)/2 steps).  The rotation matters: per-coordinate
  methods (AdaGrad, RMSprop, Adam) can undo ill-conditioning only along the axes.
* ``rosenbrock`` — f = (1 − x)² + 100(y − x²)²: a long, curved, flat-bottomed valley.
* ``saddle`` — f = x² + y⁴/4 − y²/2: a saddle at the origin (Hessian diag(2, −1)) between
  two minima at (0, ±1); started near y = 0, gradient descent lingers at the saddle.
* ``narrow_well`` — a gentle bowl 0.05(x² + y²) plus a steep, narrow Gaussian well
  (depth 1, width σ = 0.1) at (1, 0.5): the global minimum has curvature ~1/σ² = 100 while
  the bowl has 0.1, so no single learning rate suits both.

``run_trajectory(function, optimizer_class, lr=…, …)`` runs *any* ``torch.optim.Optimizer``
class (PyTorch's or ``course_utils.optim``'s) from the function's start and records the path
and the loss.  Gradients are analytic (tested against autograd), which keeps the explorer
fast.  The explorer: optimizer, learning rate, β₁/momentum, β₂/ρ/α and function → the
trajectory over the landscape and the loss gap f − f* per step.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from . import optim as scratch
from .explorers import Explorer, register_explorer
from .plotting import new_figure
from .validation import check_choice, check_float, check_int

# ----------------------------------------------------------------------------------------
# test functions
# ----------------------------------------------------------------------------------------

KAPPA = 100.0           # condition number of the quadratic
ANGLE = math.pi / 6     # its principal axes are rotated by 30° from the coordinate axes
WELL_CENTER = (1.0, 0.5)
WELL_SIGMA = 0.1
WELL_DEPTH = 1.0
BOWL = 0.05


@dataclass(frozen=True)
class TestFunction:
    """A 2-D function with its analytic gradient, a start point and a plotting window.

    ``f(x, y)`` and ``grad(x, y) -> (df/dx, df/dy)`` accept floats or NumPy arrays.
    """

    __test__ = False  # not a pytest test class

    name: str
    f: Callable
    grad: Callable
    start: tuple
    minimum: tuple
    xlim: tuple
    ylim: tuple
    description: str

    @property
    def f_min(self) -> float:
        """The global minimum value f(x*)."""
        return float(self.f(*self.minimum))

    def __call__(self, x, y):
        return self.f(x, y)


def _rotated(x, y):
    """Coordinates (u, v) along the quadratic's principal axes (rotated by ANGLE)."""
    c, s = math.cos(ANGLE), math.sin(ANGLE)
    return c * x + s * y, -s * x + c * y


def _quadratic(x, y):
    u, v = _rotated(x, y)
    return 0.5 * (u * u + KAPPA * v * v)


def _quadratic_grad(x, y):
    u, v = _rotated(x, y)
    c, s = math.cos(ANGLE), math.sin(ANGLE)
    gu, gv = u, KAPPA * v                       # gradient in (u, v), rotated back to (x, y)
    return c * gu - s * gv, s * gu + c * gv


def _rosenbrock(x, y):
    return (1 - x) ** 2 + 100.0 * (y - x * x) ** 2


def _rosenbrock_grad(x, y):
    return -2 * (1 - x) - 400.0 * x * (y - x * x), 200.0 * (y - x * x)


def _saddle(x, y):
    return x * x + 0.25 * y**4 - 0.5 * y * y


def _saddle_grad(x, y):
    return 2 * x, y**3 - y


def _exp(z):
    return torch.exp(z) if isinstance(z, torch.Tensor) else np.exp(z)


def _well_gauss(x, y):
    cx, cy = WELL_CENTER
    return WELL_DEPTH * _exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * WELL_SIGMA**2))


def _narrow_well(x, y):
    return BOWL * (x * x + y * y) - _well_gauss(x, y)


def _narrow_well_grad(x, y):
    cx, cy = WELL_CENTER
    g = _well_gauss(x, y) / WELL_SIGMA**2
    return 2 * BOWL * x + g * (x - cx), 2 * BOWL * y + g * (y - cy)


def _hessian(fn: TestFunction, point) -> np.ndarray:
    p = torch.tensor([float(v) for v in point], dtype=torch.float64)
    return torch.autograd.functional.hessian(lambda q: fn.f(q[0], q[1]), p).numpy()


def _newton_minimum(fn: TestFunction, steps: int = 30) -> tuple:
    """Polish ``fn.minimum`` with Newton's method (for the well, whose minimum is not exactly
    at the Gaussian's centre because the bowl pulls it towards the origin)."""
    p = np.array(fn.minimum, dtype=float)
    for _ in range(steps):
        p = p - np.linalg.solve(_hessian(fn, p), np.array(fn.grad(*p)))
    return float(p[0]), float(p[1])


_WELL = TestFunction(
    "narrow_well", _narrow_well, _narrow_well_grad, start=(2.5, 1.5), minimum=WELL_CENTER,
    xlim=(-1.0, 3.0), ylim=(-1.0, 2.0),
    description="gentle bowl 0.05(x² + y²) with a steep narrow well near (1, 0.5)")

FUNCTIONS: dict[str, TestFunction] = {
    "quadratic": TestFunction(
        "quadratic", _quadratic, _quadratic_grad, start=(1.0, 1.0), minimum=(0.0, 0.0),
        xlim=(-1.2, 1.2), ylim=(-1.2, 1.2),
        description="ill-conditioned bowl ½(u² + 100v²), axes rotated by 30°"),
    "rosenbrock": TestFunction(
        "rosenbrock", _rosenbrock, _rosenbrock_grad, start=(-1.2, 1.0), minimum=(1.0, 1.0),
        xlim=(-2.0, 2.0), ylim=(-1.0, 3.0),
        description="Rosenbrock's banana valley (1 − x)² + 100(y − x²)²"),
    "saddle": TestFunction(
        "saddle", _saddle, _saddle_grad, start=(-1.5, 1e-3), minimum=(0.0, 1.0),
        xlim=(-2.0, 2.0), ylim=(-1.6, 1.6),
        description="saddle at the origin, minima at (0, ±1): x² + y⁴/4 − y²/2"),
    "narrow_well": dataclasses.replace(_WELL, minimum=_newton_minimum(_WELL)),
}


def get_function(function) -> TestFunction:
    """A :class:`TestFunction` from its name (one of ``FUNCTIONS``) or itself."""
    if isinstance(function, TestFunction):
        return function
    if not isinstance(function, str):
        raise TypeError(f"function must be a name (one of {', '.join(FUNCTIONS)}) or a "
                        f"TestFunction, got {type(function).__name__}")
    return FUNCTIONS[check_choice("function", function, FUNCTIONS)]


def hessian(function, point) -> np.ndarray:
    """The 2×2 Hessian of ``function`` at ``point`` (autograd, float64)."""
    return _hessian(get_function(function), _point("point", point))


def hessian_eigenvalues(function, point) -> np.ndarray:
    """Eigenvalues of the Hessian at ``point``, ascending: both > 0 at a minimum, of mixed
    sign at a saddle; their ratio is the local condition number."""
    return np.linalg.eigvalsh(hessian(function, point))


def _point(name, point) -> tuple:
    if not isinstance(point, (tuple, list, np.ndarray)) or len(point) != 2:
        raise TypeError(f"{name} must be a pair (x, y), got {point!r}")
    return (check_float(f"{name}[0]", float(point[0])), check_float(f"{name}[1]", float(point[1])))


@functools.lru_cache(maxsize=8)
def landscape_grid(function: str, n: int = 120) -> tuple:
    """``(X, Y, Z)`` NumPy grids of ``function`` over its plotting window (cached)."""
    fn = get_function(function)
    n = check_int("n", n, min_value=2, max_value=2000)
    xs = np.linspace(*fn.xlim, n)
    ys = np.linspace(*fn.ylim, n)
    X, Y = np.meshgrid(xs, ys)
    return X, Y, fn.f(X, Y)


# ----------------------------------------------------------------------------------------
# trajectories
# ----------------------------------------------------------------------------------------

@dataclass
class Trajectory:
    """Where an optimizer went: ``path`` (steps+1, 2), ``loss`` (steps+1,), ``gap`` = loss − f*."""

    function: str
    optimizer: str
    path: np.ndarray
    loss: np.ndarray
    f_min: float
    diverged: bool = False
    settings: dict = field(default_factory=dict)
    test_function: TestFunction | None = field(default=None, repr=False)

    def _fn(self) -> TestFunction:
        return self.test_function or get_function(self.function)

    @property
    def gap(self) -> np.ndarray:
        return self.loss - self.f_min

    @property
    def steps(self) -> int:
        return len(self.loss) - 1

    def steps_to(self, tol: float = 1e-6) -> int | None:
        """First step where f − f* < tol·(f₀ − f*), or None if never reached."""
        tol = check_float("tol", tol, min_value=0.0, min_inclusive=False)
        hit = np.nonzero(self.gap < tol * self.gap[0])[0]
        return int(hit[0]) if len(hit) else None

    def effective_lr(self) -> np.ndarray:
        """|θₜ₊₁ − θₜ| / |∇f(θₜ)| per step and coordinate, shape (steps, 2): exactly
        γ/(√G + ε) for AdaGrad and γ/(√v + ε) for RMSprop (NaN where the gradient is 0)."""
        gx, gy = self._fn().grad(self.path[:-1, 0], self.path[:-1, 1])
        grad = np.abs(np.stack([gx, gy], axis=1))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(grad > 0, np.abs(np.diff(self.path, axis=0)) / grad, np.nan)

    def distance_to_minimum(self, minimum=None) -> np.ndarray:
        """Euclidean distance of each iterate to the minimum (default: the function's)."""
        target = np.asarray(minimum if minimum is not None else self._fn().minimum)
        return np.linalg.norm(self.path - target, axis=1)


DIVERGENCE_RADIUS = 1e6


def run_trajectory(function, optimizer: type, *, steps: int = 200, start=None,
                   stop_below: float | None = None, **optimizer_kwargs) -> Trajectory:
    """Minimize ``function`` with ``optimizer(params, **optimizer_kwargs)`` from ``start``.

    ``optimizer`` is any ``torch.optim.Optimizer`` class.  The parameter is one float64
    tensor (x, y) whose ``.grad`` holds the analytic gradient before each ``step()``.  The
    run stops early with ``diverged=True`` when the iterate leaves a radius of 1e6 or is
    not finite, and (if ``stop_below`` is given) as soon as f − f* < stop_below·(f₀ − f*).
    """
    fn = get_function(function)
    if not (isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer)):
        raise TypeError("optimizer must be a torch.optim.Optimizer class (e.g. "
                        f"course_utils.optim.Adam), got {optimizer!r}")
    steps = check_int("steps", steps, min_value=1, max_value=100_000)
    start = fn.start if start is None else _point("start", start)
    if stop_below is not None:
        stop_below = check_float("stop_below", stop_below, min_value=0.0, min_inclusive=False)
        threshold = stop_below * (fn.f(*start) - fn.f_min)
    p = torch.tensor(start, dtype=torch.float64)
    p.grad = torch.zeros(2, dtype=torch.float64)
    # NumPy views share the tensors' memory: cheap reads and writes of two numbers
    p_np, g_np = p.numpy(), p.grad.numpy()
    opt = optimizer([p], **optimizer_kwargs)
    path = [start]
    diverged = False
    for _ in range(steps):
        g_np[0], g_np[1] = fn.grad(p_np[0], p_np[1])
        opt.step()
        x, y = float(p_np[0]), float(p_np[1])
        path.append((x, y))
        if not (math.isfinite(x) and math.isfinite(y)) or max(abs(x), abs(y)) > DIVERGENCE_RADIUS:
            diverged = True
            break
        if stop_below is not None and fn.f(x, y) - fn.f_min < threshold:
            break
    path = np.array(path)
    with np.errstate(over="ignore", invalid="ignore"):
        loss = fn.f(path[:, 0], path[:, 1])
    return Trajectory(fn.name, optimizer.__name__, path, loss, fn.f_min, diverged,
                      dict(optimizer_kwargs), fn)


#: The optimizers of the chapter by display name → how the explorer's sliders map onto
#: their arguments: (class, f(lr, beta1, beta2) -> kwargs).
PRESETS: dict[str, tuple[type, Callable]] = {
    "GD": (scratch.SGD, lambda lr, b1, b2: dict(lr=lr)),
    "Momentum": (scratch.SGD, lambda lr, b1, b2: dict(lr=lr, momentum=b1)),
    "Nesterov": (scratch.SGD, lambda lr, b1, b2: dict(lr=lr, momentum=b1, nesterov=b1 > 0)),
    "AdaGrad": (scratch.Adagrad, lambda lr, b1, b2: dict(lr=lr)),
    "AdaDelta": (scratch.Adadelta, lambda lr, b1, b2: dict(lr=lr, rho=b2)),
    "RMSprop": (scratch.RMSprop, lambda lr, b1, b2: dict(lr=lr, alpha=b2)),
    "Adam": (scratch.Adam, lambda lr, b1, b2: dict(lr=lr, betas=(b1, b2))),
    "AdaMax": (scratch.Adamax, lambda lr, b1, b2: dict(lr=lr, betas=(b1, b2))),
    "NAdam": (scratch.NAdam, lambda lr, b1, b2: dict(lr=lr, betas=(b1, b2))),
}
#: which of the explorer's β sliders each preset reads
USES = {"GD": (), "Momentum": ("beta1",), "Nesterov": ("beta1",), "AdaGrad": (),
        "AdaDelta": ("beta2",), "RMSprop": ("beta2",), "Adam": ("beta1", "beta2"),
        "AdaMax": ("beta1", "beta2"), "NAdam": ("beta1", "beta2")}


def run_preset(function, preset: str, lr: float, beta1: float = 0.9, beta2: float = 0.999,
               steps: int = 200, stop_below: float | None = None) -> Trajectory:
    """:func:`run_trajectory` for one of ``PRESETS`` (e.g. ``"Nesterov"``): ``beta1`` is the
    momentum of GD-with-momentum/Nesterov and Adam's β₁; ``beta2`` is Adam's β₂, RMSprop's
    α and AdaDelta's ρ.  Nesterov with ``beta1 = 0`` is plain GD."""
    check_choice("preset", preset, PRESETS)
    lr = check_float("lr", lr, min_value=0.0)
    beta1 = check_float("beta1", beta1, min_value=0.0, max_value=1.0, max_inclusive=False)
    beta2 = check_float("beta2", beta2, min_value=0.0, max_value=1.0, max_inclusive=False)
    cls, kwargs = PRESETS[preset]
    traj = run_trajectory(function, cls, steps=steps, stop_below=stop_below,
                          **kwargs(lr, beta1, beta2))
    traj.optimizer = preset
    return traj


def tune_lr(function, preset: str, lrs, *, steps: int = 200, stop_below: float | None = None,
            **betas) -> tuple:
    """Run ``preset`` at every learning rate in ``lrs``; the best is the one whose run ends
    closest to the minimum value (smallest final f − f*; diverged runs lose).  ``stop_below``
    ends converged runs early (see :func:`run_trajectory`).

    Returns ``(best_lr, best_trajectory, {lr: trajectory})``."""
    lrs = [check_float("lrs[i]", v, min_value=0.0, min_inclusive=False) for v in lrs]
    if not lrs:
        raise ValueError("lrs must hold at least one learning rate")
    runs = {lr: run_preset(function, preset, lr, steps=steps, stop_below=stop_below, **betas)
            for lr in lrs}

    def score(lr):
        t = runs[lr]
        return math.inf if t.diverged or not np.isfinite(t.gap[-1]) else t.gap[-1]
    best = min(lrs, key=score)
    return best, runs[best], runs


# ----------------------------------------------------------------------------------------
# pictures and the explorer
# ----------------------------------------------------------------------------------------

def _log_gap(values, f_min):
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.log10(np.maximum(np.asarray(values, dtype=float) - f_min, 1e-16))


@functools.lru_cache(maxsize=8)
def _landscape_image(function: str) -> np.ndarray:
    fn = get_function(function)
    _, _, Z = landscape_grid(function, 120)
    return _log_gap(Z, fn.f_min)


def plot_landscape(function, ax, *, cmap: str = "viridis"):
    """log₁₀(f − f*) over the function's window as an image (cheap to draw), minimum marked."""
    fn = get_function(function)
    ax.imshow(_landscape_image(fn.name), origin="lower", extent=(*fn.xlim, *fn.ylim),
              aspect="auto", cmap=cmap, interpolation="bilinear")
    ax.plot(*fn.minimum, "*", color="white", ms=10, mec="k", mew=0.5)
    ax.set(xlim=fn.xlim, ylim=fn.ylim, xlabel="x", ylabel="y")
    ax.grid(False)
    return ax


def plot_trajectory(traj: Trajectory, ax, *, label=None, color=None, marker_every: int = 0):
    """Draw ``traj.path`` on ``ax`` (clipped to the function's window)."""
    fn = get_function(traj.function)
    path = traj.path
    lo = np.array([fn.xlim[0], fn.ylim[0]]) - 10
    hi = np.array([fn.xlim[1], fn.ylim[1]]) + 10
    shown = np.clip(path, lo, hi)
    (line,) = ax.plot(shown[:, 0], shown[:, 1], "-", lw=1.3, color=color,
                      label=label or traj.optimizer)
    if marker_every:
        ax.plot(shown[::marker_every, 0], shown[::marker_every, 1], ".", ms=3,
                color=line.get_color())
    ax.plot(*shown[0], "o", ms=4, color="white", mec="k", mew=0.5)
    ax.plot(*shown[-1], "x", ms=6, color=line.get_color())
    return ax


def explore(function: str = "rosenbrock", optimizer: str = "Adam", lr: float = 0.05,
            beta1: float = 0.9, beta2: float = 0.999, steps: int = 200) -> dict:
    """The explorer's computation: one trajectory and what the picture needs (pure)."""
    fn = get_function(function)
    traj = run_preset(fn, optimizer, lr, beta1, beta2, steps)
    final = traj.gap[-1] if not traj.diverged else math.inf
    return {"trajectory": traj, "function": fn.name, "optimizer": optimizer,
            "lr": traj.settings.get("lr", lr), "diverged": traj.diverged,
            "final_gap": float(final) if np.isfinite(final) else math.inf,
            "log_gap": _log_gap(traj.loss, fn.f_min), "steps": traj.steps, "steps_max": steps}


class ExploreView:
    """Draws :func:`explore`'s result: left, the path over log₁₀(f − f*); right, log₁₀(f − f*)
    per step.  Calling it returns a Figure holding the finished picture.

    Speed (a redraw must take well under 100 ms): the static part — image, axes, ticks,
    labels — is drawn once per function and kept as a pixel buffer; each call restores it,
    draws only the path, the loss curve and the titles on top (matplotlib "blitting") and
    wraps the pixels in a bare figure, which costs little to encode as PNG.  Drawing tick
    labels is what makes a matplotlib redraw slow, and they do not change here.
    """

    WIDTH, HEIGHT, DPI = 6.4, 2.6, 72

    def __init__(self):
        self._cache = {}

    def _static(self, function: str, steps: int):
        key = (function, steps)
        if key in self._cache:
            return self._cache[key]
        fn = get_function(function)
        fig, axes = new_figure(2, width=self.WIDTH, height=self.HEIGHT, dpi=self.DPI)
        canvas = FigureCanvasAgg(fig)
        ax1, ax2 = axes[0]
        ax1.set_position([0.09, 0.17, 0.37, 0.72])
        ax2.set_position([0.60, 0.17, 0.38, 0.72])
        ax1.imshow(_landscape_image(fn.name), origin="lower", extent=(*fn.xlim, *fn.ylim),
                   aspect="auto", cmap="viridis", interpolation="nearest")
        ax1.plot(*fn.minimum, "*", color="w", ms=9)
        ax1.set(xlim=fn.xlim, ylim=fn.ylim, xticks=np.linspace(*fn.xlim, 3),
                yticks=np.linspace(*fn.ylim, 3))
        ax1.set_xlabel("x", labelpad=1)
        ax1.set_ylabel("y", labelpad=1)
        ax1.grid(False)
        ax2.set(xlim=(0, steps), ylim=(-16, 8), xticks=[0, steps // 2, steps],
                yticks=[-16, -8, 0, 8])
        ax2.set_xlabel("step", labelpad=1)
        ax2.set_ylabel("log₁₀(f − f*)", labelpad=1)
        dynamic = {  # animated artists are left out of the full draw
            "path": ax1.plot([], [], "-", color="w", lw=1.2, animated=True)[0],
            "end": ax1.plot([], [], "x", color="r", ms=7, animated=True)[0],
            "gap": ax2.plot([], [], color="C1", animated=True)[0],
            "title1": ax1.set_title(" ", fontsize=9, animated=True),
            "title2": ax2.set_title(" ", fontsize=9, animated=True),
        }
        canvas.draw()
        background = canvas.copy_from_bbox(fig.bbox)
        self._cache[key] = (fig, canvas, dynamic, background)
        return self._cache[key]

    def __call__(self, result: dict, values: dict | None = None):
        fn = get_function(result["function"])
        fig, canvas, art, background = self._static(fn.name, int(result["steps_max"]))
        canvas.restore_region(background)
        path = np.clip(result["trajectory"].path, [fn.xlim[0] - 1, fn.ylim[0] - 1],
                       [fn.xlim[1] + 1, fn.ylim[1] + 1])
        art["path"].set_data(path[:, 0], path[:, 1])
        art["end"].set_data(path[-1:, 0], path[-1:, 1])
        gap = np.clip(result["log_gap"], -16, 8)
        art["gap"].set_data(np.arange(len(gap)), gap)
        art["title1"].set_text(f"{result['optimizer']}, lr = {result['lr']:.3g}")
        art["title2"].set_text("diverged" if result["diverged"]
                               else f"final f − f* = {result['final_gap']:.2g}")
        for artist in art.values():
            artist.axes.draw_artist(artist)
        pixels = np.asarray(canvas.buffer_rgba()).copy()
        out = Figure(figsize=(pixels.shape[1] / self.DPI, pixels.shape[0] / self.DPI),
                     dpi=self.DPI)
        out.figimage(pixels, origin="upper")
        return out


_DEFAULT_VIEW = ExploreView()


def render_explore(result: dict, values: dict | None = None):
    """The explorer's picture of :func:`explore`'s ``result`` (see :class:`ExploreView`);
    render it with ``plotting.figure_to_png(fig, dpi=72)``."""
    return _DEFAULT_VIEW(result, values)


@register_explorer("07 optimizer trajectories")
def make_explorer() -> Explorer:
    """Optimizer, learning rate, β₁ (momentum), β₂ (ρ, α) and test function → the
    trajectory over the landscape and f − f* per step."""
    controls = {
        "function": widgets.Dropdown(options=list(FUNCTIONS), value="rosenbrock",
                                     description="function"),
        "optimizer": widgets.Dropdown(options=list(PRESETS), value="Adam",
                                      description="optimizer"),
        "lr": widgets.FloatLogSlider(value=0.05, base=10, min=-4, max=0.5, step=0.1,
                                     description="lr γ", readout_format=".3g"),
        "beta1": widgets.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01,
                                     description="β₁ / μ"),
        "beta2": widgets.FloatSlider(value=0.999, min=0.5, max=0.999, step=0.001,
                                     description="β₂ / α / ρ", readout_format=".3f"),
    }
    return Explorer(lambda **v: explore(steps=200, **v), ExploreView(), controls,
                    title="Optimizer trajectories on 2-D test functions", dpi=ExploreView.DPI)
