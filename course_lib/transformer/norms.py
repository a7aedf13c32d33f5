"""Normalisation: keep every token's features at a steady scale, layer after layer.

Deep stacks of layers let activations drift: some grow, some shrink, and training becomes
fragile. A norm layer rescales each token's feature vector (each row of (B, T, C), on its own).

- **LayerNorm** (GPT-2): subtract the mean of the C features, divide by their standard
  deviation, then apply a learned per-feature scale (weight) and shift (bias).
- **RMSNorm** (LLaMA): skip the mean; divide by the root mean square sqrt(mean(x^2)) and
  apply a learned scale. Cheaper, and works as well in practice.

``layer_norm`` and ``rms_norm`` write the formulas out. The modules compute the same thing
with torch's fused functions (one kernel instead of several); the tests check they agree.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, eps: float = 1e-5) -> torch.Tensor:
    """LayerNorm over the last dimension, written out: (..., C) -> (..., C)."""
    mean = x.mean(dim=-1, keepdim=True)                           # (..., 1)
    variance = x.var(dim=-1, keepdim=True, unbiased=False)        # (..., 1) divide by C, not C - 1
    x_hat = (x - mean) / torch.sqrt(variance + eps)               # (..., C) mean 0, variance ~1
    out = x_hat * weight
    return out + bias if bias is not None else out


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """RMSNorm over the last dimension, written out: (..., C) -> (..., C)."""
    rms = torch.sqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps)   # (..., 1)
    return x / rms * weight


class LayerNorm(nn.Module):
    """LayerNorm with a learned scale and (optionally) a learned shift."""

    def __init__(self, d_model: int, eps: float = 1e-5, bias: bool = True):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d_model))
        self.bias = nn.Parameter(torch.zeros(d_model)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, self.eps)


class RMSNorm(nn.Module):
    """RMSNorm with a learned scale."""

    def __init__(self, d_model: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d_model))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if hasattr(F, "rms_norm"):  # torch >= 2.4 has a fused version
            return F.rms_norm(x, self.weight.shape, self.weight, self.eps)
        return rms_norm(x, self.weight, self.eps)
