"""What every optimizer in this package shares: checking its settings, and the closure.

The checks mirror torch.optim's (the same settings are rejected), but the message names
the setting, the value that came, and what was expected.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch


def _check_number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__} ({value!r:.60})")
    if math.isnan(value):
        raise ValueError(f"{name}: expected a number, got nan")
    return float(value)


def check_lr(lr) -> float:
    """A learning rate must be a number >= 0 (0 is allowed: a frozen optimizer)."""
    lr = _check_number(lr, "lr")
    if lr < 0:
        raise ValueError(f"Invalid learning rate lr={lr!r}: expected a number >= 0")
    return lr


def check_non_negative(value, name: str) -> float:
    """Weight decay, epsilon, momentum and friends must be numbers >= 0."""
    value = _check_number(value, name)
    if value < 0:
        raise ValueError(f"Invalid {name}={value!r}: expected a number >= 0")
    return value


def check_beta(value, name: str) -> float:
    """A decay rate of a running average must lie in [0, 1): 1 would never forget the start."""
    value = _check_number(value, name)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"Invalid {name}={value!r}: expected a number in [0, 1)")
    return value


def check_betas(betas) -> tuple[float, float]:
    """Adam's (beta1, beta2): a pair, each in [0, 1)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"Invalid betas={betas!r}: expected a pair (beta1, beta2), each in [0, 1)")
    return check_beta(betas[0], "betas[0]"), check_beta(betas[1], "betas[1]")


def dense_grad(p: torch.Tensor) -> torch.Tensor:
    """The gradient of ``p``; these teaching optimizers do not handle sparse gradients."""
    if p.grad.is_sparse:
        raise RuntimeError("these optimizers handle dense gradients only; got a sparse gradient")
    return p.grad


def evaluate_closure(closure: Callable[[], torch.Tensor] | None):
    """torch's optimizer protocol: ``step(closure)`` re-evaluates the loss (with gradients) first."""
    if closure is None:
        return None
    with torch.enable_grad():
        return closure()
