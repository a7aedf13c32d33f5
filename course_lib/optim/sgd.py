"""Gradient descent and mini-batch stochastic gradient descent.

The update is the simplest there is: step downhill, against the gradient,

    theta <- theta - lr * g

What makes it "gradient descent" or "stochastic gradient descent" is only *which* gradient g
is: the gradient of the loss on the whole training set (gradient descent), or on a random
mini-batch of it (SGD). The optimizer cannot tell the difference, so one class serves both;
``minibatches`` below makes the random mini-batches.

Weight decay (``weight_decay = lambda``) comes in two flavours here:

* coupled, torch's convention and the default: add the L2 penalty's gradient to g,
  ``g <- g + lambda * theta`` (the gradient of ``lambda/2 * ||theta||^2``);
* decoupled (``decoupled_weight_decay=True``): shrink the weights directly,
  ``theta <- theta - lr * lambda * theta``, then take the gradient step.

For plain SGD the two give the same update (they differ only by rounding); for Adam they do
not (see ``course_lib.regularization.compare_l2_and_decoupled_decay``).
"""
from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.optim import Optimizer

from course_lib.optim._common import (
    check_lr,
    check_non_negative,
    dense_grad,
    evaluate_closure,
)


class SGD(Optimizer):
    """Gradient descent, ``theta <- theta - lr * (g + weight_decay * theta)``.

    Matches ``torch.optim.SGD(params, lr, weight_decay=...)`` with ``momentum=0``.
    Feed it full-batch gradients and it is gradient descent; mini-batch gradients, and it is SGD.
    """

    def __init__(self, params, lr: float = 1e-3, weight_decay: float = 0.0,
                 decoupled_weight_decay: bool = False):
        defaults = dict(
            lr=check_lr(lr),
            weight_decay=check_non_negative(weight_decay, "weight_decay"),
            decoupled_weight_decay=bool(decoupled_weight_decay),
        )
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = evaluate_closure(closure)
        for group in self.param_groups:
            lr, weight_decay = group["lr"], group["weight_decay"]
            for theta in group["params"]:
                if theta.grad is None:
                    continue
                g = dense_grad(theta)

                if weight_decay != 0 and group["decoupled_weight_decay"]:
                    theta.mul_(1 - lr * weight_decay)  # theta <- theta - lr * lambda * theta
                elif weight_decay != 0:
                    g = g + weight_decay * theta  # g <- g + lambda * theta  (L2 penalty's gradient)

                theta.sub_(lr * g)  # theta <- theta - lr * g
        return loss


# Gradient descent is SGD fed with the full-batch gradient: the same class under the name a
# lesson uses when it computes the loss on all the data.
GradientDescent = SGD


def minibatches(n_examples: int, batch_size: int, generator: torch.Generator | None = None,
                drop_last: bool = False) -> Iterator[torch.Tensor]:
    """One epoch of mini-batches: index tensors that together visit every example once.

    The examples are shuffled (with ``generator``, for repeatable runs) and cut into batches
    of ``batch_size``; the last batch is smaller unless ``drop_last``. With
    ``batch_size == n_examples`` there is one batch holding every example: gradient descent.

    >>> [b.tolist() for b in minibatches(5, 2, torch.Generator().manual_seed(0))]
    [[4, 0], [1, 3], [2]]
    """
    for value, name in ((n_examples, "n_examples"), (batch_size, "batch_size")):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: expected an int >= 1, got {value!r}")
    order = torch.randperm(n_examples, generator=generator)  # (n_examples,)
    for start in range(0, n_examples, batch_size):
        batch = order[start:start + batch_size]  # (batch_size,) or fewer at the end
        if drop_last and len(batch) < batch_size:
            return
        yield batch
