"""The shipped PPO- and DPO-tuned policies: their card holds, the recipe remakes it, damaged files are named."""
from __future__ import annotations

import json
import shutil

import pytest
import torch

from course_lib.alignment.aligned_models import ASSETS, RECIPE, load_aligned
from course_lib.alignment.scorecard import scorecard
from course_lib.finetuning import write_examples
from course_lib.finetuning.instruct_model import load_instruct




@pytest.fixture(scope="module")
def card():
    return json.loads((ASSETS / "card.json").read_text())


@pytest.mark.parametrize("method", ["ppo", "dpo"])
def test_scorecards_hold_and_preference_tuning_helped(card, method, one_thread):
    policy, tokenizer = load_aligned(method)
    start, _ = load_instruct()
    held_out = write_examples(RECIPE.eval_prompts, "test", seed=2)
    measured = scorecard(policy, start, tokenizer, held_out, RECIPE.max_new_tokens, seed=3)
    expected = card["scorecards"][method]
    assert measured.gold == pytest.approx(expected["gold"], abs=0.05)
    assert measured.kl == pytest.approx(expected["kl"], abs=0.05)
    # what the method is for: the hidden judge likes the answers more than the starting policy's,
    # at the price of some distance from it
    assert expected["gold"] > card["scorecards"]["instruct"]["gold"] + 0.5 and expected["kl"] > 0.1


def test_recipe_remakes_the_reward_models_first_steps(card, one_thread):
    from course_lib.alignment.aligned_models import reward_model_from_preferences
    import dataclasses
    policy, tokenizer = load_instruct()
    torch.manual_seed(RECIPE.seed)
    _, pairs, losses = reward_model_from_preferences(policy, tokenizer, dataclasses.replace(RECIPE, reward_steps=3))
    assert len(pairs) == card["preference_pairs"]
    assert losses == pytest.approx(card["reward_losses"][:3], abs=1e-4)   # the first is ln 2: the head starts at zero


def test_damaged_files_and_a_changed_start_are_named(tmp_path):
    folder = tmp_path / "aligned"
    shutil.copytree(ASSETS, folder)
    (folder / "dpo.pt").write_bytes(b"not a model")
    with pytest.raises(ValueError, match=r"dpo\.pt.*SHA-256.*llmcourse align"):
        load_aligned("dpo", path=folder)
    shutil.copytree(ASSETS, folder, dirs_exist_ok=True)
    card = json.loads((folder / "card.json").read_text())
    card["start_sha256"] = "0" * 64
    (folder / "card.json").write_text(json.dumps(card))
    with pytest.raises(ValueError, match="another instruction-tuned model"):
        load_aligned("ppo", path=folder)
    with pytest.raises(ValueError, match="method"):
        load_aligned("grpo")
    with pytest.raises(FileNotFoundError, match="llmcourse align"):
        load_aligned("ppo", path=tmp_path / "nowhere")
