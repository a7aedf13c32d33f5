"""BERT-style pretraining: the batches and the model, ready for the ``Trainer``.

BERT learns from two tasks at once (Devlin et al., 2018):

- **Masked language modelling (MLM)**: 15% of the ordinary tokens are chosen and hidden
  (see ``objectives.mask_tokens``); the model predicts them from both sides.
- **Next-sentence prediction (NSP)**: the input is two sentences, and the model says whether
  the second really followed the first (see ``objectives.next_sentence_pairs``).

One NSP input, padded to the context length T:

    tokens     [CLS] the cat sat . [SEP] it was happy . [SEP] [PAD] [PAD]
    segment      0    0   0   0  0   0    1  1    1   1   1     0     0
    padding      1    1   1   1  1   1    1  1    1   1   1     0     0     (1 = a real token)

The segment id tells every token which sentence it belongs to (a learned vector per segment is
added to the token and position vectors); the padding mask keeps attention away from [PAD].
The hidden state at [CLS] sums up the pair and feeds the NSP head.

Three pieces, each usable on its own:

- ``MaskedLMWindows``: MLM on windows of a token stream, batches ``(masked_ids, labels)`` for an
  ``Encoder`` (whose forward is ``(ids, targets)``);
- ``SentencePairBatches``: MLM + NSP batches of sentence pairs, five tensors;
- ``BertForPretraining``: the encoder with segment vectors, an MLM head and an NSP head.

Both data sources keep their randomness in their own ``torch.Generator`` and save it with
``state_dict``, so a checkpointed run resumes exactly.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.data.tokens import TokenWindows
from course_lib.objectives import IGNORE_INDEX, mask_tokens, next_sentence_pairs
from course_lib.tokenization.base import Tokenizer
from course_lib.transformer.config import GPTConfig
from course_lib.transformer.gpt import Encoder


def mask_every_row(ids: torch.Tensor, special_ids: Sequence[int], generator: torch.Generator | None,
                   **masking) -> tuple[torch.Tensor, torch.Tensor]:
    """``mask_tokens``, drawn again for any row in which no token was chosen.

    A row (and so possibly a whole micro-batch) with nothing to predict would give a loss of
    0 / 0 = nan. Drawing again until something is chosen changes the statistics very little
    (a row of 64 tokens has no chosen token with probability 0.85^64 ~ 3e-5).
    """
    inputs, labels = mask_tokens(ids, special_ids=special_ids, generator=generator, **masking)  # (B, T) each
    specials = torch.tensor(sorted(set(special_ids) | {masking["mask_id"]}), device=ids.device)
    can_choose = (~torch.isin(ids, specials)).any(dim=1)              # (B,) rows with an ordinary token
    empty = (labels == IGNORE_INDEX).all(dim=1) & can_choose          # (B,) rows with nothing chosen
    while empty.any():
        inputs[empty], labels[empty] = mask_tokens(ids[empty], special_ids=special_ids, generator=generator, **masking)
        empty = (labels == IGNORE_INDEX).all(dim=1) & can_choose
    return inputs, labels


# ----- MLM on windows of a token stream ----------------------------------------------------------
class MaskedLMWindows:
    """Batches ``(masked_ids, labels)`` (B, T) each: random windows of a token stream, masked BERT-style.

    ``labels`` holds the original token where one was chosen and -100 elsewhere, so an ``Encoder``
    trained with ``model(masked_ids, labels)`` learns to fill in the hidden tokens.
    """

    def __init__(self, tokens, context_length: int, batch_size: int, mask_id: int, vocab_size: int,
                 special_ids: Iterable[int] = (), seed: int = 0, mask_prob: float = 0.15,
                 device: torch.device | str = "cpu"):
        # The windows (and their generator) come from TokenWindows; masking draws from the same generator.
        self.windows = TokenWindows(tokens, context_length, batch_size, seed=seed, device=device)
        self.special_ids = sorted({int(i) for i in special_ids})
        self.masking = {"mask_id": mask_id, "vocab_size": vocab_size, "mask_prob": mask_prob}
        # Check the settings now, on a tiny example, rather than at the first batch.
        mask_tokens(torch.zeros(1, 1, dtype=torch.long), special_ids=self.special_ids, **self.masking)
        largest = int(self.windows.tokens.max())
        if largest >= vocab_size:
            raise ValueError(f"tokens: found id {largest}, expected ids below vocab_size={vocab_size}")

    @property
    def batch_size(self) -> int:
        return self.windows.batch_size

    @property
    def context_length(self) -> int:
        return self.windows.context_length

    def sample(self, batch_size: int | None = None, generator: torch.Generator | None = None):
        """One batch: masked ids (B, T) and labels (B, T), -100 where nothing is to be predicted."""
        generator = generator or self.windows.generator
        ids, _ = self.windows.sample(batch_size, generator=generator)  # (B, T); the shifted targets are not needed
        return mask_every_row(ids, self.special_ids, generator, **self.masking)

    def __iter__(self):
        return self

    def __next__(self):
        return self.sample()

    # The generator's state (kept by the windows) is all that changes as batches are drawn.
    def state_dict(self) -> dict:
        return {**self.windows.state_dict(), "masking": dict(self.masking), "special_ids": list(self.special_ids)}

    def load_state_dict(self, state: dict) -> None:
        check_same_settings(state, {"masking": self.masking, "special_ids": self.special_ids}, "windows")
        self.windows.load_state_dict(state)  # checks the windows' own settings, then sets the generator


# ----- MLM + NSP on pairs of sentences -----------------------------------------------------------
class SentencePairBatches:
    """Batches of ``[CLS] a [SEP] b [SEP]`` pairs for MLM and NSP at once.

    ``sample()`` returns five tensors:
    ``(ids, segment_ids, padding_mask, mlm_labels, nsp_labels)``, shaped (B, T), (B, T), (B, T),
    (B, T) and (B,). ``ids`` are already masked; ``nsp_labels`` is 1 where b really follows a.
    """

    def __init__(self, sentences: Sequence[str], tokenizer: Tokenizer, context_length: int, batch_size: int,
                 cls_id: int, sep_id: int, pad_id: int, mask_id: int, seed: int = 0, mask_prob: float = 0.15,
                 device: torch.device | str = "cpu"):
        for name, value in (("context_length", context_length), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected a positive int, got {value!r}")
        if context_length < 5:
            raise ValueError(f"context_length={context_length}: a pair needs at least 5 positions "
                             f"([CLS], a token of each sentence, two [SEP])")
        if not isinstance(tokenizer, Tokenizer):
            raise TypeError(f"tokenizer: expected a course_lib Tokenizer, got {type(tokenizer).__name__}")
        self.sentences = list(sentences)
        next_sentence_pairs(self.sentences, 1)  # checks the sentences (a list of >= 3 strings)
        self.context_length, self.batch_size = context_length, batch_size
        self.cls_id, self.sep_id, self.pad_id = cls_id, sep_id, pad_id
        # Every id with a job (and the tokenizer's own special tokens) is never masked.
        self.special_ids = sorted({cls_id, sep_id, pad_id, mask_id, *tokenizer.special_tokens.values()})
        self.masking = {"mask_id": mask_id, "vocab_size": tokenizer.vocab_size, "mask_prob": mask_prob}
        mask_tokens(torch.zeros(1, 1, dtype=torch.long), special_ids=self.special_ids, **self.masking)  # checks ids
        # Tokenize each distinct sentence once. allowed_special=False: a "[SEP]" written in the text
        # is text, never the separator.
        self.sentence_ids = {s: tokenizer.encode(s, allowed_special=False) for s in set(self.sentences)}
        empty = [s for s, ids in self.sentence_ids.items() if not ids]
        if empty:
            raise ValueError(f"sentences: {len(empty)} sentence(s) have no tokens, e.g. {empty[0]!r}")
        self.device = torch.device(device)
        self.generator = torch.Generator().manual_seed(seed)

    def sample(self, batch_size: int | None = None, generator: torch.Generator | None = None):
        """One batch of B pairs: ids, segment_ids, padding_mask, mlm_labels (B, T) and nsp_labels (B,)."""
        B, T = batch_size or self.batch_size, self.context_length
        generator = generator or self.generator
        ids = torch.full((B, T), self.pad_id, dtype=torch.long)         # (B, T) all [PAD] to start
        segment_ids = torch.zeros(B, T, dtype=torch.long)               # (B, T)
        padding_mask = torch.zeros(B, T, dtype=torch.bool)              # (B, T) True = real token
        pairs = next_sentence_pairs(self.sentences, B, generator=generator)
        for row, (first, second, _) in enumerate(pairs):
            a, b = truncate_pair(self.sentence_ids[first], self.sentence_ids[second], T - 3)
            tokens = [self.cls_id, *a, self.sep_id, *b, self.sep_id]
            n = len(tokens)
            ids[row, :n] = torch.tensor(tokens)
            segment_ids[row, len(a) + 2: n] = 1                         # b and its [SEP]
            padding_mask[row, :n] = True
        nsp_labels = torch.tensor([label for _, _, label in pairs])    # (B,)
        masked_ids, mlm_labels = mask_every_row(ids, self.special_ids, generator, **self.masking)  # (B, T) each
        batch = (masked_ids, segment_ids, padding_mask, mlm_labels, nsp_labels)
        return tuple(tensor.to(self.device) for tensor in batch)

    def __iter__(self):
        return self

    def __next__(self):
        return self.sample()

    def settings(self) -> dict:
        """What a saved state must agree on to be resumed here."""
        return {"context_length": self.context_length, "batch_size": self.batch_size,
                "n_sentences": len(self.sentences), "masking": self.masking}

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state(), **self.settings()}

    def load_state_dict(self, state: dict) -> None:
        check_same_settings(state, self.settings(), "batches")
        self.generator.set_state(state["generator"])


def check_same_settings(state: dict, settings: dict, what: str) -> None:
    """Refuse a saved data state made with other settings, naming the first that differs."""
    for key, mine in settings.items():
        if state.get(key) != mine:
            raise ValueError(f"data state is for {key}={state.get(key)!r}, these {what} have {key}={mine!r}")


def truncate_pair(a: list[int], b: list[int], max_tokens: int) -> tuple[list[int], list[int]]:
    """Shorten the longer of the two (from its end) until both fit in ``max_tokens`` together.

    Taking from the longer one keeps some of each sentence, which NSP needs (as BERT does).
    """
    a, b = list(a), list(b)
    while len(a) + len(b) > max_tokens:
        (a if len(a) >= len(b) else b).pop()
    return a, b


# ----- the model -----------------------------------------------------------------------------------
class BertForPretraining(nn.Module):
    """The bidirectional ``Encoder`` with segment vectors, a tied MLM head and an NSP head on [CLS].

    ``forward(ids, segment_ids=None, padding_mask=None, mlm_labels=None, nsp_labels=None)``
    returns ``((mlm_logits (B, T, V), nsp_logits (B, 2)), loss)``; the loss is the sum of the
    MLM and NSP losses whose labels were given (None if none were).
    """

    def __init__(self, config: GPTConfig):
        super().__init__()
        if not isinstance(config, GPTConfig):
            raise TypeError(f"expected a GPTConfig, got {type(config).__name__}")
        # The MLM head is tied to the token embedding: the encoder's output layer is that very matrix.
        self.encoder = Encoder(dataclasses.replace(config, tie_weights=True))
        self.config = self.encoder.config
        C, V = config.d_model, config.vocab_size
        self.segment_embedding = nn.Embedding(2, C)  # (2, C): one vector for sentence a, one for b
        nn.init.normal_(self.segment_embedding.weight, std=0.02)
        # MLM head: a small transform, then scores against every token's embedding (+ a bias per token).
        self.mlm_transform = nn.Sequential(nn.Linear(C, C), nn.GELU(), nn.LayerNorm(C))
        self.mlm_bias = nn.Parameter(torch.zeros(V))
        # NSP head on [CLS]: BERT's "pooler" (linear + tanh), then two scores (not next, is next).
        self.nsp_head = nn.Sequential(nn.Linear(C, C), nn.Tanh(), nn.Linear(C, 2))

    def features(self, ids: torch.Tensor, segment_ids: torch.Tensor | None = None,
                 padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        """The encoder's final hidden states (B, T, C), with the segment vectors added at the input."""
        encoder = self.encoder
        encoder._check_inputs(ids, padding_mask, None)  # shapes, id range, context length
        B, T = ids.shape
        if segment_ids is None:
            segment_ids = torch.zeros_like(ids)
        elif tuple(segment_ids.shape) != (B, T):
            raise ValueError(f"segment_ids: expected shape (B, T) = {(B, T)} like the ids, got {tuple(segment_ids.shape)}")
        x = encoder.token_embedding(ids) + self.segment_embedding(segment_ids)  # (B, T, C)
        if encoder.positions is not None:
            x = x + encoder.positions(T)                                         # (T, C) broadcasts
        x = encoder.dropout(x)
        for block in encoder.blocks:
            x = block(x, padding_mask)                                           # (B, T, C)
        return encoder.final_norm(x)                                             # (B, T, C)

    def forward(self, ids: torch.Tensor, segment_ids: torch.Tensor | None = None,
                padding_mask: torch.Tensor | None = None, mlm_labels: torch.Tensor | None = None,
                nsp_labels: torch.Tensor | None = None):
        hidden = self.features(ids, segment_ids, padding_mask)                  # (B, T, C)
        # encoder.lm_head's weight *is* the token embedding (V, C): tied.
        mlm_logits = self.encoder.lm_head(self.mlm_transform(hidden)) + self.mlm_bias  # (B, T, V)
        nsp_logits = self.nsp_head(hidden[:, 0])                                 # (B, 2) from [CLS]
        losses = []
        if mlm_labels is not None:
            losses.append(self.mlm_loss(mlm_logits, mlm_labels))
        if nsp_labels is not None:
            if tuple(nsp_labels.shape) != (ids.shape[0],):
                raise ValueError(f"nsp_labels: expected shape (B,) = ({ids.shape[0]},), got {tuple(nsp_labels.shape)}")
            losses.append(F.cross_entropy(nsp_logits, nsp_labels))
        loss = torch.stack(losses).sum() if losses else None
        return (mlm_logits, nsp_logits), loss

    @staticmethod
    def mlm_loss(mlm_logits: torch.Tensor, mlm_labels: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy over the chosen positions (labels not -100); 0 if none was chosen."""
        if mlm_labels.shape != mlm_logits.shape[:2]:
            raise ValueError(f"mlm_labels: expected shape (B, T) = {tuple(mlm_logits.shape[:2])}, "
                             f"got {tuple(mlm_labels.shape)}")
        V = mlm_logits.shape[-1]
        total = F.cross_entropy(mlm_logits.reshape(-1, V), mlm_labels.reshape(-1),
                                ignore_index=IGNORE_INDEX, reduction="sum")
        # Divide by the count ourselves, so that a batch with nothing chosen gives 0, not 0 / 0 = nan.
        n_chosen = (mlm_labels != IGNORE_INDEX).sum()
        return total / n_chosen.clamp_min(1)
