"""DPO: learn from preferences directly, without a reward model and without sampling.

Rafailov et al. (2023) showed that the policy that PPO's objective (reward minus beta times KL to a
reference) would reach defines its own reward: r(x, y) = beta * log(pi(y|x) / pi_ref(y|x)) (plus a
term that cancels in comparisons). Put that *implicit reward* into the Bradley-Terry loss of the
reward model and the policy is trained on the preference pairs themselves:

    loss = -log sigmoid( beta * [(log pi(y_w) - log pi_ref(y_w)) - (log pi(y_l) - log pi_ref(y_l))] )

with y_w the chosen and y_l the rejected answer, and **log pi(y) the sum** of the response's token
log-probs. The reference log-probs never change: compute them once, before training.

Watch the implicit rewards during training: the *margin* between chosen and rejected grows, but
both often fall (the policy moves probability to answers it has never seen), which is why the
rewards alone say little (trl #800, DPO #8).

**IPO** (Azar et al., 2023) replaces the log-sigmoid by a square, (h - 1 / (2 beta))^2, so the
margin stops growing at 1 / (2 beta) instead of forever: a guard against over-fitting the pairs.
It is usually applied to *mean* log-probs (TRL's convention).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def implicit_rewards(policy_logps: torch.Tensor, ref_logps: torch.Tensor, beta: float) -> torch.Tensor:
    """beta * (log pi(y) - log pi_ref(y)) for each response: (B,)."""
    return beta * (policy_logps - ref_logps)


def dpo_loss(policy_chosen: torch.Tensor, policy_rejected: torch.Tensor, ref_chosen: torch.Tensor,
             ref_rejected: torch.Tensor, beta: float = 0.1, kind: str = "sigmoid"):
    """The DPO (or IPO) loss over a batch of pairs, and the implicit rewards of chosen and rejected.

    Every argument is a (B,) tensor of sequence log-probs (sums of token log-probs for DPO).
    Returns ``(loss, chosen_rewards, rejected_rewards)``; the rewards are detached, for logging.
    """
    shapes = {tuple(t.shape) for t in (policy_chosen, policy_rejected, ref_chosen, ref_rejected)}
    if len(shapes) != 1 or len(next(iter(shapes))) != 1:
        raise ValueError(f"expected four (B,) tensors of sequence log-probs, got shapes {sorted(shapes)}")
    if not beta > 0:
        raise ValueError(f"beta: expected a number > 0, got {beta!r}")
    chosen = policy_chosen - ref_chosen.detach()                 # log pi/pi_ref of the chosen answers
    rejected = policy_rejected - ref_rejected.detach()
    margin = chosen - rejected                                   # (B,)
    if kind == "sigmoid":
        loss = -F.logsigmoid(beta * margin).mean()
    elif kind == "ipo":
        loss = ((margin - 1.0 / (2.0 * beta)) ** 2).mean()
    else:
        raise ValueError(f"kind: expected 'sigmoid' (DPO) or 'ipo', got {kind!r}")
    return loss, (beta * chosen).detach(), (beta * rejected).detach()
