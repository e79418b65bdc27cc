"""In-browser latency of every explorer: JupyterLab in headless Chromium, a control moved,
time until the new picture is in the page.

    .venv/bin/python benchmarks/browser_explorers.py [--moves 4] [NOTEBOOK ...]
    (make benchmark-browser)

Starts JupyterLab (course_utils.tools.lab; a temporary copy of the notebooks), opens each
lecture notebook in turn, runs all its cells, then moves each control of each explorer
``--moves`` times (sliders right/left by one step with the arrow keys, dropdowns to the next/
previous option, checkboxes clicked) and measures in the page the time from the key press to
the new picture.  One notebook at a time, so nothing else competes for the two cores.
Prints per explorer the median and worst latency and writes the table to
benchmarks/results/browser_explorers.txt.  Run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from course_utils.tools import browser, lab  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "browser_explorers.txt"


def measure(page, path: str, moves: int) -> tuple[float, list[tuple[str, list[float]]]]:
    """Run All seconds of ``path`` and, per explorer, its title and move latencies (ms)."""
    lab.open_notebook(page, path)
    try:
        seconds = lab.run_all(page, path)
        problems = lab.cell_problems(page, path)
        if problems:
            raise lab.LabError(f"{path}:\n" + "\n".join(problems))
        rows = []
        for ex in lab.find_explorers(page, path):
            lab.picture(page, ex.cell).wait_for(state="visible", timeout=30_000)
            ms = []
            for k in range(lab.controls(page, ex.cell).count()):
                for m in range(moves):  # there and back: every control ends where it began
                    ms.append(lab.move_control(page, ex.cell, k, direction=1 if m % 2 == 0 else -1)["ms"])
            rows.append((ex.title or f"cell {ex.cell}", ms))
        return seconds, rows
    finally:
        lab.close_notebook(page, path)


def chromium_version() -> str:
    try:
        out = subprocess.run([browser.chromium_path(), "--version"], capture_output=True,
                             text=True, timeout=30)
        return out.stdout.strip()
    except (OSError, subprocess.TimeoutExpired, browser.BrowserMissing):
        return "unknown Chromium"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="*", help="default: every notebooks/NN_*.ipynb")
    ap.add_argument("--moves", type=int, default=4, help="moves per control (default 4)")
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args(argv)
    paths = args.notebooks or sorted(p.relative_to(ROOT).as_posix()
                                     for p in ROOT.glob("notebooks/[0-9][0-9]_*.ipynb"))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    header = [f"# explorer latency in JupyterLab, headless {chromium_version()}, "
              f"{os.cpu_count()} CPUs ({platform.machine()}), load {load:.1f} at start",
              f"# {args.moves} moves per control; ms from the key press (or click) to the new "
              "picture in the page",
              f"{'notebook':34s} {'explorer':46s} {'median ms':>9s} {'worst ms':>9s} {'moves':>5s}"]
    print("\n".join(header), flush=True)
    lines, t_all = list(header), time.perf_counter()
    with lab.LabServer() as server, browser.sync_playwright() as p:
        b = browser.launch(p)
        page = b.new_page(viewport={"width": 1280, "height": 1000})
        lab.open_lab(page, server)
        for path in paths:
            seconds, rows = measure(page, path, args.moves)
            for title, ms in rows:
                line = (f"{pathlib.Path(path).stem:34.34s} {title:46.46s} "
                        f"{statistics.median(ms):9.0f} {max(ms):9.0f} {len(ms):5d}")
                lines.append(line)
                print(line, flush=True)
            lines.append(f"{'':34s} (Run All {seconds:.1f} s)")
        b.close()
    total = f"# total {time.perf_counter() - t_all:.0f} s"
    lines.append(total)
    print(total)
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"written to {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
