"""Build ``exercises/`` from ``solutions/`` (nbgrader's markers, so nbgrader works too).

In a code cell, the lines from ``### BEGIN SOLUTION`` to ``### END SOLUTION`` become::

    # YOUR CODE HERE
    raise NotImplementedError()

(indented like the BEGIN line), and ``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN TESTS``
is removed with its markers.  Outputs and execution counts are cleared, widget state is
dropped.  Run ``python -m course_utils.tools.exercises`` (``make exercises``) after editing a
solution; ``--check`` only reports which exercises are out of date.

A marker must be exactly one of the four lines above (indentation and trailing spaces
aside).  A line that looks like a marker but is not one (``### Begin Solution``,
``#### BEGIN SOLUTION``, ``### BEGIN  SOLUTION``, ``BEGIN SOLUTION``, ``### BEGIN SOLUTIONS``)
would leak the solution into the exercise, so it stops the generator with the notebook,
cell and line.  So does a missing ``solutions/`` or an unreadable solution notebook — all
solutions are read and transformed before anything is written.
"""

from __future__ import annotations

import argparse
import copy
import pathlib
import re
import sys

import nbformat

from .notebooks import normalize_metadata

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
ROOT = pathlib.Path(__file__).resolve().parents[2]
MARKERS = (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN)
#: anything that reads like a marker: any number of #, any case, any spacing, plurals
LOOKS_LIKE_MARKER = re.compile(
    r"^\s*#*\s*(begin|end)[\s_-]*(solution|hidden[\s_-]*test)s?\b", re.IGNORECASE)


def marker_of(line: str, where: str = "cell", lineno: int | None = None) -> str | None:
    """The marker ``line`` is (one of :data:`MARKERS`), None for an ordinary line; raise
    ``ValueError`` for a line that looks like a marker but is not exactly one."""
    text = line.strip()
    if text in MARKERS:
        return text
    if LOOKS_LIKE_MARKER.match(text):
        at = f"{where}, line {lineno}" if lineno is not None else where
        close = min(MARKERS, key=lambda m: _distance(m.lower(), text.lower()))
        raise ValueError(f"{at}: {text!r} looks like a marker but is not one; write exactly "
                         f"{close!r} (otherwise the solution would leak into the exercise)")
    return None


def _distance(a: str, b: str) -> int:
    """Levenshtein distance (to suggest the marker that was meant)."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def strip_solutions(source: str, where: str = "cell") -> str:
    """Replace solution regions and drop hidden-test regions of one cell's source."""
    out, mode = [], None
    for lineno, line in enumerate(source.split("\n"), 1):
        marker = marker_of(line, where, lineno)
        if marker in (BEGIN_SOLUTION, BEGIN_HIDDEN):
            if mode is not None:
                raise ValueError(f"{where}, line {lineno}: a region starts inside another "
                                 f"one: {line.strip()!r}")
            mode = "solution" if marker == BEGIN_SOLUTION else "hidden"
            if mode == "solution":
                indent = line[: len(line) - len(line.lstrip())]
                out += [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError()"]
            continue
        if marker in (END_SOLUTION, END_HIDDEN):
            expected = END_SOLUTION if mode == "solution" else END_HIDDEN
            if mode is None or marker != expected:
                raise ValueError(f"{where}, line {lineno}: {line.strip()!r} without its "
                                 "BEGIN marker")
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
    solution_path = pathlib.Path(solution_path)
    try:
        nb = nbformat.read(solution_path, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # not JSON, not a notebook, unreadable
        raise ValueError(f"{solution_path.name}: not a readable notebook "
                         f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
    return nbformat.writes(make_exercise(nb, solution_path.name)) + "\n"


def generate(solutions=ROOT / "solutions", exercises=ROOT / "exercises", check=False) -> list[str]:
    """Write (or with ``check`` only compare) every exercise; return the names out of date.

    Every solution is read and transformed first: a missing ``solutions/``, a notebook that
    cannot be read or a marker typo raises before anything is written."""
    solutions, exercises = pathlib.Path(solutions), pathlib.Path(exercises)
    if not solutions.is_dir():
        raise FileNotFoundError(f"no solutions directory at {solutions}: nothing to generate "
                                "the exercises from")
    paths = sorted(solutions.glob("*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"{solutions} holds no notebook (*.ipynb)")
    texts = {sol.name: exercise_text(sol) for sol in paths}  # may raise: nothing written yet
    stale = []
    expected_names = set(texts)
    for name, text in texts.items():
        target = exercises / name
        if not target.exists() or target.read_text() != text:
            stale.append(name)
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
    try:
        stale = generate(check=args.check)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    verb = "out of date" if args.check else "written"
    print("\n".join(f"{verb}: {n}" for n in stale) or "exercises are up to date")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
