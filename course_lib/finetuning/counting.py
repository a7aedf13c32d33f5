"""How many numbers does a fine-tuning method train? Counted once per tensor.

``model.parameters()`` yields a shared tensor once, so the tied embedding / output matrix of a
GPT (``lm_head.weight`` *is* ``token_embedding.weight``) is counted once, as it is stored.
Summing over ``named_parameters(remove_duplicate=False)`` or over a ``state_dict`` would count
it twice: the course's model would look 65,536 numbers bigger than it is.
"""
from __future__ import annotations

from torch import nn


def count_trainable(model: nn.Module) -> int:
    """The number of trainable parameters of ``model``, each tensor counted once."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def trainable_share(model: nn.Module) -> float:
    """Trainable parameters as a fraction of all parameters (each counted once)."""
    total = sum(p.numel() for p in model.parameters())
    return count_trainable(model) / total
