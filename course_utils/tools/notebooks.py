"""Execute notebooks in a fresh kernel (the way their stored outputs are made).

``python -m course_utils.tools.notebooks notebooks/01_perceptron.ipynb`` re-executes one
notebook in place (``make execute`` does all of them); ``--no-write`` only times it.  The
kernel is this interpreter's (the ``.venv``), started in the notebook's folder, with
``COURSE_DEVICE=cpu`` so stored numbers come from the CPU, as nbval's do.  A failing
notebook is reported with the cell that failed; the others still run; the exit status is 1
if any failed.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time
from contextlib import contextmanager

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

#: What JupyterLab's kernel reports; a notebook storing anything else is marked modified on open.
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def normalize_metadata(nb) -> None:
    """Store the kernelspec JupyterLab reports, so opening a notebook does not modify it."""
    nb.metadata["kernelspec"] = dict(KERNELSPEC)


class NotebookError(Exception):
    """A notebook could not be read or one of its cells failed (the message says which)."""


@contextmanager
def _environment(env: dict | None):
    """Set environment variables for the kernels started inside the block."""
    old = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update({k: str(v) for k, v in (env or {}).items()})
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def read_notebook(path) -> nbformat.NotebookNode:
    """Read and validate a notebook; a missing, corrupt or non-notebook file raises
    :class:`NotebookError` with one clear line."""
    path = pathlib.Path(path)
    if path.suffix != ".ipynb" or not path.is_file():
        raise NotebookError(f"{path}: not an existing .ipynb file")
    try:
        return nbformat.read(path, as_version=4)
    except Exception as exc:  # JSON errors, schema errors, bad encodings
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NotebookError(f"{path}: not a readable notebook ({first})") from None


def run_notebook(path, timeout: int = 600, env: dict | None = None):
    """Run every cell of ``path`` top to bottom in a fresh kernel (``env`` added to the
    kernel's environment); return ``(executed notebook, wall seconds)``.

    Raises :class:`NotebookError` naming the notebook and the failing cell."""
    path = pathlib.Path(path)
    nb = read_notebook(path)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    with _environment({"COURSE_DEVICE": "cpu", **(env or {})}):
        try:
            client.execute()
        except CellExecutionError as exc:
            index = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                          and any(o.get("output_type") == "error" for o in c.get("outputs", []))),
                         None)
            where = f"cell {index}" if index is not None else "a cell"
            last = [ln for ln in str(exc).strip().splitlines() if ln.strip()]
            raise NotebookError(f"{path}: {where} failed: {last[-1] if last else exc}") from None
    seconds = time.perf_counter() - t0
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    return nb, seconds


def execute_notebook(path, write: bool = True, timeout: int = 600) -> float:
    """Run ``path`` in a fresh kernel, store its outputs (unless ``write=False``); return the
    wall time in seconds."""
    nb, seconds = run_notebook(path, timeout=timeout)
    normalize_metadata(nb)
    if write:
        nbformat.write(nb, pathlib.Path(path))
    return seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Execute notebooks in a fresh kernel.")
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--no-write", action="store_true", help="time only; keep stored outputs")
    args = parser.parse_args(argv)
    failed = []
    for p in args.paths:
        try:
            seconds = execute_notebook(p, write=not args.no_write)
        except NotebookError as exc:
            print(f"FAILED   {exc}", flush=True)
            failed.append(p)
            continue
        print(f"{seconds:7.1f} s  {p}", flush=True)
    if failed:
        print(f"{len(failed)} of {len(args.paths)} notebooks failed: {', '.join(map(str, failed))}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
