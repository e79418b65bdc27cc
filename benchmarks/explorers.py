"""Response time of every registered explorer: each control driven to its extremes.

    .venv/bin/python benchmarks/explorers.py

For each explorer: the median and worst time of one control change (recompute + render to
PNG). Budget: <= 100 ms where it recomputes something small, <= 5 s where it trains.
"""

import importlib
import pkgutil
import statistics
import sys

import course_utils
from course_utils.core import explorers


def main():
    course_utils.setup(seed=0)
    for m in pkgutil.walk_packages(course_utils.__path__, "course_utils."):
        importlib.import_module(m.name)
    print(f"{'explorer':48s} {'median ms':>10s} {'worst ms':>10s}  settings")
    for name in sorted(explorers.EXPLORERS):
        ex = explorers.EXPLORERS[name]()
        explorers.drive_to_extremes(ex)  # warm-up (imports, caches)
        secs = [r["seconds"] * 1000 for r in explorers.drive_to_extremes(ex)]
        print(f"{name:48s} {statistics.median(secs):10.0f} {max(secs):10.0f}  {len(secs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
