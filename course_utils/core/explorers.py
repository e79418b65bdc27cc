"""Live explorers: a pure compute function plus a small ipywidgets view.

Every chapter's explorer follows one pattern::

    def compute(depth, lr):            # pure: values in, result out — tested on its own
        ...
    def render(result, values):        # result → matplotlib Figure (not registered with pyplot)
        ...
    Explorer(compute, render, {"depth": IntSlider(...), "lr": FloatLogSlider(...)})

The figure is shown as a PNG under the controls, headed by the title and every control's
current value, and replaced in place (a display id) when a control changes, so the stored
cell output is the same whether or not a front end ran it.  ``compute`` may return a result with ``diverged=True``; an exception
inside ``compute`` or ``render`` is shown as one line in the status, never as a traceback.
Training explorers pass ``progress=True``: ``compute`` then receives ``progress(fraction)``.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable

import ipywidgets as widgets
from IPython.display import Image, display

from . import plotting

#: name → factory returning a ready Explorer; filled by ``@register_explorer`` in the
#: chapter modules, used by the tests and by ``benchmarks/explorers.py``.
EXPLORERS: dict[str, Callable] = {}


def register_explorer(name: str):
    """Decorator for a chapter's explorer factory (a function of no required arguments)."""
    def deco(factory):
        if name in EXPLORERS and EXPLORERS[name] is not factory:
            raise ValueError(f"an explorer named {name!r} is already registered")
        EXPLORERS[name] = factory
        return factory
    return deco


#: Resolution of explorer pictures: a 6.4-inch figure is 640 px wide, 10-pt text 14 px high.
DPI = 100


def _format(value) -> str:
    if isinstance(value, bool) or not isinstance(value, float):
        return str(value)
    return f"{value:.3g}"


class Explorer:
    def __init__(self, compute: Callable, render: Callable, controls: dict, *,
                 title: str = "", progress: bool = False, dpi: int = DPI):
        if not callable(compute) or not callable(render):
            raise TypeError("compute and render must be callables")
        if not isinstance(controls, dict) or not controls:
            raise TypeError("controls must be a non-empty dict {parameter name: widget}")
        for name, w in controls.items():
            if not isinstance(w, widgets.ValueWidget):
                raise TypeError(f"controls[{name!r}] must be an ipywidgets value widget, "
                                f"got {type(w).__name__}")
        self.compute, self.render = compute, render
        self.controls = controls
        self.title = title
        self.dpi = dpi
        self.with_progress = progress
        self.status = widgets.HTML(value="")
        self.progress_bar = widgets.FloatProgress(value=0.0, min=0.0, max=1.0,
                                                  layout=widgets.Layout(width="200px"))
        parts = [w for w in controls.values()]
        if progress:
            parts.append(self.progress_bar)
        parts.append(self.status)
        self.box = widgets.VBox(parts)
        self.result = None
        self.png: bytes | None = None
        self.picture: str | None = None  # digest of the figure's pixels, without the header
        self.error: str | None = None
        self.seconds = 0.0
        self._handle = None
        for w in controls.values():
            w.observe(self.update, names="value")
        self.update()

    def header(self, values: dict | None = None) -> str:
        """The line above the picture: the title and every control's current value, as the
        controls label them (``lr γ = 0.05 · steps = 20``)."""
        values = self.values() if values is None else values
        parts = []
        for name, w in self.controls.items():
            label = (w.description or name).rstrip(": ")
            parts.append(f"{label} = {_format(values[name])}")
        settings = " · ".join(parts)
        return f"{self.title}: {settings}" if self.title else settings

    def values(self) -> dict:
        """The current value of every control, by parameter name."""
        return {name: w.value for name, w in self.controls.items()}

    def _progress(self, fraction: float) -> None:
        self.progress_bar.value = min(1.0, max(0.0, float(fraction)))

    def update(self, change=None) -> None:
        """Recompute and redraw for the current control values (called on every change)."""
        t0 = time.perf_counter()
        values = self.values()
        self.error = None
        if self.with_progress:
            self.progress_bar.value = 0.0
            self.status.value = "<i>training…</i>"
        try:
            kwargs = dict(values, progress=self._progress) if self.with_progress else values
            self.result = self.compute(**kwargs)
            fig = self.render(self.result, values)
            body = plotting.figure_pixels(fig, self.dpi)
            self.picture = hashlib.blake2b(body.tobytes(), digest_size=16).hexdigest()
            self.png = plotting.pixels_to_png(body, self.dpi, self.header(values))
        except Exception as exc:  # an explorer never shows a traceback
            self.error = f"{type(exc).__name__}: {exc}"
            self.status.value = f"<span style='color:#b00'>could not compute: {self.error}</span>"
            self.seconds = time.perf_counter() - t0
            return
        self.seconds = time.perf_counter() - t0
        diverged = getattr(self.result, "diverged", None)
        if diverged is None and isinstance(self.result, dict):
            diverged = self.result.get("diverged")
        self.status.value = "<b style='color:#b00'>diverged</b>" if diverged else ""
        if self.with_progress:
            self.progress_bar.value = 1.0
        if self._handle is not None:
            self._handle.update(Image(data=self.png, format="png"))

    def _ipython_display_(self):
        names = ", ".join(self.controls)
        bundle = self.box._repr_mimebundle_()
        bundle["text/plain"] = f"{self.title or 'Explorer'} — controls: {names}"
        display(bundle, raw=True)
        self._handle = display(Image(data=self.png, format="png"), display_id=True)


def control_extremes(control) -> list:
    """The extreme values of one control: [min, max] for sliders, every option for
    dropdowns/toggles, [False, True] for checkboxes."""
    if isinstance(control, (widgets.Checkbox, widgets.ToggleButton)):
        return [False, True]
    if hasattr(control, "options"):
        opts = [o[1] if isinstance(o, tuple) else o for o in control.options]
        return list(opts)
    if hasattr(control, "min") and hasattr(control, "max"):
        if isinstance(control, widgets.FloatLogSlider):
            return [control.base ** control.min, control.base ** control.max]
        if isinstance(control, (widgets.IntRangeSlider, widgets.FloatRangeSlider)):
            return [(control.min, control.min), (control.max, control.max)]
        return [control.min, control.max]
    raise TypeError(f"do not know the extremes of a {type(control).__name__}")


def drive_to_extremes(explorer: Explorer) -> list[dict]:
    """Move every control to each of its extremes, one at a time (others at their initial
    values). Raise AssertionError if any setting errors, or if a control's extremes give the
    same picture. Returns one record per setting: name, value, seconds."""
    if not isinstance(explorer, Explorer):
        raise TypeError(f"explorer must be an Explorer, got {type(explorer).__name__}")
    records = []
    for name, control in explorer.controls.items():
        initial = control.value
        pictures = []
        for value in control_extremes(control):
            if control.value == value:  # no change event would fire: force an update
                explorer.update()
            else:
                control.value = value
            assert explorer.error is None, f"{name}={value!r}: {explorer.error}"
            assert explorer.png, f"{name}={value!r}: no picture"
            pictures.append(explorer.picture)
            records.append({"name": name, "value": value, "seconds": explorer.seconds})
        assert len(set(pictures)) > 1, f"moving {name!r} across its range never changed the picture"
        control.value = initial
        explorer.update()
    return records


def on_grid(control, value=None) -> bool:
    """Whether ``value`` (default: the control's own value) is a point of the control's grid,
    min + k·step (for a ``FloatLogSlider`` in log_base; for a selection widget one of its options).

    In a browser a slider snaps any other value to the grid and sends it back to the kernel,
    so the explorer recomputes and the picture differs from the stored one: every default and
    every value a notebook suggests trying must pass this test."""
    if not isinstance(control, widgets.ValueWidget):
        raise TypeError(f"control must be an ipywidgets value widget, got {type(control).__name__}")
    value = control.value if value is None else value
    if hasattr(control, "options"):  # Dropdown, ToggleButtons, SelectionSlider, …
        return value in [o[1] if isinstance(o, tuple) else o for o in control.options]
    if not hasattr(control, "step"):
        raise TypeError(f"control must be a slider or a selection widget, got {type(control).__name__}")
    x = math.log(value, control.base) if isinstance(control, widgets.FloatLogSlider) else value
    k = round((x - control.min) / control.step)
    return (control.min - 1e-9 <= x <= control.max + 1e-9
            and abs(control.min + k * control.step - x) < 1e-9)
