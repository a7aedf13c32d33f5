"""Training loops for DPO and GRPO on the course's policy, each one small function.

``dpo_train`` needs only preference pairs: the reference log-probs are computed once, then each
step scores a batch of chosen and rejected answers with the policy and takes one AdamW step on
the DPO loss. ``GRPOTrainer.step`` samples a group of answers per prompt, scores them with a
reward function (a verifiable rule, no reward model needed), and updates with group advantages.
"""
from __future__ import annotations

import copy
import random
from typing import Callable

import torch
from torch import nn

from course_lib.alignment.dpo import dpo_loss
from course_lib.alignment.grpo import group_advantages, grpo_loss
from course_lib.alignment.logprobs import masked_sum, response_logprobs, sequence_logprobs
from course_lib.alignment.ppo import kl_penalty
from course_lib.alignment.preferences import PreferencePair
from course_lib.alignment.rollouts import Rollout, pad_id_of, rollout_batch, sample_rollouts
from course_lib.finetuning.tasks import WriteExample


def _frozen_copy(model: nn.Module) -> nn.Module:
    reference = copy.deepcopy(model).eval()
    for p in reference.parameters():
        p.requires_grad_(False)
    return reference


def pair_logprobs(model: nn.Module, pairs: list[PreferencePair], pad_id: int, reduction: str = "sum"):
    """Sequence log-probs (B,) of the chosen and of the rejected answers of ``pairs``."""
    chosen = sequence_logprobs(*response_logprobs(model, *rollout_batch([p.chosen for p in pairs], pad_id)),
                               reduction=reduction)
    rejected = sequence_logprobs(*response_logprobs(model, *rollout_batch([p.rejected for p in pairs], pad_id)),
                                 reduction=reduction)
    return chosen, rejected


def dpo_train(policy: nn.Module, tokenizer, pairs: list[PreferencePair], steps: int, beta: float = 0.1,
              lr: float = 1e-4, batch_size: int = 16, kind: str = "sigmoid", seed: int = 0) -> dict[str, list]:
    """Fine-tune ``policy`` on ``pairs`` with DPO (or IPO); return the history of loss and implicit rewards."""
    pad_id = pad_id_of(tokenizer)
    reduction = "mean" if kind == "ipo" else "sum"
    reference = _frozen_copy(policy)
    with torch.no_grad():   # the reference never changes: score every pair once
        ref_chosen, ref_rejected = pair_logprobs(reference, pairs, pad_id, reduction)
    optimizer = torch.optim.AdamW([p for p in policy.parameters() if p.requires_grad], lr=lr, weight_decay=0.0)
    generator = torch.Generator().manual_seed(seed)
    history: dict[str, list] = {"loss": [], "chosen_reward": [], "rejected_reward": [], "accuracy": []}
    policy.train()
    for _ in range(steps):
        rows = torch.randint(len(pairs), (batch_size,), generator=generator)
        chosen, rejected = pair_logprobs(policy, [pairs[i] for i in rows.tolist()], pad_id, reduction)
        loss, chosen_rewards, rejected_rewards = dpo_loss(chosen, rejected, ref_chosen[rows], ref_rejected[rows],
                                                          beta, kind)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        history["loss"].append(loss.item())
        history["chosen_reward"].append(chosen_rewards.mean().item())
        history["rejected_reward"].append(rejected_rewards.mean().item())
        history["accuracy"].append((chosen_rewards > rejected_rewards).float().mean().item())
    policy.eval()
    return history


class GRPOTrainer:
    """GRPO: ``group_size`` answers to each of ``prompts_per_step`` prompts, advantages within groups."""

    def __init__(self, policy: nn.Module, tokenizer, prompts: list[WriteExample],
                 reward_fn: Callable[[list[Rollout]], torch.Tensor], group_size: int = 8, prompts_per_step: int = 4,
                 max_new_tokens: int = 64, lr: float = 1e-4, beta: float = 0.0, iterations: int = 1,
                 loss_type: str = "grpo", normalize_std: bool = True, seed: int = 0):
        self.policy, self.tokenizer, self.prompts, self.reward_fn = policy, tokenizer, prompts, reward_fn
        self.group_size, self.prompts_per_step, self.max_new_tokens = group_size, prompts_per_step, max_new_tokens
        self.beta, self.iterations, self.loss_type, self.normalize_std = beta, iterations, loss_type, normalize_std
        self.reference = _frozen_copy(policy)
        self.optimizer = torch.optim.AdamW([p for p in policy.parameters() if p.requires_grad], lr=lr, weight_decay=0.0)
        self.pad_id = pad_id_of(tokenizer)
        self.rng, self.seed, self.steps = random.Random(seed), seed, 0
        self.history: dict[str, list[float]] = {"reward": [], "kl": [], "tokens": [], "loss": [], "signal": []}

    def step(self) -> dict[str, float]:
        examples = [self.rng.choice(self.prompts) for _ in range(self.prompts_per_step)]
        self.policy.eval()
        rollouts = sample_rollouts(self.policy, self.tokenizer, examples, per_prompt=self.group_size,
                                   max_new_tokens=self.max_new_tokens, seed=self.seed * 100_003 + self.steps)
        rewards = torch.as_tensor(self.reward_fn(rollouts), dtype=torch.float32)          # (B,)
        advantages = group_advantages(rewards, self.group_size, self.normalize_std)       # (B,)
        inputs, targets, padding_mask = rollout_batch(rollouts, self.pad_id)
        with torch.no_grad():
            old_logp, mask = response_logprobs(self.policy, inputs, targets, padding_mask)
            ref_logp, _ = response_logprobs(self.reference, inputs, targets, padding_mask)
        self.policy.train()
        for _ in range(self.iterations):
            new_logp, _ = response_logprobs(self.policy, inputs, targets, padding_mask)
            loss = grpo_loss(new_logp, old_logp, advantages, mask, loss_type=self.loss_type,
                             ref_logp=ref_logp, beta=self.beta)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
        self.policy.eval()
        self.steps += 1
        groups = rewards.view(-1, self.group_size)
        stats = {"reward": rewards.mean().item(),
                 "kl": masked_sum(kl_penalty(old_logp, ref_logp, mask, "k1"), mask).mean().item(),
                 "tokens": mask.sum(1).float().mean().item(), "loss": loss.item(),
                 # the share of groups whose answers differ in reward: the others teach nothing
                 "signal": (groups.max(1).values > groups.min(1).values).float().mean().item()}
        for key, value in stats.items():
            self.history[key].append(value)
        return stats
