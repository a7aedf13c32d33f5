"""The scaling explorer: how to split a compute budget between model size and data.

A slider picks the budget C in FLOPs (log scale). The left panel follows the iso-FLOP curve:
every model size N, trained on the D = C / (6 N) tokens the budget leaves, and the loss the
law predicts for it. Too small a model cannot use the data; too big a model sees too few
tokens; the lowest point (marked) is the compute-optimal model. The right panel shows how
that optimum moves as the budget grows: N_opt and D_opt against C, with the chosen budget
marked. Below the picture, the readout: N_opt, D_opt, tokens per parameter, and the
GPU-hours the run would take at the chosen utilisation of the accelerator's peak rate.

``scaling_data`` computes everything (no drawing, testable), ``draw_scaling`` draws it, and
``scaling_explorer`` puts them behind the controls. Pass ``fitted=`` a law of your own (say,
one fitted to the lesson's sweep) to compare its curve and optimum with Chinchilla's.
"""
from __future__ import annotations

import html
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np

from course_lib.scaling import A100_BF16_PEAK, CHINCHILLA, ScalingLaw, gpu_hours
from course_lib.widgets.panels import PanelExplorer, fast_log_scale

SPAN = 100.0       # the iso-FLOP curve is drawn from N_opt / SPAN to N_opt * SPAN
CURVE_POINTS = 201
FRONTIER_POINTS = 61
COLOURS = ["tab:blue", "tab:orange"]


@dataclass
class IsoFlopCurve:
    """One law's iso-FLOP curve at the chosen budget and its optimum."""

    name: str
    N: np.ndarray            # (CURVE_POINTS,) model sizes, log-spaced around N_opt
    loss: np.ndarray         # (CURVE_POINTS,) the law's loss for N parameters on C / (6 N) tokens
    N_opt: float
    D_opt: float
    loss_opt: float
    tokens_per_param: float
    frontier_N: np.ndarray   # (FRONTIER_POINTS,) N_opt at each budget of ScalingPicture.frontier_C
    frontier_D: np.ndarray   # (FRONTIER_POINTS,) D_opt likewise

    @property
    def readout(self) -> str:
        return (f"{self.name}: N_opt = {self.N_opt:.3g} parameters, D_opt = {self.D_opt:.3g} tokens "
                f"({self.tokens_per_param:.3g} tokens per parameter), loss {self.loss_opt:.3f}")


@dataclass
class ScalingPicture:
    compute: float
    utilisation: float
    peak_flops_per_s: float
    gpu_name: str
    gpu_hours: float         # of one such accelerator, for C FLOPs at that utilisation
    frontier_C: np.ndarray   # (FRONTIER_POINTS,) budgets for the right panel
    curves: list[IsoFlopCurve]
    message: str


def iso_flop_curve(law: ScalingLaw, name: str, compute: float, frontier_C: np.ndarray) -> IsoFlopCurve:
    """``law``'s loss along the iso-FLOP curve of ``compute`` FLOPs, and its optimum."""
    N_opt, D_opt = law.compute_optimal(compute)
    N = N_opt * np.logspace(-np.log10(SPAN), np.log10(SPAN), CURVE_POINTS)  # (CURVE_POINTS,)
    loss = law.loss(N, compute / (6 * N))                                   # D = C / (6 N)
    frontier_N, frontier_D = law.compute_optimal(frontier_C)
    return IsoFlopCurve(name, N, loss, float(N_opt), float(D_opt), float(law.loss(N_opt, D_opt)),
                        float(D_opt / N_opt), frontier_N, frontier_D)


def scaling_data(compute: float = 5.76e23, law: ScalingLaw = CHINCHILLA, fitted: ScalingLaw | None = None,
                 utilisation: float = 0.4, peak_flops_per_s: float = A100_BF16_PEAK, gpu_name: str = "A100",
                 compute_range: tuple[float, float] = (1e15, 1e27), law_name: str = "Chinchilla",
                 fitted_name: str = "fitted") -> ScalingPicture:
    """Everything the explorer shows for a budget of ``compute`` FLOPs."""
    low, high = compute_range
    frontier_C = np.logspace(np.log10(low), np.log10(high), FRONTIER_POINTS)  # (FRONTIER_POINTS,)
    laws = [(law_name, law)] + ([(fitted_name, fitted)] if fitted is not None else [])
    curves = [iso_flop_curve(one_law, name, compute, frontier_C) for name, one_law in laws]
    hours = float(gpu_hours(compute, peak_flops_per_s, utilisation))
    first = curves[0]
    message = (f"{first.name} at C = {compute:.3g} FLOPs: N_opt = {first.N_opt:.3g}, D_opt = {first.D_opt:.3g} "
               f"({first.tokens_per_param:.3g} tokens/parameter); {hours:.3g} {gpu_name} GPU-hours at "
               f"{utilisation:.0%}")
    return ScalingPicture(compute, utilisation, peak_flops_per_s, gpu_name, hours, frontier_C, curves, message)


def draw_scaling(axes, picture: ScalingPicture) -> None:
    """Left: loss along the iso-FLOP curve, optimum marked. Right: N_opt and D_opt against C.

    The left panel shows each curve's loss *above its own lowest point, as a fraction of its
    largest excess on the panel*: laws measured in different units (nats per token of web text,
    nats per character of the stories), or one far past the budgets it was fitted on (where its
    curve is nearly flat), then share one axis and each keeps its shape. The legend gives each
    curve's lowest loss and its excess at the panel's edge; the readout gives the losses.
    """
    ax_curve, ax_frontier = axes
    for curve, colour in zip(picture.curves, COLOURS):
        excess = curve.loss - curve.loss_opt                                  # (CURVE_POINTS,) >= 0
        largest = float(excess.max())
        ax_curve.plot(curve.N, excess / largest if largest > 0 else excess, color=colour, lw=1.8,
                      label=f"{curve.name} (lowest loss {curve.loss_opt:.3g}, up to +{largest:.2g})")
        ax_curve.plot([curve.N_opt], [0.0], "o", color=colour, ms=8, label=f"optimum: N = {curve.N_opt:.3g}")
        ax_curve.axvline(curve.N_opt, color=colour, ls=":", lw=1)
        ax_frontier.plot(picture.frontier_C, curve.frontier_N, color=colour, lw=1.8, label=f"{curve.name}: N_opt")
        ax_frontier.plot(picture.frontier_C, curve.frontier_D, color=colour, lw=1.8, ls="--",
                         label=f"{curve.name}: D_opt")
        ax_frontier.plot([picture.compute] * 2, [curve.N_opt, curve.D_opt], "o", color=colour, ms=6)
    ax_frontier.axvline(picture.compute, color="0.4", lw=1)
    fast_log_scale(ax_curve, "x")
    ax_curve.set_xlabel("parameters N (the tokens D = C / 6N shrink to the right)")
    ax_curve.set_ylabel("loss above the lowest (1 = the curve's most)")
    ax_curve.set_ylim(-0.05, 1.6)  # room above the curves for the legend
    ax_curve.set_title(f"iso-FLOP curve: every split of C = {picture.compute:.3g} FLOPs", fontsize=10)
    ax_curve.legend(fontsize=8, loc="upper center")
    ax_curve.grid(True, alpha=0.3)
    fast_log_scale(ax_frontier, "x")
    fast_log_scale(ax_frontier, "y")
    ax_frontier.set_xlabel("compute C (FLOPs)")
    ax_frontier.set_ylabel("parameters / tokens")
    ax_frontier.set_title("compute-optimal model size and data", fontsize=10)
    ax_frontier.legend(fontsize=8, loc="upper left")
    ax_frontier.grid(True, alpha=0.3)
    ax_curve.figure.suptitle(picture.message, fontsize=9.5)


class ScalingExplorer(PanelExplorer):
    """The compute and utilisation sliders, the two panels, and a readout of each law's optimum."""

    def __init__(self, controls, compute, draw):
        self.readout = widgets.HTML()
        super().__init__(controls, compute, draw, n_panels=2, figsize=(10.5, 4.2),
                         margins={"left": 0.07, "bottom": 0.14, "top": 0.84})
        self.children = (*self.children, self.readout)

    def update(self) -> None:
        super().update()
        picture = self.data
        lines = [html.escape(curve.readout) for curve in picture.curves]
        lines.append(html.escape(
            f"training: {picture.compute:.3g} FLOPs = {picture.gpu_hours:.3g} {picture.gpu_name} GPU-hours "
            f"at {picture.utilisation:.0%} of its {picture.peak_flops_per_s:.3g} FLOP/s peak"))
        self.readout.value = f"<div style='font-family:monospace'>{'<br>'.join(lines)}</div>"


def scaling_explorer(law: ScalingLaw = CHINCHILLA, fitted: ScalingLaw | None = None, compute: float = 5.76e23,
                     compute_range: tuple[float, float] = (1e15, 1e27), utilisation: float = 0.4,
                     peak_flops_per_s: float = A100_BF16_PEAK, gpu_name: str = "A100",
                     law_name: str = "Chinchilla", fitted_name: str = "fitted") -> ScalingExplorer:
    """A compute slider (log scale, FLOPs) and a utilisation slider over ``law``'s (and ``fitted``'s) optimum."""
    low, high = compute_range
    if not 0 < low < high or not low <= compute <= high:
        raise ValueError(f"expected 0 < compute_range[0] <= compute <= compute_range[1], "
                         f"got compute={compute!r}, compute_range={compute_range!r}")
    wide = {"description_width": "initial"}
    controls = {
        "compute": widgets.FloatLogSlider(value=compute, base=10, min=np.log10(low), max=np.log10(high), step=0.05,
                                          description="compute C (FLOPs)", readout_format=".3g", style=wide,
                                          layout=widgets.Layout(width="420px")),
        "utilisation": widgets.FloatSlider(value=utilisation, min=0.05, max=1.0, step=0.05,
                                           description="utilisation (MFU)", readout_format=".0%", style=wide),
    }

    def compute_picture(compute, utilisation):
        return scaling_data(compute, law, fitted, utilisation, peak_flops_per_s, gpu_name, compute_range,
                            law_name, fitted_name)

    return ScalingExplorer(controls, compute_picture, draw_scaling)
