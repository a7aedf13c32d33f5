"""StoryMC: deterministic, disjoint splits; items whose right answer is in the story, and marked unanswerable ones."""
from __future__ import annotations

import random
from collections import Counter

import pytest

from course_lib.data.corpus import FEELINGS, PLACES, THINGS
from course_lib.evaluation.benchmarks import KINDS, SPLIT_SIZES, SPLITS, story_item, story_mc, story_mc_splits


def story_of(item) -> str:
    return item.question.split("\n")[0]


def test_splits_have_their_sizes_and_kinds():
    splits = story_mc_splits()
    for split in SPLITS:
        per_kind = SPLIT_SIZES[split]
        counts = Counter(item.kind for item in splits[split])
        assert counts == {"object": per_kind, "place": per_kind, "feeling": per_kind, "unanswerable": per_kind // 3}
        assert all(len(item.choices) == 4 and len(set(item.choices)) == 4 for item in splits[split])


def test_no_story_is_in_two_splits_and_the_test_set_does_not_move():
    splits = story_mc_splits()
    stories = {split: {story_of(item) for item in items} for split, items in splits.items()}
    assert all(len(stories[s]) == len(splits[s]) for s in SPLITS)              # no repeats within a split
    assert not stories["train"] & stories["test"] and not stories["validation"] & stories["test"]
    assert not stories["train"] & stories["validation"]
    assert story_mc_splits({"train": 100, "validation": 3})["test"] == splits["test"]  # other sizes: same test set
    assert story_mc("test", per_kind=5) == splits["test"][:len(story_mc("test", per_kind=5))]
    assert story_mc("test") == splits["test"] == story_mc_splits(seed=0)["test"]      # repeatable
    assert story_mc("test", seed=1) != splits["test"]


def test_the_right_answer_is_in_the_story_and_unanswerable_items_have_none():
    items = story_mc_splits()["test"]
    answer_positions = Counter(item.answer for item in items if item.answerable)
    assert set(answer_positions) == {0, 1, 2, 3} and min(answer_positions.values()) > 20  # not always first
    for item in items:
        story = story_of(item)
        assert item.context.startswith(story + " ")
        if item.kind == "unanswerable":
            assert item.answer is None and not item.answerable
            assert not any(choice in story for choice in item.choices)         # nothing was found in the story
            assert set(item.choices) <= set(THINGS)
            continue
        right = item.choices[item.answer]
        assert right in story, (item.kind, right, story)
        wrong = [c for i, c in enumerate(item.choices) if i != item.answer]
        assert not any(f" {c} " in f" {story} " or f" {c}." in story for c in wrong)  # the others are not in it
        pool = {"object": THINGS, "place": PLACES, "feeling": FEELINGS}[item.kind]
        assert set(item.choices) <= set(pool)


def test_bad_requests_are_refused():
    with pytest.raises(ValueError, match="split: expected one of"):
        story_mc("dev")
    with pytest.raises(ValueError, match="unknown splits"):
        story_mc_splits({"holdout": 3})
    with pytest.raises(ValueError, match="kind: expected one of"):
        story_item(random.Random(0), "weather")
    assert KINDS == ("object", "place", "feeling", "unanswerable")
