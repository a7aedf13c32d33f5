"""Adam and AdamW: momentum plus RMSProp, with the start-up bias corrected.

Adam keeps two exponential moving averages per coordinate, of the gradient (the direction,
like momentum) and of its square (the scale, like RMSProp):

    m     <- beta1 * m + (1 - beta1) * g
    v     <- beta2 * v + (1 - beta2) * g^2
    m_hat =  m / (1 - beta1^t)                     (bias correction: m and v start at 0,
    v_hat =  v / (1 - beta2^t)                      so early averages are too small)
    theta <- theta - lr * m_hat / (sqrt(v_hat) + eps)

with t = 1, 2, ... the step count. Without the correction, the first step would be
``(1 - beta1) / sqrt(1 - beta2)`` ~ 3x too large for the default betas.

Conventions (torch's, which are also the Adam paper's):

* eps goes *outside* the square root of the *bias-corrected* v_hat; default 1e-8.
* Adam's weight decay is an L2 penalty, coupled: ``g <- g + weight_decay * theta`` before
  the averages, so the decay is divided by sqrt(v_hat) like everything else: coordinates with
  large gradients are barely regularised.
* AdamW decouples it: ``theta <- theta - lr * weight_decay * theta`` straight on the weights,
  then the Adam step on the plain gradient. Note the decay is multiplied by lr (torch's
  convention; the AdamW paper writes the schedule multiplier instead). Default weight_decay 0.01.

Adam matches ``torch.optim.Adam`` and AdamW matches ``torch.optim.AdamW`` (amsgrad off).
"""
from __future__ import annotations

import torch
from torch.optim import Optimizer

from course_lib.optim._common import (
    check_betas,
    check_lr,
    check_non_negative,
    dense_grad,
    evaluate_closure,
)


class Adam(Optimizer):
    """Adam with bias correction; ``weight_decay`` is an L2 penalty added to the gradient."""

    decoupled_weight_decay = False  # AdamW flips this

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0):
        defaults = dict(
            lr=check_lr(lr),
            betas=check_betas(betas),
            eps=check_non_negative(eps, "eps"),
            weight_decay=check_non_negative(weight_decay, "weight_decay"),
        )
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = evaluate_closure(closure)
        for group in self.param_groups:
            lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
            beta1, beta2 = group["betas"]
            for theta in group["params"]:
                if theta.grad is None:
                    continue
                g = dense_grad(theta)
                state = self.state[theta]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(theta)  # m
                    state["exp_avg_sq"] = torch.zeros_like(theta)  # v
                state["step"] += 1
                t = state["step"]

                if weight_decay != 0 and self.decoupled_weight_decay:
                    theta.mul_(1 - lr * weight_decay)  # theta <- theta - lr * lambda * theta
                elif weight_decay != 0:
                    g = g + weight_decay * theta  # g <- g + lambda * theta

                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.mul_(beta1).add_((1 - beta1) * g)  # m <- beta1 * m + (1 - beta1) * g
                v.mul_(beta2).add_((1 - beta2) * g * g)  # v <- beta2 * v + (1 - beta2) * g^2

                m_hat = m / (1 - beta1 ** t)  # m_hat = m / (1 - beta1^t)
                v_hat = v / (1 - beta2 ** t)  # v_hat = v / (1 - beta2^t)
                theta.sub_(lr * m_hat / (v_hat.sqrt() + eps))  # theta -= lr * m_hat / (sqrt(v_hat) + eps)
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay: ``theta <- theta - lr * weight_decay * theta`` each step."""

    decoupled_weight_decay = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
