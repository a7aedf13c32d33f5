"""The report card: each row is the benchmarks' own numbers for that model, models are added by a
line, and only the models asked for are loaded."""
from __future__ import annotations

import pytest
import torch

from course_lib.evaluation import bootstrap_ci, evaluate_multiple_choice, story_mc
from course_lib.evaluation.report_card import (
    COLUMNS,
    Benchmarks,
    format_card,
    report_card,
    report_row,
)
from course_lib.finetuning import evaluate_instructions, write_examples
from course_lib.finetuning.forgetting import pretraining_loss
from course_lib.finetuning.instruct_model import load_instruct
from course_lib.pretrained import END_OF_TEXT, load_pretrained


@pytest.fixture(scope="module")
def small():
    return Benchmarks(story_mc("test", per_kind=2), write_examples(4, "test", seed=0), max_new_tokens=30)


def test_a_row_is_each_benchmark_scored_directly(small):
    torch.set_num_threads(1)
    model, tokenizer = load_pretrained()
    row = report_row(model, tokenizer, small)
    assert list(row) == list(COLUMNS)
    mc = evaluate_multiple_choice(model, tokenizer, small.items, prefix=END_OF_TEXT)
    assert (row["StoryMC acc"], row["acc_norm"], row["per token"]) == \
        (mc.accuracy("none"), mc.accuracy("chars"), mc.accuracy("tokens"))
    low, high = bootstrap_ci(torch.tensor(mc.correct("none"), dtype=torch.float64), seed=0)
    assert row["acc 95% CI"] == f"[{low:.2f}, {high:.2f}]"
    answers = evaluate_instructions(model, tokenizer, small.instructions, max_new_tokens=30)
    assert (row["follow"], row["stop"]) == (answers["follow_rate"], answers["stop_rate"])
    assert row["stories loss"] == pretraining_loss(model, tokenizer)


def test_models_join_by_one_line_and_load_only_when_asked(small):
    torch.set_num_threads(1)
    model, tokenizer = load_pretrained()
    loaded = []

    def loader(name, load):
        def load_and_note():
            loaded.append(name)
            return load()
        return load_and_note

    models = {"pretrained": loader("pretrained", lambda: model),
              "instruction-tuned": loader("instruction-tuned", lambda: load_instruct()[0])}
    card = report_card(models, tokenizer, small)
    assert list(card) == loaded == ["pretrained", "instruction-tuned"]
    # what instruction tuning is for, and what it costs
    assert card["instruction-tuned"]["follow"] > card["pretrained"]["follow"]
    assert card["instruction-tuned"]["stories loss"] > card["pretrained"]["stories loss"]
    table = format_card(card).splitlines()
    assert len(table) == 3 and all(column in table[0] for column in COLUMNS)
    assert table[1].startswith("pretrained") and f"{card['pretrained']['stories loss']:.3f}" in table[1]


def test_bad_models_are_refused():
    with pytest.raises(ValueError, match="non-empty mapping"):
        report_card({}, None)
    with pytest.raises(TypeError, match=r"models\['x'\].*lambda: model"):
        report_card({"x": torch.nn.Linear(2, 2).weight}, None)
