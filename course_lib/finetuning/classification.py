"""Sequence classification with a pretrained GPT: read one vector per text, add a small head.

The GPT gives a hidden state per token, (B, T, C). A classifier needs one vector per text.
Which one? In a causal model only the **last real token** has read the whole text, so that is
the usual choice. In a right-padded batch the last *position* is padding for every shorter
text, so ``h[:, -1]`` reads a pad (rasbt/LLMs-from-scratch #990, transformers #35352): take
position ``length - 1`` of each row instead. **Mean pooling** (the average over real tokens)
is the other common choice; pads must stay out of the average.

``layer_states`` and ``probe_accuracy`` look inside: a linear *probe* trained on the frozen
states of one layer at one position says whether the information is already there. For a
small model the answer can surprise: the final "." may not carry the word before it at all.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def last_token_states(h: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """The state of the last real token of each row of a right-padded batch: (B, T, C) -> (B, C)."""
    _check_states(h, lengths)
    rows = torch.arange(h.shape[0], device=h.device)   # (B,)
    return h[rows, lengths.to(h.device) - 1]           # (B, C): position length - 1 of each row


def mean_pool(h: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """The mean of the real tokens' states of each row (pads left out): (B, T, C) -> (B, C)."""
    _check_states(h, lengths)
    positions = torch.arange(h.shape[1], device=h.device)                  # (T,)
    real = (positions[None, :] < lengths.to(h.device)[:, None]).to(h.dtype)  # (B, T): 1 on real tokens
    return (h * real[..., None]).sum(dim=1) / real.sum(dim=1, keepdim=True)  # (B, C)


def _check_states(h, lengths) -> None:
    if not isinstance(h, torch.Tensor) or h.dim() != 3:
        raise ValueError(f"h: expected hidden states of shape (B, T, C), got "
                         f"{tuple(h.shape) if isinstance(h, torch.Tensor) else type(h).__name__}")
    if not isinstance(lengths, torch.Tensor) or lengths.dim() != 1 or lengths.shape[0] != h.shape[0] \
            or lengths.is_floating_point():
        raise ValueError(f"lengths: expected integer lengths of shape (B,) = ({h.shape[0]},), got "
                         f"{tuple(lengths.shape) if isinstance(lengths, torch.Tensor) else type(lengths).__name__}")
    if len(lengths) and (int(lengths.min()) < 1 or int(lengths.max()) > h.shape[1]):
        raise ValueError(f"lengths must lie in 1..T={h.shape[1]}, got {lengths.tolist()}")


POOLING = {"last": last_token_states, "mean": mean_pool}


class SequenceClassifier(nn.Module):
    """A GPT backbone, a pooling rule and a linear head: (B, T) ids -> (B, n_classes) scores.

    ``forward(ids, labels=None, padding_mask=None)`` returns ``(logits, loss)`` like a GPT, so
    the Trainer trains it on batches ``(ids, labels, padding_mask)``.
    """

    def __init__(self, backbone: nn.Module, n_classes: int, pool: str = "last"):
        super().__init__()
        if pool not in POOLING:
            raise ValueError(f"pool: expected one of {sorted(POOLING)}, got {pool!r}")
        if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 2:
            raise ValueError(f"n_classes: expected an int >= 2, got {n_classes!r}")
        self.backbone, self.pool = backbone, pool
        self.head = nn.Linear(backbone.config.d_model, n_classes)   # (C -> n_classes)

    def forward(self, ids: torch.Tensor, labels: torch.Tensor | None = None,
                padding_mask: torch.Tensor | None = None):
        h = self.backbone.features(ids, padding_mask)                            # (B, T, C)
        lengths = padding_mask.sum(dim=1) if padding_mask is not None else \
            torch.full((ids.shape[0],), ids.shape[1], device=ids.device)         # (B,)
        logits = self.head(POOLING[self.pool](h, lengths))                       # (B, n_classes)
        loss = F.cross_entropy(logits, labels) if labels is not None else None
        return logits, loss


def encode_texts(tokenizer, texts: list[str], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids (B, T) and padding mask (B, T), True on real tokens."""
    encoded = [tokenizer.encode(t, allowed_special=False) for t in texts]
    if not encoded or min(len(e) for e in encoded) == 0:
        raise ValueError("encode_texts: expected non-empty texts")
    T = max(len(e) for e in encoded)
    ids = torch.full((len(encoded), T), pad_id, dtype=torch.long)
    padding_mask = torch.zeros((len(encoded), T), dtype=torch.bool)
    for row, e in enumerate(encoded):
        ids[row, :len(e)], padding_mask[row, :len(e)] = torch.tensor(e), True
    return ids, padding_mask


class LabelledBatches:
    """A data source for the Trainer: random batches ``(ids, labels, padding_mask)``."""

    def __init__(self, ids: torch.Tensor, labels: torch.Tensor, padding_mask: torch.Tensor,
                 batch_size: int, seed: int = 0):
        if not (len(ids) == len(labels) == len(padding_mask)):
            raise ValueError(f"ids, labels and padding_mask must have the same rows, got "
                             f"{len(ids)}, {len(labels)} and {len(padding_mask)}")
        self.ids, self.labels, self.padding_mask, self.batch_size = ids, labels, padding_mask, batch_size
        self.generator = torch.Generator().manual_seed(seed)

    def sample(self, generator: torch.Generator | None = None):
        rows = torch.randint(len(self.ids), (self.batch_size,), generator=generator or self.generator)
        return self.ids[rows], self.labels[rows], self.padding_mask[rows]

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])


@torch.no_grad()
def classify(model: SequenceClassifier, ids: torch.Tensor, padding_mask: torch.Tensor,
             batch_size: int = 256) -> torch.Tensor:
    """Predicted classes (N,) for ids (N, T)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    predictions = [model(ids[i:i + batch_size].to(device), padding_mask=padding_mask[i:i + batch_size].to(device))[0]
                   .argmax(dim=-1).cpu() for i in range(0, len(ids), batch_size)]
    model.train(was_training)
    return torch.cat(predictions)


# ----- probes: what does each layer know, at each position? -------------------------------------
@torch.no_grad()
def layer_states(model, ids: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
    """The residual stream after the embedding and after each block: (B, T) -> (L + 1, B, T, C).

    Read with forward hooks on the blocks, so the model's own forward pass is the only one.
    The last entry is before the final norm.
    """
    states: list[torch.Tensor] = []
    hooks = [model.dropout.register_forward_hook(lambda m, i, out: states.append(out))]
    hooks += [block.register_forward_hook(lambda m, i, out: states.append(out)) for block in model.blocks]
    was_training = model.training
    model.eval()
    try:
        model.features(ids, padding_mask)
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    return torch.stack(states)   # (L + 1, B, T, C)


def probe_accuracy(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor, test_y: torch.Tensor,
                   steps: int = 100, weight_decay: float = 1e-3) -> float:
    """Test accuracy of a logistic-regression probe fitted on (N, C) features (standardised, L-BFGS)."""
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    x, z = (train_x - mean) / std, (test_x - mean) / std                       # (N, C), (M, C)
    n_classes = int(max(train_y.max(), test_y.max())) + 1
    head = nn.Linear(x.shape[1], n_classes).double()
    optimizer = torch.optim.LBFGS(head.parameters(), max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(head(x.double()), train_y) + weight_decay * head.weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    with torch.no_grad():
        return (head(z.double()).argmax(-1) == test_y).double().mean().item()
