"""The layers of course_utils: who may import whom, no cycles, small modules, one name per chapter.

    core      imports only core
    scratch   imports only core             (from-scratch algorithms; a package such as
                                             scratch.optim may import its own modules)
    chapters  imports core and scratch      (one chapter's experiments and explorers)
    checks    imports core, scratch, checks (exercise checkers)
    tools     imports only tools            (notebook executor, exercise generator)

Nothing imports ``chapters``. Imports inside functions count too.
"""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PKG = ROOT / "course_utils"
ALLOWED = {
    "core": {"core"},
    "scratch": {"core"},
    "chapters": {"core", "scratch"},
    "checks": {"core", "scratch", "checks"},
    "tools": {"tools"},
}
MAX_LINES = 550  # "no module over ~500 lines"


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def course_imports(path: pathlib.Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every course_utils import in ``path``."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("course_utils"):
                if node.module is None or target.count(".") < 2:
                    # "from . import data" or "from course_utils.core import data": the names are modules
                    found += [(node.lineno, f"{target}.{a.name}") for a in node.names]
                else:
                    found.append((node.lineno, target))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("course_utils")]
    return found


def layer_of(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ALLOWED else None


MODULES = sorted(p for p in PKG.rglob("*.py"))


def test_every_module_is_in_a_layer():
    stray = [str(p.relative_to(ROOT)) for p in MODULES
             if p.parent == PKG and p.name != "__init__.py"]
    assert stray == [], f"modules outside the layers: {stray}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_imports_follow_the_layers(path):
    layer = layer_of(module_name(path))
    if layer is None:  # course_utils/__init__.py: setup() from core only
        allowed = {"core"}
    else:
        allowed = ALLOWED[layer]
    unit = module_name(path).split(".")[:3]  # a package such as scratch.optim is one unit
    bad = [(line, name) for line, name in course_imports(path)
           if layer_of(name) is not None and layer_of(name) not in allowed
           and name.split(".")[:3] != unit]
    assert bad == [], f"{path.relative_to(ROOT)} ({layer}) may import only {sorted(allowed)}: {bad}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_modules_are_small(path):
    n = len(path.read_text().splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(ROOT)} has {n} lines (split it: at most {MAX_LINES})"


def test_no_import_cycles():
    graph = {module_name(p): {n for _, n in course_imports(p)} for p in MODULES}
    names = set(graph)

    def resolve(n):  # "course_utils.core.data.Splits" → the module "course_utils.core.data"
        while n and n not in names:
            n = n.rpartition(".")[0]
        return n

    graph = {m: {resolve(n) for n in deps} - {m, ""} for m, deps in graph.items()}
    state: dict[str, int] = {}

    def visit(m, stack):
        state[m] = 1
        for d in graph.get(m, ()):
            if state.get(d) == 1:
                raise AssertionError("import cycle: " + " → ".join(stack + [m, d]))
            if d not in state:
                visit(d, stack + [m])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [])


def test_the_rule_catches_a_bad_import(tmp_path):
    """The checker above is not vacuous: a core module importing a chapter is flagged."""
    fake = PKG / "core" / "_layer_probe.py"
    fake.write_text("from ..chapters import ch01_perceptron\nfrom ..scratch.rnn import TanhRNN\n")
    try:
        found = [layer_of(n) for _, n in course_imports(fake)]
        assert found == ["chapters", "scratch"]
        with pytest.raises(AssertionError):
            test_imports_follow_the_layers(fake)
    finally:
        fake.unlink()


def test_a_chapter_is_files_with_one_name():
    """notebooks/NN_topic.ipynb ↔ chapters/chNN_topic.py ↔ checks/chNN_topic.py ↔ solutions/."""
    for nb in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        stem = "ch" + nb.stem
        assert (PKG / "chapters" / f"{stem}.py").exists(), f"missing course_utils/chapters/{stem}.py"
        assert (PKG / "checks" / f"{stem}.py").exists(), f"missing course_utils/checks/{stem}.py"
        assert (ROOT / "solutions" / nb.name).exists(), f"missing solutions/{nb.name}"
        assert (ROOT / "exercises" / nb.name).exists(), f"missing exercises/{nb.name}"
