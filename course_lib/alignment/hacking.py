"""Reward hacking, measured: a proxy reward with a flaw the policy can reach, optimised with and without KL.

Gao et al. (2023, "Scaling laws for reward model overoptimization") trained policies against a
*proxy* reward model and scored them with a *gold* one: as the policy drifts from where it started
(measured by KL), the proxy keeps rising while the gold reward rises, peaks and falls. Goodhart's
law: a measure that becomes a target stops being a good measure.

The course's proxy is the cheapest critic there is, a **feeling-word counter**: +1 for every
pleasant feeling word of the answer ("happy", "brave", "proud", "curious"), -1 for every unpleasant
one. The first RLHF demonstrations optimised just such a sentiment score. The counter agrees with
the hidden judge about the mood of a story, so at first it points the right way; but it pays for
*every* extra happy word, and the policy already samples answers with two of them, and others
with five or more sentences. Stacking feelings means more sentences and repeated ones, which the
judge punishes. Without a KL penalty nothing stops the policy from following the counter there.

``HACKING_DEMO`` is the lesson's seeded set-up (lambda = 1: the trainer itself does not favour
short answers); ``overoptimisation_run`` runs it for one beta and returns the trainer: its ``history`` (the proxy
as ``score``, ``gold``, ``kl`` in nats per answer, ``tokens``), its ``policy`` and ``last_rollouts``.
"""
from __future__ import annotations

import copy
import dataclasses

import torch
from torch import nn

from course_lib.alignment.gold import feelings_of, gold_rewards
from course_lib.alignment.ppo_trainer import PPOConfig, PPOTrainer
from course_lib.finetuning.tasks import write_examples


def feeling_count_reward(rollouts) -> torch.Tensor:
    """The proxy: pleasant minus unpleasant feeling words of each answer, (B,)."""
    counts = [feelings_of(r.text) for r in rollouts]
    return torch.tensor([float(pleasant - unpleasant) for pleasant, unpleasant in counts])


# The demonstration's configuration (tuned on the shipped policy, one thread): without KL the proxy
# climbs from about 0 to 5+ while the gold reward falls from about 0.5 to below -2 within 16 steps,
# the KL passing 50 nats; with beta = 0.2 the KL stays under about 10 nats and the gold reward rises.
HACKING_DEMO = PPOConfig(beta=0.0, batch_prompts=16, max_new_tokens=64, lr=6e-4, lam=1.0, seed=0)
HACKING_STEPS = 16
HACKING_PROMPTS = dict(n=256, split="train", seed=11)


def overoptimisation_run(policy: nn.Module, tokenizer, beta: float, steps: int = HACKING_STEPS,
                         config: PPOConfig = HACKING_DEMO, progress=None) -> PPOTrainer:
    """PPO on a copy of ``policy`` against ``feeling_count_reward`` with KL weight ``beta``: the trained trainer.

    ``progress`` (optional) wraps the range of steps, e.g. ``tqdm``.
    """
    trainer = PPOTrainer(copy.deepcopy(policy), tokenizer, write_examples(**HACKING_PROMPTS),
                         feeling_count_reward, dataclasses.replace(config, beta=beta), gold_fn=gold_rewards)
    for _ in (progress or (lambda it: it))(range(steps)):
        trainer.step()
    return trainer
