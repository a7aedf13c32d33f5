"""The course's pretrained model: a small GPT that has read the offline stories corpus.

Lessons 05 to 08 (fine-tuning, RLHF, evaluation) start from a model that already writes
stories, the way real work starts from a published checkpoint. It ships with the package in
``course_lib/assets/pretrained/``, so every lesson loads it offline in a fraction of a second::

    from course_lib.pretrained import load_pretrained
    model, tokenizer = load_pretrained(device)           # a GPT and its BPETokenizer
    ids = torch.tensor([tokenizer.encode("One day, Mia")])

Three files make the model:

* ``tokenizer.json``  a byte-level BPE tokenizer trained on the corpus, with special tokens
                      for document ends, padding and chat turns (used by lesson 05 onwards);
* ``model.pt``        the GPT's weights (a plain ``state_dict``, read with ``weights_only``);
* ``card.json``       the model card: the recipe, the config, the training and validation loss,
                      the loss of every step, and the SHA-256 of the two other files.

**Rebuilding.** ``llmcourse pretrain`` runs ``build_pretrained`` with the ``RECIPE`` below and
writes the three files (about 9 minutes on one CPU thread of a busy machine). Runs are seeded, so the same machine
rebuilds the same weights bit for bit; other CPUs round a little differently, so a rebuild
elsewhere matches the card's losses closely rather than exactly (the tests check the first steps
against the card). Each file is written under a temporary name and renamed, and the card comes
last: a rebuild that stops half way leaves files whose hashes disagree with the card, which
``load_pretrained`` reports instead of loading a mixture.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from course_lib.data.corpus import stories
from course_lib.data.tokens import TokenWindows
from course_lib.device import seed_everything
from course_lib.evaluation.language_model import validation_loss  # every token scored once
from course_lib.tokenization.base import atomic_write
from course_lib.tokenization.bpe import BPETokenizer
from course_lib.training.trainer import Trainer, TrainerConfig
from course_lib.transformer.config import GPTConfig
from course_lib.transformer.counting import count_parameters
from course_lib.transformer.gpt import GPT

ASSETS = Path(__file__).parent / "assets" / "pretrained"
CARD_FORMAT = "course_lib.pretrained"
END_OF_TEXT = "<|endoftext|>"
# Reserved now so that later lessons can use them without growing the vocabulary: padding for
# batches of different lengths, and the turns of a chat transcript (lesson 05's instruction tuning).
SPECIAL_TOKENS = [END_OF_TEXT, "<|pad|>", "<|user|>", "<|assistant|>", "<|end|>"]


@dataclass(frozen=True)
class PretrainRecipe:
    """Everything that decides the model: data, tokenizer, architecture, optimisation."""
    train_stories: int = 4000        # stories(train_stories, seed=0): about 1.4 MB of text
    val_stories: int = 200           # stories(val_stories, seed=1): the same grammar, other stories
    vocab_size: int = 512
    context_length: int = 128
    n_layers: int = 4
    n_heads: int = 4
    d_model: int = 128
    batch_size: int = 16
    max_steps: int = 1000
    lr: float = 3e-3
    warmup_steps: int = 50
    weight_decay: float = 0.1
    seed: int = 0
    threads: int = 1                 # fixed, so that every machine adds up in the same order
    special_tokens: tuple[str, ...] = field(default_factory=lambda: tuple(SPECIAL_TOKENS))

    def model_config(self) -> GPTConfig:
        return GPTConfig(vocab_size=self.vocab_size, context_length=self.context_length, n_layers=self.n_layers,
                         n_heads=self.n_heads, d_model=self.d_model)


RECIPE = PretrainRecipe()


def corpus_documents(n_stories: int, seed: int) -> str:
    """The stories as one training text: each story followed by ``<|endoftext|>``."""
    return "".join(story + END_OF_TEXT for story in stories(n_stories, seed=seed).splitlines())


# ----- building --------------------------------------------------------------------------------
def prepare_run(recipe: PretrainRecipe = RECIPE, progress: bool = True):
    """The tokenizer, the encoded training and validation ids, and a Trainer ready to start."""
    seed_everything(recipe.seed)
    train_text = corpus_documents(recipe.train_stories, seed=0)
    val_text = corpus_documents(recipe.val_stories, seed=1)
    tokenizer = BPETokenizer("gpt4").train(train_text, recipe.vocab_size, special_tokens=recipe.special_tokens)
    train_ids, val_ids = tokenizer.encode(train_text), tokenizer.encode(val_text)

    model = GPT(recipe.model_config())
    config = TrainerConfig(max_steps=recipe.max_steps, lr=recipe.lr, warmup_steps=recipe.warmup_steps,
                           weight_decay=recipe.weight_decay, eval_every=300, progress=progress)
    train_data = TokenWindows(train_ids, recipe.context_length, recipe.batch_size, seed=recipe.seed)
    val_data = TokenWindows(val_ids, recipe.context_length, recipe.batch_size, seed=recipe.seed + 1)
    trainer = Trainer(model, train_data, config, val_data=val_data, device="cpu")
    return tokenizer, train_ids, val_ids, trainer


def build_pretrained(out_dir: str | os.PathLike = ASSETS, recipe: PretrainRecipe = RECIPE,
                     progress: bool = True) -> dict:
    """Train the course's model from scratch with ``recipe`` and write it to ``out_dir``; return the card."""
    started = time.perf_counter()
    threads_before = torch.get_num_threads()
    torch.set_num_threads(recipe.threads)
    try:
        tokenizer, train_ids, val_ids, trainer = prepare_run(recipe, progress)
        history = trainer.train()
        model = trainer.model
        val_loss = validation_loss(model, val_ids, recipe.context_length)
    finally:
        torch.set_num_threads(threads_before)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer.save(out / "tokenizer.json")
    atomic_write(out / "model.pt", lambda file: torch.save(model.state_dict(), file), mode="wb")
    card = {
        "format": CARD_FORMAT,
        "version": 1,
        "built_by": "llmcourse pretrain",
        "recipe": dataclasses.asdict(recipe),
        "config": dataclasses.asdict(model.config),
        "parameters": count_parameters(model),
        "train_tokens": len(train_ids),
        "tokens_seen": recipe.max_steps * recipe.batch_size * recipe.context_length,
        "step_losses": [round(loss, 6) for loss in history["loss"]],
        "val_losses": dict(zip(history["val_step"], [round(v, 6) for v in history["val_loss"]])),
        "final_train_loss": round(sum(history["loss"][-20:]) / len(history["loss"][-20:]), 6),
        "val_loss": round(val_loss, 6),
        "uniform_loss": round(math.log(recipe.vocab_size), 6),  # a model that knows nothing
        "minutes": round((time.perf_counter() - started) / 60, 2),
        "built_with": {"torch": torch.__version__, "python": platform.python_version(),
                       "machine": platform.machine()},
        "sha256": {name: sha256_of(out / name) for name in ("model.pt", "tokenizer.json")},
    }
    atomic_write(out / "card.json", lambda file: json.dump(card, file, indent=1))  # last: it vouches for the others
    return card


# ----- loading ---------------------------------------------------------------------------------
def read_card(path: str | os.PathLike = ASSETS, card_format: str = CARD_FORMAT,
              rebuild: str = "llmcourse pretrain") -> dict:
    """The model card of the model in ``path`` (a folder written by ``build_pretrained``)."""
    folder = Path(path)
    card_file = folder / "card.json"
    if not card_file.is_file():
        raise FileNotFoundError(f"{folder}: no model here (card.json missing); build one with `{rebuild} --out {folder}`")
    try:
        card = json.loads(card_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{card_file}: not a valid model card ({error})") from None
    if not isinstance(card, dict) or card.get("format") != card_format:
        raise ValueError(f"{card_file}: not a course_lib model card of this kind (expected \"format\": \"{card_format}\")")
    return card


def verify_files(folder: str | os.PathLike, card: dict, rebuild: str = "llmcourse pretrain") -> None:
    """Check every file the card lists against its SHA-256: a damaged or half-rebuilt file is named."""
    folder = Path(folder)
    for name, expected in card["sha256"].items():
        file = folder / name
        if not file.is_file():
            raise FileNotFoundError(f"{file}: missing (the card lists it); rebuild with `{rebuild} --out {folder}`")
        if sha256_of(file) != expected:
            raise ValueError(f"{file}: does not match the model card (SHA-256 differs): the file is damaged or "
                             f"from another build; rebuild with `{rebuild} --out {folder}`")


def load_pretrained(device: torch.device | str | None = None,
                    path: str | os.PathLike = ASSETS) -> tuple[GPT, BPETokenizer]:
    """The pretrained GPT (in eval mode, on ``device``, default CPU) and its tokenizer.

    Checks both files against the SHA-256 in the card before reading them, so a damaged or
    half-rebuilt model is reported by name instead of loaded.
    """
    folder = Path(path)
    card = read_card(folder)
    verify_files(folder, card)
    tokenizer = BPETokenizer.load(folder / "tokenizer.json")
    config = GPTConfig(**card["config"])
    if tokenizer.vocab_size != config.vocab_size:
        raise ValueError(f"{folder}: tokenizer has {tokenizer.vocab_size} tokens, the model {config.vocab_size}")
    model = GPT(config)
    state = torch.load(folder / "model.pt", map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.to(torch.device(device) if device is not None else "cpu").eval(), tokenizer


def sha256_of(file: Path) -> str:
    """The SHA-256 of a file's bytes, as hex."""
    return hashlib.sha256(file.read_bytes()).hexdigest()


if __name__ == "__main__":  # python -m course_lib.pretrained: the same as `llmcourse pretrain`
    card = build_pretrained()
    print(f"wrote {ASSETS}: val loss {card['val_loss']:.3f} (uniform {card['uniform_loss']:.3f})")
