"""The offline course website: ``python -m course_utils.tools.site --out _site`` (``make site``).

Builds a static site from the notebooks themselves (they stay the single source), with
nbconvert's JupyterLab HTML template:

* ``index.html``: the home page — how to open the course live (``make lab``) and the
  syllabus (each chapter's title and sections, taken from its lecture notebook, with links
  to its lecture and exercise pages);
* ``notebooks/NN_topic.html`` for every ``notebooks/*.ipynb`` (stored outputs, not
  re-executed) and ``exercises/NN_topic.html`` for every ``exercises/*.ipynb``, each with
  navigation (home, previous, next, lecture <-> exercises) in reading order;
* ``static/``: the page style (written once, not inlined in every page) and the part of
  MathJax 2.7 that renders the pages, copied from ``jupyter_server_mathjax``.

Nothing is loaded from outside ``_site``: no require.js, no widget manager, no CDN MathJax,
no mermaid (the template blocks that load them are replaced), and MathJax is referenced by a
relative URL, so the site works from ``file://`` and from any local HTTP server.  A live
explorer cannot run on a static page: its widget view is replaced by a note saying how to
run it, and the picture the notebook stored right after it stays.  Links between notebooks
(``03_initialization.ipynb``, ``../exercises/04_activations.ipynb``) point to the built pages.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

import nbformat
from jinja2 import DictLoader
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parents[2]
#: (folder, what its pages are called), in reading order within a chapter.
SECTIONS = (("notebooks", "Lecture"), ("exercises", "Exercises"))
TITLE = "Training Deep Neural Networks"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"
#: What MathJax 2.7 needs to render TeX with its HTML-CSS output and STIX-Web fonts
#: (jupyter_server_mathjax ships 12 MB; the rest — SVG output, 40 translations, the
#: accessibility extensions — is never requested by these pages).
MATHJAX_KEEP = ("MathJax.js", "LICENSE", "config", "extensions", "jax/input", "jax/element",
                "jax/output/HTML-CSS", "fonts/HTML-CSS/STIX-Web/woff")
MATHJAX_DROP = ("extensions/a11y",)
LIVE_NOTE = ("Live explorer: the controls run in JupyterLab — <code>make lab</code>, open this "
             "notebook, Run All. The picture below is the stored one.")
LIVE_NOTE_NO_PICTURE = ("Live explorer: the controls run in JupyterLab — <code>make lab</code>, "
                        "open this notebook, Run All.")
#: Section headings left out of the syllabus (every chapter has them).
ROUTINE_SECTIONS = re.compile(r"^(summary|pitfalls|explore|explorer\b.*)$", re.I)

PAGE_CSS = """
.site-nav { display: flex; flex-wrap: wrap; gap: .4em 1.2em; align-items: baseline;
  padding: .6em 1em; margin: 0 0 1em; border-bottom: 1px solid #ccc; background: #f7f7f7;
  font-family: var(--jp-ui-font-family, sans-serif); font-size: 14px; }
.site-nav.site-nav-bottom { border-top: 1px solid #ccc; border-bottom: 0; margin: 2em 0 0; }
.site-nav .site-spacer { flex: 1; }
.site-nav .site-source { flex-basis: 100%; color: #555; font-size: 90%; }
.site-live-note { border-left: 4px solid #1976d2; background: #e8f1fb; padding: .6em .9em;
  margin: .3em 0; font-family: var(--jp-ui-font-family, sans-serif); font-size: 14px; }
.site-live-note .site-live-title { font-weight: 600; }
.site-sections { color: #555; font-size: 90%; }
/* the rules nbconvert's lab template inlines next to its style sheet */
a.anchor-link { visibility: hidden; text-decoration: none; margin-left: .3em; }
:hover > a.anchor-link { visibility: visible; }
* { -webkit-print-color-adjust: exact; }
.jp-InputArea, .jp-InputArea-editor { overflow: hidden; }
.cm-editor.cm-s-jupyter .highlight pre { padding: var(--jp-code-padding) 4px; margin: 0;
  font-family: inherit; font-size: inherit; line-height: inherit; color: inherit; }
.jp-OutputArea-output pre { line-height: inherit; font-family: inherit; }
.jp-RenderedText pre { color: var(--jp-content-font-color1); font-size: var(--jp-code-font-size); }
.jp-Collapser { display: none; }
@page { margin: 0.5in; }
@media print { .jp-Cell-inputWrapper, .jp-Cell-outputWrapper { display: block; } .site-nav { display: none; } }
/* MathJax's hidden MathML for screen readers asks for TeX web fonts that are not shipped
   (only STIX-Web is): a system font there keeps every request inside the site. */
.MJX_Assistive_MathML, .MJX_Assistive_MathML * { font-family: serif !important; }
"""

TEMPLATE = r"""{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{% block notebook_css %}
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{{ resources.site.root }}static/jupyterlab.css">
<link rel="stylesheet" href="{{ resources.site.root }}static/site.css">
{% endblock notebook_css %}
{%- block html_head_js_mathjax -%}
<script type="text/x-mathjax-config">
MathJax.Hub.Config({
  tex2jax: {inlineMath: [['$', '$'], ['\\(', '\\)']], displayMath: [['$$', '$$'], ['\\[', '\\]']],
            processEscapes: true, processEnvironments: true},
  TeX: {equationNumbers: {autoNumber: "AMS", useLabelIds: true}},
  "HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null,
               linebreaks: {automatic: true},
               styles: {"@font-face": {"font-family": "MathJax_Blank",
                                       src: "local('MathJax_Blank_not_installed')"}}},
  displayAlign: "center", messageStyle: "none", showMathMenu: false
});
// <html data-mathjax="done"> once the first typeset is over (the browser test waits for it)
MathJax.Hub.Register.StartupHook("End", function () {
  document.documentElement.setAttribute("data-mathjax", "done");
});
</script>
<script src="{{ resources.mathjax_url }}"></script>
{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{#- the lab template runs highlighted code through bleach (clean_html): Pygments' output is
    already escaped, and bleach took 2/3 of the build time #}
{% block input %}
<div class="jp-CodeMirrorEditor jp-Editor jp-InputArea-editor" data-type="inline">
     <div class="cm-editor cm-s-jupyter">
{{ cell.source | highlight_code(metadata=cell.metadata) }}
     </div>
</div>
{%- endblock input %}
{%- block body_header -%}
{{ super() }}
{{ resources.site.nav_top }}
{%- endblock body_header -%}
{% block body_footer %}
{{ resources.site.nav_bottom }}
{{ super() }}
{% endblock body_footer %}
"""


@dataclass
class Page:
    """One built page: its source notebook (relative to the course root) and its output."""

    source: PurePosixPath  # e.g. notebooks/03_initialization.ipynb (home: index.ipynb, made up)
    out: PurePosixPath  # e.g. notebooks/03_initialization.html
    kind: str  # "Lecture", "Exercises" or "Home"
    title: str
    stem: str = ""
    links: list[str] = field(default_factory=list)  # hrefs of the built page (for tests)


@dataclass
class Chapter:
    """A lecture notebook and (if any) its exercise notebook, with the syllabus entry."""

    stem: str
    number: str
    title: str
    sections: list[str]
    pages: dict[str, Page]  # kind -> page


def _markdown(nb) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "markdown"]


def notebook_title(nb, fallback: str) -> str:
    """The text of the notebook's first markdown heading (``# 03 · Weight initialization``)."""
    for src in _markdown(nb):
        m = re.search(r"^#{1,6}\s+(.+?)\s*#*\s*$", src, re.M)
        if m:
            return m.group(1)
    return fallback


def section_titles(nb) -> list[str]:
    """The ``##`` headings, without their numbers and without the ones every chapter has."""
    out = []
    for src in _markdown(nb):
        for h in re.findall(r"^##\s+(.+?)\s*$", src, re.M):
            h = re.sub(r"^\d+\s*[.·:)]\s*", "", h).strip()
            if h and not ROUTINE_SECTIONS.match(h):
                out.append(h)
    return out


def split_title(title: str) -> tuple[str, str]:
    """``"03 · Weight initialization"`` -> ``("03", "Weight initialization")``."""
    m = re.match(r"^(\d+)\s*[·.:—–-]\s*(.+)$", title)
    return (m.group(1), m.group(2)) if m else ("", title)


def discover(root: Path = ROOT) -> list[Chapter]:
    """Every chapter, by glob over ``notebooks/`` and ``exercises/`` (a new chapter appears
    by itself), sorted by file name."""
    found: dict[str, dict[str, Path]] = {}
    for folder, kind in SECTIONS:
        for path in sorted((root / folder).glob("*.ipynb")):
            found.setdefault(path.stem, {})[kind] = path
    chapters = []
    for stem in sorted(found):
        paths = found[stem]
        main = paths.get("Lecture") or paths["Exercises"]
        nb = nbformat.read(main, as_version=4)
        number, title = split_title(notebook_title(nb, stem))
        pages = {}
        for folder, kind in SECTIONS:
            if kind in paths:
                src = PurePosixPath(folder, f"{stem}.ipynb")
                page_title = notebook_title(nbformat.read(paths[kind], as_version=4), stem)
                pages[kind] = Page(src, src.with_suffix(".html"), kind, page_title, stem)
        chapters.append(Chapter(stem, number or stem.split("_")[0], title,
                                section_titles(nb) if "Lecture" in paths else [], pages))
    return chapters


# ---------------------------------------------------------------------------- notebooks


def replace_widgets(nb) -> int:
    """Replace each stored widget view by the live-explorer note (the stored picture that
    follows it stays) and drop the notebook's widget state.  Returns how many were replaced."""
    n = 0
    for cell in nb.cells:
        outputs = cell.get("outputs", [])
        for i, out in enumerate(outputs):
            data = out.get("data", {})
            if WIDGET_VIEW not in data:
                continue
            label = data.get("text/plain", "")
            title, _, controls = str(label).partition(" — controls: ")
            pictured = any("image/png" in o.get("data", {}) or "image/jpeg" in o.get("data", {})
                           for o in outputs[i + 1:])
            heading = ""
            if title and not title.startswith(("VBox(", "HBox(", "interactive(")):
                heading = f'<div class="site-live-title">{html.escape(title)}</div>'
                if controls:
                    heading = heading[:-6] + f" (controls: {html.escape(controls)})</div>"
            note = LIVE_NOTE if pictured else LIVE_NOTE_NO_PICTURE
            out["data"] = {"text/html": f'<div class="site-live-note">{heading}{note}</div>'}
            out.setdefault("metadata", {})
            n += 1
    nb.metadata.pop("widgets", None)
    return n


def relative(target: PurePosixPath, start_dir: PurePosixPath) -> str:
    """A relative URL from a page in ``start_dir`` to ``target`` (both site-relative)."""
    return os.path.relpath(str(target), str(start_dir) or ".").replace(os.sep, "/")


_HREF = re.compile(r'(<a\b[^>]*?\bhref=")([^"]*)(")', re.I)
_SRC = re.compile(r'(<img\b[^>]*?\bsrc=")([^"]*)(")', re.I)


def _is_local(url: str) -> bool:
    return bool(url) and not re.match(r"^([a-z][a-z0-9+.-]*:|//|#)", url, re.I)


def rewrite_links(text: str, page: Page, built: dict[str, PurePosixPath]) -> tuple[str, list[str]]:
    """Point links to notebooks at their built pages.  ``built`` maps a source notebook
    (course-relative posix path) to its page.  A link to a notebook that has no page (e.g.
    ``solutions/``) becomes plain text, so the site never links to a missing file."""
    here = page.source.parent
    unresolved = []

    def fix(m):
        url = m.group(2)
        if not _is_local(url):
            return m.group(0)
        path, _, frag = html.unescape(url).partition("#")
        if not path.endswith(".ipynb"):
            return m.group(0)
        target = PurePosixPath(os.path.normpath(str(here / unquote(path)))).as_posix()
        if target in built:
            new = relative(built[target], page.out.parent) + (f"#{frag}" if frag else "")
            return m.group(1) + html.escape(new) + m.group(3)
        unresolved.append(url)
        return m.group(1) + "#" + m.group(3)  # a link to nowhere would break the site

    text = _HREF.sub(fix, text)
    return text, unresolved


def copy_local_images(text: str, page: Page, root: Path, out: Path) -> None:
    """Copy images a markdown cell references by relative path (``![](figures/x.png)``)."""
    for m in _SRC.finditer(text):
        url = html.unescape(m.group(2))
        if not _is_local(url):
            continue
        rel = PurePosixPath(os.path.normpath(str(page.source.parent / unquote(url))))
        src = root / rel
        if src.is_file() and not str(rel).startswith(".."):
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, out / rel)


# ---------------------------------------------------------------------------- navigation


def _a(href: str, text: str, rel: str = "") -> str:
    rel_attr = f' rel="{rel}"' if rel else ""
    return f'<a href="{html.escape(href)}"{rel_attr}>{html.escape(text)}</a>'


def page_label(page: Page, chapters: dict[str, Chapter]) -> str:
    """``"03 Weight initialization — exercises"``: what a link to ``page`` says."""
    ch = chapters.get(page.stem)
    name = f"{ch.number} {ch.title}" if ch else page.title
    return name if page.kind == "Lecture" else f"{name} — {page.kind.lower()}"


def nav_html(page: Page, order: list[Page], chapters: dict[str, Chapter], bottom=False) -> str:
    """Home · the chapter's other page · previous · next (reading order), as one bar."""
    here = page.out.parent
    items = [_a(relative(PurePosixPath("index.html"), here), "⌂ Home", "home")]
    i = order.index(page) if page in order else -1  # the home page comes before order[0]
    ch = chapters.get(page.stem)
    for other in (ch.pages.values() if ch else ()):
        if other is not page:
            items.append(_a(relative(other.out, here), f"this chapter's {other.kind.lower()}"))
    items.append('<span class="site-spacer"></span>')
    if i > 0:
        prev = order[i - 1]
        items.append(_a(relative(prev.out, here), f"← {page_label(prev, chapters)}", "prev"))
    if i + 1 < len(order):
        nxt = order[i + 1]
        items.append(_a(relative(nxt.out, here), f"{page_label(nxt, chapters)} →", "next"))
    if page in order:
        items.append(f'<span class="site-source">{html.escape(page.kind)}: '
                     f"<code>{page.source}</code> (live: <code>make lab</code>)</span>")
    cls = "site-nav site-nav-bottom" if bottom else "site-nav"
    return f'<nav class="{cls}" aria-label="course">' + " ".join(items) + "</nav>"


# ---------------------------------------------------------------------------- home page


def home_notebook(chapters: list[Chapter]):
    """The home page as a notebook of markdown cells, rendered like every other page."""
    rows = []
    def link(ch, kind, label):
        p = ch.pages.get(kind)
        return f"[{label}]({p.source})" if p else "—"

    for ch in chapters:
        sections = " · ".join(s.replace("|", "\\|") for s in ch.sections)
        topic = "**" + ch.title.replace("|", "\\|") + "**"
        if "Lecture" in ch.pages:
            topic = f"[{topic}]({ch.pages['Lecture'].source})"
        if sections:
            topic += f'<br><span class="site-sections">{sections}</span>'
        rows.append(f"| {ch.number} | {topic} | {link(ch, 'Lecture', 'lecture')} | "
                    f"{link(ch, 'Exercises', 'exercises')} |")
    cells = [
        f"# {TITLE}\n\nAn open, runnable course on how to make deep networks train — from the "
        "perceptron to optimizers, learning-rate schedules, regularization, transfer and "
        "compression. This website shows every lecture notebook with its stored outputs, "
        "and the exercise notebooks, and works with no network.",
        "## Open the course live\n\nThe explorers (live widgets) and the exercise checkers run "
        "in JupyterLab. In the course folder run\n\n```bash\nmake lab\n```\n\n(it creates "
        "`.venv` if missing, installs the pinned environment and opens JupyterLab), open a "
        "notebook and choose *Run → Run All Cells*. On this site each explorer shows the "
        "picture stored in the notebook. `make site` rebuilds this website.",
        "## Syllabus\n\nRead the lecture, play with its explorer, then do the exercises: the "
        "checker cell under each one says what is wrong and gives a hint.\n\n"
        "| # | chapter | lecture | exercises |\n|---|---|---|---|\n" + "\n".join(rows),
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(c) for c in cells])
    nb.metadata["title"] = TITLE
    return nb


# ---------------------------------------------------------------------------- build


def mathjax_dir() -> Path:
    import jupyter_server_mathjax

    return Path(jupyter_server_mathjax.__file__).parent / "static"


def copy_mathjax(dest: Path) -> None:
    """Copy the part of MathJax 2.7 the pages use into ``dest``."""
    src = mathjax_dir()
    drop = {src / d for d in MATHJAX_DROP}
    for keep in MATHJAX_KEEP:
        s = src / keep
        if s.is_dir():
            shutil.copytree(s, dest / keep, dirs_exist_ok=True,
                            ignore=lambda d, names: [n for n in names if Path(d, n) in drop])
        else:
            (dest / keep).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(s, dest / keep)


def make_exporter() -> HTMLExporter:
    exporter = HTMLExporter(template_name="lab", extra_loaders=[DictLoader({"site.html.j2": TEMPLATE})])
    exporter.template_file = "site.html.j2"
    exporter.exclude_anchor_links = False
    return exporter


@dataclass
class BuildResult:
    out: Path
    pages: list[Page]
    seconds: float
    widgets_replaced: int
    unresolved_links: list[str]

    @property
    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.out.rglob("*") if p.is_file())


def build(out: Path | str = "_site", root: Path | str = ROOT) -> BuildResult:
    """Build the whole site into ``out`` (emptied first) from the notebooks under ``root``."""
    start = time.perf_counter()
    root, out = Path(root), Path(out)
    if out.resolve() == root.resolve() or out.resolve() in root.resolve().parents:
        raise ValueError(f"--out {out} would hold the course itself")
    if out.exists():
        if any(out.iterdir()) and not (out / "static" / "site.css").is_file():
            raise ValueError(f"{out} is not empty and not a built site: not emptying it")
        shutil.rmtree(out)
    (out / "static").mkdir(parents=True)
    copy_mathjax(out / "static" / "mathjax")
    (out / "static" / "jupyterlab.css").write_text(_lab_css(), encoding="utf-8")
    (out / "static" / "site.css").write_text(PAGE_CSS, encoding="utf-8")

    chapters = discover(root)
    by_stem = {c.stem: c for c in chapters}
    order = [p for c in chapters for _, kind in SECTIONS for p in [c.pages.get(kind)] if p]
    home = Page(PurePosixPath("index.ipynb"), PurePosixPath("index.html"), "Home", TITLE)
    built = {str(p.source): p.out for p in order}
    exporter = make_exporter()
    widgets, unresolved = 0, []
    for page in [home, *order]:
        if page is home:
            nb = home_notebook(chapters)
        else:
            nb = nbformat.read(root / page.source, as_version=4)
            widgets += replace_widgets(nb)
        root_url = relative(PurePosixPath("."), page.out.parent)
        root_url = "" if root_url == "." else root_url + "/"
        exporter.mathjax_url = f"{root_url}static/mathjax/MathJax.js?config={MATHJAX_CONFIG}"
        resources = {"metadata": {"name": page.title, "path": str(root / page.source.parent)},
                     "site": {"root": root_url,
                              "nav_top": nav_html(page, order, by_stem),
                              "nav_bottom": nav_html(page, order, by_stem, bottom=True)}}
        body, _ = exporter.from_notebook_node(nb, resources=resources)
        body, bad = rewrite_links(body, page, built)
        unresolved += [f"{page.source}: {u}" for u in bad]
        copy_local_images(body, page, root, out)
        page.links = [html.unescape(m.group(2)) for m in _HREF.finditer(body)]
        (out / page.out).parent.mkdir(parents=True, exist_ok=True)
        (out / page.out).write_text(body, encoding="utf-8")
    return BuildResult(out, [home, *order], time.perf_counter() - start, widgets, unresolved)


def _lab_css() -> str:
    """JupyterLab's light theme and notebook style, as nbconvert's lab template inlines them."""
    exporter = HTMLExporter(template_name="lab")
    for d in exporter.template_paths:
        base = Path(d) / "static"
        if (base / "index.css").is_file() and (base / "theme-light.css").is_file():
            return (base / "index.css").read_text(encoding="utf-8") + "\n" + \
                (base / "theme-light.css").read_text(encoding="utf-8")
    raise FileNotFoundError("nbconvert's lab template (static/index.css) not found")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="_site", help="output folder (emptied first)")
    parser.add_argument("--root", default=str(ROOT), help="the course folder")
    args = parser.parse_args(argv)
    result = build(args.out, args.root)
    for u in result.unresolved_links:
        print(f"warning: link to a notebook without a page: {u}", file=sys.stderr)
    print(f"built {len(result.pages)} pages into {result.out}/ in {result.seconds:.1f} s "
          f"({result.size_bytes / 1e6:.1f} MB; {result.widgets_replaced} explorers shown as "
          f"stored pictures); open {result.out}/index.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
