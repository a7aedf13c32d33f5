"""The chat format: turns marked by special tokens, and a loss mask that trains only the answer.

A chat model reads a transcript. The course's tokenizer reserves four special tokens for it:

    <|user|> Write a story about a fox at the river. <|assistant|> One day, Mia went ... <|end|>
    ^role     ^prompt (the user's words)              ^role          ^response          ^end of turn

During supervised fine-tuning the model should learn to *answer*, not to write questions, so
the loss counts only the tokens the assistant produces: the response **and** ``<|end|>``. The
end token matters: it is how the model learns to stop. The role tokens and the prompt are
given, not predicted; padding is nothing at all. So every token gets a mask value:

    token:  <|user|>  Write ...  river.  <|assistant|>  One  day ...  <|end|>  <|pad|> ...
    mask:      0        0  ...    0         0            1    1  ...     1        0    ...

The mask is built *by token spans* while the ids are assembled: we know where each piece
starts because we append it ourselves. Searching the decoded text for "<|assistant|>"
afterwards is fragile (a template can tokenize differently in context, TRL #598, #1820).

**Shifting.** The model at position t predicts token t + 1, so targets are the ids shifted by
one and the mask shifts with them: the target at t is supervised when token t + 1 is an
assistant token. Targets that are not trained are -100, which ``F.cross_entropy`` ignores.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from course_lib.transformer.gpt import IGNORE_INDEX

USER, ASSISTANT, END, PAD = "<|user|>", "<|assistant|>", "<|end|>", "<|pad|>"
CHAT_TOKENS = (USER, ASSISTANT, END, PAD)


@dataclass(frozen=True)
class ChatExample:
    """One transcript as token ids, with 1 where a token is trained (the response and <|end|>)."""
    ids: list[int]
    mask: list[int]

    def __len__(self) -> int:
        return len(self.ids)


def chat_token_ids(tokenizer) -> dict[str, int]:
    """The ids of the four chat tokens in ``tokenizer``; a clear error if one is missing."""
    specials = getattr(tokenizer, "special_tokens", {})
    missing = [t for t in CHAT_TOKENS if t not in specials]
    if missing:
        raise ValueError(f"the tokenizer lacks the chat tokens {missing}; the course's pretrained tokenizer "
                         f"has them (course_lib.pretrained.load_pretrained)")
    return {t: specials[t] for t in CHAT_TOKENS}


def prompt_ids(tokenizer, prompt: str) -> list[int]:
    """What the model reads before it answers: <|user|> prompt <|assistant|>."""
    special = chat_token_ids(tokenizer)
    text = _check_text(prompt, "prompt")
    # allowed_special=False: a user who types "<|end|>" gets those characters, not the token.
    return [special[USER]] + tokenizer.encode(text, allowed_special=False) + [special[ASSISTANT]]


def build_chat_example(tokenizer, prompt: str, response: str, max_length: int | None = None) -> ChatExample:
    """The ids of <|user|> prompt <|assistant|> response <|end|>, and the mask of trained tokens.

    With ``max_length`` (the model's context), a transcript that does not fit is an error rather
    than silently cut: a cut answer would lose its <|end|> and teach the model not to stop.
    """
    special = chat_token_ids(tokenizer)
    asked = prompt_ids(tokenizer, prompt)                                     # not trained
    answer = tokenizer.encode(_check_text(response, "response"), allowed_special=False) + [special[END]]  # trained
    if max_length is not None:
        if len(asked) >= max_length:
            raise ValueError(f"the prompt takes {len(asked)} tokens with its role tokens, but the model reads at "
                             f"most {max_length}: shorten the prompt")
        if len(asked) + len(answer) > max_length:
            raise ValueError(f"prompt and response take {len(asked) + len(answer)} tokens, more than the "
                             f"model's {max_length}: the response would lose its end; shorten it")
    return ChatExample(ids=asked + answer, mask=[0] * len(asked) + [1] * len(answer))


def _check_text(text, name: str) -> str:
    if not isinstance(text, str):
        raise TypeError(f"{name}: expected a str, got {type(text).__name__}")
    if not text.strip():
        raise ValueError(f"{name}: expected some text, got an empty {name}")
    return text


def collate_chat(examples: list[ChatExample], pad_id: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-pad a list of examples into one batch for next-token training.

    Returns ``(inputs, targets, padding_mask)``, each (B, T) with T the longest example minus one:
    inputs are ids[:-1], targets are ids[1:] where the mask of ids[1:] is 1 and -100 elsewhere,
    and padding_mask is True on real tokens.
    """
    if not examples:
        raise ValueError("collate_chat: expected at least one example, got none")
    for i, example in enumerate(examples):
        if not isinstance(example, ChatExample):
            raise TypeError(f"examples[{i}]: expected a ChatExample (from build_chat_example), "
                            f"got {type(example).__name__}")
        if len(example) < 2:
            raise ValueError(f"examples[{i}] has {len(example)} token; a training pair needs at least 2")
    T = max(len(e) for e in examples) - 1
    B = len(examples)
    inputs = torch.full((B, T), pad_id, dtype=torch.long)           # (B, T)
    targets = torch.full((B, T), IGNORE_INDEX, dtype=torch.long)    # (B, T): -100 = not trained
    padding_mask = torch.zeros((B, T), dtype=torch.bool)            # (B, T): True on real tokens
    for row, example in enumerate(examples):
        ids = torch.tensor(example.ids)                              # (L,)
        mask = torch.tensor(example.mask, dtype=torch.bool)          # (L,)
        n = len(ids) - 1
        inputs[row, :n] = ids[:-1]
        padding_mask[row, :n] = True
        # The target at t is token t + 1; it is trained when token t + 1 is the assistant's.
        targets[row, :n] = torch.where(mask[1:], ids[1:], torch.tensor(IGNORE_INDEX))
    return inputs, targets, padding_mask


def render_mask(tokenizer, example: ChatExample) -> list[tuple[str, int]]:
    """Each token of ``example`` as (readable text, mask value): what the mask viewer colours."""
    return [(tokenizer.decode([i]).replace(" ", "␣"), m) for i, m in zip(example.ids, example.mask)]


class ChatBatches:
    """A data source for the Trainer: random batches of chat examples, right-padded.

    ``sample()`` returns ``(inputs, targets, padding_mask)``, which a GPT takes as
    ``model(inputs, targets, padding_mask)``. The loss is then the mean over the trained
    tokens of the batch (``F.cross_entropy`` ignores the -100 targets).
    """

    def __init__(self, examples: list[ChatExample], batch_size: int, pad_id: int, seed: int = 0):
        if not examples:
            raise ValueError("ChatBatches: expected at least one example, got none")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size: expected an int >= 1, got {batch_size!r}")
        self.examples, self.batch_size, self.pad_id = list(examples), batch_size, pad_id
        self.generator = torch.Generator().manual_seed(seed)

    def sample(self, generator: torch.Generator | None = None):
        rows = torch.randint(len(self.examples), (self.batch_size,), generator=generator or self.generator)
        return collate_chat([self.examples[i] for i in rows.tolist()], self.pad_id)

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
