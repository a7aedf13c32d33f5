"""The whole model: token ids in, next-token scores (logits) out.

    ids (B, T) --token embedding--> (B, T, C)  (+ position vectors, unless RoPE)
               --n_layers blocks--> (B, T, C)
               --final norm, output layer--> logits (B, T, V)

``logits[b, t]`` scores every vocabulary entry as the token that follows position t.
**Weight tying**: the output layer reuses the token embedding matrix (V, C). The same vectors
that say what a token *means* on the way in say how *likely* it is on the way out; this saves
V * C parameters, a large share of a small model.

``Encoder`` is the same stack without the causal mask: every token sees the whole sequence
(BERT-style), which is what masked-language-model pretraining needs.
"""
from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.transformer.block import Block, make_norm
from course_lib.transformer.config import GPTConfig
from course_lib.transformer.kv_cache import KVCache
from course_lib.transformer.moe import MoEFeedForward
from course_lib.transformer.positions import (
    LearnedPositions,
    RotaryEmbedding,
    SinusoidalPositions,
)

IGNORE_INDEX = -100  # targets equal to this do not count in the loss (padding, unmasked tokens)


class GPT(nn.Module):
    """A decoder-only transformer language model (GPT-2 by default, LLaMA-like by config)."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        if not isinstance(config, GPTConfig):
            raise TypeError(f"expected a GPTConfig, got {type(config).__name__}")
        self.config = config
        C = config.d_model
        self.token_embedding = nn.Embedding(config.vocab_size, C)  # (V, C): one vector per token
        self.positions: nn.Module | None = None
        self.rotary: RotaryEmbedding | None = None
        if config.positions == "learned":
            self.positions = LearnedPositions(config.context_length, C)
        elif config.positions == "sinusoidal":
            self.positions = SinusoidalPositions(config.context_length, C)
        elif config.positions == "rope":
            # One table of angles, shared by the attention layers of every block.
            self.rotary = RotaryEmbedding(config.head_dim, config.context_length, config.rope_base)
        self.dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config, self.rotary) for _ in range(config.n_layers))
        self.final_norm = make_norm(config)
        self.lm_head = nn.Linear(C, config.vocab_size, bias=False)  # (C -> V) scores per token
        if config.tie_weights:
            self.lm_head.weight = self.token_embedding.weight       # the very same tensor
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """GPT-2's initialisation: weights ~ N(0, 0.02), biases 0, norms at identity.

        The projections that write into the residual stream (attention and feed-forward
        outputs) start smaller, by 1 / sqrt(2 * n_layers): the stream adds up 2 * n_layers of
        them, and this keeps its variance from growing with depth.
        """
        residual_std = 0.02 / math.sqrt(2 * self.config.n_layers)
        for name, param in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(param)
            elif "norm" in name:
                nn.init.ones_(param)
            elif name.endswith(("proj.weight", "down.weight")):
                nn.init.normal_(param, mean=0.0, std=residual_std)
            else:
                nn.init.normal_(param, mean=0.0, std=0.02)

    def new_kv_cache(self) -> KVCache:
        """An empty KV cache for this model, holding up to ``context_length`` positions."""
        return KVCache(self.config.n_layers, self.config.context_length)

    def features(self, idx: torch.Tensor, padding_mask: torch.Tensor | None = None,
                 kv_cache: KVCache | None = None, prefix_embeds: torch.Tensor | None = None) -> torch.Tensor:
        """The final hidden state of every token, after the last norm: (B, T) -> (B, T, C).

        With ``kv_cache``, ``idx`` holds only the tokens that follow those already in the cache,
        and ``padding_mask`` (if any) covers all of them: shape (B, cached + T).

        ``prefix_embeds`` (B, P, C) are vectors read *before* the tokens, as if they were the
        embeddings of P extra tokens (prompt tuning learns them, lesson 05): the result then
        has P + T positions, the prefix first, and ``padding_mask`` covers the T tokens only.
        """
        offset = self._check_inputs(idx, padding_mask, kv_cache, prefix_embeds)
        x = self.token_embedding(idx)                  # (B, T, C)
        if prefix_embeds is not None:
            x = torch.cat([prefix_embeds.to(x.dtype), x], dim=1)  # (B, P + T, C)
            if padding_mask is not None:               # the prefix is always there: mark it real
                prefix_real = padding_mask.new_ones(idx.shape[0], prefix_embeds.shape[1])
                padding_mask = torch.cat([prefix_real, padding_mask], dim=1)  # (B, P + T)
        T = x.shape[1]
        if self.positions is not None:
            x = x + self.positions(T, offset)          # (T, C) broadcasts over the batch
        x = self.dropout(x)
        for i, block in enumerate(self.blocks):
            x = block(x, padding_mask, kv_cache[i] if kv_cache is not None else None)  # (B, T, C)
        return self.final_norm(x)                      # (B, T, C)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None,
                padding_mask: torch.Tensor | None = None, kv_cache: KVCache | None = None,
                prefix_embeds: torch.Tensor | None = None):
        """Return ``(logits, loss)``: logits (B, T, V); loss is None without ``targets``.

        The loss is the mean cross-entropy over targets that are not -100, plus, for a
        mixture-of-experts model, ``moe_aux_loss_weight`` times the load-balancing loss.
        With ``prefix_embeds`` (B, P, C), the logits are those of the T tokens (the prefix's
        own positions are dropped), so ``targets`` line up with ``idx`` as usual.
        """
        hidden = self.features(idx, padding_mask, kv_cache, prefix_embeds)   # (B, P + T, C)
        if prefix_embeds is not None:
            hidden = hidden[:, prefix_embeds.shape[1]:]                      # (B, T, C)
        logits = self.lm_head(hidden)                                        # (B, T, V)
        loss = None
        if targets is not None:
            if targets.shape != idx.shape:
                raise ValueError(
                    f"targets must have the shape of the input ids {tuple(idx.shape)}, got {tuple(targets.shape)}"
                )
            V = logits.shape[-1]
            loss = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=IGNORE_INDEX)
            aux = self.moe_aux_loss()
            if aux is not None:
                loss = loss + self.config.moe_aux_loss_weight * aux
        return logits, loss

    def moe_aux_loss(self) -> torch.Tensor | None:
        """The summed load-balancing loss of the MoE layers in the last forward pass (None if no MoE)."""
        losses = [m.aux_loss for m in self.modules() if isinstance(m, MoEFeedForward) and m.aux_loss is not None]
        return torch.stack(losses).sum() if losses else None

    def _check_inputs(self, idx, padding_mask, kv_cache, prefix_embeds=None) -> int:
        """Validate the inputs; return the position of the first new token (or prefix vector)."""
        if not isinstance(idx, torch.Tensor) or idx.dim() != 2 or idx.is_floating_point():
            got = f"shape {tuple(idx.shape)} and dtype {idx.dtype}" if isinstance(idx, torch.Tensor) else type(idx).__name__
            raise ValueError(f"expected token ids as an integer tensor of shape (B, T), got {got} "
                             f"(for one sequence, add a batch dimension: ids.unsqueeze(0))")
        B, T = idx.shape
        offset = 0
        if kv_cache is not None:
            if not self.config.causal:
                raise ValueError("a KV cache is for generation with a causal model; this model is bidirectional")
            if len(kv_cache) != self.config.n_layers:
                raise ValueError(f"the KV cache has {len(kv_cache)} layers, the model {self.config.n_layers}")
            offset = kv_cache.length
        P = 0
        if prefix_embeds is not None:
            C = self.config.d_model
            if not isinstance(prefix_embeds, torch.Tensor) or prefix_embeds.dim() != 3 or \
                    prefix_embeds.shape[0] != B or prefix_embeds.shape[2] != C or not prefix_embeds.is_floating_point():
                got = tuple(prefix_embeds.shape) if isinstance(prefix_embeds, torch.Tensor) else type(prefix_embeds).__name__
                raise ValueError(f"prefix_embeds: expected float vectors of shape (B, P, C) = ({B}, P, {C}), got {got}")
            if offset:
                raise ValueError("prefix_embeds go before the first token: pass them with an empty KV cache only")
            P = prefix_embeds.shape[1]
        if T == 0 or offset + P + T > self.config.context_length:
            cached = f" after {offset} cached tokens" if offset else ""
            prefixed = f" after a prefix of {P} vectors" if P else ""
            raise ValueError(
                f"the input has {T} tokens{cached}{prefixed}, but the model reads 1 to context_length="
                f"{self.config.context_length} positions at a time; crop it (ids[:, -{self.config.context_length - P}:])"
            )
        # Out-of-range ids: on the CPU the embedding lookup would fail with a cryptic message.
        # Skipped on CUDA, where reading the ids back would stall the GPU every step (the kernel's
        # own assert catches them there), and under torch.compile, which cannot trace it.
        if not idx.is_cuda and not _compiling():
            low, high = int(idx.min()), int(idx.max())
            if low < 0 or high >= self.config.vocab_size:
                raise ValueError(f"token ids must lie in [0, vocab_size={self.config.vocab_size}), "
                                 f"got ids from {low} to {high}")
        if padding_mask is not None and tuple(padding_mask.shape) != (B, offset + T):
            raise ValueError(f"padding_mask: expected shape (B, T) = {(B, offset + T)} for input ids of shape "
                             f"{tuple(idx.shape)}{' and the KV cache' if offset else ''}, "
                             f"got {tuple(padding_mask.shape)}")
        return offset


def _compiling() -> bool:
    """True while torch.compile traces the model (torch.compiler.is_compiling needs torch >= 2.3)."""
    is_compiling = getattr(torch.compiler, "is_compiling", None)
    return bool(is_compiling and is_compiling())


class Encoder(GPT):
    """The same stack with no causal mask: each token sees the whole sequence (BERT-style).

    Use ``padding_mask`` (True for real tokens) for batches of different lengths. For masked
    language modelling, set the targets of the positions that were not masked to -100.
    """

    def __init__(self, config: GPTConfig):
        super().__init__(dataclasses.replace(config, causal=False))
