"""The feed-forward layer: after attention mixes tokens, each token is processed on its own.

Attention moves information *between* positions; the feed-forward network transforms each
position's vector independently, with the same weights everywhere. Most of a transformer's
parameters live here.

- **MLP with GELU** (GPT-2): widen to a hidden size (4x the width), apply GELU, project back.
  GELU(x) = x * Phi(x), with Phi the standard normal CDF: a smooth ReLU. GPT-2 used the tanh
  approximation 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), from when erf was slow on
  GPUs; on today's hardware the exact form is as fast (on CPUs, faster), so it is the default.
- **SwiGLU** (LLaMA): two parallel projections; one goes through SiLU(x) = x * sigmoid(x) and
  acts as a *gate* that multiplies the other, elementwise: down(silu(gate(x)) * up(x)).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MLP(nn.Module):
    """Linear (C -> hidden), GELU, Linear (hidden -> C), dropout."""

    def __init__(self, d_model: int, hidden: int, dropout: float = 0.0, bias: bool = True,
                 gelu_approximation: str = "none"):
        super().__init__()
        self.fc = nn.Linear(d_model, hidden, bias=bias)
        self.gelu = nn.GELU(approximate=gelu_approximation)
        self.proj = nn.Linear(hidden, d_model, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.gelu(self.fc(x))          # (B, T, hidden)
        return self.dropout(self.proj(h))  # (B, T, C)


class SwiGLU(nn.Module):
    """down(silu(gate(x)) * up(x)), then dropout."""

    def __init__(self, d_model: int, hidden: int, dropout: float = 0.0, bias: bool = False):
        super().__init__()
        self.gate = nn.Linear(d_model, hidden, bias=bias)
        self.up = nn.Linear(d_model, hidden, bias=bias)
        self.down = nn.Linear(hidden, d_model, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.silu(self.gate(x)) * self.up(x)  # (B, T, hidden): the gate scales each hidden unit
        return self.dropout(self.down(h))      # (B, T, C)
