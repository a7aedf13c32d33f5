"""GRPO: PPO without a value model, the baseline taken from a group of answers to one prompt.

DeepSeekMath (Shao et al., 2024) samples G answers to each prompt, scores them, and uses each
answer's reward relative to its group as the advantage of all its tokens:

    A_i = (r_i - mean(r_group)) / (std(r_group) + eps)

No value head to train, no GAE: the group *is* the baseline. Two consequences worth knowing:

* a group whose answers all get the same reward has A = 0 for all of them: no signal (and, with the
  eps, no division by zero). Easy prompts and impossible ones teach nothing.
* the loss value sits near 0 even while learning (on the first pass the ratio is 1 and the
  advantages are centred), so watch the reward, not the loss (trl #2703, open-r1 #239).

Dividing by the std up-weights groups with tiny differences; Dr. GRPO (Liu et al., 2025) drops it
(``normalize_std=False``). How token losses are averaged matters too: per answer then per batch
("grpo", which favours short answers' tokens), or over all tokens ("dapo"), or a fixed constant
("dr_grpo").
"""
from __future__ import annotations

import torch

from course_lib.alignment.logprobs import masked_mean
from course_lib.alignment.ppo import kl_penalty


def group_advantages(rewards: torch.Tensor, group_size: int, normalize_std: bool = True,
                     eps: float = 1e-4) -> torch.Tensor:
    """Advantages (B,) from rewards (B,) laid out in contiguous groups of ``group_size`` answers.

    Rows 0..G-1 answer the first prompt, G..2G-1 the second, and so on. The std is the unbiased one.
    """
    if rewards.dim() != 1:
        raise ValueError(f"rewards: expected one reward per answer, shape (B,), got {tuple(rewards.shape)}")
    if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size < 2:
        raise ValueError(f"group_size: expected an int >= 2 (answers per prompt), got {group_size!r}")
    if len(rewards) % group_size:
        raise ValueError(f"{len(rewards)} rewards do not divide into groups of {group_size}")
    groups = rewards.view(-1, group_size)                              # (prompts, G)
    centred = groups - groups.mean(dim=1, keepdim=True)
    if normalize_std:
        centred = centred / (groups.std(dim=1, keepdim=True) + eps)    # unbiased std, as TRL
    return centred.reshape(-1)                                         # (B,)


def grpo_loss(logp_new: torch.Tensor, logp_old: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor,
              clip: float = 0.2, loss_type: str = "grpo", ref_logp: torch.Tensor | None = None,
              beta: float = 0.0) -> torch.Tensor:
    """The clipped surrogate with one advantage per answer (B,) spread over its tokens (B, T)."""
    if advantages.dim() != 1 or advantages.shape[0] != logp_new.shape[0]:
        raise ValueError(f"advantages: expected one per answer, shape ({logp_new.shape[0]},), "
                         f"got {tuple(advantages.shape)}")
    ratio = torch.exp(logp_new - logp_old.detach())                         # (B, T)
    A = advantages[:, None]                                                # (B, 1) -> every token of the answer
    per_token = -torch.minimum(ratio * A, torch.clamp(ratio, 1 - clip, 1 + clip) * A)
    if beta:
        if ref_logp is None:
            raise ValueError("beta > 0 needs ref_logp, the reference's log-probs of the same tokens")
        per_token = per_token + beta * kl_penalty(logp_new, ref_logp.detach(), mask, kind="k3")
    mask = mask.to(per_token.dtype)
    if loss_type == "grpo":        # mean over each answer's tokens, then over answers
        lengths = mask.sum(-1)
        if bool((lengths == 0).any()):
            raise ValueError("an answer has no tokens: every response needs at least its end token")
        return ((per_token * mask).sum(-1) / lengths).mean()
    if loss_type == "dapo":        # mean over every token of the batch
        return masked_mean(per_token, mask)
    if loss_type == "dr_grpo":     # sum over tokens / (answers x longest possible answer)
        return (per_token * mask).sum() / mask.numel()
    raise ValueError(f"loss_type: expected 'grpo', 'dapo' or 'dr_grpo', got {loss_type!r}")
