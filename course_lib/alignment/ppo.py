"""PPO for language models: the pieces, each a small function on tensors.

The policy writes a response token by token; each token is an *action*. The reward arrives once,
at the end (the reward model's score). PPO (Schulman et al., 2017) as used by InstructGPT:

1. **KL penalty.** Every token also gets -beta * KL, an estimate of how far the policy has moved
   from the frozen reference (the SFT model) at that token. Without it the policy drifts wherever
   the reward model is wrong (reward hacking). With samples from the policy, three estimators of
   KL(pi || ref) per token, r = pi_ref / pi (Schulman's note "Approximating KL divergence"):
   k1 = -log r (unbiased, can be negative), k2 = (log r)^2 / 2 (biased, low variance),
   k3 = (r - 1) - log r (unbiased, never negative).
2. **Advantages by GAE.** A value head predicts the return from each position. The TD error
   delta_t = r_t + gamma V_{t+1} - V_t, and A_t = delta_t + gamma lambda A_{t+1}, computed
   backwards from the end of each response (nothing follows the last token). lambda = 1 gives
   the Monte-Carlo return minus the value; smaller lambda leans on the (early: poor) value head.
3. **Whitening.** Advantages are shifted and scaled to mean 0, variance 1 over the batch's tokens.
4. **The clipped surrogate.** ratio = pi_new / pi_old; loss = -min(ratio A, clip(ratio, 1-eps, 1+eps) A).
   Once a token's ratio has moved past the clip range *in the direction that helps*, its gradient
   is exactly zero: several epochs over one batch of rollouts cannot push the policy far.
5. **The clipped value loss**: 0.5 max((V - R)^2, (V_old + clip(V - V_old) - R)^2).
"""
from __future__ import annotations

import torch

from course_lib.alignment.logprobs import masked_mean


def kl_penalty(logp: torch.Tensor, ref_logp: torch.Tensor, mask: torch.Tensor, kind: str = "k1") -> torch.Tensor:
    """Per-token estimate of KL(pi || ref) from log-probs of the sampled tokens: (B, T), 0 off the mask."""
    if logp.shape != ref_logp.shape or logp.shape != mask.shape:
        raise ValueError(f"logp, ref_logp and mask must have one shape, got {tuple(logp.shape)}, "
                         f"{tuple(ref_logp.shape)} and {tuple(mask.shape)}")
    log_ratio = logp - ref_logp                              # log pi/ref = -log r
    if kind == "k1":
        kl = log_ratio
    elif kind == "k2":
        kl = 0.5 * log_ratio ** 2
    elif kind == "k3":
        kl = torch.expm1(-log_ratio) + log_ratio             # (r - 1) - log r, accurate near r = 1
    else:
        raise ValueError(f"kind: expected 'k1', 'k2' or 'k3', got {kind!r}")
    return kl * mask


def gae(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float = 1.0,
        lam: float = 0.95) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimates and returns, (B, T) each, for responses where ``mask`` is true.

    Each row's response is a contiguous run of true entries; after its last token the value is 0
    (the episode is over), and nothing flows backwards across the end or through padding.
    """
    if rewards.shape != values.shape or rewards.shape != mask.shape:
        raise ValueError(f"rewards, values and mask must have one shape, got {tuple(rewards.shape)}, "
                         f"{tuple(values.shape)} and {tuple(mask.shape)}")
    mask = mask.to(values.dtype)
    values = values * mask
    advantages = torch.zeros_like(values)
    next_value = torch.zeros_like(values[:, 0])              # (B,): V after the last position
    next_advantage = torch.zeros_like(values[:, 0])
    for t in reversed(range(values.shape[1])):
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        advantage = delta + gamma * lam * next_advantage
        advantages[:, t] = advantage * mask[:, t]
        # Off the response (padding), carry nothing backwards: the next real token sees V = 0, A = 0.
        next_value = values[:, t] * mask[:, t]
        next_advantage = advantages[:, t]
    return advantages, (advantages + values) * mask


def whiten(x: torch.Tensor, mask: torch.Tensor, shift_mean: bool = True) -> torch.Tensor:
    """(x - mean) / std over the entries where ``mask`` is true (unbiased variance); 0 elsewhere."""
    count = mask.sum()
    if count < 2:
        raise ValueError(f"whiten needs at least 2 masked entries, got {int(count)}")
    mean = masked_mean(x, mask)
    variance = ((x - mean) ** 2 * mask).sum() / (count - 1)
    centred = x - mean if shift_mean else x
    return centred * torch.rsqrt(variance + 1e-8) * mask


def ppo_clip_loss(logp_new: torch.Tensor, logp_old: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor,
                  clip: float = 0.2) -> tuple[torch.Tensor, torch.Tensor]:
    """The clipped surrogate loss (a mean over the batch's response tokens) and the clipped fraction."""
    if not (logp_new.shape == logp_old.shape == advantages.shape == mask.shape):
        raise ValueError("logp_new, logp_old, advantages and mask must have one shape, got "
                         f"{[tuple(t.shape) for t in (logp_new, logp_old, advantages, mask)]}")
    ratio = torch.exp(logp_new - logp_old.detach())                           # (B, T) pi_new / pi_old
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1.0 - clip, 1.0 + clip) * advantages
    loss = masked_mean(-torch.minimum(unclipped, clipped), mask)
    clip_fraction = masked_mean((clipped < unclipped).float(), mask)          # tokens whose gradient is cut
    return loss, clip_fraction.detach()


def value_loss(values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor,
               clip: float = 0.2) -> torch.Tensor:
    """0.5 max((V - R)^2, (V_clipped - R)^2), a mean over the response tokens."""
    clipped = old_values + torch.clamp(values - old_values, -clip, clip)
    return 0.5 * masked_mean(torch.maximum((values - returns) ** 2, (clipped - returns) ** 2), mask)
