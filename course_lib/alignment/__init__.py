"""Learning from human feedback (lesson 06): preferences, a reward model, PPO, DPO and GRPO.

Read in this order:

1. ``gold.py``          the hidden "human": a judge of answers and a noisy annotator;
2. ``rollouts.py``      the policy answers prompts (plain sampling); batches to score;
3. ``preferences.py``   K answers per prompt, ranked, cut into pairs;
4. ``reward_model.py``  a scalar head at the last real token, the Bradley-Terry loss;
5. ``logprobs.py``      log-probabilities of responses (sum and mean), entropy;
6. ``ppo.py``           the pieces of PPO: KL estimators, GAE, whitening, the clipped losses;
7. ``ppo_trainer.py``   PPO with a KL penalty, one step at a time;
8. ``dpo.py``           DPO and IPO: preferences without a reward model;
9. ``grpo.py``          GRPO: advantages from a group of answers, no value model;
10. ``preference_training.py``  the DPO loop and the GRPO trainer;
11. ``hacking.py``      reward hacking measured: a flawed proxy, with and without a KL penalty;
12. ``scorecard.py``    gold reward and KL of any policy on held-out prompts, to compare methods;
13. ``aligned_models.py`` the shipped PPO- and DPO-tuned policies (``llmcourse align`` rebuilds them).
"""
from course_lib.alignment.dpo import dpo_loss, implicit_rewards
from course_lib.alignment.gold import feelings_of, gold_reward, gold_rewards, prefers_first
from course_lib.alignment.hacking import HACKING_DEMO, HACKING_STEPS, feeling_count_reward, overoptimisation_run
from course_lib.alignment.grpo import group_advantages, grpo_loss
from course_lib.alignment.logprobs import (
    entropy,
    masked_mean,
    masked_sum,
    response_logprobs,
    sequence_logprobs,
    token_logprobs,
)
from course_lib.alignment.ppo import gae, kl_penalty, ppo_clip_loss, value_loss, whiten
from course_lib.alignment.ppo_trainer import PPOConfig, PPOTrainer
from course_lib.alignment.preference_training import GRPOTrainer, dpo_train, pair_logprobs
from course_lib.alignment.preferences import PreferencePair, preference_pairs
from course_lib.alignment.reward_model import (
    PairBatches,
    PairwiseObjective,
    RewardModel,
    bradley_terry_loss,
    pairwise_accuracy,
    score_pairs,
)
from course_lib.alignment.scorecard import Scorecard, scorecard
from course_lib.alignment.rollouts import Rollout, pad_id_of, rollout_batch, sample_rollouts, transcript_batch

__all__ = [
    "GRPOTrainer", "PPOConfig", "PPOTrainer", "dpo_train", "pair_logprobs", "PairBatches", "PairwiseObjective", "PreferencePair", "RewardModel", "Rollout",
    "HACKING_DEMO", "HACKING_STEPS", "bradley_terry_loss", "dpo_loss", "entropy", "feeling_count_reward", "feelings_of", "gae", "gold_reward", "gold_rewards", "group_advantages",
    "grpo_loss", "implicit_rewards", "kl_penalty", "masked_mean", "masked_sum", "overoptimisation_run", "pad_id_of", "pairwise_accuracy",
    "ppo_clip_loss", "preference_pairs", "prefers_first", "response_logprobs", "rollout_batch", "sample_rollouts",
    "Scorecard", "score_pairs", "scorecard", "sequence_logprobs", "token_logprobs", "transcript_batch", "value_loss", "whiten",
]
