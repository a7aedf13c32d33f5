"""Validation loss, perplexity and bits per byte: how well a language model predicts held-out text.

The loss of a language model on a text is the mean negative log-likelihood (NLL) of its
tokens, each predicted from the tokens before it:

    loss = -(1/N) * sum_t log p(token_t | tokens before t)        perplexity = exp(loss)

Two rules make the number honest.

1. **Weight by tokens.** Over many texts, add up the NLL of every token and divide by the
   number of tokens. The mean of per-text losses (or of per-window perplexities) gives a
   short text as much say as a long one, and is a different number. ``TokenNLL`` keeps the sum
   and the count, so results of several texts add up correctly.
2. **Score every token once, with as much context as the model can take.** A model reads at
   most ``context_length`` tokens. A longer text is scored in windows. Cut into consecutive
   chunks, the first tokens of each chunk have almost no context and look hard. A **sliding
   window** moves by ``stride`` tokens, and each window scores only the tokens that no earlier
   window scored (the last ``stride`` of them), which now see at least
   ``context_length - stride`` tokens before them. ``stride == context_length`` is plain
   chunking; ``stride == 1`` gives every token the full context, at one forward pass per token.
   (The first token of a text has no context at all and is never scored.)

**Bits per byte.** A loss per token depends on the tokenizer: a tokenizer with longer tokens
has fewer, harder tokens. Dividing the total NLL by the number of UTF-8 bytes of the text (and
by ln 2 to turn nats into bits) gives a number that models with different tokenizers share.

Read in this order: ``next_token_log_probs``, ``TokenNLL``, ``sliding_window_nll``,
``validation_loss`` (the course's validation loss: the trainer-based scaling sweep and the
pretrained model's card use it), ``bits_per_byte`` and ``text_bits_per_byte``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from course_lib.evaluation.inputs import check_int
from course_lib.metrics import perplexity
from course_lib.validation import describe


# ----- 1. the log-probability of each next token ---------------------------------------------------
def logits_of(model, ids: torch.Tensor) -> torch.Tensor:
    """The logits (B, T, V) of ``model`` on ``ids`` (B, T); the course's models return ``(logits, loss)``."""
    output = model(ids)
    logits = output[0] if isinstance(output, (tuple, list)) else output
    if not isinstance(logits, torch.Tensor) or logits.shape[:2] != ids.shape or logits.ndim != 3:
        raise TypeError(f"the model should return logits of shape (B, T, V) = ({ids.shape[0]}, {ids.shape[1]}, V) "
                        f"(or a tuple starting with them), got {describe(logits)}")
    return logits


def next_token_log_probs(model, ids: torch.Tensor) -> torch.Tensor:
    """(B, T - 1) float32: ``out[b, t] = log p(ids[b, t + 1] | ids[b, :t + 1])``.

    Right padding is harmless: in a causal model a position never sees the positions after it,
    so the entries of the real tokens do not depend on what follows them.
    """
    if not isinstance(ids, torch.Tensor) or ids.ndim != 2 or ids.is_floating_point() or ids.shape[1] < 2:
        raise ValueError(f"ids: expected integer token ids of shape (B, T) with T >= 2, got {describe(ids)}")
    log_probs = F.log_softmax(logits_of(model, ids[:, :-1]).float(), dim=-1)   # (B, T - 1, V)
    return log_probs.gather(-1, ids[:, 1:, None]).squeeze(-1)                   # (B, T - 1)


# ----- 2. sums that add up --------------------------------------------------------------------------
@dataclass(frozen=True)
class TokenNLL:
    """The negative log-likelihood of some tokens, summed (nats), and how many tokens.

    ``a + b`` pools two results, so the mean of the pool weights every token the same.
    """

    nll: float
    tokens: int

    def __add__(self, other: TokenNLL) -> TokenNLL:
        if not isinstance(other, TokenNLL):
            return NotImplemented
        return TokenNLL(self.nll + other.nll, self.tokens + other.tokens)

    def __radd__(self, other):  # so that sum(results) works: sum starts from 0
        return self if other == 0 else NotImplemented

    @property
    def mean(self) -> float:
        """The loss: mean NLL per token, in nats."""
        if self.tokens == 0:
            raise ValueError("no tokens were scored, so there is no mean")
        return self.nll / self.tokens

    @property
    def perplexity(self) -> float:
        return perplexity(self.mean)


# ----- 3. texts longer than the context: the sliding window ------------------------------------------
def window_plan(n_tokens: int, context_length: int, stride: int) -> list[tuple[int, int]]:
    """The windows that score tokens 1 .. n_tokens - 1 once each: a list of (begin, end).

    A window reads tokens ``begin .. end - 1`` and predicts tokens ``begin + 1 .. end``; it
    scores only the targets after the previous window's ``end``. Windows end at
    ``context_length``, then every ``stride`` tokens, and the last one at the end of the text.
    Each window is as long as the context allows (``begin = max(0, end - context_length)``),
    so even the last one gives its new tokens the full context.
    """
    ends = list(range(min(context_length, n_tokens - 1), n_tokens - 1, stride)) + [n_tokens - 1]
    ends = sorted(set(ends))
    return [(max(0, end - context_length), end) for end in ends]


@torch.no_grad()
def sliding_window_nll(model, tokens, context_length: int | None = None, stride: int | None = None,
                       batch_size: int = 32) -> TokenNLL:
    """The summed NLL of tokens 1 .. N - 1 of ``tokens`` (ids, a list or a 1-D tensor), each scored once.

    ``context_length`` defaults to the model's (``model.config.context_length``); ``stride``
    to ``context_length`` (plain chunking). Windows are scored ``batch_size`` at a time. The
    model's train/eval mode is restored afterwards.
    """
    tokens = torch.as_tensor(tokens, dtype=torch.long)                          # (N,)
    if tokens.ndim != 1:
        raise ValueError(f"tokens: expected a 1-D sequence of ids (one text), got shape {tuple(tokens.shape)}")
    if context_length is None:
        context_length = getattr(getattr(model, "config", None), "context_length", None)
        if context_length is None:
            raise ValueError("context_length: the model has no config.context_length; pass it")
    T = check_int(context_length, "context_length", 1)
    stride = T if stride is None else check_int(stride, "stride", 1)
    if stride > T:
        raise ValueError(f"stride={stride} is larger than context_length={T}: the tokens between two windows "
                         f"would never be scored; use a stride from 1 to {T}")
    check_int(batch_size, "batch_size", 1)
    N = len(tokens)
    if N < 2:
        raise ValueError(f"tokens: need at least 2 tokens (the first one is only context), got {N}")
    plan = window_plan(N, T, stride)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total = torch.zeros((), dtype=torch.float64)
    scored_until = 0                                                            # targets 1 .. scored_until done
    try:
        for i in range(0, len(plan), batch_size):
            batch = plan[i:i + batch_size]
            length = batch[0][1] - batch[0][0]                                  # every window has this length
            starts = torch.tensor([begin for begin, _ in batch])                # (b,)
            ids = tokens[starts[:, None] + torch.arange(length + 1)]            # (b, length + 1) inputs + last target
            log_probs = next_token_log_probs(model, ids.to(device)).double().cpu()  # (b, length) targets begin+1..end
            for row, (begin, end) in enumerate(batch):
                n_new = end - scored_until                                      # the targets no window scored yet
                total -= log_probs[row, length - n_new:].sum()
                scored_until = end
    finally:
        model.train(was_training)
    return TokenNLL(total.item(), N - 1)


def validation_loss(model, tokens, context_length: int, batch_size: int = 64) -> float:
    """Mean next-token loss (nats) of ``tokens`` (ids, a list or a tensor) cut into consecutive windows.

    The tokens are cut into ``(N - 1) // context_length`` whole windows of ``context_length``
    inputs, each token scored once; the few tokens after the last whole window (fewer than
    ``context_length``) are left out, so every scored token is in a window of the same shape.
    This is ``sliding_window_nll`` with ``stride == context_length``; the trainer-based scaling
    sweep and the pretrained model's card report this number.
    """
    context_length = check_int(context_length, "context_length", 1)
    tokens = torch.as_tensor(tokens, dtype=torch.long)                          # (N,)
    n_windows = (len(tokens) - 1) // context_length
    if n_windows < 1:
        raise ValueError(f"need more than context_length={context_length} tokens to score, got {len(tokens)}")
    whole = tokens[: n_windows * context_length + 1]                           # inputs and targets of whole windows
    return sliding_window_nll(model, whole, context_length, context_length, batch_size).mean


# ----- 4. bits per byte ---------------------------------------------------------------------------
def bits_per_byte(nll: TokenNLL | float, n_bytes: int) -> float:
    """Total NLL (nats; a ``TokenNLL`` or a number) over ``n_bytes`` bytes of text, in bits per byte."""
    total = nll.nll if isinstance(nll, TokenNLL) else nll
    if isinstance(total, bool) or not isinstance(total, (int, float)) or not total >= 0:
        raise ValueError(f"nll: expected a summed negative log-likelihood >= 0 (nats), got {total!r}")
    check_int(n_bytes, "n_bytes", 1)
    return total / (n_bytes * math.log(2))


def text_bits_per_byte(model, tokenizer, text: str, stride: int | None = None) -> float:
    """Bits per byte of ``text``: its sliding-window NLL over the bytes of the tokens that were scored.

    The first token is only context (nothing comes before it), so its bytes are not counted either.
    """
    if not isinstance(text, str):
        raise TypeError(f"text: expected a str, got {describe(text)}")
    ids = tokenizer.encode(text)
    if len(ids) < 2:
        raise ValueError(f"text: needs at least 2 tokens to score one, got {len(ids)} ({text!r:.40})")
    nll = sliding_window_nll(model, ids, stride=stride)
    return bits_per_byte(nll, len(tokenizer.decode_bytes(ids[1:])))
