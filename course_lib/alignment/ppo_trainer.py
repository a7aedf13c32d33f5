"""PPO on a language model, one step at a time: sample, score, compare with the reference, update.

One ``PPOTrainer.step()``:

1. **Rollout**: the policy answers a batch of prompts (plain sampling, stopping at ``<|end|>``).
2. **Score**: ``reward_fn(rollouts)`` gives one number per answer (a reward model, a proxy, ...).
3. **Old and reference log-probs** of the sampled tokens, and the value head's estimates, with no
   gradient: the policy as it was when it sampled, and the frozen reference (the SFT model).
4. **Rewards per token**: -beta * KL at every response token, plus the score at the last one.
5. **Advantages** by GAE (gamma = 1), whitened over the batch's response tokens.
6. **Several epochs** of the clipped surrogate plus the clipped value loss on this one batch.

The value head reads the policy's final hidden states *detached*: the value loss trains the head
only, and the policy learns from the surrogate alone. It starts at zero. Because a young value
head knows nothing, ``lam = 1`` (the Monte-Carlo return) is the default: with lam < 1 the early
tokens of a long answer receive little of the end reward, and after whitening long answers look
worse than short ones, so the policy learns to stop early whatever the reward says.
"""
from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from course_lib.alignment.logprobs import masked_sum, token_logprobs
from course_lib.alignment.ppo import gae, kl_penalty, ppo_clip_loss, value_loss, whiten
from course_lib.alignment.rollouts import Rollout, pad_id_of, rollout_batch, sample_rollouts
from course_lib.finetuning.tasks import WriteExample


@dataclass
class PPOConfig:
    beta: float = 0.1              # weight of the KL penalty (0: none)
    kl_estimator: str = "k1"
    batch_prompts: int = 16        # answers per step
    max_new_tokens: int = 64
    epochs: int = 2                # passes over each batch of rollouts
    lr: float = 1e-4
    clip: float = 0.2
    value_clip: float = 0.2
    value_coef: float = 0.1
    gamma: float = 1.0
    lam: float = 1.0
    grad_clip: float = 1.0
    seed: int = 0


class PPOTrainer:
    """PPO with a KL penalty against a frozen copy of the starting policy."""

    def __init__(self, policy: nn.Module, tokenizer, prompts: list[WriteExample],
                 reward_fn: Callable[[list[Rollout]], torch.Tensor], config: PPOConfig | None = None,
                 gold_fn: Callable[[list[Rollout]], torch.Tensor] | None = None):
        self.config = config or PPOConfig()
        if self.config.beta < 0:
            raise ValueError(f"beta: expected a number >= 0, got {self.config.beta}")
        if not prompts:
            raise ValueError("prompts: expected at least one instruction to answer")
        self.policy, self.tokenizer, self.prompts = policy, tokenizer, prompts
        self.reference = copy.deepcopy(policy).eval()           # frozen: where the policy started
        for p in self.reference.parameters():
            p.requires_grad_(False)
        self.value_head = nn.Linear(policy.config.d_model, 1)   # reads the policy's states, detached
        nn.init.zeros_(self.value_head.weight)
        nn.init.zeros_(self.value_head.bias)
        self.reward_fn, self.gold_fn = reward_fn, gold_fn
        params = [p for p in policy.parameters() if p.requires_grad] + list(self.value_head.parameters())
        self.optimizer = torch.optim.AdamW(params, lr=self.config.lr, weight_decay=0.0)
        self.pad_id = pad_id_of(tokenizer)
        self.rng = random.Random(self.config.seed)
        self.steps = 0
        self.last_rollouts: list[Rollout] = []                  # the answers of the latest step
        self.history: dict[str, list[float]] = {k: [] for k in
                                                ("score", "gold", "kl", "tokens", "clip_fraction", "loss")}

    def _forward(self, model, inputs, targets, padding_mask):
        """Per-token log-probs of the targets (B, T) and the final hidden states (B, T, C)."""
        h = model.features(inputs, padding_mask)                # (B, T, C)
        return token_logprobs(model.lm_head(h), targets), h

    def step(self) -> dict[str, float]:
        config = self.config
        examples = [self.rng.choice(self.prompts) for _ in range(config.batch_prompts)]
        self.policy.eval()
        rollouts = sample_rollouts(self.policy, self.tokenizer, examples, max_new_tokens=config.max_new_tokens,
                                   seed=config.seed * 100_003 + self.steps)
        self.last_rollouts = rollouts
        scores = torch.as_tensor(self.reward_fn(rollouts), dtype=torch.float32)        # (B,)
        inputs, targets, padding_mask = rollout_batch(rollouts, self.pad_id)           # (B, T) each
        mask = targets != -100                                                         # (B, T) response tokens
        with torch.no_grad():
            old_logp, h = self._forward(self.policy, inputs, targets, padding_mask)
            ref_logp, _ = self._forward(self.reference, inputs, targets, padding_mask)
            old_values = self.value_head(h)[..., 0] * mask                             # (B, T)
            kl = kl_penalty(old_logp, ref_logp, mask, config.kl_estimator)             # (B, T)
            rewards = -config.beta * kl
            last = mask.cumsum(1).argmax(1)                                            # (B,) last response token
            rewards[torch.arange(len(rollouts)), last] += scores
            advantages, returns = gae(rewards, old_values, mask, config.gamma, config.lam)
            advantages = whiten(advantages, mask)
        self.policy.train()
        for _ in range(config.epochs):
            new_logp, h = self._forward(self.policy, inputs, targets, padding_mask)
            values = self.value_head(h.detach())[..., 0]
            policy_loss, clip_fraction = ppo_clip_loss(new_logp, old_logp, advantages, mask, config.clip)
            loss = policy_loss + config.value_coef * value_loss(values, old_values, returns, mask, config.value_clip)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for g in self.optimizer.param_groups for p in g["params"]],
                                           config.grad_clip)
            self.optimizer.step()
        self.policy.eval()
        self.steps += 1
        stats = {
            "score": scores.mean().item(),
            "gold": torch.as_tensor(self.gold_fn(rollouts)).float().mean().item() if self.gold_fn else float("nan"),
            "kl": masked_sum(kl_penalty(old_logp, ref_logp, mask, "k1"), mask).mean().item(),  # nats per answer
            "tokens": mask.sum(1).float().mean().item(),
            "clip_fraction": clip_fraction.item(),
            "loss": loss.item(),
        }
        for key, value in stats.items():
            self.history[key].append(value)
        return stats


