"""An explorer whose picture has several panels side by side, redrawn fast enough to drag.

``PanelExplorer`` is ``Explorer`` (controls on top, a PNG picture below, ``compute`` then
``draw`` on every change) with three differences that lesson 07's explorers need:

- ``draw(axes, data)`` receives a list of ``n_panels`` Axes in a row, not one;
- the controls may be laid out in rows (``rows=[["surface", "steps"], ["lr", ...]]``);
- it is built to redraw in well under 200 ms, which is what makes a slider feel smooth: a
  fixed layout (matplotlib's constrained layout measures every label on each draw), a
  modest resolution, one figure reused for every redraw (its axes and ticks are built
  once), titles at a fixed height, and log axes without typeset labels (``fast_log_scale``).

``reactions={"surface": fn}`` runs ``fn(explorer, new_value)`` when that control changes,
before the redraw, with redraws held: a new surface can reset the start and learning-rate
sliders and the picture is still drawn once, not once per slider.
"""
from __future__ import annotations

import io
import math
from typing import Any, Callable, Sequence

import ipywidgets as widgets
from matplotlib import ticker
from matplotlib.figure import Figure

from course_lib.widgets.explorer import Explorer

DPI = 72
MARGINS = dict(left=0.06, right=0.985, bottom=0.15, top=0.86, wspace=0.28)


def figure_png(figure: Figure) -> bytes:
    """The figure as PNG bytes; light compression, because speed matters more than 10% of size."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


class PlainLogLocator(ticker.Locator):
    """Log-axis ticks without minor ticks: powers of 10 over a wide range, 1-2-5 steps over a
    narrow one, and evenly spaced ticks when even those leave fewer than two inside."""

    def __call__(self):
        return self.tick_values(*self.axis.get_view_interval())

    def tick_values(self, vmin, vmax):
        low, high = sorted((vmin, vmax))
        low = max(low, 1e-300)
        first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
        if last - first <= 2:
            ticks = [m * 10.0 ** e for e in range(first, last + 1) for m in (1, 2, 5)]
        else:  # at most about 7 labels: every stride-th power of 10
            stride = math.ceil((last - first) / 6)
            ticks = [10.0 ** e for e in range(first - first % stride, last + 1, stride)]
        inside = [t for t in ticks if low <= t <= high]
        if len(inside) < 2:  # less than a factor 2 between the ends: plain evenly spaced ticks
            inside = [t for t in ticker.MaxNLocator(4).tick_values(low, high) if low <= t <= high]
        return inside


def fast_log_scale(ax, which: str = "y") -> None:
    """A log-scale axis (``which`` = "x" or "y") with plain labels ("0.2", "1e-05") and no minor ticks.

    Matplotlib's default log axis typesets every label as math (10 to a power) and makes
    dozens of minor ticks; that alone can take 100 ms, half of a smooth slider's budget.
    """
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_major_locator(PlainLogLocator())
    axis.set_minor_locator(ticker.NullLocator())
    axis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))


class PanelExplorer(Explorer):
    """Controls (optionally in rows) above a row of ``n_panels`` plots of ``compute(**values)``."""

    def __init__(self, controls: dict[str, widgets.ValueWidget], compute: Callable[..., Any],
                 draw: Callable[[Sequence[Any], Any], None], n_panels: int = 2,
                 figsize: tuple[float, float] = (10.0, 3.8), rows: list[list[str]] | None = None,
                 margins: dict[str, float] | None = None,
                 reactions: dict[str, Callable[["PanelExplorer", Any], None]] | None = None):
        self.n_panels = n_panels
        self.margins = dict(MARGINS, **(margins or {}))
        self._held = False
        # Reactions are registered before Explorer registers its redraw, and traitlets calls
        # observers in the order they were registered: the reaction runs first, with redraws
        # held, and the explorer's own observer then redraws once with every value in place.
        for name, reaction in (reactions or {}).items():
            controls[name].observe(lambda change, react=reaction: self._react(react, change["new"]), names="value")
        super().__init__(controls, compute, draw, figsize)  # draws the first picture
        if rows is not None:
            unplaced = set(controls) - {name for row in rows for name in row}
            if unplaced:
                raise ValueError(f"rows: every control needs a place; missing {sorted(unplaced)}")
            boxes = [widgets.HBox([controls[name] for name in row], layout=widgets.Layout(flex_flow="row wrap"))
                     for row in rows]
            self.children = [*boxes, self.image]

    def _react(self, reaction, new_value) -> None:
        self._held = True
        try:
            reaction(self, new_value)
        finally:
            self._held = False

    def update(self) -> None:
        """Recompute the data from the controls and redraw every panel."""
        if self._held:
            return
        self.data = self.compute(**self.values())
        axes = self._empty_axes()
        self.draw(axes, self.data)
        self.image.value = figure_png(self.figure)

    def _empty_axes(self) -> list:
        """The panels, emptied of the last picture's data but kept, with their ticks.

        Building a new figure for every redraw would also rebuild every axis and tick, a
        good part of the time a redraw takes; so the figure is made once and each redraw
        removes what the last one drew. Every draw function sets its own titles, labels,
        scales and limits, so nothing of the old picture survives.
        """
        if self.figure is None:
            self.figure = Figure(figsize=self.figsize, dpi=DPI)  # a bare Figure: nothing kept in pyplot
            self.figure.subplots_adjust(**self.margins)
            self._axes = list(self.figure.subplots(1, self.n_panels, squeeze=False)[0])
            for ax in self._axes:
                # A title at a fixed height: otherwise matplotlib measures every tick label on each
                # draw to lift the title clear of them (the setting sticks for later set_title calls).
                ax.set_title("", y=1.0)
            return self._axes
        for ax in self._axes:
            for artist in [*ax.lines, *ax.collections, *ax.patches, *ax.texts, *ax.images]:
                artist.remove()
            if ax.get_legend() is not None:
                ax.get_legend().remove()
            ax.set_prop_cycle(None)   # colours start again from the first
            ax.relim()                # data limits from scratch ...
            ax.autoscale(True)        # ... and autoscaling back on where the last draw fixed limits
        return self._axes
