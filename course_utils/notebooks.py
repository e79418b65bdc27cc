"""Execute notebooks in a fresh kernel (the way their stored outputs are made).

``python -m course_utils.notebooks notebooks/01_perceptron.ipynb`` re-executes one notebook
in place (``make execute`` does all of them); ``--no-write`` only times it.  The kernel is
this interpreter's (the ``.venv``), started in the notebook's folder, with
``COURSE_DEVICE=cpu`` so stored numbers come from the CPU, as nbval's do.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time

import nbformat
from nbclient import NotebookClient


def execute_notebook(path, write: bool = True, timeout: int = 600) -> float:
    """Run every cell of ``path`` top to bottom in a fresh kernel; return the wall time (s).

    Raises ``nbclient.exceptions.CellExecutionError`` if a cell fails."""
    path = pathlib.Path(path)
    if path.suffix != ".ipynb" or not path.is_file():
        raise ValueError(f"path must be an existing .ipynb file, got {str(path)!r}")
    nb = nbformat.read(path, as_version=4)
    os.environ["COURSE_DEVICE"] = "cpu"
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - t0
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    if write:
        nbformat.write(nb, path)
    return seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Execute notebooks in a fresh kernel.")
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--no-write", action="store_true", help="time only; keep stored outputs")
    args = parser.parse_args(argv)
    for p in args.paths:
        seconds = execute_notebook(p, write=not args.no_write)
        print(f"{seconds:7.1f} s  {p}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
