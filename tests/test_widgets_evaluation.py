"""Lesson 08's explorers, headless: the threshold explorer's counts are the confusion matrix of
``score >= threshold`` (checked against scikit-learn), its ROC point lies on the curve, the
emergence explorer plots p and p^L of the shipped sweep, and each slider redraws exactly once."""
import matplotlib

matplotlib.use("Agg")  # no display needed: the explorers render to PNG bytes

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix as sk_confusion_matrix
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

from course_lib.evaluation.emergence import emergence_curves
from course_lib.widgets.emergence_explorer import emergence_data, emergence_explorer
from course_lib.widgets.threshold_explorer import threshold_data, threshold_explorer

PNG = b"\x89PNG\r\n\x1a\n"


def count_redraws(explorer):
    seen = []
    explorer.image.observe(lambda change: seen.append(1), names="value")
    return seen


def scored_examples(seed=0, n=300):
    rng = np.random.default_rng(seed)
    labels = rng.random(n) < 0.3
    scores = np.round(rng.normal(labels * 1.5, 1.0), 1)     # rounded: many tied scores
    return scores, labels.astype(int)


@pytest.mark.parametrize("threshold", [-5.0, -0.3, 0.0, 0.7, 1.2, 9.0])
def test_threshold_counts_are_the_confusion_matrix_of_score_at_least_threshold(threshold):
    scores, labels = scored_examples()
    picture = threshold_data(scores, labels, threshold)
    predicted = (scores >= threshold).astype(int)
    (tn, fp), (fn, tp) = sk_confusion_matrix(labels, predicted, labels=[0, 1])
    assert (picture.tn, picture.fp, picture.fn, picture.tp) == (tn, fp, fn, tp)
    assert picture.precision == pytest.approx(precision_score(labels, predicted, zero_division=0), abs=1e-12)
    assert picture.recall == pytest.approx(recall_score(labels, predicted, zero_division=0), abs=1e-12)
    assert picture.f1 == pytest.approx(f1_score(labels, predicted, zero_division=0), abs=1e-12)
    assert picture.fpr == pytest.approx(fp / (fp + tn), abs=1e-12)
    assert picture.auc == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    # the marked point is a point of the ROC curve (thresholds at the scores themselves)
    assert any(abs(f - picture.fpr) < 1e-12 and abs(t - picture.recall) < 1e-12
               for f, t in zip(picture.roc_fpr, picture.roc_tpr))


def test_threshold_explorer_redraws_once_and_the_readout_follows():
    scores, labels = scored_examples(1)
    explorer = threshold_explorer(scores, labels)
    assert set(explorer.controls) == {"threshold"} and explorer.image.value[:8] == PNG
    assert explorer.controls["threshold"].value == pytest.approx(np.median(scores))
    redraws = count_redraws(explorer)
    first = explorer.image.value
    explorer.controls["threshold"].value = 1.5
    t = explorer.controls["threshold"].value
    assert len(redraws) == 1 and explorer.image.value != first
    predicted = (scores >= t).astype(int)
    tp = int(((predicted == 1) & (labels == 1)).sum())
    fp = int(((predicted == 1) & (labels == 0)).sum())
    assert f"TP {tp}, FP {fp}" in explorer.readout.value
    ax_scores, ax_roc = explorer.figure.axes
    assert any(list(line.get_xdata()) == [t, t] for line in ax_scores.lines)      # the threshold line
    point = ax_roc.lines[-1]
    assert point.get_xdata()[0] == pytest.approx(explorer.data.fpr)
    assert point.get_ydata()[0] == pytest.approx(explorer.data.recall)


def test_threshold_explorer_refuses_bad_input():
    with pytest.raises(ValueError, match="binary labels"):
        threshold_explorer([0.1, 0.2, 0.3], [0, 2, 1])
    with pytest.raises(ValueError, match="one value per example"):
        threshold_explorer([0.1, 0.2, 0.3], [0, 1])
    with pytest.raises(ValueError, match="two different scores"):
        threshold_explorer([0.5, 0.5], [0, 1])


@pytest.mark.parametrize("length", [1, 7, 40])
def test_emergence_data_is_p_and_p_to_the_L_of_the_shipped_sweep(length):
    picture = emergence_data(length)
    curves = emergence_curves()
    assert np.array_equal(picture.compute, curves.compute)
    assert np.allclose(picture.per_token, np.exp(-curves.loss), rtol=1e-12)
    assert np.allclose(picture.exact_match, picture.per_token ** length, rtol=1e-12)
    assert np.all(np.diff(picture.compute) >= 0)


def test_emergence_explorer_redraws_once_per_notch():
    explorer = emergence_explorer(length=1)
    assert explorer.image.value[:8] == PNG
    redraws = count_redraws(explorer)
    explorer.controls["length"].value = 30
    assert len(redraws) == 1 and explorer.data.length == 30
    _, ax_sharp = explorer.figure.axes
    plotted = np.concatenate([line.get_ydata() for line in ax_sharp.lines])
    assert np.allclose(np.sort(plotted), np.sort(explorer.data.per_token ** 30))
    assert "L = 30" in explorer.readout.value and "30-character" in ax_sharp.get_title()
    with pytest.raises(ValueError, match="length"):
        emergence_explorer(length=0)
