"""A policy's scorecard: what the hidden judge thinks of its answers, and how far it moved to get there.

Every method of this package trades the same two things: reward gained and distance travelled from
the reference (the SFT model). The scorecard measures both on the same held-out prompts, with plain
sampling, so PPO, DPO and GRPO can sit in one table:

* ``gold``: the mean gold reward of the sampled answers (the judge no method ever saw);
* ``kl``: KL(pi || pi_ref) in nats per answer, estimated on the policy's own samples as the sum over
  each answer's tokens of log pi - log pi_ref (the k1 estimator, unbiased), then the mean;
* ``tokens``: the mean answer length, since a change of length is the first thing to suspect.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from course_lib.alignment.gold import gold_rewards
from course_lib.alignment.logprobs import masked_sum, response_logprobs
from course_lib.alignment.ppo import kl_penalty
from course_lib.alignment.rollouts import Rollout, pad_id_of, rollout_batch, sample_rollouts
from course_lib.finetuning.tasks import WriteExample


@dataclass
class Scorecard:
    gold: float             # mean gold reward per answer
    kl: float               # nats per answer, KL(policy || reference) on the policy's samples
    tokens: float           # mean response length (with <|end|>)
    rollouts: list[Rollout]


@torch.no_grad()
def scorecard(policy: nn.Module, reference: nn.Module, tokenizer, examples: list[WriteExample],
              max_new_tokens: int = 64, seed: int = 0) -> Scorecard:
    """Sample one answer per example from ``policy`` and score it against the judge and the reference."""
    was_training = policy.training
    policy.eval()
    rollouts = sample_rollouts(policy, tokenizer, examples, max_new_tokens=max_new_tokens, seed=seed)
    inputs, targets, padding_mask = rollout_batch(rollouts, pad_id_of(tokenizer))
    logp, mask = response_logprobs(policy, inputs, targets, padding_mask)          # (B, T) each
    ref_logp, _ = response_logprobs(reference, inputs, targets, padding_mask)
    kl = masked_sum(kl_penalty(logp, ref_logp, mask, "k1"), mask)                  # (B,) nats per answer
    policy.train(was_training)
    return Scorecard(gold_rewards(rollouts).mean().item(), kl.mean().item(), mask.sum(1).float().mean().item(),
                     rollouts)
