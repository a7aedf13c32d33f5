"""A report card: the course's models on the same benchmarks, one row each.

Comparing models is only fair when every model meets the same items, scored the same way.
The card asks each model three things:

* **StoryMC** (the test split of ``benchmarks.py``): accuracy scored three ways (summed
  log-likelihood, per character, per token), with a bootstrap interval on the first;
* **instructions**: how often greedy answers to held-out instructions follow them (the animal
  and the place asked for) and stop (``finetuning.sft.evaluate_instructions``);
* **stories loss**: the loss on held-out pretraining stories, which fine-tuning raises
  (forgetting, ``finetuning.forgetting.pretraining_loss``).

Models come as a mapping from a name to a function that loads the model, so that adding one
is one line and only one model is in memory at a time::

    card = report_card({"pretrained": lambda: load_pretrained()[0],
                        "instruction-tuned": lambda: load_instruct()[0]}, tokenizer)
    print(format_card(card))

Import it from its module: it stands on ``course_lib.finetuning``, which imports this package.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch

from course_lib.evaluation.benchmarks import story_mc
from course_lib.evaluation.bootstrap import bootstrap_ci
from course_lib.evaluation.inputs import check_int
from course_lib.evaluation.multiple_choice import MCItem, evaluate_multiple_choice
from course_lib.finetuning.forgetting import pretraining_loss
from course_lib.finetuning.sft import evaluate_instructions
from course_lib.finetuning.tasks import WriteExample, write_examples
from course_lib.pretrained import END_OF_TEXT

COLUMNS = ("StoryMC acc", "acc 95% CI", "acc_norm", "per token", "follow", "stop", "stories loss")


@dataclass(frozen=True)
class Benchmarks:
    """What every model of a card is asked: the same items and instructions for all."""

    items: list[MCItem]                 # StoryMC items (answerable and unanswerable)
    instructions: list[WriteExample]    # held-out instructions
    max_new_tokens: int = 60


def course_benchmarks(per_kind: int = 30, n_instructions: int = 40) -> Benchmarks:
    """StoryMC's test split (``per_kind`` items of each kind) and ``n_instructions`` held-out instructions."""
    check_int(per_kind, "per_kind", 1)
    check_int(n_instructions, "n_instructions", 1)
    return Benchmarks(story_mc("test", per_kind=per_kind), write_examples(n_instructions, "test", seed=0))


def report_row(model, tokenizer, benchmarks: Benchmarks) -> dict[str, float | str]:
    """One model's row: the values of ``COLUMNS``."""
    mc = evaluate_multiple_choice(model, tokenizer, benchmarks.items, prefix=END_OF_TEXT)
    low, high = bootstrap_ci(torch.tensor(mc.correct("none"), dtype=torch.float64), seed=0)
    answers = evaluate_instructions(model, tokenizer, benchmarks.instructions,
                                    max_new_tokens=benchmarks.max_new_tokens)
    return {"StoryMC acc": mc.accuracy("none"), "acc 95% CI": f"[{low:.2f}, {high:.2f}]",
            "acc_norm": mc.accuracy("chars"), "per token": mc.accuracy("tokens"),
            "follow": answers["follow_rate"], "stop": answers["stop_rate"],
            "stories loss": pretraining_loss(model, tokenizer)}


def report_card(models: Mapping[str, Callable[[], torch.nn.Module]], tokenizer,
                benchmarks: Benchmarks | None = None) -> dict[str, dict[str, float | str]]:
    """Every model's row, in the order of ``models`` (name -> a function that loads the model)."""
    if not isinstance(models, Mapping) or not models:
        raise ValueError(f"models: expected a non-empty mapping of name -> loading function, got {models!r:.60}")
    for name, load in models.items():
        if not callable(load):
            raise TypeError(f"models[{name!r}]: expected a function that returns the model, got "
                            f"{type(load).__name__} (wrap a loaded model in lambda: model)")
    benchmarks = course_benchmarks() if benchmarks is None else benchmarks
    return {name: report_row(load(), tokenizer, benchmarks) for name, load in models.items()}


def format_card(card: Mapping[str, Mapping[str, float | str]]) -> str:
    """The card as a plain-text table: one line per model, numbers to 3 decimals."""
    width = max(len(name) for name in card) + 2
    lines = [" " * width + "".join(f"{column:>14}" for column in COLUMNS)]
    for name, row in card.items():
        cells = [f"{row[c]:>14.3f}" if isinstance(row[c], float) else f"{row[c]:>14}" for c in COLUMNS]
        lines.append(f"{name:<{width}}" + "".join(cells))
    return "\n".join(lines)
