"""Classification metrics against scikit-learn and torchmetrics, and against hand-counted cases.

The oracles are optional (``pytest.importorskip``): the hand cases below hold on their own.
Scores are rounded to one decimal so that ties between positives and negatives are common:
the case where ROC implementations differ.
"""
from __future__ import annotations

from itertools import product

import numpy as np
import pytest
import torch

from course_lib.evaluation.classification import (
    average_precision,
    confusion_matrix,
    expected_calibration_error,
    precision_recall_curve,
    precision_recall_f1,
    reliability_diagram,
    roc_auc,
    roc_curve,
)

SEEDS = [0, 1, 2, 3]


def scored_examples(seed: int, n: int = 200, positive_rate: float = 0.3):
    """Labels and noisy scores that rank positives higher on average, with many ties."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < positive_rate).astype(np.int64)
    labels[:2] = [0, 1]                                            # both classes, always
    scores = np.round(np.clip(0.35 * labels + rng.normal(0.4, 0.2, n), 0, 1), 1)
    return scores, labels


def pairwise_auc(scores, labels) -> float:
    """The definition: P(positive scores above negative) + 1/2 P(tie), over every pair."""
    positives = [s for s, y in zip(scores, labels) if y == 1]
    negatives = [s for s, y in zip(scores, labels) if y == 0]
    wins = sum((p > q) + 0.5 * (p == q) for p, q in product(positives, negatives))
    return wins / (len(positives) * len(negatives))


# ----- hand cases -------------------------------------------------------------------------------
def test_confusion_matrix_counts_by_hand():
    predictions = [1, 1, 0, 0, 1, 0, 1]
    targets = [1, 0, 0, 1, 1, 0, 0]
    # rows: truth, columns: prediction -> [[TN, FP], [FN, TP]]
    assert confusion_matrix(predictions, targets).tolist() == [[2, 2], [1, 2]]
    assert confusion_matrix([2, 0], [0, 2], num_classes=4).tolist() == [[0, 0, 1, 0], [0] * 4, [1, 0, 0, 0], [0] * 4]
    assert confusion_matrix(torch.tensor([1]), torch.tensor([1])).dtype == torch.int64


def test_precision_recall_f1_by_hand_and_not_swapped():
    # TP = 2, FP = 2, FN = 1: precision 2/4, recall 2/3, F1 = 4 / (4 + 2 + 1)
    p, r, f1 = precision_recall_f1([1, 1, 0, 0, 1, 0, 1], [1, 0, 0, 1, 1, 0, 0])
    assert (p, r) == pytest.approx((0.5, 2 / 3)) and f1 == pytest.approx(4 / 7)
    # class 0 as the positive one: TP = 2 (TN above), FP = 1, FN = 2
    assert precision_recall_f1([1, 1, 0, 0, 1, 0, 1], [1, 0, 0, 1, 1, 0, 0], positive=0) == pytest.approx(
        (2 / 3, 0.5, 4 / 7))


def test_zero_division_gives_the_chosen_value():
    # nothing predicted positive: precision is 0 / 0; nothing truly positive: recall is 0 / 0
    assert precision_recall_f1([0, 0, 0], [1, 0, 1]) == (0.0, 0.0, 0.0)
    assert precision_recall_f1([0, 0, 0], [1, 0, 1], zero_division=1.0) == (1.0, 0.0, 0.0)
    assert precision_recall_f1([0, 0], [0, 0], zero_division=1.0) == (1.0, 1.0, 1.0)
    assert precision_recall_f1([1, 0], [0, 0]) == (0.0, 0.0, 0.0)


def test_macro_and_micro_by_hand():
    predictions = [0, 0, 1, 2, 2, 2]
    targets = [0, 1, 1, 2, 0, 2]
    # per class (TP, FP, FN): 0: (1, 1, 1)  1: (1, 0, 1)  2: (2, 1, 0)
    f1_per_class = [2 / 4, 2 / 3, 4 / 5]
    assert precision_recall_f1(predictions, targets, "macro")[2] == pytest.approx(sum(f1_per_class) / 3)
    accuracy = 4 / 6  # micro P = R = F1 = accuracy with one label per example
    assert precision_recall_f1(predictions, targets, "micro") == pytest.approx((accuracy,) * 3)
    # a class id that never occurs (1 here) is not a class of the data: it does not drag the macro mean
    assert precision_recall_f1([0, 2, 2], [0, 2, 0], "macro") == pytest.approx(((1 + 0.5) / 2, (0.5 + 1) / 2,
                                                                               (2 / 3 + 2 / 3) / 2))


def test_auc_counts_ties_as_half():
    # one positive and one negative with the same score: a coin flip, not 0 and not 1
    assert roc_auc([0.5, 0.5], [1, 0]) == 0.5
    scores, labels = [0.9, 0.5, 0.5, 0.5, 0.1], [1, 1, 0, 0, 0]
    assert roc_auc(scores, labels) == pytest.approx(pairwise_auc(scores, labels)) == pytest.approx(5 / 6)
    assert roc_auc([0.1, 0.9], [1, 0]) == 0.0 and roc_auc([0.9, 0.1], [1, 0]) == 1.0  # not swapped


@pytest.mark.parametrize("seed", SEEDS)
def test_auc_is_the_pairwise_probability(seed):
    scores, labels = scored_examples(seed, n=60)
    assert roc_auc(scores, labels) == pytest.approx(pairwise_auc(scores, labels), abs=1e-12)


def test_roc_curve_steps_diagonally_over_ties():
    fpr, tpr, thresholds = roc_curve([0.9, 0.5, 0.5, 0.1], [1, 1, 0, 0])
    assert thresholds.tolist() == [float("inf"), 0.9, 0.5, 0.1]
    assert fpr.tolist() == [0, 0, 0.5, 1] and tpr.tolist() == [0, 0.5, 1, 1]  # (0, .5) -> (.5, 1) in one step


def test_precision_recall_curve_by_hand():
    precision, recall, thresholds = precision_recall_curve([0.8, 0.4, 0.4, 0.1], [1, 0, 1, 0])
    assert thresholds.tolist() == [float("inf"), 0.8, 0.4, 0.1]
    assert recall.tolist() == [0, 0.5, 1, 1]
    assert precision.tolist() == pytest.approx([1, 1, 2 / 3, 0.5])
    assert average_precision([0.8, 0.4, 0.4, 0.1], [1, 0, 1, 0]) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)


def test_calibration_bins_by_hand_and_the_edge_rule():
    # 4 bins: (0, .25], (.25, .5], (.5, .75], (.75, 1]; an edge belongs to the bin below; 0 to the first
    confidences = [0.0, 0.25, 0.3, 0.5, 0.9, 1.0, 1.0]
    correct = [0, 1, 0, 1, 1, 1, 0]
    diagram = reliability_diagram(confidences, correct, n_bins=4)
    assert diagram.counts.tolist() == [2, 2, 0, 3]
    assert diagram.confidence[0].item() == pytest.approx(0.125) and diagram.accuracy[0].item() == 0.5
    assert diagram.confidence[1].item() == pytest.approx(0.4) and diagram.accuracy[1].item() == 0.5
    assert diagram.confidence[2].isnan() and diagram.accuracy[2].isnan()      # an empty bin has no mean
    assert diagram.confidence[3].item() == pytest.approx(2.9 / 3) and diagram.accuracy[3].item() == pytest.approx(2 / 3)
    # bins weighted by their counts: 2/7 |.5 - .125| + 2/7 |.5 - .4| + 3/7 |2/3 - 2.9/3|
    expected = 2 / 7 * 0.375 + 2 / 7 * 0.1 + 3 / 7 * (0.9 / 3)
    assert expected_calibration_error(confidences, correct, n_bins=4) == pytest.approx(expected)
    # an edge value like 0.3 for 10 bins (0.3 * 10 > 3 in floating point) still lands in (0.2, 0.3]
    assert reliability_diagram([0.3], [1], n_bins=10).counts.argmax().item() == 2


def test_ece_weights_bins_by_count_not_equally():
    # a bin of 9 examples off by 0.05 and a bin of 1 off by 0.85: the big bin dominates
    confidences = [0.95] * 9 + [0.15]
    correct = [1] * 9 + [1]
    weighted = 9 / 10 * 0.05 + 1 / 10 * 0.85
    assert expected_calibration_error(confidences, correct, n_bins=10) == pytest.approx(weighted)
    assert weighted != pytest.approx((0.05 + 0.85) / 2)
    assert expected_calibration_error([0.8] * 5, [1, 1, 1, 1, 0]) == pytest.approx(0.0)  # perfectly calibrated


# ----- the oracles --------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_against_scikit_learn(seed):
    metrics = pytest.importorskip("sklearn.metrics")
    calibration = pytest.importorskip("sklearn.calibration")
    scores, labels = scored_examples(seed)
    predictions = (scores >= 0.5).astype(np.int64)
    assert confusion_matrix(predictions, labels).numpy().tolist() == metrics.confusion_matrix(labels, predictions).tolist()
    for average in ("binary", "macro", "micro"):
        for zero_division in (0.0, 1.0):
            ours = precision_recall_f1(predictions, labels, average, zero_division=zero_division)
            theirs = metrics.precision_recall_fscore_support(labels, predictions, average=average,
                                                             zero_division=zero_division)[:3]
            assert ours == pytest.approx(theirs, abs=1e-12), average
    fpr, tpr, thresholds = roc_curve(scores, labels)
    sk_fpr, sk_tpr, sk_thresholds = metrics.roc_curve(labels, scores, drop_intermediate=False)
    np.testing.assert_allclose(fpr.numpy(), sk_fpr)
    np.testing.assert_allclose(tpr.numpy(), sk_tpr)
    np.testing.assert_allclose(thresholds.numpy()[1:], sk_thresholds[1:])
    assert roc_auc(scores, labels) == pytest.approx(metrics.roc_auc_score(labels, scores), abs=1e-12)
    precision, recall, pr_thresholds = precision_recall_curve(scores, labels)
    sk_precision, sk_recall, sk_pr_thresholds = metrics.precision_recall_curve(labels, scores, drop_intermediate=False)
    np.testing.assert_allclose(precision.numpy(), sk_precision[::-1])     # scikit-learn orders thresholds upwards
    np.testing.assert_allclose(recall.numpy(), sk_recall[::-1])
    np.testing.assert_allclose(pr_thresholds.numpy()[1:], sk_pr_thresholds[::-1])
    assert average_precision(scores, labels) == pytest.approx(metrics.average_precision_score(labels, scores))
    # calibration: confidences spread over (0, 1), none exactly on a bin edge
    rng = np.random.default_rng(seed)
    confidences = rng.uniform(0.01, 0.99, 300)
    correct = (rng.random(300) < confidences**0.7).astype(np.int64)
    for n_bins in (5, 10, 15):
        diagram = reliability_diagram(confidences, correct, n_bins)
        filled = diagram.counts > 0
        prob_true, prob_pred = calibration.calibration_curve(correct, confidences, n_bins=n_bins, strategy="uniform")
        np.testing.assert_allclose(diagram.accuracy[filled].numpy(), prob_true)
        np.testing.assert_allclose(diagram.confidence[filled].numpy(), prob_pred)


@pytest.mark.parametrize("seed", SEEDS)
def test_against_torchmetrics(seed):
    functional = pytest.importorskip("torchmetrics.functional.classification")
    scores, labels = scored_examples(seed)
    scores_t, labels_t = torch.tensor(scores), torch.tensor(labels)
    predictions = (scores_t >= 0.5).long()
    assert precision_recall_f1(predictions, labels_t) == pytest.approx(
        (functional.binary_precision(predictions, labels_t).item(), functional.binary_recall(predictions, labels_t).item(),
         functional.binary_f1_score(predictions, labels_t).item()), abs=1e-6)
    assert roc_auc(scores_t, labels_t) == pytest.approx(functional.binary_auroc(scores_t, labels_t).item(), abs=1e-6)
    assert average_precision(scores_t, labels_t) == pytest.approx(
        functional.binary_average_precision(scores_t, labels_t).item(), abs=1e-6)
    # three classes, every class present
    generator = torch.Generator().manual_seed(seed)
    targets = torch.randint(0, 3, (150,), generator=generator)
    guesses = torch.where(torch.rand(150, generator=generator) < 0.6, targets, torch.randint(0, 3, (150,), generator=generator))
    for average in ("macro", "micro"):
        assert precision_recall_f1(guesses, targets, average)[2] == pytest.approx(
            functional.multiclass_f1_score(guesses, targets, num_classes=3, average=average).item(), abs=1e-6)
    confidences = torch.rand(300, generator=generator, dtype=torch.float64) * 0.98 + 0.01
    correct = (torch.rand(300, generator=generator, dtype=torch.float64) < confidences).long()
    for n_bins in (5, 15):
        assert expected_calibration_error(confidences, correct, n_bins) == pytest.approx(
            functional.binary_calibration_error(confidences, correct, n_bins=n_bins, norm="l1").item(), abs=1e-9)


# ----- bad input ------------------------------------------------------------------------------------
def test_bad_input_gets_a_clear_error():
    with pytest.raises(ValueError, match="at least one value, got an empty"):
        precision_recall_f1([], [])
    with pytest.raises(ValueError, match="predictions has 3, targets has 2"):
        precision_recall_f1([1, 0, 1], [1, 0])
    with pytest.raises(ValueError, match=r"labels: expected binary labels, each 0 or 1, got 2\.0 at position 1"):
        roc_auc([0.1, 0.2, 0.3], [0, 2, 1])
    with pytest.raises(ValueError, match="targets: expected binary labels"):
        precision_recall_f1([0, 1, 1], [0, 1, 2])
    with pytest.raises(ValueError, match="average: expected one of"):
        precision_recall_f1([0, 1], [0, 1], average="weighted")
    with pytest.raises(ValueError, match="needs both classes, got 0 positives and 3 negatives"):
        roc_curve([0.1, 0.2, 0.3], [0, 0, 0])
    with pytest.raises(ValueError, match="recall needs at least one positive"):
        precision_recall_curve([0.1, 0.2], [0, 0])
    with pytest.raises(ValueError, match="scores: expected finite numbers, found nan"):
        roc_auc([0.1, float("nan")], [0, 1])
    with pytest.raises(ValueError, match=r"confidences: expected probabilities in \[0, 1\], got 1\.2"):
        expected_calibration_error([0.5, 1.2], [1, 0])
    with pytest.raises(ValueError, match="n_bins: expected an int >= 1"):
        expected_calibration_error([0.5], [1], n_bins=0)
    with pytest.raises(ValueError, match="class ids"):
        confusion_matrix([0.5, 1], [0, 1])
    with pytest.raises(ValueError, match="num_classes=2, but class id 3 appears"):
        confusion_matrix([0, 3], [0, 1], num_classes=2)
    with pytest.raises(TypeError, match="sequence of numbers"):
        roc_auc("0.1 0.2", [0, 1])
