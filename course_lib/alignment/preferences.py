"""Preference data: several answers per prompt, ranked by the (noisy) annotator, cut into pairs.

InstructGPT showed labellers K = 4 to 9 answers to one prompt and asked for a ranking; every one
of the K (K - 1) / 2 pairs of a ranking is a training example for the reward model. Here the
annotator is ``gold.prefers_first``: the hidden gold reward decides, with noise that grows as the
two answers get closer in quality.
"""
from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

from course_lib.alignment.gold import gold_reward, prefers_first
from course_lib.alignment.rollouts import Rollout


@dataclass(frozen=True)
class PreferencePair:
    chosen: Rollout
    rejected: Rollout
    gold_gap: float      # gold(chosen) - gold(rejected): negative when the annotator erred


def preference_pairs(rollouts: list[Rollout], per_prompt: int, seed: int = 0,
                     sharpness: float = 2.0) -> list[PreferencePair]:
    """Every pair within each group of ``per_prompt`` answers to one prompt, labelled by the annotator."""
    if len(rollouts) % per_prompt:
        raise ValueError(f"{len(rollouts)} rollouts do not divide into groups of {per_prompt} answers per prompt")
    rng = random.Random(seed)
    pairs = []
    for start in range(0, len(rollouts), per_prompt):
        group = rollouts[start:start + per_prompt]
        if len({r.example for r in group}) != 1:
            raise ValueError(f"rollouts {start}..{start + per_prompt - 1} answer different prompts: "
                             f"expected contiguous groups (as sample_rollouts returns them)")
        gold = [gold_reward(r.example, r.text, r.stopped) for r in group]
        for i, j in itertools.combinations(range(per_prompt), 2):
            a_wins = prefers_first(gold[i], gold[j], rng, sharpness)
            (w, l) = (i, j) if a_wins else (j, i)
            pairs.append(PreferencePair(group[w], group[l], gold[w] - gold[l]))
    return pairs
