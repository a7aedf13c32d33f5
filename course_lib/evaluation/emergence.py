"""Emergence as an artefact of the metric (Schaeffer, Miranda and Koyejo, 2023).

Some abilities seem to appear suddenly as models grow: near zero for small models, then a
sharp rise. Schaeffer et al. showed that much of this sharpness comes from the metric, not
the model. Say a model gets each token of an answer right with probability p, and p grows
smoothly with scale. An answer of L tokens counts as an exact match only when all L are right:

    exact match = p^L

For L = 1 that is as smooth as p. For L = 20, p = 0.80 gives 0.01 and p = 0.95 gives 0.36:
a smooth climb of p looks like a jump from nothing to something.

The course's scaling sweep (``course_lib/assets/scaling_sweep.json``: tiny GPTs of six sizes,
each trained on seven budgets) gives p without any new training: a validation loss of
``loss`` nats per character means the model gives the right next character a probability
of ``exp(-loss)`` on (geometric) average. Plotted against the training compute C = 6 N D, the
loss falls smoothly while the exact match of a long answer shoots up.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from course_lib.evaluation.inputs import check_int


def exact_match_from_per_token(p, length: int):
    """p^length: the chance that all ``length`` tokens are right when each is right with probability p."""
    length = check_int(length, "length", 1)
    values = np.asarray(p, dtype=np.float64)
    if values.size == 0 or not np.all((values >= 0) & (values <= 1)):
        raise ValueError(f"p: expected probabilities in [0, 1], got {p!r:.60}")
    return values**length


@dataclass(frozen=True)
class EmergenceCurves:
    """One entry per run of a sweep, sorted by training compute (each array of shape (runs,))."""

    compute: np.ndarray                 # training FLOPs, 6 N D
    n_params: np.ndarray                # N: non-embedding parameters
    n_tokens: np.ndarray                # D: training tokens (characters)
    loss: np.ndarray                    # validation loss, nats per character: the smooth metric
    per_token: np.ndarray               # exp(-loss): probability of the right character
    exact_match: dict[int, np.ndarray]  # answer length L -> per_token ** L: the sharp metric


def emergence_curves(rows: Sequence[dict] | None = None,
                     answer_lengths: Sequence[int] = (1, 3, 10)) -> EmergenceCurves:
    """The smooth and the sharp metric of every run in ``rows`` (default: the shipped sweep's rows).

    Each row needs ``n_params``, ``n_tokens`` and ``loss`` (nats per token), as the rows of
    ``course_lib.scaling.load_sweep()`` (whose tokens are characters).
    """
    if rows is None:
        # Imported here, not at the top: course_lib.scaling itself imports this package
        # (for validation_loss), so a top-level import would go round in a circle.
        from course_lib.scaling import load_sweep
        rows = load_sweep()["rows"]
    if not rows:
        raise ValueError("rows: expected at least one run, got none")
    columns = {}
    for key in ("n_params", "n_tokens", "loss"):
        try:
            columns[key] = np.array([row[key] for row in rows], dtype=np.float64)
        except (KeyError, TypeError):
            raise ValueError(f"rows: every row needs a number for {key!r}") from None
        if not np.all(np.isfinite(columns[key])) or not np.all(columns[key] > 0):
            raise ValueError(f"rows: {key!r} must be finite and > 0 in every row")
    lengths = [check_int(length, "answer_lengths", 1) for length in answer_lengths]
    compute = 6 * columns["n_params"] * columns["n_tokens"]                    # C = 6 N D (scaling.training_flops)
    order = np.argsort(compute, kind="stable")
    per_token = np.exp(-columns["loss"][order])
    return EmergenceCurves(compute=compute[order], n_params=columns["n_params"][order],
                           n_tokens=columns["n_tokens"][order], loss=columns["loss"][order], per_token=per_token,
                           exact_match={length: exact_match_from_per_token(per_token, length) for length in lengths})
