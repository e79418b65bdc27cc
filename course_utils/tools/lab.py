"""JupyterLab in a headless browser: a throwaway server and Playwright page helpers.

Used by ``browser/test_lab.py`` (make test-browser) and ``benchmarks/browser_explorers.py``::

    with LabServer(env={"COURSE_SEED_OFFSET": "2"}) as server, sync_playwright() as p:
        page = launch(p).new_page()
        open_lab(page, server)
        open_notebook(page, "notebooks/01_perceptron.ipynb")
        run_all(page)
        for ex in find_explorers(page):
            ...  move_control(page, ex.cell, k) → milliseconds until the new picture

The server (``jupyterlab.galata.configure_jupyter_server``: no token) listens on a free
loopback port and serves a temporary copy of ``notebooks/`` and ``exercises/``, so nothing a
browser does (autosave is off too) can change the checkout.  Its kernels get ``COURSE_DEVICE=cpu``,
one BLAS/OpenMP thread each (two cores are shared with Chromium) and the ``env`` mapping on
top (e.g. ``MKL_CBWR=COMPATIBLE COURSE_SEED_OFFSET=2``: every claim cell re-checks its claim).
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

ROOT = pathlib.Path(__file__).resolve().parents[2]

#: Folders copied into the server's root (kept side by side: notebooks link to ../exercises).
COPIED = ("notebooks", "exercises")

#: Environment of the kernels (the server passes its own environment on).
KERNEL_ENV = {"COURSE_DEVICE": "cpu", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "OPENBLAS_NUM_THREADS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}

#: JupyterLab user settings: never save, all cells in the DOM (no virtual scrolling hides an
#: explorer), no requests to the internet (news, update check, extension manager's PyPI).
SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false",
                                                    "checkForUpdates": False},
    "@jupyterlab/extensionmanager-extension/plugin": {"enabled": False},
}

#: A cell builds an explorer when its source calls one of these (``ch.make_explorer()``,
#: ``ch.make_cliff_explorer()``, …); its live output then says "… — controls: a, b".
EXPLORER_CALL = re.compile(r"\bmake_\w*explorer\w*\s*\(")
WIDGET_ERRORS = ("Error displaying widget", "Model not found", "could not compute:")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class LabError(RuntimeError):
    """The server did not start, or the page did not do what was asked in time."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def server_config(port: int, root_dir, settings_dir) -> str:
    """The ``jupyter_server_config.py`` text: galata's test setup (no token, no xsrf) on
    ``127.0.0.1:port`` serving ``root_dir``, user settings from ``settings_dir``."""
    return "\n".join([
        "from jupyterlab.galata import configure_jupyter_server",
        "configure_jupyter_server(c)",
        'c.ServerApp.ip = "127.0.0.1"',
        f"c.ServerApp.port = {int(port)}",
        "c.ServerApp.port_retries = 0",
        "c.ServerApp.open_browser = False",
        f"c.ServerApp.root_dir = {str(root_dir)!r}",
        f"c.LabServerApp.user_settings_dir = {str(settings_dir)!r}",
        "c.LabApp.news_url = None",
        "c.LabApp.check_for_updates_class = 'jupyterlab.NeverCheckForUpdate'",
        ""])


def server_command(config_file, allow_root: bool | None = None) -> list[str]:
    """The command line that starts JupyterLab with ``config_file`` (``--allow-root`` when
    running as root, which Jupyter otherwise refuses)."""
    if allow_root is None:
        allow_root = hasattr(os, "geteuid") and os.geteuid() == 0
    cmd = [sys.executable, "-m", "jupyterlab", f"--config={config_file}", "--no-browser"]
    return cmd + (["--allow-root"] if allow_root else [])


def write_settings(settings_dir) -> None:
    """Write :data:`SETTINGS` as JupyterLab user settings files."""
    for plugin, values in SETTINGS.items():
        path = pathlib.Path(settings_dir, plugin + ".jupyterlab-settings")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=1))


def copy_course(dest, root=ROOT, folders=COPIED) -> pathlib.Path:
    """Copy the notebooks of ``folders`` (only ``*.ipynb``) from ``root`` to ``dest``."""
    dest = pathlib.Path(dest)
    for folder in folders:
        (dest / folder).mkdir(parents=True, exist_ok=True)
        for nb in sorted(pathlib.Path(root, folder).glob("*.ipynb")):
            shutil.copy2(nb, dest / folder / nb.name)
    return dest


class LabServer:
    """A JupyterLab server for one test session; use as a context manager.

    ``root_dir=None`` serves a temporary copy of the course's notebooks (the default);
    pass a folder to serve it as it is.  ``env`` is added to the kernels' environment."""

    def __init__(self, root_dir=None, env: dict | None = None, timeout: float = 90.0):
        self.env = {k: str(v) for k, v in (env or {}).items()}
        self.timeout = timeout
        self._root_arg = root_dir
        self.tmp = None
        self.proc = None
        self.port = None
        self.root_dir = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LabServer:
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="course-lab-"))
        self.root_dir = (pathlib.Path(self._root_arg) if self._root_arg is not None
                         else copy_course(self.tmp / "course"))
        write_settings(self.tmp / "settings")
        env = {**os.environ, **KERNEL_ENV, **self.env,
               "JUPYTER_CONFIG_DIR": str(self.tmp / "config"),  # no user config leaks in
               "JUPYTERLAB_WORKSPACES_DIR": str(self.tmp / "workspaces")}
        last = ""
        for _attempt in range(3):  # a port taken between free_port() and bind: try another
            self.port = free_port()
            config = self.tmp / "jupyter_server_config.py"
            config.write_text(server_config(self.port, self.root_dir, self.tmp / "settings"))
            self.log = open(self.tmp / "server.log", "w")  # noqa: SIM115 (closed in stop())
            self.proc = subprocess.Popen(server_command(config), cwd=self.tmp, env=env,
                                         stdout=self.log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
            if self._wait_ready():
                return self
            last = self.log_tail()
            self._kill()
        self.stop()
        raise LabError(f"JupyterLab did not start within {self.timeout:.0f} s:\n{last}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(self.url + "/api/status", timeout=2) as r:
                    if r.status == 200:
                        return True
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        return False

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(pathlib.Path(self.tmp, "server.log").read_text().splitlines()[-n:])
        except OSError:
            return ""

    def api(self, method: str, path: str):
        """One REST call to the server; the decoded JSON answer (None when empty)."""
        req = urllib.request.Request(self.url + path, method=method, data=b"" if method != "GET" else None)
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Shut down every kernel (between notebooks, so two never compete for the CPU)."""
        for k in self.api("GET", "/api/kernels") or []:
            try:
                self.api("DELETE", f"/api/kernels/{k['id']}")
            except urllib.error.HTTPError:
                pass

    def _kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
                try:
                    os.killpg(self.proc.pid, sig)  # the server and its kernels
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if getattr(self, "log", None):
            self.log.close()

    def stop(self) -> None:
        """Shut the server down (kernels first), then remove the temporary folder."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.api("POST", "/api/shutdown")
                self.proc.wait(15)
            except (urllib.error.URLError, OSError, subprocess.TimeoutExpired):
                pass
        self._kill()
        if self.proc is not None:
            try:  # kernels left behind by a server that did not exit by itself
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# ---------------------------------------------------------------- page helpers (Playwright)

_PANEL_JS = """(path) => {
  const app = window.jupyterapp;
  return Array.from(app.shell.widgets('main')).find(w => w.context && w.context.path === path);
}"""


def _js(body: str, wait: bool = False) -> str:
    """A page function ``(args) => …`` with ``panel`` bound to the notebook at ``args.path``
    (``wait=True``: a plain function that returns false while the notebook is not open, for
    ``wait_for_function``, which would take an async function's promise as a true value)."""
    head = "(args) => { " if wait else "async (args) => { "
    missing = "return false;" if wait else "throw new Error('notebook not open: ' + args.path);"
    return (head + "const panel = (" + _PANEL_JS + ")(args.path);\n"
            "if (!panel) { " + missing + " }\n" + body + "}")


def open_lab(page, server: LabServer, workspace: str = "course", timeout: float = 60.0) -> None:
    """Load JupyterLab in a fresh ``workspace`` (pages in different workspaces do not
    reopen each other's notebooks) and wait until its application has started."""
    page.goto(f"{server.url}/lab/workspaces/{workspace}?reset", timeout=timeout * 1000)
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started !== undefined",
                           timeout=timeout * 1000)
    page.evaluate("async () => { await window.jupyterapp.started; await window.jupyterapp.restored; }")


def open_notebook(page, path: str, timeout: float = 60.0) -> None:
    """Open ``path`` (relative to the server root) and wait for its kernel to be idle."""
    page.evaluate("async (path) => { await window.jupyterapp.commands.execute("
                  "'docmanager:open', {path, factory: 'Notebook'}); }", path)
    page.wait_for_function(_js("""
      const k = panel.sessionContext.session && panel.sessionContext.session.kernel;
      return panel.context.isReady && panel.content.isVisible && k && k.status === 'idle'
        && panel.model.cells.length > 0 && panel.content.widgets.length === panel.model.cells.length;""", wait=True),
                           arg={"path": path}, timeout=timeout * 1000)
    tag_cells(page, path)


def tag_cells(page, path: str) -> None:
    """Mark every cell's DOM node with its index (``data-cu-index``) for :func:`cell`."""
    page.evaluate(_js("panel.content.widgets.forEach((c, i) => { c.node.dataset.cuIndex = i; });"),
                  {"path": path})


def close_notebook(page, path: str) -> None:
    """Shut down the notebook's kernel and close it without saving (marked clean first)."""
    page.evaluate(_js("""
      await panel.sessionContext.shutdown();
      panel.context.model.dirty = false;
      panel.dispose();"""), {"path": path})


_QUEUED = """const prompts = Array.from(panel.content.node.querySelectorAll('.jp-InputPrompt'));
  const queued = prompts.some(p => p.textContent.includes('*'));"""


def cell(page, index: int):
    """The Playwright locator of code/markdown cell ``index`` (0-based, as in the .ipynb)."""
    return page.locator(f'.jp-Notebook .jp-Cell[data-cu-index="{index}"]')


def start_run_all(page, path: str, restart: bool = True) -> float:
    """Kernel → Restart Kernel and Run All Cells (accepting the dialog), or Run → Run All
    Cells with ``restart=False``; return once the cells are queued (``time.perf_counter()``
    when it was asked, for :func:`wait_run_all`)."""
    t0 = time.perf_counter()
    page.evaluate("(cmd) => { window.jupyterapp.commands.execute(cmd); }",
                  "notebook:restart-run-all" if restart else "notebook:run-all-cells")
    if restart:
        page.locator(".jp-Dialog .jp-mod-accept").click(timeout=30_000)
    page.wait_for_function(_js(_QUEUED + "return queued;", wait=True), arg={"path": path},
                           timeout=60_000, polling=50)
    return t0


def wait_run_all(page, path: str, t0: float, timeout: float = 300.0) -> float:
    """Wait until no cell of ``path`` is queued or running and its kernel is idle; return the
    seconds since ``t0``.  (A failing cell stops Run All: the rest are unqueued.)"""
    page.wait_for_function(_js(_QUEUED + """
      const k = panel.sessionContext.session && panel.sessionContext.session.kernel;
      return !queued && k && k.status === 'idle';""", wait=True), arg={"path": path},
                           timeout=timeout * 1000, polling=100)
    tag_cells(page, path)
    return time.perf_counter() - t0


def run_all(page, path: str, timeout: float = 300.0, restart: bool = True) -> float:
    """Restart the kernel and run all cells; wait until done; return the seconds it took."""
    return wait_run_all(page, path, start_run_all(page, path, restart), timeout)


def run_cells(page, path: str, indices, timeout: float = 60.0) -> None:
    """Run the given cells (as Shift+Enter would) and wait until they are done."""
    page.evaluate(_js("""
      const nb = panel.content;
      for (const i of args.indices) {
        nb.activeCellIndex = i; nb.deselectAll();
        await window.jupyterapp.commands.execute('notebook:run-cell');
      }"""), {"path": path, "indices": list(indices)})
    page.wait_for_function(_js("""
      const k = panel.sessionContext.session && panel.sessionContext.session.kernel;
      const cells = args.indices.map(i => panel.content.widgets[i]);
      return k && k.status === 'idle' && cells.every(c => !c.promptNode.textContent.includes('*'));""", wait=True),
                           arg={"path": path, "indices": list(indices)}, timeout=timeout * 1000)


def type_into(page, path: str, index: int, text: str) -> None:
    """Click into cell ``index``'s editor, select all and type ``text`` over it (inserted as
    one input, so the editor's auto-indent and bracket closing leave it as it is)."""
    editor = cell(page, index).locator(".cm-content")
    editor.click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.insert_text(text)
    now = page.evaluate(_js("return panel.content.widgets[args.index].model.sharedModel.getSource();"),
                        {"path": path, "index": index})
    if now != text:
        raise LabError(f"cell {index}: typed text arrived as {now!r}")
    page.keyboard.press("Escape")


def cells(page, path: str) -> list[dict]:
    """Every cell as the front end holds it now: type, source, outputs (nbformat JSON)."""
    return page.evaluate(_js("""
      return panel.content.widgets.map(c => ({type: c.model.type,
        source: c.model.sharedModel.getSource(),
        outputs: c.model.type === 'code' ? c.model.outputs.toJSON() : []}));"""), {"path": path})


def cell_problems(page, path: str) -> list[str]:
    """One readable line group per problem: error outputs, tracebacks on stderr, widget error
    text (see :data:`WIDGET_ERRORS`) — each naming the cell index."""
    problems = []
    for i, c in enumerate(cells(page, path)):
        for out in c["outputs"]:
            if out.get("output_type") == "error":
                tb = ANSI.sub("", "\n".join(out.get("traceback") or []))
                lines = [ln for ln in tb.splitlines() if ln.strip().strip('-')]
                problems.append(f"cell {i}: {out.get('ename')}: {out.get('evalue')}\n    "
                                + "\n    ".join(lines[-6:]))
            text = out.get("text", "")
            text = "".join(text) if isinstance(text, list) else text
            if "Traceback (most recent call last)" in text:
                problems.append(f"cell {i}: traceback on {out.get('name')}:\n    "
                                + "\n    ".join(text.strip().splitlines()[-6:]))
    shown = page.evaluate(_js("""
      return panel.content.widgets.map(c => c.model.type === 'code'
        ? (c.outputArea ? c.outputArea.node.innerText : '') : '');"""), {"path": path})
    for i, text in enumerate(shown):
        for marker in WIDGET_ERRORS:
            if marker in text:
                at = text.index(marker)
                problems.append(f"cell {i}: widget error: {text[at:at + 200].strip()}")
    return problems


# ---------------------------------------------------------------- explorers

#: Controls inside an explorer's widget box, in order (ipywidgets 8 class names).
#: A ToggleButtons group counts once (its buttons are not controls of their own).
CONTROL_SELECTOR = ", ".join([".widget-hslider", ".widget-dropdown", ".widget-checkbox",
                              ".widget-toggle-button:not(.widget-toggle-buttons *)",
                              ".widget-toggle-buttons"])


@dataclass
class ExplorerCell:
    """An explorer in the open notebook: its cell index, title and control names."""
    cell: int
    title: str
    names: list[str] = field(default_factory=list)


def find_explorers(page, path: str) -> list[ExplorerCell]:
    """The cells whose source builds an explorer (:data:`EXPLORER_CALL`), with the title and
    control names from their live text output ("Title — controls: a, b")."""
    found = []
    for i, c in enumerate(cells(page, path)):
        if c["type"] != "code" or not EXPLORER_CALL.search(c["source"]):
            continue
        title, names = "", []
        for out in c["outputs"]:
            text = (out.get("data") or {}).get("text/plain", "")
            text = "".join(text) if isinstance(text, list) else text
            if " — controls: " in text:
                title, _, rest = text.partition(" — controls: ")
                names = [n.strip() for n in rest.split(",")]
        found.append(ExplorerCell(i, title, names))
    return found


def controls(page, index: int):
    """The control locators of the explorer in cell ``index`` (sliders, dropdowns, …)."""
    return cell(page, index).locator(".jp-OutputArea-output").locator(CONTROL_SELECTOR)


def wait_for_explorer(page, path: str, index: int, n_controls: int, timeout: float = 30.0) -> None:
    """Wait until the explorer in cell ``index`` shows ``n_controls`` controls and its picture,
    and the kernel is idle (a value the browser snapped to a slider's grid has been sent back
    and drawn by then).  Raises :class:`LabError` naming what is missing."""
    try:
        page.wait_for_function(_js("""
          const out = panel.content.widgets[args.index].node;
          return out.querySelectorAll(':is(' + args.sel + ')').length >= args.n
            && out.querySelector('.jp-OutputArea-output img') !== null
            && panel.sessionContext.session.kernel.status === 'idle';""", wait=True),
                               arg={"path": path, "index": index, "n": n_controls,
                                    "sel": CONTROL_SELECTOR}, timeout=timeout * 1000, polling=100)
    except Exception as exc:  # playwright's TimeoutError
        shown = controls(page, index).count()
        has_picture = picture(page, index).count() > 0
        raise LabError(f"shows {shown} of its {n_controls} controls"
                       + ("" if has_picture else " and no picture")
                       + f" after {timeout:.0f} s") from exc


def picture(page, index: int):
    """The locator of the explorer's picture: the last image in the cell's output area."""
    return cell(page, index).locator(".jp-OutputArea-output img").last


def output_area(page, index: int):
    return cell(page, index).locator(".jp-Cell-outputArea")


def control_kind(control) -> str:
    return control.evaluate("""(el) => {
      const c = el.classList;
      if (c.contains('widget-hslider')) return 'slider';
      if (c.contains('widget-dropdown')) return 'dropdown';
      if (c.contains('widget-checkbox')) return 'checkbox';
      return 'toggle'; }""")


def readout(control) -> str:
    """What the control shows now: a slider's readout, a dropdown's selected option, a
    checkbox's state."""
    return control.evaluate("""(el) => {
      const r = el.querySelector('.widget-readout'); if (r) return (r.value ?? r.textContent).trim();
      const s = el.querySelector('select'); if (s) return s.value;
      const i = el.querySelector('input[type=checkbox]'); if (i) return String(i.checked);
      const b = el.querySelector('button.mod-active'); if (b) return b.innerText.trim();
      return el.innerText.trim(); }""")


def _slider_at_end(control, key: str) -> bool:
    return control.evaluate("""(el, key) => {
      const h = el.querySelector('.noUi-handle');
      const v = +h.getAttribute('aria-valuenow'), lo = +h.getAttribute('aria-valuemin'),
            hi = +h.getAttribute('aria-valuemax');
      return key === 'ArrowRight' ? v >= hi : v <= lo; }""", key)


def move_control(page, index: int, k: int, direction: int = 1, timeout: float = 30.0) -> dict:
    """Move control ``k`` of the explorer in cell ``index`` by one step — a slider with the
    arrow keys (the other way at the end of its range), a dropdown or a ToggleButtons group
    to the next option, a checkbox by a click — and wait until the picture in the DOM changes.

    Returns ``{"kind", "before", "after", "ms"}``: ``ms`` from the key press (or click) to
    the new picture, measured in the page.  Raises :class:`LabError` if the picture does
    not change within ``timeout`` seconds."""
    control = controls(page, index).nth(k)
    kind, before = control_kind(control), readout(control)
    area = cell(page, index).locator(".jp-Cell-outputArea")
    area.evaluate("""(node) => {
      const img = () => { const a = node.querySelectorAll('.jp-OutputArea-output img');
                          return a.length ? a[a.length - 1].src : null; };
      const old = img();
      window.__cuPicture = null;
      if (window.__cuObserver) window.__cuObserver.disconnect();
      window.__cuObserver = new MutationObserver(() => {
        if (window.__cuPicture === null && img() !== old) {
          window.__cuPicture = performance.now(); window.__cuObserver.disconnect(); } });
      window.__cuObserver.observe(node, {subtree: true, childList: true, attributes: true,
                                         attributeFilter: ['src']});
      window.__cuT0 = performance.now(); }""")
    if kind == "slider":
        key = "ArrowRight" if direction > 0 else "ArrowLeft"
        if _slider_at_end(control, key):
            key = "ArrowLeft" if key == "ArrowRight" else "ArrowRight"
        handle = control.locator(".noUi-handle")
        handle.focus()
        page.evaluate("() => { window.__cuT0 = performance.now(); }")
        handle.press(key)
    elif kind == "dropdown":
        select = control.locator("select")
        n = select.locator("option").count()
        current = select.evaluate("(s) => s.selectedIndex")
        page.evaluate("() => { window.__cuT0 = performance.now(); }")
        select.select_option(index=(current + direction) % n)
    else:  # a checkbox, a toggle button, or a ToggleButtons group: the next option
        buttons = control.locator("button")
        if buttons.count() > 1:
            active = control.evaluate("(el) => [...el.querySelectorAll('button')]"
                                      ".findIndex(b => b.classList.contains('mod-active'))")
            target = buttons.nth((active + direction) % buttons.count())
        else:
            target = control.locator("input, button").first
        page.evaluate("() => { window.__cuT0 = performance.now(); }")
        target.click()
    try:
        page.wait_for_function("() => window.__cuPicture !== null", timeout=timeout * 1000,
                               polling=20)
    except Exception as exc:  # playwright's TimeoutError
        after = readout(control)
        shown = area.inner_text()
        why = next((shown[shown.index(m):].splitlines()[0] for m in WIDGET_ERRORS if m in shown), "")
        raise LabError(f"control {k} ({kind}, {before} → {after}): the picture did not change "
                       f"within {timeout:.0f} s" + (f"; the explorer says: {why}" if why else "")) from exc
    ms = page.evaluate("() => window.__cuPicture - window.__cuT0")
    return {"kind": kind, "before": before, "after": readout(control), "ms": ms}
