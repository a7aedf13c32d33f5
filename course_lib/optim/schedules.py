"""Learning-rate schedules: how the step size changes over training.

A schedule here is a function of the step number that returns a *factor*; the learning rate
at step s is ``base_lr * schedule(s)``. That is exactly what ``torch.optim.lr_scheduler.LambdaLR``
expects, so any of these plugs into torch with ``make_scheduler(optimizer, schedule)``.

Step counting (the classic off-by-one lives here):

* s = 0, 1, 2, ... counts the optimizer steps already taken: ``schedule(s)`` is the factor
  for update number s + 1. LambdaLR follows this: its factor for the first update is
  ``schedule(0)``, and each ``scheduler.step()`` after ``optimizer.step()`` moves s on by one.
* Warmup of W steps rises linearly and *starts above zero*: ``schedule(s) = (s + 1) / W`` for
  s < W. So update 1 uses lr / W (a factor of 0 would waste the first step), and update W,
  the last warmup step, uses the full lr.
* The decay then runs from the full lr at s = W to ``final_factor * lr`` at s = total_steps,
  with progress ``p = (s - W) / (total_steps - W)``, and stays there afterwards. (The full lr is
  therefore used twice, at s = W - 1 and s = W, exactly as torch's SequentialLR of a LinearLR
  warmup and a CosineAnnealingLR does.)

Warmup followed by a constant rate is ``WarmupLinear(W, T, final_factor=1.0)``.

Each schedule is a small class (rather than a lambda) so that it prints its settings and
pickles with a checkpoint.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


def _check_step(step) -> int:
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"step: expected an int >= 0, got {step!r}")
    return step


def _check_count(value, name: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value!r}")


def _check_factor(value, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name}: expected a number in [0, 1], got {value!r}")


@dataclass(frozen=True)
class Constant:
    """The same learning rate at every step: factor 1."""

    def __call__(self, step: int) -> float:
        _check_step(step)
        return 1.0


@dataclass(frozen=True)
class StepDecay:
    """Multiply the learning rate by ``gamma`` every ``step_size`` steps (torch's StepLR)."""

    step_size: int
    gamma: float = 0.1

    def __post_init__(self):
        _check_count(self.step_size, "step_size", 1)
        if isinstance(self.gamma, bool) or not isinstance(self.gamma, (int, float)) or not self.gamma > 0:
            raise ValueError(f"gamma: expected a number > 0, got {self.gamma!r}")

    def __call__(self, step: int) -> float:
        step = _check_step(step)
        return self.gamma ** (step // self.step_size)  # gamma^floor(s / step_size)


@dataclass(frozen=True)
class _WarmupThenDecay:
    """Linear warmup over ``warmup_steps``, then a decay to ``final_factor`` at ``total_steps``."""

    warmup_steps: int
    total_steps: int
    final_factor: float = 0.0

    def __post_init__(self):
        _check_count(self.warmup_steps, "warmup_steps", 0)
        _check_count(self.total_steps, "total_steps", 1)
        if self.warmup_steps >= self.total_steps:
            raise ValueError(
                f"warmup_steps must be smaller than total_steps, got warmup_steps="
                f"{self.warmup_steps} and total_steps={self.total_steps}"
            )
        _check_factor(self.final_factor, "final_factor")

    def decay_shape(self, progress: float) -> float:
        """1 at progress 0, falling to 0 at progress 1."""
        raise NotImplementedError

    def __call__(self, step: int) -> float:
        s = _check_step(step)
        W, T = self.warmup_steps, self.total_steps
        if s < W:
            return (s + 1) / W  # warmup: 1/W, 2/W, ..., W/W = 1
        progress = min(1.0, (s - W) / (T - W))  # 0 at s = W, 1 at s = T (and after)
        return self.final_factor + (1 - self.final_factor) * self.decay_shape(progress)


@dataclass(frozen=True)
class WarmupLinear(_WarmupThenDecay):
    """Linear warmup, then a straight line down to ``final_factor`` (no warmup: ``warmup_steps=0``)."""

    def decay_shape(self, progress: float) -> float:
        return 1.0 - progress  # 1 - p


@dataclass(frozen=True)
class WarmupCosine(_WarmupThenDecay):
    """Linear warmup, then half a cosine down to ``final_factor`` (no warmup: ``warmup_steps=0``)."""

    def decay_shape(self, progress: float) -> float:
        return 0.5 * (1.0 + math.cos(math.pi * progress))  # (1 + cos(pi p)) / 2


def make_scheduler(optimizer: Optimizer, schedule) -> LambdaLR:
    """A torch scheduler that follows ``schedule``; call ``.step()`` after each ``optimizer.step()``."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer: expected a torch.optim.Optimizer, got {type(optimizer).__name__}")
    if not callable(schedule):
        raise TypeError(f"schedule: expected a function of the step number, got {schedule!r}")
    return LambdaLR(optimizer, lr_lambda=schedule)


def lr_curve(schedule, base_lr: float, n_steps: int) -> list[float]:
    """The learning rates of the first ``n_steps`` updates, for plotting a schedule."""
    _check_count(n_steps, "n_steps", 0)
    return [base_lr * schedule(s) for s in range(n_steps)]
