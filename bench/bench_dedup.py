"""Benchmark deduplication: does it find the duplicates, how fast, and what do duplicates do to training?

1. **Precision and recall** on planted duplicates: generated stories (one per line, no
   duplicates of their own) with exact copies and near copies mixed in by ``plant_duplicates``.
   A second table plants harder near copies, with words changed *inside* the text (each such
   change alters up to 5 shingles), to show where the 0.7 threshold stops finding them.
2. **Speed**: ``near_duplicates`` (MinHash + LSH + exact verification) against the reference,
   the exact Jaccard index of every pair (``all_pairs_near_duplicates``), on the same corpus in
   the same run; both must report the same pairs.
3. **Training**: a tiny GPT trained for the same number of steps on (a) a corpus where a few
   stories are repeated many times (5 stories, 200 copies each: three quarters of the text)
   and (b) that corpus deduplicated. Reported: the loss on
   held-out stories, the loss on the model's own training text, their gap, and the loss on the
   repeated stories (a low one means the model has memorized them).

    python bench/bench_dedup.py            # about 1.5 minutes on 2 cores
    python bench/bench_dedup.py --quick    # smaller corpus and shorter training
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

# bench_tokenizer.py stands in this folder: one table printer serves the benchmarks.
from bench_tokenizer import table

from course_lib.data import TokenWindows, stories
from course_lib.data.dedup import (
    all_pairs_near_duplicates,
    deduplicate,
    jaccard,
    near_duplicates,
    plant_duplicates,
    shingles,
)
from course_lib.device import seed_everything
from course_lib.tokenization import CharTokenizer
from course_lib.training import Trainer, TrainerConfig
from course_lib.transformer import GPT, GPTConfig


def precision_recall(removed: list[int], planted: list[int]) -> tuple[float, float]:
    removed, planted = set(removed), set(planted)
    hits = len(removed & planted)
    return hits / max(len(removed), 1), hits / max(len(planted), 1)


# ----- 1. precision and recall ---------------------------------------------------------------------
def planted_table(documents: list[str]) -> list[str]:
    corpus, planted = plant_duplicates(documents, exact_fraction=0.2, near_fraction=0.2, edits=2, seed=0)
    result = deduplicate(corpus)
    precision, recall = precision_recall(result.removed, planted)
    table(f"Planted duplicates: {len(documents)} stories + {len(planted)} copies (20% exact, 20% with 2 "
          "words edited at the ends); threshold 0.7, 5-word shingles, 32 bands x 4 rows",
          ["removed", "exact", "near", "precision", "recall"],
          [[len(result.removed), len(result.exact_removed), len(result.near_removed),
            f"{precision:.3f}", f"{recall:.3f}"]])
    return corpus


def interior_edit(text: str, n_words: int, rng: random.Random) -> str:
    """``text`` with ``n_words`` words replaced by "zebra" at random places inside it."""
    words = text.split()
    for position in rng.sample(range(1, len(words) - 1), n_words):
        words[position] = "zebra"
    return " ".join(words)


def interior_table(documents: list[str], n_copies: int) -> None:
    rows, rng = [], random.Random(1)
    for n_words in (1, 2, 3):
        sources = rng.sample(range(len(documents)), n_copies)
        copies = [interior_edit(documents[i], n_words, rng) for i in sources]
        found = set(deduplicate(documents + copies).near_removed)
        recall = sum(len(documents) + k in found for k in range(n_copies)) / n_copies
        similarities = [jaccard(shingles(documents[i]), shingles(c)) for i, c in zip(sources, copies)]
        above = sum(s >= 0.7 for s in similarities) / n_copies
        rows.append([n_words, f"{sum(similarities) / n_copies:.3f}", f"{min(similarities):.3f}",
                     f"{above:.3f}", f"{recall:.3f}"])
    table(f"Harder near copies: words replaced inside the text ({n_copies} copies per row, threshold 0.7)",
          ["words changed", "mean Jaccard", "min Jaccard", "share >= 0.7", "recall"], rows)


# ----- 2. speed ------------------------------------------------------------------------------------
def speed_table(corpus: list[str]) -> None:
    start = time.perf_counter()
    lsh_pairs = near_duplicates(corpus, threshold=0.7)
    lsh_s = time.perf_counter() - start
    start = time.perf_counter()
    exact_pairs = all_pairs_near_duplicates(corpus, threshold=0.7)
    exact_s = time.perf_counter() - start
    n_pairs = len(corpus) * (len(corpus) - 1) // 2
    table(f"Near-duplicate search on {len(corpus)} documents ({n_pairs:,} pairs), same run",
          ["method", "seconds", "pairs found", "ratio"],
          [["all pairs, exact Jaccard", f"{exact_s:.2f}", len(exact_pairs), "1.0x"],
           ["MinHash + LSH + verify", f"{lsh_s:.2f}", len(lsh_pairs), f"{exact_s / lsh_s:.1f}x faster"]])
    print(f"  LSH found {len(set(lsh_pairs) & set(exact_pairs))} of the {len(exact_pairs)} pairs, "
          f"and {len(set(lsh_pairs) - set(exact_pairs))} others")


# ----- 3. what duplicates do to training ------------------------------------------------------------
@torch.no_grad()
def mean_loss(model: GPT, tokens: torch.Tensor, context_length: int) -> float:
    """The model's mean next-token loss over consecutive windows covering ``tokens``."""
    model.eval()
    T = context_length
    n_windows = (len(tokens) - 1) // T
    inputs = tokens[: n_windows * T].view(n_windows, T)          # (W, T)
    targets = tokens[1: n_windows * T + 1].view(n_windows, T)    # (W, T)
    losses = [model(x, y)[1].item() * len(x) for x, y in zip(inputs.split(256), targets.split(256))]
    return sum(losses) / n_windows


def train_tiny_gpt(text: str, tokenizer: CharTokenizer, steps: int, seed: int = 0) -> GPT:
    seed_everything(seed)
    config = GPTConfig(vocab_size=tokenizer.vocab_size, context_length=64, n_layers=2, n_heads=4, d_model=64)
    model = GPT(config)
    windows = TokenWindows(tokenizer.encode(text), context_length=64, batch_size=32, seed=seed)
    Trainer(model, windows, TrainerConfig(max_steps=steps, lr=3e-3, warmup_steps=20, progress=False)).train()
    return model


def training_table(n_unique: int, n_repeated: int, copies: int, n_val: int, steps: int) -> None:
    unique = stories(n_unique + n_repeated, seed=0).splitlines()
    repeated, rest = unique[:n_repeated], unique[n_repeated:]
    duplicated = rest + repeated * copies
    random.Random(0).shuffle(duplicated)  # the copies spread through the corpus, as crawled pages are
    deduplicated = deduplicate(duplicated).kept
    held_out = stories(n_val, seed=12345).splitlines()  # other stories, never trained on
    assert not set(held_out) & set(unique), "held-out stories must not appear in training"
    tokenizer = CharTokenizer().train("\n".join(unique), vocab_size=300)

    def to_tokens(documents: list[str]) -> torch.Tensor:
        return torch.tensor(tokenizer.encode("\n".join(documents) + "\n"))  # (N,)

    val_tokens, repeated_tokens = to_tokens(held_out), to_tokens(repeated)
    rows = []
    for name, corpus in (("(a) duplicated", duplicated), ("(b) deduplicated", deduplicated)):
        text = "\n".join(corpus) + "\n"
        start = time.perf_counter()
        model = train_tiny_gpt(text, tokenizer, steps)
        seconds = time.perf_counter() - start
        train_loss = mean_loss(model, to_tokens(corpus), 64)
        val_loss = mean_loss(model, val_tokens, 64)
        rows.append([name, len(corpus), f"{len(text) / 1e3:.0f}k", f"{train_loss:.3f}", f"{val_loss:.3f}",
                     f"{val_loss - train_loss:+.3f}", f"{mean_loss(model, repeated_tokens, 64):.3f}",
                     f"{seconds:.0f}"])
    table(f"Training a tiny GPT (2 layers, d_model 64, characters) for {steps} steps of 32 x 64 tokens: "
          f"{n_repeated} stories repeated {copies} times among {len(rest)} others; "
          f"validation on {n_val} held-out stories",
          ["corpus", "documents", "chars", "train loss", "val loss", "gap (val - train)", "loss on repeated",
           "seconds"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller corpus and shorter training")
    args = parser.parse_args()
    # One thread: the all-pairs reference is single-threaded Python, so the speed ratio compares like
    # with like; and a tiny model gains nothing from a second thread on a busy 2-core machine.
    torch.set_num_threads(1)
    n_stories = 400 if args.quick else 1000
    documents = stories(n_stories, seed=0).splitlines()
    corpus = planted_table(documents)
    interior_table(documents, n_copies=50 if args.quick else 150)
    speed_table(corpus)
    training_table(n_unique=300, n_repeated=5, copies=200, n_val=150, steps=150 if args.quick else 400)


if __name__ == "__main__":
    main()
