"""Build ``exercises/`` from ``solutions/`` (nbgrader's markers, so nbgrader works too).

In a code cell, the lines from ``### BEGIN SOLUTION`` to ``### END SOLUTION`` become::

    # YOUR CODE HERE
    raise NotImplementedError()

(indented like the BEGIN line), and ``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN TESTS``
is removed with its markers.  Outputs and execution counts are cleared, widget state is
dropped.  Run ``python -m course_utils.tools.exercises`` (``make exercises``) after editing a
solution; ``--check`` only reports which exercises are out of date.
"""

from __future__ import annotations

import argparse
import copy
import pathlib
import sys

import nbformat

from .notebooks import normalize_metadata

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
ROOT = pathlib.Path(__file__).resolve().parents[2]


def strip_solutions(source: str, where: str = "cell") -> str:
    """Replace solution regions and drop hidden-test regions of one cell's source."""
    out, mode = [], None
    for line in source.split("\n"):
        if BEGIN_SOLUTION in line or BEGIN_HIDDEN in line:
            if mode is not None:
                raise ValueError(f"{where}: a region starts inside another one: {line.strip()!r}")
            mode = "solution" if BEGIN_SOLUTION in line else "hidden"
            if mode == "solution":
                indent = line[: len(line) - len(line.lstrip())]
                out += [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError()"]
            continue
        if END_SOLUTION in line or END_HIDDEN in line:
            expected = END_SOLUTION if mode == "solution" else END_HIDDEN
            if mode is None or expected not in line:
                raise ValueError(f"{where}: {line.strip()!r} without its BEGIN marker")
            mode = None
            continue
        if mode is None:
            out.append(line)
    if mode is not None:
        raise ValueError(f"{where}: a {mode} region is never closed")
    return "\n".join(out)


def make_exercise(solution: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """The exercise notebook for one solution notebook (a new object; input untouched)."""
    nb = copy.deepcopy(solution)
    nb.metadata.pop("widgets", None)
    normalize_metadata(nb)
    for i, cell in enumerate(nb.cells):
        cell.source = strip_solutions(cell.source, f"{name}, cell {i}")
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def exercise_text(solution_path: pathlib.Path) -> str:
    """The exact text the exercise file for ``solution_path`` must have."""
    nb = nbformat.read(solution_path, as_version=4)
    return nbformat.writes(make_exercise(nb, solution_path.name)) + "\n"


def generate(solutions=ROOT / "solutions", exercises=ROOT / "exercises", check=False) -> list[str]:
    """Write (or with ``check`` only compare) every exercise; return the names out of date."""
    solutions, exercises = pathlib.Path(solutions), pathlib.Path(exercises)
    stale = []
    expected_names = set()
    for sol in sorted(solutions.glob("*.ipynb")):
        target = exercises / sol.name
        expected_names.add(sol.name)
        text = exercise_text(sol)
        if not target.exists() or target.read_text() != text:
            stale.append(sol.name)
            if not check:
                exercises.mkdir(parents=True, exist_ok=True)
                target.write_text(text)
    extra = sorted(p.name for p in exercises.glob("*.ipynb") if p.name not in expected_names)
    stale += [f"{n} (no matching solution)" for n in extra]
    return stale


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only report stale exercises")
    args = parser.parse_args(argv)
    stale = generate(check=args.check)
    verb = "out of date" if args.check else "written"
    print("\n".join(f"{verb}: {n}" for n in stale) or "exercises are up to date")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
