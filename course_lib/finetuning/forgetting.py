"""Catastrophic forgetting: what a fine-tuned model lost of what it knew.

A model fine-tuned on a narrow task drifts away from its pretraining. The simplest measure is
the one pretraining optimised: the loss on held-out pretraining text (the stories validation
set of the shipped model's card, where the pretrained model scores about 0.44 nats per token).
Fine-tuning raises it; how much depends on the learning rate, the steps and the method.
Mitigations the lesson measures: a lower learning rate, *replay* (some pretraining text in
every batch, ``sft.ReplayBatches``), and adapters that can be switched off (``lora_disabled``).
"""
from __future__ import annotations

import torch

from course_lib.pretrained import RECIPE, corpus_documents
from course_lib.scaling import validation_loss


def pretraining_ids(tokenizer, n_stories: int = RECIPE.val_stories, seed: int = 1) -> torch.Tensor:
    """Token ids of pretraining-style text: the stories with ``<|endoftext|>`` between them, (N,).

    The defaults give the pretrained model's validation text; use another seed for replay text.
    """
    return torch.tensor(tokenizer.encode(corpus_documents(n_stories, seed=seed)))


@torch.no_grad()
def pretraining_loss(model, tokenizer, ids: torch.Tensor | None = None) -> float:
    """Mean next-token loss of ``model`` on pretraining validation text (every token scored once)."""
    ids = pretraining_ids(tokenizer) if ids is None else ids
    return validation_loss(model, ids, model.config.context_length)
