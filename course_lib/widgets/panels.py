"""An explorer whose picture has several panels side by side, and log axes that draw fast.

``PanelExplorer`` is ``Explorer`` (controls on top, a PNG picture below, ``compute`` then
``draw`` on every change, one figure reused) with two differences that lesson 07's explorers need:

- ``draw(axes, data)`` receives a list of ``n_panels`` Axes in a row, not one;
- the controls may be laid out in rows (``rows=[["surface", "steps"], ["lr", ...]]``).

Log axes drawn the default way typeset every label as math; ``fast_log_scale`` does without.

``reactions={"surface": fn}`` runs ``fn(explorer, new_value)`` when that control changes,
before the redraw, with redraws held: a new surface can reset the start and learning-rate
sliders and the picture is still drawn once, not once per slider.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import ipywidgets as widgets
from matplotlib import ticker

from course_lib.widgets.explorer import DPI, Explorer, figure_png  # noqa: F401 (DPI, figure_png: for bench/)

MARGINS = dict(left=0.06, right=0.985, bottom=0.15, top=0.86, wspace=0.28)


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

    dpi = DPI  # a wide picture: fewer pixels per inch keep its redraw fast

    def __init__(self, controls: dict[str, widgets.ValueWidget], compute: Callable[..., Any],
                 draw: Callable[[Sequence[Any], Any], None], n_panels: int = 2,
                 figsize: tuple[float, float] = (10.0, 3.8), rows: list[list[str]] | None = None,
                 margins: dict[str, float] | None = None,
                 reactions: dict[str, Callable[["PanelExplorer", Any], None]] | None = None):
        self.n_panels = n_panels
        self._held = False
        # Reactions are registered before Explorer registers its redraw, and traitlets calls
        # observers in the order they were registered: the reaction runs first, with redraws
        # held, and the explorer's own observer then redraws once with every value in place.
        for name, reaction in (reactions or {}).items():
            controls[name].observe(lambda change, react=reaction: self._react(react, change["new"]), names="value")
        super().__init__(controls, compute, draw, figsize, dict(MARGINS, **(margins or {})))  # the first picture
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
        self.draw(self._empty_axes(), self.data)
        self.image.value = figure_png(self.figure, self.dpi)
