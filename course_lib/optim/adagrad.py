"""AdaGrad: a learning rate per coordinate, shrinking with the gradients seen so far.

Each coordinate keeps the sum of its squared gradients ``G``; the step divides by its root,
so coordinates with large (or frequent) gradients take small steps and rare ones large steps:

    G     <- G + g^2                               (elementwise)
    theta <- theta - lr_t * g / (sqrt(G) + eps)

Conventions (torch's; this class matches ``torch.optim.Adagrad``):

* eps is added *outside* the square root, and defaults to 1e-10.
* ``G`` starts at ``initial_accumulator_value`` (0 by default).
* lr decays as ``lr_t = lr / (1 + (t - 1) * lr_decay)`` at step t = 1, 2, ...
* Weight decay is coupled: ``g <- g + weight_decay * theta`` first, and so it also enters G.

Because G only grows, AdaGrad's steps only shrink: good for convex problems, too timid for
long non-convex training; RMSProp fixes that by forgetting.
"""
from __future__ import annotations

import torch
from torch.optim import Optimizer

from course_lib.optim._common import (
    check_lr,
    check_non_negative,
    dense_grad,
    evaluate_closure,
)


class AdaGrad(Optimizer):
    """AdaGrad; matches ``torch.optim.Adagrad`` (dense gradients)."""

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10):
        defaults = dict(
            lr=check_lr(lr),
            lr_decay=check_non_negative(lr_decay, "lr_decay"),
            weight_decay=check_non_negative(weight_decay, "weight_decay"),
            initial_accumulator_value=check_non_negative(
                initial_accumulator_value, "initial_accumulator_value"),
            eps=check_non_negative(eps, "eps"),
        )
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = evaluate_closure(closure)
        for group in self.param_groups:
            lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
            for theta in group["params"]:
                if theta.grad is None:
                    continue
                g = dense_grad(theta)
                state = self.state[theta]
                if not state:
                    state["step"] = 0
                    state["sum_of_squares"] = torch.full_like(
                        theta, group["initial_accumulator_value"])  # G, same shape as theta

                state["step"] += 1
                t = state["step"]

                if weight_decay != 0:
                    g = g + weight_decay * theta  # g <- g + lambda * theta

                lr_t = lr / (1 + (t - 1) * group["lr_decay"])  # lr_t = lr / (1 + (t-1) * decay)
                G = state["sum_of_squares"]
                G.add_(g * g)  # G <- G + g^2
                theta.sub_(lr_t * g / (G.sqrt() + eps))  # theta <- theta - lr_t * g / (sqrt(G) + eps)
        return loss
