"""Training is walking downhill: gradient descent.

Picture a hiker on a hillside in thick fog (or blindfolded). They cannot see the valley,
but they can feel which way the ground slopes under their feet. So they take a step
downhill, feel again, take another step, and so on. That is gradient descent:

    x  <-  x - lr * dLoss/dx

The gradient ``dLoss/dx`` is the slope; its minus sign points downhill. The learning rate
``lr`` is the length of the stride. Too short, and the hiker needs forever; too long, and
they overshoot the valley floor and land higher on the other side, then higher still:
the walk *diverges*.

``descend_1d`` walks a 1-D curve and records the path (for pictures). ``minimize`` does
the same for the tensors of a model; torch's autograd computes the slopes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterable

import torch

from course_lib.validation import check_positive

# Named 1-D loss curves for the pictures and the hiker widget: name -> (function, plot range).
LOSS_CURVES: dict[str, tuple[Callable[[torch.Tensor], torch.Tensor], tuple[float, float]]] = {
    # A plain bowl: slope 2x, so any lr > 1 overshoots by more than it corrects.
    "bowl": (lambda x: x ** 2, (-4.0, 4.0)),
    # Two valleys, the left one deeper: where the hiker ends depends on where it starts.
    "two valleys": (lambda x: 0.25 * x ** 4 - x ** 2 + 0.4 * x + 1.0, (-2.4, 2.4)),
    # A long gentle slope into a steep valley: one fixed stride cannot suit both.
    "gentle then steep": (lambda x: torch.log1p(x ** 2) + 0.05 * x ** 2, (-6.0, 6.0)),
}


@dataclass
class DescentPath:
    """Where the hiker stood after each step (``xs[0]`` is the start) and the loss there."""

    xs: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    diverged: bool = False
    message: str = ""


def descend_1d(
    loss_fn: Callable[[torch.Tensor], torch.Tensor],
    x0: float,
    lr: float,
    steps: int,
    limit: float = 1e6,
) -> DescentPath:
    """Take ``steps`` gradient-descent steps on a 1-D ``loss_fn`` from ``x0``.

    The walk stops early, with ``diverged=True`` and a message, once x or the loss
    leaves ``[-limit, limit]`` or stops being a finite number.
    """
    check_positive(lr, "lr")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps: expected an int >= 0, got {steps!r}")
    x = torch.tensor(float(x0), dtype=torch.float64, requires_grad=True)
    path = DescentPath()
    for step in range(steps + 1):
        loss = loss_fn(x)
        path.xs.append(x.item())
        path.losses.append(loss.item())
        if not (math.isfinite(loss.item()) and abs(x.item()) <= limit and abs(loss.item()) <= limit):
            path.diverged = True
            path.message = (f"diverged after {step} steps: the step size lr={lr:g} is too large, each "
                            "step overshoots the valley and lands higher than before")
            break
        if step == steps:
            break
        (slope,) = torch.autograd.grad(loss, x)
        with torch.no_grad():
            x = (x - lr * slope).requires_grad_()  # the step: against the slope, lr long
    if not path.diverged:
        path.message = f"after {steps} steps: x = {path.xs[-1]:.4g}, loss = {path.losses[-1]:.4g}"
    return path


def minimize(
    loss_fn: Callable[[], torch.Tensor],
    params: Iterable[torch.Tensor],
    lr: float,
    steps: int,
    progress: bool = False,
) -> list[float]:
    """Plain gradient descent: ``steps`` times, ``p -= lr * p.grad`` for every tensor in ``params``.

    ``loss_fn()`` computes the loss from the current ``params`` (which need ``requires_grad``).
    Returns the loss before each step. Same result as ``torch.optim.SGD(params, lr)``.
    """
    params = list(params)
    check_positive(lr, "lr")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps: expected an int >= 0, got {steps!r}")
    for i, p in enumerate(params):
        if not (isinstance(p, torch.Tensor) and p.requires_grad):
            raise ValueError(f"params[{i}]: expected a tensor with requires_grad=True, got {p!r:.60}")
    iterator = range(steps)
    if progress:
        from tqdm.auto import tqdm  # only when asked: keeps the import cheap
        iterator = tqdm(iterator, desc="gradient descent")
    losses = []
    for _ in iterator:
        loss = loss_fn()
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():  # the update itself is not part of the model
            for p in params:
                p -= lr * p.grad
        losses.append(loss.item())
    return losses
