"""Gradient clipping by global norm.

One bad batch can produce a gradient a thousand times the usual size, and one step with it
can throw a model far out of the region where it was learning. Clipping caps the step:
treat all gradients of the model as one long vector, and if its length (the *global* norm)
exceeds ``max_norm``, scale every gradient down by the same factor,

    norm  = || (g_1, g_2, ..., g_k) ||             (all parameter tensors together)
    scale = min(1, max_norm / (norm + 1e-6))
    g_i  <- scale * g_i                              for every tensor i

Scaling all tensors by one factor keeps the *direction* of the update; only its length
changes. (Clipping each tensor, or each value, separately would change the direction.)
The 1e-6 keeps the division finite when the norm is 0; it is torch's, and this function
matches ``torch.nn.utils.clip_grad_norm_``: same returned norm (the norm *before* clipping),
same clipped gradients.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import torch


def global_grad_norm(parameters: Iterable[torch.Tensor], norm_type: float = 2.0) -> torch.Tensor:
    """The norm of all gradients viewed as one vector (parameters without .grad are skipped)."""
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    # The norm of the per-tensor norms is the norm of the concatenation: for p = 2,
    # sqrt(sum_i ||g_i||^2) = sqrt(sum of every squared entry); for p = inf, max of maxes.
    device = grads[0].device  # tensors may sit on several devices; gather the norms on one
    per_tensor = torch.stack([torch.linalg.vector_norm(g, norm_type).to(device) for g in grads])  # (k,)
    return torch.linalg.vector_norm(per_tensor, norm_type)


def clip_grad_norm(parameters: Iterable[torch.Tensor], max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False) -> torch.Tensor:
    """Scale all gradients in place so that their global norm is at most ``max_norm``.

    Returns the global norm measured *before* clipping (log it: spikes show trouble).
    ``norm_type`` is the p of the p-norm (2 by default; ``math.inf`` for the largest entry).
    With ``error_if_nonfinite`` a nan or inf norm raises instead of spreading nan into the weights.
    """
    if isinstance(max_norm, bool) or not isinstance(max_norm, (int, float)) or not max_norm > 0:
        raise ValueError(f"max_norm: expected a number > 0, got {max_norm!r}")
    if isinstance(norm_type, bool) or not isinstance(norm_type, (int, float)) or not norm_type >= 1:
        raise ValueError(f"norm_type: expected p >= 1 (or math.inf), got {norm_type!r}")
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    parameters = list(parameters)  # we walk it twice; a generator would be empty the second time

    total_norm = global_grad_norm(parameters, norm_type)
    if error_if_nonfinite and not math.isfinite(total_norm.item()):
        raise RuntimeError(
            f"the total gradient norm is {total_norm.item()}: a nan or inf gradient. "
            "Look for a bad input, a log of 0, or a learning rate that is too large."
        )
    scale = torch.clamp(max_norm / (total_norm + 1e-6), max=1.0)  # min(1, max_norm / (norm + 1e-6))
    for p in parameters:
        if p.grad is not None:
            p.grad.mul_(scale.to(p.grad.device, p.grad.dtype))  # g_i <- scale * g_i
    return total_norm
