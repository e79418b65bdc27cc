"""Which notebook cells print the same thing on every CPU and every seed — those are compared.

The tests run nbval in lax mode: every cell must run without error (so every claim a notebook
makes is checked, since a claim that does not hold raises), but a cell's printed output is
compared with the stored one only when the cell is tagged ``nbval-check-output``.  This tool
decides the tags by experiment: it re-runs each notebook in fresh kernels under

    ATEN_CPU_CAPABILITY=default    (ATen's non-vectorized kernels)
    MKL_CBWR=COMPATIBLE            (MKL's conditional-numerical-reproducibility mode)
    COURSE_SEED_OFFSET=1, =2       (every seed of the course shifted)

and tags exactly the cells whose text output is identical to the stored output in every run
(shapes, counts, agreement with torch, verdict lines).  Cells whose numbers move are shown
but not compared.  A cell that fails in any run is a claim that does not hold there: the
tool reports it and exits 1.

    python -m course_utils.tools.stability notebooks/03_initialization.ipynb   # report
    python -m course_utils.tools.stability --write notebooks/*.ipynb           # set tags
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import nbformat

from .notebooks import NotebookError, read_notebook, run_notebook

TAG = "nbval-check-output"
PERTURBATIONS = {
    "ATEN_CPU_CAPABILITY=default": {"ATEN_CPU_CAPABILITY": "default"},
    "MKL_CBWR=COMPATIBLE": {"MKL_CBWR": "COMPATIBLE"},
    "COURSE_SEED_OFFSET=1": {"COURSE_SEED_OFFSET": "1"},
    "COURSE_SEED_OFFSET=2": {"COURSE_SEED_OFFSET": "2"},
}
#: what nbval never compares (or compares only with --nbdime)
SKIPPED_KEYS = {"image/png", "image/jpeg", "application/vnd.jupyter.widget-view+json"}


def comparable(outputs) -> list:
    """The part of a cell's outputs nbval compares: text of streams (consecutive pieces of
    one stream joined, as nbval does), results, errors."""
    out = []
    for o in outputs:
        kind = o.get("output_type")
        if kind == "stream":
            text = o.get("text", "")
            text = "".join(text) if isinstance(text, list) else text
            if out and out[-1][0] == "stream" and out[-1][1] == o.get("name"):
                out[-1] = ("stream", o.get("name"), out[-1][2] + text)
            else:
                out.append(("stream", o.get("name"), text))
        elif kind in ("execute_result", "display_data"):
            data = {k: v for k, v in o.get("data", {}).items() if k not in SKIPPED_KEYS}
            out.append(("data", sorted((k, "".join(v) if isinstance(v, list) else v)
                                       for k, v in data.items())))
        elif kind == "error":
            out.append(("error", o.get("ename"), o.get("evalue")))
    return out


def _opted_out(cell) -> bool:
    """A cell whose source says ``# NBVAL_IGNORE_OUTPUT`` or ``# NBVAL_SKIP`` is never tagged."""
    lines = {ln.strip() for ln in cell.source.splitlines()}
    return bool(lines & {"# NBVAL_IGNORE_OUTPUT", "# NBVAL_SKIP"})


def stable_cells(path, perturbations=PERTURBATIONS) -> tuple[list[int], dict[str, str]]:
    """Indices of code cells with outputs whose comparable output matches the stored one in
    every perturbed run, and ``{perturbation: error}`` for runs that failed."""
    stored = read_notebook(path)
    code = [i for i, c in enumerate(stored.cells) if c.cell_type == "code" and c.get("outputs")
            and not _opted_out(c)]
    same = set(code)
    failures = {}
    for name, env in perturbations.items():
        try:
            nb, _ = run_notebook(path, env=env)
        except NotebookError as exc:
            failures[name] = str(exc)
            continue
        for i in list(same):
            if comparable(nb.cells[i].get("outputs", [])) != comparable(stored.cells[i].outputs):
                same.discard(i)
    return sorted(same), failures


def set_tags(nb, stable: list[int]) -> tuple[int, int]:
    """Tag the stable code cells, untag the others; return (tagged before, tagged after)."""
    before = after = 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        tags = list(cell.metadata.get("tags", []))
        before += TAG in tags
        tags = [t for t in tags if t != TAG] + ([TAG] if i in stable else [])
        if tags:
            cell.metadata["tags"] = tags
        else:
            cell.metadata.pop("tags", None)
        after += TAG in tags
    return before, after


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--write", action="store_true", help="store the tags in the notebooks")
    args = parser.parse_args(argv)
    status = 0
    for p in args.paths:
        path = pathlib.Path(p)
        try:
            stable, failures = stable_cells(path)
        except NotebookError as exc:
            print(f"FAILED   {exc}")
            status = 1
            continue
        for name, err in failures.items():
            print(f"FAILED under {name}: {err}")
            status = 1
        nb = read_notebook(path)
        n_out = sum(1 for c in nb.cells if c.cell_type == "code" and c.get("outputs"))
        before, after = set_tags(nb, stable)
        if args.write and not failures:
            nbformat.write(nb, path)
        print(f"{path}: {n_out} cells with output; compared: {before} before, {after} now"
              + ("" if args.write and not failures else " (not written)"), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
