"""The optimizer race: several optimizers, each with its own settings, from one start on one surface.

``race_data`` runs each chosen optimizer of ``course_lib.optim`` (plain gradient descent,
heavy-ball momentum, AdaGrad, RMSProp, Adam) and returns their paths and loss curves;
``draw_race`` draws the paths on the contour map (left) and the losses against the step on
a log axis (right); ``race_explorer`` gives every optimizer a checkbox and a learning-rate
slider (momentum also its mu, Adam its beta1), greyed out while the racer is not in the race.

Runs are remembered (``lru_cache``), and always MAX_STEPS long: a run of n steps is the first
n steps of a longer run (every step depends only on the ones before it, and the noise of the
noisy surface is drawn in order from a seeded generator), so the steps slider only cuts runs
that exist, and moving one optimizer's slider reruns that optimizer alone.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import ipywidgets as widgets

from course_lib.optim import SGD, AdaGrad, Adam, Momentum, RMSProp
from course_lib.surfaces import Trajectory, run_optimizer
from course_lib.widgets.gradient_descent_explorer import draw_path
from course_lib.widgets.panels import PanelExplorer, fast_log_scale
from course_lib.widgets.surface_plot import (
    SURFACE_NAMES,
    draw_contours,
    gaps_for_log_plot,
    lowest_value,
    make_surface,
)

# name -> (optimizer class, colour); the extra settings each one takes come from the controls.
RACERS = {
    "SGD": (SGD, "tab:orange"),
    "momentum": (Momentum, "tab:red"),
    "AdaGrad": (AdaGrad, "tab:green"),
    "RMSProp": (RMSProp, "tab:purple"),
    "Adam": (Adam, "tab:blue"),
}

# Learning rates that give each racer a fair start on each surface (found by trying a range).
DEFAULT_LRS = {
    "quadratic":     {"SGD": 0.03, "momentum": 0.01, "AdaGrad": 0.3, "RMSProp": 0.03, "Adam": 0.1},
    "tilted valley": {"SGD": 0.03, "momentum": 0.01, "AdaGrad": 0.3, "RMSProp": 0.03, "Adam": 0.1},
    "rosenbrock":    {"SGD": 1e-3, "momentum": 1e-3, "AdaGrad": 0.3, "RMSProp": 0.01, "Adam": 0.1},
    "saddle":        {"SGD": 0.03, "momentum": 0.01, "AdaGrad": 0.1, "RMSProp": 0.01, "Adam": 0.03},
    "beale":         {"SGD": 0.01, "momentum": 1e-3, "AdaGrad": 0.3, "RMSProp": 0.03, "Adam": 0.1},
    "noisy":         {"SGD": 0.03, "momentum": 3e-3, "AdaGrad": 0.3, "RMSProp": 0.03, "Adam": 0.03},
}


@dataclass
class Lane:
    """One racer's run."""

    name: str
    settings: dict
    path: list[tuple[float, float]]   # finite points, start first
    gaps: list[float]                 # loss - f_min along the path (floored), for the log plot
    diverged_at: int | None
    final_gap: float                  # at the last finite point

    @property
    def label(self) -> str:
        lr = f"lr={self.settings['lr']:.3g}"
        if self.diverged_at is not None:
            return f"{self.name} ({lr}): diverged at step {self.diverged_at}"
        return f"{self.name} ({lr}): {self.final_gap:.2g}"


@dataclass
class RacePicture:
    surface: str
    steps: int
    lanes: list[Lane]
    message: str


MAX_STEPS = 300  # the steps slider's maximum


@lru_cache(maxsize=512)
def _run(surface: str, name: str, settings: tuple) -> Trajectory:
    optimizer_class = RACERS[name][0]
    return run_optimizer(make_surface(surface), optimizer_class, n_steps=MAX_STEPS, **dict(settings))


def first_steps(run: Trajectory, steps: int) -> Trajectory:
    """The first ``steps`` steps of ``run``: what a run of that length would have given."""
    diverged = run.diverged_at is not None and run.diverged_at <= steps
    message = run.message if diverged else f"ran {steps} steps; final loss {run.losses[steps].item():.4g}"
    return Trajectory(run.points[:steps + 1], run.losses[:steps + 1], diverged,
                      run.diverged_at if diverged else None, message)


def race_data(surface: str = "quadratic", steps: int = 150, racers: dict[str, dict] | None = None) -> RacePicture:
    """Run each racer ``{name: {"lr": ..., other settings}}`` (all five with default rates if None)."""
    if racers is None:
        racers = {name: {"lr": lr} for name, lr in DEFAULT_LRS[surface].items()}
    unknown = set(racers) - set(RACERS)
    if unknown:
        raise ValueError(f"racers: unknown optimizer(s) {sorted(unknown)}; expected some of {list(RACERS)}")
    if not (isinstance(steps, int) and 0 <= steps <= MAX_STEPS):
        raise ValueError(f"steps: expected an int from 0 to {MAX_STEPS}, got {steps!r}")
    f_min = lowest_value(make_surface(surface))
    lanes = []
    for name, settings in racers.items():
        # settings become a sorted tuple so that the cache can recognise a run it has seen
        run = first_steps(_run(surface, name, tuple(sorted(settings.items()))), steps)
        finite = run.last_finite_step + 1
        losses = run.losses[:finite].tolist()
        lanes.append(Lane(name, dict(settings), [tuple(p) for p in run.points[:finite].tolist()],
                          gaps_for_log_plot(losses, f_min), run.diverged_at, losses[-1] - f_min))
    if not lanes:
        message = "tick at least one optimizer to start the race"
    else:
        finished = [lane for lane in lanes if lane.diverged_at is None]
        if finished:
            best = min(finished, key=lambda lane: lane.final_gap)
            message = f"{surface}, {steps} steps: closest to the minimum is {best.name} (gap {best.final_gap:.2g})"
        else:
            message = f"{surface}: every optimizer diverged; lower the learning rates"
        blown = [lane.name for lane in lanes if lane.diverged_at is not None]
        if blown and finished:
            message += f"; diverged: {', '.join(blown)}"
    return RacePicture(surface, steps, lanes, message)


def draw_race(axes, picture: RacePicture) -> None:
    """Left: every path on the contour map. Right: every loss curve, log scale."""
    ax_map, ax_loss = axes
    draw_contours(ax_map, picture.surface)
    for lane in picture.lanes:
        colour = RACERS[lane.name][1]
        draw_path(ax_map, lane.path, color=colour)
        ax_loss.plot(range(len(lane.gaps)), lane.gaps, color=colour, lw=1.5, label=lane.label)
        if lane.diverged_at is not None:
            ax_loss.plot(len(lane.gaps) - 1, lane.gaps[-1], "x", color=colour, ms=9, mew=2)
    ax_map.set_title(f"{picture.surface}: paths from the same start", fontsize=10)
    ax_loss.set_xlim(0, max(picture.steps, 1))
    fast_log_scale(ax_loss)
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("loss - lowest loss")
    ax_loss.grid(True, which="major", alpha=0.3)
    ax_loss.set_title("loss against step (log scale; x = diverged)", fontsize=10)
    if picture.lanes:
        ax_loss.legend(fontsize=7.5, loc="lower left")
    ax_map.figure.suptitle(picture.message, fontsize=10)


def _key(name: str) -> str:
    return name.lower()


def racers_from_controls(values: dict) -> dict[str, dict]:
    """The explorer's control values (``on_adam``, ``lr_adam``, ``momentum_mu``, ...) as racer settings."""
    racers = {}
    for name in RACERS:
        if values[f"on_{_key(name)}"]:
            settings = {"lr": values[f"lr_{_key(name)}"]}
            if name == "momentum":
                settings["momentum"] = values["momentum_mu"]
            if name == "Adam":
                settings["betas"] = (values["adam_beta1"], 0.999)
            racers[name] = settings
    return racers


def _compute(surface: str, steps: int, **values) -> RacePicture:
    return race_data(surface, steps, racers_from_controls(values))


def _new_surface(explorer: PanelExplorer, surface: str) -> None:
    for name, lr in DEFAULT_LRS[surface].items():
        explorer.controls[f"lr_{_key(name)}"].value = lr


def race_explorer(surface: str = "tilted valley", steps: int = 150,
                  racers: tuple[str, ...] = ("SGD", "momentum", "RMSProp", "Adam")) -> PanelExplorer:
    """A surface menu and a steps slider; per optimizer, a checkbox and its settings."""
    wide = {"description_width": "initial"}
    controls = {
        "surface": widgets.Dropdown(options=SURFACE_NAMES, value=surface, description="surface"),
        "steps": widgets.IntSlider(value=steps, min=10, max=MAX_STEPS, step=10, description="steps"),
    }
    rows = [["surface", "steps"]]
    for name, lr in DEFAULT_LRS[surface].items():
        key = _key(name)
        controls[f"on_{key}"] = widgets.Checkbox(value=name in racers, description=name, indent=False,
                                                 layout=widgets.Layout(width="110px"))
        controls[f"lr_{key}"] = widgets.FloatLogSlider(value=lr, base=10, min=-4, max=0.5, step=0.05,
                                                       description="learning rate", readout_format=".3g",
                                                       style=wide)
        row = [f"on_{key}", f"lr_{key}"]
        if name == "momentum":
            controls["momentum_mu"] = widgets.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01,
                                                          description="momentum mu", style=wide)
            row.append("momentum_mu")
        if name == "Adam":
            controls["adam_beta1"] = widgets.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01,
                                                         description="beta1", style=wide)
            row.append("adam_beta1")
        rows.append(row)
    for row in rows[1:]:  # a racer that is not in the race: its settings would change nothing, so grey them out
        checkbox, settings = controls[row[0]], [controls[name] for name in row[1:]]

        def grey_out(_change=None, checkbox=checkbox, settings=settings):
            for control in settings:
                control.disabled = not checkbox.value
        grey_out()
        checkbox.observe(grey_out, names="value")
    return PanelExplorer(controls, _compute, draw_race, n_panels=2, figsize=(10.5, 4.2), rows=rows,
                         reactions={"surface": _new_surface})
