"""Benchmark course_lib's BPE tokenizer against references measured in the same run.

Training: about 1 MB of the course's text (generated stories plus standard-library
docstrings) to a vocabulary of 1024, GPT-2's pre-tokenization pattern, compared with

* a straightforward trainer written below, which recounts every pair of the whole text after
  each merge. It is too slow to run to the end, so it runs the first M merges and its total is
  extrapolated linearly (an overestimate: later merges see slightly shorter sequences);
* the Hugging Face ``tokenizers`` package (Rust, multi-threaded), when it is installed; it is
  given the text line by line, its usual input (and encodes it with ``encode_batch``).

Targets: course_lib at least 50x faster than the straightforward trainer, and within 10x of
``tokenizers``.

Encoding: throughput (MB of UTF-8 per second, from an empty piece cache) and bytes per token
for vocabularies of 256, 512, 1024 and 4096, measured on the training text.

    python bench/bench_tokenizer.py            # ~1 MB of text
    python bench/bench_tokenizer.py --quick    # ~250 KB, for a quick look
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections import Counter
from pathlib import Path

import regex

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from course_lib.data import python_docs, stories  # noqa: E402
from course_lib.tokenization import GPT2_PATTERN, BPETokenizer  # noqa: E402

try:
    import tokenizers as hf_tokenizers
except ImportError:
    hf_tokenizers = None


# --- the reference: BPE training the straightforward way -------------------------------------------
def straightforward_train(text: str, n_merges: int) -> tuple[list[tuple[int, int]], float]:
    """Pre-tokenize once, then before every merge count all pairs of the whole text again.
    Returns the merges and the seconds spent pre-tokenizing."""
    start = time.perf_counter()
    sequences = [list(piece.encode("utf-8")) for piece in regex.findall(GPT2_PATTERN, text)]
    pretokenize_s = time.perf_counter() - start
    merges = []
    for step in range(n_merges):
        counts = Counter()
        for seq in sequences:
            counts.update(zip(seq, seq[1:]))
        if not counts:
            break
        best = min(counts, key=lambda pair: (-counts[pair], pair))  # same tie rule as course_lib
        new_id = 256 + step
        for index, seq in enumerate(sequences):
            if len(seq) < 2:
                continue
            merged, i = [], 0
            while i < len(seq):
                if i + 1 < len(seq) and seq[i] == best[0] and seq[i + 1] == best[1]:
                    merged.append(new_id)
                    i += 2
                else:
                    merged.append(seq[i])
                    i += 1
            sequences[index] = merged
        merges.append(best)
    return merges, pretokenize_s


def huggingface_train(text: str, vocab_size: int):
    from tokenizers import models, pre_tokenizers, trainers

    tokenizer = hf_tokenizers.Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    # Its usual input, an iterator of documents: here the lines, which it spreads over the cores.
    tokenizer.train_from_iterator(text.splitlines(keepends=True), trainer=trainer)
    return tokenizer


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def best_of(repeats: int, function, *args):
    runs = [timed(function, *args) for _ in range(repeats)]
    return min(runs, key=lambda run: run[0])


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 250 KB of text instead of 1 MB")
    args = parser.parse_args()

    n_stories, reference_merges, repeats = (500, 5, 1) if args.quick else (2900, 8, 3)
    text = stories(n_stories, seed=0) + python_docs()
    size = len(text.encode("utf-8"))
    vocab_size = 1024
    n_merges = vocab_size - 256
    print(f"text: {size / 1e6:.2f} MB ({n_stories} stories + standard-library docstrings); "
          f"{os.cpu_count()} CPU cores; Python {sys.version.split()[0]}")

    # --- training --------------------------------------------------------------------------------
    ours_s, ours = best_of(repeats, lambda: BPETokenizer("gpt2").train(text, vocab_size))
    partial_s, (partial, pretokenize_s) = timed(straightforward_train, text, reference_merges)
    agrees = partial == list(ours.merges)[:reference_merges]
    per_merge = (partial_s - pretokenize_s) / reference_merges
    straightforward_s = pretokenize_s + per_merge * n_merges  # extrapolated linearly

    rows = [
        ["course_lib (incremental counts)", f"{ours_s:.2f}", "1.0", "measured"],
        ["straightforward (recount per merge)", f"{straightforward_s:.1f}", f"{straightforward_s / ours_s:.0f}",
         f"extrapolated: {pretokenize_s:.2f} s pre-tokenizing + {per_merge:.3f} s/merge "
         f"(first {reference_merges} merges) x {n_merges}"],
    ]
    if hf_tokenizers is not None:
        hf_s, _ = best_of(repeats, huggingface_train, text, vocab_size)
        rows.append([f"HF tokenizers {hf_tokenizers.__version__} (Rust)", f"{hf_s:.2f}", f"{hf_s / ours_s:.2f}",
                     "measured"])
    table(f"Training to {vocab_size} tokens ({n_merges} merges, GPT-2 pattern), best of {repeats}",
          ["trainer", "seconds", "time / course_lib's", "how"], rows)
    print(f"  the straightforward trainer's first {reference_merges} merges equal course_lib's: {agrees}")
    speedup = straightforward_s / ours_s
    print(f"  target: course_lib >= 50x faster than straightforward: {speedup:.0f}x -> "
          f"{'met' if speedup >= 50 else 'NOT met'}")
    if hf_tokenizers is not None:
        print(f"  target: course_lib within 10x of HF tokenizers: {ours_s / hf_s:.1f}x its time -> "
              f"{'met' if ours_s / hf_s <= 10 else 'NOT met'}")

    # --- encoding --------------------------------------------------------------------------------
    rows = []
    for size_of_vocab in (256, 512, 1024, 4096):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            tokenizer = BPETokenizer("gpt2").train(text, size_of_vocab)
        tokenizer._cache.clear()  # time the encoder's real work, not a warm cache
        encode_s, ids = timed(tokenizer.encode, text)
        assert tokenizer.decode(ids) == text
        row = [str(size_of_vocab), str(tokenizer.vocab_size) + (" (text too small)" if caught else ""),
               f"{size / encode_s / 1e6:.2f}", f"{size / len(ids):.2f}"]
        if hf_tokenizers is not None and size_of_vocab > 256:
            hf = huggingface_train(text, size_of_vocab)
            hf_encode_s, encodings = timed(hf.encode_batch, text.splitlines(keepends=True))
            n_tokens = sum(len(encoding.ids) for encoding in encodings)
            row += [f"{size / hf_encode_s / 1e6:.2f}", f"{size / n_tokens:.2f}"]
        elif hf_tokenizers is not None:
            row += ["-", "1.00"]
        rows.append(row)
    header = ["vocab asked", "vocab got", "course_lib MB/s", "bytes/token"]
    if hf_tokenizers is not None:
        header += ["HF MB/s", "HF bytes/token"]
    table("Encoding the training text (GPT-2 pattern)", header, rows)


if __name__ == "__main__":
    main()
