"""Claims checked in code: every conclusion a notebook draws is evaluated, not typed.

A claim prints one fixed verdict line when it holds and raises :class:`ClaimFailed` (so the
cell fails, and with it the notebook's test) when it does not::

    claims.check("He init trains a 20-layer ReLU net; Xavier stays near chance",
                 min(he) > 0.5 and max(xavier) < 0.3,
                 measured=f"He {claims.spread(he)}, Xavier {claims.spread(xavier)}")

prints ``✔ claim holds: He init trains …`` and, on its own line, what was measured (numbers
that depend on the CPU and the seed: shown to the reader, never compared by the tests).

Noisy results rest on several seeds: :func:`in_k_of_n` ("in at least k of n seeds"),
:func:`spread` ("mean ± std [min, max]").  A known result that does not show at this scale is
stated as such with ``label="not reproduced here"`` — and checked like any other claim.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

HOLDS = "✔"
FAILS = "✘"


class ClaimFailed(AssertionError):
    """A claim a notebook makes did not hold on this machine and seed."""


def _text(name: str, value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TypeError(f"{name} must be a non-empty string, got {value!r}")
    return value.strip()


def check(statement: str, holds, *, measured: str | None = None,
          label: str = "claim holds") -> None:
    """Print ``✔ {label}: {statement}`` (then ``  measured: …``) if ``holds``; else raise.

    Returns None, so a claim on a cell's last line displays nothing more.

    ``holds`` must be a bool (or NumPy/torch bool scalar): a claim is a yes/no question."""
    statement = _text("statement", statement)
    label = _text("label", label)
    if type(holds).__name__ == "Tensor" and holds.numel() == 1 and str(holds.dtype) == "torch.bool":
        holds = holds.item()
    if not isinstance(holds, (bool, np.bool_)):
        raise TypeError(f"holds must be True or False, got {type(holds).__name__} {holds!r}")
    holds = bool(holds)
    if measured is not None and not isinstance(measured, str):
        raise TypeError(f"measured must be a string or None, got {type(measured).__name__}")
    if not holds:
        raise ClaimFailed(f"{FAILS} claim does NOT hold: {statement}"
                          + (f"\n  measured: {measured}" if measured else ""))
    print(f"{HOLDS} {label}: {statement}")
    if measured:
        print(f"  measured: {measured}")


def in_k_of_n(statement: str, outcomes: Sequence, k: int, *, measured: str | None = None,
              label: str = "claim holds") -> None:
    """The claim "``statement`` in at least k of the n runs": ``outcomes`` is one bool per run
    (seed).  The verdict line says "in ≥ k of n seeds", a fixed text."""
    flags = [bool(o) for o in outcomes]
    n = len(flags)
    if n == 0:
        raise ValueError("outcomes must hold one bool per run (seed), got none")
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= n:
        raise ValueError(f"k must be an int in [1, {n}] (the number of runs), got {k!r}")
    got = sum(flags)
    extra = f"{got} of {n}"
    check(f"{statement} (in ≥ {k} of {n} seeds)", got >= k,
                 measured=f"{extra}; {measured}" if measured else extra, label=label)


def spread(values, digits: int = 3) -> str:
    """``"mean ± std [min, max]"`` of several runs, rounded to ``digits`` significant digits."""
    v = np.asarray([float(x) for x in values], dtype=float)
    if v.size == 0:
        raise ValueError("values must not be empty")

    def g(x):
        return "nan" if not math.isfinite(x) else f"{x:.{digits}g}"

    if v.size == 1:
        return g(v[0])
    return f"{g(v.mean())} ± {g(v.std(ddof=1))} [{g(v.min())}, {g(v.max())}]"


def mean_gap(a, b) -> float:
    """mean(a) − mean(b): the size of an "a beats b" effect over seeds."""
    return float(np.mean([float(x) for x in a]) - np.mean([float(x) for x in b]))
