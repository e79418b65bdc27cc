import nbformat
import pytest

from course_utils.tools import stability
from course_utils.tools.notebooks import NotebookError, execute_notebook, main


def test_execute_stores_outputs_in_a_fresh_kernel_in_the_notebook_folder(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import os, pathlib\nprint(pathlib.Path.cwd().name, os.environ['COURSE_DEVICE'])"),
        nbformat.v4.new_code_cell("x = 2\nx * 21"),
    ])
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "t.ipynb"
    nbformat.write(nb, path)
    seconds = execute_notebook(path)
    assert seconds > 0
    done = nbformat.read(path, as_version=4)
    assert done.cells[0].outputs[0]["text"] == "sub cpu\n"
    assert done.cells[1].outputs[0]["data"]["text/plain"] == "42"
    assert [c.execution_count for c in done.cells] == [1, 2]


def test_no_write_keeps_the_file(tmp_path):
    path = tmp_path / "t.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]), path)
    before = path.read_text()
    execute_notebook(path, write=False)
    assert path.read_text() == before


def test_bad_path_is_named(tmp_path):
    with pytest.raises(NotebookError, match="missing.ipynb: not an existing .ipynb file"):
        execute_notebook(tmp_path / "missing.ipynb")


def test_corrupt_notebook_is_one_clear_line(tmp_path, capsys):
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json")
    with pytest.raises(NotebookError, match="bad.ipynb: not a readable notebook"):
        execute_notebook(bad)
    good = tmp_path / "good.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]), good)
    assert main([str(bad), str(good)]) == 1       # goes on with the other paths, exits 1
    out = capsys.readouterr().out
    assert "FAILED   " in out and "bad.ipynb: not a readable notebook" in out
    assert "good.ipynb" in out and "Traceback" not in out


def test_failing_cell_is_named(tmp_path):
    path = tmp_path / "f.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"),
                                                   nbformat.v4.new_markdown_cell("text"),
                                                   nbformat.v4.new_code_cell("1 / 0")]), path)
    with pytest.raises(NotebookError, match=r"f.ipynb: cell 2 failed: .*ZeroDivisionError"):
        execute_notebook(path)


def test_stability_tags_exactly_the_cells_that_never_change(tmp_path):
    """A seeded cell changes with COURSE_SEED_OFFSET, a cell printing a shape does not."""
    path = tmp_path / "s.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import course_utils as cu, torch\ncu.setup(0)"),
        nbformat.v4.new_code_cell("print(torch.rand(2).shape)"),
        nbformat.v4.new_code_cell("print(round(float(torch.rand(1)), 4))"),
    ]), path)
    execute_notebook(path)
    perturb = {"COURSE_SEED_OFFSET=1": {"COURSE_SEED_OFFSET": "1"}}
    stable, failures = stability.stable_cells(path, perturbations=perturb)
    assert failures == {} and stable == [0, 1]   # cell 0 shows the device
    nb = nbformat.read(path, as_version=4)
    assert stability.set_tags(nb, stable) == (0, 2)
    assert nb.cells[1].metadata["tags"] == [stability.TAG] and "tags" not in nb.cells[2].metadata


def test_every_notebook_stores_the_kernelspec_jupyterlab_reports():
    """Otherwise JupyterLab marks the notebook modified as soon as it is opened."""
    import pathlib

    from course_utils.tools.notebooks import KERNELSPEC

    root = pathlib.Path(__file__).resolve().parents[1]
    paths = sorted(root.glob("notebooks/*.ipynb")) + sorted(root.glob("solutions/*.ipynb")) \
        + sorted(root.glob("exercises/*.ipynb"))
    assert paths
    wrong = [p.name for p in paths if nbformat.read(p, as_version=4).metadata.get("kernelspec") != KERNELSPEC]
    assert wrong == []


def test_stream_pieces_are_joined_and_opted_out_cells_never_tagged():
    a = [{"output_type": "stream", "name": "stdout", "text": "a\n"},
         {"output_type": "stream", "name": "stdout", "text": "b\n"}]
    b = [{"output_type": "stream", "name": "stdout", "text": "a\nb\n"}]
    assert stability.comparable(a) == stability.comparable(b)
    assert stability.comparable(b) != stability.comparable([{**b[0], "name": "stderr"}])
    cell = nbformat.v4.new_code_cell("# NBVAL_IGNORE_OUTPUT\nprint(1)")
    assert stability._opted_out(cell) and not stability._opted_out(nbformat.v4.new_code_cell("print(1)"))
