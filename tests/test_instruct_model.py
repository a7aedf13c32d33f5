"""The shipped instruction-tuned model: its card holds, its recipe remakes it, damaged files are named."""
from __future__ import annotations

import json
import shutil

import pytest

from course_lib.data.corpus import FEELINGS
from course_lib.finetuning import answer_prompts, write_examples
from course_lib.finetuning.instruct_model import ASSETS, RECIPE, held_out_report, load_instruct, prepare_run
from course_lib.finetuning.tasks import PLEASANT, UNPLEASANT
from course_lib.pretrained import read_card as read_pretrained_card




@pytest.fixture(scope="module")
def card():
    return json.loads((ASSETS / "card.json").read_text())


def test_card_figures_hold_for_the_shipped_model(card, one_thread):
    model, tokenizer = load_instruct()
    report = held_out_report(model, tokenizer, RECIPE)
    assert report["stories_val_loss"] == pytest.approx(card["stories_val_loss"], abs=2e-3)
    for kind in ("held_out_greedy", "held_out_sampled"):
        for key, value in card[kind].items():
            assert report[kind][key] == pytest.approx(value, abs=0.03), (kind, key)
    # what the model is for: it follows held-out instructions and stops, where the base model never does
    assert card["held_out_greedy"]["follow_rate"] >= 0.95 and card["held_out_sampled"]["stop_rate"] >= 0.9
    # and what it cost: forgetting, measured against the pretrained model's own card
    assert card["stories_val_loss"] > read_pretrained_card()["val_loss"]


def test_recipe_remakes_the_first_steps(card, one_thread):
    _, _, trainer = prepare_run(RECIPE, progress=False)
    losses = [trainer.train_step() for _ in range(3)]
    assert losses == pytest.approx(card["step_losses"][:3], abs=1e-4)


def test_sampled_answers_vary_in_length_and_feeling(one_thread):
    """Lesson 06 optimises these answers with RL: a policy that never varies has nothing to explore."""
    model, tokenizer = load_instruct()
    prompts = [e.prompt for e in write_examples(48, "validation", seed=3)]
    answers = answer_prompts(model, tokenizer, prompts, max_new_tokens=RECIPE.max_new_tokens, greedy=False, seed=0)
    sentence_counts = {a.text.count(".") + a.text.count("?") for a in answers if a.stopped}
    assert len(sentence_counts) >= 3, sentence_counts
    words = [set(a.text.replace(".", " ").replace(",", " ").split()) for a in answers]
    assert any(w & set(PLEASANT) for w in words) and any(w & set(UNPLEASANT) for w in words)
    assert len({a.text for a in answers}) == len(answers)
    assert set(PLEASANT) | set(UNPLEASANT) == set(FEELINGS)


def test_damaged_or_mismatched_files_are_named(tmp_path):
    folder = tmp_path / "instruct"
    shutil.copytree(ASSETS, folder)
    model_file = folder / "model.pt"
    model_file.write_bytes(model_file.read_bytes()[:-10])
    with pytest.raises(ValueError, match=r"model\.pt.*SHA-256.*llmcourse finetune"):
        load_instruct(path=folder)
    model_file.unlink()
    with pytest.raises(FileNotFoundError, match=r"model\.pt: missing"):
        load_instruct(path=folder)
    shutil.copytree(ASSETS, folder, dirs_exist_ok=True)
    card = json.loads((folder / "card.json").read_text())
    card["tokenizer_sha256"] = "0" * 64
    (folder / "card.json").write_text(json.dumps(card))
    with pytest.raises(ValueError, match="another tokenizer"):
        load_instruct(path=folder)
    (folder / "card.json").write_text(json.dumps({"format": "course_lib.pretrained"}))
    with pytest.raises(ValueError, match="not a course_lib model card of this kind"):
        load_instruct(path=folder)
    with pytest.raises(FileNotFoundError, match="llmcourse finetune"):
        load_instruct(path=tmp_path / "nowhere")
