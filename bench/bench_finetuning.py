"""Benchmark fine-tuning: what LoRA saves per step, and what instruction tuning buys.

1. **One training step, LoRA against full fine-tuning**, on the same batch of chat examples and the
   shipped pretrained model: CPU time per step (median of interleaved rounds, one thread), and the
   memory that training adds on top of the weights: gradients plus AdamW's two moment tensors, for
   the parameters that train. LoRA is r = 8 on every linear layer of the blocks.
2. **The instruction-tuned model against the base model** on held-out instructions (animal-place
   pairs never seen in training): follow rate, stop rate, mean answer length, greedy and sampled.

    python bench/bench_finetuning.py            # about a minute on one thread
    python bench/bench_finetuning.py --quick    # fewer rounds and prompts
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from bench_tokenizer import table

from course_lib.finetuning import (
    ChatBatches,
    add_lora,
    build_chat_example,
    chat_token_ids,
    count_trainable,
    evaluate_instructions,
    write_examples,
)
from course_lib.finetuning.instruct_model import load_instruct
from course_lib.pretrained import load_pretrained
from course_lib.training import weight_decay_groups

LORA_TARGETS = [f"blocks.{i}.{name}" for i in range(4) for name in ("attn.qkv", "attn.proj", "ffn.fc", "ffn.proj")]


def training_state_bytes(model) -> int:
    """Bytes of gradients plus AdamW's exp_avg and exp_avg_sq for the trainable parameters (float32)."""
    return 3 * 4 * count_trainable(model)


def step_timer(model, batch):
    optimizer = torch.optim.AdamW(weight_decay_groups(model, 0.0), lr=1e-4)

    def one_step() -> float:
        started = time.process_time()
        _, loss = model(*batch)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return time.process_time() - started
    return one_step


def compare_steps(rounds: int) -> None:
    full, tokenizer = load_pretrained()
    lora, _ = load_pretrained()
    add_lora(lora, LORA_TARGETS, r=8, alpha=16.0)
    full.train(), lora.train()
    pad = chat_token_ids(tokenizer)["<|pad|>"]
    examples = [build_chat_example(tokenizer, e.prompt, e.response) for e in write_examples(64)]
    batch = ChatBatches(examples, 16, pad, seed=0).sample()           # (16, T) inputs, targets, mask
    timers = {"full": step_timer(full, batch), "LoRA r=8": step_timer(lora, batch)}
    for timer in timers.values():
        timer()                                                        # warm-up: allocate optimizer state
    times = {name: [] for name in timers}
    for _ in range(rounds):                                            # interleaved, so load hits both alike
        for name, timer in timers.items():
            times[name].append(timer())
    medians = {name: statistics.median(t) for name, t in times.items()}
    models = {"full": full, "LoRA r=8": lora}
    rows = [[name, f"{count_trainable(models[name]):,}", f"{medians[name] * 1000:.0f} ms",
             f"{medians[name] / medians['full']:.2f}", f"{training_state_bytes(models[name]) / 2**20:.2f} MB",
             f"{training_state_bytes(models[name]) / training_state_bytes(full):.3f}"] for name in timers]
    table(f"One training step on a batch of {tuple(batch[0].shape)} chat tokens (median of {rounds} rounds, CPU time):",
          ["method", "trainable", "step", "x full", "grads + AdamW", "x full"], rows)


def compare_models(n_prompts: int) -> None:
    held_out = write_examples(n_prompts, "test", seed=0)
    rows = []
    for name, (model, tokenizer) in {"pretrained": load_pretrained(), "instruction-tuned": load_instruct()}.items():
        for greedy in (True, False):
            m = evaluate_instructions(model, tokenizer, held_out, max_new_tokens=80, greedy=greedy, seed=0)
            rows.append([name, "greedy" if greedy else "sampled", f"{m['follow_rate']:.2f}", f"{m['stop_rate']:.2f}",
                         f"{m['mean_tokens']:.1f}", f"{m['distinct']:.2f}"])
    table(f"Answers to {n_prompts} held-out instructions (80 new tokens at most):",
          ["model", "decoding", "follow rate", "stop rate", "tokens", "distinct"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    compare_steps(rounds=5 if args.quick else 15)
    compare_models(n_prompts=40 if args.quick else 150)


if __name__ == "__main__":
    main()
