"""Scoring a classifier: the confusion matrix and everything read off it, ROC and PR curves, calibration.

**Counts first.** For a binary task with the positive class 1, each example is one of

    true positive  TP: predicted 1, truly 1        false positive FP: predicted 1, truly 0
    false negative FN: predicted 0, truly 1        true negative  TN: predicted 0, truly 0

    precision = TP / (TP + FP)    of what was flagged, how much was right
    recall    = TP / (TP + FN)    of what was there, how much was found (the true positive rate, TPR)
    F1        = 2 TP / (2 TP + FP + FN), the harmonic mean of precision and recall

A ratio whose denominator is 0 (no example predicted positive, say) is undefined; it
returns ``zero_division`` (0 by default, as scikit-learn). With several classes, **macro**
averaging computes the metric per class and takes the plain mean (every class counts the
same, however rare); **micro** averaging adds up the counts of all classes first (every
example counts the same; for one label per example, micro P = R = F1 = accuracy).

**Curves.** A classifier that outputs a score is turned into labels by a threshold: predict 1
when ``score >= threshold``. Lowering the threshold from above the highest score to the
lowest traces the **ROC curve** (false positive rate FP / (FP + TN) against TPR) from (0, 0)
to (1, 1), and the **precision-recall curve**. Examples with tied scores cross the threshold
together, so the curve moves diagonally there. The area under the ROC curve (AUC) is the
probability that a random positive scores above a random negative, **a tie counting half**;
the trapezoids of the curve compute exactly that (see ``roc_auc``).

**Calibration.** A model that says "80 % sure" should be right 80 % of the time. Put the
confidences in ``n_bins`` equal bins; in each bin compare the mean confidence with the fraction
correct (a **reliability diagram** plots one against the other). The **expected calibration
error** is the average gap, each bin weighted by the number of examples in it:

    ECE = sum over bins b of  (n_b / N) * | accuracy_b - confidence_b |

Bin-edge rule (Guo et al. 2017, and scikit-learn's ``calibration_curve``): bin b holds the
confidences in ``(b / n_bins, (b + 1) / n_bins]``; 0 goes to the first bin. A confidence that
lands exactly on an edge belongs to the bin below it, and 1.0 to the last bin.

Read in this order: ``confusion_matrix``, ``precision_recall_f1``, ``roc_curve`` and ``roc_auc``,
``precision_recall_curve`` and ``average_precision``, ``reliability_diagram`` and
``expected_calibration_error``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from course_lib.evaluation.inputs import as_binary, as_class_ids, as_vector, check_int, check_same_length

AVERAGES = ("binary", "macro", "micro")


# ----- 1. the confusion matrix ---------------------------------------------------------------------
def confusion_matrix(predictions, targets, num_classes: int | None = None) -> torch.Tensor:
    """(C, C) int64 counts: row = true class, column = predicted class (scikit-learn's layout).

    For two classes that is ``[[TN, FP], [FN, TP]]``. ``num_classes`` defaults to the largest
    id seen plus one.
    """
    predictions, targets = as_class_ids(predictions, "predictions"), as_class_ids(targets, "targets")
    check_same_length(predictions=predictions, targets=targets)
    largest = int(max(predictions.max(), targets.max()))
    if num_classes is None:
        num_classes = largest + 1
    elif check_int(num_classes, "num_classes", 1) <= largest:
        raise ValueError(f"num_classes={num_classes}, but class id {largest} appears (ids go from 0 to num_classes - 1)")
    pair_ids = targets * num_classes + predictions                              # (N,) one id per (true, predicted)
    return torch.bincount(pair_ids, minlength=num_classes**2).view(num_classes, num_classes)


def _ratio(numerator: torch.Tensor, denominator: torch.Tensor, zero_division: float) -> torch.Tensor:
    """numerator / denominator, with ``zero_division`` where the denominator is 0."""
    safe = torch.where(denominator > 0, denominator, torch.ones_like(denominator))
    return torch.where(denominator > 0, numerator / safe, torch.full_like(numerator, zero_division))


# ----- 2. precision, recall, F1 ----------------------------------------------------------------------
def precision_recall_f1(predictions, targets, average: str = "binary", positive: int = 1,
                        zero_division: float = 0.0) -> tuple[float, float, float]:
    """(precision, recall, F1) of predicted class ids against true ones.

    ``average="binary"``: labels must be 0 or 1; the scores of class ``positive``.
    ``"macro"``: the mean over the classes that appear (in predictions or targets) of each
    class's score. ``"micro"``: the scores of the counts summed over all classes.
    ``zero_division``: the value of a ratio whose denominator is 0.
    """
    if average not in AVERAGES:
        raise ValueError(f"average: expected one of {AVERAGES}, got {average!r}")
    if isinstance(zero_division, bool) or not isinstance(zero_division, (int, float)) or not 0 <= zero_division <= 1:
        raise ValueError(f"zero_division: expected a number in [0, 1], got {zero_division!r}")
    if average == "binary":
        if positive not in (0, 1) or isinstance(positive, bool):
            raise ValueError(f"positive: expected 0 or 1 (the class whose scores are wanted), got {positive!r}")
        predictions = as_binary(predictions, "predictions").long()
        targets = as_binary(targets, "targets").long()
    counts = confusion_matrix(predictions, targets, num_classes=2 if average == "binary" else None).double()  # (C, C)
    tp = counts.diagonal()                  # (C,) per class: predicted c and truly c
    fp = counts.sum(dim=0) - tp             # (C,) predicted c, truly another class (column minus diagonal)
    fn = counts.sum(dim=1) - tp             # (C,) truly c, predicted another class (row minus diagonal)
    if average == "binary":
        tp, fp, fn = tp[positive:positive + 1], fp[positive:positive + 1], fn[positive:positive + 1]
    elif average == "micro":
        tp, fp, fn = tp.sum(0, keepdim=True), fp.sum(0, keepdim=True), fn.sum(0, keepdim=True)
    else:  # macro: only the classes that appear somewhere (an id never used is not a class of this data)
        present = (tp + fp + fn) > 0
        tp, fp, fn = tp[present], fp[present], fn[present]
    precision = _ratio(tp, tp + fp, zero_division)
    recall = _ratio(tp, tp + fn, zero_division)
    f1 = _ratio(2 * tp, 2 * tp + fp + fn, zero_division)  # = 2PR / (P + R) whenever both are defined
    return precision.mean().item(), recall.mean().item(), f1.mean().item()


# ----- 3. the ROC curve and its area ------------------------------------------------------------------
def _sorted_counts(scores, labels) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """At each distinct score, from the highest down: (threshold, TP, FP) when predicting ``score >= threshold``."""
    scores, labels = as_vector(scores, "scores"), as_binary(labels, "labels")
    check_same_length(scores=scores, labels=labels)
    order = torch.argsort(scores, descending=True, stable=True)
    scores, labels = scores[order], labels[order].double()                     # (N,) each, highest score first
    tp = torch.cumsum(labels, 0)                                                # (N,) positives among the first i + 1
    fp = torch.cumsum(1 - labels, 0)                                            # (N,) negatives among the first i + 1
    # Tied scores cross the threshold together: keep only the last index of each run of equal scores.
    last_of_run = torch.ones_like(scores, dtype=torch.bool)
    last_of_run[:-1] = scores[1:] != scores[:-1]
    return scores[last_of_run], tp[last_of_run], fp[last_of_run]


def roc_curve(scores, labels) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(fpr, tpr, thresholds), float64, one point per distinct score plus the start point (0, 0).

    ``thresholds`` go down from ``inf`` (nothing predicted positive) to the lowest score
    (everything positive: the point (1, 1)). Needs at least one positive and one negative.
    """
    thresholds, tp, fp = _sorted_counts(scores, labels)
    positives, negatives = tp[-1].item(), fp[-1].item()
    if positives == 0 or negatives == 0:
        raise ValueError(f"labels: the ROC curve needs both classes, got {int(positives)} positives and "
                         f"{int(negatives)} negatives")
    start = torch.zeros(1, dtype=torch.float64)
    fpr = torch.cat([start, fp / negatives])                                    # (K + 1,)
    tpr = torch.cat([start, tp / positives])                                    # (K + 1,)
    return fpr, tpr, torch.cat([torch.tensor([float("inf")], dtype=torch.float64), thresholds])


def roc_auc(scores, labels) -> float:
    """The area under the ROC curve, by trapezoids.

    It equals P(score of a random positive > score of a random negative) + 1/2 P(equal): where
    positives and negatives share a score, the curve takes a diagonal step and the trapezoid
    under it is exactly half the rectangle. 1.0 ranks every positive first, 0.5 is a coin flip,
    0.0 ranks every positive last.
    """
    fpr, tpr, _ = roc_curve(scores, labels)
    widths = fpr[1:] - fpr[:-1]                                                 # (K,)
    mean_heights = (tpr[1:] + tpr[:-1]) / 2                                     # (K,)
    return (widths * mean_heights).sum().item()


# ----- 4. the precision-recall curve ------------------------------------------------------------------
def precision_recall_curve(scores, labels) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(precision, recall, thresholds), float64, ordered like ``roc_curve``: thresholds going down.

    The first point, at threshold ``inf``, predicts nothing positive: recall 0 and, by
    convention, precision 1 (as scikit-learn's last point). Needs at least one positive.
    """
    thresholds, tp, fp = _sorted_counts(scores, labels)
    positives = tp[-1].item()
    if positives == 0:
        raise ValueError("labels: recall needs at least one positive example, got none")
    precision = torch.cat([torch.ones(1, dtype=torch.float64), tp / (tp + fp)])  # tp + fp >= 1 at every score
    recall = torch.cat([torch.zeros(1, dtype=torch.float64), tp / positives])
    return precision, recall, torch.cat([torch.tensor([float("inf")], dtype=torch.float64), thresholds])


def average_precision(scores, labels) -> float:
    """The precision at each threshold weighted by the recall gained there: sum (R_k - R_(k-1)) P_k.

    A step summary of the precision-recall curve, without the optimistic linear
    interpolation of a trapezoid (scikit-learn's ``average_precision_score``).
    """
    precision, recall, _ = precision_recall_curve(scores, labels)
    return ((recall[1:] - recall[:-1]) * precision[1:]).sum().item()


# ----- 5. calibration ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ReliabilityDiagram:
    """What a reliability diagram plots, bin by bin (each tensor (n_bins,), float64, except ``edges``)."""

    edges: torch.Tensor        # (n_bins + 1,) 0, 1/n_bins, ..., 1
    counts: torch.Tensor       # examples in each bin
    confidence: torch.Tensor   # mean confidence in each bin (nan where the bin is empty)
    accuracy: torch.Tensor     # fraction correct in each bin (nan where the bin is empty)

    @property
    def gaps(self) -> torch.Tensor:
        """|accuracy - confidence| per bin (nan for empty bins)."""
        return (self.accuracy - self.confidence).abs()


def reliability_diagram(confidences, correct, n_bins: int = 15) -> ReliabilityDiagram:
    """Bin ``confidences`` (each in [0, 1]) into ``n_bins`` equal bins and average each bin.

    ``correct[i]`` is 1 when prediction i was right, 0 otherwise. Bin b holds
    ``b / n_bins < confidence <= (b + 1) / n_bins`` (0 goes to bin 0).
    """
    confidences, correct = as_vector(confidences, "confidences"), as_binary(correct, "correct").double()
    check_same_length(confidences=confidences, correct=correct)
    n_bins = check_int(n_bins, "n_bins", 1)
    if bool(((confidences < 0) | (confidences > 1)).any()):
        bad = confidences[(confidences < 0) | (confidences > 1)][0].item()
        raise ValueError(f"confidences: expected probabilities in [0, 1], got {bad!r}")
    edges = torch.arange(n_bins + 1, dtype=torch.float64) / n_bins              # (M + 1,) exactly b / M
    # bucketize (right=False) gives b with edge[b] < x <= edge[b + 1] among the inner edges: the rule above.
    bins = torch.bucketize(confidences, edges[1:-1], right=False)              # (N,) in 0 .. M - 1
    counts = torch.bincount(bins, minlength=n_bins).double()                    # (M,)
    confidence_sums = torch.bincount(bins, weights=confidences, minlength=n_bins)
    correct_sums = torch.bincount(bins, weights=correct, minlength=n_bins)
    empty = counts == 0
    nan = torch.full_like(counts, float("nan"))
    return ReliabilityDiagram(edges=edges, counts=counts,
                              confidence=torch.where(empty, nan, confidence_sums / counts.clamp(min=1)),
                              accuracy=torch.where(empty, nan, correct_sums / counts.clamp(min=1)))


def expected_calibration_error(confidences, correct, n_bins: int = 15) -> float:
    """ECE: the gap |accuracy - confidence| of each bin, weighted by the bin's share of the examples."""
    diagram = reliability_diagram(confidences, correct, n_bins)
    filled = diagram.counts > 0
    weights = diagram.counts[filled] / diagram.counts.sum()                     # a bin counts by its size
    return (weights * diagram.gaps[filled]).sum().item()
