"""The shape every explorer shares: controls on top, a picture below, redrawn on each change.

An explorer is built from three parts:

- ``controls``: named ipywidgets (sliders, text boxes, drop-downs);
- ``compute(**values)``: the data to plot, from the controls' current values (pure: no drawing);
- ``draw(ax, data)``: draws that data on a matplotlib Axes.

The picture is rendered to a PNG and shown in an ``ipywidgets.Image``, so it needs no
particular matplotlib backend and shows the same in JupyterLab, Colab and VS Code.
``explorer.data`` and ``explorer.figure`` hold the latest data and figure (tests read them).

A slider feels smooth when one notch redraws in well under 200 ms, so the picture is drawn
the fast way: one figure reused for every redraw (its axes and ticks are built once), fixed
margins (matplotlib's constrained layout measures every label on each draw), titles at a fixed
height, a modest resolution and light PNG compression. ``bench/bench_widgets.py`` measures it.
"""
from __future__ import annotations

import io
from typing import Any, Callable

import ipywidgets as widgets
from matplotlib.figure import Figure

DPI = 72  # a wide picture of several panels; a single panel is drawn at 90 (``Explorer.dpi``)
MARGINS = dict(left=0.1, right=0.97, bottom=0.13, top=0.9)  # a single panel with axis labels and a title


def figure_png(figure: Figure, dpi: float = DPI) -> bytes:
    """The figure as PNG bytes; light compression, because speed matters more than 10% of size."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


class Explorer(widgets.VBox):
    """A box of ``controls`` and the picture ``draw(ax, compute(**values))``, kept in step."""

    n_panels = 1
    dpi = 90  # pixels per inch of the picture: type a learner reads without zooming

    def __init__(self, controls: dict[str, widgets.ValueWidget], compute: Callable[..., Any],
                 draw: Callable[[Any, Any], None], figsize: tuple[float, float] = (7.0, 4.0),
                 margins: dict[str, float] | None = None):
        self.controls = controls
        self.compute, self.draw, self.figsize = compute, draw, figsize
        self.margins = dict(MARGINS, **(margins or {}))
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.data: Any = None
        self.figure: Figure | None = None
        super().__init__([widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap")),
                          self.image])
        for control in controls.values():
            control.observe(lambda _change: self.update(), names="value")
        self.update()

    def values(self) -> dict[str, Any]:
        """The controls' current values, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def update(self) -> None:
        """Recompute the data from the controls and redraw the picture."""
        self.data = self.compute(**self.values())
        self.draw(self._empty_axes()[0], self.data)
        self.image.value = figure_png(self.figure, self.dpi)

    def _empty_axes(self) -> list:
        """The panels (``n_panels`` Axes in a row), emptied of the last picture's data but kept.

        Building a new figure for every redraw would also rebuild every axis and tick, a
        good part of the time a redraw takes; so the figure is made once and each redraw
        removes what the last one drew. Every draw function sets its own titles, labels,
        scales and limits, so nothing of the old picture survives.
        """
        if self.figure is None:
            self.figure = Figure(figsize=self.figsize, dpi=self.dpi)  # a bare Figure: nothing kept in pyplot
            self.figure.subplots_adjust(**self.margins)
            self._axes = list(self.figure.subplots(1, self.n_panels, squeeze=False)[0])
            for ax in self._axes:
                # A title at a fixed height: otherwise matplotlib measures every tick label on each
                # draw to lift the title clear of them (the setting sticks for later set_title calls).
                ax.set_title("", y=1.0)
            return self._axes
        for ax in self._axes:
            for container in list(ax.containers):  # bar charts: the bars and their legend entry
                container.remove()
            for artist in [*ax.lines, *ax.collections, *ax.patches, *ax.texts, *ax.images]:
                artist.remove()
            if ax.get_legend() is not None:
                ax.get_legend().remove()
            ax.set_axis_on()          # a draw that showed only a message may have hidden the axes
            ax.set_prop_cycle(None)   # colours start again from the first
            ax.relim()                # data limits from scratch ...
            ax.autoscale(True)        # ... and autoscaling back on where the last draw fixed limits
        return self._axes
