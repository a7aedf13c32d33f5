"""Scores for a model that samples: pass@k, majority vote, self-consistency.

**pass@k.** Ask for k answers to a problem; it counts as solved if any of them is right
(code that passes the tests, say). Measuring that with exactly k samples is noisy. Chen et al.
(2021, the Codex paper) draw n >= k samples, count the c right ones, and compute the chance
that k samples drawn **without replacement** from those n contain at least one right one:

    pass@k = 1 - C(n - c, k) / C(n, k)

an unbiased estimate of the true pass@k. The binomial coefficients overflow a float for large
n (C(1000, 500) has 300 digits), so it is computed as a product of ratios:

    C(n - c, k) / C(n, k) = prod over i from n - c + 1 to n of (1 - k / i)

The tempting ``1 - (1 - c / n)^k`` draws *with* replacement: it is biased low (it can draw the
same wrong sample twice).

**Majority vote and self-consistency** (Wang et al. 2023). Sample several answers (each after
its own chain of reasoning) and answer with the most common one. When each sample is right
more often than it is any particular wrong answer, the vote is right more often than a
single sample.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence

from course_lib.evaluation.inputs import check_int


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k from ``n`` samples of which ``c`` are right: 1 - C(n-c, k) / C(n, k)."""
    n = check_int(n, "n", 1)
    c = check_int(c, "c", 0)
    k = check_int(k, "k", 1)
    if c > n:
        raise ValueError(f"c={c} right samples out of n={n}: c cannot exceed n")
    if k > n:
        raise ValueError(f"k={k} is larger than n={n}: pass@k needs at least k samples to draw k of them")
    if n - c < k:  # fewer than k wrong samples: every draw of k contains a right one
        return 1.0
    all_wrong = 1.0  # the chance that k draws without replacement are all wrong
    for i in range(n - c + 1, n + 1):
        all_wrong *= 1.0 - k / i
    return 1.0 - all_wrong


def majority_vote(answers: Sequence[Hashable]) -> Hashable:
    """The most common answer; a tie goes to the answer that appeared first."""
    if isinstance(answers, str) or not isinstance(answers, Sequence):
        raise TypeError(f"answers: expected a sequence of answers (a list), got {type(answers).__name__}")
    if not answers:
        raise ValueError("answers: expected at least one answer to vote on, got none")
    counts = Counter(answers)
    best = max(counts.values())
    return next(answer for answer in answers if counts[answer] == best)  # first in order among the most common


def self_consistency_accuracy(samples: Sequence[Sequence[Hashable]], references: Sequence[Hashable]) -> float:
    """The fraction of questions whose majority-vote answer equals the reference answer.

    ``samples[q]`` holds the sampled answers to question q, ``references[q]`` its right answer.
    """
    if not isinstance(samples, Sequence) or not isinstance(references, Sequence):
        raise TypeError("samples and references: expected sequences (lists)")
    if not samples:
        raise ValueError("samples: expected at least one question, got none")
    if len(samples) != len(references):
        raise ValueError(f"expected one reference per question: {len(samples)} questions, {len(references)} references")
    return sum(majority_vote(answers) == reference for answers, reference in zip(samples, references)) / len(samples)
