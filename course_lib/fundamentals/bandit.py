"""Reinforcement learning in its smallest form: the multi-armed bandit.

A row of slot machines ("one-armed bandits"); arm ``a`` pays 1 with an unknown
probability ``probs[a]``, else 0. Nobody labels the right answer: the learner only sees
the reward of the arm it pulled, and must balance

- *exploiting*: pulling the arm that has paid best so far, and
- *exploring*: trying other arms, whose estimates may be wrong.

Epsilon-greedy does both: with probability epsilon it pulls a random arm, otherwise the
arm with the best average reward so far. The average is kept incrementally:

    estimate[a] <- estimate[a] + (reward - estimate[a]) / pulls[a]

*Regret* measures the price of learning: after each pull, how much expected reward was
lost by not pulling the best arm, summed over time. A learner that finds the best arm
adds less and less regret per step.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from course_lib.validation import check_probability


class BernoulliBandit:
    """K arms; arm ``a`` pays 1 with probability ``probs[a]`` and 0 otherwise."""

    def __init__(self, probs):
        probs = [float(p) for p in probs]
        if len(probs) < 1:
            raise ValueError("probs: expected at least one arm")
        for a, p in enumerate(probs):
            check_probability(p, f"probs[{a}]")
        self.probs = torch.tensor(probs, dtype=torch.float64)  # (K,)

    @property
    def num_arms(self) -> int:
        return len(self.probs)

    @property
    def best_mean(self) -> float:
        return self.probs.max().item()

    def pull(self, arm: int, generator: torch.Generator | None = None) -> float:
        """Pull ``arm`` once: 1.0 with probability probs[arm], else 0.0."""
        if isinstance(arm, bool) or not isinstance(arm, int) or not 0 <= arm < self.num_arms:
            raise ValueError(f"arm: expected an int in [0, {self.num_arms}), got {arm!r}")
        return float(torch.rand((), generator=generator, dtype=torch.float64) < self.probs[arm])


@dataclass
class BanditRun:
    arms: torch.Tensor       # (T,) the arm pulled at each step
    rewards: torch.Tensor    # (T,) what it paid
    estimates: torch.Tensor  # (K,) average reward of each arm at the end
    pulls: torch.Tensor      # (K,) how often each arm was pulled
    regret: torch.Tensor     # (T,) cumulative expected regret after each step


def epsilon_greedy(bandit: BernoulliBandit, steps: int, epsilon: float,
                   generator: torch.Generator | None = None) -> BanditRun:
    """Play ``steps`` rounds of epsilon-greedy on ``bandit``.

    Ties between equally good estimates (at the start, all arms) are broken at random.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps: expected a positive int, got {steps!r}")
    check_probability(epsilon, "epsilon")
    K = bandit.num_arms
    # Draw all randomness up front: four calls to torch instead of four per step.
    # Plain Python lists: the loop below reads them one number at a time.
    explore = (torch.rand(steps, generator=generator, dtype=torch.float64) < epsilon).tolist()  # (T,)
    random_arm = torch.randint(K, (steps,), generator=generator).tolist()                       # (T,)
    payout = torch.rand(steps, generator=generator, dtype=torch.float64).tolist()               # (T,)
    tie_break = torch.rand(steps, K, generator=generator, dtype=torch.float64).tolist()         # (T, K)

    estimates, pulls = [0.0] * K, [0] * K
    probs = bandit.probs.tolist()
    arms, rewards = [], []
    for t in range(steps):
        if explore[t]:
            arm = random_arm[t]
        else:
            best = max(estimates)
            # Among the arms whose estimate equals the best, the one with the largest random key.
            arm = max((a for a in range(K) if estimates[a] == best), key=lambda a: tie_break[t][a])
        reward = 1.0 if payout[t] < probs[arm] else 0.0
        pulls[arm] += 1
        estimates[arm] += (reward - estimates[arm]) / pulls[arm]  # running mean of this arm's rewards
        arms.append(arm)
        rewards.append(reward)

    arms_t = torch.tensor(arms)
    lost = bandit.best_mean - bandit.probs[arms_t]  # (T,) expected reward given up at each step
    return BanditRun(arms_t, torch.tensor(rewards, dtype=torch.float64),
                     torch.tensor(estimates, dtype=torch.float64), torch.tensor(pulls), lost.cumsum(0))
