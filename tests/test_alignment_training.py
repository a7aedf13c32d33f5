"""The alignment loops on the shipped instruction-tuned policy: data, reward model, PPO, DPO, GRPO."""
from __future__ import annotations

import copy
import re

import pytest
import torch

from course_lib.alignment import (
    HACKING_STEPS,
    GRPOTrainer,
    PairBatches,
    PairwiseObjective,
    PPOConfig,
    PPOTrainer,
    RewardModel,
    dpo_train,
    feeling_count_reward,
    gold_reward,
    gold_rewards,
    overoptimisation_run,
    pad_id_of,
    preference_pairs,
    rollout_batch,
    sample_rollouts,
    score_pairs,
    scorecard,
    transcript_batch,
)
from course_lib.finetuning import write_examples
from course_lib.finetuning.instruct_model import load_instruct
from course_lib.training import Trainer, TrainerConfig


@pytest.fixture(scope="module")
def policy_and_tokenizer():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield load_instruct()
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def rollouts(policy_and_tokenizer):
    policy, tokenizer = policy_and_tokenizer
    return sample_rollouts(policy, tokenizer, write_examples(48, "train", seed=5), per_prompt=4,
                           max_new_tokens=80, seed=0)


def gold_of(rollouts):
    return torch.tensor([gold_reward(r.example, r.text, r.stopped) for r in rollouts])


def test_gold_reward_by_hand():
    example = write_examples(1, "test", seed=0)[0]
    opening = f"One day, Mia went to {example.place} with a {example.animal}."
    assert gold_reward(example, opening + " The sun was warm.", True) == 1.0            # on topic, no feeling
    assert gold_reward(example, opening + ' "I am happy today," said Leo.', True) == 2.0
    assert gold_reward(example, opening + " Leo was happy. Leo was sad.", True) == 0.0
    assert gold_reward(example, opening + " Leo was happy. Leo was happy.", True) == 1.5   # one repeat
    long = opening + " A b. C d. E f. G h."
    assert gold_reward(example, long, True) == 1.0 - 0.5 * 2                              # two beyond three
    assert gold_reward(example, opening, False) == 0.0                                     # never ended
    assert gold_reward(example, "Tom went home.", True) == -1.0


def test_rollouts_are_grouped_and_batched(policy_and_tokenizer, rollouts):
    policy, tokenizer = policy_and_tokenizer
    assert all(rollouts[i].example == rollouts[i - i % 4].example for i in range(len(rollouts)))
    inputs, targets, padding_mask = rollout_batch(rollouts[:6], pad_id_of(tokenizer))
    for row, r in enumerate(rollouts[:6]):
        trained = targets[row][targets[row] != -100].tolist()
        assert trained == r.response_ids and (r.response_ids[-1] == 511) == r.stopped
    ids, mask = transcript_batch(rollouts[:3], pad_id_of(tokenizer))
    assert mask.sum(1).tolist() == [len(r.prompt_ids) + len(r.response_ids) for r in rollouts[:3]]
    # answers differ in length and gold score: there is something to prefer and to explore
    assert len({len(r.response_ids) for r in rollouts}) > 10 and len(set(gold_of(rollouts).tolist())) >= 4


def test_preference_pairs_all_pairs_and_noise(rollouts):
    pairs = preference_pairs(rollouts, per_prompt=4, seed=0)
    assert len(pairs) == 48 * 6
    decided = [p for p in pairs if p.gold_gap != 0]
    agreement = sum(p.gold_gap > 0 for p in decided) / len(decided)
    assert 0.6 < agreement < 0.97                                 # noisy, yet better than chance
    with pytest.raises(ValueError, match="groups of 5"):
        preference_pairs(rollouts, per_prompt=5)
    with pytest.raises(ValueError, match="contiguous groups"):
        preference_pairs(rollouts[1:9], per_prompt=4)


def test_reward_model_learns_preferences(policy_and_tokenizer, rollouts):
    policy, tokenizer = policy_and_tokenizer
    pad = pad_id_of(tokenizer)
    pairs = preference_pairs(rollouts, 4, seed=0)
    torch.manual_seed(0)
    reward_model = RewardModel(copy.deepcopy(policy))
    ids, mask = transcript_batch(rollouts[:4], pad)
    assert torch.equal(reward_model(ids, mask), torch.zeros(4))       # the head starts at zero
    history = Trainer(PairwiseObjective(reward_model), PairBatches(pairs, 16, pad),
                      TrainerConfig(max_steps=20, lr=1e-3, warmup_steps=2, progress=False)).train()
    assert history["loss"][0] == pytest.approx(0.6931, abs=1e-3)
    held_out = sample_rollouts(policy, tokenizer, write_examples(24, "validation", seed=5), per_prompt=4,
                               max_new_tokens=80, seed=1)
    decided = [p for p in preference_pairs(held_out, 4, seed=1) if abs(p.gold_gap) >= 1]
    chosen, rejected = score_pairs(reward_model, decided, pad)
    agrees_with_gold = ((chosen > rejected) == torch.tensor([p.gold_gap > 0 for p in decided])).float().mean()
    assert agrees_with_gold > 0.6, agrees_with_gold


def test_ppo_step_moves_the_policy_and_beta_limits_the_drift(policy_and_tokenizer):
    policy, tokenizer = policy_and_tokenizer
    prompts = write_examples(64, "train", seed=9)
    gold = gold_of
    kls = {}
    for beta in (0.0, 1.0):
        trainer = PPOTrainer(copy.deepcopy(policy), tokenizer, prompts, gold,
                             PPOConfig(beta=beta, batch_prompts=8, max_new_tokens=48, lr=3e-4, seed=1))
        for _ in range(4):
            stats = trainer.step()
        assert set(stats) == {"score", "gold", "kl", "tokens", "clip_fraction", "loss"}
        kls[beta] = sum(trainer.history["kl"][-2:]) / 2
    assert kls[1.0] < kls[0.0]
    changed = PPOTrainer(copy.deepcopy(policy), tokenizer, prompts, gold, PPOConfig(batch_prompts=4, seed=2))
    changed.step()
    assert any(not torch.equal(a, b) for a, b in zip(changed.policy.parameters(), policy.parameters()))
    with pytest.raises(ValueError, match="beta"):
        PPOTrainer(policy, tokenizer, prompts, gold, PPOConfig(beta=-1.0))


def test_dpo_raises_the_margin(policy_and_tokenizer, rollouts):
    policy, tokenizer = policy_and_tokenizer
    pairs = [p for p in preference_pairs(rollouts, 4, seed=0) if p.gold_gap != 0]
    history = dpo_train(copy.deepcopy(policy), tokenizer, pairs, steps=8, beta=0.1, lr=3e-4, batch_size=8)
    assert history["loss"][0] == pytest.approx(0.6931, abs=1e-3)
    margin = [c - r for c, r in zip(history["chosen_reward"], history["rejected_reward"])]
    assert sum(margin[-3:]) / 3 > 0


def test_grpo_step_reports_signal(policy_and_tokenizer):
    policy, tokenizer = policy_and_tokenizer
    trainer = GRPOTrainer(copy.deepcopy(policy), tokenizer, write_examples(32, "train", seed=4), gold_of,
                          group_size=4, prompts_per_step=2, max_new_tokens=48)
    stats = trainer.step()
    assert 0.0 <= stats["signal"] <= 1.0 and abs(stats["loss"]) < 1.0
    constant = GRPOTrainer(copy.deepcopy(policy), tokenizer, write_examples(8, "train"), lambda rs: torch.ones(len(rs)),
                           group_size=4, prompts_per_step=2, max_new_tokens=16)
    stats = constant.step()
    assert stats["signal"] == 0.0 and stats["loss"] == 0.0            # equal rewards: no signal, no NaN


def test_hacking_demo_proxy_up_gold_down_and_kl_limits_it(policy_and_tokenizer):
    """The lesson's seeded reward-hacking configuration, as the notebook runs it (about 30 s).

    Without KL the feeling-word counter climbs while the hidden judge's score falls and the policy
    drifts tens of nats from the reference; with beta = 0.2 the drift stays small and gold does not fall.
    """
    policy, tokenizer = policy_and_tokenizer
    before = [p.detach().clone() for p in policy.parameters()]
    free = overoptimisation_run(policy, tokenizer, beta=0.0).history
    held = overoptimisation_run(policy, tokenizer, beta=0.2).history
    assert all(torch.equal(a, b) for a, b in zip(before, policy.parameters()))     # trained on copies
    assert len(free["kl"]) == len(held["kl"]) == HACKING_STEPS

    def first(key, h):
        return sum(h[key][:4]) / 4

    def last(key, h):
        return sum(h[key][-4:]) / 4

    assert last("score", free) > first("score", free) + 2.0, free["score"]        # the proxy rises
    assert last("gold", free) < first("gold", free) - 1.0, free["gold"]           # the judge's score falls
    assert last("kl", free) > 30.0, free["kl"]                                    # far from the reference
    assert last("kl", held) < 15.0, held["kl"]                                    # the KL penalty holds it
    assert last("gold", held) > last("gold", free) + 1.0
    assert last("gold", held) >= first("gold", held) - 0.25, held["gold"]


def test_feeling_count_reward_and_gold_rewards(rollouts):
    texts = [r.text for r in rollouts[:8]]
    expected = [sum(w in ("happy", "brave", "proud", "curious") for w in re.findall(r"[a-z]+", t.lower()))
                - sum(w in ("sad", "tired", "scared", "hungry") for w in re.findall(r"[a-z]+", t.lower()))
                for t in texts]
    assert feeling_count_reward(rollouts[:8]).tolist() == expected
    assert gold_rewards(rollouts[:8]).tolist() == gold_of(rollouts[:8]).tolist()
    assert gold_rewards(rollouts[:8]).dtype == torch.float32


def test_scorecard_of_the_reference_is_zero_kl_and_moves_with_the_policy(policy_and_tokenizer):
    policy, tokenizer = policy_and_tokenizer
    examples = write_examples(12, "test", seed=3)
    card = scorecard(policy, policy, tokenizer, examples, max_new_tokens=48, seed=4)
    again = sample_rollouts(policy, tokenizer, examples, max_new_tokens=48, seed=4)
    assert [r.text for r in card.rollouts] == [r.text for r in again]
    assert card.kl == 0.0 and card.gold == pytest.approx(gold_of(again).mean().item())
    assert card.tokens == pytest.approx(sum(len(r.response_ids) for r in again) / len(again))
    moved = copy.deepcopy(policy)
    with torch.no_grad():
        moved.lm_head.weight.add_(0.05 * torch.randn_like(moved.lm_head.weight))
    # k1 on the policy's own samples: a Monte-Carlo estimate of KL(moved || policy), positive on average
    assert scorecard(moved, policy, tokenizer, examples, max_new_tokens=48, seed=4).kl > 0.0
