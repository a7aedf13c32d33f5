"""course_lib.metrics: perplexity and accuracy, checked against their definitions."""
import math

import pytest
import torch

from course_lib import metrics


def test_perplexity_is_exp_of_the_mean_nll():
    gen = torch.Generator().manual_seed(0)
    probs = torch.rand(50, generator=gen, dtype=torch.float64) * 0.9 + 0.05
    log_probs = probs.log()
    expected = math.exp(-log_probs.mean().item())
    assert metrics.perplexity_from_log_probs(log_probs) == pytest.approx(expected)
    assert metrics.perplexity(-log_probs.mean()) == pytest.approx(expected)
    # exp(mean), not exp(sum): doubling the text (same probabilities) leaves it unchanged
    assert metrics.perplexity_from_log_probs(torch.cat([log_probs, log_probs])) == pytest.approx(expected)


@pytest.mark.parametrize("V", [2, 7, 1000])
def test_uniform_model_has_perplexity_equal_to_vocabulary_size(V):
    log_probs = torch.full((13,), -math.log(V), dtype=torch.float64)
    assert metrics.perplexity_from_log_probs(log_probs) == pytest.approx(V)


def test_certain_model_has_perplexity_one_and_impossible_token_gives_infinity():
    assert metrics.perplexity(0.0) == 1.0
    assert metrics.perplexity(float("inf")) == math.inf
    assert metrics.perplexity(1e4) == math.inf
    assert metrics.perplexity_from_log_probs(torch.tensor([-1.0, float("-inf")])) == math.inf


@pytest.mark.parametrize("call, error", [
    (lambda: metrics.perplexity(-0.5), ValueError),
    (lambda: metrics.perplexity(float("nan")), ValueError),
    (lambda: metrics.perplexity("3"), TypeError),
    (lambda: metrics.perplexity(torch.tensor([1.0, 2.0])), ValueError),
    (lambda: metrics.perplexity_from_log_probs(torch.tensor([])), ValueError),
    (lambda: metrics.perplexity_from_log_probs(torch.tensor([0.5, 0.2])), ValueError),
    (lambda: metrics.perplexity_from_log_probs(torch.tensor([1, 2])), TypeError),
])
def test_perplexity_rejects_bad_input(call, error):
    with pytest.raises(error):
        call()


def test_accuracy_from_indices_and_from_scores():
    targets = torch.tensor([0, 1, 2, 1])
    assert metrics.accuracy(torch.tensor([0, 1, 1, 1]), targets) == pytest.approx(0.75)
    scores = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 3.0], [5.0, 0.0, 0.0]])
    assert metrics.accuracy(scores, targets) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="same number of rows"):
        metrics.accuracy(torch.tensor([0, 1]), targets)
    with pytest.raises(ValueError, match="class indices"):
        metrics.accuracy(torch.tensor([0, 1]), torch.tensor([0.0, 1.0]))
