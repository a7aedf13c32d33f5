"""Token caching on disk, the train/validation split and random next-token windows."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from course_lib.data import stories
from course_lib.data.tokens import (
    TokenWindows,
    cached_tokens,
    split_tokens,
    tokens_dtype,
)
from course_lib.tokenization import CharTokenizer

TEXT = stories(20, seed=0)


@pytest.fixture(scope="module")
def tokenizer():
    return CharTokenizer().train(TEXT, vocab_size=300)


def test_cached_tokens_match_encode_and_are_compact(tmp_path, tokenizer):
    tokens = cached_tokens(TEXT, tokenizer, tmp_path)
    assert tokens.dtype == np.uint16 and tokens.ndim == 1
    assert tokens.tolist() == tokenizer.encode(TEXT)
    files = list(tmp_path.glob("*.npy"))
    assert len(files) == 1 and np.array_equal(np.load(files[0]), tokens)
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind
    assert tokens_dtype(70_000) == np.uint32


def test_cache_is_reused_and_rebuilt_when_the_text_changes(tmp_path, tokenizer, monkeypatch):
    calls = []
    encode = tokenizer.encode
    monkeypatch.setattr(tokenizer, "encode", lambda text: calls.append(text) or encode(text))
    first = cached_tokens(TEXT, tokenizer, tmp_path)
    again = cached_tokens(TEXT, tokenizer, tmp_path)
    assert len(calls) == 1 and np.array_equal(first, again)  # read back, not encoded again
    changed = cached_tokens(TEXT + "One more line.\n", tokenizer, tmp_path)
    assert len(calls) == 2
    assert changed.tolist() == tokenizer.encode(TEXT + "One more line.\n")
    assert len(list(tmp_path.glob("*.npy"))) == 2


def test_cache_is_rebuilt_for_another_tokenizer_and_after_corruption(tmp_path, tokenizer):
    small = CharTokenizer().train(TEXT, vocab_size=270)
    a = cached_tokens(TEXT, tokenizer, tmp_path)
    b = cached_tokens(TEXT, small, tmp_path)
    assert b.tolist() == small.encode(TEXT) and a.tolist() != b.tolist()
    for path in tmp_path.glob("*.npy"):
        path.write_bytes(b"not a numpy file")
    assert cached_tokens(TEXT, tokenizer, tmp_path).tolist() == tokenizer.encode(TEXT)


def test_split_is_contiguous():
    tokens = np.arange(100, dtype=np.uint16)
    train, val = split_tokens(tokens, val_fraction=0.1)
    assert train.tolist() == list(range(90)) and val.tolist() == list(range(90, 100))
    with pytest.raises(ValueError, match="val_fraction"):
        split_tokens(tokens, val_fraction=1.0)


def test_windows_targets_are_inputs_shifted_by_one_and_in_bounds():
    tokens = torch.arange(50)  # token i sits at position i: the window start is readable
    windows = TokenWindows(tokens, context_length=16, batch_size=400, seed=0)
    inputs, targets = windows.sample()
    assert inputs.shape == targets.shape == (400, 16)
    assert torch.equal(targets[:, :-1], inputs[:, 1:])
    assert torch.equal(targets[:, -1], inputs[:, -1] + 1)
    starts = inputs[:, 0]
    assert torch.equal(inputs, starts[:, None] + torch.arange(16))  # contiguous windows
    assert int(starts.min()) == 0 and int(targets.max()) == 49      # both ends are reachable
    assert int(starts.max()) == 50 - 16 - 1


def test_windows_repeatable_with_a_seed_and_resumable():
    tokens = np.random.default_rng(0).integers(0, 64, 500)
    a = TokenWindows(tokens, 8, 4, seed=3)
    b = TokenWindows(tokens, 8, 4, seed=3)
    for _ in range(3):
        assert all(torch.equal(x, y) for x, y in zip(next(a), next(b)))
    state = a.state_dict()
    expected = [next(a) for _ in range(2)]
    c = TokenWindows(tokens, 8, 4, seed=99)
    c.load_state_dict(state)
    assert all(torch.equal(x[0], y[0]) for x, y in zip(expected, [next(c) for _ in range(2)]))
    with pytest.raises(ValueError, match="context_length"):
        TokenWindows(tokens, 9, 4).load_state_dict(state)


def test_a_corpus_shorter_than_the_context_is_a_clear_error():
    with pytest.raises(ValueError, match="has 16 tokens, but one window needs context_length \\+ 1 = 17"):
        TokenWindows(torch.arange(16), context_length=16, batch_size=2)
    with pytest.raises(ValueError, match="1-D"):
        TokenWindows(torch.zeros(4, 4, dtype=torch.long), 2, 2)
    with pytest.raises(ValueError, match="batch_size"):
        TokenWindows(torch.arange(40), 4, 0)
