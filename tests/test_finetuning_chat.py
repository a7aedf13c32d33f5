"""The chat format, its loss mask, SFT batches and the task data."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from course_lib.finetuning import (
    ChatBatches,
    build_chat_example,
    chat_token_ids,
    collate_chat,
    day_end_examples,
    follows_instruction,
    prompt_ids,
    write_examples,
)
from course_lib.finetuning.sft import ReplayBatches, instruction_metrics, Answer
from course_lib.finetuning.tasks import PLEASANT, UNPLEASANT
from course_lib.pretrained import load_pretrained


@pytest.fixture(scope="module")
def tokenizer():
    return load_pretrained()[1]


@pytest.fixture(scope="module")
def special(tokenizer):
    return chat_token_ids(tokenizer)


def test_example_layout_and_mask_by_spans(tokenizer, special):
    prompt, response = "Write a story about a fox at the river.", "One day, Mia went to the river with a fox."
    example = build_chat_example(tokenizer, prompt, response)
    p = tokenizer.encode(prompt, allowed_special=False)
    r = tokenizer.encode(response, allowed_special=False)
    assert example.ids == [special["<|user|>"]] + p + [special["<|assistant|>"]] + r + [special["<|end|>"]]
    # trained: the response and <|end|>; not trained: <|user|>, the prompt, <|assistant|>
    assert example.mask == [0] * (len(p) + 2) + [1] * (len(r) + 1)


def test_special_token_text_in_a_prompt_is_not_a_special_token(tokenizer, special):
    example = build_chat_example(tokenizer, "Say <|end|> now.", "Ok.")
    user_part = example.ids[1:example.ids.index(special["<|assistant|>"])]
    assert special["<|end|>"] not in user_part
    assert example.ids.count(special["<|end|>"]) == 1 and example.ids[-1] == special["<|end|>"]


def test_collate_shifts_targets_with_the_mask_and_pads_right(tokenizer, special):
    a = build_chat_example(tokenizer, "Write a story about a cat at the park.", "It was sunny. The cat was happy.")
    b = build_chat_example(tokenizer, "Hi.", "Yes.")
    inputs, targets, padding_mask = collate_chat([a, b], special["<|pad|>"])
    T = len(a) - 1
    assert inputs.shape == targets.shape == padding_mask.shape == (2, T)
    assert inputs.dtype == targets.dtype == torch.long and padding_mask.dtype == torch.bool
    for row, ex in enumerate([a, b]):
        n = len(ex) - 1
        assert inputs[row, :n].tolist() == ex.ids[:-1]
        assert padding_mask[row].tolist() == [True] * n + [False] * (T - n)
        assert (inputs[row, n:] == special["<|pad|>"]).all()
        for t in range(T):   # hand check, position by position
            trained = t < n and ex.mask[t + 1] == 1
            assert targets[row, t].item() == (ex.ids[t + 1] if trained else -100)
    # the last trained target of each row is <|end|>; no role token is ever a target
    assert targets[0][targets[0] != -100][-1].item() == special["<|end|>"]
    assert not ((targets == special["<|assistant|>"]) | (targets == special["<|user|>"])).any()


def test_loss_is_the_mean_over_trained_tokens_of_the_batch(tokenizer, special):
    torch.manual_seed(0)
    model = load_pretrained()[0]
    examples = [build_chat_example(tokenizer, e.prompt, e.response) for e in write_examples(5, seed=3)]
    inputs, targets, padding_mask = collate_chat(examples, special["<|pad|>"])
    logits, loss = model(inputs, targets, padding_mask)
    keep = targets != -100
    by_hand = -torch.log_softmax(logits, -1).gather(-1, targets.clamp(min=0)[..., None])[..., 0][keep].mean()
    assert torch.allclose(loss, by_hand, atol=1e-6)
    # a token-mean over the batch, not a mean of per-example means
    per_example = torch.stack([F.cross_entropy(logits[i][keep[i]], targets[i][keep[i]]) for i in range(5)]).mean()
    assert not torch.allclose(loss, per_example, atol=1e-4)


def test_bad_inputs_are_clear_errors(tokenizer, special):
    with pytest.raises(ValueError, match="prompt takes .* tokens"):
        build_chat_example(tokenizer, "word " * 200, "Yes.", max_length=128)
    with pytest.raises(ValueError, match="would lose its end"):
        build_chat_example(tokenizer, "Hi.", "A long answer. " * 40, max_length=128)
    with pytest.raises(ValueError, match="empty response"):
        build_chat_example(tokenizer, "Hi.", "   ")
    with pytest.raises(TypeError, match="prompt: expected a str"):
        prompt_ids(tokenizer, ["Hi"])
    with pytest.raises(ValueError, match="at least one example"):
        collate_chat([], 0)
    with pytest.raises(TypeError, match="ChatExample"):
        collate_chat([[1, 2, 3]], 0)


def test_chat_batches_resume_exactly(tokenizer, special):
    examples = [build_chat_example(tokenizer, e.prompt, e.response) for e in write_examples(40)]
    source = ChatBatches(examples, 4, special["<|pad|>"], seed=1)
    source.sample()
    state = source.state_dict()
    expected = source.sample()
    source.load_state_dict(state)
    assert all(torch.equal(a, b) for a, b in zip(source.sample(), expected))


def test_replay_rows_are_pretraining_windows_trained_everywhere(tokenizer, special):
    examples = [build_chat_example(tokenizer, e.prompt, e.response) for e in write_examples(40)]
    stream = torch.arange(1000) % 500
    data = ReplayBatches(ChatBatches(examples, 8, special["<|pad|>"]), stream, replay_rows=3)
    inputs, targets, padding_mask = data.sample()
    assert inputs.shape[0] == 8
    assert padding_mask[-3:].all() and torch.equal(targets[-3:], (inputs[-3:] + 1) % 500)
    assert (targets[:5] == -100).any()
    with pytest.raises(ValueError, match="replay_rows"):
        ReplayBatches(ChatBatches(examples, 8, 0), stream, replay_rows=8)


def test_write_examples_are_seeded_split_and_follow_their_instruction():
    a, b = write_examples(50, seed=4), write_examples(50, seed=4)
    assert a == b and write_examples(50, seed=5) != a
    pairs = {s: {(e.animal, e.place) for e in write_examples(400, s)} for s in ("train", "validation", "test")}
    assert not pairs["train"] & pairs["test"] and not pairs["train"] & pairs["validation"]
    for example in write_examples(200, "test"):
        assert follows_instruction(example, example.response)["all"], example
        assert example.animal in example.prompt and example.place in example.prompt
    lengths = {e.response.count(".") for e in write_examples(200)}
    assert len(lengths) >= 3   # answers vary in length


def test_checker_rejects_what_does_not_follow():
    example = write_examples(1, "test", seed=2)[0]
    other_animal = "cat" if example.animal != "cat" else "dog"
    assert not follows_instruction(example, example.response.replace(example.animal, other_animal))["all"]
    assert not follows_instruction(example, example.response + f" The {other_animal} came too.")["animal"]
    assert not follows_instruction(example, "y near " + example.place + ".")["all"]
    assert not follows_instruction(example, example.response[:-1] + " and then")["sentences"]
    with pytest.raises(TypeError):
        follows_instruction(example, None)


def test_instruction_metrics_by_hand():
    examples = write_examples(4, "test", seed=1)
    answers = [Answer(examples[0].response, True, 10), Answer(examples[1].response, False, 64),
               Answer("nonsense", True, 3), Answer("nonsense", True, 3)]
    metrics = instruction_metrics(examples, answers)
    assert metrics["follow_rate"] == 0.5 and metrics["stop_rate"] == 0.75
    assert metrics["distinct"] == 0.75 and metrics["mean_tokens"] == 20.0
    with pytest.raises(ValueError, match="one answer per example"):
        instruction_metrics(examples, answers[:2])


def test_day_end_labels_follow_the_last_feeling_only():
    examples = day_end_examples(400, seed=3)
    assert sum(e.label for e in examples) == 200
    for e in examples:
        ending = e.text.rstrip(".").split()[-1]
        assert (ending in PLEASANT) == (e.label == 1) and ending in PLEASANT + UNPLEASANT
    # the distractor feeling of the animal is independent of the label
    first = [e.text.split(".")[0].split()[-1] in PLEASANT for e in examples]
    agree = sum(f == bool(e.label) for f, e in zip(first, examples)) / len(examples)
    assert 0.4 < agree < 0.6
    assert day_end_examples(10, "test") != day_end_examples(10, "train")


def test_labels_match_trl_completion_only_sft(tokenizer, special):
    """TRL's SFT: labels are the ids where the completion mask is 1 (EOS included), -100 elsewhere,
    right-padded with -100; the model shifts them by one. Ours come shifted already."""
    collator_module = pytest.importorskip("trl.trainer.sft_trainer", reason="TRL is an optional heavy oracle "
                                          "(pip install -c constraints.txt -e '.[oracles]')")
    pairs = write_examples(6, seed=11)
    examples = [build_chat_example(tokenizer, p.prompt, p.response) for p in pairs]
    collator = collator_module.DataCollatorForLanguageModeling(pad_token_id=special["<|pad|>"])
    batch = collator([{"input_ids": e.ids, "labels": [i if m else -100 for i, m in zip(e.ids, e.mask)]}
                      for e in examples])
    inputs, targets, padding_mask = collate_chat(examples, special["<|pad|>"])
    assert torch.equal(batch["labels"][:, 1:], targets)
    # the inputs agree wherever ours are real tokens (each row's last id, <|end|>, is never an input to us)
    assert torch.equal(batch["input_ids"][:, :-1][padding_mask], inputs[padding_mask])
    assert torch.equal(batch["attention_mask"].sum(1) - 1, padding_mask.sum(1))
