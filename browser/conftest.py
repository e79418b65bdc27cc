"""Shared fixtures of the browser tests (make test-browser): one headless Chromium for the
session (the system's, through ``course_utils.tools.browser``), a JupyterLab server, two
JupyterLab pages, and the folder the screenshots go to.

Options:  --screenshots DIR   (default artifacts/screenshots; CI keeps it as an artifact)
          --lab-env KEY=VALUE (repeatable: added to the kernels' environment, e.g.
                               --lab-env MKL_CBWR=COMPATIBLE --lab-env COURSE_SEED_OFFSET=2;
                               variables set for pytest itself reach the kernels too)
"""

from __future__ import annotations

import json
import pathlib
import statistics

import pytest

from course_utils.tools import browser as browser_tool
from course_utils.tools import lab

ROOT = pathlib.Path(__file__).resolve().parents[1]


def pytest_addoption(parser):
    group = parser.getgroup("course browser tests")
    group.addoption("--screenshots", default=str(ROOT / "artifacts" / "screenshots"),
                    help="folder for the explorer screenshots (default artifacts/screenshots)")
    group.addoption("--lab-env", action="append", default=[], metavar="KEY=VALUE",
                    help="environment variable for the JupyterLab kernels (repeatable)")


def parse_env(items) -> dict:
    env = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise pytest.UsageError(f"--lab-env wants KEY=VALUE, got {item!r}")
        env[key] = value
    return env


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium (system package) for the whole session."""
    try:
        manager = browser_tool.sync_playwright()
        p = manager.start()
    except browser_tool.BrowserMissing as e:
        pytest.fail(str(e), pytrace=False)
    try:
        b = browser_tool.launch(p)
    except browser_tool.BrowserMissing as e:
        p.stop()
        pytest.fail(str(e), pytrace=False)
    yield b
    b.close()
    p.stop()


@pytest.fixture(scope="session")
def screenshots_dir(request) -> pathlib.Path:
    path = pathlib.Path(request.config.getoption("--screenshots"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def lab_server(request):
    """JupyterLab on a free loopback port serving a temporary copy of the notebooks."""
    with lab.LabServer(env=parse_env(request.config.getoption("--lab-env"))) as server:
        yield server


class Console:
    """Console errors and uncaught exceptions of a page, collected as they happen."""

    def __init__(self, page):
        self.messages: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.messages.append(f"uncaught exception: {exc}"))

    def _console(self, msg):
        if msg.type == "error":
            self.messages.append(msg.text)

    def take(self) -> list[str]:
        out, self.messages = self.messages, []
        return out


@pytest.fixture(scope="session")
def lab_pages(browser, lab_server):
    """Two JupyterLab pages (separate browser contexts and workspaces), so one notebook can
    run while the previous one is checked; ``page.console`` collects each page's errors."""
    contexts, pages = [], []
    for name in ("a", "b"):
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        page = context.new_page()
        page.console = Console(page)
        lab.open_lab(page, lab_server, workspace=name)
        contexts.append(context)
        pages.append(page)
    yield pages
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def latency_log(screenshots_dir, request):
    """Per-move latencies recorded by the tests; written to <screenshots>/latency.json and
    summarized at the end of the run."""
    records: list[dict] = []
    yield records
    if records:
        (screenshots_dir / "latency.json").write_text(json.dumps(records, indent=1))
        request.config._course_latency = records


def pytest_terminal_summary(terminalreporter, config):
    records = getattr(config, "_course_latency", None)
    if not records:
        return
    terminalreporter.section("explorer latency in the browser (key press → new picture)")
    by = {}
    for r in records:
        by.setdefault((r["notebook"], r["explorer"]), []).append(r["ms"])
    for (nb, ex), ms in sorted(by.items()):
        terminalreporter.write_line(f"{nb:34.34s} {ex:44.44s} median {statistics.median(ms):6.0f} ms"
                                    f"  worst {max(ms):6.0f} ms  ({len(ms)} moves)")


def pytest_collection_modifyitems(config, items):
    """Remember the order of the selected notebooks (the test runs the next one ahead)."""
    config._lab_order = [item.callspec.params["path"] for item in items
                         if item.path.name == "test_lab.py" and hasattr(item, "callspec")]
