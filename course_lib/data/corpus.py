"""The course's offline corpora: text the course makes itself, so nothing is downloaded.

``stories``: short children's stories written by a seeded grammar. The same seed gives the
same text on every machine and Python version, so tests and lessons are repeatable. The text
has the structure a language model can learn: recurring characters, plural agreement,
dialogue, numbers, and a few sentence templates with many fillings.

``python_docs``: the docstrings of a fixed list of standard-library modules: real English
written by people, present on every Python install (it varies a little between versions).
"""
from __future__ import annotations

import importlib
import inspect
import random

NAMES = ["Mia", "Leo", "Ana", "Sam", "Zoe", "Tom", "Ivy", "Max", "Lily", "Ben", "Nora", "Omar"]
ANIMALS = ["cat", "dog", "fox", "owl", "rabbit", "bear", "duck", "frog", "mouse", "horse"]
PLACES = ["the park", "the forest", "the river", "the garden", "the beach", "the hill",
          "the market", "the library", "the farm", "the old bridge"]
THINGS = ["a red ball", "a blue kite", "a small boat", "an old map", "a shiny key", "a yellow hat",
          "a wooden box", "a green apple", "a long rope", "a tiny bell"]
FEELINGS = ["happy", "sad", "tired", "brave", "curious", "scared", "proud", "hungry"]
WEATHER = ["sunny", "rainy", "windy", "cold", "warm", "foggy"]
TIMES = ["One morning", "One day", "Later that day", "In the evening", "At noon", "Once upon a time"]
VERBS = [("found", "find"), ("lost", "lose"), ("carried", "carry"), ("painted", "paint"),
         ("hid", "hide"), ("shared", "share")]
PLURALS = {"fox": "foxes", "mouse": "mice"}  # the rest take an "s"
NUMBERS = ["two", "three", "four", "five", "six", "seven"]


def story_sentences(rng: random.Random, animal: str | None = None, place: str | None = None) -> list[str]:
    """The sentences of one story; ``animal`` and ``place``, when given, replace the random ones.

    The random draws are the same either way, so ``stories`` is unchanged by the options.
    """
    hero, friend = rng.sample(NAMES, 2)
    drawn_animal, drawn_place, thing = rng.choice(ANIMALS), rng.choice(PLACES), rng.choice(THINGS)
    animal, place = animal or drawn_animal, place or drawn_place
    feeling, weather, time = rng.choice(FEELINGS), rng.choice(WEATHER), rng.choice(TIMES)
    past, present = rng.choice(VERBS)
    count = rng.choice(NUMBERS)
    sentences = [
        f"{time}, {hero} went to {place} with a {animal}.",
        f"It was {weather} and the {animal} was {feeling}.",
        f"{hero} {past} {thing} near {place}.",
        f'"Look!" said {hero}. "Can you help me {present} it?"',
        f"{friend} came and saw {count} {PLURALS.get(animal, animal + 's')} by the water.",
        f'"I am {feeling} today," said {friend}.',
        f"They played for {rng.randint(2, 12)} minutes and then sat under a tree.",
        f"The {animal} liked {thing} very much.",
        f"At the end of the day, {hero} and {friend} went home {rng.choice(FEELINGS)}.",
    ]
    # Keep the first sentence, then a random but ordered subset, so stories differ in length.
    return [sentences[0]] + [s for s in sentences[1:] if rng.random() < 0.75]


def _story(rng: random.Random) -> str:
    return " ".join(story_sentences(rng))


def stories(n_stories: int = 500, seed: int = 0) -> str:
    """``n_stories`` generated stories, one per line (about 340 characters each)."""
    if not isinstance(n_stories, int) or n_stories < 1:
        raise ValueError(f"n_stories: expected a positive int, got {n_stories!r}")
    rng = random.Random(seed)
    return "\n".join(_story(rng) for _ in range(n_stories)) + "\n"


DOC_MODULES = ["random", "collections", "itertools", "functools", "json", "string", "textwrap",
               "statistics", "fractions", "decimal", "heapq", "bisect", "pathlib", "datetime",
               "csv", "argparse", "logging", "unittest", "difflib", "shutil"]


def python_docs() -> str:
    """Docstrings of the standard-library modules in ``DOC_MODULES`` and their public members."""
    chunks = []
    for name in DOC_MODULES:
        module = importlib.import_module(name)
        chunks.append(inspect.getdoc(module) or "")
        for attr in sorted(dir(module)):
            if attr.startswith("_"):
                continue
            doc = inspect.getdoc(getattr(module, attr))
            if doc and getattr(getattr(module, attr), "__module__", None) == name:
                chunks.append(doc)
    return "\n\n".join(c.strip() for c in chunks if c.strip()) + "\n"


def load_corpus(name: str = "stories", **options) -> str:
    """The corpus called ``name`` ("stories" or "python_docs") as one string."""
    sources = {"stories": stories, "python_docs": python_docs}
    if name not in sources:
        raise ValueError(f"unknown corpus {name!r}: expected one of {sorted(sources)}")
    return sources[name](**options)
