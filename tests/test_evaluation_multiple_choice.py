"""Multiple-choice scoring as lm-evaluation-harness does it, mirrored in hand cases, on the shipped model.

lm-eval's documented rules (``_encode_pair`` and ``process_results`` of multiple-choice tasks,
version 0.4): trailing spaces of the context move to the continuation; the pair is encoded
whole and cut at the length of the context's own encoding; ``acc`` is the argmax of summed
log-likelihoods, ``acc_norm`` the argmax after dividing by the choice's length in characters.
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from course_lib.evaluation.benchmarks import story_mc
from course_lib.evaluation.multiple_choice import (
    MCItem,
    choose,
    encode_pair,
    evaluate_letters,
    evaluate_multiple_choice,
    letter_log_probs,
    letter_prompt,
    loglikelihood,
    option_lengths,
)
from course_lib.pretrained import END_OF_TEXT, load_pretrained

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def shipped():
    return load_pretrained()


def lm_eval_encode_pair(tokenizer, context: str, continuation: str):
    """lm-eval 0.4's ``_encode_pair``, written out from its source (without the course's join check)."""
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces > 0:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    whole_enc = tokenizer.encode(context + continuation)
    context_enc = tokenizer.encode(context)
    return context_enc, whole_enc[len(context_enc):]


def hand_loglikelihood(model, context_ids, continuation_ids) -> tuple[float, bool]:
    """One pair, unbatched: the summed log-softmax of the continuation's tokens, and whether each was the argmax."""
    ids = torch.tensor([context_ids + continuation_ids])                     # (1, L)
    with torch.no_grad():
        log_probs = F.log_softmax(model(ids[:, :-1])[0][0].double(), dim=-1)  # (L - 1, V)
    positions = range(len(context_ids) - 1, ids.shape[1] - 1)
    total = sum(log_probs[p, continuation_ids[i]].item() for i, p in enumerate(positions))
    greedy = all(log_probs[p].argmax().item() == continuation_ids[i] for i, p in enumerate(positions))
    return total, greedy


# ----- encoding the pair --------------------------------------------------------------------------
def test_encode_pair_follows_lm_eval(shipped):
    _, tokenizer = shipped
    pairs = [("The cat liked", " a red ball"), ("The cat liked ", "a red ball"), ("Mia went to  ", "the park"),
             ("Answer:", " A"), ("It was\n", "sunny"), (END_OF_TEXT + "One day,", " Leo")]
    for context, continuation in pairs:
        assert encode_pair(tokenizer, context, continuation) == lm_eval_encode_pair(tokenizer, context, continuation)
    # the trailing space travels with the continuation: the same tokens as the space written there
    assert encode_pair(tokenizer, "The cat liked ", "a red ball") == encode_pair(tokenizer, "The cat liked", " a red ball")
    assert encode_pair(tokenizer, "The cat liked", " a red ball")[1] == tokenizer.encode(" a red ball")


def test_a_token_across_the_join_is_refused(shipped):
    _, tokenizer = shipped
    assert len(tokenizer.encode(" liked")) == 1                              # " liked" is one token ...
    _, continuation_ids = lm_eval_encode_pair(tokenizer, "The cat li", "ked a ball")
    assert tokenizer.decode(continuation_ids) != "ked a ball"                 # ... so a plain cut is wrong
    with pytest.raises(ValueError, match="a token spans the join between context and continuation"):
        encode_pair(tokenizer, "The cat li", "ked a ball")
    with pytest.raises(ValueError, match="context: expected some text"):
        encode_pair(tokenizer, "   ", "a ball")
    with pytest.raises(ValueError, match="continuation: expected some text"):
        encode_pair(tokenizer, "The cat", "")


# ----- scoring ----------------------------------------------------------------------------------------
def test_loglikelihood_equals_each_option_scored_alone(shipped):
    model, tokenizer = shipped
    context = END_OF_TEXT + "One day, Mia went to the park with a fox. Mia found a shiny key near the park. The fox liked"
    options = [" a shiny key", " a long rope very much indeed", " an old map"]
    scores = loglikelihood(model, tokenizer, context, options)               # batched, right-padded
    for option, score in zip(options, scores):
        context_ids, continuation_ids = encode_pair(tokenizer, context, option)
        total, greedy = hand_loglikelihood(model, context_ids, continuation_ids)
        assert score.loglikelihood == pytest.approx(total, abs=1e-4)
        assert score.tokens == len(continuation_ids) and score.greedy == greedy
    assert scores[0].greedy and scores[0].loglikelihood > max(s.loglikelihood for s in scores[1:])
    # the option is scored after its context: without it, the same option is much less likely
    alone = loglikelihood(model, tokenizer, END_OF_TEXT + "The fox liked", [" a shiny key"])[0]
    assert alone.loglikelihood < scores[0].loglikelihood - 1.0


def test_a_long_context_keeps_its_last_tokens(shipped):
    model, tokenizer = shipped
    context = END_OF_TEXT + " ".join(["It was sunny and the dog was happy."] * 30) + " The dog was"
    context_ids, continuation_ids = encode_pair(tokenizer, context, " happy")
    assert len(context_ids) > 200
    kept = (context_ids + continuation_ids)[-(model.config.context_length + 1):]
    expected, _ = hand_loglikelihood(model, kept[:-len(continuation_ids)], continuation_ids)
    assert loglikelihood(model, tokenizer, context, [" happy"])[0].loglikelihood == pytest.approx(expected, abs=1e-4)


def test_choose_raw_and_normalised_by_hand():
    # acc picks the short option; per character the long one is likelier
    assert choose([-4.0, -6.0]) == 0
    assert choose([-4.0, -6.0], lengths=[2, 10]) == 1
    assert choose([-1.0, -1.0, -3.0]) == 0                                  # a tie goes to the first
    assert choose([-3.0, -1.0, -2.0]) == 1                                  # argmax, not argmin
    with pytest.raises(ValueError, match="one length per option: 2 log-likelihoods, 3 lengths"):
        choose([-1.0, -2.0], [1, 2, 3])
    with pytest.raises(ValueError, match="at least one option"):
        choose([])
    with pytest.raises(ValueError, match="positive ints"):
        choose([-1.0, -2.0], [0, 2])


def test_acc_norm_counts_characters_not_bytes_or_tokens(shipped):
    model, tokenizer = shipped
    choices = ["café", "tea"]
    scores = loglikelihood(model, tokenizer, "I drank", [" " + c for c in choices])
    assert option_lengths(choices, scores, "chars") == [4, 3]
    assert option_lengths(choices, scores, "bytes") == [5, 3]
    assert option_lengths(choices, scores, "tokens") == [s.tokens for s in scores]
    assert option_lengths(choices, scores, "none") is None
    with pytest.raises(ValueError, match="norm: expected one of"):
        option_lengths(choices, scores, "words")


def test_story_benchmark_scored_four_ways_on_the_shipped_model(shipped):
    model, tokenizer = shipped
    items = story_mc("test", per_kind=6)                                     # 18 answerable + 2 unanswerable
    result = evaluate_multiple_choice(model, tokenizer, items, prefix=END_OF_TEXT)
    for item, lls, chars, raw in zip(items, result.loglikelihoods, result.predictions["chars"], result.predictions["none"]):
        assert raw == choose(lls)
        assert chars == choose(lls, [len(c) for c in item.choices])        # the choice itself, no delimiter
    assert result.accuracy("none", kind="object") == 1.0                     # recall from the story: solved
    assert 0.25 < result.accuracy("none") < 1.0
    assert len(result.correct()) == 18                                       # unanswerable items are not scored
    confidences = result.confidences()
    assert len(confidences) == len(items) and all(0.25 <= c <= 1.0 for c in confidences)
    with pytest.raises(ValueError, match="no answerable items of kind 'weather'"):
        result.accuracy(kind="weather")


# ----- the letter format -------------------------------------------------------------------------------
def test_letter_prompt_layout():
    prompt = letter_prompt("Where was Mia?", ["the park", "the farm", "the hill"])
    assert prompt == "Where was Mia?\nA. the park\nB. the farm\nC. the hill\nAnswer:"
    assert letter_prompt("Q?", ["x", "y"], letters="ab", answer=1).endswith("\nAnswer: b")
    with pytest.raises(ValueError, match="5 choices but only 4 letters"):
        letter_prompt("Q?", list("vwxyz"))


def test_letters_must_be_single_tokens(shipped):
    model, tokenizer = shipped
    prompt = letter_prompt("Where was Mia?", ["the park", "the farm", "the hill", "the river"])
    with pytest.raises(ValueError, match=r"letter 'C' written as ' C' after the prompt is 2 tokens .*Single tokens "
                                         r"here: \['A', 'B'"):
        letter_log_probs(model, tokenizer, prompt)
    got = letter_log_probs(model, tokenizer, prompt, letters="abcd")
    ids = torch.tensor([tokenizer.encode(prompt)])
    with torch.no_grad():
        next_log_probs = F.log_softmax(model(ids)[0][0, -1], dim=-1)
    expected = next_log_probs[[tokenizer.encode(" " + letter)[0] for letter in "abcd"]]
    torch.testing.assert_close(got, expected)


def test_evaluate_letters_reports_accuracy_and_position_bias(shipped):
    model, tokenizer = shipped
    items = story_mc("test", per_kind=3)
    shots = story_mc("train", per_kind=1)[:1]
    result = evaluate_letters(model, tokenizer, items, letters="ABCD", delimiter="", shots=shots, prefix=END_OF_TEXT)
    counts = result.letter_counts()
    assert sum(counts.values()) == len(items) and set(counts) == set("ABCD")
    assert 0.0 <= result.accuracy() <= 1.0
    with pytest.raises(ValueError, match="has no question for the letter format"):
        evaluate_letters(model, tokenizer, [MCItem("Mia saw", ("a", "b"), 0)])


def test_items_are_checked():
    with pytest.raises(ValueError, match="answer: expected an index from 0 to 1"):
        MCItem("The cat liked", ("a ball", "a kite"), 2)
    with pytest.raises(ValueError, match="choices: expected a sequence of at least 2 options"):
        MCItem("The cat liked", ("a ball",), 0)
    with pytest.raises(ValueError, match=r"choices\[1\]: expected a non-empty str"):
        MCItem("The cat liked", ("a ball", ""), 0)
    with pytest.raises(ValueError, match="items: expected at least one item"):
        evaluate_multiple_choice(None, None, [])
    assert not MCItem("The cat liked", ["a ball", "a kite"], None).answerable
