"""The character-level tokenizer: one id per character.

The simplest tokenizer worth training: count the characters of the training text and give
each of the most frequent ones its own id. Short ids, but long sequences: every character
costs one position of the model's context.

Ids 0..255 are the single bytes, as in every tokenizer of the course. A character that did
not make it into the vocabulary (an emoji never seen in training, say) is written as its
UTF-8 bytes instead, so *any* text can be encoded and decoded back exactly.

    >>> tokenizer = CharTokenizer().train("hello world", vocab_size=300)
    >>> tokenizer.encode("hello")
    [261, 260, 256, 256, 257]
    >>> tokenizer.decode(tokenizer.encode("hello ✨"))
    'hello ✨'
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from course_lib.tokenization.base import (
    Tokenizer,
    check_contiguous_ids,
    check_special_tokens,
    check_text,
    check_vocab_size,
)


class CharTokenizer(Tokenizer):
    kind = "char"

    def __init__(self) -> None:
        super().__init__()
        self.char_to_id: dict[str, int] = {}  # only characters that have their own id

    def train(self, text: str, vocab_size: int, special_tokens: Iterable[str] = ()) -> CharTokenizer:
        """Keep the ``vocab_size - 256 - len(special_tokens)`` most frequent characters of
        ``text`` (fewer if the text has fewer distinct characters). Returns ``self``."""
        check_text(text)
        special_tokens = check_special_tokens(special_tokens)
        check_vocab_size(vocab_size, special_tokens)
        for special in special_tokens:  # special tokens are not ordinary text: leave them out
            text = text.replace(special, "")
        counts = Counter(text)
        # Most frequent first; equal counts in code-point order, so training is deterministic.
        ranked = sorted(counts, key=lambda char: (-counts[char], char))
        kept = ranked[: vocab_size - 256 - len(special_tokens)]
        self._build(kept, {text: 256 + len(kept) + i for i, text in enumerate(special_tokens)})
        return self

    def _build(self, chars: list[str], special_tokens: dict[str, int]) -> None:
        self.__init__()  # training or loading starts from an empty vocabulary
        for token_id, char in enumerate(chars, start=256):
            self.char_to_id[char] = token_id
            self.vocab[token_id] = char.encode("utf-8")
        self._set_special_tokens(
            special_tokens,
            describe_id=lambda i: f"the single-byte token {i}" if i < 256 else f"character token {i}",
        )

    def _encode_ordinary(self, text: str) -> list[int]:
        ids = []
        for char in text:
            token_id = self.char_to_id.get(char)
            if token_id is not None:
                ids.append(token_id)
            else:  # not in the vocabulary: fall back to its UTF-8 bytes (ids 0..255)
                ids.extend(char.encode("utf-8"))
        return ids

    # ----- files ----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        chars = sorted(self.char_to_id, key=self.char_to_id.get)  # in id order: 256, 257, ...
        return {"chars": chars, "special_tokens": self.special_tokens}

    @classmethod
    def _from_dict(cls, data: dict, source: str) -> CharTokenizer:
        chars, special_tokens = data.get("chars"), data.get("special_tokens", {})
        if not isinstance(chars, list):
            raise ValueError(f"{source}: \"chars\" should be a list of characters, got {chars!r:.60}")
        for index, char in enumerate(chars):
            if not isinstance(char, str) or len(char) != 1:
                raise ValueError(f"{source}: chars[{index}] should be one character, got {char!r}")
        if len(set(chars)) != len(chars):
            raise ValueError(f"{source}: \"chars\" lists a character twice")
        if not isinstance(special_tokens, dict):
            raise ValueError(f"{source}: \"special_tokens\" should map text to ids, got {special_tokens!r:.60}")
        tokenizer = cls()
        tokenizer._build(chars, special_tokens)
        check_contiguous_ids(tokenizer.vocab, source)
        return tokenizer
