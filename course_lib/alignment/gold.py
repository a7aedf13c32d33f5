"""The hidden "human": a programmatic judge of answers, and a noisy annotator who ranks them.

Real RLHF asks people which of two answers they prefer. The course cannot, so a function plays
the person. It knows what a good answer to "Write a story about a fox at the river." is:

* **on topic**: +1 if the first sentence takes the asked animal to the asked place, -1 if not;
* **a pleasant story**: +1 if every feeling in it is pleasant, -1 if any is unpleasant, 0 if none;
* **no repetition**: -0.5 for every sentence that repeats an earlier one;
* **no rambling**: -0.5 for every sentence beyond three;
* **ends properly**: -1 if the model never produced ``<|end|>``.

This *gold* reward stays hidden from the learning algorithms. They see only preferences, given by
a noisy Bradley-Terry annotator: she prefers a over b with probability sigmoid(s * (g_a - g_b)), so
two answers of nearly equal quality get a coin flip, and clear differences are judged right.
The reward model learns from those preferences, and everything after it optimises the reward
model: a stand-in whose flaws the policy may find (reward hacking).
"""
from __future__ import annotations

import math
import random
import re

import torch

from course_lib.data.sentences import split_sentences
from course_lib.finetuning.tasks import PLEASANT, UNPLEASANT, WriteExample, follows_instruction

MAX_SENTENCES = 3


def feelings_of(text: str) -> tuple[int, int]:
    """How many pleasant and unpleasant feeling words ``text`` holds."""
    words = re.findall(r"[a-z]+", text.lower())
    return sum(w in PLEASANT for w in words), sum(w in UNPLEASANT for w in words)


def gold_reward(example: WriteExample, text: str, stopped: bool) -> float:
    """The hidden judge's score of one answer (see the module docstring): about -4 to +2."""
    sentences = split_sentences(text)
    on_topic = follows_instruction(example, text)["opening"] if sentences else False
    pleasant, unpleasant = feelings_of(text)
    mood = -1.0 if unpleasant else (1.0 if pleasant else 0.0)
    repeated = len(sentences) - len(set(sentences))
    rambling = max(0, len(sentences) - MAX_SENTENCES)
    return ((1.0 if on_topic else -1.0) + mood - 0.5 * repeated - 0.5 * rambling
            - (0.0 if stopped else 1.0))


def gold_rewards(rollouts) -> torch.Tensor:
    """The hidden judge's score of each rollout (anything with ``example``, ``text``, ``stopped``): (B,)."""
    return torch.tensor([gold_reward(r.example, r.text, r.stopped) for r in rollouts], dtype=torch.float32)


def prefers_first(gold_a: float, gold_b: float, rng: random.Random, sharpness: float = 2.0) -> bool:
    """The noisy annotator: True (a preferred) with probability sigmoid(sharpness * (gold_a - gold_b))."""
    return rng.random() < 1.0 / (1.0 + math.exp(-sharpness * (gold_a - gold_b)))
