"""Softmax with a temperature: type some scores, slide the temperature, watch the probabilities.

    p = softmax(logits / T)

T = 1 is plain softmax. A low temperature sharpens the distribution towards the largest
score (T -> 0 gives all probability to it); a high temperature flattens it towards uniform.
Language models sample their next token this way, so T is the "creativity" knob.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import ipywidgets as widgets
import torch

from course_lib.functional import softmax
from course_lib.widgets.explorer import Explorer


@dataclass
class TemperaturePicture:
    labels: list[str]
    probs: list[float]            # softmax(logits / T)
    reference: list[float]        # softmax(logits) at T = 1, for comparison
    temperature: float
    entropy: float                # in nats: 0 = certain, log(C) = uniform
    message: str                  # what the picture shows, or why the scores could not be read


def parse_logits(text: str) -> list[float]:
    """Scores typed as "2, 1, 0.1" (commas or spaces) -> a list of floats; ValueError if unreadable."""
    parts = [p for p in text.replace(",", " ").split() if p]
    if not parts:
        raise ValueError("type at least one score, e.g. 2, 1, 0.1")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"could not read {text!r} as numbers; type scores like 2, 1, 0.1") from None
    if not all(math.isfinite(v) for v in values):
        raise ValueError("scores must be finite numbers")
    if len(values) > 30:
        raise ValueError(f"at most 30 scores fit in the picture, got {len(values)}")
    return values


def temperature_data(logits: str | list[float] = "2, 1, 0.1, -1", temperature: float = 1.0) -> TemperaturePicture:
    """The probabilities softmax(logits / T); unreadable scores give a picture that says why."""
    if not temperature > 0:
        raise ValueError(f"temperature: expected a value > 0, got {temperature!r}")
    try:
        values = parse_logits(logits) if isinstance(logits, str) else [float(v) for v in logits]
        if not values:
            raise ValueError("type at least one score, e.g. 2, 1, 0.1")
    except ValueError as error:
        return TemperaturePicture([], [], [], temperature, float("nan"), str(error))
    scores = torch.tensor(values, dtype=torch.float64)
    probs = softmax(scores / temperature)
    entropy = -(probs * torch.log(probs.clamp_min(1e-300))).sum().item()
    message = f"T = {temperature:.3g}: largest probability {probs.max().item():.3f}, entropy {entropy:.3f} nats"
    return TemperaturePicture([f"{v:g}" for v in values], probs.tolist(), softmax(scores).tolist(),
                              temperature, entropy, message)


def draw_temperature(ax, picture: TemperaturePicture) -> None:
    """Bars for softmax(logits / T); dashed outlines for T = 1 when T is not 1."""
    if not picture.probs:
        ax.text(0.5, 0.5, picture.message, ha="center", va="center", color="tab:red", wrap=True)
        ax.set_axis_off()
        return
    positions = range(len(picture.probs))
    ax.bar(positions, picture.probs, color="tab:blue", label=f"T = {picture.temperature:.3g}")
    if f"{picture.temperature:.3g}" != "1":  # at T = 1 the outline would repeat the bars (and the legend)
        ax.bar(positions, picture.reference, fill=False, edgecolor="black", linestyle="--",
               label="T = 1 (for comparison)")
    for i, p in enumerate(picture.probs):
        ax.text(i, p + 0.02, f"{p:.2f}", ha="center", fontsize=9)
    ax.set_xticks(list(positions), picture.labels)
    ax.set_xlabel("logit (score) of each class")
    ax.set_ylabel("probability")
    ax.set_ylim(0, 1.1)
    ax.set_title(picture.message, fontsize=10)
    ax.legend(loc="upper right", fontsize=8)


def temperature_explorer(logits: str = "2, 1, 0.1, -1", temperature: float = 1.0) -> Explorer:
    """A text box for the scores and a log-scale temperature slider, above the bar chart."""
    controls = {
        "logits": widgets.Text(value=logits, description="logits", continuous_update=False),
        "temperature": widgets.FloatLogSlider(value=temperature, base=10, min=-1.5, max=1.3, step=0.05,
                                              description="temperature", readout_format=".3g",
                                              style={"description_width": "initial"}),
    }
    return Explorer(controls, temperature_data, draw_temperature, figsize=(6.5, 3.8))
