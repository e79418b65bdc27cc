"""Reproducibility, threads and device: one call at the top of every notebook.

``setup(seed=0)`` seeds Python, NumPy and torch, turns on deterministic algorithms, sets
the number of CPU threads and returns the device to use.  Every seed the course uses goes
through this module (``seed``, ``seeds``, ``generator``, ``rng``), and the environment
variable ``COURSE_SEED_OFFSET=k`` shifts them all: a claim is checked on offsets 0, 1, 2.  Thread count: the models in this
course are tiny, and on a 2-core CPU one thread is as fast or faster than two (see
``benchmarks/threads.py``); it also lets two notebooks run side by side in CI.
"""

from __future__ import annotations

import os
import platform
import random

import numpy as np
import torch

from .validation import check_choice, check_int

DEFAULT_THREADS = 1


def seed_everything(seed: int = 0) -> None:
    """Seed ``random``, NumPy and torch (CPU and CUDA) with ``seed + COURSE_SEED_OFFSET``."""
    seed = check_int("seed", seed, min_value=0, max_value=2**31 - 1) + seed_offset()
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def set_threads(n: int | None = DEFAULT_THREADS) -> int:
    """Set torch's intra-op thread count (``None`` keeps torch's default); return it."""
    if n is not None:
        n = check_int("n", n, min_value=1, max_value=max(1, os.cpu_count() or 1) * 4)
        torch.set_num_threads(n)
    return torch.get_num_threads()


def get_device(prefer: str = "auto") -> torch.device:
    """CUDA, then Apple MPS, else CPU. ``COURSE_DEVICE=cpu`` (or ``prefer='cpu'``) forces one.

    Stored notebook outputs were computed on the CPU; tests set ``COURSE_DEVICE=cpu``.
    """
    prefer = os.environ.get("COURSE_DEVICE", prefer)
    check_choice("prefer (or COURSE_DEVICE)", prefer, ["auto", "cpu", "cuda", "mps"])
    if prefer == "cpu":
        return torch.device("cpu")
    if prefer in ("auto", "cuda") and torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if prefer in ("auto", "mps") and mps is not None and mps.is_available():
        return torch.device("mps")
    if prefer != "auto":
        raise ValueError(f"prefer={prefer!r} was asked for but that device is not available")
    return torch.device("cpu")


def setup(seed: int = 0, threads: int | None = DEFAULT_THREADS, deterministic: bool = True,
          device: str = "auto") -> torch.device:
    """Seed everything, set threads and (on a GPU) deterministic algorithms; return the device.

    On the CPU, PyTorch's kernels are deterministic for a fixed thread count already."""
    seed_everything(seed)
    set_threads(threads)
    dev = get_device(device)
    if dev.type != "cpu" or not deterministic:
        # Only accelerators have non-deterministic kernels; on the CPU this call is skipped
        # because it costs ~2 s of imports (torch._inductor) in every notebook.
        torch.use_deterministic_algorithms(bool(deterministic), warn_only=True)
    return dev


def environment_report() -> dict:
    """Versions and hardware facts that matter for the course (for the start notebook)."""
    import matplotlib
    import sklearn

    try:
        import ipywidgets

        widgets_version = ipywidgets.__version__
    except ImportError:  # pragma: no cover - ipywidgets is pinned
        widgets_version = "missing"
    return {
        "python": platform.python_version(),
        "torch": torch.__version__.split("+")[0],
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "matplotlib": matplotlib.__version__,
        "ipywidgets": widgets_version,
        "device": str(get_device()),
        "torch threads": torch.get_num_threads(),
        "cpu cores": os.cpu_count(),
    }


# ---------------------------------------------------------------------------- seed offset
def seed_offset() -> int:
    """``COURSE_SEED_OFFSET`` (default 0): added to every seed the course uses, so the whole
    course can be re-run on other seeds (``COURSE_SEED_OFFSET=1 make test-perturbed``)."""
    raw = os.environ.get("COURSE_SEED_OFFSET", "0").strip() or "0"
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"COURSE_SEED_OFFSET must be a non-negative integer, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"COURSE_SEED_OFFSET must be a non-negative integer, got {value}")
    return value


def seed(k: int = 0) -> int:
    """The course's seed number ``k`` shifted by ``COURSE_SEED_OFFSET``."""
    return check_int("seed", k, min_value=0, max_value=2**31 - 1) + seed_offset()


def seeds(n: int, start: int = 0) -> list[int]:
    """``n`` consecutive seeds from ``start``, shifted by ``COURSE_SEED_OFFSET``."""
    n = check_int("n", n, min_value=1, max_value=10_000)
    return [seed(start + i) for i in range(n)]


def generator(k: int = 0) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed(k)``."""
    return torch.Generator().manual_seed(seed(k))


def rng(k: int = 0) -> np.random.Generator:
    """A NumPy ``Generator`` seeded with ``seed(k)``."""
    return np.random.default_rng(seed(k))
