"""The byte-level BPE tokenizer: the kind GPT-2, GPT-4 and most LLMs since use.

Start from the 256 single bytes and learn *merges*: "the pair (t, h) becomes a new token",
"(th, e) becomes another", and so on until the vocabulary has the size we asked for
(training is in ``bpe_trainer.py``). Encoding replays the merges on new text:

1. special tokens are cut out first (``base.py``);
2. the rest is split into pieces by a regular expression (``pretokenization.py``), so no token
   ever spans two words or a word and its punctuation;
3. each piece becomes its UTF-8 bytes, and then, over and over, the adjacent pair that was
   merged *earliest* in training is merged, until no learned pair is left.

    >>> tokenizer = BPETokenizer("gpt2").train("low lower lowest " * 50, vocab_size=260)
    >>> [tokenizer.decode([i]) for i in tokenizer.encode("lowest")]
    ['low', 'e', 's', 't']

Ids: bytes are 0..255 after training here, but a tokenizer loaded from GPT-2's files keeps
GPT-2's own ids, so the id of each byte is looked up in ``byte_ids``.
"""
from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable, Iterable

import regex

from course_lib.tokenization.base import (
    Tokenizer,
    check_contiguous_ids,
    check_special_tokens,
    check_text,
    check_vocab_size,
)
from course_lib.tokenization.bpe_trainer import Pair, learn_merges, merge_pair
from course_lib.tokenization.pretokenization import pattern_name, resolve_pattern, split_pieces

# Encoding remembers the ids of recent pieces (most text repeats its words). The memory is
# cleared when it holds this many pieces, so it never grows with the amount of text encoded.
CACHE_PIECES = 10_000


class BPETokenizer(Tokenizer):
    kind = "bpe"

    def __init__(self, pattern: str = "gpt4") -> None:
        """``pattern``: "gpt2", "gpt4" or a regular expression for pre-tokenization."""
        super().__init__()
        self.pattern = resolve_pattern(pattern)
        self._compiled = regex.compile(self.pattern)
        self.byte_ids: list[int] = list(range(256))  # byte_ids[b]: the id of the single byte b
        self.merges: dict[Pair, int] = {}  # (left id, right id) -> merged id, in training order
        self._rank: dict[Pair, int] = {}  # (left id, right id) -> when it was learned: 0, 1, ...
        self._cache: dict[str, list[int]] = {}

    # ----- training -------------------------------------------------------------------------
    def train(self, text: str, vocab_size: int, special_tokens: Iterable[str] = ()) -> BPETokenizer:
        """Learn ``vocab_size - 256 - len(special_tokens)`` merges from ``text``.

        Special tokens get the last ids. In the training text they only separate documents:
        they are cut out first, so no merge ever learns a part of one. Ties between equally
        frequent pairs go to the smallest pair of ids (see ``bpe_trainer.py``).
        Returns ``self``.
        """
        check_text(text)
        special_tokens = check_special_tokens(special_tokens)
        check_vocab_size(vocab_size, special_tokens)
        n_merges = vocab_size - 256 - len(special_tokens)

        # Count each distinct piece once (training only ever needs these counts).
        documents = [text]
        if special_tokens:
            ordered = sorted(special_tokens, key=len, reverse=True)
            documents = regex.split("|".join(map(regex.escape, ordered)), text)
        piece_counts: Counter[str] = Counter()
        for document in documents:
            piece_counts.update(split_pieces(self._compiled, document))
        merges = learn_merges({piece.encode("utf-8"): n for piece, n in piece_counts.items()}, n_merges)
        if len(merges) < n_merges:
            warnings.warn(
                f"the training text only allows {len(merges)} merges, not {n_merges}: every "
                f"piece is already a single token. The vocabulary has {256 + len(merges) + len(special_tokens)} "
                f"ids instead of {vocab_size}; train on more text for a larger one.",
                stacklevel=2,
            )

        self._build(
            self.pattern,
            list(range(256)),
            [(left, right, 256 + k) for k, (left, right) in enumerate(merges)],
            {special: 256 + len(merges) + i for i, special in enumerate(special_tokens)},
        )
        return self

    def _build(
        self,
        pattern: str,
        byte_ids: list[int],
        merges: list[tuple[int, int, int]],
        special_tokens: dict[str, int],
        describe_merge: Callable[[int], str] = lambda k: f"merge {k}",
    ) -> None:
        """Set up the tokenizer from its parts, checking that they fit together.

        ``merges`` lists (left id, right id, merged id) in priority order; ``describe_merge(k)``
        names merge k in error messages (a file and line, when loading).
        """
        self.__init__(pattern)
        if len(byte_ids) != 256 or len(set(byte_ids)) != 256:
            raise ValueError(f"byte_ids: expected 256 distinct ids, one per byte, got {len(set(byte_ids))} distinct")
        self.vocab = {token_id: bytes([byte]) for byte, token_id in enumerate(byte_ids)}
        self.byte_ids = list(byte_ids)
        made_by: dict[int, int] = {}  # merged id -> number of the merge that made it
        for k, (left, right, merged) in enumerate(merges):
            where = describe_merge(k)
            for part in (left, right):
                if part not in self.vocab:
                    raise ValueError(f"{where}: uses id {part}, which no byte or earlier merge defines")
            if (left, right) in self.merges:
                raise ValueError(f"{where}: the pair ({left}, {right}) is merged twice")
            merged_bytes = self.vocab[left] + self.vocab[right]
            if self.vocab.setdefault(merged, merged_bytes) != merged_bytes:
                raise ValueError(
                    f"{where}: id {merged} should stand for {merged_bytes!r} but already stands for "
                    f"{self.vocab[merged]!r}"
                )
            made_by.setdefault(merged, k)
            self.merges[(left, right)] = merged
            self._rank[(left, right)] = k

        def describe_id(token_id: int) -> str:
            if token_id in made_by:
                return f"the token made by {describe_merge(made_by[token_id])}"
            return f"the single-byte token {token_id}"

        self._set_special_tokens(special_tokens, describe_id)

    # ----- encoding -------------------------------------------------------------------------
    def _encode_ordinary(self, text: str) -> list[int]:
        ids: list[int] = []
        for piece in split_pieces(self._compiled, text):
            ids.extend(self._encode_piece(piece))
        return ids

    def _encode_piece(self, piece: str) -> list[int]:
        """The ids of one pre-tokenized piece (it is never merged with its neighbours)."""
        cached = self._cache.get(piece)
        if cached is not None:
            return cached
        ids = [self.byte_ids[byte] for byte in piece.encode("utf-8")]
        while len(ids) >= 2:
            # Of all adjacent pairs, the one learned earliest; unknown pairs rank last.
            pair = min(zip(ids, ids[1:]), key=lambda p: self._rank.get(p, float("inf")))
            if pair not in self.merges:
                break  # no adjacent pair was ever merged: done
            ids = merge_pair(ids, pair, self.merges[pair])
        if len(self._cache) >= CACHE_PIECES:
            self._cache.clear()
        self._cache[piece] = ids
        return ids

    # ----- files ----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "pattern": self.pattern,
            "byte_ids": self.byte_ids,
            "merges": [[left, right, merged] for (left, right), merged in self.merges.items()],
            "special_tokens": self.special_tokens,
        }

    @classmethod
    def _from_dict(cls, data: dict, source: str) -> BPETokenizer:
        pattern, byte_ids = data.get("pattern"), data.get("byte_ids")
        merges, special_tokens = data.get("merges"), data.get("special_tokens", {})
        if not isinstance(pattern, str):
            raise ValueError(f"{source}: \"pattern\" should be a regular expression, got {pattern!r:.60}")
        if not isinstance(byte_ids, list) or not all(_is_id(i) for i in byte_ids):
            raise ValueError(f"{source}: \"byte_ids\" should be a list of 256 ids, got {byte_ids!r:.60}")
        if not isinstance(merges, list):
            raise ValueError(f"{source}: \"merges\" should be a list of [left, right, merged] ids")
        for k, merge in enumerate(merges):
            if not (isinstance(merge, list) and len(merge) == 3 and all(_is_id(i) for i in merge)):
                raise ValueError(f"{source}: merges[{k}] should be [left id, right id, merged id], got {merge!r:.60}")
        if not isinstance(special_tokens, dict):
            raise ValueError(f"{source}: \"special_tokens\" should map text to ids, got {special_tokens!r:.60}")
        tokenizer = cls()
        try:
            tokenizer._build(resolve_pattern(pattern), byte_ids, [tuple(m) for m in merges], special_tokens,
                             describe_merge=lambda k: f"merges[{k}]")
        except ValueError as error:
            raise ValueError(f"{source}: {error}") from None
        check_contiguous_ids(tokenizer.vocab, source)
        return tokenizer

    def __repr__(self) -> str:
        specials = f", special_tokens={list(self.special_tokens)}" if self.special_tokens else ""
        name = pattern_name(self.pattern)
        return f"BPETokenizer(pattern={name!r}, vocab_size={self.vocab_size}, merges={len(self.merges)}{specials})"


def _is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
