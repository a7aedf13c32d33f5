"""The two shipped addition models: one writes its steps, one writes the answer only.

Both are the same small character-level GPT, trained with the same recipe on the same random
problems (1 to 5 digits, the task of ``chain_of_thought.py``); only the target differs:

    "steps"   4817+3956=7+6+0=13,1+5+1=07,8+9+0=17,4+3+1=08;8773.
    "answer"  4817+3956=8773.

Lesson 08 loads them in a fraction of a second and measures what writing the steps buys:
exact-match accuracy by number of digits, greedy and by a majority vote over samples.

Files, in ``course_lib/assets/cot/``: ``steps.pt`` and ``answer.pt`` (plain state_dicts) and
``card.json`` (the recipe, the config, every step's loss, the accuracies by digits, and the
SHA-256 of both weight files).

**Rebuilding.** ``llmcourse cot`` runs ``build_cot`` (a few minutes on one thread). The run is
seeded and uses one thread, so one machine rebuilds the same weights bit for bit; the tests
check the first steps' losses against the card.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import random
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from course_lib.device import seed_everything
from course_lib.evaluation.chain_of_thought import (
    FORMATS,
    MAX_DIGITS,
    VOCAB,
    accuracy_by_digits,
    training_batch,
)
from course_lib.pretrained import read_card, sha256_of, verify_files
from course_lib.tokenization.base import atomic_write
from course_lib.transformer.config import GPTConfig
from course_lib.transformer.counting import count_parameters
from course_lib.transformer.gpt import GPT

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "cot"
CARD_FORMAT = "course_lib.cot"
REBUILD = "llmcourse cot"


@dataclass(frozen=True)
class CotRecipe:
    """Everything that decides the two models (the same for both but the target format)."""
    n_layers: int = 2
    n_heads: int = 4
    d_model: int = 64
    context_length: int = 64       # the longest "steps" text of 5 digits is 64 characters
    batch_size: int = 64
    max_steps: int = 800
    lr: float = 3e-3
    warmup_steps: int = 50
    weight_decay: float = 0.0
    clip: float = 1.0
    seed: int = 0
    eval_problems: int = 100       # held-out problems per number of digits (seed 1), for the card
    votes: int = 10                # samples per problem for the majority vote (self-consistency)
    temperature: float = 0.7        # sampling for the vote (Wang et al. used 0.5 to 0.7)
    threads: int = 1

    def model_config(self) -> GPTConfig:
        return GPTConfig(vocab_size=len(VOCAB), context_length=self.context_length, n_layers=self.n_layers,
                         n_heads=self.n_heads, d_model=self.d_model)


RECIPE = CotRecipe()


def learning_rate(step: int, recipe: CotRecipe) -> float:
    """Linear warmup, then a cosine decay to 0."""
    if step < recipe.warmup_steps:
        return recipe.lr * (step + 1) / recipe.warmup_steps
    progress = (step - recipe.warmup_steps) / max(recipe.max_steps - recipe.warmup_steps, 1)
    return recipe.lr * 0.5 * (1 + math.cos(math.pi * progress))


def train_format(fmt: str, recipe: CotRecipe = RECIPE, progress: bool = False) -> tuple[GPT, list[float]]:
    """Train one model on ``fmt`` ("steps" or "answer") from scratch; return it and its step losses."""
    if fmt not in FORMATS:
        raise ValueError(f"fmt: expected one of {FORMATS}, got {fmt!r}")
    seed_everything(recipe.seed)
    rng = random.Random(f"addition-training/{recipe.seed}")  # the same problems for both formats
    model = GPT(recipe.model_config())
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    losses = []
    model.train()
    for step in range(recipe.max_steps):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, recipe)
        inputs, targets = training_batch(rng, recipe.batch_size, fmt, MAX_DIGITS)  # (B, L) each
        _, loss = model(inputs, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.clip)
        optimizer.step()
        losses.append(loss.item())
        if progress and (step % 250 == 0 or step == recipe.max_steps - 1):
            print(f"{fmt}: step {step}, loss {loss.item():.4f}", flush=True)
    return model.eval(), losses


def card_figures(models: dict[str, GPT], recipe: CotRecipe = RECIPE) -> dict:
    """Exact-match accuracy by digits of each model: greedy, one sample, and a majority vote over samples."""
    n, T = recipe.eval_problems, recipe.temperature
    return {fmt: {"greedy": accuracy_by_digits(model, fmt, n=n),
                  "one_sample": accuracy_by_digits(model, fmt, n=n, greedy=False, temperature=T),
                  "majority_vote": accuracy_by_digits(model, fmt, n=n, greedy=False, samples=recipe.votes,
                                                      temperature=T)}
            for fmt, model in models.items()}


def build_cot(out_dir: str | os.PathLike = ASSETS, recipe: CotRecipe = RECIPE, progress: bool = True) -> dict:
    """Train both models with ``recipe``, write them to ``out_dir`` and return the card."""
    started = time.perf_counter()
    threads_before = torch.get_num_threads()
    torch.set_num_threads(recipe.threads)
    try:
        trained = {fmt: train_format(fmt, recipe, progress) for fmt in FORMATS}
        models = {fmt: model for fmt, (model, _) in trained.items()}
        figures = card_figures(models, recipe)
    finally:
        torch.set_num_threads(threads_before)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for fmt, model in models.items():
        atomic_write(out / f"{fmt}.pt", lambda file, m=model: torch.save(m.state_dict(), file), mode="wb")
    card = {
        "format": CARD_FORMAT,
        "version": 1,
        "built_by": REBUILD,
        "recipe": dataclasses.asdict(recipe),
        "config": dataclasses.asdict(recipe.model_config()),
        "parameters": count_parameters(models["steps"]),
        "step_losses": {fmt: [round(loss, 6) for loss in losses] for fmt, (_, losses) in trained.items()},
        # exact match on recipe.eval_problems held-out problems per number of digits (problems(n, d, seed=1))
        "accuracy": {fmt: {how: {str(d): round(v, 4) for d, v in scores.items()} for how, scores in by.items()}
                     for fmt, by in figures.items()},
        "minutes": round((time.perf_counter() - started) / 60, 2),
        "built_with": {"torch": torch.__version__, "python": platform.python_version(),
                       "machine": platform.machine()},
        "sha256": {f"{fmt}.pt": sha256_of(out / f"{fmt}.pt") for fmt in FORMATS},
    }
    atomic_write(out / "card.json", lambda file: json.dump(card, file, indent=1))  # last: it vouches for the weights
    return card


def load_cot(fmt: str, device: torch.device | str | None = None, path: str | os.PathLike = ASSETS) -> GPT:
    """The shipped addition model that writes ``fmt`` ("steps" or "answer"), in eval mode.

    Both weight files are checked against the card's SHA-256 first, so a damaged file is named.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt: expected one of {FORMATS}, got {fmt!r}")
    folder = Path(path)
    card = read_card(folder, CARD_FORMAT, REBUILD)
    verify_files(folder, card, REBUILD)
    model = GPT(GPTConfig(**card["config"]))
    model.load_state_dict(torch.load(folder / f"{fmt}.pt", map_location="cpu", weights_only=True))
    return model.to(torch.device(device) if device is not None else "cpu").eval()


def load_cot_card(path: str | os.PathLike = ASSETS) -> dict:
    """The card of the shipped addition models (recipe, losses, accuracies by digits)."""
    return read_card(path, CARD_FORMAT, REBUILD)


if __name__ == "__main__":  # python -m course_lib.evaluation.cot_model: the same as `llmcourse cot`
    card = build_cot()
    print(f"wrote {ASSETS}: greedy accuracy by digits {card['accuracy']}")
