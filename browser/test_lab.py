"""Every lecture notebook (and one exercise notebook) in JupyterLab in headless Chromium.

For each notebook: open it, Kernel → Restart Kernel and Run All Cells, wait until done, and
fail on an error output or traceback in any cell, a widget error ("Error displaying widget",
"Model not found", an explorer's "could not compute"), a console error or uncaught
exception in the page, an explorer cell that does not show its controls and picture, or a
control whose move (arrow key on a slider, next option of a dropdown, click on a checkbox)
does not change the picture within MOVE_TIMEOUT seconds.  Each explorer is screenshot
before and after its controls moved (NN_<explorer>_initial.png / _moved.png) and the
latency of every move is recorded (<screenshots>/latency.json, summary at the end).

    .venv/bin/python -m pytest -p no:xdist -q browser/test_lab.py [--lab-env KEY=VALUE ...]
"""

from __future__ import annotations

import os
import pathlib
import re
import time

import nbformat
import pytest

from course_utils.tools import lab

ROOT = pathlib.Path(__file__).resolve().parents[1]
LECTURES = sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("notebooks/[0-9][0-9]_*.ipynb"))
EXERCISE = "exercises/01_perceptron.ipynb"
NOTEBOOKS = LECTURES + [EXERCISE]

RUN_TIMEOUT = 300.0  # seconds for Run All (each notebook is ≤ 60 s on a quiet 2-core CPU)
MOVE_TIMEOUT = 30.0  # seconds for one control move (training explorers retrain)

#: Console errors JupyterLab itself logs in this flow, by exact text, with the reason.
BENIGN_CONSOLE = {
    # The debugger sidebar asks a freshly started kernel for its debug state; "Restart
    # Kernel and Run All" right after opening cancels that request.  Nothing is broken: the
    # debugger asks again after the restart.
    "Could not restore the debugger state: Canceled future for debug_request message "
    "before replies were done",
    # The same race for the request that opens a kernel subshell for widget comms
    # (ipykernel 7 supports subshells; JupyterLab 4.6 asks for one when a widget comm
    # opens): a restart or shutdown while it is in flight cancels it, and JupyterLab does
    # not catch that rejection.  Seen once in ~30 notebook runs; the widgets work.
    "uncaught exception: Error: Canceled future for create_subshell_request message before "
    "replies were done",
}


def short(path: str) -> str:
    return pathlib.Path(path).stem.split("_")[0]


def check_explorers(page, path, screenshots_dir, latency_log) -> list[str]:
    """Controls, picture, one move per control (picture must change), screenshots."""
    problems = []
    prefix = ("ex" if path.startswith("exercises/") else "") + short(path)
    for n, ex in enumerate(lab.find_explorers(page, path)):
        where = f"cell {ex.cell} ({ex.title or 'explorer'})"
        if not ex.names:
            problems.append(f"{where}: no explorer output (no '— controls:' line)")
            continue
        try:
            lab.wait_for_explorer(page, path, ex.cell, len(ex.names))
        except lab.LabError as e:
            problems.append(f"{where}: {e} ({', '.join(ex.names)})")
            continue
        area = lab.output_area(page, ex.cell)
        area.screenshot(path=str(screenshots_dir / f"{prefix}_{n}_initial.png"))
        for k, name in enumerate(ex.names):
            try:
                move = lab.move_control(page, ex.cell, k, timeout=MOVE_TIMEOUT)
            except lab.LabError as e:
                problems.append(f"{where}: {name}: {e}")
                continue
            latency_log.append({"notebook": pathlib.Path(path).stem, "explorer": ex.title,
                                "control": name, **move})
        area.screenshot(path=str(screenshots_dir / f"{prefix}_{n}_moved.png"))
    return problems


def solution_source(function: str) -> str:
    """The solution cell defining ``function`` in solutions/, without the solution markers."""
    nb = nbformat.read(ROOT / "solutions" / pathlib.Path(EXERCISE).name, as_version=4)
    for c in nb.cells:
        if c.cell_type == "code" and c.source.startswith(f"def {function}("):
            return "\n".join(ln for ln in c.source.splitlines() if "### " not in ln)
    raise LookupError(f"no solution cell defines {function}")


def check_exercise(page, path) -> list[str]:
    """The checker cells print a report (no traceback); with a correct solution in the first
    exercise cell its checker reports that every check passed."""
    problems = []
    cells = lab.cells(page, path)
    checkers = [i for i, c in enumerate(cells) if c["type"] == "code"
                and re.match(r"checks\.\w+\(\w+\)\s*$", c["source"])]
    if not checkers:
        return [f"{path}: no checker cell found"]
    for i in checkers:
        text = "".join("".join(o.get("text", "")) for o in cells[i]["outputs"])
        if not text.strip():
            problems.append(f"cell {i}: the checker printed nothing")
    first = checkers[0]
    lab.type_into(page, path, first - 1, solution_source("perceptron_predict"))
    lab.run_cells(page, path, [first - 1, first])
    out = lab.cells(page, path)[first]["outputs"]
    text = "".join("".join(o.get("text", "")) for o in out)
    if "passed" not in text or any(o.get("output_type") == "error" for o in out):
        problems.append(f"cell {first}: with the solution typed in, the checker says:\n    "
                        + (text.strip() or str(out))[:400])
    return problems


class Runner:
    """Runs the notebooks on two pages: while one notebook is checked (explorers moved), the
    next selected one already runs on the other page — two single-threaded kernels for two
    cores.  ``COURSE_LAB_AHEAD=0`` turns this off (one notebook at a time)."""

    def __init__(self, pages, order):
        self.free = list(pages)
        self.order = order
        self.running = {}  # path → (page, t0)
        self.leftover = {}  # path → console errors logged on its page before it opened
        self.ahead = os.environ.get("COURSE_LAB_AHEAD", "1") != "0"

    def start(self, path):
        if path in self.running or not self.free:
            return
        page = self.free.pop(0)
        self.leftover[path] = page.console.take()
        try:
            lab.open_notebook(page, path)
            self.running[path] = (page, lab.start_run_all(page, path))
        except Exception:
            self.free.append(page)
            raise

    def begin(self, path):
        """Start ``path`` (unless it already runs) and the notebook after it."""
        self.start(path)
        i = self.order.index(path) if path in self.order else len(self.order)
        if self.ahead and i + 1 < len(self.order):
            try:
                self.start(self.order[i + 1])
            except Exception:  # that notebook's own test reports it
                pass
        return self.running[path]

    def end(self, path):
        page, _ = self.running.pop(path)
        try:
            lab.close_notebook(page, path)
        finally:
            self.free.append(page)


@pytest.fixture(scope="module")
def runner(lab_pages, request):
    order = getattr(request.config, "_lab_order", None) or NOTEBOOKS
    r = Runner(lab_pages, order)
    yield r
    for path in list(r.running):
        r.end(path)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: pathlib.Path(p).stem
                         if p.startswith("notebooks/") else p)
def test_notebook_in_jupyterlab(runner, screenshots_dir, latency_log, path):
    t0 = time.perf_counter()
    page, started = runner.begin(path)
    problems, seconds = [], float("nan")
    try:
        seconds = lab.wait_run_all(page, path, started, timeout=RUN_TIMEOUT)
        problems += check_explorers(page, path, screenshots_dir, latency_log)
        if path.startswith("exercises/"):
            problems += check_exercise(page, path)
        problems = lab.cell_problems(page, path) + problems  # errors stay in the outputs
    finally:
        runner.end(path)
    before = [m for m in runner.leftover.pop(path, []) if m not in BENIGN_CONSOLE]
    problems += [f"console error (page before opening it): {m.strip()[:300]}" for m in before]
    console = [m for m in page.console.take() if m not in BENIGN_CONSOLE]
    problems += [f"console error: {m.strip()[:300]}" for m in console]
    print(f"{path}: Run All {seconds:.1f} s, test {time.perf_counter() - t0:.1f} s")
    assert not problems, f"{path}:\n  " + "\n  ".join(problems)
