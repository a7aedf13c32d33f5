"""Benchmark course_lib's GPT against a plain reference GPT measured in the same run.

CPU (always): a training step (forward, backward, AdamW) at a tiny size, and generation with
and without the KV cache. Target: course_lib's training tokens/s >= the reference's.

CUDA (``--device cuda``, when a GPU is present): a GPT-2-small-shaped model trained in bf16,
eager and under torch.compile (``--no-compile`` skips it); tokens/s and model FLOPs utilisation
(MFU: model FLOPs per second, counted by ``flops_per_token``, over the card's bf16 matmul rate
measured in the same run with a large torch.matmul). Target: MFU >= 40%. Then generation.

    python bench/bench_transformer.py                 # CPU only
    python bench/bench_transformer.py --device cuda   # CPU, then the GPU part
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from course_lib.transformer import GPT, GPTConfig, flops_per_token, generate

# --- the reference: a GPT in the plain style of a first implementation ------------------------------

class PlainAttention(nn.Module):
    def __init__(self, d_model: int, n_heads: int, context_length: int):
        super().__init__()
        self.n_heads = n_heads
        self.query = nn.Linear(d_model, d_model)
        self.key = nn.Linear(d_model, d_model)
        self.value = nn.Linear(d_model, d_model)
        self.out = nn.Linear(d_model, d_model)
        self.register_buffer("mask", torch.tril(torch.ones(context_length, context_length, dtype=torch.bool)))

    def forward(self, x):
        B, T, C = x.shape
        H, D = self.n_heads, C // self.n_heads
        q = self.query(x).view(B, T, H, D).transpose(1, 2)
        k = self.key(x).view(B, T, H, D).transpose(1, 2)
        v = self.value(x).view(B, T, H, D).transpose(1, 2)
        scores = q @ k.transpose(-2, -1) / math.sqrt(D)
        scores = scores.masked_fill(~self.mask[:T, :T], float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        y = (weights @ v).transpose(1, 2).reshape(B, T, C)
        return self.out(y)


class PlainBlock(nn.Module):
    def __init__(self, d_model, n_heads, context_length):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = PlainAttention(d_model, n_heads, context_length)
        self.ln2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class PlainGPT(nn.Module):
    def __init__(self, vocab_size, context_length, n_layers, n_heads, d_model):
        super().__init__()
        self.context_length = context_length
        self.tok = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Embedding(context_length, d_model)
        self.blocks = nn.Sequential(*[PlainBlock(d_model, n_heads, context_length) for _ in range(n_layers)])
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        self.head.weight = self.tok.weight

    def forward(self, idx, targets=None):
        T = idx.shape[1]
        x = self.tok(idx) + self.pos(torch.arange(T, device=idx.device))
        logits = self.head(self.ln_f(self.blocks(x)))
        loss = None if targets is None else F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        return logits, loss


@torch.no_grad()
def plain_generate(model, idx, max_new_tokens):
    for _ in range(max_new_tokens):
        logits, _ = model(idx[:, -model.context_length:])
        idx = torch.cat([idx, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
    return idx


# --- timing -----------------------------------------------------------------------------------------------

def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_train_step(model, device, dtype=None, fused_adamw=False):
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1, fused=fused_adamw or None)

    def step(x, y):
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step


def interleaved_round_times(steps: dict, x, y, device, rounds: int, steps_per_round: int, warmup: int):
    """Seconds per step of each named step function, one list entry per round.

    The functions take turns, round after round, so that on a shared machine each round
    exposes all of them to about the same background load.
    """
    for step in steps.values():
        for _ in range(warmup):
            step(x, y)
    synchronize(device)
    times = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            synchronize(device)
            start = time.perf_counter()
            for _ in range(steps_per_round):
                step(x, y)
            synchronize(device)
            times[name].append((time.perf_counter() - start) / steps_per_round)
    return times


def paired_speedup(reference: list[float], candidate: list[float]) -> float:
    """How many times faster ``candidate`` is: the median over rounds of reference / candidate.

    Each round's two times were taken back to back, under the same load, so their ratio is
    steadier than a ratio of two separately taken best times.
    """
    return statistics.median(r / c for r, c in zip(reference, candidate))


def print_table(title, rows, headers):
    print(f"\n{title}")
    widths = [max(len(str(r[i])) for r in rows + [headers]) for i in range(len(headers))]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))


# --- the CPU part -------------------------------------------------------------------------------------------

def cpu_benchmark(args):
    torch.set_num_threads(args.threads)
    device = torch.device("cpu")
    V, T, L, H, C, B = 256, 128, 4, 4, 128, 16
    config = GPTConfig(vocab_size=V, context_length=T, n_layers=L, n_heads=H, d_model=C)
    torch.manual_seed(0)
    reference = PlainGPT(V, T, L, H, C)
    ours = GPT(config)
    ours_written = GPT(GPTConfig(**{**config.__dict__, "fused_attention": False}))
    x = torch.randint(0, V, (B, T))
    y = torch.randint(0, V, (B, T))
    steps = {
        "reference GPT (separate q/k/v, explicit softmax)": make_train_step(reference, device),
        "course_lib GPT (fused attention, default)": make_train_step(ours, device),
        "course_lib GPT (written-out attention)": make_train_step(ours_written, device),
    }
    times = interleaved_round_times(steps, x, y, device, args.rounds, args.steps, warmup=3)
    reference_times = times[next(iter(steps))]
    rows = []
    for name, t in times.items():
        ratio = paired_speedup(reference_times, t)
        verdict = ""
        if name.endswith("default)"):
            verdict = "target >= 1.00: " + ("PASS" if ratio >= 1.0 else "FAIL")
        rows.append([name, f"{B * T / min(t):,.0f}", f"{ratio:.2f}", verdict])
    print_table(f"CPU training step (forward, backward, AdamW): {L} layers, {H} heads, width {C}, context {T}, "
                f"vocab {V}, batch {B}, {args.threads} threads; {args.rounds} interleaved rounds, tokens/s from "
                f"the best round, ratio = median over rounds of (reference time / model time)",
                rows, ["model", "tokens/s", "ratio vs reference", ""])

    # Generation: batch 1, a short prompt, then fill the context greedily.
    prompt = torch.randint(0, V, (1, 16))
    new = T - 16
    runs = {
        "course_lib, KV cache": lambda: generate(ours, prompt, new, greedy=True, use_kv_cache=True),
        "course_lib, no cache": lambda: generate(ours, prompt, new, greedy=True, use_kv_cache=False),
        "reference, no cache": lambda: plain_generate(reference.eval(), prompt, new),
    }
    timings = {name: [] for name in runs}
    for run in runs.values():
        run()  # warm-up
    for _ in range(args.gen_rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            timings[name].append(time.perf_counter() - start)
    rate = {name: new / min(t) for name, t in timings.items()}  # best round, as above
    base = rate["course_lib, no cache"]
    rows = [[name, f"{r:,.0f}", f"{r / base:.2f}"] for name, r in rate.items()]
    print_table(f"CPU generation: batch 1, prompt 16, {new} new tokens (greedy)",
                rows, ["generation", "tokens/s", "ratio vs no cache"])


# --- the GPU part ------------------------------------------------------------------------------------------

def measured_matmul_flops(device, n=8192, reps=50) -> float:
    """The card's bf16 matmul rate in FLOP/s, from a large square torch.matmul."""
    a = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    b = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    synchronize(device)
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    synchronize(device)
    return 2 * n**3 * reps / (time.perf_counter() - start)


def cuda_benchmark(args):
    device = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    config = GPTConfig(vocab_size=50257, context_length=1024, n_layers=12, n_heads=12, d_model=768)
    B, T = args.gpu_batch, config.context_length
    peak = measured_matmul_flops(device)
    flops = flops_per_token(config, seq_len=T, training=True)
    x = torch.randint(0, config.vocab_size, (B, T), device=device)
    y = torch.randint(0, config.vocab_size, (B, T), device=device)
    rows = []
    variants = [("course_lib GPT, eager", False)] + ([] if args.no_compile else [("course_lib GPT, torch.compile", True)])
    for name, compiled in variants:
        torch.manual_seed(0)
        model = GPT(config).to(device)
        runnable = torch.compile(model) if compiled else model
        step = make_train_step(runnable, device, dtype=torch.bfloat16, fused_adamw=True)
        try:
            seconds = min(interleaved_round_times({name: step}, x, y, device, rounds=3, steps_per_round=args.gpu_steps,
                                                  warmup=3 if not compiled else 5)[name])
        except Exception as error:  # noqa: BLE001  (a broken compiler toolchain must not hide the eager numbers)
            rows.append([name, "failed", f"{type(error).__name__}: {str(error)[:60]}", "", ""])
            continue
        tokens_per_s = B * T / seconds
        mfu = tokens_per_s * flops / peak
        rows.append([name, f"{tokens_per_s:,.0f}", f"{tokens_per_s * flops / 1e12:.0f}", f"{mfu:.1%}",
                     "target >= 40%: " + ("PASS" if mfu >= 0.40 else "FAIL")])
        del model, runnable, step
        torch.cuda.empty_cache()
    # Generation on the GPU: batch 1, GPT-2 small shape, bf16.
    torch.manual_seed(0)
    model = GPT(config).to(device).eval()
    prompt = torch.randint(0, config.vocab_size, (1, 32), device=device)
    new = 128
    gen_rows = []
    for name, use_cache in (("course_lib, KV cache", True), ("course_lib, no cache", False)):
        best = float("inf")
        for _ in range(3):
            synchronize(device)
            start = time.perf_counter()
            with torch.autocast("cuda", dtype=torch.bfloat16):
                generate(model, prompt, new, greedy=True, use_kv_cache=use_cache)
            synchronize(device)
            best = min(best, time.perf_counter() - start)
        gen_rows.append([name, f"{new / best:,.0f}"])
    del model
    torch.cuda.empty_cache()

    print_table(f"CUDA training step, bf16 autocast: GPT-2 small shape (12 layers, 12 heads, 768, context 1024, "
                f"vocab 50257), batch {B}; {torch.cuda.get_device_name(device)}; measured bf16 matmul rate "
                f"{peak / 1e12:.0f} TFLOP/s; {flops / 1e6:.0f} MFLOP per token",
                rows, ["model", "tokens/s", "model TFLOP/s", "MFU", ""])
    print_table(f"CUDA generation: GPT-2 small shape, bf16, batch 1, prompt 32, {new} new tokens (greedy)",
                gen_rows, ["generation", "tokens/s"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=30, help="interleaved timed rounds of CPU training")
    parser.add_argument("--steps", type=int, default=1, help="CPU training steps per timed round")
    parser.add_argument("--gen-rounds", type=int, default=5, help="timed rounds per CPU generation")
    parser.add_argument("--gpu-batch", type=int, default=16)
    parser.add_argument("--gpu-steps", type=int, default=10)
    parser.add_argument("--no-compile", action="store_true", help="on CUDA, time the eager model only")
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
