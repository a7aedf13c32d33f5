"""course_lib.ngram: counts by hand, smoothing sums to one, perplexity from its definition."""
import math

import pytest
import torch

from course_lib import metrics, ngram
from course_lib.data import load_corpus
from course_lib.ngram import BOUNDARY, UNKNOWN, NgramModel

SENTENCES = [["the", "cat", "sat"], ["the", "dog", "sat", "down"], ["a", "cat", "ran"]]


def test_bigram_counts_wrap_each_sequence_and_never_cross_between_them():
    vocab = ngram.build_vocab(SENTENCES)
    assert vocab[:2] == [BOUNDARY, UNKNOWN] and vocab[2:] == sorted(vocab[2:])
    counts = ngram.bigram_counts(SENTENCES, vocab)
    i = {t: n for n, t in enumerate(vocab)}
    assert counts.dtype == torch.int64 and counts.shape == (len(vocab), len(vocab))
    assert counts.sum().item() == sum(len(s) + 1 for s in SENTENCES)  # m + 1 pairs per sentence
    assert counts[i[BOUNDARY], i["the"]] == 2 and counts[i[BOUNDARY], i["a"]] == 1
    assert counts[i["sat"], i[BOUNDARY]] == 1 and counts[i["sat"], i["down"]] == 1
    assert counts[i["sat"], i["the"]] == 0   # "sat" ends sentence 1; "the" starts sentence 2
    assert counts[i["down"], i["a"]] == 0
    # every sentence starts once and ends once
    assert counts[i[BOUNDARY]].sum() == len(SENTENCES) and counts[:, i[BOUNDARY]].sum() == len(SENTENCES)


def test_unknown_tokens_count_as_unk_or_are_rejected():
    counts = ngram.bigram_counts([["zebra"]], [BOUNDARY, UNKNOWN, "cat"])
    assert counts[0, 1] == 1 and counts[1, 0] == 1
    with pytest.raises(ValueError, match="not in the vocabulary"):
        ngram.bigram_counts([["zebra"]], [BOUNDARY, "cat"])


@pytest.mark.parametrize("k", [0.0, 0.01, 1.0, 5])
def test_smoothed_probabilities_follow_the_formula_and_sum_to_one(k):
    counts = torch.tensor([[3, 0, 1], [0, 0, 0], [2, 2, 2]])
    probs = ngram.smoothed_probabilities(counts, k)
    torch.testing.assert_close(probs.sum(-1), torch.ones(3, dtype=torch.float64))
    if k > 0:
        torch.testing.assert_close(probs[0], torch.tensor([3 + k, k, 1 + k], dtype=torch.float64) / (4 + 3 * k))
    else:
        torch.testing.assert_close(probs[0], torch.tensor([0.75, 0.0, 0.25], dtype=torch.float64))
    torch.testing.assert_close(probs[1], torch.full((3,), 1 / 3, dtype=torch.float64))  # no evidence: uniform


def test_bigram_model_agrees_with_the_count_matrix():
    k = 0.5
    model = NgramModel(n=2, k=k).fit(SENTENCES)
    matrix = ngram.smoothed_probabilities(ngram.bigram_counts(SENTENCES, model.vocab), k)
    for row, context in enumerate(model.vocab):
        torch.testing.assert_close(model.distribution([context]), matrix[row])
        for col, token in enumerate(model.vocab):
            assert model.prob(token, [context]) == pytest.approx(matrix[row, col].item())


@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize("k", [0.0, 0.1, 2.0])
def test_every_distribution_sums_to_one_over_the_vocabulary(n, k):
    model = NgramModel(n, k).fit(ngram.split_words(load_corpus("stories", n_stories=20)))
    contexts = [[], ["One"], ["One", "day,"], ["never", "seen", "words"], ["went", "to", "the"]]
    for context in contexts:
        dist = model.distribution(context)
        assert dist.shape == (len(model.vocab),)
        assert dist.sum().item() == pytest.approx(1.0)
        assert sum(model.prob(t, context) for t in model.vocab) == pytest.approx(1.0)


def test_counts_by_hand_for_a_trigram_model():
    model = NgramModel(n=3, k=0).fit(["a", "b", "a", "b", "c"])   # one sequence of tokens
    # padded: <s> <s> a b a b c <s>
    assert model.prob("a", []) == 1.0                      # after <s> <s> always "a"
    assert model.prob("b", ["a"]) == 1.0                   # after <s> a
    assert model.prob("a", ["a", "b"]) == pytest.approx(0.5)
    assert model.prob("c", ["a", "b"]) == pytest.approx(0.5)
    assert model.prob(BOUNDARY, ["b", "c"]) == 1.0
    assert model.prob("zebra", ["a", "b"]) == 0.0          # unknown, unsmoothed


def test_text_is_read_as_lines_of_characters():
    model = NgramModel(n=2, k=0).fit("ab\n\nab\n")
    assert model.vocab == [BOUNDARY, UNKNOWN, "a", "b"]
    assert model.prob("a", []) == 1.0 and model.prob(BOUNDARY, ["b"]) == 1.0


def test_perplexity_is_exp_of_the_mean_nll_over_tokens_and_ends():
    model = NgramModel(n=2, k=0.3).fit(SENTENCES)
    test = [["the", "cat", "ran"], ["a", "dog", "sat"]]
    log_probs = [math.log(model.prob(t, [p]))
                 for s in test for p, t in zip([BOUNDARY] + s, s + [BOUNDARY])]
    assert len(log_probs) == 8
    expected = math.exp(-sum(log_probs) / len(log_probs))
    assert model.perplexity(test) == pytest.approx(expected)
    assert model.perplexity(test) == pytest.approx(metrics.perplexity_from_log_probs(
        torch.cat([model.log_probs(s) for s in test])))


def test_a_uniform_model_has_perplexity_equal_to_the_vocabulary_size():
    # With an enormous k the counts no longer matter: every token gets 1/V.
    model = NgramModel(n=2, k=1e12).fit(SENTENCES)
    assert model.perplexity([["the", "dog", "ran", "zebra"]]) == pytest.approx(len(model.vocab), rel=1e-6)


def test_smoothing_makes_unseen_pairs_finite_and_more_data_helps():
    text = load_corpus("stories", n_stories=120)
    sequences = ngram.split_words(text)
    train, held_out = sequences[:100], sequences[100:]
    assert NgramModel(2, k=0).fit(train).perplexity(held_out) == math.inf  # some unseen word or pair
    smoothed = NgramModel(2, k=0.1).fit(train).perplexity(held_out)
    assert math.isfinite(smoothed) and smoothed < 20
    assert NgramModel(2, k=0.1).fit(train).perplexity(train) < smoothed   # training text is easier
    # a bigram model beats a unigram model on held-out text of this corpus
    assert smoothed < NgramModel(1, k=0.1).fit(train).perplexity(held_out)


def test_sampling_is_reproducible_and_follows_the_counts():
    model = NgramModel(n=2, k=0).fit(SENTENCES)
    first = model.sample(torch.Generator().manual_seed(3), max_tokens=50)
    again = model.sample(torch.Generator().manual_seed(3), max_tokens=50)
    assert first == again
    gen = torch.Generator().manual_seed(0)
    for _ in range(30):
        tokens = model.sample(gen, max_tokens=50)
        assert tokens[0] in ("the", "a")                     # only seen starts with k = 0
        for previous, following in zip(tokens, tokens[1:]):
            assert model.prob(following, [previous]) > 0     # only seen pairs
    assert len(model.sample(gen, max_tokens=2, prompt=["the"])) <= 2
    # sampled starts follow P(first word): "the" twice as often as "a"
    starts = [NgramModel(2, 0).fit(SENTENCES).sample(gen, 1)[0] for _ in range(600)]
    assert starts.count("the") / 600 == pytest.approx(2 / 3, abs=0.07)


@pytest.mark.parametrize("call, error, words", [
    (lambda: NgramModel(n=0), ValueError, "n:"),
    (lambda: NgramModel(n=2.0), ValueError, "n:"),
    (lambda: NgramModel(k=-1), ValueError, "k:"),
    (lambda: NgramModel(k=float("nan")), ValueError, "k:"),
    (lambda: NgramModel().fit(""), ValueError, "empty"),
    (lambda: NgramModel().fit([]), ValueError, "empty"),
    (lambda: NgramModel().fit([[], []]), ValueError, "empty"),
    (lambda: NgramModel().fit(["a", ["b"]]), TypeError, "mix"),
    (lambda: NgramModel().fit([["a", 3]]), TypeError, "str"),
    (lambda: NgramModel().fit([["a", BOUNDARY]]), ValueError, "reserved"),
    (lambda: NgramModel().fit(42), TypeError, "expected text"),
    (lambda: NgramModel().prob("a", []), ValueError, "not been fitted"),
    (lambda: NgramModel().fit(["a"]).prob("a", "a"), TypeError, "list of tokens"),
    (lambda: NgramModel().fit(["a"]).sample(max_tokens=-1), ValueError, "max_tokens"),
    (lambda: ngram.smoothed_probabilities(torch.tensor([[1, -1]]), 1.0), ValueError, ">= 0"),
    (lambda: ngram.split_words("   \n"), ValueError, "empty"),
])
def test_bad_input_gets_a_clear_error(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)
