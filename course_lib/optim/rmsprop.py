"""RMSProp: AdaGrad that forgets.

Instead of summing every squared gradient, keep an exponential moving average of them, so
the per-coordinate step size follows the *recent* gradient scale:

    s     <- alpha * s + (1 - alpha) * g^2          (elementwise)
    theta <- theta - lr * g / (sqrt(s) + eps)

Options, as in torch:

* ``centered=True`` also tracks the mean gradient ``m <- alpha * m + (1 - alpha) * g`` and
  divides by an estimate of the standard deviation, ``sqrt(s - m^2) + eps``.
* ``momentum > 0`` accumulates the scaled step in a buffer, ``b <- mu * b + g / (sqrt(s) + eps)``,
  and steps ``theta <- theta - lr * b``.

Conventions (torch's; this class matches ``torch.optim.RMSprop``):

* eps goes *outside* the square root (TensorFlow's RMSProp puts it inside), default 1e-8.
* There is no bias correction: s starts at 0, so early steps are larger than they look
  (Adam adds the correction).
* Weight decay is coupled: ``g <- g + weight_decay * theta`` first.
* alpha must lie in [0, 1): with alpha = 1, s would stay 0 forever.
"""
from __future__ import annotations

import torch
from torch.optim import Optimizer

from course_lib.optim._common import (
    check_beta,
    check_lr,
    check_non_negative,
    dense_grad,
    evaluate_closure,
)


class RMSProp(Optimizer):
    """RMSProp (optionally centered, optionally with momentum); matches ``torch.optim.RMSprop``."""

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False):
        defaults = dict(
            lr=check_lr(lr),
            alpha=check_beta(alpha, "alpha"),  # stricter than torch, which takes any alpha >= 0
            eps=check_non_negative(eps, "eps"),
            weight_decay=check_non_negative(weight_decay, "weight_decay"),
            momentum=check_non_negative(momentum, "momentum"),
            centered=bool(centered),
        )
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = evaluate_closure(closure)
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            weight_decay, mu = group["weight_decay"], group["momentum"]
            for theta in group["params"]:
                if theta.grad is None:
                    continue
                g = dense_grad(theta)
                state = self.state[theta]
                if not state:
                    state["step"] = 0
                    state["mean_square"] = torch.zeros_like(theta)  # s
                    if group["centered"]:
                        state["mean"] = torch.zeros_like(theta)  # m
                    if mu > 0:
                        state["momentum_buffer"] = torch.zeros_like(theta)  # b
                state["step"] += 1

                if weight_decay != 0:
                    g = g + weight_decay * theta  # g <- g + lambda * theta

                s = state["mean_square"]
                s.mul_(alpha).add_((1 - alpha) * g * g)  # s <- alpha * s + (1 - alpha) * g^2

                if group["centered"]:
                    m = state["mean"]
                    m.mul_(alpha).add_((1 - alpha) * g)  # m <- alpha * m + (1 - alpha) * g
                    denominator = (s - m * m).sqrt() + eps  # sqrt(s - m^2) + eps
                else:
                    denominator = s.sqrt() + eps  # sqrt(s) + eps

                if mu > 0:
                    b = state["momentum_buffer"]
                    b.mul_(mu).add_(g / denominator)  # b <- mu * b + g / denominator
                    theta.sub_(lr * b)  # theta <- theta - lr * b
                else:
                    theta.sub_(lr * g / denominator)  # theta <- theta - lr * g / denominator
        return loss
