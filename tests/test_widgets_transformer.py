"""Lesson 03's sampling explorer, headless: the probabilities it draws are the sampling rules', and it redraws.

Oracles: distributions small enough to filter by hand, torch.softmax, and the library's
``sample_next_token`` (the explorer's distribution must be the one it draws from).
"""
import math

import matplotlib

matplotlib.use("Agg")  # no display needed: the explorer renders to PNG bytes

import pytest
import torch

from course_lib.transformer import sample_next_token
from course_lib.widgets.sampling_explorer import (
    SHOWN,
    sampling_data,
    sampling_distribution,
    sampling_explorer,
)

PROBS = torch.tensor([0.05, 0.5, 0.15, 0.3], dtype=torch.float64)   # sorted: b 0.5, d 0.3, c 0.15, a 0.05
LOGITS = PROBS.log()
LABELS = ["a", "b", "c", "d"]


def test_no_filter_at_temperature_one_is_softmax():
    assert torch.allclose(sampling_distribution(LOGITS), PROBS)


@pytest.mark.parametrize("top_p, kept", [(0.5, {1}), (0.51, {1, 3}), (0.79, {1, 3}), (0.81, {1, 2, 3}),
                                         (0.96, {0, 1, 2, 3}), (0.01, {1})])
def test_top_p_keeps_the_token_that_crosses_p(top_p, kept):
    final = sampling_distribution(LOGITS, top_p=top_p)
    assert set(torch.nonzero(final).flatten().tolist()) == kept
    expected = torch.zeros(4, dtype=torch.float64)
    expected[list(kept)] = PROBS[list(kept)] / PROBS[list(kept)].sum()   # the survivors, renormalised
    assert torch.allclose(final, expected)


def test_top_k_then_temperature():
    final = sampling_distribution(LOGITS, temperature=0.5, top_k=2)
    sharpened = PROBS[[1, 3]] ** 2 / (PROBS[[1, 3]] ** 2).sum()           # p^(1/T) renormalised, T = 0.5
    assert torch.allclose(final[[1, 3]], sharpened) and final[[0, 2]].eq(0).all()


def test_the_explorer_draws_what_sample_next_token_samples():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(30, generator=gen) * 2
    final = sampling_distribution(logits, temperature=0.7, top_k=10, top_p=0.8)
    draws = sample_next_token(logits.expand(20000, 30), temperature=0.7, top_k=10, top_p=0.8,
                              generator=torch.Generator().manual_seed(1)).flatten()
    frequency = torch.bincount(draws, minlength=30).double() / len(draws)
    assert set(torch.nonzero(frequency).flatten().tolist()) == set(torch.nonzero(final).flatten().tolist())
    assert torch.allclose(frequency, final, atol=0.015)


def test_picture_sorts_by_probability_and_marks_dropped_tokens():
    picture = sampling_data(LOGITS, LABELS, top_p=0.6)
    assert picture.labels == ["b", "d", "c", "a"]
    assert picture.original == pytest.approx([0.5, 0.3, 0.15, 0.05])
    assert picture.kept == [True, True, False, False] and picture.n_kept == 2
    assert picture.probs == pytest.approx([0.625, 0.375, 0.0, 0.0])
    assert picture.entropy == pytest.approx(-(0.625 * math.log(0.625) + 0.375 * math.log(0.375)))
    assert "2 of 4 tokens" in picture.message
    many = sampling_data(torch.randn(100), [str(i) for i in range(100)])
    assert len(many.labels) == SHOWN == len(many.probs)


def test_bad_settings_say_what_was_expected():
    with pytest.raises(ValueError, match="temperature"):
        sampling_distribution(LOGITS, temperature=0)
    with pytest.raises(ValueError, match="top_p"):
        sampling_distribution(LOGITS, top_p=0)
    with pytest.raises(ValueError, match="one label per logit"):
        sampling_data(LOGITS, ["a"])
    with pytest.raises(ValueError, match="shape"):
        sampling_distribution(LOGITS.view(2, 2))


def test_sliders_redraw_the_picture_and_the_text():
    calls = []

    def sample_text(temperature, top_k, top_p, seed):
        calls.append((temperature, top_k, top_p, seed))
        return f"text <{top_k}>"

    explorer = sampling_explorer(LOGITS.float(), LABELS, sample_text, context="Once")
    first = bytes(explorer.image.value)
    assert first.startswith(b"\x89PNG") and calls == [(1.0, 0, 1.0, 0)]
    explorer.controls["top_p"].value = 0.6
    assert explorer.data.n_kept == 2 and bytes(explorer.image.value) != first
    explorer.controls["top_k"].value = 1
    assert explorer.data.n_kept == 1 and calls[-1] == (1.0, 1, 0.6, 0)
    assert "text &lt;1&gt;" in explorer.text_box.value and "<b>Once</b>" in explorer.text_box.value
    explorer.controls["seed"].value = 3
    assert calls[-1][3] == 3
    assert sampling_explorer(LOGITS.float(), LABELS).text == ""
