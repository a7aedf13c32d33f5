"""The LoRA explorer: what a trained low-rank update looks like, and what its rank costs.

Give it trained LoRA layers of one linear layer at several ranks (``{rank: LoRALinear}``) and,
optionally, the change that full fine-tuning made to the same weight. A slider picks the rank,
another alpha. The left panel shows the singular values of the update
``delta W = (alpha / r) B A``: at most r of them are not zero, which is what "low rank" means.
Alpha rescales a trained update (all its singular values grow in proportion); during training,
alpha / r acts like a multiplier on the update's learning rate. The full fine-tuning update's
singular values are drawn beside it for comparison. The right panel counts what LoRA trains
for this layer, r (in + out), against the in * out numbers of the full weight.

``lora_data`` computes everything (no drawing, testable), ``draw_lora`` draws it, and
``lora_explorer`` puts them behind the controls.
"""
from __future__ import annotations

import html
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
import torch

from course_lib.finetuning.lora import LoRALinear
from course_lib.widgets.panels import PanelExplorer, fast_log_scale

SHOWN = 40          # singular values drawn (the largest)
TINY = 1e-6         # relative to the largest: below this a singular value counts as zero


@dataclass
class LoRAPicture:
    rank: int
    alpha: float
    scale: float                      # alpha / rank
    trained_alpha: float              # the alpha the adapter was trained with
    shape: tuple[int, int]            # (out, in) of the layer
    singular_values: np.ndarray       # (min(out, in),) of (alpha / r) B A, largest first
    numerical_rank: int               # how many are above TINY times the largest
    full_singular_values: np.ndarray | None   # of the full fine-tuning update, largest first
    ranks: np.ndarray                 # every rank the slider offers
    trainable: np.ndarray             # r (in + out) for each of those ranks
    full_weights: int                 # in * out
    n_layers: int                     # how many such layers the adapters are on (for the readout)
    message: str


def lora_update(layer: LoRALinear, alpha: float | None = None) -> torch.Tensor:
    """``(alpha / r) B A`` of a LoRA layer (its own alpha by default): (out, in), float64, no grad."""
    alpha = layer.alpha if alpha is None else alpha
    with torch.no_grad():
        return (alpha / layer.r) * (layer.B.double() @ layer.A.double()).cpu()


def lora_data(adapters: dict[int, LoRALinear], rank: int, alpha: float, full_update: torch.Tensor | None = None,
              n_layers: int = 1) -> LoRAPicture:
    """What the explorer shows for the adapter of ``rank``, rescaled to ``alpha``."""
    if not adapters or any(not isinstance(layer, LoRALinear) for layer in adapters.values()):
        raise ValueError("adapters: expected {rank: LoRALinear} with at least one trained LoRA layer")
    if rank not in adapters:
        raise ValueError(f"rank: expected one of the trained ranks {sorted(adapters)}, got {rank!r}")
    if not alpha > 0:
        raise ValueError(f"alpha: expected a number > 0, got {alpha!r}")
    layer = adapters[rank]
    shapes = {tuple(a.base.weight.shape) for a in adapters.values()}
    if len(shapes) != 1:
        raise ValueError(f"adapters: expected LoRA layers of one layer shape, got shapes {sorted(shapes)}")
    out_features, in_features = shapes.pop()
    values = torch.linalg.svdvals(lora_update(layer, alpha)).numpy()          # (min(out, in),)
    numerical_rank = int((values > TINY * max(values.max(), 1e-300)).sum())
    full_values = None
    if full_update is not None:
        if tuple(full_update.shape) != (out_features, in_features):
            raise ValueError(f"full_update: expected the shape of the layer's weight {(out_features, in_features)}, "
                             f"got {tuple(full_update.shape)}")
        full_values = torch.linalg.svdvals(full_update.detach().double().cpu()).numpy()
    ranks = np.array(sorted(adapters))
    trainable = ranks * (in_features + out_features)
    count = rank * (in_features + out_features)
    message = (f"r = {rank}, alpha = {alpha:g}: scale alpha / r = {alpha / rank:.3g}; "
               f"{count:,} trainable numbers in this layer ({count / (in_features * out_features):.1%} of "
               f"{in_features * out_features:,}); {numerical_rank} singular values above zero")
    return LoRAPicture(rank, float(alpha), alpha / rank, float(layer.alpha), (out_features, in_features), values,
                       numerical_rank, full_values, ranks, trainable, in_features * out_features, n_layers, message)


def draw_lora(axes, picture: LoRAPicture) -> None:
    """Left: the singular values of the updates. Right: trainable numbers against the rank."""
    ax_values, ax_count = axes
    shown = picture.singular_values[:SHOWN]
    index = np.arange(1, len(shown) + 1)
    floor = max(shown.max(), 1e-12) * 1e-4      # zeros drawn at the bottom of the log axis
    zero = shown <= TINY * max(shown.max(), 1e-300)   # drawn as light stubs at the bottom of the log axis
    ax_values.bar(index, np.maximum(shown, floor), color=np.where(zero, "#d9d9d9", "tab:green"),
                  label=f"LoRA r = {picture.rank}: (alpha / r) B A")
    if picture.full_singular_values is not None:
        full = picture.full_singular_values[:SHOWN]
        ax_values.plot(np.arange(1, len(full) + 1), np.maximum(full, floor), "o-", color="tab:red", ms=3,
                       label="full fine-tuning's change")
    ax_values.axvline(picture.rank + 0.5, color="0.4", ls=":", lw=1)
    fast_log_scale(ax_values, "y")
    ax_values.set_xlabel("singular value number (largest first)")
    ax_values.set_ylabel("singular value")
    ax_values.set_title(f"the update has rank {picture.numerical_rank} (at most r = {picture.rank})", fontsize=10)
    ax_values.legend(fontsize=8, loc="upper right")

    ax_count.plot(picture.ranks, picture.trainable, "o-", color="tab:green", label="LoRA: r (in + out)")
    ax_count.axhline(picture.full_weights, color="tab:red", ls="--", label=f"full weight: {picture.full_weights:,}")
    chosen = picture.rank * (picture.shape[0] + picture.shape[1])
    ax_count.plot([picture.rank], [chosen], "o", color="k", ms=9, label=f"r = {picture.rank}: {chosen:,}")
    fast_log_scale(ax_count, "x")
    fast_log_scale(ax_count, "y")
    ax_count.set_xlabel("rank r")
    ax_count.set_ylabel("trainable numbers in this layer")
    ax_count.set_title(f"what a {picture.shape[0]} x {picture.shape[1]} layer trains", fontsize=10)
    ax_count.legend(fontsize=8, loc="lower right")
    ax_values.figure.suptitle(picture.message, fontsize=9.5)


class LoRAExplorer(PanelExplorer):
    """Rank and alpha sliders, the two panels, and a readout for the whole model."""

    def __init__(self, controls, compute, draw, layer_name: str):
        self.layer_name = layer_name
        self.readout = widgets.HTML()
        super().__init__(controls, compute, draw, n_panels=2, figsize=(10.5, 4.0),
                         margins={"left": 0.08, "bottom": 0.14, "top": 0.84})
        self.children = (*self.children, self.readout)

    def update(self) -> None:
        super().update()
        p = self.data
        per_layer = p.rank * (p.shape[0] + p.shape[1])
        lines = [f"layer {self.layer_name} ({p.shape[0]} x {p.shape[1]}): {p.message}",
                 f"trained with alpha = {p.trained_alpha:g}; shown at alpha = {p.alpha:g}, so the update is "
                 f"{p.alpha / p.trained_alpha:.3g} times the trained one",
                 f"on {p.n_layers} layers of this size or similar: about {per_layer * p.n_layers:,} trainable numbers"]
        self.readout.value = f"<div style='font-family:monospace'>{'<br>'.join(html.escape(x) for x in lines)}</div>"


def lora_explorer(adapters: dict[int, LoRALinear], full_update: torch.Tensor | None = None,
                  layer_name: str = "the layer", n_layers: int = 1, rank: int | None = None) -> LoRAExplorer:
    """A rank slider over the trained ``adapters`` ({rank: LoRALinear}) and an alpha slider."""
    ranks = sorted(adapters)
    rank = rank if rank is not None else ranks[len(ranks) // 2]
    lora_data(adapters, rank, adapters[rank].alpha, full_update, n_layers)   # refuse bad input before building
    wide = {"description_width": "initial"}
    controls = {
        "rank": widgets.SelectionSlider(options=ranks, value=rank, description="rank r", style=wide),
        "alpha": widgets.FloatLogSlider(value=float(adapters[rank].alpha), base=2, min=-2, max=8, step=0.25,
                                        description="alpha", readout_format=".3g", style=wide),
    }

    def compute_picture(rank, alpha):
        return lora_data(adapters, rank, alpha, full_update, n_layers)

    return LoRAExplorer(controls, compute_picture, draw_lora, layer_name)
