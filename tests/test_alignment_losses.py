"""Alignment losses and estimators: hand cases, brute-force references and library oracles."""
from __future__ import annotations

import math
import random

import pytest
import torch
import torch.nn.functional as F

from course_lib.alignment import (
    bradley_terry_loss,
    dpo_loss,
    entropy,
    gae,
    group_advantages,
    grpo_loss,
    kl_penalty,
    masked_mean,
    pairwise_accuracy,
    ppo_clip_loss,
    prefers_first,
    sequence_logprobs,
    token_logprobs,
    value_loss,
    whiten,
)


def test_token_and_sequence_logprobs_by_hand():
    logits = torch.tensor([[[0.0, math.log(3.0)], [math.log(2.0), 0.0], [0.0, 0.0]]])   # (1, 3, 2)
    targets = torch.tensor([[1, 0, -100]])
    lp = token_logprobs(logits, targets)
    assert torch.allclose(lp, torch.tensor([[math.log(0.75), math.log(2 / 3), 0.0]]))
    mask = targets != -100
    assert torch.allclose(sequence_logprobs(lp, mask), torch.tensor([math.log(0.75) + math.log(2 / 3)]))
    assert torch.allclose(sequence_logprobs(lp, mask, "mean"), torch.tensor([(math.log(0.75) + math.log(2 / 3)) / 2]))
    assert torch.allclose(entropy(logits)[0, 2], torch.tensor(math.log(2.0)))
    with pytest.raises(ValueError, match="empty response"):
        sequence_logprobs(lp, torch.zeros_like(mask))
    with pytest.raises(ValueError, match="reduction"):
        sequence_logprobs(lp, mask, "max")
    with pytest.raises(ValueError, match="same shape"):
        sequence_logprobs(lp, mask[:, :2])


def test_bradley_terry_loss_and_accuracy():
    rc, rr = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([1.0, 1.0, 0.5])
    expected = -(F.logsigmoid(torch.tensor(1.0)) + F.logsigmoid(torch.tensor(-2.0)) + math.log(0.5)) / 3
    assert torch.allclose(bradley_terry_loss(rc, rr), expected)
    assert pairwise_accuracy(rc, rr) == pytest.approx(0.5)   # one right, one wrong, one tie (half)
    with pytest.raises(ValueError):
        bradley_terry_loss(rc, rr[:2])


def test_annotator_agreement_grows_with_the_gold_gap():
    rng = random.Random(0)
    for gap in (0.0, 0.5, 2.0):
        share = sum(prefers_first(gap, 0.0, rng) for _ in range(20_000)) / 20_000
        expected = 1 / (1 + math.exp(-2 * gap))
        assert abs(share - expected) < 4 * math.sqrt(expected * (1 - expected) / 20_000) + 1e-9


def test_kl_estimators():
    torch.manual_seed(0)
    logits_p, logits_q = torch.randn(8), torch.randn(8)
    p, q = torch.softmax(logits_p, 0), torch.softmax(logits_q, 0)
    exact = (p * (p.log() - q.log())).sum()
    samples = torch.multinomial(p, 200_000, replacement=True)
    logp, logq = p.log()[samples][None], q.log()[samples][None]
    mask = torch.ones_like(logp, dtype=torch.bool)
    k1, k2, k3 = (kl_penalty(logp, logq, mask, k) for k in ("k1", "k2", "k3"))
    assert abs(k1.mean() - exact) < 0.02 and abs(k3.mean() - exact) < 0.02   # unbiased
    assert (k3 >= -1e-7).all() and (k1 < 0).any()                              # k1 goes negative per sample
    assert k2.std() < k1.std()
    # padding contributes nothing
    padded = kl_penalty(torch.tensor([[0.3, 5.0]]), torch.tensor([[0.1, -5.0]]), torch.tensor([[True, False]]))
    assert torch.allclose(padded, torch.tensor([[0.2, 0.0]]))
    with pytest.raises(ValueError, match="kind"):
        kl_penalty(logp, logq, mask, "k4")


def reference_gae(rewards, values, mask, gamma, lam):
    """Row by row, on each response only: the textbook recursion."""
    advantages = torch.zeros_like(rewards)
    for b in range(rewards.shape[0]):
        positions = torch.nonzero(mask[b]).flatten().tolist()
        running = 0.0
        for i in reversed(range(len(positions))):
            t = positions[i]
            next_value = values[b, positions[i + 1]] if i + 1 < len(positions) else 0.0
            delta = rewards[b, t] + gamma * next_value - values[b, t]
            running = delta + gamma * lam * running
            advantages[b, t] = running
    return advantages, (advantages + values) * mask


@pytest.mark.parametrize("gamma, lam", [(1.0, 1.0), (1.0, 0.95), (0.9, 0.8)])
def test_gae_against_the_recursion(gamma, lam):
    torch.manual_seed(1)
    rewards, values = torch.randn(4, 9, dtype=torch.float64), torch.randn(4, 9, dtype=torch.float64)
    mask = torch.zeros(4, 9, dtype=torch.bool)
    for row, (start, stop) in enumerate([(2, 9), (3, 6), (0, 1), (4, 8)]):   # prompts before, padding after
        mask[row, start:stop] = True
    rewards = rewards * mask
    advantages, returns = gae(rewards, values, mask, gamma, lam)
    expected_adv, expected_ret = reference_gae(rewards, values, mask, gamma, lam)
    assert torch.allclose(advantages, expected_adv) and torch.allclose(returns, expected_ret)


def test_gae_lambda_one_is_the_return_minus_the_value():
    rewards = torch.tensor([[0.0, 0.0, 1.0, 0.0]])
    values = torch.tensor([[0.5, 0.2, 0.1, 9.0]])
    mask = torch.tensor([[True, True, True, False]])
    advantages, returns = gae(rewards, values, mask, 1.0, 1.0)
    assert torch.allclose(returns, torch.tensor([[1.0, 1.0, 1.0, 0.0]]))
    assert torch.allclose(advantages, torch.tensor([[0.5, 0.8, 0.9, 0.0]]))


def test_gae_matches_stable_baselines3():
    sb3 = pytest.importorskip("stable_baselines3.common.buffers", reason="stable-baselines3 is an optional oracle")
    import numpy as np
    from gymnasium import spaces
    torch.manual_seed(3)
    T, gamma, lam = 6, 0.97, 0.9
    rewards, values = torch.randn(T), torch.randn(T)
    buffer = sb3.RolloutBuffer(T, spaces.Box(-1, 1, (1,)), spaces.Discrete(2), gamma=gamma, gae_lambda=lam, n_envs=1)
    for t in range(T):
        buffer.add(np.zeros((1, 1)), np.zeros((1,)), np.array([rewards[t].item()]), np.array([t == 0]),
                   values[t].reshape(1, 1), torch.zeros(1))
    buffer.compute_returns_and_advantage(last_values=torch.zeros(1), dones=np.array([True]))
    advantages, returns = gae(rewards[None], values[None], torch.ones(1, T, dtype=torch.bool), gamma, lam)
    assert np.allclose(advantages[0].numpy(), buffer.advantages[:, 0], atol=1e-5)
    assert np.allclose(returns[0].numpy(), buffer.returns[:, 0], atol=1e-5)


def test_whiten():
    x = torch.tensor([[1.0, 2.0, 3.0, 100.0]])
    mask = torch.tensor([[True, True, True, False]])
    w = whiten(x, mask)
    assert torch.allclose(w, torch.tensor([[-1.0, 0.0, 1.0, 0.0]]), atol=1e-6)   # unbiased std of 1, 2, 3 is 1
    with pytest.raises(ValueError, match="at least 2"):
        whiten(x, torch.tensor([[True, False, False, False]]))


def test_ppo_clip_loss_gradients_vanish_outside_the_clip_in_the_advantage_direction():
    old = torch.zeros(1, 5)
    new = torch.log(torch.tensor([[1.5, 0.5, 1.5, 0.5, 1.1]])).requires_grad_()
    adv = torch.tensor([[1.0, -1.0, -1.0, 1.0, 1.0]])
    loss, clip_fraction = ppo_clip_loss(new, old, adv, torch.ones(1, 5, dtype=torch.bool), clip=0.2)
    loss.backward()
    # ratio 1.5 with A > 0 and 0.5 with A < 0: clipped, no gradient; the other three still push
    grad = new.grad[0]
    assert grad[0] == 0 and grad[1] == 0 and (grad[2:] != 0).all()
    assert clip_fraction.item() == pytest.approx(0.4)
    expected = -(1.2 * 1 + 0.8 * -1 + 1.5 * -1 + 0.5 * 1 + 1.1 * 1) / 5
    assert loss.item() == pytest.approx(expected, abs=1e-6)



def test_value_loss_clipped():
    values, old, returns = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    mask = torch.ones(1, 2, dtype=torch.bool)
    # token 0: (1-0)^2 = 1 vs clipped 0.2^2: max 1; token 1: (0-1)^2 = 1 both
    assert value_loss(values, old, returns, mask, clip=0.2).item() == pytest.approx(0.5 * (1 + 1) / 2)


def test_dpo_loss_by_hand_and_variants():
    pc, pr = torch.tensor([-10.0, -4.0]), torch.tensor([-12.0, -3.0])
    rc, rr = torch.tensor([-11.0, -4.0]), torch.tensor([-11.0, -4.0])
    loss, chosen, rejected = dpo_loss(pc, pr, rc, rr, beta=0.5)
    margins = torch.tensor([(1.0) - (-1.0), 0.0 - 1.0])
    assert torch.allclose(loss, -F.logsigmoid(0.5 * margins).mean())
    assert torch.allclose(chosen, torch.tensor([0.5, 0.0])) and torch.allclose(rejected, torch.tensor([-0.5, 0.5]))
    ipo, _, _ = dpo_loss(pc, pr, rc, rr, beta=0.5, kind="ipo")
    assert torch.allclose(ipo, ((margins - 1.0) ** 2).mean())
    # equal policy and reference: log 2, whatever beta
    same, _, _ = dpo_loss(rc, rr, rc, rr, beta=3.0)
    assert same.item() == pytest.approx(math.log(2))
    with pytest.raises(ValueError, match="four"):
        dpo_loss(pc, pr[:1], rc, rr)
    with pytest.raises(ValueError, match="beta"):
        dpo_loss(pc, pr, rc, rr, beta=0.0)


def test_dpo_gradient_only_reaches_the_policy():
    pc, pr = torch.tensor([-3.0]).requires_grad_(), torch.tensor([-4.0]).requires_grad_()
    rc, rr = torch.tensor([-3.5]).requires_grad_(), torch.tensor([-3.5]).requires_grad_()
    dpo_loss(pc, pr, rc, rr, 0.1)[0].backward()
    assert pc.grad.item() < 0 < pr.grad.item() and rc.grad is None and rr.grad is None


def test_group_advantages():
    rewards = torch.tensor([1.0, 2.0, 3.0, 5.0, 5.0, 5.0])
    adv = group_advantages(rewards, 3)
    assert torch.allclose(adv[:3], torch.tensor([-1.0, 0.0, 1.0]) / (1.0 + 1e-4))
    assert torch.equal(adv[3:], torch.zeros(3))                  # no signal, and no NaN
    assert torch.allclose(group_advantages(rewards, 3, normalize_std=False)[:3], torch.tensor([-1.0, 0.0, 1.0]))
    # groups are contiguous, not interleaved
    assert torch.allclose(group_advantages(torch.tensor([0.0, 0.0, 1.0, 1.0]), 2), torch.zeros(4))
    with pytest.raises(ValueError, match="do not divide"):
        group_advantages(rewards, 4)
    with pytest.raises(ValueError, match="group_size"):
        group_advantages(rewards, 1)


def test_grpo_loss_reductions():
    logp = torch.zeros(2, 3, requires_grad=True)
    mask = torch.tensor([[True, True, True], [True, False, False]])
    adv = torch.tensor([1.0, -2.0])
    per_answer = grpo_loss(logp, logp.detach(), adv, mask, loss_type="grpo")
    assert per_answer.item() == pytest.approx(-(1.0 + -2.0) / 2)
    assert grpo_loss(logp, logp.detach(), adv, mask, loss_type="dapo").item() == pytest.approx(-(3 * 1.0 - 2.0) / 4)
    assert grpo_loss(logp, logp.detach(), adv, mask, loss_type="dr_grpo").item() == pytest.approx(-(3 - 2.0) / 6)
    with pytest.raises(ValueError, match="ref_logp"):
        grpo_loss(logp, logp.detach(), adv, mask, beta=0.1)


def test_masked_mean_refuses_an_empty_mask():
    with pytest.raises(ValueError, match="no entry"):
        masked_mean(torch.ones(2, 2), torch.zeros(2, 2, dtype=torch.bool))


def test_ppo_clip_loss_matches_torchrl():
    """torchrl's ClipPPOLoss on a categorical policy: the same objective and the same gradient."""
    pytest.importorskip("torchrl.objectives", reason="torchrl is an optional heavy oracle (the [oracles] extra)")
    from tensordict import TensorDict
    from tensordict.nn import TensorDictModule
    from torchrl.modules import ProbabilisticActor
    from torchrl.objectives import ClipPPOLoss

    torch.manual_seed(0)
    N, V = 12, 5
    logits = torch.nn.Parameter(torch.randn(N, V) * 2)

    class RowLogits(torch.nn.Module):
        def forward(self, observation):                  # (N, 1) row index -> that row's logits (N, V)
            return logits[observation[..., 0].long()]

    actor = ProbabilisticActor(TensorDictModule(RowLogits(), in_keys=["observation"], out_keys=["logits"]),
                               in_keys=["logits"], distribution_class=torch.distributions.Categorical,
                               return_log_prob=True)
    actions = torch.randint(V, (N,))
    old_logp = torch.log_softmax(torch.randn(N, V), -1)[torch.arange(N), actions]
    advantages = torch.randn(N, 1)
    batch = TensorDict({"observation": torch.arange(N)[:, None].float(), "action": actions,
                        "action_log_prob": old_logp, "advantage": advantages}, batch_size=[N])
    theirs = ClipPPOLoss(actor, critic_network=None, clip_epsilon=0.2, entropy_bonus=False,
                         normalize_advantage=False, critic_coeff=None)(batch)["loss_objective"]
    (their_grad,) = torch.autograd.grad(theirs, logits)
    new_logp = torch.log_softmax(logits, -1)[torch.arange(N), actions]
    ours, _ = ppo_clip_loss(new_logp[None], old_logp[None], advantages[:, 0][None],
                            torch.ones(1, N, dtype=torch.bool), clip=0.2)
    (our_grad,) = torch.autograd.grad(ours, logits)
    assert ours.item() == pytest.approx(theirs.item(), abs=1e-6)
    assert torch.allclose(our_grad, their_grad, atol=1e-6)
