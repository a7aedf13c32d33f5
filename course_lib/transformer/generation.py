"""Generating text: pick a next token, append it, repeat.

At every step the model gives logits for the next token. How we turn them into a choice
changes the text a lot:

- **greedy**: always the most likely token. Deterministic, and prone to loops.
- **temperature** T: sample from softmax(logits / T). T < 1 sharpens the distribution
  (towards greedy), T > 1 flattens it (towards uniform noise).
- **top-k**: sample only among the k most likely tokens.
- **top-p** (nucleus): sample only among the most likely tokens whose probabilities add up to
  p; the token that crosses p is kept, so the kept set is never empty.

Temperature is applied first, then top-k, then top-p (the order Hugging Face uses).

``generate`` uses a KV cache by default (see ``kv_cache.py``): after the prompt, each step
feeds only the newest token. The result is the same as recomputing everything each step.
Once the text outgrows the context, the model reads the last ``context_length`` tokens, and
the cache is dropped (every step then shifts all positions by one, so nothing can be reused).
"""
from __future__ import annotations

import torch

from course_lib.transformer.kv_cache import KVCache


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the k largest logits in each row and set the others to -inf: (..., V) -> (..., V).

    Logits tied with the k-th largest are kept too.
    """
    k = min(k, logits.shape[-1])
    kth_largest = torch.topk(logits, k, dim=-1).values[..., -1:]  # (..., 1)
    return logits.masked_fill(logits < kth_largest, float("-inf"))


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Keep the smallest set of most likely tokens whose probabilities reach p: (..., V) -> (..., V)."""
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)      # (..., V)
    probs = torch.softmax(sorted_logits, dim=-1)                            # (..., V)
    mass_before = torch.cumsum(probs, dim=-1) - probs                       # mass of the tokens ahead
    # A token is kept while the mass ahead of it is still short of p: this keeps the token
    # that crosses p, and always the most likely token (nothing ahead of it).
    keep_sorted = mass_before < p                                           # (..., V)
    keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)   # back to vocabulary order
    return logits.masked_fill(~keep, float("-inf"))


def check_sampling(greedy: bool, temperature: float, top_k: int | None, top_p: float | None) -> None:
    """Raise ValueError for a sampling setting that means nothing."""
    if not isinstance(greedy, bool):
        raise ValueError(f"greedy: expected True or False, got {greedy!r}")
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature >= 0:
        raise ValueError(f"temperature: expected a number >= 0 (0 means greedy), got {temperature!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"top_k: expected None or an int >= 1 (the number of tokens to keep), got {top_k!r}")
    if top_p is not None and (isinstance(top_p, bool) or not isinstance(top_p, (int, float))
                              or not 0.0 < top_p <= 1.0):
        raise ValueError(f"top_p: expected None or a probability in (0, 1], got {top_p!r}")


def sample_next_token(logits: torch.Tensor, greedy: bool = False, temperature: float = 1.0,
                      top_k: int | None = None, top_p: float | None = None,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """Choose one token per row of ``logits`` (B, V): returns ids of shape (B, 1).

    ``temperature=0`` is the same as ``greedy=True``. ``generator`` makes sampling repeatable
    (it must live on the logits' device).
    """
    check_sampling(greedy, temperature, top_k, top_p)
    if logits.dim() != 2:
        raise ValueError(f"expected logits of shape (B, V), got {tuple(logits.shape)}")
    logits = logits.float()
    if greedy or temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)  # (B, 1)
    logits = logits / temperature
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None and top_p < 1.0:  # p = 1 keeps everything (skip the rounding of cumsum)
        logits = top_p_filter(logits, top_p)
    probs = torch.softmax(logits, dim=-1)                               # (B, V), 0 where filtered
    return torch.multinomial(probs, num_samples=1, generator=generator)  # (B, 1)


@torch.no_grad()
def generate(model, prompt: torch.Tensor, max_new_tokens: int, greedy: bool = False,
             temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
             use_kv_cache: bool = True, generator: torch.Generator | None = None,
             stop_token: int | None = None) -> torch.Tensor:
    """Continue ``prompt`` (B, T) by ``max_new_tokens`` tokens: returns (B, T + max_new_tokens).

    The prompts of a batch have the same length T (generate one at a time otherwise).

    ``stop_token``: once a sequence has produced it, it only repeats it; generation ends early
    (fewer new tokens) when every sequence in the batch has stopped. The model is in eval mode
    meanwhile (no dropout) and goes back to its previous mode afterwards.
    """
    check_sampling(greedy, temperature, top_k, top_p)
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 0:
        raise ValueError(f"max_new_tokens: expected an int >= 0, got {max_new_tokens!r}")
    if not isinstance(prompt, torch.Tensor) or prompt.dim() != 2 or prompt.shape[1] == 0:
        got = tuple(prompt.shape) if isinstance(prompt, torch.Tensor) else type(prompt).__name__
        raise ValueError(f"prompt: expected token ids of shape (B, T) with T >= 1, got {got}")
    context = model.config.context_length
    was_training = model.training
    model.eval()
    try:
        ids = prompt
        cache: KVCache | None = model.new_kv_cache() if use_kv_cache else None
        finished = torch.zeros(prompt.shape[0], 1, dtype=torch.bool, device=prompt.device)
        for _ in range(max_new_tokens):
            if cache is not None and ids.shape[1] <= context:
                # Feed what the cache has not seen: the whole prompt first, then one token.
                logits, _ = model(ids[:, cache.length :], kv_cache=cache)  # (B, new, V)
            else:
                cache = None
                logits, _ = model(ids[:, -context:])                       # (B, <= context, V)
            next_token = sample_next_token(logits[:, -1], greedy, temperature, top_k, top_p, generator)  # (B, 1)
            if stop_token is not None:
                next_token = torch.where(finished, torch.full_like(next_token, stop_token), next_token)
                finished = finished | (next_token == stop_token)
            ids = torch.cat([ids, next_token], dim=1)                      # (B, T + 1)
            if stop_token is not None and bool(finished.all()):
                break
        return ids
    finally:
        model.train(was_training)
