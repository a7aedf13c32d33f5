"""The shape every explorer shares: controls on top, a picture below, redrawn on each change.

An explorer is built from three parts:

- ``controls``: named ipywidgets (sliders, text boxes, drop-downs);
- ``compute(**values)``: the data to plot, from the controls' current values (pure: no drawing);
- ``draw(ax, data)``: draws that data on a matplotlib Axes.

The picture is rendered to a PNG and shown in an ``ipywidgets.Image``, so it needs no
particular matplotlib backend and shows the same in JupyterLab, Colab and VS Code.
``explorer.data`` and ``explorer.figure`` hold the latest data and figure (tests read them).
"""
from __future__ import annotations

import io
from typing import Any, Callable

import ipywidgets as widgets
from matplotlib.figure import Figure


class Explorer(widgets.VBox):
    """A box of ``controls`` and the picture ``draw(ax, compute(**values))``, kept in step."""

    def __init__(self, controls: dict[str, widgets.ValueWidget], compute: Callable[..., Any],
                 draw: Callable[[Any, Any], None], figsize: tuple[float, float] = (7.0, 4.0)):
        self.controls = controls
        self.compute, self.draw, self.figsize = compute, draw, figsize
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
        # A bare Figure (not pyplot): nothing is kept in pyplot's list of open figures.
        figure = Figure(figsize=self.figsize, layout="constrained")
        self.draw(figure.add_subplot(), self.data)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=90)
        self.image.value = buffer.getvalue()
        self.figure = figure
