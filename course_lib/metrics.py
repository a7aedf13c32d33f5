"""Numbers that say how good a model is: accuracy for classifiers, perplexity for language models.

Perplexity is the exponential of the mean negative log-likelihood (NLL) per token:

    perplexity = exp( -(1/N) * sum_t log p(token_t | what came before) )

It reads as "the model is, on average, as unsure as if it chose uniformly among this many
tokens": a model that gives every one of V tokens probability 1/V has NLL log V and
perplexity exactly V; a model that is always certain and right has perplexity 1.
The mean matters: perplexity does not grow with the length of the text.
"""
from __future__ import annotations

import math

import torch

from course_lib.validation import describe


def perplexity(mean_nll: float | torch.Tensor) -> float:
    """``exp(mean_nll)``: the perplexity from a mean negative log-likelihood in nats (natural log)."""
    if isinstance(mean_nll, torch.Tensor):
        if mean_nll.numel() != 1:
            raise ValueError(
                f"mean_nll: expected one number (the mean NLL), got a tensor of shape {tuple(mean_nll.shape)}; "
                "use perplexity_from_log_probs for per-token values"
            )
        mean_nll = mean_nll.item()
    if isinstance(mean_nll, bool) or not isinstance(mean_nll, (int, float)):
        raise TypeError(f"mean_nll: expected a number, got {describe(mean_nll)}")
    if math.isnan(mean_nll) or mean_nll < 0:
        raise ValueError(f"mean_nll: a negative log-likelihood of discrete tokens is >= 0, got {mean_nll!r}")
    return math.exp(mean_nll) if mean_nll < 709.0 else math.inf  # exp overflows a float past ~709.78


def perplexity_from_log_probs(log_probs: torch.Tensor) -> float:
    """Perplexity from the natural-log probabilities (N,) that a model gave each of N tokens."""
    if not isinstance(log_probs, torch.Tensor) or not log_probs.is_floating_point():
        raise TypeError(f"log_probs: expected a floating-point tensor, got {describe(log_probs)}")
    if log_probs.numel() == 0:
        raise ValueError("log_probs: expected at least one token's log-probability, got an empty tensor")
    if bool((log_probs > 0).any()):
        raise ValueError("log_probs: log-probabilities are <= 0; got a positive value "
                         f"(max {log_probs.max().item():.4g}): were these probabilities or NLLs?")
    return perplexity(-log_probs.double().mean().item())


def accuracy(predictions: torch.Tensor, targets: torch.Tensor) -> float:
    """The fraction of rows classified correctly.

    predictions: (N,) predicted class indices, or (N, C) scores whose argmax is the prediction.
    targets:     (N,) true class indices.
    """
    for name, value in (("predictions", predictions), ("targets", targets)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name}: expected a torch.Tensor, got {describe(value)}")
    if targets.dim() != 1 or targets.is_floating_point():
        raise ValueError(f"targets: expected a 1-d tensor of class indices, got {describe(targets)}")
    if predictions.dim() == 2:
        predictions = predictions.argmax(dim=-1)  # (N, C) scores -> (N,) classes
    elif predictions.dim() != 1 or predictions.is_floating_point():
        raise ValueError(f"predictions: expected (N,) class indices or (N, C) scores, got {describe(predictions)}")
    if predictions.shape != targets.shape:
        raise ValueError(f"predictions and targets: expected the same number of rows, got "
                         f"{predictions.shape[0]} and {targets.shape[0]}")
    if targets.numel() == 0:
        raise ValueError("targets: expected at least one example, got none")
    return (predictions == targets).double().mean().item()
