"""Pooling, classification and probes; SFT through the Trainer on the shipped model."""
from __future__ import annotations

import pytest
import torch

from course_lib.finetuning import (
    LabelledBatches,
    SequenceClassifier,
    classify,
    day_end_examples,
    encode_texts,
    evaluate_instructions,
    last_token_states,
    layer_states,
    mean_pool,
    probe_accuracy,
    sft_trainer,
    write_examples,
)
from course_lib.pretrained import load_pretrained
from course_lib.training import Trainer, TrainerConfig
from course_lib.transformer import GPT, GPTConfig




def test_last_token_and_mean_pool_by_hand():
    h = torch.arange(2 * 4 * 3, dtype=torch.float64).view(2, 4, 3)     # (B, T, C)
    lengths = torch.tensor([2, 4])
    assert torch.equal(last_token_states(h, lengths), torch.stack([h[0, 1], h[1, 3]]))
    assert torch.equal(mean_pool(h, lengths), torch.stack([h[0, :2].mean(0), h[1].mean(0)]))
    assert mean_pool(h, lengths).dtype == torch.float64
    with pytest.raises(ValueError, match="lengths must lie in 1..T=4"):
        last_token_states(h, torch.tensor([0, 4]))
    with pytest.raises(ValueError, match="integer lengths of shape"):
        mean_pool(h, torch.tensor([2.0, 4.0]))
    with pytest.raises(ValueError, match=r"shape \(B, T, C\)"):
        last_token_states(h[0], lengths)


def test_classifier_ignores_padding():
    torch.manual_seed(0)
    gpt = GPT(GPTConfig(vocab_size=50, context_length=16, n_layers=2, n_heads=2, d_model=16)).eval()
    for pool in ("last", "mean"):
        model = SequenceClassifier(gpt, 3, pool=pool).eval()
        short = torch.tensor([[4, 9, 33]])
        padded = torch.tensor([[4, 9, 33, 0, 0, 0]])
        mask = torch.tensor([[True, True, True, False, False, False]])
        assert torch.allclose(model(short)[0], model(padded, padding_mask=mask)[0], atol=1e-6)
    with pytest.raises(ValueError, match="pool"):
        SequenceClassifier(gpt, 2, pool="first")


def test_layer_states_come_from_the_model_forward():
    model, tokenizer = load_pretrained()
    ids_, mask = encode_texts(tokenizer, ["One day, Mia went home.", "Hi."], pad_id=508)
    states = layer_states(model, ids_, mask)
    assert states.shape == (model.config.n_layers + 1, 2, ids_.shape[1], model.config.d_model)
    assert torch.allclose(model.final_norm(states[-1]), model.features(ids_, mask), atol=1e-5)


def test_probe_reads_the_feeling_word_not_the_full_stop(one_thread):
    """The measured fact the lesson shows: the final "." does not carry the ending's feeling."""
    model, tokenizer = load_pretrained()
    train, test = day_end_examples(240, "train"), day_end_examples(120, "test")

    def features(examples, position):
        ids_, mask = encode_texts(tokenizer, [e.text for e in examples], pad_id=508)
        states = layer_states(model, ids_, mask)[-1]                    # (B, T, C)
        lengths = mask.sum(1)
        return states[torch.arange(len(examples)), lengths - position], torch.tensor([e.label for e in examples])

    word_acc = probe_accuracy(*features(train, 2), *features(test, 2))   # the feeling word before "."
    stop_acc = probe_accuracy(*features(train, 1), *features(test, 1))   # the final "."
    assert word_acc > 0.9 and stop_acc < word_acc - 0.2, (word_acc, stop_acc)


def test_full_fine_tuning_learns_the_classification_task(one_thread):
    model, tokenizer = load_pretrained()
    train, test = day_end_examples(400, "train"), day_end_examples(200, "test")
    ids_, mask = encode_texts(tokenizer, [e.text for e in train], pad_id=508)
    labels = torch.tensor([e.label for e in train])
    torch.manual_seed(0)
    classifier = SequenceClassifier(model, 2, pool="last")
    Trainer(classifier, LabelledBatches(ids_, labels, mask, 32),
            TrainerConfig(max_steps=60, lr=1e-3, warmup_steps=5, progress=False)).train()
    test_ids, test_mask = encode_texts(tokenizer, [e.text for e in test], pad_id=508)
    accuracy = (classify(classifier, test_ids, test_mask) == torch.tensor([e.label for e in test])).float().mean()
    assert accuracy > 0.9, accuracy


def test_sft_on_the_trainer_teaches_following_and_stopping(one_thread):
    model, tokenizer = load_pretrained()
    held_out = write_examples(40, "test")
    before = evaluate_instructions(model, tokenizer, held_out, max_new_tokens=48)
    assert before["follow_rate"] == 0.0 and before["stop_rate"] == 0.0
    trainer = sft_trainer(model, tokenizer, write_examples(400), batch_size=16,
                          config=TrainerConfig(max_steps=40, lr=2e-3, warmup_steps=5, weight_decay=0.0,
                                               progress=False))
    history = trainer.train()
    assert history["loss"][-1] < history["loss"][0] / 2
    after = evaluate_instructions(model, tokenizer, held_out, max_new_tokens=48)
    assert after["follow_rate"] >= 0.8 and after["stop_rate"] >= 0.8, after


def test_forgetting_is_measured_on_the_pretraining_validation_text():
    from course_lib.finetuning import pretraining_ids, pretraining_loss
    from course_lib.pretrained import read_card
    model, tokenizer = load_pretrained()
    assert pretraining_loss(model, tokenizer) == pytest.approx(read_card()["val_loss"], abs=1e-4)
    assert not torch.equal(pretraining_ids(tokenizer, 20, seed=7)[:50], pretraining_ids(tokenizer, 20)[:50])
