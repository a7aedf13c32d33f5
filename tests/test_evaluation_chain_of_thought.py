"""Chain of thought, measured: the addition task written both ways, and the two shipped models
(their card holds, their recipe remakes the first steps, damaged files are named, and writing
the steps is what makes long additions work)."""
from __future__ import annotations

import dataclasses
import json
import random
import re
import shutil

import pytest
import torch

from course_lib.evaluation import chain_of_thought as cot
from course_lib.evaluation.cot_model import (
    ASSETS,
    RECIPE,
    card_figures,
    load_cot,
    load_cot_card,
    train_format,
)
from course_lib.evaluation.sampling import majority_vote




@pytest.fixture(scope="module")
def card():
    return load_cot_card()


# ----- the task ---------------------------------------------------------------------------------------
def test_written_steps_add_column_by_column_with_carries():
    problem = cot.Problem(4817, 3956, 4)
    assert cot.target(problem, "steps") == "7+6+0=13,1+5+1=07,8+9+0=17,4+3+1=08;8773."
    assert cot.target(problem, "answer") == "8773."
    rng = random.Random(0)
    for _ in range(300):
        problem = cot.random_problem(rng, rng.randint(1, 7))
        steps = cot.written_steps(problem).split(",")
        assert len(steps) == problem.digits
        carry = 0
        for position, step in enumerate(steps):  # from the units up
            a, b, c, s = re.fullmatch(r"(\d)\+(\d)\+(\d)=(\d\d)", step).groups()
            assert int(a) == problem.a // 10**position % 10 and int(b) == problem.b // 10**position % 10
            assert int(c) == carry and int(s) == int(a) + int(b) + carry
            carry = int(s) // 10
        digits = "".join(step[-1] for step in reversed(steps))
        assert str(int(str(carry) + digits)) == problem.answer == str(problem.a + problem.b)
        assert cot.read_answer(cot.target(problem, "steps"), "steps") == problem.answer
        assert cot.read_answer(cot.target(problem, "answer"), "answer") == problem.answer


def test_problems_have_the_digits_asked_for_and_repeat_with_the_seed():
    for digits in (1, 3, 5):
        batch = cot.problems(50, digits, seed=4)
        assert batch == cot.problems(50, digits, seed=4) != cot.problems(50, digits, seed=5)
        low = 0 if digits == 1 else 10 ** (digits - 1)
        assert all(low <= p.a < 10**digits and low <= p.b < 10**digits for p in batch)


def test_read_answer_refuses_unfinished_or_malformed_writing():
    assert cot.read_answer("1+2+0=03;3.", "steps") == "3"
    assert cot.read_answer("1+2+0=03;3", "steps") is None          # never finished
    assert cot.read_answer("1+2+0=03.", "steps") is None           # no answer after ';'
    assert cot.read_answer("12+.", "answer") is None
    assert cot.read_answer("42.7+", "answer") == "42"
    with pytest.raises(ValueError, match="fmt"):
        cot.read_answer("3.", "letters")
    with pytest.raises(ValueError, match="'x' is not in the vocabulary"):
        cot.encode("12x")


@pytest.mark.parametrize("fmt", cot.FORMATS)
def test_training_batch_trains_only_what_the_model_writes(fmt):
    rng = random.Random(3)
    inputs, targets = cot.training_batch(rng, 32, fmt)
    again = cot.training_batch(random.Random(3), 32, fmt)
    assert torch.equal(inputs, again[0]) and torch.equal(targets, again[1])
    for row_in, row_target in zip(inputs.tolist(), targets.tolist()):
        prompt = cot.decode(row_in).split("=")[0] + "="
        a, b = (int(x) for x in prompt[:-1].split("+"))
        problem = cot.Problem(a, b, len(str(a)))
        trained = [t for t in row_target if t != -100]
        # what is trained is exactly what the model must write after '=', up to and with '.'
        assert cot.decode(trained) == cot.target(problem, fmt)
        # target t is input t + 1: the first trained target sits at the position of '='
        first = next(i for i, t in enumerate(row_target) if t != -100)
        assert first == len(prompt) - 1 and row_in[first] == cot.STOI["="]


# ----- the shipped models ----------------------------------------------------------------------------
def test_card_figures_hold_for_the_shipped_models(card, one_thread):
    models = {fmt: load_cot(fmt) for fmt in cot.FORMATS}
    figures = card_figures(models, RECIPE)
    for fmt, by in card["accuracy"].items():
        for how, scores in by.items():
            for digits, value in scores.items():
                assert figures[fmt][how][int(digits)] == pytest.approx(value, abs=0.03), (fmt, how, digits)


def test_writing_the_steps_is_what_makes_long_additions_work(card):
    steps, answer = card["accuracy"]["steps"], card["accuracy"]["answer"]
    assert min(steps["greedy"].values()) >= 0.9                     # every length, up to 5 digits
    assert answer["greedy"]["1"] >= 0.9 and answer["greedy"]["5"] <= 0.1
    # a vote over samples is right more often than one sample, where one sample can go wrong
    assert steps["majority_vote"]["5"] > steps["one_sample"]["5"] + 0.05
    assert card["recipe"] == dataclasses.asdict(RECIPE)


def test_recipe_remakes_the_first_steps(card, one_thread):
    few = dataclasses.replace(RECIPE, max_steps=4)  # the warmup does not depend on max_steps
    for fmt in cot.FORMATS:
        _, losses = train_format(fmt, few)
        assert losses == pytest.approx(card["step_losses"][fmt][:4], abs=1e-4)


def test_greedy_answers_of_the_shipped_models_are_what_accuracy_by_digits_counts(one_thread):
    model = load_cot("steps")
    batch = cot.problems(20, 3, seed=1)
    greedy = [a[0] for a in cot.answers(model, batch, "steps")]
    assert cot.accuracy_by_digits(model, "steps", digits=(3,), n=20)[3] == \
        sum(g == p.answer for g, p in zip(greedy, batch)) / 20
    sampled = cot.answers(model, batch, "steps", samples=5, greedy=False, temperature=0.7, seed=1 * 1000 + 3)
    voted = cot.accuracy_by_digits(model, "steps", digits=(3,), n=20, greedy=False, samples=5, temperature=0.7)[3]
    assert voted == sum(majority_vote(s) == p.answer for s, p in zip(sampled, batch)) / 20
    with pytest.raises(ValueError, match="greedy=False"):
        cot.accuracy_by_digits(model, "steps", n=2, samples=3)


def test_damaged_files_are_named(tmp_path):
    folder = tmp_path / "cot"
    shutil.copytree(ASSETS, folder)
    weights = folder / "answer.pt"
    weights.write_bytes(weights.read_bytes()[:-10])
    with pytest.raises(ValueError, match=r"answer\.pt.*SHA-256.*llmcourse cot"):
        load_cot("steps", path=folder)  # either file damaged: the pair is not what the card describes
    weights.unlink()
    with pytest.raises(FileNotFoundError, match=r"answer\.pt: missing"):
        load_cot("answer", path=folder)
    (folder / "card.json").write_text(json.dumps({"format": "course_lib.pretrained"}))
    with pytest.raises(ValueError, match="not a course_lib model card of this kind"):
        load_cot("steps", path=folder)
    with pytest.raises(ValueError, match="fmt"):
        load_cot("letters")


def test_llmcourse_cot_writes_models_that_load(tmp_path, monkeypatch, capsys, one_thread):
    from course_lib.evaluation import cot_model
    from course_lib.pipeline.cli import main
    monkeypatch.setattr(cot_model, "RECIPE", dataclasses.replace(RECIPE, eval_problems=3, votes=2))
    assert main(["cot", "--out", str(tmp_path / "cot"), "--steps", "3"]) == 0
    assert "greedy exact match by digits" in capsys.readouterr().out
    card = load_cot_card(tmp_path / "cot")
    assert card["recipe"]["max_steps"] == 3 and len(card["step_losses"]["answer"]) == 3
    # the same start (a shorter run also warms up faster, so only the first step is shared)
    assert card["step_losses"]["steps"][0] == pytest.approx(load_cot_card()["step_losses"]["steps"][0], abs=1e-4)
    assert isinstance(load_cot("answer", path=tmp_path / "cot"), torch.nn.Module)
