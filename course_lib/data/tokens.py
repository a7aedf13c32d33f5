"""From text to training batches: tokenize once, cache on disk, cut random windows.

Tokenizing a corpus is slow, and the result never changes for the same text and tokenizer,
so ``cached_tokens`` does it once and keeps the ids in a compact ``.npy`` file (2 bytes per
token while the vocabulary fits in uint16). The file name holds a hash of the text *and*
the tokenizer, so a different text or tokenizer gets its own file and a stale one is never
read. The file is written under a temporary name and renamed, so an interrupted run never
leaves a half-written cache behind.

``split_tokens`` keeps the last part of the stream for validation (a contiguous piece, so no
validation window overlaps a training window except at the single border).

``TokenWindows`` serves batches for next-token training: a window of ``context_length + 1``
consecutive tokens starting at a random position gives

    inputs  = tokens[start     : start + T]      # (T,)
    targets = tokens[start + 1 : start + T + 1]  # (T,)  the same window shifted by one

The random starts come from the object's own ``torch.Generator``, whose state can be saved in
a checkpoint and restored, so a resumed run sees exactly the batches it would have seen.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch

from course_lib.tokenization.base import Tokenizer, atomic_write


# ----- tokenize once, keep on disk ---------------------------------------------------------------
def tokens_dtype(vocab_size: int) -> np.dtype:
    """The smallest unsigned dtype that holds every id: uint16 up to 65,536 ids, else uint32."""
    return np.dtype(np.uint16) if vocab_size <= 2**16 else np.dtype(np.uint32)


def cache_key(text: str, tokenizer: Tokenizer) -> str:
    """A hash of the text and of everything that defines the tokenizer."""
    recipe = json.dumps({"kind": tokenizer.kind, **tokenizer.to_dict()}, sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256()
    digest.update(recipe.encode("utf-8"))
    digest.update(b"\0")  # a separator, so (recipe, text) pairs cannot run into each other
    digest.update(text.encode("utf-8"))
    return digest.hexdigest()[:24]


def cached_tokens(text: str, tokenizer: Tokenizer, cache_dir: str | os.PathLike) -> np.ndarray:
    """The ids of ``text`` as a 1-D array, read from ``cache_dir`` if there, else made and saved."""
    if not isinstance(text, str):
        raise TypeError(f"text: expected a str, got {type(text).__name__}")
    if not isinstance(tokenizer, Tokenizer):
        raise TypeError(f"tokenizer: expected a course_lib Tokenizer, got {type(tokenizer).__name__}")
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"tokens-{cache_key(text, tokenizer)}.npy"
    dtype = tokens_dtype(tokenizer.vocab_size)
    if path.exists():
        try:
            tokens = np.load(path, allow_pickle=False)
            if tokens.ndim == 1 and tokens.dtype == dtype:
                return tokens
        except (OSError, ValueError):
            pass  # unreadable (say, a disk filled up mid-copy): tokenize again below
    tokens = np.asarray(tokenizer.encode(text), dtype=dtype)
    atomic_write(path, lambda file: np.save(file, tokens), mode="wb")
    return tokens


def split_tokens(tokens, val_fraction: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, validation): the first ``1 - val_fraction`` of the stream, and the rest."""
    tokens = as_token_tensor(tokens)
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, (int, float)) or not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction: expected a number strictly between 0 and 1, got {val_fraction!r}")
    n_train = int(len(tokens) * (1 - val_fraction))
    return tokens[:n_train], tokens[n_train:]


def as_token_tensor(tokens) -> torch.Tensor:
    """A 1-D int64 tensor of token ids from a numpy array, a list or a tensor."""
    if isinstance(tokens, np.ndarray):
        if not np.issubdtype(tokens.dtype, np.integer):
            raise ValueError(f"tokens: expected integer ids, got a numpy array of {tokens.dtype}")
        tokens = torch.from_numpy(tokens.astype(np.int64))
    elif not isinstance(tokens, torch.Tensor):
        tokens = torch.as_tensor(tokens, dtype=torch.long)
    if tokens.ndim != 1 or tokens.dtype.is_floating_point or tokens.dtype == torch.bool:
        raise ValueError(f"tokens: expected a 1-D array of integer ids, got {tokens.dtype} of shape {tuple(tokens.shape)}")
    if len(tokens) and int(tokens.min()) < 0:
        raise ValueError(f"tokens: ids must be >= 0, found {int(tokens.min())}")
    return tokens.long()


# ----- random windows ---------------------------------------------------------------------------
class TokenWindows:
    """Batches of (inputs, targets) windows cut from one token stream at random starts."""

    def __init__(self, tokens, context_length: int, batch_size: int, seed: int = 0,
                 device: torch.device | str = "cpu"):
        self.tokens = as_token_tensor(tokens)      # (N,)
        for name, value in (("context_length", context_length), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected a positive int, got {value!r}")
        if len(self.tokens) < context_length + 1:
            raise ValueError(
                f"the token stream has {len(self.tokens)} tokens, but one window needs context_length + 1 = "
                f"{context_length + 1} (inputs plus the target after the last one): use more text or a shorter context"
            )
        self.context_length = context_length
        self.batch_size = batch_size
        self.device = torch.device(device)
        self.generator = torch.Generator().manual_seed(seed)  # on the CPU: same batches on every device

    @property
    def n_starts(self) -> int:
        """How many different windows there are: starts 0 .. N - T - 1."""
        return len(self.tokens) - self.context_length

    def sample(self, batch_size: int | None = None, generator: torch.Generator | None = None):
        """One batch: inputs (B, T) and targets (B, T), targets the inputs shifted by one.

        Uses the object's own generator unless ``generator`` is given (evaluation passes a fresh,
        fixed one so that every evaluation scores the same windows).
        """
        B, T = batch_size or self.batch_size, self.context_length
        starts = torch.randint(self.n_starts, (B,), generator=generator or self.generator)  # (B,)
        offsets = torch.arange(T + 1)                                                     # (T + 1,)
        windows = self.tokens[starts[:, None] + offsets]                                  # (B, T + 1)
        inputs, targets = windows[:, :-1], windows[:, 1:]                                 # (B, T) each
        return inputs.to(self.device), targets.to(self.device)

    def __iter__(self):
        return self

    def __next__(self):
        return self.sample()

    # The generator's state is all that changes as batches are drawn: save it to resume exactly.
    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state(), "context_length": self.context_length,
                "batch_size": self.batch_size, "n_tokens": len(self.tokens)}

    def load_state_dict(self, state: dict) -> None:
        for key in ("context_length", "batch_size", "n_tokens"):
            mine = len(self.tokens) if key == "n_tokens" else getattr(self, key)
            if state.get(key) != mine:
                raise ValueError(f"data state is for {key}={state.get(key)!r}, these windows have {key}={mine!r}")
        self.generator.set_state(state["generator"])
