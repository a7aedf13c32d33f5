"""Bottleneck adapters: small trainable layers inserted into a frozen model (Houlsby et al., 2019).

An adapter takes a sublayer's output h (B, T, C), squeezes it through a narrow hidden layer and
adds the result back:

    adapter(h) = h + up(gelu(down(h)))      down: C -> m,  up: m -> C,  m << C

**up starts at zero**, so at the start every adapter is the identity and the model is exactly
the pretrained one. Each adapter trains 2 C m + m + C numbers. Unlike LoRA, an adapter cannot be
merged into the weights (the GELU sits in between), so it costs a little time at inference; like
LoRA it can be switched off (``adapters_disabled``), which gives back the pretrained model exactly.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from contextlib import contextmanager

from course_lib.finetuning.lora import freeze, replace_module, switched_off


class BottleneckAdapter(nn.Module):
    """h -> h + up(gelu(down(h))), with the up-projection at zero."""

    def __init__(self, d_model: int, bottleneck: int):
        super().__init__()
        if isinstance(bottleneck, bool) or not isinstance(bottleneck, int) or not 1 <= bottleneck <= d_model:
            raise ValueError(f"bottleneck: expected an int in 1..{d_model}, got {bottleneck!r}")
        self.down = nn.Linear(d_model, bottleneck)   # (C -> m)
        self.up = nn.Linear(bottleneck, d_model)     # (m -> C)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.up(F.gelu(self.down(h)))     # (B, T, C)


class WithAdapter(nn.Module):
    """A sublayer followed by an adapter: ``adapter(sublayer(*args))``, or the sublayer alone when off."""

    def __init__(self, sublayer: nn.Module, adapter: BottleneckAdapter):
        super().__init__()
        self.sublayer, self.adapter = sublayer, adapter
        self.enabled = True

    def forward(self, *args, **kwargs):
        out = self.sublayer(*args, **kwargs)
        return self.adapter(out) if self.enabled else out


def add_adapters(model: nn.Module, targets: list[str], bottleneck: int) -> dict[str, int]:
    """Freeze ``model`` and put an adapter after each sublayer named in ``targets`` ("blocks.0.ffn").

    Returns ``{name: trainable parameters}``. The sublayers must return (B, T, C) states.
    """
    names = dict(model.named_modules())
    unknown = [t for t in targets if t not in names or not t]
    if isinstance(targets, str) or not targets or unknown:
        raise ValueError(f"targets: expected a non-empty list of submodule names, such as 'blocks.0.ffn'; "
                         f"these are not in the model: {unknown or targets!r}")
    freeze(model)
    chosen = {}
    for name in targets:
        adapter = BottleneckAdapter(model.config.d_model, bottleneck)
        replace_module(model, name, WithAdapter(names[name], adapter))
        chosen[name] = sum(p.numel() for p in adapter.parameters())
    return chosen


@contextmanager
def adapters_disabled(model: nn.Module):
    """Inside ``with adapters_disabled(model):`` every adapter is skipped: the pretrained model, exactly."""
    with switched_off(m for m in model.modules() if isinstance(m, WithAdapter)):
        yield model
