"""One transformer block: attention, then a feed-forward, each on a residual path.

    x = x + attention(norm(x))      tokens exchange information
    x = x + feedforward(norm(x))    each token thinks on its own

This is the **pre-norm** arrangement (GPT-2 and everything since): the norm sits at the start
of each branch, and the residual stream x itself is never normalised. Gradients then flow
straight down the stream through every block, which is what makes deep stacks trainable.
(The 2017 transformer normalised *after* the addition, "post-norm", and needed careful warmup.)
"""
from __future__ import annotations

import torch
from torch import nn

from course_lib.transformer.attention import MultiHeadAttention
from course_lib.transformer.config import GPTConfig
from course_lib.transformer.feedforward import MLP, SwiGLU
from course_lib.transformer.moe import MoEFeedForward
from course_lib.transformer.norms import LayerNorm, RMSNorm
from course_lib.transformer.positions import RotaryEmbedding


def make_norm(config: GPTConfig) -> nn.Module:
    if config.norm == "rmsnorm":
        return RMSNorm(config.d_model, eps=config.norm_eps)
    return LayerNorm(config.d_model, eps=config.norm_eps, bias=config.bias)


def make_feedforward(config: GPTConfig) -> nn.Module:
    if config.feedforward == "swiglu":
        return SwiGLU(config.d_model, config.hidden_size, config.dropout, config.bias)
    if config.feedforward == "moe":
        return MoEFeedForward(config.d_model, config.hidden_size, config.n_experts, config.expert_top_k,
                              config.dropout, config.bias, config.gelu_approximation)
    return MLP(config.d_model, config.hidden_size, config.dropout, config.bias, config.gelu_approximation)


class Block(nn.Module):
    """A pre-norm transformer block: (B, T, C) -> (B, T, C)."""

    def __init__(self, config: GPTConfig, rotary: RotaryEmbedding | None = None):
        super().__init__()
        self.norm1 = make_norm(config)
        self.attn = MultiHeadAttention(config.d_model, config.n_heads, causal=config.causal,
                                       dropout=config.dropout, bias=config.bias,
                                       fused=config.fused_attention, rotary=rotary)
        self.norm2 = make_norm(config)
        self.ffn = make_feedforward(config)

    def forward(self, x: torch.Tensor, padding_mask: torch.Tensor | None = None, cache=None) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), padding_mask, cache)  # (B, T, C)
        x = x + self.ffn(self.norm2(x))                        # (B, T, C)
        return x
