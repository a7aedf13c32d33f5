"""Rollouts: the policy answers prompts, and the answers become a batch to score or train on.

Every preference method starts by sampling. During RL the sampling is *plain*: temperature 1, no
top-k, no top-p. The algorithms compare the probabilities the policy gives to what it sampled;
a sampler that cuts the distribution draws tokens from a different distribution than the one
they are scored with, and the KL estimate can turn negative (trl #736).

A rollout keeps the ids of its prompt and of its response (with ``<|end|>`` when the model
stopped), so it can be scored again by any model in one forward pass: the batch is the chat
format of lesson 05, with the response as the only trained part.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from course_lib.finetuning.chat import END, PAD, ChatExample, chat_token_ids, collate_chat, prompt_ids
from course_lib.finetuning.sft import answer_prompts
from course_lib.finetuning.tasks import WriteExample


@dataclass(frozen=True)
class Rollout:
    example: WriteExample       # the instruction (and what the hidden judge knows about it)
    prompt_ids: list[int]       # <|user|> prompt <|assistant|>
    response_ids: list[int]     # the sampled tokens, with <|end|> last when the model stopped
    text: str                   # the response, decoded, without <|end|>
    stopped: bool


def sample_rollouts(policy, tokenizer, examples: list[WriteExample], per_prompt: int = 1,
                    max_new_tokens: int = 64, temperature: float = 1.0, seed: int = 0) -> list[Rollout]:
    """``per_prompt`` answers to each example, sampled with plain sampling; grouped by prompt.

    The result lists the answers to ``examples[0]`` first (``per_prompt`` of them), then to
    ``examples[1]``, and so on: contiguous groups, as ``grpo.group_advantages`` expects.
    """
    if isinstance(per_prompt, bool) or not isinstance(per_prompt, int) or per_prompt < 1:
        raise ValueError(f"per_prompt: expected an int >= 1, got {per_prompt!r}")
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise ValueError(f"max_new_tokens: expected an int >= 1, got {max_new_tokens!r}")
    end = chat_token_ids(tokenizer)[END]
    repeated = [e for e in examples for _ in range(per_prompt)]
    answers = answer_prompts(policy, tokenizer, [e.prompt for e in repeated], max_new_tokens, greedy=False,
                             temperature=temperature, seed=seed)
    return [Rollout(e, prompt_ids(tokenizer, e.prompt), a.ids + ([end] if a.stopped else []), a.text, a.stopped)
            for e, a in zip(repeated, answers)]


def rollout_batch(rollouts: list[Rollout], pad_id: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(inputs, targets, padding_mask)`` (B, T) for next-token scoring; targets are -100 off the responses."""
    for i, r in enumerate(rollouts):
        if not r.response_ids:
            raise ValueError(f"rollouts[{i}] has an empty response: nothing to score")
    return collate_chat([ChatExample(r.prompt_ids + r.response_ids, [0] * len(r.prompt_ids) + [1] * len(r.response_ids))
                         for r in rollouts], pad_id)


def transcript_batch(rollouts: list[Rollout], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Whole transcripts, right-padded, for a reward model: ids (B, T) and padding mask (B, T)."""
    sequences = [r.prompt_ids + r.response_ids for r in rollouts]
    if not sequences:
        raise ValueError("transcript_batch: expected at least one rollout")
    T = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), T), pad_id, dtype=torch.long)
    padding_mask = torch.zeros((len(sequences), T), dtype=torch.bool)
    for row, s in enumerate(sequences):
        ids[row, :len(s)], padding_mask[row, :len(s)] = torch.tensor(s), True
    return ids, padding_mask


def pad_id_of(tokenizer) -> int:
    return chat_token_ids(tokenizer)[PAD]
