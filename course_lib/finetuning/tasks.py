"""Task data made by code: instructions to follow, and texts to classify.

Fine-tuning needs labelled examples. Real projects collect them from people; the course writes
them with the same grammar that wrote the pretraining stories (``course_lib/data/corpus.py``),
so every example is correct by construction, repeatable from a seed, and free.

**Instructions** (``write_examples``): "Write a story about a fox at the river." answered by a
story of two to five sentences whose first sentence takes that animal to that place, with mixed
feelings along the way. The pretrained model has never seen an instruction: it continues the
text as if it were a story, about whatever animal comes to mind, and never stops on its own.
``follows_instruction`` is the checker that says whether an answer did what was asked.

The 100 animal-place pairs are split between training, validation and test, so a model is
tested on pairs it never saw in training: following the instruction, not recalling answers.

**Classification** (``day_end_examples``): "how does the day end?" Each text has three feelings,
and only the last one (how the friends went home) decides the label, 1 for a pleasant ending and
0 for an unpleasant one. The other two are distractors: a model must read the right word.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass

from course_lib.data.corpus import ANIMALS, FEELINGS, NAMES, PLACES, WEATHER, story_sentences

SPLITS = ("train", "validation", "test")
PROMPT_TEMPLATES = (
    "Write a story about a {animal} at {place}.",
    "Tell me a story about a {animal} at {place}.",
    "Please write a short story about a {animal} at {place}.",
)
PLEASANT = ("happy", "brave", "proud", "curious")      # the feelings that make a good ending
UNPLEASANT = ("sad", "tired", "scared", "hungry")
assert sorted(PLEASANT + UNPLEASANT) == sorted(FEELINGS)


@dataclass(frozen=True)
class WriteExample:
    """One instruction and a correct answer, with the facts the checker needs."""
    prompt: str        # "Write a story about a fox at the river."
    response: str      # a story of 2-5 sentences that starts with the fox at the river
    animal: str        # "fox"
    place: str         # "the river"


def _pairs_of(split: str) -> list[tuple[str, str]]:
    """The animal-place pairs of one split: 70 for training, 15 for validation, 15 for testing."""
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {SPLITS}, got {split!r}")
    pairs = [(a, p) for a in ANIMALS for p in PLACES]   # 100 pairs
    random.Random(1234).shuffle(pairs)                  # a fixed split, the same for every seed
    start, stop = {"train": (0, 70), "validation": (70, 85), "test": (85, 100)}[split]
    return pairs[start:stop]


def write_examples(n: int, split: str = "train", seed: int = 0,
                   min_sentences: int = 2, max_sentences: int = 5) -> list[WriteExample]:
    """``n`` instructions with answers, drawn from the animal-place pairs of ``split``.

    Answers keep between ``min_sentences`` and ``max_sentences`` sentences of a grammar story
    (always the first, which names the animal and the place), so lengths and feelings vary.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n: expected an int >= 1, got {n!r}")
    if not (isinstance(min_sentences, int) and isinstance(max_sentences, int) and 1 <= min_sentences <= max_sentences):
        raise ValueError(f"expected 1 <= min_sentences <= max_sentences, got {min_sentences!r} and {max_sentences!r}")
    pairs = _pairs_of(split)
    rng = random.Random(f"write-{split}-{seed}")
    examples = []
    for _ in range(n):
        animal, place = rng.choice(pairs)
        sentences = story_sentences(rng, animal=animal, place=place)
        length = rng.randint(min_sentences, max_sentences)
        response = " ".join(sentences[:length])
        prompt = rng.choice(PROMPT_TEMPLATES).format(animal=animal, place=place)
        examples.append(WriteExample(prompt, response, animal, place))
    return examples


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def mentioned_animals(text: str) -> set[str]:
    """The grammar's animals that ``text`` names (singular or plural)."""
    words = set(_words(text))
    plural = {"fox": "foxes", "mouse": "mice"}
    return {a for a in ANIMALS if a in words or plural.get(a, a + "s") in words}


def mentioned_places(text: str) -> set[str]:
    """The grammar's places that ``text`` names ("the river")."""
    lowered = text.lower()
    return {p for p in PLACES if p in lowered}


def follows_instruction(example: WriteExample, output: str) -> dict[str, bool]:
    """Did ``output`` do what ``example.prompt`` asked? One verdict per part, and ``all`` of them.

    * ``animal``:  the asked animal appears, and no other animal does;
    * ``place``:   the asked place appears, and no other place does;
    * ``opening``: the first sentence already names both (the story is *about* them from the start);
    * ``sentences``: the text is whole sentences, the last one finished (. ! ? or a closing quote).
    """
    if not isinstance(output, str):
        raise TypeError(f"output: expected the generated text as a str, got {type(output).__name__}")
    text = output.strip()
    first_sentence = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    verdict = {
        "animal": mentioned_animals(text) == {example.animal},
        "place": mentioned_places(text) == {example.place},
        "opening": example.animal in _words(first_sentence) and example.place in first_sentence.lower(),
        "sentences": bool(re.fullmatch(r"[A-Z\"].*[.!?\"]", text, flags=re.S)),
    }
    verdict["all"] = all(verdict.values())
    return verdict


# ----- classification: how does the day end? ------------------------------------------------------
@dataclass(frozen=True)
class LabelledText:
    text: str
    label: int   # 1: the day ends pleasantly, 0: it does not


def day_end_examples(n: int, split: str = "train", seed: int = 0) -> list[LabelledText]:
    """``n`` short stories labelled by the feeling of their last sentence; the classes are balanced.

    The feeling of the animal and the friend's words are drawn independently of the label, so
    only the last sentence tells.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"n: expected an int >= 2, got {n!r}")
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {SPLITS}, got {split!r}")
    rng = random.Random(f"day-end-{split}-{seed}")
    examples = []
    for i in range(n):
        label = i % 2                                   # balanced, then shuffled below
        hero, friend = rng.sample(NAMES, 2)
        animal, weather = rng.choice(ANIMALS), rng.choice(WEATHER)
        distractor_1, distractor_2 = rng.choice(FEELINGS), rng.choice(FEELINGS)
        ending = rng.choice(PLEASANT if label else UNPLEASANT)
        text = (f"It was {weather} and the {animal} was {distractor_1}. "
                f'"I am {distractor_2} today," said {friend}. '
                f"At the end of the day, {hero} and {friend} went home {ending}.")
        examples.append(LabelledText(text, label))
    rng.shuffle(examples)
    return examples
