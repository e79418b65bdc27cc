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
class (PyTorch's or ``course_utils.scratch.optim``'s) from the function's start and records
the path and the loss; ``plot_landscape`` and ``plot_trajectory`` draw them.  Gradients
are analytic (tested against autograd), which keeps chapter 07's explorer
(``course_utils.chapters.ch07_optimizers``) fast.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from ..core.validation import check_choice, check_float, check_int

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
                        f"course_utils.scratch.optim.Adam), got {optimizer!r}")
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


# ----------------------------------------------------------------------------------------
# pictures
# ----------------------------------------------------------------------------------------

def log_gap(values, f_min) -> np.ndarray:
    """log₁₀(f − f*), floored at 1e-16 (no warnings for 0 or overflow)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.log10(np.maximum(np.asarray(values, dtype=float) - f_min, 1e-16))


@functools.lru_cache(maxsize=8)
def landscape_image(function: str) -> np.ndarray:
    """log₁₀(f − f*) on a 120 × 120 grid over the function's window (cached)."""
    fn = get_function(function)
    _, _, Z = landscape_grid(function, 120)
    return log_gap(Z, fn.f_min)


def plot_landscape(function, ax, *, cmap: str = "viridis"):
    """log₁₀(f − f*) over the function's window as an image (cheap to draw), minimum marked."""
    fn = get_function(function)
    ax.imshow(landscape_image(fn.name), origin="lower", extent=(*fn.xlim, *fn.ylim),
              aspect="auto", cmap=cmap, interpolation="bilinear")
    ax.plot(*fn.minimum, "*", color="white", ms=10, mec="k", mew=0.5)
    ax.set(xlim=fn.xlim, ylim=fn.ylim, xlabel="x", ylabel="y")
    ax.grid(False)
    return ax


def plot_trajectory(traj: Trajectory, ax, *, label=None, color=None, marker_every: int = 0):
    """Draw ``traj.path`` on ``ax`` (clipped to the function's window): ○ start, × end."""
    if not isinstance(traj, Trajectory):
        raise TypeError(f"traj must be a Trajectory (from run_trajectory), got {type(traj).__name__}")
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
