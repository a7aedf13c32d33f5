"""The clip explorer: PPO's clipped objective against the probability ratio, for A > 0 and A < 0.

PPO maximises, for every sampled token, min(r A, clip(r, 1 - eps, 1 + eps) A) with the ratio
r = pi_new(token) / pi_old(token) and the token's advantage A. Two panels, one per sign of A:

* **A > 0** (a good token): raising r raises the objective until r = 1 + eps; beyond, the clipped
  term wins the min, the objective is flat and the gradient is exactly zero. Lowering r is never
  clipped: if an update made a good token *less* likely, PPO pulls it back with full force.
* **A < 0** (a bad token): lowering r helps until r = 1 - eps, then it is flat; raising r is
  never clipped.

The flat parts are shaded: there a token no longer pushes the policy, which is what keeps several
epochs over one batch of rollouts from moving the policy far. Sliders pick eps, |A| and a ratio
whose objective and gradient the readout gives.

``clip_data`` computes the curves (no drawing, testable) with the library's ``ppo_clip_loss``,
``draw_clip`` draws them, ``clip_explorer`` puts them behind the sliders.
"""
from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
import torch

from course_lib.alignment.ppo import ppo_clip_loss
from course_lib.widgets.panels import PanelExplorer

RATIO_RANGE = (0.0, 2.0)


@dataclass
class ClipPicture:
    eps: float
    advantage: float                 # |A|: the left panel uses +|A|, the right one -|A|
    ratio: np.ndarray                # (N,) the x axis
    objective: dict[str, np.ndarray] # "A > 0" / "A < 0" -> (N,) min(r A, clip(r) A)
    unclipped: dict[str, np.ndarray] # (N,) r A
    flat: dict[str, np.ndarray]      # (N,) bool: the gradient is exactly zero there
    marker: float                    # the ratio the readout is about
    at_marker: dict[str, tuple[float, float]]   # sign -> (objective, d objective / d r) at the marker

    @property
    def readout(self) -> str:
        parts = [f"{sign}: objective {value + 0.0:+.3f}, gradient {grad + 0.0:+.3f}"
                 for sign, (value, grad) in self.at_marker.items()]
        return f"eps = {self.eps:.2f}, ratio r = {self.marker:.2f}: " + "; ".join(parts)


def _objective_and_gradient(ratio: torch.Tensor, advantage: float, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The clipped objective (N,) at each ratio and its derivative in r (N,), the latter by autograd
    through the library's ``ppo_clip_loss`` (one token per ratio)."""
    ratio = ratio.double()
    objective = torch.minimum(ratio * advantage, ratio.clamp(1 - eps, 1 + eps) * advantage)     # (N,)
    logp_new = ratio.log()[None, :].clone().requires_grad_(True)              # (1, N) log r, with log pi_old = 0
    loss, _ = ppo_clip_loss(logp_new, torch.zeros_like(logp_new), torch.full_like(logp_new, advantage),
                            torch.ones_like(logp_new, dtype=torch.bool), eps)
    (grad_log,) = torch.autograd.grad(loss, logp_new)
    # the loss is the mean of -objective over the N tokens: -N times its gradient is each token's own
    return objective, -len(ratio) * grad_log[0] / ratio                        # d/dr = (d/d log r) / r


def clip_data(eps: float = 0.2, advantage: float = 1.0, marker: float = 1.3, points: int = 161) -> ClipPicture:
    """The clipped objective for +|A| and -|A| over ratios in (0, 2]."""
    if not 0.0 < eps < 1.0:
        raise ValueError(f"eps: expected 0 < eps < 1, got {eps!r}")
    if not advantage > 0:
        raise ValueError(f"advantage: expected |A| > 0, got {advantage!r}")
    if not RATIO_RANGE[0] < marker <= RATIO_RANGE[1]:
        raise ValueError(f"marker: expected a ratio in (0, 2], got {marker!r}")
    ratio = torch.linspace(0.0, RATIO_RANGE[1], points, dtype=torch.float64)[1:]      # (N,) r > 0
    objective, unclipped, flat, at_marker = {}, {}, {}, {}
    for sign, A in (("A > 0", advantage), ("A < 0", -advantage)):
        value, grad = _objective_and_gradient(ratio, A, eps)
        objective[sign], unclipped[sign] = value.numpy(), (ratio * A).numpy()
        flat[sign] = (grad == 0).numpy()
        v, g = _objective_and_gradient(torch.tensor([marker], dtype=torch.float64), A, eps)
        at_marker[sign] = (v.item(), g.item())
    return ClipPicture(eps, advantage, ratio.numpy(), objective, unclipped, flat, marker, at_marker)


def draw_clip(axes, picture: ClipPicture) -> None:
    """One panel per sign of A: r A dashed, the clipped objective solid, the flat part shaded."""
    for ax, sign in zip(axes, ("A > 0", "A < 0")):
        r, y, flat = picture.ratio, picture.objective[sign], picture.flat[sign]
        ax.plot(r, picture.unclipped[sign], "--", color="0.6", lw=1.2, label="r A (no clip)")
        ax.plot(r, y, color="C0" if sign == "A > 0" else "C3", lw=2.2, label="min(r A, clip(r) A)")
        low, high = min(picture.unclipped[sign].min(), y.min()), max(picture.unclipped[sign].max(), y.max())
        ax.fill_between(r, low, high, where=flat, color="0.85", alpha=0.6, lw=0, label="gradient = 0")
        for edge in (1 - picture.eps, 1 + picture.eps):
            ax.axvline(edge, color="0.4", lw=0.8, ls=":")
        value, _ = picture.at_marker[sign]
        ax.plot([picture.marker], [value], "o", color="k", ms=6)
        ax.set_xlim(*RATIO_RANGE)
        ax.set_ylim(low - 0.05 * (high - low), high + 0.05 * (high - low))
        ax.set_xlabel("ratio r = pi_new / pi_old")
        ax.set_title(f"{sign}: advantage {'+' if sign == 'A > 0' else '-'}{picture.advantage:g}", fontsize=10)
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("objective (PPO maximises it)")
    axes[0].legend(fontsize=7, loc="upper left")


class ClipExplorer(PanelExplorer):
    """The eps, |A| and ratio sliders, the two panels and a readout."""

    def __init__(self, controls, compute, draw):
        self.readout = widgets.HTML()
        super().__init__(controls, compute, draw, n_panels=2, figsize=(10.0, 3.8))
        self.children = (*self.children, self.readout)

    def update(self) -> None:
        super().update()
        self.readout.value = f"<div style='font-family:monospace'>{self.data.readout}</div>"


def clip_explorer(eps: float = 0.2, advantage: float = 1.0, marker: float = 1.3) -> ClipExplorer:
    """Sliders for the clip range eps, the size of the advantage |A| and a ratio to read off."""
    clip_data(eps, advantage, marker)  # bad arguments fail here, with the message of clip_data
    style, layout = {"description_width": "initial"}, widgets.Layout(width="300px")
    controls = {
        "eps": widgets.FloatSlider(value=eps, min=0.05, max=0.5, step=0.05, description="clip eps",
                                   style=style, layout=layout),
        "advantage": widgets.FloatSlider(value=advantage, min=0.25, max=2.0, step=0.25, description="|A|",
                                         style=style, layout=layout),
        "marker": widgets.FloatSlider(value=marker, min=0.05, max=2.0, step=0.05, description="ratio r",
                                      style=style, layout=layout),
    }
    return ClipExplorer(controls, clip_data, draw_clip)
