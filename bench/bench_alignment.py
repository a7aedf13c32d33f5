"""Benchmark alignment on the shipped instruction-tuned policy: the cost of a step, and what it buys.

For each method, the recipe of lesson 06 (one thread, CPU time by ``time.process_time``):

* **PPO** against a reward model trained on the annotator's preferences (beta 0.1, 16 answers a step):
  seconds per step split into the **rollout** (sampling the answers) and the **update** (reward model,
  reference and policy forward passes, two epochs of the clipped loss and the value loss);
* **DPO** on the same preference pairs (16 pairs a step; no rollout: the reference log-probs of all
  pairs are computed once, and that one-off pass is counted in the mean);
* **GRPO** with the hidden judge as a verifiable reward (8 answers to each of 4 prompts a step), split
  like PPO.

Then the **gold reward reached and the KL spent**: every final policy answers the same held-out
prompts (``alignment.scorecard``), next to the starting policy.

    python bench/bench_alignment.py            # about three minutes on one thread
    python bench/bench_alignment.py --quick    # fewer steps and prompts
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from bench_tokenizer import table

from course_lib.alignment import (
    GRPOTrainer,
    PPOConfig,
    PPOTrainer,
    dpo_train,
    gold_rewards,
    scorecard,
)
from course_lib.alignment import ppo_trainer as ppo_module
from course_lib.alignment.aligned_models import RECIPE, reward_model_from_preferences
from course_lib.alignment import preference_training as grpo_module
from course_lib.finetuning import write_examples
from course_lib.finetuning.instruct_model import load_instruct


def train_reward_model(policy, tokenizer, n_prompts: int, steps: int):
    """The lesson's reward model: K = 4 answers per prompt, all pairs, Bradley-Terry steps."""
    recipe = dataclasses.replace(RECIPE, preference_prompts=n_prompts, reward_steps=steps)
    score, pairs, _ = reward_model_from_preferences(policy, tokenizer, recipe)
    return score, pairs


class RolloutClock:
    """Stands in for ``module.sample_rollouts`` and adds up the CPU time the sampling spends."""

    def __init__(self, module):
        self.module, self.sample, self.seconds = module, module.sample_rollouts, 0.0
        module.sample_rollouts = self

    def __call__(self, *args, **kwargs):
        started = time.process_time()
        try:
            return self.sample(*args, **kwargs)
        finally:
            self.seconds += time.process_time() - started

    def restore(self) -> None:
        self.module.sample_rollouts = self.sample


def split_steps(step, clock: RolloutClock, steps: int) -> tuple[list[float], list[float]]:
    """CPU seconds of each step's rollout and of the rest of it (the update)."""
    rollouts, updates = [], []
    for _ in range(steps):
        sampled, started = clock.seconds, time.process_time()
        step()
        rollouts.append(clock.seconds - sampled)
        updates.append(time.process_time() - started - rollouts[-1])
    return rollouts, updates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    ppo_steps, dpo_steps, grpo_steps, n_eval = (6, 6, 4, 32) if args.quick else (24, 24, 15, 64)
    policy, tokenizer = load_instruct()
    rm_score, pairs = train_reward_model(policy, tokenizer, n_prompts=64 if args.quick else 128,
                                         steps=10 if args.quick else 30)

    clock = RolloutClock(ppo_module)                         # the trainer samples through the clock
    try:
        ppo = PPOTrainer(copy.deepcopy(policy), tokenizer, write_examples(256, "train", seed=9), rm_score,
                         PPOConfig(beta=0.1, batch_prompts=16, max_new_tokens=64, lr=1e-4, seed=0))
        ppo_rollout, ppo_update = split_steps(ppo.step, clock, ppo_steps)
    finally:
        clock.restore()

    dpo_policy = copy.deepcopy(policy)
    started = time.process_time()
    dpo_train(dpo_policy, tokenizer, pairs, steps=dpo_steps, beta=0.1, lr=1e-4, batch_size=16)
    dpo_seconds = (time.process_time() - started) / dpo_steps

    clock = RolloutClock(grpo_module)
    try:
        grpo = GRPOTrainer(copy.deepcopy(policy), tokenizer, write_examples(256, "train", seed=4), gold_rewards,
                           group_size=8, prompts_per_step=4, max_new_tokens=64, lr=1e-4, seed=0)
        grpo_rollout, grpo_update = split_steps(grpo.step, clock, grpo_steps)
    finally:
        clock.restore()

    median = statistics.median
    table("CPU seconds per step (one thread; medians over the run, DPO a mean):",
          ["method", "steps", "batch", "rollout", "update", "whole step"],
          [["PPO (reward model, beta 0.1)", ppo_steps, "16 answers", f"{median(ppo_rollout):.2f}",
            f"{median(ppo_update):.2f}", f"{median(r + u for r, u in zip(ppo_rollout, ppo_update)):.2f}"],
           ["DPO (beta 0.1)", dpo_steps, "16 pairs", "none (offline)", f"{dpo_seconds:.2f}", f"{dpo_seconds:.2f}"],
           ["GRPO (gold reward)", grpo_steps, "4 prompts x 8", f"{median(grpo_rollout):.2f}",
            f"{median(grpo_update):.2f}", f"{median(r + u for r, u in zip(grpo_rollout, grpo_update)):.2f}"]])

    held_out = write_examples(n_eval, "test", seed=2)
    rows = []
    for name, model in {"SFT (start)": policy, "PPO": ppo.policy, "DPO": dpo_policy, "GRPO": grpo.policy}.items():
        card = scorecard(model, policy, tokenizer, held_out, max_new_tokens=64, seed=3)
        rows.append([name, f"{card.gold:+.2f}", f"{card.kl:.2f}", f"{card.tokens:.1f}"])
    table(f"Gold reward reached and KL spent, on {n_eval} held-out prompts (one sampled answer each):",
          ["policy", "gold", "KL (nats/answer)", "tokens"], rows)


if __name__ == "__main__":
    main()
