"""The course's preference-tuned models: the instruction-tuned policy after PPO and after DPO.

Lesson 08's report card grades every model of the course side by side; these two are lesson 06's,
made by its recipe and shipped so that the report card costs no training:

1. the instruction-tuned policy answers 128 training prompts four times each (plain sampling), and
   the noisy annotator ranks each group: 768 preference pairs;
2. a reward model (a copy of the policy with a scalar head) learns them: 30 Bradley-Terry steps;
3. **PPO** against that reward model with a KL penalty (beta 0.1), 24 steps of 16 answers;
4. **DPO** on the same pairs (beta 0.1), 24 steps of 16 pairs.

Files in ``course_lib/assets/aligned/``: ``ppo.pt`` and ``dpo.pt`` (plain state_dicts) and
``card.json`` (the recipe, the reward model's and each method's losses, each policy's scorecard on
held-out prompts: gold reward, KL to the starting policy, answer length, and the SHA-256 of every
file and of the policy it started from). ``llmcourse align`` rebuilds them (about two minutes on one
thread), bit for bit on one machine.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from course_lib.alignment.gold import gold_rewards
from course_lib.alignment.ppo_trainer import PPOConfig, PPOTrainer
from course_lib.alignment.preference_training import dpo_train
from course_lib.alignment.preferences import preference_pairs
from course_lib.alignment.reward_model import PairBatches, PairwiseObjective, RewardModel
from course_lib.alignment.rollouts import pad_id_of, sample_rollouts, transcript_batch
from course_lib.alignment.scorecard import scorecard
from course_lib.device import seed_everything
from course_lib.finetuning.instruct_model import ASSETS as INSTRUCT
from course_lib.finetuning.instruct_model import load_instruct
from course_lib.finetuning.tasks import write_examples
from course_lib.pretrained import read_card, sha256_of, verify_files
from course_lib.tokenization.base import atomic_write
from course_lib.training.trainer import Trainer, TrainerConfig
from course_lib.transformer.config import GPTConfig
from course_lib.transformer.gpt import GPT

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "aligned"
CARD_FORMAT = "course_lib.aligned"
REBUILD = "llmcourse align"
METHODS = ("ppo", "dpo")


@dataclass(frozen=True)
class AlignRecipe:
    """Everything that decides the two preference-tuned policies."""
    preference_prompts: int = 128   # write_examples(preference_prompts, "train", seed=5), 4 answers each
    answers_per_prompt: int = 4
    max_new_tokens: int = 64
    reward_steps: int = 30
    reward_lr: float = 1e-3
    beta: float = 0.1               # KL weight of PPO, and DPO's beta
    ppo_steps: int = 24
    ppo_lr: float = 1e-4
    dpo_steps: int = 24
    dpo_lr: float = 1e-4
    batch_size: int = 16            # answers per PPO step, pairs per DPO step
    eval_prompts: int = 64          # write_examples(eval_prompts, "test", seed=2) for the scorecards
    seed: int = 0
    threads: int = 1


RECIPE = AlignRecipe()


def reward_model_from_preferences(policy, tokenizer, recipe: AlignRecipe = RECIPE):
    """Preference pairs from the policy's own answers, and a reward model trained on them.

    Returns ``(score, pairs, losses)``: ``score(rollouts)`` is the reward model's score of each answer.
    """
    pad = pad_id_of(tokenizer)
    rollouts = sample_rollouts(policy, tokenizer, write_examples(recipe.preference_prompts, "train", seed=5),
                               per_prompt=recipe.answers_per_prompt, max_new_tokens=80, seed=recipe.seed)
    pairs = preference_pairs(rollouts, recipe.answers_per_prompt, seed=recipe.seed)
    torch.manual_seed(recipe.seed)
    reward_model = RewardModel(copy.deepcopy(policy))
    history = Trainer(PairwiseObjective(reward_model), PairBatches(pairs, recipe.batch_size, pad, seed=recipe.seed),
                      TrainerConfig(max_steps=recipe.reward_steps, lr=recipe.reward_lr, warmup_steps=2,
                                    progress=False)).train()
    reward_model.eval()

    @torch.no_grad()
    def score(rollouts):
        return reward_model(*transcript_batch(rollouts, pad))
    return score, pairs, history["loss"]


def build_aligned(out_dir: str | os.PathLike = ASSETS, recipe: AlignRecipe = RECIPE) -> dict:
    """Run lesson 06's recipe from the shipped instruction-tuned policy; write both policies and the card."""
    started = time.perf_counter()
    threads_before = torch.get_num_threads()
    torch.set_num_threads(recipe.threads)
    try:
        seed_everything(recipe.seed)
        policy, tokenizer = load_instruct()
        score, pairs, reward_losses = reward_model_from_preferences(policy, tokenizer, recipe)
        ppo = PPOTrainer(copy.deepcopy(policy), tokenizer, write_examples(256, "train", seed=9), score,
                         PPOConfig(beta=recipe.beta, batch_prompts=recipe.batch_size,
                                   max_new_tokens=recipe.max_new_tokens, lr=recipe.ppo_lr, seed=recipe.seed),
                         gold_fn=gold_rewards)
        for _ in range(recipe.ppo_steps):
            ppo.step()
        dpo_policy = copy.deepcopy(policy)
        dpo_history = dpo_train(dpo_policy, tokenizer, pairs, steps=recipe.dpo_steps, beta=recipe.beta,
                                lr=recipe.dpo_lr, batch_size=recipe.batch_size, seed=recipe.seed)
        held_out = write_examples(recipe.eval_prompts, "test", seed=2)
        cards = {name: scorecard(model, policy, tokenizer, held_out, recipe.max_new_tokens, seed=3)
                 for name, model in (("instruct", policy), ("ppo", ppo.policy), ("dpo", dpo_policy))}
    finally:
        torch.set_num_threads(threads_before)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, model in (("ppo", ppo.policy), ("dpo", dpo_policy)):
        atomic_write(out / f"{name}.pt", lambda file, m=model: torch.save(m.state_dict(), file), mode="wb")
    card = {
        "format": CARD_FORMAT,
        "version": 1,
        "built_by": REBUILD,
        "starts_from": "course_lib.finetuning.instruct_model",
        "recipe": dataclasses.asdict(recipe),
        "config": dataclasses.asdict(policy.config),
        "preference_pairs": len(pairs),
        "reward_losses": [round(x, 6) for x in reward_losses],
        "ppo_history": {k: [round(x, 4) for x in v] for k, v in ppo.history.items()},
        "dpo_losses": [round(x, 6) for x in dpo_history["loss"]],
        # held-out prompts, one sampled answer each: the judge's mean score, KL to the start, length
        "scorecards": {name: {"gold": round(c.gold, 4), "kl": round(c.kl, 4), "tokens": round(c.tokens, 2)}
                       for name, c in cards.items()},
        "minutes": round((time.perf_counter() - started) / 60, 2),
        "built_with": {"torch": torch.__version__, "python": platform.python_version(),
                       "machine": platform.machine()},
        "start_sha256": sha256_of(INSTRUCT / "model.pt"),
        "sha256": {f"{name}.pt": sha256_of(out / f"{name}.pt") for name in METHODS},
    }
    atomic_write(out / "card.json", lambda file: json.dump(card, file, indent=1))  # last: it vouches for the rest
    return card


def load_aligned(method: str, device: torch.device | str | None = None, path: str | os.PathLike = ASSETS):
    """The PPO- or DPO-tuned policy (eval mode, on ``device``) and its tokenizer."""
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    folder = Path(path)
    card = read_card(folder, CARD_FORMAT, REBUILD)
    verify_files(folder, card, REBUILD)
    if sha256_of(INSTRUCT / "model.pt") != card["start_sha256"]:
        raise ValueError(f"{folder}: these policies started from another instruction-tuned model than the "
                         f"shipped one; rebuild them with `{REBUILD}`")
    _, tokenizer = load_instruct()
    model = GPT(GPTConfig(**card["config"]))
    model.load_state_dict(torch.load(folder / f"{method}.pt", map_location="cpu", weights_only=True))
    return model.to(torch.device(device) if device is not None else "cpu").eval(), tokenizer


if __name__ == "__main__":  # python -m course_lib.alignment.aligned_models: the same as `llmcourse align`
    card = build_aligned()
    print(f"wrote {ASSETS}: {card['scorecards']}")
