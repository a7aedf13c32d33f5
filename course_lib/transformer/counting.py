"""How big is a model, and how much compute does a token cost? Counted by formula.

**Parameters.** With width C, L blocks, vocabulary V and feed-forward hidden size F:
each block has 4 C^2 attention weights (queries, keys, values, output) and 2 C F feed-forward
weights (3 C F for SwiGLU), plus small biases and norm scales. GPT-2 small (C=768, L=12,
V=50257) has about 85M parameters in its blocks and 39M in its token embedding.

**FLOPs per token.** A weight used in a matrix multiply costs 2 floating-point operations per
token on the way forward (one multiply, one add). The backward pass costs twice the forward
(gradients for the inputs *and* for the weights). So training costs about **6 N FLOPs per
token** for N weights: the famous "6N" of the scaling-law papers. Attention adds a part that
grows with the sequence length T: per token and block, q . k over T keys and the weighted
sum of T values, 2 * 2 * T * C FLOPs forward. (We count all T keys, as a fused kernel's
FLOP counter does, though a causal mask lets half of them be skipped.)

Biases, norms, softmax and activations are left out: they are a rounding error next to the
matrix multiplies, and the usual convention (and torch's FLOP counter) ignores them too.
"""
from __future__ import annotations

from torch import nn

from course_lib.transformer.config import GPTConfig


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """The number of parameters in ``model``, a shared (tied) tensor counted once."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def parameter_breakdown(config: GPTConfig) -> dict[str, int]:
    """The parameter count of ``GPT(config)`` by part, from the config alone."""
    C, V, L, F = config.d_model, config.vocab_size, config.n_layers, config.hidden_size
    bias = config.bias
    attention = 4 * C * C + (4 * C if bias else 0)  # qkv (C, 3C) and proj (C, C)
    if config.feedforward == "swiglu":
        feedforward = 3 * C * F + (2 * F + C if bias else 0)
    else:
        mlp = 2 * C * F + (F + C if bias else 0)
        feedforward = C * config.n_experts + config.n_experts * mlp if config.feedforward == "moe" else mlp
    norm = C if config.norm == "rmsnorm" or not bias else 2 * C  # scale (and shift)
    return {
        "token_embedding": V * C,
        "positions": config.context_length * C if config.positions == "learned" else 0,
        "attention": L * attention,
        "feedforward": L * feedforward,
        "norms": (2 * L + 1) * norm,  # two per block and the final one
        "lm_head": 0 if config.tie_weights else V * C,
    }


def parameter_count(config: GPTConfig) -> int:
    """Total parameters of ``GPT(config)``."""
    return sum(parameter_breakdown(config).values())


def non_embedding_parameter_count(config: GPTConfig) -> int:
    """Parameters without the token and position embeddings (the N of the scaling laws)."""
    parts = parameter_breakdown(config)
    return sum(parts.values()) - parts["token_embedding"] - parts["positions"]


def matmul_weights_per_token(config: GPTConfig) -> int:
    """Weights that take part in a matrix multiply for one token (a MoE token uses top_k experts)."""
    C, V, L, F = config.d_model, config.vocab_size, config.n_layers, config.hidden_size
    if config.feedforward == "swiglu":
        feedforward = 3 * C * F
    elif config.feedforward == "moe":
        feedforward = C * config.n_experts + config.expert_top_k * 2 * C * F  # router + chosen experts
    else:
        feedforward = 2 * C * F
    return L * (4 * C * C + feedforward) + V * C  # blocks and the output layer


def flops_per_token(config: GPTConfig, seq_len: int | None = None, training: bool = True) -> int:
    """Matrix-multiply FLOPs per token, forward only or forward + backward (``training``).

    ``seq_len`` is the length of the sequences (the number of keys each query looks at);
    it defaults to ``context_length``.
    """
    T = config.context_length if seq_len is None else seq_len
    forward = 2 * matmul_weights_per_token(config) + 4 * config.n_layers * T * config.d_model
    return 3 * forward if training else forward
