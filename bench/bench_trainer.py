"""Benchmark the Trainer against a minimal hand-written training loop, in the same run.

What the Trainer adds to a training step: the batch checks and micro-batch cutting, the loss
read back every step (``.item()``), the history, the progress bar (redrawn about ten times a
second) and, every ``eval_every`` steps, an evaluation on ``eval_batches`` validation batches.
The reference is the least a training loop can be: the same model, the same batches
(``TokenWindows``), AdamW with the same parameter groups, the same warmup + cosine schedule
and the same gradient clipping, and nothing else (no progress, no history, no evaluation).

CPU (always): the tiny GPT of bench/bench_transformer.py (4 layers, 4 heads, width 128,
context 128, vocab 256, batch 16) on 2 threads. Trainer and hand loop take turns, step after
step, in rounds of ``eval_every`` steps, so that every Trainer round holds exactly one
evaluation (its cost is amortised over the round, as in a real run). The overhead is the
median over rounds of (Trainer time / loop time - 1). Target: below 5%.

CUDA (``--device cuda``, when a GPU is present): a GPT-2-small-shaped model in bf16, the
Trainer eager and with ``TrainerConfig(compile=True)``: tokens/s and model FLOPs utilisation
(MFU: ``flops_per_token`` x tokens/s over the card's bf16 matmul rate measured in the same
run, as bench/bench_transformer.py does).

    python bench/bench_trainer.py                  # CPU only
    python bench/bench_trainer.py --device cuda    # CPU, then the GPU part
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))                 # run from a checkout without installing
sys.path.insert(0, str(ROOT / "bench"))       # the helpers of bench_transformer.py

from bench_transformer import measured_matmul_flops, print_table, synchronize

from course_lib.data import TokenWindows
from course_lib.optim.schedules import WarmupCosine
from course_lib.training import Trainer, TrainerConfig
from course_lib.transformer import GPT, GPTConfig, flops_per_token


# --- the reference: the least a training loop can be ----------------------------------------------
class HandLoop:
    """AdamW (decay on matrices only), warmup + cosine, clipping: the Trainer's step, written out."""

    def __init__(self, model, data, config: TrainerConfig, device):
        self.model, self.data, self.device = model.to(device), data, device
        embeddings = {id(p) for m in model.modules() if isinstance(m, torch.nn.Embedding) for p in m.parameters()}
        decay = [p for p in model.parameters() if p.ndim >= 2 and id(p) not in embeddings]
        other = [p for p in model.parameters() if p.ndim < 2 or id(p) in embeddings]
        self.optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                                            {"params": other, "weight_decay": 0.0}],
                                           lr=config.lr, betas=config.betas)
        schedule = WarmupCosine(config.warmup_steps, config.max_steps, config.final_lr_factor)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, schedule)  # the Trainer's schedule
        self.clip = config.grad_clip
        self.dtype = torch.bfloat16 if device.type == "cuda" else None

    def train(self, n_steps: int) -> None:
        for _ in range(n_steps):
            inputs, targets = self.data.sample()
            inputs, targets = inputs.to(self.device), targets.to(self.device)
            with torch.autocast(self.device.type, dtype=self.dtype or torch.bfloat16, enabled=self.dtype is not None):
                _, loss = self.model(inputs, targets)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip)
            self.optimizer.step()
            self.scheduler.step()
            self.optimizer.zero_grad(set_to_none=True)


# --- timing ---------------------------------------------------------------------------------------
def time_rounds(runners: dict, steps_per_round: int, rounds: int, warmup_steps: int, device) -> dict[str, list[float]]:
    """Seconds per step of each runner (``runner(n_steps)``), one entry per round.

    The runners take turns step by step (each step starting with the next runner), so that on
    a shared machine every runner meets the same background load; a round adds up each
    runner's ``steps_per_round`` steps. A Trainer called for one step at a time opens and
    closes its progress bar every step, which makes its overhead here an upper bound. The
    bars go to a string rather than the terminal, so the table stays readable; the bar's
    work (formatting, redrawing) is still done.
    """
    names = list(runners)
    with contextlib.redirect_stderr(io.StringIO()):
        for run in runners.values():
            run(warmup_steps)
        synchronize(device)
        times = {name: [] for name in runners}
        for _ in range(rounds):
            spent = dict.fromkeys(names, 0.0)
            for step in range(steps_per_round):
                for name in names[step % len(names):] + names[:step % len(names)]:
                    start = time.perf_counter()
                    runners[name](1)
                    synchronize(device)
                    spent[name] += time.perf_counter() - start
            for name in names:
                times[name].append(spent[name] / steps_per_round)
    return times


def make_runs(config: GPTConfig, batch_size: int, device, trainer_settings: dict[str, dict],
              total_steps: int, seed: int = 0):
    """A hand loop and one Trainer per entry of ``trainer_settings``, all on identical models and data."""
    tokens = torch.randint(0, config.vocab_size, (200_000,), generator=torch.Generator().manual_seed(seed))
    common = {"max_steps": total_steps, "lr": 3e-4, "warmup_steps": 10}

    def windows():
        return TokenWindows(tokens, config.context_length, batch_size, seed=seed)

    def model():
        torch.manual_seed(seed)
        return GPT(config)

    runners = {"hand-written loop": HandLoop(model(), windows(), TrainerConfig(**common), device).train}
    for name, settings in trainer_settings.items():
        trainer = Trainer(model(), windows(), TrainerConfig(**common, **settings), val_data=windows(), device=device)
        runners[name] = lambda n, trainer=trainer: trainer.train(n_steps=n)
    return runners


# --- the CPU part -----------------------------------------------------------------------------------
def cpu_benchmark(args) -> None:
    torch.set_num_threads(args.threads)
    device = torch.device("cpu")
    V, T, L, H, C, B = 256, 128, 4, 4, 128, 16
    config = GPTConfig(vocab_size=V, context_length=T, n_layers=L, n_heads=H, d_model=C)
    settings = {
        "Trainer, progress bar": {"progress": True},
        f"Trainer, progress bar, eval every {args.eval_every} steps ({args.eval_batches} batches)":
            {"progress": True, "eval_every": args.eval_every, "eval_batches": args.eval_batches},
    }
    total = args.warmup + args.rounds * args.eval_every + 1
    runners = make_runs(config, B, device, settings, total)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    times = time_rounds(runners, args.eval_every, args.rounds, args.warmup, device)
    reference = times["hand-written loop"]
    rows = []
    for name, seconds in times.items():
        if name == "hand-written loop":
            rows.append([name, f"{B * T / min(seconds):,.0f}", "-", "-", "-", ""])
            continue
        paired = sorted(t / r - 1 for t, r in zip(seconds, reference))
        overhead = statistics.median(paired)
        quartiles = statistics.quantiles(paired, n=4) if len(paired) > 1 else [overhead] * 3
        best = min(seconds) / min(reference) - 1
        verdict = "target < 5%: " + ("PASS" if overhead < 0.05 else "FAIL")
        rows.append([name, f"{B * T / min(seconds):,.0f}", f"{overhead:+.1%}",
                     f"{quartiles[0]:+.1%} .. {quartiles[2]:+.1%}", f"{best:+.1%}", verdict])
    print_table(f"CPU training: {L} layers, {H} heads, width {C}, context {T}, vocab {V}, batch {B}, "
                f"{args.threads} threads; {args.rounds} interleaved rounds of {args.eval_every} steps (load average "
                f"{load:.1f} at the start); tokens/s from the best round; overhead = median over rounds of "
                f"(time / loop time of the same round - 1), its middle half, and best round / best round - 1",
                rows, ["training loop", "tokens/s", "overhead", "middle half", "best vs best", ""])


# --- the GPU part -----------------------------------------------------------------------------------
GPT2_SMALL = GPTConfig(vocab_size=50257, context_length=1024, n_layers=12, n_heads=12, d_model=768)


def cuda_benchmark(args, device: str = "cuda", config: GPTConfig = GPT2_SMALL) -> None:
    """The GPU table; ``device`` and ``config`` can be changed to try the code on a CPU with a tiny model."""
    device = torch.device(device)
    torch.backends.cuda.matmul.allow_tf32 = True
    B, T = args.gpu_batch, config.context_length
    peak = measured_matmul_flops(device)
    flops = flops_per_token(config, seq_len=T, training=True)
    rows = []
    for name, settings in (("Trainer, eager", {"compile": False}), ("Trainer, torch.compile", {"compile": True})):
        settings = {**settings, "progress": True, "eval_every": args.gpu_steps, "eval_batches": 2}
        runners = make_runs(config, B, device, {name: settings}, total_steps=10 + 4 * args.gpu_steps)
        try:
            times = time_rounds(runners, args.gpu_steps, rounds=3, warmup_steps=5, device=device)
        except Exception as error:  # noqa: BLE001  (a broken compiler toolchain must not hide the eager numbers)
            rows.append([name, "failed", f"{type(error).__name__}: {str(error)[:60]}", "", ""])
            continue
        for runner, seconds in times.items():
            if runner == "hand-written loop" and any(r[0] == runner for r in rows):
                continue  # the eager loop is the same in both runs: report it once
            tokens_per_s = B * T / min(seconds)
            versus_loop = "-" if runner == "hand-written loop" else f"{min(seconds) / min(times['hand-written loop']) - 1:+.1%}"
            rows.append([runner, f"{tokens_per_s:,.0f}", f"{tokens_per_s * flops / 1e12:.0f}",
                         f"{tokens_per_s * flops / peak:.1%}", versus_loop])
        del runners
        if device.type == "cuda":
            torch.cuda.empty_cache()
    print_table(f"CUDA training, bf16 autocast: {config.n_layers} layers, {config.n_heads} heads, width "
                f"{config.d_model}, context {T}, vocab {config.vocab_size} (GPT-2 small's shape by default), batch {B}; "
                f"{device_name(device)}; measured bf16 matmul rate "
                f"{peak / 1e12:.0f} TFLOP/s; {flops / 1e6:.0f} MFLOP per token; best of 3 rounds of "
                f"{args.gpu_steps} steps (the Trainer's include one evaluation of 2 batches)",
                rows, ["training loop", "tokens/s", "model TFLOP/s", "MFU", "time vs hand loop"])


def device_name(device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else device.type


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=20, help="interleaved timed rounds on the CPU")
    parser.add_argument("--eval-every", type=int, default=25, help="steps per round, and the Trainer's eval_every")
    parser.add_argument("--eval-batches", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps per runner before the rounds")
    parser.add_argument("--gpu-batch", type=int, default=16)
    parser.add_argument("--gpu-steps", type=int, default=20)
    args = parser.parse_args(argv)
    print(f"torch {torch.__version__}")
    cpu_benchmark(args)
    if args.device == "cuda":
        if torch.cuda.is_available():
            cuda_benchmark(args)
        else:
            print("\nCUDA part skipped: torch.cuda.is_available() is False on this machine.")


if __name__ == "__main__":
    main()
