"""The built course website (``make site``) in headless Chromium, with no network.

``_site`` is served by a local HTTP server on a free loopback port and every page is opened
in the system's Chromium (Playwright).  A page fails on: a request to any other host (every
request goes through ``page.route``: only the local server and ``data:`` URLs are let
through, the rest is aborted and recorded), a console error or uncaught exception, math
the bundled MathJax did not render (no ``.MathJax`` element where the notebook has math,
raw ``$`` or ``\\(`` left in the text, a MathJax error), a broken image (``naturalWidth``
0), a local link that does not load with status 200 (or a ``#fragment`` with no element),
a missing navigation bar, or an explorer note missing.  One lecture page and the home page
are also opened from ``file://``.  If ``_site`` is missing it is built first, so
``pytest browser/test_site.py`` works alone.
"""

from __future__ import annotations

import functools
import http.server
import re
import threading
import time
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urldefrag, urlsplit

import nbformat
import pytest

from course_utils.tools import browser as browser_tool
from course_utils.tools import site

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_site"
MATH = re.compile(r"\$[^$]+\$|\\\(|\\\[|\\begin\{")
SOURCES = sorted(PurePosixPath(p.relative_to(ROOT).as_posix())
                 for folder, _ in site.SECTIONS for p in (ROOT / folder).glob("*.ipynb"))
#: Home, then the reading order (lecture, its exercises, next lecture, ...), as the nav has it.
ORDER = [str(p.out) for ch in site.discover(ROOT) for _, kind in site.SECTIONS
         for p in [ch.pages.get(kind)] if p]
PAGES = ["index.html", *ORDER]
MATHJAX_TIMEOUT_MS = 60_000

#: What a page reports back after MathJax has finished (run in the page).
INSPECT = """() => {
  const visible = (root) => {
    const copy = root.cloneNode(true);
    copy.querySelectorAll('pre, code, script, style, .MathJax_Preview, .MJX_Assistive_MathML,'
      + ' [class^="MathJax"], [class*=" MathJax"], [id^="MathJax"]').forEach(e => e.remove());
    return copy.textContent;
  };
  const md = [...document.querySelectorAll('.jp-RenderedMarkdown')].map(visible).join('\\n');
  return {
    mathjax: document.querySelectorAll('.MathJax, .MathJax_Display').length,
    mathErrors: document.querySelectorAll('.MathJax_Error, .merror, .noError').length,
    rawMath: (md.match(/\\$[^$\\n]{1,80}\\$|\\\\\\(|\\\\\\[/g) || []).slice(0, 5),
    images: [...document.images].map(i => ({src: i.src.slice(0, 60), ok: i.complete && i.naturalWidth > 0})),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    ids: [...document.querySelectorAll('[id]')].map(e => e.id),
    navs: document.querySelectorAll('nav.site-nav').length,
    home: document.querySelectorAll('nav.site-nav a[rel=home]').length,
    prev: document.querySelectorAll('nav.site-nav a[rel=prev]').length,
    next: document.querySelectorAll('nav.site-nav a[rel=next]').length,
    notes: document.querySelectorAll('.site-live-note').length,
  };
}"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site_dir() -> Path:
    if not (SITE / "index.html").is_file():
        site.build(SITE, ROOT)
    return SITE


@pytest.fixture(scope="module")
def site_url(site_dir):
    """``http://127.0.0.1:PORT/`` serving ``_site`` (a free loopback port)."""
    handler = functools.partial(QuietHandler, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def site_browser(request):
    """The session's Chromium from browser/conftest.py if there is one, else our own."""
    try:
        shared = request.getfixturevalue("browser")
    except pytest.FixtureLookupError:
        shared = None
    if shared is not None:
        yield shared
        return
    try:
        manager = browser_tool.sync_playwright()
        p = manager.start()
        b = browser_tool.launch(p)
    except browser_tool.BrowserMissing as e:
        pytest.fail(str(e), pytrace=False)
    yield b
    b.close()
    p.stop()


@pytest.fixture(scope="module")
def context(site_browser):
    ctx = site_browser.new_context(viewport={"width": 1200, "height": 900})
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def checked_links() -> dict[str, int]:
    return {}


class Watched:
    """A page whose off-site requests are aborted and whose console errors are kept."""

    def __init__(self, context, allowed_prefix: str):
        self.page = context.new_page()
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.failed: list[str] = []

        def route(r):
            url = r.request.url
            if url.startswith(allowed_prefix) or url.startswith("data:"):
                r.continue_()
            else:
                self.blocked.append(url)
                r.abort()

        self.page.route("**/*", route)
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        self.page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.status} {r.url}"))

    def open(self, url: str) -> dict:
        self.page.goto(url, wait_until="load")
        self.page.wait_for_selector("html[data-mathjax=done]", state="attached",
                                    timeout=MATHJAX_TIMEOUT_MS)
        return self.page.evaluate(INSPECT)

    def close(self):
        self.page.close()


def has_math(rel: str) -> bool:
    if rel == "index.html":
        return False
    nb = nbformat.read(ROOT / PurePosixPath(rel).with_suffix(".ipynb"), as_version=4)
    return any(MATH.search(c.source) for c in nb.cells if c.cell_type == "markdown")


def widget_views(rel: str) -> int:
    if rel == "index.html":
        return 0
    nb = nbformat.read(ROOT / PurePosixPath(rel).with_suffix(".ipynb"), as_version=4)
    return sum(site.WIDGET_VIEW in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))


def check_page(info: dict, watched: Watched, rel: str, first: bool, last: bool) -> list[str]:
    problems = [f"request leaving the site: {u}" for u in watched.blocked]
    problems += [f"console error: {e}" for e in watched.errors]
    problems += [f"HTTP {f}" for f in watched.failed]
    if has_math(rel):
        if info["mathjax"] == 0:
            problems.append("the notebook has math but MathJax rendered none")
        if info["rawMath"]:
            problems.append(f"raw TeX left in the text: {info['rawMath']}")
    if info["mathErrors"]:
        problems.append(f"{info['mathErrors']} MathJax errors")
    problems += [f"broken image {i['src']}…" for i in info["images"] if not i["ok"]]
    if info["navs"] != 2 or info["home"] != 2:
        problems.append(f"navigation bars: {info['navs']} (home links: {info['home']}), want 2")
    if info["prev"] != (0 if first else 2) or info["next"] != (0 if last else 2):
        # the home page and the first lecture have no "previous"; the last page no "next"
        problems.append(f"prev/next links: {info['prev']}/{info['next']}")
    if info["notes"] != widget_views(rel):
        problems.append(f"{info['notes']} explorer notes for {widget_views(rel)} explorers")
    return problems


def check_links(info, watched: Watched, base: str, page_url: str, cache: dict) -> list[str]:
    """Every link to a local page loads (200); a #fragment names an element."""
    problems = []
    for href in info["links"]:
        url, frag = urldefrag(href)
        if not url.startswith(base):
            continue  # an ordinary outbound hyperlink: shown, never followed here
        if url not in cache:
            cache[url] = watched.page.request.get(url).status
        if cache[url] != 200:
            problems.append(f"link {href} -> HTTP {cache[url]}")
        elif frag and url == page_url and not {frag, unquote(frag)} & set(info["ids"]):
            problems.append(f"link {href}: no element with id {unquote(frag)!r}")
    return problems


@pytest.mark.parametrize("rel", PAGES)
def test_page_over_http(rel, site_url, context, checked_links, request):
    watched = Watched(context, site_url)
    try:
        start = time.perf_counter()
        info = watched.open(site_url + rel)
        problems = check_page(info, watched, rel, first=rel in PAGES[:2], last=rel == PAGES[-1])
        problems += check_links(info, watched, site_url, site_url + rel, checked_links)
        request.node.user_properties.append(("seconds", round(time.perf_counter() - start, 2)))
    finally:
        watched.close()
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("rel", ["index.html", next((p for p in ORDER if "notebooks/" in p), "")])
def test_page_from_file_url(rel, site_dir, context):
    """The site also works opened straight from disk (file://): nothing outside _site."""
    prefix = site_dir.resolve().as_uri() + "/"
    watched = Watched(context, prefix)
    try:
        info = watched.open(prefix + rel)
        problems = check_page(info, watched, rel, first=rel in PAGES[:2], last=rel == PAGES[-1])
        for href in info["links"]:
            url = urldefrag(href)[0]
            if url.startswith(prefix):
                target = site_dir / unquote(urlsplit(url).path[len(urlsplit(prefix).path):])
                if not target.is_file():
                    problems.append(f"link {href}: no file {target}")
    finally:
        watched.close()
    assert problems == [], "\n".join(problems)
