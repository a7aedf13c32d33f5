"""The threshold explorer: one classifier's scores, and what each threshold turns them into.

A classifier that outputs a score predicts 1 when ``score >= threshold``. A slider moves the
threshold. The left panel shows the scores of the positives and of the negatives (two
histograms) with the threshold as a line: everything right of it is flagged. The right panel
is the ROC curve of the scores, with the point of the chosen threshold on it. The readout
gives the confusion matrix and the precision, recall, F1 and false positive rate there.

Moving the threshold trades one kind of error for the other; the ROC curve (and its area) is
what stays the same whichever threshold is chosen.

``threshold_data`` computes everything (no drawing, testable), ``draw_threshold`` draws it,
and ``threshold_explorer`` puts them behind the slider. The metrics are those of
``course_lib.evaluation.classification``.
"""
from __future__ import annotations

import html
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np

from course_lib.evaluation.classification import (
    confusion_matrix,
    precision_recall_f1,
    roc_auc,
    roc_curve,
)
from course_lib.evaluation.inputs import as_binary, as_vector, check_same_length
from course_lib.widgets.panels import PanelExplorer

BINS = 30


@dataclass
class ThresholdPicture:
    threshold: float
    scores: np.ndarray        # (N,)
    labels: np.ndarray        # (N,) bool
    tn: int
    fp: int
    fn: int
    tp: int
    precision: float
    recall: float             # the true positive rate
    f1: float
    fpr: float                # the false positive rate
    roc_fpr: np.ndarray       # the whole ROC curve
    roc_tpr: np.ndarray
    auc: float

    @property
    def readout(self) -> str:
        return (f"threshold {self.threshold:.3g}: TP {self.tp}, FP {self.fp}, FN {self.fn}, TN {self.tn}; "
                f"precision {self.precision:.3f}, recall (TPR) {self.recall:.3f}, F1 {self.f1:.3f}, "
                f"FPR {self.fpr:.3f}; AUC {self.auc:.3f} (the same at every threshold)")


def threshold_data(scores, labels, threshold: float) -> ThresholdPicture:
    """The confusion matrix and scores of predicting ``score >= threshold``, and the ROC curve."""
    scores_t, labels_t = as_vector(scores, "scores"), as_binary(labels, "labels")
    check_same_length(scores=scores_t, labels=labels_t)
    predictions = (scores_t >= threshold).long()
    (tn, fp), (fn, tp) = confusion_matrix(predictions, labels_t.long(), num_classes=2).tolist()
    precision, recall, f1 = precision_recall_f1(predictions, labels_t.long())
    roc_fpr, roc_tpr, _ = roc_curve(scores_t, labels_t)
    return ThresholdPicture(float(threshold), scores_t.numpy(), labels_t.numpy(), tn, fp, fn, tp, precision, recall,
                            f1, fp / max(fp + tn, 1), roc_fpr.numpy(), roc_tpr.numpy(), roc_auc(scores_t, labels_t))


def draw_threshold(axes, picture: ThresholdPicture) -> None:
    """Left: the scores of each class and the threshold. Right: the ROC curve and this threshold's point."""
    ax_scores, ax_roc = axes
    edges = np.linspace(picture.scores.min(), picture.scores.max(), BINS + 1)
    ax_scores.hist(picture.scores[picture.labels], bins=edges, alpha=0.6, color="tab:green",
                   label=f"positives ({int(picture.labels.sum())})")
    ax_scores.hist(picture.scores[~picture.labels], bins=edges, alpha=0.6, color="tab:red",
                   label=f"negatives ({int((~picture.labels).sum())})")
    ax_scores.axvline(picture.threshold, color="k", lw=2, label="threshold: flag what is right of it")
    ax_scores.set_xlabel("score")
    ax_scores.set_ylabel("examples")
    ax_scores.set_title(f"TP {picture.tp}  FP {picture.fp}  FN {picture.fn}  TN {picture.tn}", fontsize=10)
    ax_scores.legend(fontsize=8, loc="upper left")
    ax_roc.plot(picture.roc_fpr, picture.roc_tpr, color="tab:blue", lw=1.8, label=f"ROC (AUC {picture.auc:.3f})")
    ax_roc.plot([0, 1], [0, 1], color="0.6", ls="--", lw=1, label="a coin flip")
    ax_roc.plot([picture.fpr], [picture.recall], "o", color="k", ms=8, label="this threshold")
    ax_roc.set_xlim(-0.02, 1.02)
    ax_roc.set_ylim(-0.02, 1.02)
    ax_roc.set_xlabel("false positive rate FP / (FP + TN)")
    ax_roc.set_ylabel("true positive rate (recall)")
    ax_roc.set_title(f"precision {picture.precision:.2f}, recall {picture.recall:.2f}, F1 {picture.f1:.2f}",
                     fontsize=10)
    ax_roc.legend(fontsize=8, loc="lower right")
    ax_roc.grid(True, alpha=0.3)


class ThresholdExplorer(PanelExplorer):
    """The threshold slider, the two panels and a one-line readout."""

    def __init__(self, controls, compute, draw):
        self.readout = widgets.HTML()
        super().__init__(controls, compute, draw, n_panels=2, figsize=(10.0, 3.8))
        self.children = (*self.children, self.readout)

    def update(self) -> None:
        super().update()
        self.readout.value = f"<div style='font-family:monospace'>{html.escape(self.data.readout)}</div>"


def threshold_explorer(scores, labels, threshold: float | None = None) -> ThresholdExplorer:
    """A threshold slider over the range of ``scores`` (default: their median) for ``labels`` (0 / 1)."""
    values = as_vector(scores, "scores").numpy()
    low, high = float(values.min()), float(values.max())
    if low == high:
        raise ValueError(f"scores: expected at least two different scores to put a threshold between, all are {low}")
    start = float(np.median(values)) if threshold is None else float(threshold)
    controls = {"threshold": widgets.FloatSlider(value=start, min=low, max=high, step=(high - low) / 200,
                                                 description="threshold", readout_format=".3g",
                                                 layout=widgets.Layout(width="420px"))}
    return ThresholdExplorer(controls, lambda threshold: threshold_data(scores, labels, threshold), draw_threshold)
