"""The blindfolded hiker: gradient descent on a 1-D loss curve, with the stride on a slider.

``hiker_data`` computes the picture (the curve and the path) and ``draw_hiker`` draws it;
``hiker_explorer`` puts sliders for the learning rate (log scale), the number of steps and
the starting point in front of them. A learning rate that is too large does not crash or
empty the plot: the path is drawn up to where it leaves the picture, and the title says
that the walk diverged.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import ipywidgets as widgets
import torch

from course_lib.fundamentals.gradient_descent import LOSS_CURVES, descend_1d
from course_lib.widgets.explorer import Explorer

STARTS = {"bowl": 1.5, "two valleys": 2.2, "gentle then steep": 5.5}  # a start that shows each curve's character


@dataclass
class HikerPicture:
    curve_x: list[float]        # the loss curve, sampled across the plot range
    curve_y: list[float]
    path_x: list[float]         # where the hiker stood, start first, up to the first step outside the picture
    path_y: list[float]
    steps_taken: int            # steps walked (fewer than asked when the walk diverged)
    diverged: bool
    message: str
    x_range: tuple[float, float]
    y_range: tuple[float, float]


def hiker_data(curve: str = "bowl", lr: float = 0.1, steps: int = 20, start: float | None = None) -> HikerPicture:
    """The curve named ``curve`` and the gradient-descent path on it from ``start``."""
    if curve not in LOSS_CURVES:
        raise ValueError(f"curve: expected one of {sorted(LOSS_CURVES)}, got {curve!r}")
    loss_fn, (low, high) = LOSS_CURVES[curve]
    start = STARTS[curve] if start is None else float(start)
    xs = torch.linspace(low, high, 300, dtype=torch.float64)
    ys = loss_fn(xs)
    y_low, y_high = ys.min().item(), ys.max().item()
    margin = 0.08 * (y_high - y_low)
    y_range = (y_low - margin, y_high + margin)

    # The walk may leave the window; the limit only keeps the numbers finite.
    path = descend_1d(loss_fn, start, lr, steps, limit=1e8)
    shown = 0  # how many positions to draw: those inside the window, plus the first one outside
    for x, y in zip(path.xs, path.losses):
        if not (math.isfinite(x) and math.isfinite(y)):
            break
        shown += 1
        if not low <= x <= high:
            break  # drawn (the line runs off the edge of the picture), then stop
    left_window = shown < len(path.xs) or not low <= path.xs[shown - 1] <= high
    diverged = path.diverged or left_window or path.losses[-1] > path.losses[0]
    if diverged:
        message = (f"Diverged after {len(path.xs) - 1} steps: lr = {lr:.3g} is too large; each step "
                   "overshoots the valley and lands higher")
    else:
        message = path.message
    return HikerPicture(
        curve_x=xs.tolist(), curve_y=ys.tolist(),
        path_x=path.xs[:shown], path_y=path.losses[:shown],
        steps_taken=len(path.xs) - 1, diverged=diverged, message=message,
        x_range=(low, high), y_range=y_range,
    )


def draw_hiker(ax, picture: HikerPicture) -> None:
    """Draw the curve, the hiker's footsteps (light to dark) and the message."""
    ax.plot(picture.curve_x, picture.curve_y, color="0.3", lw=2, label="loss")
    n = len(picture.path_x)
    if n:
        ax.plot(picture.path_x, picture.path_y, color="tab:orange", lw=1, alpha=0.6)
        shades = [0.25 + 0.75 * i / max(n - 1, 1) for i in range(n)]
        ax.scatter(picture.path_x, picture.path_y, c=shades, cmap="Oranges", vmin=0, vmax=1,
                   s=36, zorder=3, edgecolors="black", linewidths=0.5, label="steps")
        ax.scatter(picture.path_x[:1], picture.path_y[:1], marker="*", s=180, color="tab:blue", zorder=4,
                   label="start")
    ax.set_xlim(*picture.x_range)
    ax.set_ylim(*picture.y_range)
    ax.set_xlabel("parameter x")
    ax.set_ylabel("loss(x)")
    ax.set_title(picture.message, color="tab:red" if picture.diverged else "black", fontsize=10)
    ax.legend(loc="best", fontsize=8)


def hiker_explorer(curve: str = "bowl", lr: float = 0.1, steps: int = 15, start: float | None = None) -> Explorer:
    """Sliders for the learning rate (log scale), the steps and the start, above the picture."""
    low, high = LOSS_CURVES[curve][1]
    controls = {
        "curve": widgets.Dropdown(options=sorted(LOSS_CURVES), value=curve, description="curve"),
        "lr": widgets.FloatLogSlider(value=lr, base=10, min=-3, max=0.5, step=0.05, description="learning rate",
                                     readout_format=".3g", style={"description_width": "initial"}),
        "steps": widgets.IntSlider(value=steps, min=0, max=100, description="steps"),
        "start": widgets.FloatSlider(value=STARTS[curve] if start is None else start, min=low, max=high,
                                     step=0.1, description="start"),
    }

    def new_curve(change):
        # A new curve brings its own range and typical start; the explorer redraws once.
        low, high = LOSS_CURVES[change["new"]][1]
        slider = controls["start"]
        with slider.hold_trait_notifications():
            slider.min, slider.max = min(low, slider.min), max(high, slider.max)
            slider.value = STARTS[change["new"]]
            slider.min, slider.max = low, high

    controls["curve"].observe(new_curve, names="value")
    return Explorer(controls, hiker_data, draw_hiker, figsize=(7.5, 4.0))
