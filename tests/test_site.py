"""The offline course website (course_utils.tools.site), checked without a browser.

One build of the whole course into a temporary folder (module fixture), then: every page
exists, nothing is loaded from outside the site, the math is left for the bundled MathJax,
every internal link resolves to a file, explorers are replaced by the note and their stored
pictures kept.  A small made-up course checks link rewriting and the note in detail.
(``browser/test_site.py`` opens the built site in Chromium.)
"""

from __future__ import annotations

import base64
import html
import re
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

from course_utils.tools import site

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(PurePosixPath(p.relative_to(ROOT).as_posix())
                   for folder, _ in site.SECTIONS for p in (ROOT / folder).glob("*.ipynb"))
#: Attributes that make a browser load something (an <a href> is only a hyperlink).
LOADING = {("script", "src"), ("link", "href"), ("img", "src"), ("iframe", "src"),
           ("source", "src"), ("video", "src"), ("audio", "src"), ("embed", "src"),
           ("object", "data"), ("input", "src"), ("track", "src"), ("video", "poster")}
INLINE_MATH = re.compile(r"(?<![$\\])\$([^$\n]+?)\$(?!\$)")


class Tags(HTMLParser):
    """Every (tag, attribute, value) of a page, and the text of its inline <script>s."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.attrs: list[tuple[str, str, str]] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.attrs += [(tag, k, v or "") for k, v in attrs]
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)

    def values(self, tag: str, attr: str) -> list[str]:
        return [v for t, a, v in self.attrs if t == tag and a == attr]


def is_remote(url: str) -> bool:
    return bool(re.match(r"^\s*(https?:)?//", url, re.I))


def is_local(url: str) -> bool:
    return bool(url) and not re.match(r"^\s*([a-z][a-z0-9+.-]*:|//|#)", url, re.I)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return site.build(tmp_path_factory.mktemp("site") / "_site", ROOT)


def page_text(built, rel) -> str:
    return (built.out / rel).read_text(encoding="utf-8")


def all_pages(built) -> list[Path]:
    return sorted(built.out.rglob("*.html"))


def read(rel) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / rel, as_version=4)


def test_every_notebook_has_a_page(built):
    assert (built.out / "index.html").is_file()
    missing = [str(nb) for nb in NOTEBOOKS if not (built.out / nb.with_suffix(".html")).is_file()]
    assert missing == []
    assert len(built.pages) == len(NOTEBOOKS) + 1
    assert (built.out / "static" / "mathjax" / "MathJax.js").is_file()
    print(f"\nbuilt in {built.seconds:.1f} s, {built.size_bytes / 1e6:.1f} MB")


def test_home_page_has_the_syllabus(built):
    text = page_text(built, "index.html")
    assert "make lab" in re.sub(r"<[^>]+>", "", text)
    for ch in site.discover(ROOT):
        assert html.escape(ch.title, quote=False) in text, ch.title
        for page in ch.pages.values():
            assert f'href="{page.out}"' in text, page.out
    # chapters in order
    positions = [text.index(f'href="{ch.pages["Lecture"].out}"')
                 for ch in site.discover(ROOT) if "Lecture" in ch.pages]
    assert positions == sorted(positions)


@pytest.mark.parametrize("rel", ["index.html", *[str(nb.with_suffix(".html")) for nb in NOTEBOOKS]])
def test_nothing_is_loaded_from_outside(built, rel):
    tags = Tags(page_text(built, rel))
    remote = [(t, a, v) for t, a, v in tags.attrs if (t, a) in LOADING and is_remote(v)]
    remote += [("style", "url", v) for t, a, v in tags.attrs if a == "style" and "url(http" in v]
    assert remote == []
    # no script fetches from a CDN (require.js, the widget manager, mermaid, CDN MathJax)
    inline = "\n".join(tags.scripts)
    for needle in ("cdn", "unpkg", "jsdelivr", "require.js", "embed-amd", "import("):
        assert needle not in inline.lower(), needle
    assert tags.values("script", "src") == [
        f"{'../' * rel.count('/')}static/mathjax/MathJax.js?config={site.MATHJAX_CONFIG}"]
    assert "application/vnd.jupyter.widget" not in page_text(built, rel)


def test_style_sheets_are_local(built):
    for css in (built.out / "static").glob("*.css"):
        text = css.read_text(encoding="utf-8")
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", text), css.name
        assert "@import" not in text, css.name


def _inline_math(rel) -> list[str]:
    return INLINE_MATH.findall("\n".join(c.source for c in read(rel).cells
                                          if c.cell_type == "markdown"))


@pytest.mark.parametrize("rel", [r for r in NOTEBOOKS if _inline_math(r)], ids=str)
def test_math_is_left_for_mathjax(built, rel):
    text = page_text(built, rel.with_suffix(".html"))
    found = _inline_math(rel)
    # the first few formulas appear verbatim (HTML-escaped) between their $ delimiters
    for tex in found[:5]:
        assert html.escape(f"${tex}$", quote=False) in text, tex


def test_every_internal_link_resolves(built):
    broken = []
    for path in all_pages(built):
        tags = Tags(path.read_text(encoding="utf-8"))
        urls = [v for t, a, v in tags.attrs if a in ("href", "src")]
        for url in urls:
            if not is_local(url):
                continue
            target = path.parent / unquote(urlsplit(url).path)
            if not target.resolve().is_file():
                broken.append(f"{path.relative_to(built.out)} -> {url}")
            elif built.out.resolve() not in target.resolve().parents:
                broken.append(f"{path.relative_to(built.out)} -> {url} (outside the site)")
    assert broken == []
    assert built.unresolved_links == []


def test_links_between_notebooks_point_to_pages(built):
    for path in all_pages(built):
        hrefs = Tags(path.read_text(encoding="utf-8")).values("a", "href")
        assert [h for h in hrefs if ".ipynb" in h] == [], path
    # a link from a lecture to its exercises (markdown '[..](../exercises/..ipynb)')
    for nb in NOTEBOOKS:
        md = "\n".join(c.source for c in read(nb).cells if c.cell_type == "markdown")
        for target in re.findall(r"\]\(([^)\s]+?\.ipynb)\)", md):
            page = nb.with_suffix(".html")
            hrefs = Tags(page_text(built, page)).values("a", "href")
            assert target.replace(".ipynb", ".html") in hrefs, (nb, target)


@pytest.mark.parametrize("rel", NOTEBOOKS, ids=str)
def test_explorers_become_notes_and_pictures_stay(built, rel):
    nb = read(rel)
    text = page_text(built, rel.with_suffix(".html"))
    views = sum(site.WIDGET_VIEW in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    pngs = [o["data"]["image/png"] for c in nb.cells for o in c.get("outputs", [])
            if "image/png" in o.get("data", {})]
    assert text.count('class="site-live-note"') == views
    assert text.count("The picture below is the stored one.") == views
    assert "widget-state" not in text
    stored = re.findall(r'<img[^>]*src="data:image/png;base64,([^"]+)"', text)
    assert len(stored) == len(pngs)
    assert all(base64.b64decode(s)[:8] == b"\x89PNG\r\n\x1a\n" for s in stored)


@pytest.mark.parametrize("rel", NOTEBOOKS, ids=str)
def test_every_page_has_navigation(built, rel):
    order = [p for p in built.pages if p.kind != "Home"]
    page = next(p for p in order if p.source == rel)
    tags = Tags(page_text(built, rel.with_suffix(".html")))
    rels = [v for t, a, v in tags.attrs if t == "a" and a == "rel"]
    assert rels.count("home") == 2  # top and bottom bars
    assert rels.count("prev") == (2 if order.index(page) > 0 else 0)
    assert rels.count("next") == (2 if order.index(page) < len(order) - 1 else 0)


# --------------------------------------------------------------------- a made-up course


def _course(tmp_path: Path) -> Path:
    v4 = nbformat.v4
    (tmp_path / "notebooks" / "figs").mkdir(parents=True)
    (tmp_path / "exercises").mkdir()
    (tmp_path / "notebooks" / "figs" / "a.png").write_bytes(base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="))
    widget = {"output_type": "display_data", "metadata": {},
              "data": {site.WIDGET_VIEW: {"model_id": "x", "version_major": 2, "version_minor": 0},
                       "text/plain": "Demo — controls: a, b"}}
    lecture = v4.new_notebook(cells=[
        v4.new_markdown_cell("# 00 · Demo chapter\n\nMath $a+b$ and a [next](01_other.ipynb), "
                             "[exercise](../exercises/00_demo.ipynb#Exercise-1), "
                             "[solution](../solutions/00_demo.ipynb), [web](https://example.org) "
                             "and ![fig](figs/a.png).\n\n## 1 · First part\n\n## Summary"),
        v4.new_code_cell("explore()", outputs=[nbformat.from_dict(widget)]),
    ])
    lecture.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    other = v4.new_notebook(cells=[v4.new_markdown_cell("# 01 · Other\n\nText.")])
    exercise = v4.new_notebook(cells=[v4.new_markdown_cell("# 00 · Demo — exercises\n\n"
                                                           "Back to [the lecture](../notebooks/00_demo.ipynb).")])
    nbformat.write(lecture, tmp_path / "notebooks" / "00_demo.ipynb")
    nbformat.write(other, tmp_path / "notebooks" / "01_other.ipynb")
    nbformat.write(exercise, tmp_path / "exercises" / "00_demo.ipynb")
    return tmp_path


def test_made_up_course(tmp_path):
    result = site.build(tmp_path / "_site", _course(tmp_path / "course"))
    out = result.out
    assert [str(p.out) for p in result.pages] == [
        "index.html", "notebooks/00_demo.html", "exercises/00_demo.html", "notebooks/01_other.html"]
    lecture = (out / "notebooks" / "00_demo.html").read_text(encoding="utf-8")
    hrefs = Tags(lecture).values("a", "href")
    assert "01_other.html" in hrefs
    assert "../exercises/00_demo.html#Exercise-1" in hrefs
    assert "https://example.org" in hrefs  # an ordinary outbound hyperlink stays
    assert not any("solutions" in h for h in hrefs)  # no page: the link is dropped
    assert result.unresolved_links == ["notebooks/00_demo.ipynb: ../solutions/00_demo.ipynb"]
    assert (out / "notebooks" / "figs" / "a.png").is_file()
    assert "$a+b$" in lecture
    # the widget: a note naming the explorer; no picture follows, so no "picture below"
    assert "Demo (controls: a, b)" in lecture and "make lab" in lecture
    assert "picture below" not in lecture
    assert "widget" not in lecture.lower().replace("live widgets", "")
    exercise = (out / "exercises" / "00_demo.html").read_text(encoding="utf-8")
    assert "../notebooks/00_demo.html" in Tags(exercise).values("a", "href")
    home = (out / "index.html").read_text(encoding="utf-8")
    assert "Demo chapter" in home and "First part" in home and "Summary" not in home
    assert 'href="notebooks/00_demo.html"' in home and 'href="exercises/00_demo.html"' in home


def test_build_never_empties_a_folder_that_is_not_a_site(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="not a built site"):
        site.build(tmp_path, ROOT)
    with pytest.raises(ValueError, match="the course itself"):
        site.build(ROOT, ROOT)
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_helpers():
    assert site.split_title("03 · Weight initialization") == ("03", "Weight initialization")
    assert site.split_title("No number") == ("", "No number")
    assert site.relative(PurePosixPath("index.html"), PurePosixPath("notebooks")) == "../index.html"
    assert site.relative(PurePosixPath("notebooks/a.html"), PurePosixPath("")) == "notebooks/a.html"
