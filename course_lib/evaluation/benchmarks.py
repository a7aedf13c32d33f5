"""StoryMC: a multiple-choice benchmark made from the course's story grammar.

Each item is a three-sentence story written with the word lists of ``data/corpus.py``,
followed by the start of a sentence that only one option completes correctly:

    One day, Mia went to the park with a fox. It was windy and the fox was brave.
    Mia found a shiny key near the park. The fox liked ___
        a long rope / a shiny key / a tiny bell / an old map

Item kinds, by what they ask:

- ``object``:  "The fox liked ___": the thing the hero found (the grammar always pairs them);
- ``place``:   "Mia went home from ___": the place the story happened;
- ``feeling``: "The fox felt ___": the animal's feeling, said with other words in the story;
- ``unanswerable``: the object question about a story in which nothing was found. No option
  is right (``answer`` is None): a model that picks one with confidence is making it up.

**Splits.** ``train`` (for fitting anything: prompts, few-shot examples, a fine-tune),
``validation`` (for choosing between settings) and ``test`` (scored once, at the end). Every
split comes from its own seeded stream, and no story appears in two splits, so the test set
stays the same whatever the sizes of the other two. Choosing a prompt by its test score
turns the test set into a validation set, and its score into an optimistic one.
"""
from __future__ import annotations

import random

from course_lib.data.corpus import ANIMALS, FEELINGS, NAMES, PLACES, THINGS, TIMES, VERBS, WEATHER
from course_lib.evaluation.inputs import check_int
from course_lib.evaluation.multiple_choice import MCItem

KINDS = ("object", "place", "feeling", "unanswerable")
SPLITS = ("train", "validation", "test")
# Items of each answerable kind per split; each split also has one unanswerable item per three.
SPLIT_SIZES = {"train": 40, "validation": 20, "test": 60}
N_CHOICES = 4


def _options(rng: random.Random, right: str | None, pool: list[str]) -> tuple[tuple[str, ...], int | None]:
    """``N_CHOICES`` options in random order: ``right`` (unless None) and distractors from ``pool``; its index."""
    others = [word for word in pool if word != right]
    options = rng.sample(others, N_CHOICES - (right is not None)) + ([right] if right is not None else [])
    rng.shuffle(options)
    return tuple(options), (options.index(right) if right is not None else None)


def story_item(rng: random.Random, kind: str) -> MCItem:
    """One item of ``kind``, its story and options drawn from ``rng``."""
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {KINDS}, got {kind!r}")
    hero = rng.choice(NAMES)
    animal, place, thing = rng.choice(ANIMALS), rng.choice(PLACES), rng.choice(THINGS)
    feeling, weather, time = rng.choice(FEELINGS), rng.choice(WEATHER), rng.choice(TIMES)
    past, _ = rng.choice(VERBS)
    sentences = [f"{time}, {hero} went to {place} with a {animal}.",
                 f"It was {weather} and the {animal} was {feeling}."]
    if kind != "unanswerable":  # the unanswerable story never says what was found
        sentences.append(f"{hero} {past} {thing} near {place}.")
    story = " ".join(sentences)
    if kind in ("object", "unanswerable"):
        stem, question = f"The {animal} liked", f"What did the {animal} like?"
        choices, answer = _options(rng, thing if kind == "object" else None, THINGS)
    elif kind == "place":
        stem, question = f"{hero} went home from", f"Where was {hero}?"
        choices, answer = _options(rng, place, PLACES)
    else:
        stem, question = f"The {animal} felt", f"How did the {animal} feel?"
        choices, answer = _options(rng, feeling, FEELINGS)
    return MCItem(context=f"{story} {stem}", choices=choices, answer=answer, kind=kind,
                  question=f"{story}\nQuestion: {question}")


def _split_kinds(per_kind: int) -> list[str]:
    """The kinds of a split's items in order: the answerable kinds in turn, an unanswerable one every ninth."""
    kinds = []
    for i in range(per_kind):
        kinds += ["object", "place", "feeling"]
        if i % 3 == 2:
            kinds.append("unanswerable")
    return kinds


def story_mc_splits(sizes: dict[str, int] | None = None, seed: int = 0) -> dict[str, list[MCItem]]:
    """Every split: ``sizes[split]`` items of each answerable kind, plus one unanswerable item per three.

    The test split is drawn first, then validation, then train, each skipping stories already
    used, so the same ``seed`` gives the same test set whatever the other sizes are.
    """
    sizes = {**SPLIT_SIZES, **(sizes or {})}
    unknown = sorted(set(sizes) - set(SPLITS))
    if unknown:
        raise ValueError(f"sizes: unknown splits {unknown}; the splits are {SPLITS}")
    for split, size in sizes.items():
        check_int(size, f"sizes[{split!r}]", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed: expected an int, got {seed!r}")
    seen: set[str] = set()
    splits: dict[str, list[MCItem]] = {}
    for split in ("test", "validation", "train"):
        rng = random.Random(f"story-mc/{seed}/{split}")  # a str seed is hashed the same way in every process
        items = []
        for kind in _split_kinds(sizes[split]):
            while True:
                item = story_item(rng, kind)
                story = item.question.split("\n")[0]
                if story not in seen:
                    seen.add(story)
                    items.append(item)
                    break
        splits[split] = items
    return {split: splits[split] for split in SPLITS}


def story_mc(split: str = "test", per_kind: int | None = None, seed: int = 0) -> list[MCItem]:
    """One split of StoryMC (``per_kind`` answerable items of each kind; default ``SPLIT_SIZES``)."""
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {SPLITS}, got {split!r}")
    sizes = {split: per_kind} if per_kind is not None else None
    return story_mc_splits(sizes, seed)[split]
