"""Validation loss, sliding-window NLL and bits per byte, against cross-entropies written out by hand.

Oracles: ``F.cross_entropy`` of the whole sequence when it fits in the context; chunked scoring
for ``stride == context_length``; one forward pass per token with its full context for
``stride == 1``; and, for any stride, each token scored from exactly the context its window gives.
"""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from course_lib import scaling
from course_lib.evaluation.language_model import (
    TokenNLL,
    bits_per_byte,
    next_token_log_probs,
    sliding_window_nll,
    text_bits_per_byte,
    validation_loss,
    window_plan,
)
from course_lib.pretrained import END_OF_TEXT, corpus_documents, load_pretrained
from course_lib.transformer import GPT, GPTConfig

pytestmark = pytest.mark.usefixtures("one_thread")
V, T = 23, 8


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=V, context_length=T, n_layers=1, n_heads=2, d_model=16)).eval()


def token_ids(n: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, V, (n,), generator=torch.Generator().manual_seed(seed))


def nll_with_context(model, ids: torch.Tensor, t: int, begin: int) -> float:
    """-log p(ids[t] | ids[begin:t]): one token, scored from exactly that context."""
    with torch.no_grad():
        logits, _ = model(ids[None, begin:t])                                  # (1, t - begin, V)
    return -F.log_softmax(logits[0, -1].double(), dim=-1)[ids[t]].item()


def test_a_sequence_that_fits_is_its_cross_entropy(tiny):
    ids = token_ids(T + 1)
    with torch.no_grad():
        logits, _ = tiny(ids[None, :-1])
        expected = F.cross_entropy(logits[0], ids[1:], reduction="sum").item()
    result = sliding_window_nll(tiny, ids)
    assert result.tokens == T and result.nll == pytest.approx(expected, rel=1e-6)
    short = token_ids(5, seed=1)  # shorter than the context: one window
    with torch.no_grad():
        logits, _ = tiny(short[None, :-1])
    assert sliding_window_nll(tiny, short).nll == pytest.approx(F.cross_entropy(logits[0], short[1:], reduction="sum").item(), rel=1e-6)


def test_stride_equal_to_the_context_is_chunked_scoring(tiny):
    ids = token_ids(5 * T + 1)
    chunks = [F.cross_entropy(tiny(ids[None, j * T:(j + 1) * T])[0][0], ids[j * T + 1:(j + 1) * T + 1], reduction="sum")
              for j in range(5)]
    expected = sum(chunk.item() for chunk in chunks)
    assert sliding_window_nll(tiny, ids, stride=T).nll == pytest.approx(expected, rel=1e-6)
    assert validation_loss(tiny, ids, T, batch_size=2) == pytest.approx(expected / (5 * T), rel=1e-6)


def test_stride_one_gives_every_token_its_full_context(tiny):
    ids = token_ids(3 * T + 3, seed=2)
    expected = sum(nll_with_context(tiny, ids, t, max(0, t - T)) for t in range(1, len(ids)))
    result = sliding_window_nll(tiny, ids, stride=1, batch_size=5)
    assert result.tokens == len(ids) - 1 and result.nll == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("n, stride", [(30, 3), (31, 5), (17, 8), (9, 2), (40, 7)])
def test_every_token_is_scored_once_from_its_window(tiny, n, stride):
    ids = token_ids(n, seed=n)
    plan = window_plan(n, T, stride)
    scored, expected, done = [], 0.0, 0
    for begin, end in plan:
        assert end - begin == min(T, n - 1)                                    # no window is shorter than it could be
        for t in range(done + 1, end + 1):                                     # the targets new in this window
            assert t - begin >= min(t, T - stride + 1)                         # context of at least T - stride + 1
            expected += nll_with_context(tiny, ids, t, begin)
            scored.append(t)
        done = end
    assert scored == list(range(1, n))                                          # each target once, in order
    assert sliding_window_nll(tiny, ids, stride=stride, batch_size=3).nll == pytest.approx(expected, rel=1e-6)


def test_validation_loss_leaves_out_the_partial_window_and_matches_the_scaling_reexport(tiny):
    ids = token_ids(3 * T + 5)
    whole = sliding_window_nll(tiny, ids[: 3 * T + 1], stride=T).mean
    assert validation_loss(tiny, ids, T) == pytest.approx(whole, rel=1e-12)
    assert scaling.validation_loss is validation_loss                           # one implementation
    tiny.train()
    validation_loss(tiny, ids, T)
    assert tiny.training                                                        # the mode is restored
    tiny.eval()


def test_token_weighted_pooling():
    short, long = TokenNLL(nll=4.0, tokens=2), TokenNLL(nll=10.0, tokens=10)
    pooled = sum([short, long])
    assert pooled == TokenNLL(14.0, 12) and pooled.mean == pytest.approx(14 / 12)
    assert pooled.mean != pytest.approx((short.mean + long.mean) / 2)           # not the mean of the means
    assert pooled.perplexity == pytest.approx(math.exp(14 / 12))
    with pytest.raises(ValueError, match="no tokens"):
        _ = TokenNLL(0.0, 0).mean


def test_next_token_log_probs_are_the_shifted_log_softmax(tiny):
    ids = torch.stack([token_ids(6, seed=3), token_ids(6, seed=4)])             # (2, 6)
    with torch.no_grad():
        expected = -F.cross_entropy(tiny(ids[:, :-1])[0].transpose(1, 2), ids[:, 1:], reduction="none")
        got = next_token_log_probs(tiny, ids)
    assert got.shape == (2, 5)
    torch.testing.assert_close(got, expected)


def test_bits_per_byte_by_hand():
    assert bits_per_byte(8 * math.log(2), 8) == pytest.approx(1.0)              # 1 bit per byte
    assert bits_per_byte(TokenNLL(3 * math.log(2), 2), 6) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="n_bytes: expected an int >= 1"):
        bits_per_byte(1.0, 0)
    with pytest.raises(ValueError, match="summed negative log-likelihood >= 0"):
        bits_per_byte(-1.0, 3)


def test_the_shipped_model_gains_from_context_and_scores_in_bits_per_byte():
    model, tokenizer = load_pretrained()
    text = corpus_documents(12, seed=1)
    ids = tokenizer.encode(text)
    assert len(ids) > 4 * model.config.context_length
    chunked = sliding_window_nll(model, ids, stride=128)
    sliding = sliding_window_nll(model, ids, stride=32)
    assert chunked.tokens == sliding.tokens == len(ids) - 1
    assert sliding.mean < chunked.mean - 0.01                                   # more context, lower loss
    expected = chunked.nll / (math.log(2) * len(tokenizer.decode_bytes(ids[1:])))
    assert text_bits_per_byte(model, tokenizer, text) == pytest.approx(expected, rel=1e-9)
    # one story: far below the 8 bits of a byte chosen at random, above a model that is never unsure
    story = END_OF_TEXT + corpus_documents(1, seed=3)
    assert 0.05 < text_bits_per_byte(model, tokenizer, story) < 1.0


def test_bad_input_gets_a_clear_error(tiny):
    with pytest.raises(ValueError, match="stride=9 is larger than context_length=8"):
        sliding_window_nll(tiny, token_ids(20), stride=9)
    with pytest.raises(ValueError, match="stride: expected an int >= 1"):
        sliding_window_nll(tiny, token_ids(20), stride=0)
    with pytest.raises(ValueError, match="at least 2 tokens"):
        sliding_window_nll(tiny, [3])
    with pytest.raises(ValueError, match="1-D sequence of ids"):
        sliding_window_nll(tiny, torch.zeros(2, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="need more than context_length=8 tokens to score, got 8"):
        validation_loss(tiny, token_ids(8), 8)
    with pytest.raises(ValueError, match="context_length: the model has no config"):
        sliding_window_nll(torch.nn.Linear(2, 2), token_ids(5))
