"""The KV cache: remember keys and values so generation does not redo the past.

When a GPT generates, step t needs attention over all t tokens so far. Without a cache the
model re-reads the whole sequence at every step. But the keys and values of old tokens never
change (a causal model never lets an old token see a new one), so we can compute them once,
store them, and at each step feed only the newest token: its query attends to the stored keys.

One ``LayerCache`` per attention layer holds buffers of shape (B, H, max_length, head_dim),
allocated at the first call (so they take the dtype and device of the keys, bf16 included).
The cache is for inference (under ``torch.no_grad()``): it is written in place.
"""
from __future__ import annotations

import torch


class LayerCache:
    """Keys and values seen so far by one attention layer."""

    def __init__(self, max_length: int):
        self.max_length = max_length
        self.keys: torch.Tensor | None = None    # (B, H, max_length, D) once allocated
        self.values: torch.Tensor | None = None  # (B, H, max_length, D) once allocated
        self.length = 0                          # how many positions are filled

    def append(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store the new keys and values (B, H, T, D); return all of them so far: (B, H, length, D)."""
        if k.shape != v.shape or k.dim() != 4:
            raise ValueError(
                f"expected keys and values of the same shape (B, H, T, D), got keys {tuple(k.shape)} "
                f"and values {tuple(v.shape)}"
            )
        batch, heads, new, head_dim = k.shape
        if self.keys is None:
            shape = (batch, heads, self.max_length, head_dim)
            self.keys = torch.zeros(shape, dtype=k.dtype, device=k.device)
            self.values = torch.zeros(shape, dtype=v.dtype, device=v.device)
        elif (batch, heads, head_dim) != (self.keys.shape[0], self.keys.shape[1], self.keys.shape[3]):
            raise ValueError(
                f"this cache holds (B, H, *, D) = {tuple(self.keys.shape[:2])} + (*, {self.keys.shape[3]}), "
                f"got new keys of shape {tuple(k.shape)}"
            )
        if self.length + new > self.max_length:
            raise ValueError(
                f"the KV cache holds at most {self.max_length} positions; it has {self.length} and "
                f"{new} more came"
            )
        self.keys[:, :, self.length : self.length + new] = k
        self.values[:, :, self.length : self.length + new] = v
        self.length += new
        return self.keys[:, :, : self.length], self.values[:, :, : self.length]


class KVCache:
    """One ``LayerCache`` per transformer block; ``length`` is how many tokens it has seen."""

    def __init__(self, n_layers: int, max_length: int):
        self.layers = [LayerCache(max_length) for _ in range(n_layers)]
        self.max_length = max_length

    @property
    def length(self) -> int:
        return self.layers[0].length

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, layer: int) -> LayerCache:
        return self.layers[layer]
