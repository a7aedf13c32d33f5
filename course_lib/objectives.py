"""What a language model is trained to predict: the three classic pretraining objectives.

1. **Next-token prediction** (GPT). The target of position t is the token at t + 1, so the
   targets are the inputs shifted left by one. ``shift_for_next_token`` makes the pair and
   ``next_token_loss`` scores logits against them.
2. **Masked language modelling** (BERT). Hide some tokens and ask the model to fill them in
   from both sides. ``mask_tokens`` chooses 15% of the ordinary (non-special) tokens; of
   those, 80% become the mask token, 10% a random token and 10% stay as they are (so the
   model cannot learn "only [MASK] positions matter"). The loss counts the chosen positions
   only: every other target is -100, which the loss ignores.
3. **Next-sentence prediction** (BERT). ``next_sentence_pairs`` makes pairs of sentences: half
   of them a sentence and the one that really follows it (label 1), half a sentence and a
   randomly chosen other one (label 0).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100  # a target of -100 does not count in the loss (same value as the model's)


# ----- 1. next-token prediction ----------------------------------------------------------------
def shift_for_next_token(ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Split a batch of token sequences (B, T + 1) into inputs (B, T) and targets (B, T).

    ``targets[b, t] == ids[b, t + 1]``: each position predicts the token after it.
    """
    _check_ids(ids, "ids")
    if ids.shape[1] < 2:
        raise ValueError(f"ids: need at least 2 tokens per row to make one (input, target) pair, got shape {tuple(ids.shape)}")
    return ids[:, :-1], ids[:, 1:]  # (B, T), (B, T)


def next_token_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of logits (B, T, V) against targets (B, T); targets of -100 are skipped."""
    if not isinstance(logits, torch.Tensor) or logits.ndim != 3:
        raise ValueError(f"logits: expected a tensor of shape (B, T, V), got {_describe(logits)}")
    _check_ids(targets, "targets", allow_ignore=True)
    if targets.shape != logits.shape[:2]:
        raise ValueError(f"targets: expected shape {tuple(logits.shape[:2])} to match logits {tuple(logits.shape)}, "
                         f"got {tuple(targets.shape)}")
    if not (targets != IGNORE_INDEX).any():
        raise ValueError("targets: every target is -100, so there is nothing to score")
    V = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=IGNORE_INDEX)


# ----- 2. masked language modelling --------------------------------------------------------------
def mask_tokens(
    ids: torch.Tensor,
    *,
    mask_id: int,
    vocab_size: int,
    special_ids: Iterable[int] = (),
    mask_prob: float = 0.15,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking. Returns ``(inputs, labels)``, both shaped like ``ids`` (B, T).

    Each token that is not special (not in ``special_ids``, not ``mask_id``) is chosen with
    probability ``mask_prob``. A chosen token becomes ``mask_id`` (80%), a random ordinary
    token (10%) or stays itself (10%). ``labels`` holds the original token at chosen
    positions and -100 everywhere else, so the loss sees the chosen positions only.
    """
    _check_ids(ids, "ids")
    _check_int(vocab_size, "vocab_size", 1)
    _check_int(mask_id, "mask_id", 0)
    if mask_id >= vocab_size:
        raise ValueError(f"mask_id={mask_id} is not a token id: expected 0 <= mask_id < vocab_size={vocab_size}")
    if isinstance(mask_prob, bool) or not isinstance(mask_prob, (int, float)) or not 0.0 < mask_prob <= 1.0:
        raise ValueError(f"mask_prob: expected a probability in (0, 1], got {mask_prob!r}")
    if ids.numel() and int(ids.max()) >= vocab_size:
        raise ValueError(f"ids: found token {int(ids.max())}, expected ids below vocab_size={vocab_size}")
    special = sorted({int(i) for i in special_ids} | {mask_id})
    for i in special:
        if not 0 <= i < vocab_size:
            raise ValueError(f"special_ids: {i} is not a token id (expected 0 <= id < {vocab_size})")
    ordinary = torch.tensor([i for i in range(vocab_size) if i not in set(special)], dtype=torch.long)
    if len(ordinary) == 0:
        raise ValueError("every token id is special: there are no ordinary tokens to mask or draw")

    is_special = torch.isin(ids, torch.tensor(special, dtype=ids.dtype, device=ids.device))  # (B, T)
    # One uniform draw per position decides whether it is chosen, a second one what it becomes.
    # Drawing on the CPU with the given generator makes the result the same on every device.
    choose_draw = torch.rand(ids.shape, generator=generator).to(ids.device)   # (B, T)
    action_draw = torch.rand(ids.shape, generator=generator).to(ids.device)   # (B, T)
    random_pick = torch.randint(len(ordinary), ids.shape, generator=generator)  # (B, T) index into ordinary
    random_tokens = ordinary[random_pick].to(device=ids.device, dtype=ids.dtype)

    chosen = (choose_draw < mask_prob) & ~is_special                          # (B, T) bool
    to_mask = chosen & (action_draw < 0.8)                                    # 80% of chosen
    to_random = chosen & (action_draw >= 0.8) & (action_draw < 0.9)           # 10% of chosen
    # the remaining 10% of chosen positions keep their token but are still scored

    inputs = ids.clone()
    inputs[to_mask] = mask_id
    inputs[to_random] = random_tokens[to_random]
    labels = torch.full_like(ids, IGNORE_INDEX)
    labels[chosen] = ids[chosen]
    return inputs, labels


# ----- 3. next-sentence prediction ---------------------------------------------------------------
IS_NEXT, NOT_NEXT = 1, 0


def next_sentence_pairs(
    sentences: Sequence[str], n_pairs: int, generator: torch.Generator | None = None
) -> list[tuple[str, str, int]]:
    """``n_pairs`` triples ``(first, second, label)`` from consecutive ``sentences``.

    Exactly half (rounded down) are random pairs with label 0 (``NOT_NEXT``): the second
    sentence is any sentence other than the true next one. The rest are true pairs with
    label 1 (``IS_NEXT``): ``second`` is the sentence right after ``first``. The two kinds are
    shuffled together.
    """
    if isinstance(sentences, str) or not isinstance(sentences, Sequence):
        raise TypeError(f"sentences: expected a list of sentences in reading order, got {type(sentences).__name__}")
    for i, sentence in enumerate(sentences):
        if not isinstance(sentence, str):
            raise TypeError(f"sentences[{i}]: expected a str, got {type(sentence).__name__}")
    if len(sentences) < 3:
        raise ValueError(f"sentences: need at least 3 sentences (a pair and a different random one), got {len(sentences)}")
    _check_int(n_pairs, "n_pairs", 1)

    n_random = n_pairs // 2
    labels = torch.tensor([NOT_NEXT] * n_random + [IS_NEXT] * (n_pairs - n_random))
    labels = labels[torch.randperm(n_pairs, generator=generator)]              # shuffle the kinds
    n = len(sentences)
    pairs = []
    for label in labels.tolist():
        first = int(torch.randint(n - 1, (1,), generator=generator))             # has a next sentence
        if label == IS_NEXT:
            second = first + 1
        else:
            # Any index but first + 1: draw from n - 1 values and skip over first + 1.
            second = int(torch.randint(n - 1, (1,), generator=generator))
            if second >= first + 1:
                second += 1
        pairs.append((sentences[first], sentences[second], label))
    return pairs


# ----- input checks ------------------------------------------------------------------------------
def _describe(x) -> str:
    if isinstance(x, torch.Tensor):
        return f"a {x.dtype} tensor of shape {tuple(x.shape)}"
    return f"a {type(x).__name__}"


def _check_ids(ids, name: str, allow_ignore: bool = False) -> None:
    if not isinstance(ids, torch.Tensor) or ids.ndim != 2 or ids.dtype not in (torch.long, torch.int32, torch.int64):
        raise ValueError(f"{name}: expected an integer tensor of shape (B, T), got {_describe(ids)}")
    smallest = int(ids.min()) if ids.numel() else 0
    if smallest < 0 and not (allow_ignore and bool(((ids >= 0) | (ids == IGNORE_INDEX)).all())):
        raise ValueError(f"{name}: token ids must be >= 0{' (or -100 to skip)' if allow_ignore else ''}, found {smallest}")


def _check_int(value, name: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value!r}")
