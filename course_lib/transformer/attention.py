"""Attention: every token looks at the others and takes a weighted average of what it finds.

For one query vector q and keys k_1..k_T with values v_1..v_T:

    score_j  = q . k_j / sqrt(D)          how well key j matches the query (D = head size)
    weight_j = softmax(score)_j           positive, summing to 1
    output   = sum_j weight_j * v_j

Dividing by sqrt(D) keeps the scores' spread near 1 whatever the head size, so the softmax
neither saturates (all weight on one token) nor flattens as heads get wider.

Two masks decide which keys a query may look at:
- the **causal mask** (GPT): a token may look only at itself and earlier tokens;
- the **padding mask**: sequences in a batch have different lengths and are padded to the
  longest; padded positions must not be looked at. In this course a padding mask has shape
  (B, T_k) and is True (or 1) for real tokens and False (or 0) for padding.

``scaled_dot_product_attention`` writes all of this out; ``fused_scaled_dot_product_attention``
hands it to torch's ``F.scaled_dot_product_attention``, which computes the same thing in one
kernel (FlashAttention on recent GPUs) without ever storing the (T, T) weight matrix.
Both take queries (..., T_q, D), keys (..., T_k, D) and values (..., T_k, D_v), usually with
(...) = (B, H). When T_q < T_k (generation with a KV cache) the queries are the *last* T_q
positions of the sequence.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.transformer.positions import RotaryEmbedding


def causal_mask(t_q: int, t_k: int, device: torch.device | str | None = None) -> torch.Tensor:
    """(T_q, T_k) booleans, True where query i may look at key j.

    Query i sits at position (T_k - T_q) + i of the sequence, so it sees keys 0 .. that position.
    With T_q == T_k this is the familiar lower triangle.
    """
    return torch.ones(t_q, t_k, dtype=torch.bool, device=device).tril(diagonal=t_k - t_q)


def attention_mask(
    q: torch.Tensor, k: torch.Tensor, causal: bool, padding_mask: torch.Tensor | None
) -> torch.Tensor | None:
    """Combine the causal and padding masks into one boolean mask (True = may look), or None."""
    t_q, t_k = q.shape[-2], k.shape[-2]
    mask = None
    if causal:
        mask = causal_mask(t_q, t_k, q.device)  # (T_q, T_k)
    if padding_mask is not None:
        # (B, T_k) -> (B, 1, ..., 1, T_k): the same keys are hidden from every head and query.
        keep = padding_mask.bool().view(padding_mask.shape[0], *([1] * (q.dim() - 2)), t_k)
        mask = keep if mask is None else mask & keep
    return mask


def stable_softmax(scores: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """softmax(scores) along ``dim``, safe for large scores and for rows that are all masked.

    exp(1000) overflows, but softmax does not change when a constant is subtracted from every
    score, so we subtract each row's maximum first: the largest exponent is then exp(0) = 1.
    A row whose scores are all -inf (a query allowed to see nothing) gives weights of 0, not NaN.
    """
    row_max = scores.amax(dim=dim, keepdim=True)
    row_max = torch.where(torch.isfinite(row_max), row_max, torch.zeros_like(row_max))
    exp = torch.exp(scores - row_max)
    total = exp.sum(dim=dim, keepdim=True)
    return exp / total.clamp_min(torch.finfo(exp.dtype).tiny)


def _check_qkv(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, padding_mask, dropout_p: float) -> None:
    def shapes() -> str:  # a function: the message is built only when there is an error
        return f"q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}"

    if q.dim() < 2 or q.dim() != k.dim() or q.dim() != v.dim():
        raise ValueError(f"expected q, k, v with the same number (>= 2) of dimensions (..., T, D), got {shapes()}")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q and k must have the same feature size (last dimension) to be multiplied, got {shapes()}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"k and v must have the same length T_k (one value per key), got {shapes()}")
    if q.shape[:-2] != k.shape[:-2] or q.shape[:-2] != v.shape[:-2]:
        raise ValueError(f"q, k, v must agree in their leading (batch, head) dimensions, got {shapes()}")
    if padding_mask is not None:
        expected = (q.shape[0], k.shape[-2])
        if padding_mask.dim() != 2 or tuple(padding_mask.shape) != expected:
            raise ValueError(
                f"padding_mask: expected shape (B, T_k) = {expected} for {shapes()}, "
                f"got {tuple(padding_mask.shape)}"
            )
    if not 0.0 <= dropout_p < 1.0:
        raise ValueError(f"dropout_p: expected a probability in [0, 1), got {dropout_p!r}")


def attention_weights(
    q: torch.Tensor, k: torch.Tensor, causal: bool = False, padding_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """The attention weights softmax(q k^T / sqrt(D)) with masked keys at 0: (..., T_q, T_k)."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (..., T_q, T_k)
    # Softmax in float32 at least: bf16 has only 8 bits of mantissa, too few for exp and sums.
    scores = scores.to(torch.promote_types(scores.dtype, torch.float32))
    mask = attention_mask(q, k, causal, padding_mask)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))  # exp(-inf) = 0: no weight at all
    return stable_softmax(scores, dim=-1)


def scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    causal: bool = False,
    padding_mask: torch.Tensor | None = None,
    dropout_p: float = 0.0,
) -> torch.Tensor:
    """Attention written out: (..., T_q, D), (..., T_k, D), (..., T_k, D_v) -> (..., T_q, D_v).

    ``dropout_p`` zeroes that fraction of the attention weights (and scales the rest by
    1 / (1 - p)); pass 0 at evaluation time.
    """
    _check_qkv(q, k, v, padding_mask, dropout_p)
    weights = attention_weights(q, k, causal, padding_mask)  # (..., T_q, T_k)
    if dropout_p > 0:
        weights = F.dropout(weights, p=dropout_p)
    return weights.to(v.dtype) @ v  # (..., T_q, D_v)


def fused_scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    causal: bool = False,
    padding_mask: torch.Tensor | None = None,
    dropout_p: float = 0.0,
) -> torch.Tensor:
    """The same computation through torch's fused kernel ``F.scaled_dot_product_attention``."""
    _check_qkv(q, k, v, padding_mask, dropout_p)
    t_q, t_k = q.shape[-2], k.shape[-2]
    if causal and t_q == 1:
        causal = False  # a single query at the end of the sequence may see every key
    if padding_mask is None and (not causal or t_q == t_k):
        # The fastest path: no mask tensor at all. torch's is_causal aligns the triangle at the
        # top-left corner, which is what we want only when T_q == T_k.
        return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=causal)
    mask = attention_mask(q, k, causal, padding_mask)  # boolean, True = may look
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
    if padding_mask is not None:
        # A query that may see no key at all must give 0, as the written-out version does;
        # not every kernel promises that, so we make sure.
        sees_something = mask.any(dim=-1, keepdim=True)  # (..., T_q, 1)
        out = out.masked_fill(~sees_something, 0.0)
    return out


class MultiHeadAttention(nn.Module):
    """Several attention heads side by side, each on its own slice of the features.

    One linear layer makes queries, keys and values for all heads at once (a single (C, 3C)
    matrix multiply is faster than three (C, C) ones); the heads' outputs are concatenated
    and mixed by an output projection.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        causal: bool = True,
        dropout: float = 0.0,
        bias: bool = True,
        fused: bool = True,
        rotary: RotaryEmbedding | None = None,
    ):
        super().__init__()
        if d_model % n_heads != 0:
            raise ValueError(
                f"d_model={d_model} is not divisible by n_heads={n_heads}: every head gets "
                f"d_model / n_heads features"
            )
        self.d_model, self.n_heads, self.head_dim = d_model, n_heads, d_model // n_heads
        self.causal, self.dropout, self.fused = causal, dropout, fused
        self.rotary = rotary
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=bias)  # queries, keys, values of all heads
        self.proj = nn.Linear(d_model, d_model, bias=bias)     # mixes the heads' outputs
        self.resid_dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, padding_mask: torch.Tensor | None = None, cache=None) -> torch.Tensor:
        """(B, T, C) -> (B, T, C). ``cache`` is this layer's ``LayerCache`` when generating."""
        if x.dim() != 3 or x.shape[-1] != self.d_model:
            raise ValueError(f"expected input of shape (B, T, {self.d_model}), got {tuple(x.shape)}")
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)                           # (B, T, C) each
        q = q.view(B, T, self.n_heads, self.head_dim).transpose(1, 2)  # (B, H, T, D)
        k = k.view(B, T, self.n_heads, self.head_dim).transpose(1, 2)  # (B, H, T, D)
        v = v.view(B, T, self.n_heads, self.head_dim).transpose(1, 2)  # (B, H, T, D)
        if self.rotary is not None:
            offset = cache.length if cache is not None else 0  # where these tokens sit
            q, k = self.rotary(q, offset), self.rotary(k, offset)
        if cache is not None:
            k, v = cache.append(k, v)                                   # (B, H, T_past + T, D)
        attend = fused_scaled_dot_product_attention if self.fused else scaled_dot_product_attention
        dropout_p = self.dropout if self.training else 0.0
        y = attend(q, k, v, causal=self.causal, padding_mask=padding_mask, dropout_p=dropout_p)  # (B, H, T, D)
        y = y.transpose(1, 2).reshape(B, T, C)                          # heads side by side again
        return self.resid_dropout(self.proj(y))                         # (B, T, C)
