"""Contamination: has the model seen the test set during training?

Benchmarks are published; training corpora are scraped from the web; so test items end up
in training data, and a model that has read the answers scores better without being better.
Two ways to look for it:

1. **n-gram overlap** (with the training data at hand). Cut each test text into word n-grams
   (the "shingles" of ``data/dedup.py``, after the same normalisation) and measure the
   fraction that also occur in the training data. GPT-3's paper flagged a test item when it
   shared a 13-gram with the training set. Templated text shares short n-grams by chance, so
   the fraction matters more than a single hit.
2. **Min-k % probability** (Shi et al. 2024, with only the model). A text the model has seen
   has few surprising tokens. Score each token's log-probability, keep the k % lowest (the
   most surprising ones) and average them: a higher score suggests the text was trained on.
   An unseen text can be easy too, so this separates seen from unseen only on average: its
   ROC-AUC between the two groups says how well.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from course_lib.data.dedup import check_documents, shingles
from course_lib.evaluation.inputs import check_int
from course_lib.evaluation.language_model import next_token_log_probs
from course_lib.evaluation.multiple_choice import MCItem
from course_lib.validation import describe


def leaked_text(item: MCItem) -> str:
    """An answerable item written out with its right answer: the text a leak puts into training data."""
    if not isinstance(item, MCItem) or not item.answerable:
        raise ValueError(f"item: expected an answerable MCItem, got {describe(item)}")
    return f"{item.context} {item.choices[item.answer]}."


# ----- 1. n-gram overlap ---------------------------------------------------------------------------
def training_ngrams(training_texts: Sequence[str], n: int = 13) -> set[str]:
    """Every word n-gram of the training texts (normalised as ``data.dedup.shingles``), as one set."""
    check_int(n, "n", 1)
    grams: set[str] = set()
    for text in check_documents(training_texts):
        grams |= shingles(text, n)
    return grams


def ngram_overlap(texts: Sequence[str], training: Sequence[str] | set[str], n: int = 13) -> list[float]:
    """For each text, the fraction of its word n-grams that occur in ``training``.

    ``training`` is the training texts, or the set ``training_ngrams`` made of them (build it
    once for a large corpus). 1.0: every n-gram of the text was in the training data.
    A text shorter than n words counts as one n-gram (all of it); an empty text scores 0.
    """
    texts = check_documents(texts)
    known = training if isinstance(training, (set, frozenset)) else training_ngrams(training, n)
    overlaps = []
    for text in texts:
        grams = shingles(text, n)
        overlaps.append(len(grams & known) / len(grams) if grams else 0.0)
    return overlaps


# ----- 2. min-k % token probability ---------------------------------------------------------------------
@torch.no_grad()
def min_k_percent_log_prob(model, tokenizer, text: str, k: float = 0.2, prefix: str = "") -> float:
    """The mean log-probability of the ``k`` fraction (at least one) of ``text``'s least likely tokens.

    ``prefix`` (e.g. "<|endoftext|>") comes before the text so that its first token is scored
    too. The text must fit in the model's context.
    """
    if not isinstance(text, str) or not text:
        raise ValueError(f"text: expected a non-empty str, got {describe(text)}")
    if isinstance(k, bool) or not isinstance(k, (int, float)) or not 0 < k <= 1:
        raise ValueError(f"k: expected the fraction of tokens to keep, in (0, 1], got {k!r}")
    prefix_ids = tokenizer.encode(prefix) if prefix else []
    ids = prefix_ids + tokenizer.encode(text)
    if len(ids) < 2:
        raise ValueError(f"text: needs at least 2 tokens (or a prefix) to score one, got {len(ids)}")
    if len(ids) > model.config.context_length + 1:
        raise ValueError(f"text: {len(ids)} tokens do not fit in the model's context of "
                         f"{model.config.context_length} (+1); score a shorter text")
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        log_probs = next_token_log_probs(model, torch.tensor([ids], device=device))[0].cpu()  # (len - 1,)
    finally:
        model.train(was_training)
    log_probs = log_probs[max(0, len(prefix_ids) - 1):]                        # the text's tokens only
    n_lowest = max(1, math.floor(k * len(log_probs)))
    return log_probs.double().sort().values[:n_lowest].mean().item()


def min_k_scores(model, tokenizer, texts: Sequence[str], k: float = 0.2, prefix: str = "") -> list[float]:
    """``min_k_percent_log_prob`` of each text."""
    return [min_k_percent_log_prob(model, tokenizer, text, k, prefix) for text in check_documents(texts)]
