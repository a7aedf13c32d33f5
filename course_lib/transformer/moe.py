"""Mixture of experts: many feed-forward networks, and each token uses only a few of them.

A mixture-of-experts (MoE) layer replaces the one MLP of a block with ``n_experts`` MLPs and a
small **router**: a linear layer that scores every expert for every token. Each token goes to
its ``top_k`` best-scoring experts, and their outputs are summed, weighted by the router's
probabilities (the *gates*). The model holds n_experts times the parameters, but each token
pays for only top_k experts' worth of compute.

Left alone, a router tends to collapse onto a few favourite experts (they get trained more,
so they get picked more). The **load-balancing loss** of the Switch Transformer pushes back:

    aux_loss = n_experts * sum_e  f_e * P_e

where f_e is the fraction of routing slots sent to expert e and P_e the router's mean
probability for e. With perfectly even routing it equals 1; if everything goes to one expert
with certainty it equals n_experts. Only P_e is differentiable, and lowering the loss means
lowering the probability of the experts that get the most tokens.

Choices made here: top-1 routing keeps the raw router probability as the gate (as in Switch,
so the router learns from the main loss too); with top_k > 1 the chosen gates are rescaled to
sum to 1 (as in Mixtral). No expert capacity limit: no token is ever dropped.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from course_lib.transformer.feedforward import MLP


@dataclass
class RoutingStats:
    """What the router did in the last forward pass (all tensors have one entry per expert)."""

    tokens_per_expert: torch.Tensor   # (E,) how many tokens each expert processed
    fraction_routed: torch.Tensor     # (E,) f_e: share of the routing slots, sums to 1
    mean_probability: torch.Tensor    # (E,) P_e: the router's mean probability, sums to 1
    aux_loss: torch.Tensor            # scalar, the load-balancing loss above


def load_balancing_loss(router_probs: torch.Tensor, expert_index: torch.Tensor, n_experts: int) -> torch.Tensor:
    """Switch Transformer's auxiliary loss from router probabilities (N, E) and choices (N, k)."""
    counts = torch.bincount(expert_index.flatten(), minlength=n_experts)  # (E,)
    fraction = counts.to(router_probs.dtype) / expert_index.numel()      # (E,) f_e, no gradient
    mean_probability = router_probs.mean(dim=0)                           # (E,) P_e
    return n_experts * torch.sum(fraction * mean_probability)


class MoEFeedForward(nn.Module):
    """A drop-in replacement for the MLP: (B, T, C) -> (B, T, C), plus routing statistics.

    After each forward pass, ``aux_loss`` holds the load-balancing loss (add it, weighted, to
    the training loss) and ``last_stats`` a ``RoutingStats``. ``expert_counts`` adds up the
    tokens each expert processed over all forward passes since ``reset_statistics()``.
    """

    def __init__(self, d_model: int, hidden: int, n_experts: int, top_k: int = 1, dropout: float = 0.0,
                 bias: bool = True, gelu_approximation: str = "none"):
        super().__init__()
        if not 1 <= top_k <= n_experts:
            raise ValueError(f"top_k must be between 1 and n_experts={n_experts}, got {top_k}")
        self.n_experts, self.top_k = n_experts, top_k
        self.router = nn.Linear(d_model, n_experts, bias=False)  # one score per expert
        self.experts = nn.ModuleList(
            MLP(d_model, hidden, dropout, bias, gelu_approximation) for _ in range(n_experts)
        )
        self.aux_loss: torch.Tensor | None = None
        self.last_stats: RoutingStats | None = None
        self.expert_counts = torch.zeros(n_experts, dtype=torch.long)

    def reset_statistics(self) -> None:
        self.expert_counts = torch.zeros(self.n_experts, dtype=torch.long)

    def route(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Router probabilities (N, E), chosen experts (N, k) and their gates (N, k)."""
        # The softmax over experts in float32: the router's choices should not depend on bf16 rounding.
        router_probs = torch.softmax(self.router(tokens).float(), dim=-1)  # (N, E)
        gates, expert_index = router_probs.topk(self.top_k, dim=-1)        # (N, k) each
        if self.top_k > 1:
            gates = gates / gates.sum(dim=-1, keepdim=True)                # the k gates sum to 1
        return router_probs, expert_index, gates

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        tokens = x.reshape(B * T, C)                                       # (N, C), N = B*T
        router_probs, expert_index, gates = self.route(tokens)             # (N, E), (N, k), (N, k)
        out = torch.zeros_like(tokens)                                     # (N, C)
        for e, expert in enumerate(self.experts):
            # Which tokens chose expert e, and in which of their k slots.
            token_ids, slot = torch.where(expert_index == e)              # (n_e,) each
            if token_ids.numel() == 0:
                continue
            expert_out = expert(tokens[token_ids])                         # (n_e, C)
            weighted = expert_out * gates[token_ids, slot].unsqueeze(-1)   # (n_e, C)
            out.index_add_(0, token_ids, weighted.to(out.dtype))           # add into each token's row

        self.aux_loss = load_balancing_loss(router_probs, expert_index, self.n_experts)
        with torch.no_grad():
            counts = torch.bincount(expert_index.flatten(), minlength=self.n_experts)  # (E,)
            self.last_stats = RoutingStats(
                tokens_per_expert=counts,
                fraction_routed=counts.float() / expert_index.numel(),
                mean_probability=router_probs.mean(dim=0).detach(),
                aux_loss=self.aux_loss.detach(),
            )
            self.expert_counts = self.expert_counts.to(counts.device) + counts
        return out.view(B, T, C)
