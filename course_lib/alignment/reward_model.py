"""The reward model: a critic that learned, from preferences alone, to score an answer.

It is the pretrained GPT with a scalar head read at the **last real token** of the transcript
(the only position that has read everything; in a right-padded batch that is not the last
position). Trained with the Bradley-Terry model of preferences: the probability that the chosen
answer wins is sigmoid(r_chosen - r_rejected), so the loss is

    loss = -log sigmoid(r_chosen - r_rejected)          (a mean over pairs)

Only differences of scores matter; the head starts at zero, so every answer starts at 0.
A reward model knows only what varied in its data: what all its training answers got right, it
never learned to check, and a policy optimised against it will find those holes.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.alignment.preferences import PreferencePair
from course_lib.alignment.rollouts import transcript_batch
from course_lib.finetuning.classification import last_token_states


def bradley_terry_loss(r_chosen: torch.Tensor, r_rejected: torch.Tensor) -> torch.Tensor:
    """-log sigmoid(r_chosen - r_rejected), the mean over pairs: (B,), (B,) -> a scalar."""
    if r_chosen.shape != r_rejected.shape or r_chosen.dim() != 1:
        raise ValueError(f"expected two (B,) score tensors, got {tuple(r_chosen.shape)} and {tuple(r_rejected.shape)}")
    return -F.logsigmoid(r_chosen - r_rejected).mean()


def pairwise_accuracy(r_chosen: torch.Tensor, r_rejected: torch.Tensor) -> float:
    """The share of pairs whose chosen answer scores higher (ties count half)."""
    return ((r_chosen > r_rejected).double() + 0.5 * (r_chosen == r_rejected).double()).mean().item()


class RewardModel(nn.Module):
    """A GPT backbone and a scalar head at the last real token: ids (B, T) -> scores (B,)."""

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(backbone.config.d_model, 1)       # (C -> 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, ids: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        h = self.backbone.features(ids, padding_mask)                               # (B, T, C)
        lengths = padding_mask.sum(1) if padding_mask is not None else \
            torch.full((ids.shape[0],), ids.shape[1], device=ids.device)            # (B,)
        return self.head(last_token_states(h, lengths))[:, 0]                       # (B,)


class PairwiseObjective(nn.Module):
    """The reward model seen by the Trainer: a batch of pairs in, ``((r_chosen, r_rejected), loss)`` out."""

    def __init__(self, reward_model: RewardModel):
        super().__init__()
        self.reward_model = reward_model

    def forward(self, chosen_ids, chosen_mask, rejected_ids, rejected_mask):
        r_chosen = self.reward_model(chosen_ids, chosen_mask)        # (B,)
        r_rejected = self.reward_model(rejected_ids, rejected_mask)  # (B,)
        return (r_chosen, r_rejected), bradley_terry_loss(r_chosen, r_rejected)


class PairBatches:
    """Random batches of preference pairs as ``(chosen_ids, chosen_mask, rejected_ids, rejected_mask)``."""

    def __init__(self, pairs: list[PreferencePair], batch_size: int, pad_id: int, seed: int = 0):
        if not pairs:
            raise ValueError("PairBatches: expected at least one preference pair")
        self.pairs, self.batch_size, self.pad_id = pairs, batch_size, pad_id
        self.generator = torch.Generator().manual_seed(seed)

    def sample(self, generator: torch.Generator | None = None):
        rows = torch.randint(len(self.pairs), (self.batch_size,), generator=generator or self.generator).tolist()
        return pair_tensors([self.pairs[i] for i in rows], self.pad_id)

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])


def pair_tensors(pairs: list[PreferencePair], pad_id: int):
    """The four tensors of a batch of pairs (chosen and rejected transcripts, each with its mask)."""
    chosen_ids, chosen_mask = transcript_batch([p.chosen for p in pairs], pad_id)
    rejected_ids, rejected_mask = transcript_batch([p.rejected for p in pairs], pad_id)
    return chosen_ids, chosen_mask, rejected_ids, rejected_mask


@torch.no_grad()
def score_pairs(reward_model: RewardModel, pairs: list[PreferencePair], pad_id: int,
                batch_size: int = 128) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores of the chosen and of the rejected answers of ``pairs``: (N,), (N,)."""
    was_training = reward_model.training
    reward_model.eval()
    chosen, rejected = [], []
    for i in range(0, len(pairs), batch_size):
        c_ids, c_mask, r_ids, r_mask = pair_tensors(pairs[i:i + batch_size], pad_id)
        chosen.append(reward_model(c_ids, c_mask))
        rejected.append(reward_model(r_ids, r_mask))
    reward_model.train(was_training)
    return torch.cat(chosen), torch.cat(rejected)
