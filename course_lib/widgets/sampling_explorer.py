"""Temperature, top-k and top-p on one next-token distribution, and the text they produce.

A language model gives a score (logit) to every token of its vocabulary. Sampling turns the
scores into a choice, in three steps (the order of ``course_lib.transformer.generation``):

1. **temperature** T: divide the logits by T. T < 1 sharpens the distribution, T > 1 flattens it;
2. **top-k**: keep the k most likely tokens, drop the rest (k = 0 here means "off");
3. **top-p** (nucleus): keep the most likely tokens until their probabilities reach p; the
   token that crosses p is kept (p = 1 means "off").

The tokens left are renormalised and one is drawn. ``sampling_data`` computes what to draw
(the probabilities before and after the filters, sorted from most to least likely), and
``sampling_explorer`` puts it under three sliders. Give it ``sample_text(temperature, top_k,
top_p, seed)`` and it also shows a continuation written with the same settings.
"""
from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import ipywidgets as widgets
import torch

from course_lib.transformer.generation import top_k_filter, top_p_filter
from course_lib.widgets.explorer import Explorer

SHOWN = 20  # bars in the picture: the most likely tokens at temperature 1


@dataclass
class SamplingPicture:
    labels: list[str]          # the SHOWN most likely tokens (at T = 1), most likely first
    original: list[float]      # their probabilities at T = 1, no filter
    probs: list[float]         # their probabilities after temperature and filters (0 if dropped)
    kept: list[bool]           # whether each shown token can still be drawn
    n_kept: int                # tokens left in the whole vocabulary
    vocab_size: int
    entropy: float             # of the final distribution, in nats (0 = certain)
    message: str


def sampling_distribution(logits: torch.Tensor, temperature: float = 1.0, top_k: int = 0,
                          top_p: float = 1.0) -> torch.Tensor:
    """The probabilities a token is drawn with: (V,) logits -> (V,) probabilities, 0 where filtered.

    ``top_k=0`` and ``top_p=1`` switch those filters off.
    """
    if logits.dim() != 1:
        raise ValueError(f"expected the logits of one position, shape (V,), got {tuple(logits.shape)}")
    if not temperature > 0:
        raise ValueError(f"temperature: expected a value > 0, got {temperature!r}")
    if not (isinstance(top_k, int) and top_k >= 0):
        raise ValueError(f"top_k: expected an int >= 0 (0 = off), got {top_k!r}")
    if not 0.0 < top_p <= 1.0:
        raise ValueError(f"top_p: expected a probability in (0, 1] (1 = off), got {top_p!r}")
    scaled = logits.double() / temperature  # (V,)
    if top_k > 0:
        scaled = top_k_filter(scaled, top_k)
    if top_p < 1.0:
        scaled = top_p_filter(scaled, top_p)
    return torch.softmax(scaled, dim=-1)    # (V,) exp(-inf) = 0 for the dropped tokens


def sampling_data(logits: torch.Tensor, labels: Sequence[str], temperature: float = 1.0, top_k: int = 0,
                  top_p: float = 1.0) -> SamplingPicture:
    """What the explorer draws for ``logits`` (V,) and the V token ``labels``."""
    if len(labels) != logits.shape[-1]:
        raise ValueError(f"expected one label per logit ({logits.shape[-1]}), got {len(labels)}")
    original = torch.softmax(logits.double(), dim=-1)                     # (V,)
    final = sampling_distribution(logits, temperature, top_k, top_p)      # (V,)
    shown = torch.argsort(original, descending=True, stable=True)[:SHOWN]  # the likeliest at T = 1
    n_kept = int((final > 0).sum())
    entropy = float(-(final[final > 0] * final[final > 0].log()).sum())
    settings = [f"T = {temperature:.2g}", f"top-k = {top_k}" if top_k else "top-k off",
                f"top-p = {top_p:.2f}" if top_p < 1 else "top-p off"]
    message = (f"{', '.join(settings)}:  {n_kept} of {len(labels)} tokens can be drawn, "
               f"entropy {entropy:.2f} nats")
    return SamplingPicture([labels[i] for i in shown], original[shown].tolist(), final[shown].tolist(),
                           (final[shown] > 0).tolist(), n_kept, len(labels), entropy, message)


def draw_sampling(ax, picture: SamplingPicture) -> None:
    """Outlined bars: probabilities at T = 1; filled bars: what sampling uses (grey = dropped)."""
    positions = range(len(picture.labels))
    ax.bar(positions, picture.original, fill=False, edgecolor="black", linestyle="--", label="T = 1, no filter")
    colours = ["tab:blue" if kept else "0.85" for kept in picture.kept]
    ax.bar(positions, picture.probs, color=colours, width=0.6, label="after temperature and filters")
    ax.set_xticks(list(positions), [repr(label)[1:-1] for label in picture.labels], rotation=60,
                  ha="right", fontsize=8)
    top = max(max(picture.original, default=0), max(picture.probs, default=0))
    ax.set_ylim(0, min(1.05, top * 1.15 + 0.02))
    ax.set_ylabel("probability of the next token")
    ax.set_title(picture.message, fontsize=9)
    ax.legend(loc="upper right", fontsize=8)


class SamplingExplorer(Explorer):
    """Three sliders and a seed above the distribution, and (optionally) a sampled text below."""

    def __init__(self, logits: torch.Tensor, labels: Sequence[str],
                 sample_text: Callable[[float, int, float, int], str] | None = None,
                 context: str = ""):
        self.sample_text, self.context = sample_text, context
        self.text = ""
        self.text_box = widgets.HTML()
        controls = {
            "temperature": widgets.FloatLogSlider(value=1.0, base=10, min=-1.3, max=0.7, step=0.05,
                                                  description="temperature", readout_format=".2g",
                                                  style={"description_width": "initial"}),
            "top_k": widgets.IntSlider(value=0, min=0, max=min(50, len(labels)), description="top-k (0 = off)",
                                       style={"description_width": "initial"}),
            "top_p": widgets.FloatSlider(value=1.0, min=0.05, max=1.0, step=0.05, description="top-p (1 = off)",
                                         style={"description_width": "initial"}),
            "seed": widgets.IntText(value=0, description="seed", layout=widgets.Layout(width="140px")),
        }

        def compute(temperature, top_k, top_p, seed):
            return sampling_data(logits, labels, temperature, top_k, top_p)

        super().__init__(controls, compute, draw_sampling, figsize=(8.0, 3.6),
                         margins=dict(left=0.09, bottom=0.21))  # room for the slanted token labels
        self.children = (*self.children, self.text_box)

    def update(self) -> None:
        super().update()
        values = self.values()
        if self.sample_text is None:
            self.text = ""
        else:
            self.text = self.sample_text(values["temperature"], values["top_k"], values["top_p"], values["seed"])
        caption = f"<b>{html.escape(self.context)}</b>" if self.context else ""
        self.text_box.value = (f"<div style='font-family:monospace; white-space:pre-wrap'>{caption}"
                               f"{html.escape(self.text)}</div>")


def sampling_explorer(logits: torch.Tensor, labels: Sequence[str],
                      sample_text: Callable[[float, int, float, int], str] | None = None,
                      context: str = "") -> SamplingExplorer:
    """Sliders for temperature, top-k and top-p over the next-token ``logits`` (V,) with token ``labels``.

    ``sample_text(temperature, top_k, top_p, seed)`` (optional) returns a text written with
    those settings; it is shown below the picture and rewritten on every change.
    ``context`` is the text the distribution continues: it is shown, in bold, before the sample.
    """
    if not isinstance(logits, torch.Tensor) or logits.dim() != 1 or not math.isfinite(float(logits.max())):
        raise ValueError("logits: expected a 1-d tensor of finite scores, one per token")
    return SamplingExplorer(logits.detach().cpu(), list(labels), sample_text, context)
