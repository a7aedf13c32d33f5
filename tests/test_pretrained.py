"""The pretrained model that lessons 05-08 load: shipped, offline, intact, and rebuilt by its recipe."""
from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch

from course_lib.pipeline.cli import main as llmcourse
from course_lib.pretrained import (
    ASSETS,
    END_OF_TEXT,
    RECIPE,
    SPECIAL_TOKENS,
    PretrainRecipe,
    build_pretrained,
    corpus_documents,
    load_pretrained,
    prepare_run,
    read_card,
    validation_loss,
)
from course_lib.transformer.generation import generate

# A recipe small enough to build in seconds, for the tests of the building code itself.
TINY = PretrainRecipe(train_stories=60, val_stories=20, vocab_size=300, context_length=32, n_layers=1,
                      n_heads=2, d_model=16, batch_size=4, max_steps=3, warmup_steps=1)


@pytest.fixture(scope="module")
def shipped():
    return load_pretrained()


def test_the_model_is_shipped_in_the_package_data():
    import tomllib

    from harness import ROOT
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "assets/pretrained/*" in package_data["course_lib"]
    assert {p.name for p in ASSETS.iterdir()} >= {"card.json", "model.pt", "tokenizer.json"}


def test_shipped_model_scores_what_its_card_says(shipped):
    model, tokenizer = shipped
    card = read_card()
    assert card["config"] == dataclasses.asdict(model.config)
    assert list(tokenizer.special_tokens) == SPECIAL_TOKENS
    val_ids = tokenizer.encode(corpus_documents(RECIPE.val_stories, seed=1))
    measured = validation_loss(model, val_ids, RECIPE.context_length)
    assert measured == pytest.approx(card["val_loss"], abs=1e-3)
    # It has learned the stories: far below a uniform guess over the vocabulary, and below its first step.
    assert measured < 0.35 * math.log(model.config.vocab_size)
    assert card["step_losses"][-1] < 0.3 * card["step_losses"][0]


def test_shipped_model_writes_a_story(shipped):
    model, tokenizer = shipped
    prompt = torch.tensor([tokenizer.encode(END_OF_TEXT + "One day, Mia went to")])  # (1, T)
    out = generate(model, prompt, max_new_tokens=40, greedy=True)                        # (1, T + 40)
    text = tokenizer.decode(out[0, prompt.shape[1]:].tolist())
    assert any(place in text.split(".")[0] for place in ("the park", "the forest", "the river", "the garden",
                                                            "the beach", "the hill", "the market", "the library",
                                                            "the farm", "the old bridge")), text


def test_recipe_rebuilds_the_shipped_tokenizer_and_first_steps(shipped):
    """The recipe in the code is the one that made the shipped files: same tokenizer, same first losses."""
    _, tokenizer = shipped
    card = read_card()
    assert card["recipe"] == json.loads(json.dumps(dataclasses.asdict(RECIPE)))
    threads = torch.get_num_threads()
    torch.set_num_threads(RECIPE.threads)
    try:
        rebuilt_tokenizer, _, _, trainer = prepare_run(RECIPE, progress=False)
        assert rebuilt_tokenizer.to_dict() == tokenizer.to_dict()
        history = trainer.train(n_steps=4)
    finally:
        torch.set_num_threads(threads)
    # Another CPU may round differently, so the losses agree closely rather than bit for bit.
    assert history["loss"] == pytest.approx(card["step_losses"][:4], rel=1e-3)


def test_building_is_repeatable_and_loadable(tmp_path):
    first = build_pretrained(tmp_path / "a", TINY, progress=False)
    second = build_pretrained(tmp_path / "b", TINY, progress=False)
    assert first["sha256"]["model.pt"] == second["sha256"]["model.pt"]       # same machine: same bits
    assert first["step_losses"] == second["step_losses"]
    model, tokenizer = load_pretrained(path=tmp_path / "a")
    assert model.config.d_model == TINY.d_model and tokenizer.vocab_size == TINY.vocab_size
    assert not model.training
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["card.json", "model.pt", "tokenizer.json"]


def test_damaged_or_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="llmcourse pretrain"):
        load_pretrained(path=tmp_path / "nothing")
    build_pretrained(tmp_path / "m", TINY, progress=False)
    weights = tmp_path / "m" / "model.pt"
    weights.write_bytes(weights.read_bytes()[:-10])                           # a truncated copy
    with pytest.raises(ValueError, match=r"model\.pt.*SHA-256"):
        load_pretrained(path=tmp_path / "m")
    weights.unlink()
    with pytest.raises(FileNotFoundError, match=r"model\.pt: missing"):
        load_pretrained(path=tmp_path / "m")
    (tmp_path / "m" / "card.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a valid model card"):
        load_pretrained(path=tmp_path / "m")
    (tmp_path / "m" / "card.json").write_text('{"format": "something else"}')
    with pytest.raises(ValueError, match="not a course_lib model card"):
        load_pretrained(path=tmp_path / "m")


def test_validation_loss_needs_a_window():
    model, _ = load_pretrained()
    with pytest.raises(ValueError, match="need more than context_length=128 tokens"):
        validation_loss(model, [1, 2, 3], 128)


def test_command_line_builds_and_reports_errors_in_one_line(tmp_path, capsys):
    assert llmcourse(["pretrain", "--out", str(tmp_path / "cli"), "--steps", "2"]) == 0
    assert "validation loss" in capsys.readouterr().out
    model, _ = load_pretrained(path=tmp_path / "cli")
    assert read_card(tmp_path / "cli")["recipe"]["max_steps"] == 2
    assert llmcourse(["pretrain", "--out", str(tmp_path / "bad"), "--steps", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "max_steps" in err[0], err


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_pretrained_model_runs_on_cuda():
    model, tokenizer = load_pretrained("cuda")
    prompt = torch.tensor([tokenizer.encode("One day,")], device="cuda")
    with torch.autocast("cuda", dtype=torch.bfloat16):
        logits, _ = model(prompt)
    cpu_logits, _ = load_pretrained()[0](prompt.cpu())
    assert torch.allclose(logits.float().cpu(), cpu_logits, atol=0.1)
