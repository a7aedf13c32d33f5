"""The transformer, one idea per file. Read them in this order:

positions.py    learned, sinusoidal and rotary (RoPE) positions
attention.py    scaled dot-product attention (written out and fused), multi-head attention
norms.py        LayerNorm and RMSNorm
feedforward.py  the GELU MLP and SwiGLU
moe.py          a mixture-of-experts feed-forward with a load-balancing loss
block.py        a pre-norm residual block
config.py       GPTConfig: every size and choice, checked
gpt.py          the GPT language model, and the same stack as a bidirectional Encoder
kv_cache.py     the KV cache that makes generation fast
generation.py   greedy, temperature, top-k and top-p sampling
counting.py     parameters and FLOPs per token, by formula
gpt2_weights.py load published GPT-2 weights (Hugging Face format)
"""
from course_lib.transformer.attention import (
    MultiHeadAttention,
    attention_weights,
    causal_mask,
    fused_scaled_dot_product_attention,
    scaled_dot_product_attention,
    stable_softmax,
)
from course_lib.transformer.block import Block
from course_lib.transformer.config import GPTConfig
from course_lib.transformer.counting import (
    count_parameters,
    flops_per_token,
    non_embedding_parameter_count,
    parameter_breakdown,
    parameter_count,
)
from course_lib.transformer.feedforward import MLP, SwiGLU
from course_lib.transformer.generation import (
    generate,
    sample_next_token,
    top_k_filter,
    top_p_filter,
)
from course_lib.transformer.gpt import GPT, IGNORE_INDEX, Encoder
from course_lib.transformer.gpt2_weights import load_gpt2
from course_lib.transformer.kv_cache import KVCache, LayerCache
from course_lib.transformer.moe import MoEFeedForward, RoutingStats, load_balancing_loss
from course_lib.transformer.norms import LayerNorm, RMSNorm, layer_norm, rms_norm
from course_lib.transformer.positions import (
    LearnedPositions,
    RotaryEmbedding,
    SinusoidalPositions,
    sinusoidal_table,
)

__all__ = [
    "GPT",
    "IGNORE_INDEX",
    "MLP",
    "Block",
    "Encoder",
    "GPTConfig",
    "KVCache",
    "LayerCache",
    "LayerNorm",
    "LearnedPositions",
    "MoEFeedForward",
    "MultiHeadAttention",
    "RMSNorm",
    "RotaryEmbedding",
    "RoutingStats",
    "SinusoidalPositions",
    "SwiGLU",
    "attention_weights",
    "causal_mask",
    "count_parameters",
    "flops_per_token",
    "fused_scaled_dot_product_attention",
    "generate",
    "layer_norm",
    "load_balancing_loss",
    "load_gpt2",
    "non_embedding_parameter_count",
    "parameter_breakdown",
    "parameter_count",
    "rms_norm",
    "sample_next_token",
    "scaled_dot_product_attention",
    "sinusoidal_table",
    "stable_softmax",
    "top_k_filter",
    "top_p_filter",
]
