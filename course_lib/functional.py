"""From scores to probabilities to a loss: softmax, log-softmax and cross-entropy.

A classifier (or a language model) ends with one score per class, called a *logit*.
Softmax turns the scores into probabilities:

    softmax(x)_i = exp(x_i) / sum_j exp(x_j)

Written literally, ``exp(1000.0)`` overflows to ``inf`` and the result is ``inf / inf = nan``.
Softmax does not change when the same number is subtracted from every score (the factor
``exp(-m)`` cancels above and below the fraction), so we subtract the largest score first:
every exponent is then <= 0, every ``exp`` lies in (0, 1], and the largest one is exactly 1,
so the sum can neither overflow nor be zero.

Cross-entropy is the training loss of classification: the average of ``-log p(correct class)``.
Taking ``log(softmax(x))`` is again fragile (a probability that underflows to 0 gives
``log 0 = -inf``), so we compute the logarithm directly:

    log_softmax(x)_i = (x_i - m) - log(sum_j exp(x_j - m)),   m = max_j x_j
"""
from __future__ import annotations

import torch

from course_lib.validation import describe

REDUCTIONS = ("mean", "sum", "none")


def _check_logits(logits, dim: int) -> int:
    """Validate the scores and return ``dim`` as a non-negative axis number."""
    if not isinstance(logits, torch.Tensor):
        raise TypeError(f"logits: expected a torch.Tensor, got {describe(logits)}")
    if not logits.is_floating_point():
        raise TypeError(f"logits: expected a floating-point tensor (e.g. float32), got dtype {logits.dtype}")
    if logits.dim() == 0:
        raise ValueError("logits: expected at least one dimension of class scores, got a 0-d tensor")
    if not -logits.dim() <= dim < logits.dim():
        raise ValueError(f"dim: expected a dimension of a {logits.dim()}-d tensor, got {dim}")
    if logits.shape[dim] == 0:
        raise ValueError(f"logits: dimension {dim} holds the classes and must not be empty, "
                         f"got shape {tuple(logits.shape)}")
    return dim % logits.dim()


def softmax(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Probabilities along ``dim``: positive, summing to 1, safe for any finite scores.

    >>> softmax(torch.tensor([1000.0, 1000.0]))
    tensor([0.5000, 0.5000])
    """
    dim = _check_logits(logits, dim)
    shifted = logits - logits.amax(dim=dim, keepdim=True)  # same shape; the largest entry is now 0
    exps = torch.exp(shifted)                                 # in (0, 1]; no overflow possible
    return exps / exps.sum(dim=dim, keepdim=True)             # the sum is >= 1, never 0


def log_softmax(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """The logarithm of ``softmax(logits, dim)``, computed without taking ``log`` of a tiny number."""
    dim = _check_logits(logits, dim)
    shifted = logits - logits.amax(dim=dim, keepdim=True)
    return shifted - torch.log(torch.exp(shifted).sum(dim=dim, keepdim=True))


def cross_entropy(
    logits: torch.Tensor,
    targets: torch.Tensor,
    reduction: str = "mean",
    ignore_index: int | None = None,
) -> torch.Tensor:
    """The negative log-probability of each target class, averaged (or summed, or not reduced).

    logits:  (..., C) float scores, the classes along the last dimension
             (a batch of examples (N, C), or a language model's (B, T, V)).
    targets: (...)    integer class indices in [0, C), one per row of ``logits``.
    reduction: "mean" (a 0-d tensor), "sum" (a 0-d tensor) or "none" (shape ``targets.shape``).
    ignore_index: targets equal to it add nothing and are left out of the mean
             (e.g. padding); their entries are 0 with ``reduction="none"``.
    """
    _check_logits(logits, -1)
    if not isinstance(targets, torch.Tensor):
        raise TypeError(f"targets: expected a torch.Tensor of class indices, got {describe(targets)}")
    if targets.is_floating_point() or targets.is_complex() or targets.dtype is torch.bool:
        raise TypeError(f"targets: expected integer class indices (e.g. torch.long), got dtype {targets.dtype}")
    if tuple(targets.shape) != tuple(logits.shape[:-1]):
        raise ValueError(
            f"targets: expected shape {tuple(logits.shape[:-1])} (one class index per row of logits "
            f"{tuple(logits.shape)}), got {tuple(targets.shape)}"
        )
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction: expected one of {REDUCTIONS}, got {reduction!r}")

    num_classes = logits.shape[-1]
    kept = torch.ones_like(targets, dtype=torch.bool) if ignore_index is None else targets != ignore_index
    if kept.any():
        low, high = targets[kept].min().item(), targets[kept].max().item()
        if low < 0 or high >= num_classes:
            bad = low if low < 0 else high
            raise ValueError(f"targets: class indices must lie in [0, {num_classes}), got {bad}")

    log_probs = log_softmax(logits, dim=-1)                              # (..., C)
    safe_targets = torch.where(kept, targets, torch.zeros_like(targets))  # ignored rows pick class 0 ...
    picked = log_probs.gather(-1, safe_targets.unsqueeze(-1)).squeeze(-1)  # (...)
    losses = torch.where(kept, -picked, torch.zeros_like(picked))       # ... and are zeroed here

    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / kept.sum()  # 0 / 0 = nan when every target is ignored, as in torch
