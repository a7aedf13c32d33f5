"""Momentum: gradient descent with a memory, heavy ball and Nesterov.

Plain gradient descent zig-zags across a narrow valley and crawls along its floor. Momentum
keeps a running sum of past gradients, a velocity ``v``: the zig-zags cancel, the steady
downhill pull adds up.

Heavy ball (Polyak), in torch's form:

    v     <- mu * v + (1 - dampening) * g      (on the very first step: v <- g)
    theta <- theta - lr * v

Nesterov ("look ahead"): step with the gradient plus the velocity it is about to get,

    v     <- mu * v + g
    theta <- theta - lr * (g + mu * v)

Conventions worth knowing (they are torch's, and this class matches ``torch.optim.SGD``):

* lr multiplies the velocity; v itself holds no lr. (Some texts write ``v <- mu v + lr g``;
  that is the same only while lr is constant.)
* The first step sets v to g *undamped*; dampening applies from the second step on.
* Weight decay is coupled: ``g <- g + weight_decay * theta`` before anything else.
* Nesterov needs ``momentum > 0`` and ``dampening == 0``.
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


class Momentum(Optimizer):
    """SGD with heavy-ball or Nesterov momentum; matches ``torch.optim.SGD`` with momentum."""

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.9, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False):
        lr = check_lr(lr)
        momentum = check_non_negative(momentum, "momentum")
        dampening = float(dampening)
        weight_decay = check_non_negative(weight_decay, "weight_decay")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                f"Nesterov momentum needs momentum > 0 and dampening == 0, "
                f"got momentum={momentum!r}, dampening={dampening!r}"
            )
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=bool(nesterov))
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = evaluate_closure(closure)
        for group in self.param_groups:
            lr, mu = group["lr"], group["momentum"]
            dampening, weight_decay = group["dampening"], group["weight_decay"]
            for theta in group["params"]:
                if theta.grad is None:
                    continue
                g = dense_grad(theta)
                state = self.state[theta]

                if weight_decay != 0:
                    g = g + weight_decay * theta  # g <- g + lambda * theta

                if mu == 0:  # no momentum at all: plain gradient descent
                    theta.sub_(lr * g)
                    continue

                if "velocity" not in state:
                    state["velocity"] = g.clone()  # first step: v <- g (no dampening)
                else:
                    v = state["velocity"]
                    v.mul_(mu).add_((1 - dampening) * g)  # v <- mu * v + (1 - dampening) * g
                v = state["velocity"]

                if group["nesterov"]:
                    theta.sub_(lr * (g + mu * v))  # theta <- theta - lr * (g + mu * v)
                else:
                    theta.sub_(lr * v)  # theta <- theta - lr * v
        return loss
