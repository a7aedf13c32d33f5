"""The course's instruction-tuned model: the pretrained story writer, taught to follow instructions.

Lesson 06 (RLHF) starts from it, and lesson 08 grades it next to the pretrained model. It is the
shipped pretrained GPT after supervised fine-tuning on ``tasks.write_examples`` in the chat format
(the response and <|end|> trained, nothing else), made by ``RECIPE`` below. Its answers vary in
length (two to five sentences) and in the feelings they tell, so a policy optimised by
reinforcement learning has something to explore.

Files, in ``course_lib/assets/instruct/``: ``model.pt`` (the weights, a plain state_dict) and
``card.json`` (the recipe, the losses, the follow and stop rates on held-out instructions, and the
SHA-256 of the weights and of the tokenizer it was trained with, the pretrained model's).

**Rebuilding.** ``llmcourse finetune`` runs ``build_instruct`` (about a minute on one thread).
The run is seeded and uses one thread, so one machine rebuilds the same weights bit for bit.
"""
from __future__ import annotations

import dataclasses
import json
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from course_lib.device import seed_everything
from course_lib.finetuning.sft import evaluate_instructions, sft_trainer
from course_lib.finetuning.tasks import write_examples
from course_lib.finetuning.forgetting import pretraining_loss
from course_lib.pretrained import ASSETS as PRETRAINED
from course_lib.pretrained import load_pretrained, read_card, sha256_of, verify_files
from course_lib.tokenization.base import atomic_write
from course_lib.training.trainer import TrainerConfig
from course_lib.transformer.config import GPTConfig
from course_lib.transformer.gpt import GPT

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "instruct"
CARD_FORMAT = "course_lib.instruct"
REBUILD = "llmcourse finetune"


@dataclass(frozen=True)
class InstructRecipe:
    """Everything that decides the instruction-tuned model."""
    train_examples: int = 2000     # write_examples(train_examples, "train", seed=0)
    eval_examples: int = 150       # write_examples(eval_examples, "test", seed=0), answered greedy and sampled
    max_new_tokens: int = 80
    min_sentences: int = 2
    max_sentences: int = 5
    batch_size: int = 16
    max_steps: int = 150
    lr: float = 1e-3
    warmup_steps: int = 10
    weight_decay: float = 0.0
    seed: int = 0
    threads: int = 1


RECIPE = InstructRecipe()


def prepare_run(recipe: InstructRecipe = RECIPE, progress: bool = True):
    """The pretrained model and tokenizer, and a Trainer ready to fine-tune them with ``recipe``."""
    seed_everything(recipe.seed)
    model, tokenizer = load_pretrained()
    pairs = write_examples(recipe.train_examples, "train", seed=recipe.seed,
                           min_sentences=recipe.min_sentences, max_sentences=recipe.max_sentences)
    config = TrainerConfig(max_steps=recipe.max_steps, lr=recipe.lr, warmup_steps=recipe.warmup_steps,
                           weight_decay=recipe.weight_decay, progress=progress)
    trainer = sft_trainer(model, tokenizer, pairs, config, batch_size=recipe.batch_size, seed=recipe.seed,
                          device="cpu")
    return model, tokenizer, trainer


def held_out_report(model, tokenizer, recipe: InstructRecipe = RECIPE) -> dict:
    """What the card says of a model: answers to held-out instructions, and the stories loss."""
    held_out = write_examples(recipe.eval_examples, "test", seed=recipe.seed)
    greedy = evaluate_instructions(model, tokenizer, held_out, max_new_tokens=recipe.max_new_tokens)
    sampled = evaluate_instructions(model, tokenizer, held_out, max_new_tokens=recipe.max_new_tokens,
                                    greedy=False, seed=recipe.seed)
    return {
        # answers to held-out instructions (animal-place pairs never seen in training)
        "held_out_greedy": {k: round(v, 4) for k, v in greedy.items()},
        "held_out_sampled": {k: round(v, 4) for k, v in sampled.items()},   # temperature 1
        # the pretraining validation loss after fine-tuning (the pretrained model's card has the before)
        "stories_val_loss": round(pretraining_loss(model, tokenizer), 6),
    }


def build_instruct(out_dir: str | os.PathLike = ASSETS, recipe: InstructRecipe = RECIPE,
                   progress: bool = True) -> dict:
    """Fine-tune the pretrained model with ``recipe``, write it to ``out_dir`` and return its card."""
    started = time.perf_counter()
    threads_before = torch.get_num_threads()
    torch.set_num_threads(recipe.threads)
    try:
        model, tokenizer, trainer = prepare_run(recipe, progress)
        history = trainer.train()
        model.eval()
        report = held_out_report(model, tokenizer, recipe)
    finally:
        torch.set_num_threads(threads_before)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "model.pt", lambda file: torch.save(model.state_dict(), file), mode="wb")
    card = {
        "format": CARD_FORMAT,
        "version": 1,
        "built_by": REBUILD,
        "starts_from": "course_lib.pretrained",
        "recipe": dataclasses.asdict(recipe),
        "config": dataclasses.asdict(model.config),
        "step_losses": [round(loss, 6) for loss in history["loss"]],
        **report,
        "minutes": round((time.perf_counter() - started) / 60, 2),
        "built_with": {"torch": torch.__version__, "python": platform.python_version(),
                       "machine": platform.machine()},
        "tokenizer_sha256": sha256_of(PRETRAINED / "tokenizer.json"),
        "sha256": {"model.pt": sha256_of(out / "model.pt")},
    }
    atomic_write(out / "card.json", lambda file: json.dump(card, file, indent=1))  # last: it vouches for the weights
    return card


def load_instruct(device: torch.device | str | None = None, path: str | os.PathLike = ASSETS):
    """The instruction-tuned GPT (eval mode, on ``device``) and its tokenizer (the pretrained one's)."""
    folder = Path(path)
    card = read_card(folder, CARD_FORMAT, REBUILD)
    verify_files(folder, card, REBUILD)
    _, tokenizer = load_pretrained()
    if sha256_of(PRETRAINED / "tokenizer.json") != card["tokenizer_sha256"]:
        raise ValueError(f"{folder}: this model was trained with another tokenizer than the shipped pretrained "
                         f"one; rebuild it with `{REBUILD}`")
    model = GPT(GPTConfig(**card["config"]))
    model.load_state_dict(torch.load(folder / "model.pt", map_location="cpu", weights_only=True))
    return model.to(torch.device(device) if device is not None else "cpu").eval(), tokenizer


if __name__ == "__main__":  # python -m course_lib.finetuning.instruct_model: the same as `llmcourse finetune`
    card = build_instruct()
    print(f"wrote {ASSETS}: held-out {card['held_out_greedy']}")
