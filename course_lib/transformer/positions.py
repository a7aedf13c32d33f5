"""Where is each token? Three ways to tell a transformer about word order.

Attention by itself treats its input as a *set*: shuffle the tokens and every token gets the
same output, shuffled. Order has to be put in by hand, and there are three classic ways:

1. **Learned positions** (GPT-2): a second embedding table with one row per position,
   added to the token embeddings. Simple, but it knows only positions it was trained on.
2. **Sinusoidal positions** (the original transformer, 2017): a fixed table of sines and
   cosines of different frequencies, added the same way. Nothing to learn.
3. **Rotary positions, RoPE** (LLaMA and most models since): nothing is added to the
   embeddings. Instead, inside every attention layer, each query and key vector is *rotated*
   by an angle proportional to its position. The score q . k then depends only on how far
   apart the two tokens are, which is exactly what attention needs.

Every module here takes an ``offset``: the position of the first token. It is 0 for a fresh
sequence, and the number of tokens already in the KV cache when generating one token at a time.
"""
from __future__ import annotations

import torch
from torch import nn


def _check_range(offset: int, length: int, context_length: int) -> None:
    if offset < 0 or offset + length > context_length:
        raise ValueError(
            f"positions {offset}..{offset + length - 1} are outside the context: this table "
            f"has positions 0..{context_length - 1} (context_length={context_length})"
        )


class LearnedPositions(nn.Module):
    """One learned vector per position, added to the token embeddings (GPT-2)."""

    def __init__(self, context_length: int, d_model: int):
        super().__init__()
        self.context_length = context_length
        self.table = nn.Embedding(context_length, d_model)  # row p is the vector for position p

    def forward(self, length: int, offset: int = 0) -> torch.Tensor:
        """The position vectors for positions ``offset .. offset + length - 1``: (T, C)."""
        _check_range(offset, length, self.context_length)
        positions = torch.arange(offset, offset + length, device=self.table.weight.device)  # (T,)
        return self.table(positions)  # (T, C)


def sinusoidal_table(n_positions: int, d_model: int, base: float = 10000.0) -> torch.Tensor:
    """The fixed position table of "Attention Is All You Need": (n_positions, d_model).

    Column pair (2i, 2i+1) holds sin and cos of ``position / base**(2i / d_model)``:
    the first pairs turn fast (a new angle every token), the last ones very slowly, so
    together they write each position like the hands of a clock with many speeds.
    """
    position = torch.arange(n_positions, dtype=torch.float64).unsqueeze(1)       # (T, 1)
    frequency = base ** (-torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)  # (ceil(C/2),)
    angle = position * frequency                                                   # (T, ceil(C/2))
    table = torch.zeros(n_positions, d_model, dtype=torch.float64)
    table[:, 0::2] = torch.sin(angle)
    table[:, 1::2] = torch.cos(angle[:, : d_model // 2])  # an odd width has one cos column fewer
    return table.float()


class SinusoidalPositions(nn.Module):
    """Fixed sine/cosine position vectors, added to the token embeddings."""

    def __init__(self, context_length: int, d_model: int, base: float = 10000.0):
        super().__init__()
        self.context_length = context_length
        # A buffer, not a parameter: it moves with .to(device) but is never trained.
        # persistent=False keeps it out of checkpoints since it can always be recomputed.
        self.register_buffer("table", sinusoidal_table(context_length, d_model, base), persistent=False)

    def forward(self, length: int, offset: int = 0) -> torch.Tensor:
        """The position vectors for positions ``offset .. offset + length - 1``: (T, C)."""
        _check_range(offset, length, self.context_length)
        return self.table[offset : offset + length]  # (T, C)


class RotaryEmbedding(nn.Module):
    """Rotary position embedding (RoPE): rotate queries and keys by position-dependent angles.

    The head's ``head_dim`` features are split into two halves, and feature i of the first half
    is paired with feature i of the second half (the layout LLaMA's code uses). Pair i at
    position p is rotated in its plane by the angle ``p * base**(-2i / head_dim)``.

    Why it works: rotating q by angle a and k by angle b changes their dot product to that
    of q rotated by (a - b) with k unrotated. With a = m*theta and b = n*theta, the score
    depends on the positions only through the offset m - n.
    """

    def __init__(self, head_dim: int, context_length: int, base: float = 10000.0):
        super().__init__()
        if head_dim % 2 != 0:
            raise ValueError(f"RoPE rotates pairs of features, so head_dim must be even, got {head_dim}")
        self.head_dim = head_dim
        self.context_length = context_length
        inverse_frequency = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)  # (D/2,)
        position = torch.arange(context_length, dtype=torch.float64)                             # (T,)
        angle = torch.outer(position, inverse_frequency)                                         # (T, D/2)
        self.register_buffer("cos", torch.cos(angle).float(), persistent=False)  # (T, D/2)
        self.register_buffer("sin", torch.sin(angle).float(), persistent=False)  # (T, D/2)

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """Rotate ``x`` of shape (..., T, head_dim), whose first token sits at position ``offset``."""
        if x.shape[-1] != self.head_dim:
            raise ValueError(
                f"RoPE was built for head_dim={self.head_dim}, got a tensor of shape {tuple(x.shape)}"
            )
        length = x.shape[-2]
        _check_range(offset, length, self.context_length)
        # Cast the tables to x's dtype: under bf16 autocast, float32 tables would silently
        # promote the queries and keys back to float32.
        cos = self.cos[offset : offset + length].to(x.dtype)  # (T, D/2)
        sin = self.sin[offset : offset + length].to(x.dtype)  # (T, D/2)
        half = self.head_dim // 2
        x1, x2 = x[..., :half], x[..., half:]                 # (..., T, D/2) each
        # The 2-D rotation [[cos, -sin], [sin, cos]] applied to every pair (x1_i, x2_i).
        return torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)  # (..., T, D)
