"""LoRA: fine-tune a linear layer through a low-rank update, leaving its weights frozen.

Full fine-tuning changes every entry of a weight W (out, in). LoRA (Hu et al., 2021) bets that
the *change* needs far fewer degrees of freedom and learns it as a product of two thin matrices:

    W' = W + s * B @ A        A: (r, in),  B: (out, r),  r << min(in, out)
    y  = x @ W'.T + b = base(x) + s * (x @ A.T) @ B.T

* **A** starts like a linear layer's weight (Kaiming-uniform), **B** at zero: at the start B A = 0,
  so the model is exactly the pretrained one, and the gradient still reaches B (A is not zero).
* **s = alpha / r**. Doubling the rank doubles the number of terms in B A; dividing by r keeps the
  update's size comparable across ranks, so alpha need not be re-tuned. Rank-stabilised LoRA
  (Kalajdzievski, 2023) uses alpha / sqrt(r), which lets high ranks learn faster.
* Only A and B train: r * (in + out) numbers instead of in * out.

Afterwards the update can be **merged** into W (one ordinary linear layer again, no extra cost at
inference) and **unmerged**; unmerged, the adapter can be **switched off**, which gives back the
pretrained model bit for bit.
"""
from __future__ import annotations

import math
from contextlib import contextmanager

import torch
from torch import nn


class LoRALinear(nn.Module):
    """An ``nn.Linear`` with a trainable low-rank update; the wrapped layer's weights are frozen."""

    def __init__(self, base: nn.Linear, r: int, alpha: float, rslora: bool = False, dropout: float = 0.0):
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise TypeError(f"LoRA wraps an nn.Linear, got {type(base).__name__}")
        limit = min(base.in_features, base.out_features)
        if isinstance(r, bool) or not isinstance(r, int) or not 1 <= r <= limit:
            raise ValueError(f"r: expected an int rank in 1..{limit} (the smaller side of this "
                             f"{base.out_features}x{base.in_features} layer), got {r!r}")
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha > 0:
            raise ValueError(f"alpha: expected a number > 0, got {alpha!r}")
        self.base = base
        for p in self.base.parameters():
            p.requires_grad_(False)                      # the pretrained weights stay as they are
        self.r, self.alpha, self.rslora = r, alpha, rslora
        self.scale = alpha / math.sqrt(r) if rslora else alpha / r
        weight = base.weight
        self.A = nn.Parameter(torch.empty(r, base.in_features, dtype=weight.dtype, device=weight.device))   # (r, in)
        self.B = nn.Parameter(torch.zeros(base.out_features, r, dtype=weight.dtype, device=weight.device))  # (out, r)
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))  # as nn.Linear initialises its weight
        self.dropout = nn.Dropout(dropout)                # on the input of the update, as in the paper
        self.enabled = True
        self.merged = False

    def delta_weight(self) -> torch.Tensor:
        """The update s * B @ A, shaped like the base weight: (out, in)."""
        return self.scale * (self.B @ self.A)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.base(x)                                              # (..., out)
        if self.enabled and not self.merged:
            y = y + self.scale * (self.dropout(x) @ self.A.T) @ self.B.T  # (..., in) -> (..., r) -> (..., out)
        return y

    @torch.no_grad()
    def merge(self) -> None:
        """Add the update into the base weight (computed in float32); the layer is then one matmul."""
        if self.merged:
            raise RuntimeError("this LoRA layer is already merged; merging twice would add the update twice")
        weight = self.base.weight
        weight.copy_((weight.float() + self.delta_weight().float()).to(weight.dtype))
        self.merged = True

    @torch.no_grad()
    def unmerge(self) -> None:
        """Take the update back out of the base weight (equal to the original up to rounding)."""
        if not self.merged:
            raise RuntimeError("this LoRA layer is not merged")
        weight = self.base.weight
        weight.copy_((weight.float() - self.delta_weight().float()).to(weight.dtype))
        self.merged = False

    def extra_repr(self) -> str:
        return f"r={self.r}, alpha={self.alpha}, scale={self.scale:.4g}{', rslora' if self.rslora else ''}"


def linear_layer_names(model: nn.Module) -> list[str]:
    """The names of every ``nn.Linear`` in ``model`` (the candidates for LoRA)."""
    return [name for name, module in model.named_modules() if isinstance(module, nn.Linear)]


def freeze(model: nn.Module) -> None:
    """Make every parameter of ``model`` non-trainable."""
    for p in model.parameters():
        p.requires_grad_(False)


def replace_module(model: nn.Module, name: str, new: nn.Module) -> None:
    """Put ``new`` where the submodule called ``name`` ("blocks.0.attn.qkv") is."""
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, new)


def add_lora(model: nn.Module, targets: list[str], r: int, alpha: float, rslora: bool = False,
             dropout: float = 0.0) -> dict[str, int]:
    """Freeze ``model`` and wrap each linear layer named in ``targets`` (exact names) with LoRA.

    Returns ``{name: trainable parameters}`` for the layers it wrapped, so you see what was
    chosen. A name that is not a linear layer of the model is an error that lists the real ones
    (matching by suffix, as some libraries do, silently catches layers you did not mean).
    """
    if isinstance(targets, str) or not targets:
        raise ValueError(f"targets: expected a non-empty list of layer names, got {targets!r}")
    available = linear_layer_names(model)
    unknown = [t for t in targets if t not in available]
    if unknown:
        raise ValueError(f"no linear layer is called {unknown}; the model's linear layers are: {available}")
    freeze(model)
    chosen = {}
    for name in targets:
        layer = LoRALinear(model.get_submodule(name), r, alpha, rslora, dropout)
        replace_module(model, name, layer)
        chosen[name] = layer.A.numel() + layer.B.numel()
    return chosen


def lora_layers(model: nn.Module) -> dict[str, LoRALinear]:
    return {name: m for name, m in model.named_modules() if isinstance(m, LoRALinear)}


def merge_lora(model: nn.Module) -> None:
    """Merge every LoRA layer of ``model`` into its base weight."""
    for layer in lora_layers(model).values():
        layer.merge()


def unmerge_lora(model: nn.Module) -> None:
    for layer in lora_layers(model).values():
        layer.unmerge()


@contextmanager
def switched_off(layers):
    """Inside the block every module of ``layers`` has ``enabled = False``; each one's setting comes back after."""
    layers = list(layers)
    before = [layer.enabled for layer in layers]
    for layer in layers:
        layer.enabled = False
    try:
        yield
    finally:
        for layer, enabled in zip(layers, before):
            layer.enabled = enabled


@contextmanager
def lora_disabled(model: nn.Module):
    """Inside ``with lora_disabled(model):`` the model is the pretrained one again, exactly.

    The adapters must be unmerged: a merged weight cannot be restored bit for bit.
    """
    layers = lora_layers(model).values()
    if any(layer.merged for layer in layers):
        raise RuntimeError("some LoRA layers are merged: unmerge_lora(model) first, then switch them off")
    with switched_off(layers):
        yield model
