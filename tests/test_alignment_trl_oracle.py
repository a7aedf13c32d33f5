"""TRL's own trainers as oracles for the course's DPO and Bradley-Terry losses.

A tiny random GPT-2 and a word-level tokenizer are built here (nothing is downloaded). TRL scores
one batch of a preference set with its ``compute_loss``; the course scores the same pairs from ids
it builds itself (prompt + completion + EOS), so the test also pins down which tokens count.
"""
from __future__ import annotations

import pytest

pytest.importorskip("trl", reason="TRL is an optional heavy oracle: the [oracles] extra")

import torch
from datasets import Dataset
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import (
    GPT2Config,
    GPT2ForSequenceClassification,
    GPT2LMHeadModel,
    PreTrainedTokenizerFast,
)
from trl import DPOConfig, DPOTrainer, RewardConfig, RewardTrainer

from course_lib.alignment import (
    bradley_terry_loss,
    dpo_loss,
    sequence_logprobs,
    token_logprobs,
)

WORDS = ["<pad>", "<eos>", "<unk>"] + [f"w{i}" for i in range(20)]
PAIRS = [  # (prompt, chosen, rejected): unequal lengths, so padding and masks matter
    ("w1 w2 w3", " w4 w5", " w6 w7 w8 w9"),
    ("w10 w11", " w12 w13 w14", " w15"),
    ("w16", " w17 w18 w19 w0", " w3 w2"),
]


def tokenizer():
    wordlevel = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    wordlevel.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=wordlevel, pad_token="<pad>", eos_token="<eos>",
                                   unk_token="<unk>")


def config(**extra):
    return GPT2Config(vocab_size=len(WORDS), n_positions=32, n_embd=16, n_layer=2, n_head=2, resid_pdrop=0.0,
                      embd_pdrop=0.0, attn_pdrop=0.0, pad_token_id=0, eos_token_id=1, bos_token_id=1, **extra)


def ids(text: str) -> list[int]:
    return [WORDS.index(w) for w in text.split()]


def pairs_dataset():
    prompts, chosen, rejected = zip(*PAIRS)
    return Dataset.from_dict({"prompt": list(prompts), "chosen": list(chosen), "rejected": list(rejected)})


def trl_loss(trainer):
    """TRL's loss on its first (sequential) evaluation batch, and that batch."""
    batch = next(iter(trainer.get_eval_dataloader()))
    with torch.no_grad():
        return trainer.compute_loss(trainer.model, batch).item(), batch


def course_seq_logps(model, answers: list[tuple[list[int], list[int]]]) -> torch.Tensor:
    """Summed log-probs of completion + EOS given the prompt, one unpadded pass per answer: (B,)."""
    out = []
    for prompt, completion in answers:
        seq = torch.tensor([prompt + completion + [1]])                                  # (1, T)
        targets = seq[:, 1:].clone()                                                     # (1, T-1)
        targets[:, : len(prompt) - 1] = -100                                             # prompt is not scored
        with torch.no_grad():
            logits = model(seq).logits[:, :-1]                                           # (1, T-1, V)
        out.append(sequence_logprobs(token_logprobs(logits, targets), targets != -100, "sum"))
    return torch.cat(out)


def test_dpo_loss_matches_trl_dpo_trainer(tmp_path):
    torch.manual_seed(0)
    policy = GPT2LMHeadModel(config()).eval()
    torch.manual_seed(1)
    reference = GPT2LMHeadModel(config()).eval()                  # a different model, so log-ratios are not 0
    args = DPOConfig(output_dir=str(tmp_path), report_to=[], beta=0.1, per_device_eval_batch_size=len(PAIRS),
                     max_length=16, use_cpu=True)
    trainer = DPOTrainer(model=policy, ref_model=reference, args=args, processing_class=tokenizer(),
                         train_dataset=pairs_dataset(), eval_dataset=pairs_dataset())
    expected, batch = trl_loss(trainer)
    # TRL's batch is [all chosen; all rejected], each prompt + completion + EOS, right-padded
    chosen = [(ids(p), ids(c)) for p, c, _ in PAIRS]
    rejected = [(ids(p), ids(r)) for p, _, r in PAIRS]
    for (prompt, answer), row, scored in zip(chosen + rejected, batch["input_ids"].tolist(),
                                             batch["completion_mask"].tolist()):
        real = prompt + answer + [1]
        assert row == real + [0] * (len(row) - len(real))
        assert scored == [0] * len(prompt) + [1] * (len(answer) + 1) + [0] * (len(row) - len(real))
    policy_c, policy_r = course_seq_logps(policy, chosen), course_seq_logps(policy, rejected)
    ref_c, ref_r = course_seq_logps(reference, chosen), course_seq_logps(reference, rejected)
    loss, _, _ = dpo_loss(policy_c, policy_r, ref_c, ref_r, beta=0.1)
    assert abs(loss.item() - 0.6931471805599453) > 1e-4, "the reference must differ from the policy"
    assert loss.item() == pytest.approx(expected, abs=1e-5)


def test_bradley_terry_loss_matches_trl_reward_trainer(tmp_path):
    torch.manual_seed(2)
    model = GPT2ForSequenceClassification(config(num_labels=1)).eval()
    args = RewardConfig(output_dir=str(tmp_path), report_to=[], per_device_eval_batch_size=len(PAIRS),
                        max_length=16, use_cpu=True)
    trainer = RewardTrainer(model=model, args=args, processing_class=tokenizer(),
                            train_dataset=pairs_dataset(), eval_dataset=pairs_dataset())
    expected, _ = trl_loss(trainer)

    def score(prompt: str, answer: str) -> torch.Tensor:          # the head on the last real token (EOS)
        seq = torch.tensor([ids(prompt) + ids(answer) + [1]])                            # (1, T)
        with torch.no_grad():
            hidden = model.transformer(seq).last_hidden_state                            # (1, T, C)
            return model.score(hidden[:, -1])[:, 0]                                      # (1,)

    r_chosen = torch.cat([score(p, c) for p, c, _ in PAIRS])                             # (B,)
    r_rejected = torch.cat([score(p, r) for p, _, r in PAIRS])
    assert bradley_terry_loss(r_chosen, r_rejected).item() == pytest.approx(expected, abs=1e-5)
