"""Wall time of every notebook, each in a fresh kernel (stored outputs are not touched).

    .venv/bin/python benchmarks/run_notebooks.py [PATH ...]

Prints a table and the total; the course's budget is <= 60 s per lecture notebook on a
2-core CPU. Run it on a quiet machine: other load inflates every number.
"""

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from course_utils.tools.notebooks import execute_notebook  # noqa: E402


def main(paths):
    paths = paths or sorted(map(str, (ROOT / "notebooks").glob("*.ipynb"))) + \
        sorted(map(str, (ROOT / "solutions").glob("*.ipynb")))
    rows, total = [], 0.0
    for p in paths:
        seconds = execute_notebook(p, write=False)
        total += seconds
        rows.append((pathlib.Path(p).relative_to(ROOT) if pathlib.Path(p).is_absolute() else p, seconds))
        print(f"{seconds:7.1f} s  {rows[-1][0]}{'   OVER 60 s' if seconds > 60 else ''}", flush=True)
    print(f"{total:7.1f} s  total ({len(rows)} notebooks)")


if __name__ == "__main__":
    main(sys.argv[1:])
