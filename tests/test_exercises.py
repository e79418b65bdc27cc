"""exercises/ is exactly what the generator makes from solutions/, and the generator works."""

import pathlib

import nbformat
import pytest

from course_utils.tools import exercises

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


def test_every_solution_has_an_exercise_and_vice_versa():
    sol = {p.name for p in SOLUTIONS}
    ex = {p.name for p in (ROOT / "exercises").glob("*.ipynb")}
    assert sol == ex, "run `make exercises`"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_exercise_is_up_to_date(path):
    target = ROOT / "exercises" / path.name
    assert target.read_text() == exercises.exercise_text(path), (
        f"exercises/{path.name} is out of date: run `make exercises`")


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_exercise_has_no_solution_and_no_outputs(path):
    nb = nbformat.read(ROOT / "exercises" / path.name, as_version=4)
    text = "\n".join(c.source for c in nb.cells)
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    assert "raise NotImplementedError()" in text


def test_strip_solutions_keeps_indentation_and_drops_hidden_tests():
    src = ("def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n"
           "### BEGIN HIDDEN TESTS\nassert f(1) == 2\n### END HIDDEN TESTS\nprint(1)")
    assert exercises.strip_solutions(src) == (
        "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\nprint(1)")


@pytest.mark.parametrize("src, problem", [
    ("### BEGIN SOLUTION\nx = 1", "never closed"),
    ("x = 1\n### END SOLUTION", "without its BEGIN"),
    ("### BEGIN SOLUTION\n### BEGIN HIDDEN TESTS", "inside another"),
    ("### BEGIN HIDDEN TESTS\n### END SOLUTION", "without its BEGIN"),
])
def test_unbalanced_markers_are_reported(src, problem):
    with pytest.raises(ValueError, match=problem):
        exercises.strip_solutions(src, "nb.ipynb, cell 3")


def test_make_exercise_clears_outputs_and_leaves_the_solution_untouched():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION")
    cell.outputs = [nbformat.v4.new_output("stream", text="1")]
    cell.execution_count = 4
    nb.cells = [cell]
    nb.metadata["widgets"] = {"state": {}}
    ex = exercises.make_exercise(nb)
    assert ex.cells[0].outputs == [] and ex.cells[0].execution_count is None
    assert "widgets" not in ex.metadata and nb.cells[0].execution_count == 4


def test_generate_writes_and_check_detects(tmp_path):
    sol, ex = tmp_path / "solutions", tmp_path / "exercises"
    sol.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    nbformat.write(nb, sol / "99_t.ipynb")
    assert exercises.generate(sol, ex, check=True) == ["99_t.ipynb"]
    assert exercises.generate(sol, ex) == ["99_t.ipynb"]
    assert exercises.generate(sol, ex, check=True) == []
    (ex / "98_orphan.ipynb").write_text("{}")
    assert exercises.generate(sol, ex, check=True) == ["98_orphan.ipynb (no matching solution)"]


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_exercise_notebook_runs_top_to_bottom_without_error(path, tmp_path):
    """A student who opens an exercise and runs all cells sees checker reports, no traceback."""
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / "exercises" / path.name, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "exercises")}}).execute()
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                      for o in c.outputs)
    assert "not implemented yet" in printed


TYPOS = ["### Begin Solution", "### begin solution", "###  BEGIN SOLUTION", "BEGIN SOLUTION",
         "## BEGIN SOLUTION", "#### BEGIN SOLUTION", "### BEGIN SOLUTIONS", "### BEGINSOLUTION",
         "### END Solution", "### END  SOLUTION", "### Begin Hidden Tests", "### BEGIN HIDDEN TEST",
         "# END HIDDEN TESTS"]


@pytest.mark.parametrize("typo", TYPOS)
def test_a_marker_typo_fails_naming_notebook_cell_and_line(typo):
    src = f"def f(x):\n    {typo}\n    return 2 * x\n    ### END SOLUTION"
    with pytest.raises(ValueError, match=r"nb\.ipynb, cell 3, line 2: .*looks like a marker"):
        exercises.strip_solutions(src, "nb.ipynb, cell 3")


def test_exact_markers_may_be_indented_and_have_trailing_spaces():
    src = "def f(x):\n    ### BEGIN SOLUTION   \n    return 2 * x\n    ### END SOLUTION\t"
    assert "raise NotImplementedError()" in exercises.strip_solutions(src)
    assert "return 2 * x" not in exercises.strip_solutions(src)


def _solutions(tmp_path, *sources):
    sol = tmp_path / "solutions"
    sol.mkdir()
    for i, src in enumerate(sources):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src)])
        nbformat.write(nb, sol / f"{i:02d}_t.ipynb")
    return sol, tmp_path / "exercises"


def test_a_typo_in_any_solution_stops_the_generator_before_writing(tmp_path):
    sol, ex = _solutions(tmp_path, "x = 1", "def f():\n    ### Begin Solution\n    return 1\n"
                         "    ### END SOLUTION")
    with pytest.raises(ValueError, match=r"01_t\.ipynb, cell 0, line 2"):
        exercises.generate(sol, ex)
    assert not ex.exists()  # not even the good notebook was written


def test_the_sync_test_fails_on_a_typo(tmp_path):
    sol, _ = _solutions(tmp_path, "def f():\n    ### BEGIN SOLUTIONS\n    return 1\n")
    with pytest.raises(ValueError, match="looks like a marker"):
        exercises.exercise_text(sol / "00_t.ipynb")


def test_missing_solutions_or_a_corrupt_notebook_fail_loudly(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="no solutions directory"):
        exercises.generate(tmp_path / "nowhere", tmp_path / "exercises")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="holds no notebook"):
        exercises.generate(tmp_path / "empty", tmp_path / "exercises")
    sol, ex = _solutions(tmp_path, "x = 1")
    (sol / "05_broken.ipynb").write_text("{ not json")
    with pytest.raises(ValueError, match=r"05_broken\.ipynb: not a readable notebook"):
        exercises.generate(sol, ex)
    assert not ex.exists()


def test_the_command_prints_one_line_and_exits_1(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(exercises, "ROOT", tmp_path)
    monkeypatch.setattr(exercises.generate, "__defaults__",
                        (tmp_path / "solutions", tmp_path / "exercises", False))
    assert exercises.main([]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no solutions directory") and err.count("\n") == 1
