"""Streaming encode: the same ids as encoding the whole text, in memory that does not grow.

Oracle: ``tokenizer.encode`` on the joined text. Memory is measured with tracemalloc while a
generated file of a few MB is encoded line by line.
"""
from __future__ import annotations

import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from course_lib.data import python_docs, stories
from course_lib.tokenization import BPETokenizer, CharTokenizer, encode_stream

EOT = "<|endoftext|>"
# Whitespace around line breaks, repeated so that merges such as " \n", "\n\n" and "\n  " are
# learned: an unsafe cut shows up only when a merge spans the place where it cut.
AWKWARD = "a \nb\n\nc  \n  d.\n\n e\r\n f\n\t g \n\n\n h\n \n"
CORPUS = stories(100, seed=7) + python_docs()[:20_000] + AWKWARD * 50


@pytest.fixture(scope="module")
def tokenizers():
    return {
        "gpt2": BPETokenizer("gpt2").train(CORPUS, 500, special_tokens=[EOT]),
        "gpt4": BPETokenizer("gpt4").train(CORPUS, 500, special_tokens=[EOT]),
        "char": CharTokenizer().train(CORPUS, 300, special_tokens=[EOT]),
    }


# Text made of what makes cutting hard: newlines next to spaces, punctuation, contractions,
# digits, special tokens, and long enough lines that some cuts do happen.
PIECES = st.sampled_from(["\n", "\n\n", " \n", "\n ", "  ", " ", "\t", "\r\n", ".", "!\n", "'s", "'ll", "'",
                          "123", "4567", "word", " word", "Ünï", "日本", "😀", EOT, "<|", "|>", "x"])
TEXTS = st.lists(PIECES, max_size=60).map("".join)


def split_into_lines(text: str, cut_points: list[int]) -> list[str]:
    """Lines as a file would give them, then cut again at arbitrary points."""
    lines = text.splitlines(keepends=True)
    chunks = []
    for line in lines:
        points = sorted({p % (len(line) + 1) for p in cut_points})
        starts = [0, *points]
        chunks.extend(line[a:b] for a, b in zip(starts, [*points, len(line)]))
    return chunks


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXTS | st.text(max_size=80), cut_points=st.lists(st.integers(0, 50), max_size=3))
def test_stream_gives_exactly_the_ids_of_encode(tokenizers, text, cut_points):
    lines = split_into_lines(text, cut_points)
    assert "".join(lines) == text
    for tokenizer in tokenizers.values():
        assert list(tokenizer.encode_stream(lines)) == tokenizer.encode(text)
        assert list(encode_stream(tokenizer, iter(lines), allowed_special=False)) == tokenizer.encode(
            text, allowed_special=False
        )


def test_stream_on_real_text_cuts_often(tokenizers):
    text = stories(50, seed=8) + python_docs()[:30_000]
    for tokenizer in tokenizers.values():
        chunk_lengths = []
        original_encode = tokenizer.encode

        def spy(chunk, allowed_special=True, original_encode=original_encode):
            chunk_lengths.append(len(chunk))
            return original_encode(chunk, allowed_special)

        tokenizer.encode = spy  # an instance attribute shadows the method for this test only
        try:
            ids = list(tokenizer.encode_stream(text.splitlines(keepends=True)))
        finally:
            del tokenizer.encode
        assert ids == tokenizer.encode(text)
        assert len(chunk_lengths) > 50 and max(chunk_lengths) < 5_000


def test_streaming_a_large_file_uses_bounded_memory(tokenizers, tmp_path):
    path = tmp_path / "large.txt"
    with open(path, "w", encoding="utf-8") as file:
        for seed in range(40):  # ~3.4 MB, written in parts so the test never holds it all
            file.write(stories(250, seed=seed))
    size = path.stat().st_size
    assert size > 3_000_000
    tokenizer = tokenizers["gpt4"]
    tokenizer.encode_stream(["warm the cache"]).__next__()

    tracemalloc.start()
    try:
        with open(path, encoding="utf-8") as file:
            count, total = 0, 0
            for token_id in tokenizer.encode_stream(file):  # the file object yields lines lazily
                count += 1
                total += token_id
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 2_000_000 and peak < size / 10, f"peak {peak} bytes while streaming {size} bytes"
    expected = tokenizer.encode(path.read_text(encoding="utf-8"))  # the oracle, all at once
    assert (count, total) == (len(expected), sum(expected))


def test_text_without_safe_cuts_is_cut_at_the_buffer_limit(tokenizers):
    # Every line starts with spaces, so no newline has a non-space on both sides.
    lines = [f"    indented line number {i}\n" for i in range(2000)]
    text = "".join(lines)
    tokenizer = tokenizers["gpt2"]
    chunk_lengths = []
    original_encode = tokenizer.encode

    def spy(chunk, allowed_special=True):
        chunk_lengths.append(len(chunk))
        return original_encode(chunk, allowed_special)

    tokenizer.encode = spy
    try:
        ids = list(encode_stream(tokenizer, lines, max_buffer_chars=1000))
    finally:
        del tokenizer.encode
    assert max(chunk_lengths) <= 1000 + len(lines[-1])  # bounded by the limit plus one line
    assert tokenizer.decode(ids) == text  # still a faithful encoding of the text


def test_stream_errors(tokenizers):
    tokenizer = BPETokenizer("gpt2").train(CORPUS, 300, special_tokens=["<line\nbreak>"])
    with pytest.raises(ValueError, match="cuts text at line breaks, so the special token '<line\\\\nbreak>'"):
        list(tokenizer.encode_stream(["a\n", "b"]))
    assert tokenizer.decode(list(tokenizer.encode_stream(["a\n", "b"], allowed_special=False))) == "a\nb"
    with pytest.raises(TypeError, match="expected lines of text \\(str\\), got bytes"):
        list(tokenizers["gpt2"].encode_stream([b"bytes\n"]))
