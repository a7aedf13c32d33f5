"""Drawing a 2-D loss surface and paths across it: the pieces the surface explorers share.

Losses on these surfaces span many orders of magnitude (Rosenbrock's walls are 10^4 times
higher than its valley floor), so everything is drawn as the *gap to the lowest value*,
``loss - f_min``, on a log scale: contour levels spaced by factors, and loss curves on a
log axis where linear convergence is a straight line.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from course_lib.surfaces import Beale, IllConditionedQuadratic, NoisySurface, Rosenbrock, Saddle, Surface

# The surfaces on offer. The tilted valley is the quadratic turned by 30 degrees: its axes are
# no longer the coordinate axes, which takes away the per-coordinate methods' easy win.
SURFACE_CHOICES = {
    "quadratic": lambda: IllConditionedQuadratic(condition=20.0),
    "tilted valley": lambda: IllConditionedQuadratic(condition=20.0, angle=math.pi / 6),
    "rosenbrock": Rosenbrock,
    "saddle": Saddle,
    "beale": Beale,
    "noisy": NoisySurface,
}
SURFACE_NAMES = list(SURFACE_CHOICES)
FLOOR = 1e-12  # gaps below this are drawn at the floor of the log axis (exact 0 has no log)


@lru_cache(maxsize=None)
def make_surface(name: str) -> Surface:
    """The surface called ``name`` (one shared instance per name)."""
    if name not in SURFACE_CHOICES:
        raise ValueError(f"surface: expected one of {SURFACE_NAMES}, got {name!r}")
    return SURFACE_CHOICES[name]()


def lowest_value(surface: Surface) -> float:
    """The loss at the surface's minimum (on the saddle both valleys share it: -1/4)."""
    return float(surface.value(*surface.minimum))


@dataclass(frozen=True)
class ContourGrid:
    """A surface sampled on a grid, ready for ``ax.contour``: arrays of shape (n, n)."""

    x: np.ndarray
    y: np.ndarray
    gap: np.ndarray          # loss - f_min >= 0
    levels: np.ndarray       # increasing gaps, spaced by a constant factor
    f_min: float


@lru_cache(maxsize=None)
def contour_grid(name: str, n: int = 70) -> ContourGrid:
    """The grid of surface ``name``, computed once; levels cover its 2nd to 95th percentile."""
    surface = make_surface(name)
    X, Y, Z = surface.grid(n)
    f_min = lowest_value(surface)
    gap = (Z - f_min).clamp(min=0.0).numpy()
    low, high = np.percentile(gap, [2, 95])
    levels = np.geomspace(max(low, 1e-4), high, 14)
    return ContourGrid(X.numpy(), Y.numpy(), gap, levels, f_min)


def draw_contours(ax, name: str) -> None:
    """The surface's contour map with its minimum marked, the axes fixed to its window."""
    grid = contour_grid(name)
    ax.contour(grid.x, grid.y, grid.gap, levels=grid.levels, cmap="viridis", linewidths=0.8,
               norm="log")
    surface = make_surface(name)
    ax.plot(*surface.minimum, marker="*", color="gold", markersize=14, markeredgecolor="black", zorder=5)
    (x_lo, x_hi), (y_lo, y_hi) = surface.bounds
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    ax.set_xlabel("x")
    ax.set_ylabel("y")


def gaps_for_log_plot(losses, f_min: float) -> list[float]:
    """``loss - f_min`` for each finite loss, raised to FLOOR so that a log axis can show it."""
    return [max(loss - f_min, FLOOR) for loss in losses if math.isfinite(loss)]


def inside(point, bounds) -> bool:
    (x_lo, x_hi), (y_lo, y_hi) = bounds
    return x_lo <= point[0] <= x_hi and y_lo <= point[1] <= y_hi

