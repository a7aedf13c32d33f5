"""Optimizers written out from scratch, learning-rate schedules and gradient clipping.

Every optimizer is a ``torch.optim.Optimizer`` and matches torch's own step for step, so it
drops into any training loop; each file writes its update rule one formula per line.

    sgd.py        gradient descent and mini-batch SGD
    momentum.py   heavy-ball and Nesterov momentum
    adagrad.py    per-coordinate steps from the sum of squared gradients
    rmsprop.py    ... from a moving average of squared gradients
    adam.py       Adam (bias-corrected moments) and AdamW (decoupled weight decay)
    schedules.py  constant, step, warmup + linear / cosine
    clipping.py   gradient clipping by global norm
"""
from course_lib.optim.adagrad import AdaGrad
from course_lib.optim.adam import Adam, AdamW
from course_lib.optim.clipping import clip_grad_norm, global_grad_norm
from course_lib.optim.momentum import Momentum
from course_lib.optim.rmsprop import RMSProp
from course_lib.optim.schedules import (
    Constant,
    StepDecay,
    WarmupCosine,
    WarmupLinear,
    lr_curve,
    make_scheduler,
)
from course_lib.optim.sgd import SGD, GradientDescent, minibatches

__all__ = [
    "SGD",
    "AdaGrad",
    "Adam",
    "AdamW",
    "Constant",
    "GradientDescent",
    "Momentum",
    "RMSProp",
    "StepDecay",
    "WarmupCosine",
    "WarmupLinear",
    "clip_grad_norm",
    "global_grad_norm",
    "lr_curve",
    "make_scheduler",
    "minibatches",
]
