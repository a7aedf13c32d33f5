"""Supervised fine-tuning (SFT): the pretraining loop, on chat transcripts with a loss mask.

Nothing new is needed to train: the ``Trainer`` of lesson 04 takes any data source whose
batches are tuples of tensors, and ``ChatBatches`` gives ``(inputs, targets, padding_mask)``
with -100 wherever nothing is trained. ``sft_trainer`` only wires them together, optionally
mixing pretraining text into every batch (*replay*, a cure for forgetting).

What we measure afterwards, on held-out instructions:

* **follow rate**: the share of answers that do what the prompt asked (``tasks.follows_instruction``);
* **stop rate**: the share of answers that end with ``<|end|>`` before the token limit;
* **diversity**: the share of distinct answers among samples; greedy decoding gives the same
  answer to the same prompt every time, sampling gives variety.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from course_lib.finetuning.chat import END, PAD, ChatBatches, build_chat_example, chat_token_ids, prompt_ids
from course_lib.finetuning.tasks import WriteExample, follows_instruction
from course_lib.training.trainer import Trainer, TrainerConfig
from course_lib.transformer.generation import generate


class ReplayBatches:
    """Chat batches with some rows replaced by windows of pretraining text (all trained, no padding).

    ``replay_rows`` of the ``batch_size`` rows are pretraining windows as long as the chat batch,
    so the model keeps practising what it knew while it learns the new task.
    """

    def __init__(self, chat: ChatBatches, pretraining_ids: torch.Tensor, replay_rows: int, seed: int = 0):
        if not 0 <= replay_rows < chat.batch_size:
            raise ValueError(f"replay_rows: expected 0 <= replay_rows < batch_size={chat.batch_size}, got {replay_rows}")
        self.chat, self.replay_rows = chat, replay_rows
        self.ids = torch.as_tensor(pretraining_ids, dtype=torch.long)   # (N,)
        self.batch_size = chat.batch_size
        self.generator = torch.Generator().manual_seed(seed)

    def sample(self, generator: torch.Generator | None = None):
        inputs, targets, padding_mask = self.chat.sample(generator)     # (B, T) each
        k, T = self.replay_rows, inputs.shape[1]
        if k:
            if len(self.ids) <= T + 1:
                raise ValueError(f"the pretraining text has {len(self.ids)} tokens, fewer than a window of {T + 1}")
            starts = torch.randint(len(self.ids) - T, (k,), generator=generator or self.generator)  # (k,)
            window = starts[:, None] + torch.arange(T)                                               # (k, T)
            inputs, targets, padding_mask = inputs.clone(), targets.clone(), padding_mask.clone()
            inputs[-k:], targets[-k:], padding_mask[-k:] = self.ids[window], self.ids[window + 1], True
        return inputs, targets, padding_mask

    def state_dict(self) -> dict:
        return {"chat": self.chat.state_dict(), "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.chat.load_state_dict(state["chat"])
        self.generator.set_state(state["generator"])


def chat_examples(tokenizer, pairs: list[WriteExample], context_length: int):
    """Chat examples (ids and masks) for a list of prompt-response pairs."""
    return [build_chat_example(tokenizer, p.prompt, p.response, max_length=context_length) for p in pairs]


def sft_trainer(model, tokenizer, pairs: list[WriteExample], config: TrainerConfig, batch_size: int = 16,
                seed: int = 0, replay_ids: torch.Tensor | None = None, replay_rows: int = 0,
                device: torch.device | str | None = None) -> Trainer:
    """A ``Trainer`` that fine-tunes ``model`` on ``pairs`` (only the parameters that require grad)."""
    examples = chat_examples(tokenizer, pairs, model.config.context_length)
    data = ChatBatches(examples, batch_size, pad_id=chat_token_ids(tokenizer)[PAD], seed=seed)
    if replay_rows:
        if replay_ids is None:
            raise ValueError("replay_rows > 0 needs replay_ids: the token ids of pretraining text")
        data = ReplayBatches(data, replay_ids, replay_rows, seed=seed + 1)
    return Trainer(model, data, config, device=device)


# ----- measuring what the model does -----------------------------------------------------------
@dataclass
class Answer:
    text: str          # the response, decoded, without the end token
    stopped: bool      # True if the model produced <|end|> within the token limit
    n_tokens: int      # tokens generated before <|end|> (or in all, when it never stopped)
    ids: list[int] = field(default_factory=list)   # those tokens' ids (without <|end|>)


@torch.no_grad()
def answer_prompts(model, tokenizer, prompts: list[str], max_new_tokens: int = 64, greedy: bool = True,
                   temperature: float = 1.0, seed: int = 0, use_kv_cache: bool = True) -> list[Answer]:
    """The model's answer to each prompt in the chat format, stopping at <|end|>.

    Prompts of the same token length are generated together (a batch needs equal lengths). A model
    without a KV cache of its own (a soft-prompt model) is run without one.
    """
    use_kv_cache = use_kv_cache and hasattr(model, "new_kv_cache")
    end = chat_token_ids(tokenizer)[END]
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(seed)
    encoded = [prompt_ids(tokenizer, p) for p in prompts]
    answers: list[Answer | None] = [None] * len(prompts)
    for length in sorted({len(ids) for ids in encoded}):
        rows = [i for i, ids in enumerate(encoded) if len(ids) == length]
        batch = torch.tensor([encoded[i] for i in rows], device=device)                # (b, length)
        out = generate(model, batch, max_new_tokens, greedy=greedy, temperature=temperature,
                       generator=generator, stop_token=end, use_kv_cache=use_kv_cache)   # (b, length + new)
        for row, new_ids in zip(rows, out[:, length:].tolist()):
            stopped = end in new_ids
            new_ids = new_ids[: new_ids.index(end)] if stopped else new_ids
            answers[row] = Answer(tokenizer.decode(new_ids), stopped, len(new_ids), new_ids)
    return answers  # type: ignore[return-value]


def instruction_metrics(examples: list[WriteExample], answers: list[Answer]) -> dict[str, float]:
    """Follow rate (all parts and each part), stop rate, mean length and the share of distinct answers."""
    if len(examples) != len(answers) or not answers:
        raise ValueError(f"expected one answer per example, got {len(answers)} answers for {len(examples)} examples")
    verdicts = [follows_instruction(e, a.text) for e, a in zip(examples, answers)]
    n = len(answers)
    return {
        "follow_rate": sum(v["all"] for v in verdicts) / n,
        "animal_rate": sum(v["animal"] for v in verdicts) / n,
        "place_rate": sum(v["place"] for v in verdicts) / n,
        "stop_rate": sum(a.stopped for a in answers) / n,
        "mean_tokens": sum(a.n_tokens for a in answers) / n,
        "distinct": len({a.text for a in answers}) / n,
    }


def evaluate_instructions(model, tokenizer, examples: list[WriteExample], max_new_tokens: int = 64,
                          greedy: bool = True, seed: int = 0, use_kv_cache: bool = True) -> dict[str, float]:
    """``instruction_metrics`` of the model's answers to ``examples``."""
    answers = answer_prompts(model, tokenizer, [e.prompt for e in examples], max_new_tokens, greedy=greedy,
                             seed=seed, use_kv_cache=use_kv_cache)
    return instruction_metrics(examples, answers)
