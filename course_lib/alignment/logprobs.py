"""Log-probabilities of responses: what every preference method measures about a policy.

A chat transcript ``<|user|> prompt <|assistant|> response <|end|>`` is scored in one forward
pass. With the targets of ``finetuning.chat.collate_chat`` (-100 everywhere but the response
and its end), the model's log-probability of each response token is

    log pi(y_t | x, y_<t) = log_softmax(logits[t])[target[t]]         for every trained target t

and the log-probability of the whole response is their **sum** (a product of probabilities).
DPO uses the sum; a **mean** over the response tokens is a length-normalised variant (IPO,
SimPO), which behaves differently: it no longer favours short answers by itself.

The **entropy** of the next-token distribution, -sum_v p_v log p_v, says how much the policy
still explores: it falls as RL sharpens the policy.
"""
from __future__ import annotations

import torch

from course_lib.transformer.gpt import IGNORE_INDEX


def token_logprobs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """log p(target) at every position: (B, T, V), (B, T) -> (B, T); 0 where the target is -100."""
    if logits.dim() != 3 or targets.shape != logits.shape[:2]:
        raise ValueError(f"expected logits (B, T, V) and targets (B, T), got {tuple(logits.shape)} "
                         f"and {tuple(targets.shape)}")
    mask = targets != IGNORE_INDEX
    picked = torch.log_softmax(logits.float(), dim=-1).gather(-1, targets.clamp(min=0)[..., None])[..., 0]  # (B, T)
    return picked * mask


def masked_sum(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Sum over the last dimension of the entries where ``mask`` is true: (B, T) -> (B,)."""
    _same_shape(values, mask)
    return (values * mask).sum(-1)


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of all entries where ``mask`` is true (every token of the batch weighs the same): a scalar."""
    _same_shape(values, mask)
    count = mask.sum()
    if count == 0:
        raise ValueError("masked_mean: the mask selects no entry (an empty response?)")
    return (values * mask).sum() / count


def sequence_logprobs(token_lp: torch.Tensor, mask: torch.Tensor, reduction: str = "sum") -> torch.Tensor:
    """The log-probability of each response: the sum (or mean) of its tokens' log-probs, (B, T) -> (B,)."""
    _same_shape(token_lp, mask)
    lengths = mask.sum(-1)
    if bool((lengths == 0).any()):
        rows = torch.nonzero(lengths == 0).flatten().tolist()
        raise ValueError(f"rows {rows} have an empty response: nothing to score")
    total = masked_sum(token_lp, mask)
    if reduction == "sum":
        return total
    if reduction == "mean":
        return total / lengths
    raise ValueError(f"reduction: expected 'sum' or 'mean', got {reduction!r}")


def entropy(logits: torch.Tensor) -> torch.Tensor:
    """Entropy of the next-token distribution at every position: (B, T, V) -> (B, T), in nats."""
    logp = torch.log_softmax(logits.float(), dim=-1)
    return -(logp.exp() * logp).sum(-1)


def response_logprobs(model, inputs: torch.Tensor, targets: torch.Tensor,
                      padding_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token log-probs of the response tokens (B, T) and their mask (B, T), from one forward pass."""
    logits, _ = model(inputs, padding_mask=padding_mask)      # (B, T, V)
    return token_logprobs(logits, targets), targets != IGNORE_INDEX


def _same_shape(values, mask) -> None:
    if values.shape != mask.shape:
        raise ValueError(f"values and mask must have the same shape, got {tuple(values.shape)} and {tuple(mask.shape)}")
