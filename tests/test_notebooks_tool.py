import nbformat
import pytest

from course_utils.notebooks import execute_notebook


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
    with pytest.raises(ValueError, match="path must be an existing .ipynb file"):
        execute_notebook(tmp_path / "missing.ipynb")
