"""How sure is a score? The bootstrap confidence interval.

An accuracy of 0.62 on 200 items is one draw: another 200 items of the same kind would give
another number. The bootstrap estimates that spread from the items at hand. Draw N items
**with replacement** from the N scored ones (some come twice, some not at all), compute the
score of the draw, and repeat many times; the middle 95 % of those scores (the 2.5th to the
97.5th percentile: the *percentile* method) is a 95 % confidence interval.

Drawing *without* replacement would give back the same N items every time, so the same score
and an interval of width 0. For an accuracy over N items the interval is close to the normal
approximation ``p +- 1.96 sqrt(p (1 - p) / N)``; the bootstrap also works for scores with no
such formula (a median, an F1).
"""
from __future__ import annotations

from collections.abc import Callable

import torch

from course_lib.evaluation.inputs import as_vector, check_fraction, check_int


def bootstrap_ci(values, n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0,
                 statistic: Callable[[torch.Tensor], float] | None = None) -> tuple[float, float]:
    """(low, high): the percentile bootstrap interval of ``statistic`` (default: the mean) of ``values``.

    ``values`` holds one number per item (1 / 0 for right / wrong). The same ``seed`` gives the
    same interval. ``statistic`` takes a 1-D float64 tensor of resampled values and returns a number.
    """
    values = as_vector(values, "values")                                        # (N,)
    n_resamples = check_int(n_resamples, "n_resamples", 1)
    confidence = check_fraction(confidence, "confidence")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed: expected an int, got {seed!r}")
    generator = torch.Generator().manual_seed(seed)
    N = len(values)
    picks = torch.randint(0, N, (n_resamples, N), generator=generator)          # (R, N) with replacement
    resampled = values[picks]                                                   # (R, N)
    if statistic is None:
        scores = resampled.mean(dim=1)                                          # (R,)
    else:
        scores = torch.tensor([float(statistic(row)) for row in resampled], dtype=torch.float64)
    tail = (1 - confidence) / 2                                                 # in each tail
    low, high = torch.quantile(scores, torch.tensor([tail, 1 - tail], dtype=torch.float64)).tolist()
    return low, high
