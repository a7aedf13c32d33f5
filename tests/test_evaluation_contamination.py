"""Contamination detectors: n-gram overlap against a brute-force count, min-k % against sorted log-probs,
and both on a benchmark partly leaked into a short fine-tune of the shipped model."""
from __future__ import annotations

import copy

import pytest
import torch

from course_lib.data.dedup import normalize
from course_lib.evaluation.benchmarks import story_mc
from course_lib.evaluation.classification import roc_auc
from course_lib.evaluation.contamination import (
    leaked_text,
    min_k_percent_log_prob,
    min_k_scores,
    ngram_overlap,
    training_ngrams,
)
from course_lib.evaluation.language_model import next_token_log_probs, sliding_window_nll
from course_lib.evaluation.multiple_choice import MCItem
from course_lib.pretrained import END_OF_TEXT, load_pretrained

pytestmark = pytest.mark.usefixtures("one_thread")


def word_ngrams(text: str, n: int) -> list[tuple[str, ...]]:
    words = normalize(text).split()
    return [tuple(words[i:i + n]) for i in range(len(words) - n + 1)] if len(words) >= n else [tuple(words)]


def test_ngram_overlap_against_a_brute_force_count():
    training = ["One day, Mia went to the park with a fox.", "It was sunny and the dog was happy."]
    texts = ["one day mia went to THE PARK!", "It was sunny and the cat was happy.", "Leo", ""]
    known = {gram for text in training for gram in word_ngrams(text, 3)}
    for text, overlap in zip(texts[:3], ngram_overlap(texts, training, n=3)):
        grams = set(word_ngrams(text, 3))
        assert overlap == pytest.approx(len(grams & known) / len(grams))
    assert ngram_overlap(texts, training, n=3)[0] == 1.0                        # case and punctuation do not matter
    assert ngram_overlap(texts, training, n=3)[3] == 0.0                        # an empty text has no n-grams
    assert ngram_overlap(texts, training_ngrams(training, 3), n=3) == ngram_overlap(texts, training, n=3)


def test_min_k_is_the_mean_of_the_lowest_token_log_probs():
    model, tokenizer = load_pretrained()
    text = "One day, Mia went to the park with a fox. The fox liked a shiny key."
    ids = tokenizer.encode(END_OF_TEXT + text)
    with torch.no_grad():
        log_probs = next_token_log_probs(model, torch.tensor([ids]))[0].double()  # every text token, the first too
    lowest = log_probs.sort().values
    assert min_k_percent_log_prob(model, tokenizer, text, k=0.2, prefix=END_OF_TEXT) == pytest.approx(
        lowest[:int(0.2 * len(lowest))].mean().item(), abs=1e-5)
    assert min_k_percent_log_prob(model, tokenizer, text, k=0.01, prefix=END_OF_TEXT) == pytest.approx(
        lowest[0].item(), abs=1e-5)                                             # at least one token: the least likely
    whole = sliding_window_nll(model, ids)
    assert min_k_percent_log_prob(model, tokenizer, text, k=1.0, prefix=END_OF_TEXT) == pytest.approx(
        -whole.mean, abs=1e-5)                                                  # k = 100 %: the mean log-prob
    with pytest.raises(ValueError, match=r"k: expected the fraction of tokens to keep, in \(0, 1\], got 20"):
        min_k_percent_log_prob(model, tokenizer, text, k=20)
    with pytest.raises(ValueError, match="do not fit in the model's context"):
        min_k_percent_log_prob(model, tokenizer, text * 10)


def test_a_leak_into_a_fine_tune_raises_scores_and_both_detectors_see_it():
    model, tokenizer = load_pretrained()
    model = copy.deepcopy(model)
    items = [item for item in story_mc("test", per_kind=8) if item.answerable][:20]
    leaked, clean = items[::2], items[1::2]
    # n-gram overlap with the fine-tuning data: complete for the leaked items, partial for the clean ones
    leak_texts = [leaked_text(item) for item in leaked]
    overlaps = ngram_overlap([leaked_text(item) for item in items], leak_texts, n=13)
    assert all(o == 1.0 for o in overlaps[::2]) and all(o < 0.5 for o in overlaps[1::2])
    # a short fine-tune on the leaked texts, as a careless data pipeline would do
    rows = [tokenizer.encode(END_OF_TEXT + text) for text in leak_texts]
    pad = tokenizer.special_tokens["<|pad|>"]
    length = max(map(len, rows))
    ids = torch.tensor([row + [pad] * (length - len(row)) for row in rows])    # (10, L)
    targets = ids.masked_fill(ids == pad, -100)
    before = min_k_scores(model, tokenizer, leak_texts + [leaked_text(i) for i in clean], prefix=END_OF_TEXT)
    torch.manual_seed(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(12):
        _, loss = model(ids[:, :-1], targets[:, 1:])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    after = min_k_scores(model, tokenizer, leak_texts + [leaked_text(i) for i in clean], prefix=END_OF_TEXT)
    is_leaked = [1] * 10 + [0] * 10
    assert roc_auc(after, is_leaked) > 0.8 and roc_auc(after, is_leaked) > roc_auc(before, is_leaked) + 0.2


def test_leaked_text_needs_an_answer():
    item = MCItem("The fox liked", ("a ball", "a kite"), 1)
    assert leaked_text(item) == "The fox liked a kite."
    with pytest.raises(ValueError, match="answerable MCItem"):
        leaked_text(MCItem("The fox liked", ("a ball", "a kite"), None))
