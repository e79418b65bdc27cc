"""The explorer pattern, and every registered explorer driven to its extremes."""

import importlib
import pkgutil

import ipywidgets as widgets
import pytest

import course_utils
from course_utils.core import explorers, plotting

# import every module so their @register_explorer factories are known
for _m in pkgutil.walk_packages(course_utils.__path__, "course_utils."):
    importlib.import_module(_m.name)


def _compute(n, scale, kind, show):
    if n == 13:
        raise ValueError("13 is unlucky")
    return {"y": [scale * i ** (2 if kind == "square" else 1) for i in range(n)],
            "show": show, "diverged": scale > 9}


def _render(result, values):
    fig, ax = plotting.new_figure(width=3, height=2)
    ax[0, 0].plot(result["y"], "o-" if result["show"] else "-")
    return fig


def _toy():
    return explorers.Explorer(_compute, _render, {
        "n": widgets.IntSlider(value=5, min=2, max=20),
        "scale": widgets.FloatLogSlider(value=1.0, min=-1, max=1),
        "kind": widgets.Dropdown(options=["line", "square"], value="line"),
        "show": widgets.Checkbox(value=False),
    }, title="toy")


def test_explorer_updates_on_control_change():
    e = _toy()
    first = e.png
    e.controls["n"].value = 8
    assert len(e.result["y"]) == 8 and e.png != first and e.error is None


def test_errors_and_divergence_are_shown_not_raised():
    e = _toy()
    e.controls["n"].value = 13
    assert "13 is unlucky" in e.error and "could not compute" in e.status.value
    e.controls["n"].value = 5
    assert e.error is None
    e.controls["scale"].value = 10.0
    assert "diverged" in e.status.value


def test_drive_to_extremes_visits_every_control_and_detects_a_dead_control():
    records = explorers.drive_to_extremes(_toy())
    assert [(r["name"], r["value"]) for r in records] == [
        ("n", 2), ("n", 20), ("scale", 0.1), ("scale", 10.0),
        ("kind", "line"), ("kind", "square"), ("show", False), ("show", True)]
    dead = explorers.Explorer(lambda a: {"y": [1, 2]}, lambda r, v: _render({"y": r["y"], "show": 0}, v),
                              {"a": widgets.IntSlider(value=1, min=0, max=3)})
    with pytest.raises(AssertionError, match="never changed the picture"):
        explorers.drive_to_extremes(dead)


def test_explorer_display_text_is_deterministic():
    e = _toy()
    bundle = e.box._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    # what strict nbval compares is our text, not widget reprs
    from unittest import mock
    with mock.patch("course_utils.core.explorers.display") as disp:
        e._ipython_display_()
    assert disp.call_args_list[0].args[0]["text/plain"] == "toy — controls: n, scale, kind, show"


def test_explorer_validates_its_arguments():
    with pytest.raises(TypeError, match="controls must be a non-empty dict"):
        explorers.Explorer(_compute, _render, {})
    with pytest.raises(TypeError, match=r"controls\['n'\] must be an ipywidgets value widget"):
        explorers.Explorer(_compute, _render, {"n": 3})


def test_progress_explorer_passes_a_progress_callback():
    seen = []

    def compute(steps, progress):
        for i in range(steps):
            progress((i + 1) / steps)
            seen.append(i)
        return {"y": list(range(steps)), "show": False}

    e = explorers.Explorer(compute, _render, {"steps": widgets.IntSlider(value=3, min=1, max=5)},
                           progress=True)
    assert e.progress_bar.value == 1.0 and seen == [0, 1, 2]


@pytest.mark.parametrize("name", sorted(explorers.EXPLORERS))
def test_registered_explorer_survives_every_control_extreme(name):
    records = explorers.drive_to_extremes(explorers.EXPLORERS[name]())
    assert records


def test_on_grid_accepts_grid_points_and_rejects_the_rest():
    s = widgets.FloatSlider(value=0.6, min=0.05, max=1.5, step=0.05)
    assert explorers.on_grid(s) and explorers.on_grid(s, 0.3)
    assert not explorers.on_grid(s, 0.62) and not explorers.on_grid(s, 1.6)
    log = widgets.FloatLogSlider(value=0.1, base=10, min=-3, max=0, step=0.1)
    assert explorers.on_grid(log) and not explorers.on_grid(log, 0.05)
    d = widgets.Dropdown(options=[("He", "he"), ("Xavier", "xavier")], value="he")
    assert explorers.on_grid(d) and not explorers.on_grid(d, "lecun")
    with pytest.raises(TypeError, match="control must be"):
        explorers.on_grid(3.0)


@pytest.mark.parametrize("name", sorted(explorers.EXPLORERS))
def test_every_explorer_starts_on_its_slider_grids(name):
    """A default off the grid is snapped by the browser, which recomputes a different picture."""
    ex = explorers.EXPLORERS[name]()
    off = {k: c.value for k, c in ex.controls.items()
           if (hasattr(c, "step") or hasattr(c, "options")) and not explorers.on_grid(c)}
    assert off == {}


@pytest.mark.parametrize("name", sorted(explorers.EXPLORERS))
def test_every_explorer_picture_is_legible_and_names_its_settings(name):
    """At least 400 px wide at >= 100 dpi (10-pt text 14 px high), and a header naming the
    title and each control's current value, so a screenshot says what it shows."""
    import io

    from PIL import Image
    ex = explorers.EXPLORERS[name]()
    assert ex.dpi >= 100 and Image.open(io.BytesIO(ex.png)).size[0] >= 400
    header = ex.header()
    assert ex.title and header.startswith(ex.title)
    for key, control in ex.controls.items():
        label = (control.description or key).rstrip(": ")
        assert f"{label} = {explorers._format(control.value)}" in header


def test_explorer_header_follows_the_controls():
    s = widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.25, description="lr")
    e = explorers.Explorer(lambda lr: {"y": [lr, 1], "show": True}, _render, {"lr": s}, title="T")
    assert e.header() == "T: lr = 0.5"
    first = e.png
    s.value = 0.25
    assert e.header() == "T: lr = 0.25" and e.png != first
