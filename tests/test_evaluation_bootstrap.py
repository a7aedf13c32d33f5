"""The percentile bootstrap: resampled with replacement, seeded, and close to the normal approximation."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_lib.evaluation.bootstrap import bootstrap_ci


def test_the_percentiles_of_resampled_means():
    values = torch.tensor([1.0, 0, 1, 1, 0, 1, 0, 1, 1, 1])
    # the same draws written out: N picks with replacement per resample, then numpy's linear percentiles
    picks = torch.randint(0, 10, (500, 10), generator=torch.Generator().manual_seed(7))
    means = values[picks].double().mean(dim=1).numpy()
    expected = np.percentile(means, [5, 95])
    assert bootstrap_ci(values, n_resamples=500, confidence=0.9, seed=7) == pytest.approx(tuple(expected))


def test_resampling_is_with_replacement():
    # without replacement every resample would be the data itself: an interval of width 0
    low, high = bootstrap_ci([0, 1], n_resamples=2000)
    assert (low, high) == (0.0, 1.0)
    assert bootstrap_ci([3.0] * 5) == (3.0, 3.0)


def test_seeded_and_close_to_the_normal_approximation():
    rng = np.random.default_rng(0)
    correct = (rng.random(400) < 0.6).astype(float)
    p = correct.mean()
    low, high = bootstrap_ci(correct, n_resamples=4000, seed=1)
    assert low < p < high
    half_width = 1.96 * math.sqrt(p * (1 - p) / len(correct))
    assert (high - low) / 2 == pytest.approx(half_width, rel=0.1)
    assert bootstrap_ci(correct, seed=1) == bootstrap_ci(correct, seed=1) != bootstrap_ci(correct, seed=2)


def test_against_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(3)
    values = rng.exponential(size=200)
    ours = bootstrap_ci(values, n_resamples=5000, statistic=torch.median)
    theirs = stats.bootstrap((values,), np.median, n_resamples=5000, method="percentile", random_state=0).confidence_interval
    assert ours == pytest.approx((theirs.low, theirs.high), abs=0.05)


def test_bad_input_gets_a_clear_error():
    with pytest.raises(ValueError, match="values: expected at least one value"):
        bootstrap_ci([])
    with pytest.raises(ValueError, match=r"confidence: expected a number in \(0, 1\), got 95"):
        bootstrap_ci([1, 0], confidence=95)
    with pytest.raises(ValueError, match="n_resamples: expected an int >= 1"):
        bootstrap_ci([1, 0], n_resamples=0)
