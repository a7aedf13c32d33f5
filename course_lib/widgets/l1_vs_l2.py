"""L1 against L2: why one penalty sets weights to exactly zero and the other only shrinks them.

One slider, the penalty strength lambda, drives three pictures:

1. the geometry, on a regression with two correlated features. Penalised least squares at
   lambda has the same answer as least squares restricted to a region: the diamond
   ``|w1| + |w2| <= t`` for L1, the disc ``w1^2 + w2^2 <= t^2`` for L2, with t the size of the
   penalised answer. The answer is where the smallest loss contour (an ellipse around the
   unpenalised answer) touches the region. The diamond's corners stick out, so the touch is
   often on a corner, where one weight is exactly 0; the disc has no corners.
2. and 3. the coefficient paths on a regression with six correlated features, half of them
   useless: every weight of the lasso (L1) and of ridge (L2) against lambda, with the
   number of weights that are exactly 0.

All answers come from ``course_lib.regularization`` (``lasso`` by proximal gradient, whose
zeros are exact, and ``ridge`` in closed form) on a fixed grid of strengths, computed once;
a slider move only picks a row and redraws.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import ipywidgets as widgets
import numpy as np
import torch

from course_lib.regularization import correlated_regression, lasso, ridge
from course_lib.widgets.panels import PanelExplorer, fast_log_scale

LOG10_STRENGTHS = (-3.0, 1.0, 0.05)  # the grid of lambda: 10^-3 ... 10^1 in steps of 10^0.05
FEATURE_COLOURS = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]


def strength_grid() -> list[float]:
    low, high, step = LOG10_STRENGTHS
    n = round((high - low) / step) + 1
    return [10 ** (low + i * step) for i in range(n)]


def nearest_index(strength: float) -> int:
    """The grid point closest to ``strength`` on the log scale."""
    if not (isinstance(strength, (int, float)) and strength > 0 and math.isfinite(strength)):
        raise ValueError(f"strength: expected a number > 0, got {strength!r}")
    low, high, step = LOG10_STRENGTHS
    i = round((math.log10(strength) - low) / step)
    return min(max(i, 0), len(strength_grid()) - 1)


def lasso_path(X: torch.Tensor, y: torch.Tensor, strengths: list[float]) -> torch.Tensor:
    """The lasso answer at each strength, (S, D): ``coefficient_paths(X, y, strengths, "l1")``
    with a tolerance of 1e-10 instead of 1e-12, which is plenty for a picture and 40% faster."""
    answers, w = [], None
    for strength in strengths:
        w = lasso(X, y, strength, w_start=w, tol=1e-10)  # warm start from the previous strength
        answers.append(w)
    return torch.stack(answers)


def squared_error(X: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``||y - X w||^2 / (2N)`` for one w (D,) or many (..., D)."""
    residual = y - w @ X.T  # (..., N)
    return (residual * residual).mean(-1) / 2


@dataclass(frozen=True)
class Problems:
    """Everything the slider chooses from, computed once."""

    strengths: list[float]
    # the two-feature regression for the geometry
    X2: torch.Tensor                  # (N, 2)
    y2: torch.Tensor                  # (N,)
    w2_unpenalised: torch.Tensor      # (2,)
    w2_l1: torch.Tensor               # (S, 2) lasso answer at each strength
    w2_l2: torch.Tensor               # (S, 2) ridge answer at each strength
    grid_w1: np.ndarray               # (n, n) a window of weight space ...
    grid_w2: np.ndarray
    grid_loss: np.ndarray             # ... and the loss over it
    # the six-feature regression for the paths
    w6_true: torch.Tensor             # (6,)
    l1_path: torch.Tensor             # (S, 6)
    l2_path: torch.Tensor             # (S, 6)


def two_feature_regression(n_samples: int = 80, correlation: float = 0.7, seed: int = 0):
    """Two correlated features, both useful (true weights 2 and 0.3): L1 drops the weaker one."""
    X, _, _ = correlated_regression(n_samples, n_features=2, correlation=correlation, noise=0.0, seed=seed)
    g = torch.Generator().manual_seed(seed + 1)
    y = X @ torch.tensor([2.0, 0.3], dtype=X.dtype) + 0.5 * torch.randn(n_samples, generator=g, dtype=X.dtype)
    return X, y - y.mean()  # X: (N, 2) centred already; y: (N,)


@lru_cache(maxsize=1)
def problems() -> Problems:
    """Both regressions and their answers at every strength of the grid (about a second)."""
    strengths = strength_grid()
    X2, y2 = two_feature_regression()
    w2_l1 = lasso_path(X2, y2, strengths)
    w2_l2 = torch.stack([ridge(X2, y2, s) for s in strengths])
    w_hat = ridge(X2, y2, 0.0)         # plain least squares
    axis = np.linspace(-1.0, 3.0, 61)
    grid_w1, grid_w2 = np.meshgrid(axis, axis)
    points = torch.tensor(np.stack([grid_w1, grid_w2], -1))  # (n, n, 2)
    grid_loss = squared_error(X2, y2, points).numpy()        # (n, n)

    X6, y6, w6_true = correlated_regression(n_samples=80, n_features=6, correlation=0.8, seed=0)
    l2_path = torch.stack([ridge(X6, y6, s) for s in strengths])
    return Problems(strengths, X2, y2, w_hat, w2_l1, w2_l2, grid_w1, grid_w2, grid_loss, w6_true,
                    lasso_path(X6, y6, strengths), l2_path)


@dataclass
class PenaltyPicture:
    strength: float                   # the grid value actually used
    w_unpenalised: list[float]        # (2,) the centre of the loss ellipses
    w_l1: list[float]                 # (2,) lasso answer: on the diamond
    w_l2: list[float]                 # (2,) ridge answer: on the disc
    l1_budget: float                  # |w1| + |w2| of the lasso answer: the diamond's size
    l2_radius: float                  # sqrt(w1^2 + w2^2) of the ridge answer: the disc's radius
    loss_l1: float                    # the loss contour that touches the diamond
    loss_l2: float                    # ... and the disc
    strengths: list[float]
    l1_path: list[list[float]]        # (S, 6)
    l2_path: list[list[float]]        # (S, 6)
    l1_weights: list[float]           # (6,) at this strength
    l2_weights: list[float]
    l1_zeros: int                     # how many of the six weights are exactly 0
    l2_zeros: int
    message: str


def penalty_data(strength: float = 1.0) -> PenaltyPicture:
    """The answers of L1 and L2 at the grid strength nearest to ``strength``."""
    p = problems()
    i = nearest_index(strength)
    w_l1, w_l2 = p.w2_l1[i], p.w2_l2[i]
    l1_weights, l2_weights = p.l1_path[i], p.l2_path[i]
    l1_zeros, l2_zeros = int((l1_weights == 0).sum()), int((l2_weights == 0).sum())
    zero_in_2d = [k + 1 for k in range(2) if w_l1[k] == 0]
    corner = (f"the L1 answer sits on a corner (w{zero_in_2d[0]} = 0)" if len(zero_in_2d) == 1 else
              "the L1 answer is the origin" if zero_in_2d else "the L1 answer is on an edge, both weights nonzero")
    message = (f"lambda = {p.strengths[i]:.3g}: {corner}; six features: L1 has {l1_zeros} exact zeros, "
               f"L2 has {l2_zeros}")
    return PenaltyPicture(
        p.strengths[i], p.w2_unpenalised.tolist(), w_l1.tolist(), w_l2.tolist(),
        w_l1.abs().sum().item(), w_l2.norm().item(),
        squared_error(p.X2, p.y2, w_l1).item(), squared_error(p.X2, p.y2, w_l2).item(),
        p.strengths, p.l1_path.tolist(), p.l2_path.tolist(), l1_weights.tolist(), l2_weights.tolist(),
        l1_zeros, l2_zeros, message)


def draw_geometry(ax, picture: PenaltyPicture) -> None:
    """Loss ellipses, the diamond and the disc, and where each is touched."""
    p = problems()
    floor = squared_error(p.X2, p.y2, p.w2_unpenalised).item()  # the lowest loss, at the centre
    levels = floor + np.geomspace(0.02, 8.0, 8)
    ax.contour(p.grid_w1, p.grid_w2, p.grid_loss, levels=levels, colors="0.75", linewidths=0.7)
    t, r = picture.l1_budget, picture.l2_radius
    ax.fill([t, 0, -t, 0], [0, t, 0, -t], color="tab:red", alpha=0.18, lw=0)
    ax.plot([t, 0, -t, 0, t], [0, t, 0, -t, 0], color="tab:red", lw=1.2, label="L1: |w1| + |w2| <= t")
    angles = np.linspace(0, 2 * np.pi, 120)
    ax.fill(r * np.cos(angles), r * np.sin(angles), color="tab:blue", alpha=0.15, lw=0)
    ax.plot(r * np.cos(angles), r * np.sin(angles), color="tab:blue", lw=1.2, label="L2: w1^2 + w2^2 <= t^2")
    # the contour through each answer: the lowest loss the region allows
    for level, colour in ((picture.loss_l1, "tab:red"), (picture.loss_l2, "tab:blue")):
        if level > floor + 1e-9:
            ax.contour(p.grid_w1, p.grid_w2, p.grid_loss, levels=[level], colors=colour, linewidths=0.9,
                       linestyles="--")
    ax.plot(*picture.w_unpenalised, "k+", ms=10, mew=2, label="no penalty")
    ax.plot(*picture.w_l1, "o", color="tab:red", ms=8, markeredgecolor="black", label="L1 answer")
    ax.plot(*picture.w_l2, "o", color="tab:blue", ms=8, markeredgecolor="black", label="L2 answer")
    ax.axhline(0, color="0.5", lw=0.6)
    ax.axvline(0, color="0.5", lw=0.6)
    ax.set_xlim(-1.0, 3.0)
    ax.set_ylim(-1.0, 3.0)
    ax.set_aspect("equal")
    ax.set_xlabel("w1")
    ax.set_ylabel("w2")
    ax.set_title("two correlated features", fontsize=10)
    ax.legend(fontsize=7, loc="upper right")


def draw_path(ax, picture: PenaltyPicture, which: str) -> None:
    """Every weight against lambda (log scale), a line at the current lambda."""
    path = picture.l1_path if which == "l1" else picture.l2_path
    zeros = picture.l1_zeros if which == "l1" else picture.l2_zeros
    for k in range(len(path[0])):
        ax.plot(picture.strengths, [row[k] for row in path], color=FEATURE_COLOURS[k], lw=1.5,
                label=f"w{k + 1}")
    fast_log_scale(ax, "x")
    ax.axhline(0, color="0.5", lw=0.6)
    ax.axvline(picture.strength, color="black", ls="--", lw=1)
    ax.set_xlabel("penalty strength lambda")
    name = "L1 (lasso)" if which == "l1" else "L2 (ridge)"
    ax.set_title(f"{name}: {zeros} of {len(path[0])} weights exactly 0", fontsize=10,
                 color="tab:red" if zeros else "black")


def draw_penalties(axes, picture: PenaltyPicture) -> None:
    ax_geometry, ax_l1, ax_l2 = axes
    draw_geometry(ax_geometry, picture)
    draw_path(ax_l1, picture, "l1")
    draw_path(ax_l2, picture, "l2")
    ax_l1.set_ylabel("weight")
    ax_l2.set_ylim(*ax_l1.get_ylim())
    # One legend for both paths, where the L2 weights have shrunk away from the top right.
    ax_l2.legend(fontsize=7, loc="upper right", ncol=2)
    ax_geometry.figure.suptitle(picture.message, fontsize=10)


def penalty_explorer(strength: float = 1.0) -> PanelExplorer:
    """A log-scale slider for the penalty strength lambda, above the three pictures."""
    low, high, step = LOG10_STRENGTHS
    controls = {
        "strength": widgets.FloatLogSlider(value=strength, base=10, min=low, max=high, step=step,
                                           description="penalty strength lambda", readout_format=".3g",
                                           style={"description_width": "initial"},
                                           layout=widgets.Layout(width="480px")),
    }
    return PanelExplorer(controls, penalty_data, draw_penalties, n_panels=3, figsize=(12.5, 4.0),
                         margins=dict(left=0.05, wspace=0.25))
