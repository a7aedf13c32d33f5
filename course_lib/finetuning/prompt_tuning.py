"""Prompt tuning: learn a few input vectors, keep the whole model frozen (Lester et al., 2021).

Instead of changing weights, we put P learned vectors in front of every input, where the
embeddings of P prompt tokens would go. The model reads them like a (very persuasive) prompt
that no tokenizer could write. Only P * C numbers train: 8 x 128 = 1,024 for the course's model.

Starting the vectors at the embeddings of real tokens works much better than random vectors,
which lie off the region that the model has learned to read (PEFT #2816). And a soft prompt equal
to the embeddings of a real prompt gives exactly the outputs of that prompt: the tests check it.
On small models prompt tuning learns little; Lester et al. found that it catches up with full
fine-tuning only around ten billion parameters.
"""
from __future__ import annotations

import dataclasses

import torch
from torch import nn

from course_lib.finetuning.lora import freeze


class SoftPromptModel(nn.Module):
    """A frozen GPT that reads ``n_virtual`` learned vectors before every input.

    It behaves like the GPT for the Trainer and for ``generate`` (which must run without a KV
    cache: ``use_kv_cache=False``); ``config.context_length`` is what is left for real tokens.
    """

    def __init__(self, gpt: nn.Module, init_ids: list[int]):
        super().__init__()
        if not init_ids:
            raise ValueError("init_ids: expected the ids of at least one real token to start the soft prompt from")
        if len(init_ids) >= gpt.config.context_length:
            raise ValueError(f"a soft prompt of {len(init_ids)} vectors leaves no room in a context of "
                             f"{gpt.config.context_length}")
        self.gpt = gpt
        freeze(gpt)
        with torch.no_grad():
            start = gpt.token_embedding.weight[torch.tensor(init_ids)].clone()   # (P, C)
        self.prompt = nn.Parameter(start)                                          # (P, C): all that trains
        self.config = dataclasses.replace(gpt.config, context_length=gpt.config.context_length - len(init_ids))

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None,
                padding_mask: torch.Tensor | None = None, kv_cache=None):
        if kv_cache is not None:
            raise ValueError("a soft-prompt model runs without a KV cache: generate(..., use_kv_cache=False)")
        prefix = self.prompt.expand(idx.shape[0], -1, -1)                          # (B, P, C)
        return self.gpt(idx, targets, padding_mask, prefix_embeds=prefix)
