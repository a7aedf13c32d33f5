"""The n-gram language model: next-token prediction by counting.

A language model gives a probability to every possible next token, given the text so far.
The chain rule writes the probability of a whole sequence as a product of such steps:

    P(w1 ... wm) = P(w1) P(w2 | w1) P(w3 | w1 w2) ... P(wm | w1 ... wm-1)

An n-gram model makes the *Markov assumption*: only the last n - 1 tokens matter.
A bigram model (n = 2) uses P(w_t | w_t-1); a trigram model (n = 3) uses the last two.
Its probabilities are counts: of the times the context appeared, how often did each token
follow it?  Every sequence is wrapped in boundary tokens ``<s>``, so the model also learns
how sequences start (after ``<s>``) and when they end (``<s>`` comes next); pairs never
cross from one sequence into the next.

A token never seen after a context gets count 0 and so probability 0, and a single
unseen pair in a test text makes its probability 0 and its perplexity infinite.
*Add-k smoothing* pretends that every token of the vocabulary (V tokens) was seen k
extra times after every context:

    P(w | context) = (count(context, w) + k) / (count(context) + k * V)

Each row still sums to 1: the k * V in the denominator pays for the V extra k's on top.
Large language models replace the counting table by a neural network that reads a long
context, but they are trained for exactly this job: predict the next token.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Sequence

import torch

from course_lib.metrics import perplexity as perplexity_from_nll
from course_lib.validation import describe

BOUNDARY = "<s>"   # marks where a sequence starts and where it ends
UNKNOWN = "<unk>"  # stands for any token that never appeared in training


# ----------------------------------------------------------------------------- text -> sequences
def split_words(text: str) -> list[list[str]]:
    """One sequence per non-empty line, split at whitespace: ``" ".join`` puts it back together."""
    _check_text(text)
    return [line.split() for line in text.splitlines() if line.strip()]


def split_chars(text: str) -> list[list[str]]:
    """One sequence per non-empty line, one token per character."""
    _check_text(text)
    return [list(line) for line in text.splitlines() if line.strip()]


def _check_text(text) -> None:
    if not isinstance(text, str):
        raise TypeError(f"text: expected a str, got {describe(text)}")
    if not text.strip():
        raise ValueError("text: expected some text, got an empty string")


def to_sequences(data) -> list[list[str]]:
    """Accept the ways a corpus arrives and return a list of token sequences.

    - a ``str``: text; each non-empty line is a sequence of characters;
    - a list of ``str``: ONE sequence of tokens (e.g. ``"the cat sat".split()``);
    - a list of lists (or tuples) of ``str``: several sequences (e.g. ``split_words(text)``).
    """
    if isinstance(data, str):
        return split_chars(data)
    if not isinstance(data, (list, tuple)):
        raise TypeError(f"expected text (str), a list of tokens, or a list of token lists, got {describe(data)}")
    if len(data) == 0:
        raise ValueError("expected some tokens, got an empty list")
    if all(isinstance(item, str) for item in data):
        sequences = [list(data)]
    elif all(isinstance(item, (list, tuple)) for item in data):
        sequences = [list(item) for item in data]
    else:
        raise TypeError("expected a list of tokens (all str) or a list of token lists, got a mix")
    for sequence in sequences:
        for token in sequence:
            if not isinstance(token, str):
                raise TypeError(f"tokens must be str, got {describe(token)}")
            if token == BOUNDARY:
                raise ValueError(f"{BOUNDARY!r} is reserved for sequence boundaries; it cannot be a token")
    if not any(sequences):
        raise ValueError("expected some tokens, got only empty sequences")
    return sequences


def build_vocab(sequences: Sequence[Sequence[str]]) -> list[str]:
    """The vocabulary: ``[BOUNDARY, UNKNOWN]`` and then every distinct token, sorted."""
    tokens = {token for sequence in sequences for token in sequence} - {BOUNDARY, UNKNOWN}
    return [BOUNDARY, UNKNOWN] + sorted(tokens)


# ----------------------------------------------------------------------------- bigrams as a matrix
def bigram_counts(sequences: Sequence[Sequence[str]], vocab: Sequence[str]) -> torch.Tensor:
    """(V, V) int64: ``counts[i, j]`` = how often ``vocab[j]`` came right after ``vocab[i]``.

    Each sequence is wrapped as ``<s> w1 ... wm <s>``, so it adds m + 1 pairs; pairs never
    span two sequences. Tokens missing from ``vocab`` count as ``UNKNOWN`` if it is there.
    """
    index = {token: i for i, token in enumerate(vocab)}
    if BOUNDARY not in index:
        raise ValueError(f"vocab: expected the boundary token {BOUNDARY!r} in the vocabulary")
    counts = torch.zeros(len(vocab), len(vocab), dtype=torch.int64)
    for sequence in sequences:
        padded = [BOUNDARY, *sequence, BOUNDARY]
        ids = [_lookup(index, token) for token in padded]
        for previous, following in zip(ids, ids[1:]):  # m + 2 tokens make m + 1 neighbouring pairs
            counts[previous, following] += 1
    return counts


def _lookup(index: dict[str, int], token: str) -> int:
    if token in index:
        return index[token]
    if UNKNOWN in index:
        return index[UNKNOWN]
    raise ValueError(f"token {token!r} is not in the vocabulary (and {UNKNOWN!r} is not either)")


def smoothed_probabilities(counts: torch.Tensor, k: float) -> torch.Tensor:
    """Add-k smoothing of next-token counts (..., V) -> probabilities (..., V), float64.

    ``probs[..., j] = (counts[..., j] + k) / (counts[...].sum() + k * V)``; each row sums to 1.
    A row with no counts at all and k = 0 has no evidence either way: it gets 1/V everywhere.
    """
    _check_k(k)
    if not isinstance(counts, torch.Tensor) or counts.dim() < 1 or counts.shape[-1] == 0:
        raise ValueError(f"counts: expected a tensor of counts (..., V), got {describe(counts)}")
    if bool((counts < 0).any()):
        raise ValueError("counts: expected counts >= 0")
    counts = counts.to(torch.float64)
    V = counts.shape[-1]
    totals = counts.sum(dim=-1, keepdim=True)                      # (..., 1)
    probs = (counts + k) / (totals + k * V)
    return torch.where(totals + k * V > 0, probs, torch.full_like(probs, 1.0 / V))


def _check_k(k) -> None:
    if isinstance(k, bool) or not isinstance(k, (int, float)):
        raise TypeError(f"k: expected a number >= 0, got {describe(k)}")
    if not k >= 0 or math.isinf(k):
        raise ValueError(f"k: expected a finite number >= 0 (the smoothing count), got {k!r}")


# ----------------------------------------------------------------------------- the model
class NgramModel:
    """An n-gram language model with add-k smoothing.

    >>> model = NgramModel(n=2, k=0.1).fit(split_words("the cat sat\\nthe dog sat"))
    >>> round(model.prob("cat", ["the"]), 3)   # (1 + 0.1) / (2 + 0.1 * 6): "the" was seen twice, V = 6
    0.423
    """

    def __init__(self, n: int = 2, k: float = 1.0):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n: expected an int >= 1 (1 = unigram, 2 = bigram, ...), got {n!r}")
        _check_k(k)
        self.n, self.k = n, float(k)
        self.vocab: list[str] = []
        self.counts: dict[tuple[str, ...], Counter] = {}  # context (n-1 tokens) -> counts of the next token

    def fit(self, data) -> "NgramModel":
        """Count every n-gram in ``data`` (see ``to_sequences`` for the accepted forms)."""
        sequences = to_sequences(data)
        self.vocab = build_vocab(sequences)
        self.index = {token: i for i, token in enumerate(self.vocab)}
        counts: dict[tuple[str, ...], Counter] = defaultdict(Counter)
        for sequence in sequences:
            padded = [BOUNDARY] * (self.n - 1) + sequence + [BOUNDARY]
            for t in range(self.n - 1, len(padded)):
                counts[tuple(padded[t - self.n + 1:t])][padded[t]] += 1
        self.counts = dict(counts)
        self.totals = {context: sum(c.values()) for context, c in self.counts.items()}
        return self

    def _context(self, context: Sequence[str]) -> tuple[str, ...]:
        """The last n - 1 tokens of ``context``, padded with ``<s>`` on the left (a sequence start)."""
        if not self.vocab:
            raise ValueError("the model has not been fitted yet: call fit(...) first")
        if isinstance(context, str):
            raise TypeError(f"context: expected a list of tokens, got the str {context!r:.40} "
                            "(wrap one token in a list: [token])")
        context = list(context)
        recent = context[max(0, len(context) - self.n + 1):] if self.n > 1 else []
        recent = [token if token in self.index else UNKNOWN for token in recent]
        return tuple([BOUNDARY] * (self.n - 1 - len(recent)) + recent)

    def prob(self, token: str, context: Sequence[str] = ()) -> float:
        """P(token | context), with add-k smoothing; unseen tokens count as ``<unk>``."""
        context = self._context(context)
        token = token if token in self.index else UNKNOWN
        count = self.counts.get(context, {}).get(token, 0)
        total = self.totals.get(context, 0)
        V = len(self.vocab)
        if total + self.k * V == 0:
            return 1.0 / V  # never-seen context and no smoothing: no evidence either way
        return (count + self.k) / (total + self.k * V)

    def distribution(self, context: Sequence[str] = ()) -> torch.Tensor:
        """P(each vocabulary token | context): a (V,) float64 tensor that sums to 1."""
        context = self._context(context)
        row = torch.zeros(len(self.vocab), dtype=torch.float64)
        for token, count in self.counts.get(context, {}).items():
            row[self.index[token]] = count
        return smoothed_probabilities(row, self.k)

    def log_probs(self, sequence: Sequence[str]) -> torch.Tensor:
        """log P of each token of ``sequence`` and of the closing ``<s>`` (m + 1,), in nats."""
        padded = [BOUNDARY] * (self.n - 1) + list(sequence) + [BOUNDARY]
        probs = [self.prob(padded[t], padded[t - self.n + 1:t]) for t in range(self.n - 1, len(padded))]
        return torch.tensor(probs, dtype=torch.float64).log()  # log 0 = -inf for an impossible token

    def perplexity(self, data) -> float:
        """exp(mean negative log-probability per token) over every sequence in ``data``."""
        log_probs = torch.cat([self.log_probs(sequence) for sequence in to_sequences(data)])
        return perplexity_from_nll(-log_probs.mean().item())

    def sample(self, generator: torch.Generator | None = None, max_tokens: int = 100,
               prompt: Sequence[str] = ()) -> list[str]:
        """Generate tokens one at a time until ``<s>`` (the end) or ``max_tokens``; the prompt is not repeated."""
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 0:
            raise ValueError(f"max_tokens: expected an int >= 0, got {max_tokens!r}")
        history = [BOUNDARY] * (self.n - 1) + list(prompt)
        generated: list[str] = []
        for _ in range(max_tokens):
            probs = self.distribution(history)                                       # (V,)
            token = self.vocab[torch.multinomial(probs, 1, generator=generator).item()]
            if token == BOUNDARY:
                break
            generated.append(token)
            history.append(token)
        return generated
