"""The emergence explorer: the same models, a smooth metric and a sharp one (Schaeffer et al. 2023).

A slider picks the answer length L. Both panels show the runs of the course's scaling sweep
against their training compute 6 N D. The left panel is the per-character probability of the
right character, exp(-loss): it climbs smoothly. The right panel is the exact match of an
L-character answer, p^L: for L = 1 it is the same curve; as L grows it stays near zero for
the small runs and then shoots up. Nothing about the models changed, only the metric.

``emergence_data`` computes it (no drawing, testable) from ``evaluation.emergence``,
``draw_emergence`` draws it, ``emergence_explorer`` puts them behind the slider.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np

from course_lib.evaluation.emergence import emergence_curves
from course_lib.evaluation.inputs import check_int
from course_lib.widgets.panels import PanelExplorer, fast_log_scale


@dataclass
class EmergencePicture:
    length: int
    compute: np.ndarray       # (runs,) 6 N D, sorted
    per_token: np.ndarray     # (runs,) exp(-loss)
    exact_match: np.ndarray   # (runs,) per_token ** length
    n_params: np.ndarray      # (runs,)

    @property
    def readout(self) -> str:
        return (f"L = {self.length}: per-character probability {self.per_token.min():.3f} to "
                f"{self.per_token.max():.3f}; exact match of an L-character answer "
                f"{self.exact_match.min():.2g} to {self.exact_match.max():.2g}")


def emergence_data(length: int, rows: Sequence[dict] | None = None) -> EmergencePicture:
    """The sweep's runs (default: the shipped sweep) under the smooth and the L-character exact-match metric."""
    length = check_int(length, "length", 1)
    curves = emergence_curves(rows, answer_lengths=(length,))
    return EmergencePicture(length, curves.compute, curves.per_token, curves.exact_match[length], curves.n_params)


def draw_emergence(axes, picture: EmergencePicture) -> None:
    """Both metrics against compute, one colour per model size."""
    ax_smooth, ax_sharp = axes
    sizes = np.unique(picture.n_params)
    colours = [f"C{i}" for i in range(len(sizes))]
    for size, colour in zip(sizes, colours):
        runs = picture.n_params == size
        ax_smooth.plot(picture.compute[runs], picture.per_token[runs], "o-", color=colour, ms=4,
                       label=f"N = {size:.2g}")
        ax_sharp.plot(picture.compute[runs], picture.exact_match[runs], "o-", color=colour, ms=4)
    for ax in axes:
        fast_log_scale(ax, "x")
        ax.set_xlabel("training compute 6ND (FLOPs)")
        ax.set_ylim(-0.03, 1.03)
        ax.grid(True, alpha=0.3)
    ax_smooth.set_ylabel("p = exp(-loss)")
    ax_smooth.set_title("per character: smooth", fontsize=10)
    ax_smooth.legend(fontsize=7, loc="upper left", ncol=2)
    ax_sharp.set_ylabel(f"p^{picture.length}")
    ax_sharp.set_title(f"exact match of a {picture.length}-character answer", fontsize=10)


class EmergenceExplorer(PanelExplorer):
    """The L slider, the two panels and a readout."""

    def __init__(self, controls, compute, draw):
        self.readout = widgets.HTML()
        super().__init__(controls, compute, draw, n_panels=2, figsize=(10.0, 3.8))
        self.children = (*self.children, self.readout)

    def update(self) -> None:
        super().update()
        self.readout.value = f"<div style='font-family:monospace'>{self.data.readout}</div>"


def emergence_explorer(length: int = 10, max_length: int = 50, rows: Sequence[dict] | None = None) -> EmergenceExplorer:
    """An answer-length slider from 1 to ``max_length`` over the sweep's runs (default: the shipped sweep)."""
    check_int(max_length, "max_length", 1)
    if not 1 <= length <= max_length:
        raise ValueError(f"length: expected 1 <= length <= max_length={max_length}, got {length!r}")
    controls = {"length": widgets.IntSlider(value=length, min=1, max=max_length, description="answer length L",
                                            style={"description_width": "initial"},
                                            layout=widgets.Layout(width="420px"))}
    return EmergenceExplorer(controls, lambda length: emergence_data(length, rows), draw_emergence)
