"""Pretraining objectives: next-token shift, BERT masking statistics, next-sentence pairs."""
from __future__ import annotations

import pytest
import torch

from course_lib import objectives
from course_lib.objectives import (
    IGNORE_INDEX,
    IS_NEXT,
    NOT_NEXT,
    mask_tokens,
    next_sentence_pairs,
    next_token_loss,
    shift_for_next_token,
)
from course_lib.transformer import IGNORE_INDEX as MODEL_IGNORE_INDEX


def test_ignore_index_matches_the_model():
    assert IGNORE_INDEX == MODEL_IGNORE_INDEX == -100


# ----- next-token ---------------------------------------------------------------------------
def test_shift_against_a_hand_made_example():
    ids = torch.tensor([[5, 6, 7, 8], [1, 2, 3, 4]])
    inputs, targets = shift_for_next_token(ids)
    assert inputs.tolist() == [[5, 6, 7], [1, 2, 3]]
    assert targets.tolist() == [[6, 7, 8], [2, 3, 4]]


def test_next_token_loss_equals_hand_computed_cross_entropy():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 5, dtype=torch.float64)
    targets = torch.tensor([[1, 4, IGNORE_INDEX], [0, 2, 3]])
    terms = [-torch.log_softmax(logits[b, t], -1)[targets[b, t]]
             for b in range(2) for t in range(3) if targets[b, t] != IGNORE_INDEX]
    assert torch.allclose(next_token_loss(logits, targets), torch.stack(terms).mean())


@pytest.mark.parametrize("bad, match", [
    (torch.tensor([1, 2, 3]), "shape \\(B, T\\)"),
    (torch.tensor([[1.0, 2.0]]), "integer tensor"),
    (torch.tensor([[4]]), "at least 2 tokens"),
    (torch.tensor([[1, -3]]), ">= 0"),
])
def test_shift_rejects_bad_ids(bad, match):
    with pytest.raises(ValueError, match=match):
        shift_for_next_token(bad)


def test_next_token_loss_rejects_mismatched_shapes_and_all_ignored():
    with pytest.raises(ValueError, match="match logits"):
        next_token_loss(torch.zeros(2, 3, 5), torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="nothing to score"):
        next_token_loss(torch.zeros(1, 2, 5), torch.full((1, 2), IGNORE_INDEX))
    with pytest.raises(ValueError, match="\\(B, T, V\\)"):
        next_token_loss(torch.zeros(2, 5), torch.zeros(2, dtype=torch.long))


# ----- masked language modelling -------------------------------------------------------------
VOCAB, MASK, CLS, SEP, PAD = 40, 0, 1, 2, 3
SPECIAL = (CLS, SEP, PAD)


def _batch(generator):
    ids = torch.randint(4, VOCAB, (64, 50), generator=generator)   # ordinary tokens
    ids[:, 0], ids[:, -1], ids[:, 25] = CLS, SEP, PAD               # specials sprinkled in
    return ids


def test_mask_statistics_over_many_draws():
    generator = torch.Generator().manual_seed(0)
    chosen = masked = randomized = kept = ordinary_positions = 0
    for _ in range(40):
        ids = _batch(generator)
        inputs, labels = mask_tokens(ids, mask_id=MASK, vocab_size=VOCAB, special_ids=SPECIAL, generator=generator)
        is_special = torch.isin(ids, torch.tensor(SPECIAL))
        picked = labels != IGNORE_INDEX
        # never a special token, labels hold the original token where chosen
        assert not (picked & is_special).any()
        assert torch.equal(inputs[is_special], ids[is_special])
        assert torch.equal(labels[picked], ids[picked])
        # positions not chosen are unchanged
        assert torch.equal(inputs[~picked], ids[~picked])
        # a random replacement is never a special token nor the mask
        assert not torch.isin(inputs[picked], torch.tensor(SPECIAL)).any()
        chosen += int(picked.sum())
        ordinary_positions += int((~is_special).sum())
        masked += int((picked & (inputs == MASK)).sum())
        kept += int((picked & (inputs == ids)).sum())
        randomized += int((picked & (inputs != MASK) & (inputs != ids)).sum())
    # ~120k ordinary positions, ~18k chosen: standard errors are about 0.1% and 0.3%
    assert abs(chosen / ordinary_positions - 0.15) < 0.005
    assert abs(masked / chosen - 0.80) < 0.01
    # a random draw equals the original token 1 time in 36: it counts as "kept" then
    assert abs(randomized / chosen - 0.10 * 35 / 36) < 0.01
    assert abs(kept / chosen - (0.10 + 0.10 / 36)) < 0.01


def test_loss_counts_only_chosen_positions():
    torch.manual_seed(1)
    ids = torch.randint(4, VOCAB, (4, 20))
    _, labels = mask_tokens(ids, mask_id=MASK, vocab_size=VOCAB, special_ids=SPECIAL,
                            generator=torch.Generator().manual_seed(1))
    logits = torch.randn(4, 20, VOCAB, dtype=torch.float64, requires_grad=True)
    next_token_loss(logits, labels).backward()
    has_gradient = logits.grad.abs().sum(-1) > 0
    assert torch.equal(has_gradient, labels != IGNORE_INDEX)
    assert has_gradient.any()


def test_masking_is_repeatable_with_a_seed():
    ids = torch.randint(4, VOCAB, (8, 30), generator=torch.Generator().manual_seed(3))
    a = mask_tokens(ids, mask_id=MASK, vocab_size=VOCAB, generator=torch.Generator().manual_seed(7))
    b = mask_tokens(ids, mask_id=MASK, vocab_size=VOCAB, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


@pytest.mark.parametrize("options, match", [
    ({"mask_id": 40}, "mask_id=40 is not a token id"),
    ({"mask_prob": 0.0}, "mask_prob"),
    ({"mask_prob": 1.5}, "mask_prob"),
    ({"special_ids": (99,)}, "special_ids: 99"),
    ({"vocab_size": 10}, "below vocab_size=10"),
])
def test_mask_tokens_rejects_bad_input(options, match):
    ids = torch.randint(4, VOCAB, (2, 5), generator=torch.Generator().manual_seed(0))
    settings = {"mask_id": MASK, "vocab_size": VOCAB, **options}
    with pytest.raises(ValueError, match=match):
        mask_tokens(ids, **settings)


def test_mask_tokens_needs_an_ordinary_token():
    with pytest.raises(ValueError, match="no ordinary tokens"):
        mask_tokens(torch.tensor([[0, 1]]), mask_id=0, vocab_size=2, special_ids=(1,))


# ----- next-sentence prediction ----------------------------------------------------------------
SENTENCES = [f"sentence {i}." for i in range(30)]


def test_next_sentence_pairs_balance_and_correctness():
    pairs = next_sentence_pairs(SENTENCES, 1000, generator=torch.Generator().manual_seed(0))
    assert len(pairs) == 1000
    labels = [label for _, _, label in pairs]
    assert labels.count(IS_NEXT) == labels.count(NOT_NEXT) == 500
    position = {s: i for i, s in enumerate(SENTENCES)}
    for first, second, label in pairs:
        follows = position[second] == position[first] + 1
        assert follows == (label == IS_NEXT), (first, second, label)
    # the two kinds are shuffled together, not in two blocks
    assert 0 < labels[:100].count(IS_NEXT) < 100
    # random partners spread over the whole list, not a fixed offset
    random_partners = {second for _, second, label in pairs if label == NOT_NEXT}
    assert len(random_partners) > 25


def test_next_sentence_pairs_repeatable_with_a_seed():
    a = next_sentence_pairs(SENTENCES, 20, generator=torch.Generator().manual_seed(4))
    b = next_sentence_pairs(SENTENCES, 20, generator=torch.Generator().manual_seed(4))
    assert a == b


@pytest.mark.parametrize("sentences, n, error, match", [
    ("one. two. three.", 4, TypeError, "list of sentences"),
    (["a", "b"], 4, ValueError, "at least 3"),
    (["a", "b", 3], 4, TypeError, "sentences\\[2\\]"),
    (SENTENCES, 0, ValueError, "n_pairs"),
])
def test_next_sentence_pairs_rejects_bad_input(sentences, n, error, match):
    with pytest.raises(error, match=match):
        next_sentence_pairs(sentences, n)


def test_module_docstring_names_all_three_objectives():
    assert all(word in objectives.__doc__ for word in ("Next-token", "Masked", "Next-sentence"))
