"""The hiker in the fog, on a map: gradient descent across a 2-D loss surface.

``descent_data`` runs plain gradient descent (``course_lib.optim.SGD`` through
``course_lib.surfaces.run_optimizer``) from a start point and returns what the picture shows;
``draw_descent`` draws the path on the contour map (left) and the loss against the step on a
log axis (right); ``descent_explorer`` puts a surface menu, a log-scale learning-rate slider,
the start point and the number of steps in front of them.

A learning rate that is too large is part of the lesson: the run stops where it blows up,
the path is drawn up to there, and the title says what happened instead of showing an
error or an empty plot.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import ipywidgets as widgets

from course_lib.optim import SGD
from course_lib.surfaces import IllConditionedQuadratic, run_optimizer
from course_lib.widgets.panels import PanelExplorer, fast_log_scale
from course_lib.widgets.surface_plot import (
    SURFACE_NAMES,
    draw_contours,
    gaps_for_log_plot,
    lowest_value,
    make_surface,
)

# A learning rate that walks each surface well in about a hundred steps.
GOOD_LR = {"quadratic": 0.05, "tilted valley": 0.05, "rosenbrock": 1e-3, "saddle": 0.1, "beale": 0.01,
           "noisy": 0.05}


@dataclass
class DescentPicture:
    surface: str
    lr: float
    path: list[tuple[float, float]]   # the finite points, start first: path[t] is after t steps
    losses: list[float]               # the loss at each point of the path
    gaps: list[float]                 # loss - f_min (floored at 1e-12), for the log plot
    steps_asked: int
    diverged: bool                    # blew up, or ended higher than it started
    diverged_at: int | None           # the step that blew up (None if it did not)
    message: str
    f_min: float

    @property
    def steps_taken(self) -> int:
        return len(self.path) - 1


def stable_lr_limit(surface) -> float | None:
    """On a quadratic, gradient descent is stable exactly for lr < 2 / (largest curvature)."""
    if isinstance(surface, IllConditionedQuadratic):
        return 2.0 / max(surface.condition, 1.0)
    return None


def descent_data(surface: str = "quadratic", lr: float = 0.05, start_x: float | None = None,
                 start_y: float | None = None, steps: int = 60) -> DescentPicture:
    """Gradient descent on ``surface`` from (start_x, start_y) (its usual start if None)."""
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr: expected a number > 0, got {lr!r}")
    the_surface = make_surface(surface)
    x0 = the_surface.start[0] if start_x is None else float(start_x)
    y0 = the_surface.start[1] if start_y is None else float(start_y)
    run = run_optimizer(the_surface, SGD, start=(x0, y0), n_steps=int(steps), lr=float(lr))

    finite = run.last_finite_step + 1                       # rows 0 .. last_finite_step are finite
    path = [tuple(p) for p in run.points[:finite].tolist()]
    losses = run.losses[:finite].tolist()
    f_min = lowest_value(the_surface)
    went_up = losses[-1] > losses[0]
    diverged = run.diverged or went_up

    if run.diverged:
        message = (f"Diverged at step {run.diverged_at}: lr = {lr:.3g} is too large; every step "
                   f"overshoots the valley and lands higher")
    elif went_up:
        message = (f"Diverging: after {len(path) - 1} steps the loss went UP, {losses[0]:.3g} -> "
                   f"{losses[-1]:.3g}; lr = {lr:.3g} is too large")
    else:
        message = (f"lr = {lr:.3g}, {len(path) - 1} steps: loss {losses[0]:.3g} -> {losses[-1]:.3g} "
                   f"(lowest possible {f_min:.3g})")
    limit = stable_lr_limit(the_surface)
    if limit is not None:
        message += f"; stable only for lr < 2 / {the_surface.condition:g} = {limit:.3g}"
    return DescentPicture(surface, float(lr), path, losses, gaps_for_log_plot(losses, f_min), int(steps),
                          diverged, run.diverged_at, message, f_min)


def draw_path(ax, path, color: str = "tab:orange", label: str | None = None) -> None:
    """A path of points: a line with small dots, the start as a circle."""
    xs, ys = [p[0] for p in path], [p[1] for p in path]
    ax.plot(xs, ys, "-o", color=color, lw=1.3, ms=2.5, label=label, zorder=3)
    ax.plot(xs[:1], ys[:1], "o", color=color, ms=8, markeredgecolor="black", zorder=4)


def draw_descent(axes, picture: DescentPicture) -> None:
    """Left: the path on the contour map. Right: loss - f_min against the step, log scale."""
    ax_map, ax_loss = axes
    draw_contours(ax_map, picture.surface)
    draw_path(ax_map, picture.path)
    ax_map.set_title(f"{picture.surface}: gradient descent path", fontsize=10)

    ax_loss.plot(range(len(picture.gaps)), picture.gaps, color="tab:orange", lw=1.5)
    if picture.diverged_at is not None:
        ax_loss.axvline(picture.diverged_at, color="tab:red", ls="--", lw=1)
        ax_loss.text(picture.diverged_at, picture.gaps[-1], " blew up", color="tab:red", va="bottom", fontsize=9)
    ax_loss.set_xlim(0, max(picture.steps_asked, 1))
    fast_log_scale(ax_loss)
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("loss - lowest loss")
    ax_loss.grid(True, which="major", alpha=0.3)
    ax_loss.set_title("loss against step (log scale)", fontsize=10)
    ax_map.figure.suptitle(picture.message, fontsize=10, color="tab:red" if picture.diverged else "black")


def _set_slider(slider, value: float, low: float, high: float) -> None:
    # Widen first, so that the new value is never clamped to the old range, then narrow.
    slider.min, slider.max = min(low, slider.min), max(high, slider.max)
    slider.value = value
    slider.min, slider.max = low, high


def _new_surface(explorer: PanelExplorer, name: str) -> None:
    """A new surface brings its own window, usual start and a learning rate that suits it."""
    surface = make_surface(name)
    (x_lo, x_hi), (y_lo, y_hi) = surface.bounds
    _set_slider(explorer.controls["start_x"], surface.start[0], x_lo, x_hi)
    _set_slider(explorer.controls["start_y"], surface.start[1], y_lo, y_hi)
    explorer.controls["lr"].value = GOOD_LR[name]


def descent_explorer(surface: str = "quadratic", lr: float | None = None, steps: int = 60) -> PanelExplorer:
    """A surface menu, a log-scale learning rate, the start point and the steps, above the picture."""
    the_surface = make_surface(surface)
    (x_lo, x_hi), (y_lo, y_hi) = the_surface.bounds
    wide = {"description_width": "initial"}
    controls = {
        "surface": widgets.Dropdown(options=SURFACE_NAMES, value=surface, description="surface"),
        "lr": widgets.FloatLogSlider(value=GOOD_LR[surface] if lr is None else lr, base=10, min=-4, max=0.5,
                                     step=0.05, description="learning rate", readout_format=".3g", style=wide),
        "steps": widgets.IntSlider(value=steps, min=0, max=300, description="steps"),
        "start_x": widgets.FloatSlider(value=the_surface.start[0], min=x_lo, max=x_hi, step=0.05,
                                       description="start x"),
        "start_y": widgets.FloatSlider(value=the_surface.start[1], min=y_lo, max=y_hi, step=0.05,
                                       description="start y"),
    }
    return PanelExplorer(controls, descent_data, draw_descent, n_panels=2, figsize=(10.5, 4.0),
                         rows=[["surface", "lr", "steps"], ["start_x", "start_y"]],
                         reactions={"surface": _new_surface})
