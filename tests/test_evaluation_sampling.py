"""pass@k against brute-force enumeration, its unbiasedness, and majority voting by hand."""
from __future__ import annotations

import math
from fractions import Fraction
from itertools import combinations

import pytest

from course_lib.evaluation.sampling import majority_vote, pass_at_k, self_consistency_accuracy


def brute_force_pass_at_k(n: int, c: int, k: int) -> float:
    """Every way to pick k of the n samples (the first c of them right): the share with a right one."""
    subsets = list(combinations(range(n), k))
    return sum(any(i < c for i in subset) for subset in subsets) / len(subsets)


@pytest.mark.parametrize("n", range(1, 9))
def test_pass_at_k_equals_enumeration(n):
    for c in range(n + 1):
        for k in range(1, n + 1):
            assert pass_at_k(n, c, k) == pytest.approx(brute_force_pass_at_k(n, c, k), abs=1e-12), (n, c, k)


def test_large_n_stays_exact_where_binomials_overflow_floats():
    n, c, k = 2000, 3, 1000
    with pytest.raises(OverflowError):
        float(math.comb(n, k))                                                   # C(2000, 1000) has 600 digits
    exact = 1 - Fraction(math.comb(n - c, k), math.comb(n, k))
    assert pass_at_k(n, c, k) == pytest.approx(float(exact), abs=1e-12)


def test_unbiased_where_the_naive_formula_is_not():
    # If each sample is right with probability p, the true pass@k is 1 - (1 - p)^k. Averaged over
    # c ~ Binomial(n, p), the estimator gives exactly that.
    n, k, p = 10, 4, 0.3
    expected_estimate = sum(math.comb(n, c) * p**c * (1 - p) ** (n - c) * pass_at_k(n, c, k) for c in range(n + 1))
    assert expected_estimate == pytest.approx(1 - (1 - p) ** k, abs=1e-12)
    # drawing with replacement, 1 - (1 - c/n)^k, is biased low: 1 right in 5, all 5 drawn
    assert pass_at_k(5, 1, 5) == 1.0 and 1 - (1 - 1 / 5) ** 5 < 0.7
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)                             # pass@1 is the fraction right


def test_pass_at_k_refuses_impossible_counts():
    with pytest.raises(ValueError, match="k=6 is larger than n=5"):
        pass_at_k(5, 2, 6)
    with pytest.raises(ValueError, match="c=6 right samples out of n=5"):
        pass_at_k(5, 6, 2)
    with pytest.raises(ValueError, match="c: expected an int >= 0, got -1"):
        pass_at_k(5, -1, 2)
    with pytest.raises(ValueError, match="k: expected an int >= 1, got 0"):
        pass_at_k(5, 1, 0)
    with pytest.raises(TypeError, match="n: expected an int"):
        pass_at_k(5.0, 1, 1)


def test_majority_vote_and_self_consistency_by_hand():
    assert majority_vote(["7", "5", "7", "3"]) == "7"
    assert majority_vote([5, 3, 3, 5]) == 5                                      # a tie: the first to appear
    samples = [["7", "7", "5"], ["2", "3", "3"], ["9", "1", "8"]]
    assert self_consistency_accuracy(samples, ["7", "3", "8"]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="at least one answer to vote on"):
        majority_vote([])
    with pytest.raises(ValueError, match="2 questions, 1 references"):
        self_consistency_accuracy([["1"], ["2"]], ["1"])
    with pytest.raises(ValueError, match="at least one question"):
        self_consistency_accuracy([], [])
