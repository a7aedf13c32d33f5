"""Lesson 02's BPE explorer, headless: the merges it shows are the library's, and the controls redraw it.

Oracles: the library's incremental trainer (``learn_merges``) and tokenizer (``BPETokenizer``), and
the text itself (the tokens of every step must spell it out byte for byte).
"""
from collections import Counter

import matplotlib

matplotlib.use("Agg")  # no display needed: the explorer renders to PNG bytes

import pytest  # noqa: E402
import regex  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course_lib.tokenization import BPETokenizer, learn_merges  # noqa: E402
from course_lib.tokenization.pretokenization import resolve_pattern  # noqa: E402
from course_lib.widgets.bpe_explorer import (  # noqa: E402
    LINE_WIDTH, MAX_CHARS, PATTERNS, SAMPLE, bpe_data, bpe_explorer, draw_bpe, layout, show_bytes)

TEXTS = [SAMPLE, "aaaaaaa aaa", "naïve café, 日本語 😀 ok ok", "x = 1234  # 5678\n    return x\n"]


def merges_shown(text, pattern):
    """The merge each step of the explorer shows, step 1 to the last."""
    last = bpe_data(text, 0, pattern).max_steps
    return [bpe_data(text, step, pattern).merge for step in range(1, last + 1)]


@pytest.mark.parametrize("pattern", sorted(PATTERNS))
@pytest.mark.parametrize("text", TEXTS)
def test_the_merges_are_the_library_trainers(text, pattern):
    pieces = regex.findall(resolve_pattern(PATTERNS[pattern]), text)
    expected = learn_merges(dict(Counter(piece.encode("utf-8") for piece in pieces)), 10_000)
    assert merges_shown(text, pattern) == expected
    assert bpe_data(text, 0, pattern).max_steps == len(expected)


@pytest.mark.parametrize("pattern", ["gpt2", "gpt4"])
@pytest.mark.parametrize("text", TEXTS)
def test_each_step_tokenizes_as_a_tokenizer_with_that_many_merges(text, pattern):
    last = bpe_data(text, 0, pattern).max_steps
    for step in sorted({0, 1, 2, last // 2, last}):
        picture = bpe_data(text, step, pattern)
        tokenizer = BPETokenizer(pattern).train(text, 256 + step)
        assert [i for piece in picture.pieces for i in piece] == tokenizer.encode(text)
        assert picture.n_tokens == len(tokenizer.encode(text))
        # The labels show every token's bytes: spaces as ␣, broken characters in hex.
        assert all(picture.labels[i] == show_bytes(tokenizer.vocab[i]) for piece in picture.pieces for i in piece)


def test_steps_shorten_the_text_and_frame_the_new_token():
    pictures = [bpe_data(SAMPLE, step) for step in range(bpe_data(SAMPLE).max_steps + 1)]
    assert pictures[0].n_tokens == pictures[0].n_bytes == len(SAMPLE.encode("utf-8"))
    assert pictures[0].new_id is None and pictures[0].merge is None
    for before, after in zip(pictures, pictures[1:]):
        assert after.step == before.step + 1
        assert after.new_id == 255 + after.step
        assert any(after.new_id in piece for piece in after.pieces)        # the framed token is on show
        # Each occurrence saves one token (the sample has no overlapping pairs such as "aaa").
        assert after.n_tokens == before.n_tokens - after.merge_count
    assert "step 0 of" in pictures[0].message and "'␣' + 'c' -> '␣c'" in pictures[5].message
    assert all(len(piece) == 1 for piece in pictures[-1].pieces)            # the end: one token per piece


def test_a_step_beyond_the_last_shows_the_last():
    last = bpe_data(SAMPLE, 0).max_steps
    assert bpe_data(SAMPLE, last + 50).pieces == bpe_data(SAMPLE, last).pieces
    assert bpe_data(SAMPLE, last + 50).step == last


def test_without_pre_tokenization_tokens_swallow_spaces_and_punctuation():
    def tokens(pattern):
        picture = bpe_data(SAMPLE, 30, pattern)
        return [picture.labels[i] for piece in picture.pieces for i in piece]

    # With a pattern, a space only ever starts a token; without one, tokens run across words.
    assert all("␣" not in token[1:] for token in tokens("gpt4"))
    assert any("␣" in token[1:] for token in tokens("none"))
    assert len(bpe_data(SAMPLE, 0, "none").pieces) == 1


@pytest.mark.parametrize("pattern", ["gpt4", "none"])
@pytest.mark.parametrize("step", [0, 20, 1000])
def test_boxes_stay_inside_the_lines_and_spell_every_token(pattern, step):
    text = SAMPLE + " " + SAMPLE.upper()
    picture = bpe_data(text, step, pattern)
    boxes = layout(picture)
    assert all(0 <= x and x + len(label) <= LINE_WIDTH for x, _, label, _ in boxes)
    # Box by box, the labels spell the tokens in order (a token longer than a line takes several boxes).
    tokens = [i for piece in picture.pieces for i in piece]
    assert "".join(label for *_, label, _ in boxes) == "".join(picture.labels[i] for i in tokens)
    lines = [line for _, line, _, _ in boxes]
    assert lines == sorted(lines)


def test_a_piece_that_fits_on_a_line_is_never_split():
    picture = bpe_data(SAMPLE * 3, 10, "gpt4")
    boxes = layout(picture)
    assert len(boxes) == picture.n_tokens          # one box per token: no token is longer than a line here
    position = 0
    for piece in picture.pieces:
        rows = {line for _, line, _, _ in boxes[position:position + len(piece)]}
        assert len(rows) == 1
        position += len(piece)


def test_show_bytes():
    assert show_bytes(b" the\n") == "␣the↵"
    assert show_bytes("é".encode("utf-8")) == "é"
    assert show_bytes("日".encode("utf-8")[:2]) == "<e6><97>"          # half a character
    assert show_bytes(b" " + "日".encode("utf-8")[:1]) == "␣<e6>"
    assert show_bytes(b"\x00\t") == "<00>⇥"                            # control characters in hex
    assert show_bytes("😀".encode("utf-8")) in ("😀", "<f0><9f><98><80>")  # depends on the font


def test_bad_input():
    with pytest.raises(ValueError, match="pattern"):
        bpe_data("abc", 0, "gpt3")
    with pytest.raises(ValueError, match="step"):
        bpe_data("abc", -1)
    empty = bpe_data("", 3)
    assert empty.pieces == [] and "type a sentence" in empty.message
    long = bpe_data("ab" * MAX_CHARS, 1)
    assert long.n_bytes == MAX_CHARS                                  # cut to fit the picture
    for picture in (empty, long, bpe_data("😀👩‍👩‍👧 日本語", 2)):
        figure = Figure()
        draw_bpe(figure.add_subplot(), picture)                      # drawing does not fail


def test_explorer_redraws_and_fits_the_slider_to_the_text():
    explorer = bpe_explorer()
    assert set(explorer.controls) == {"text", "pattern", "step"}
    slider = explorer.controls["step"]
    assert slider.max == bpe_data(SAMPLE).max_steps
    first_data, first_png = explorer.data, explorer.image.value
    assert first_png[:8] == b"\x89PNG\r\n\x1a\n" and first_data.step == 0

    slider.value = 5
    assert explorer.data.step == 5 and explorer.image.value != first_png
    framed = [patch for patch in explorer.figure.axes[0].patches if patch.get_linewidth() > 2]
    assert len(framed) == sum(piece.count(explorer.data.new_id) for piece in explorer.data.pieces)

    explorer.controls["pattern"].value = "none"
    assert slider.max == bpe_data(SAMPLE, 0, "none").max_steps
    assert len(explorer.data.pieces) == 1

    explorer.controls["text"].value = "aaaa"
    assert slider.max == 2                                           # aa, then aaaa
    assert explorer.data.step <= 2
    slider.value = 2
    assert explorer.data.pieces == [[257]]


def test_the_choice_of_pieces_shows_on_the_sample_sentence():
    """No control without a visible effect: GPT-2 and GPT-4 cut the sample into different pieces."""
    gpt2, gpt4 = bpe_data(SAMPLE, 0, "gpt2"), bpe_data(SAMPLE, 0, "gpt4")
    assert gpt2.pieces != gpt4.pieces and gpt2.n_pieces != gpt4.n_pieces
    assert f"in {gpt2.n_pieces} pieces" in gpt2.message and f"in {gpt4.n_pieces} pieces" in gpt4.message
    explorer = bpe_explorer()
    first = explorer.image.value
    explorer.controls["pattern"].value = "gpt2" if explorer.controls["pattern"].value == "gpt4" else "gpt4"
    assert explorer.image.value != first
