"""What every tokenizer in the course shares: the interface, special tokens, decoding, files.

A tokenizer turns text into a list of integer ids and back. In this course every tokenizer
works on UTF-8 *bytes* underneath: each id stands for a short byte string (``vocab[id]``),
and the 256 single bytes are always in the vocabulary. Two consequences follow:

* any text can be encoded, even characters never seen in training (they fall back to bytes);
* decoding joins the bytes of all ids first and only then turns bytes into text, so an id
  sequence that ends in the middle of a multi-byte character still decodes (the broken
  character becomes U+FFFD, the replacement character "\ufffd").

Special tokens such as ``<|endoftext|>`` mark structure (the end of a document). They are
found in the text *before* anything else and always become exactly one id, never split.

Subclasses fill in three things: ``train``, ``_encode_ordinary`` (text without special
tokens -> ids) and the pair ``to_dict`` / ``_from_dict`` (their part of the saved file).
"""
from __future__ import annotations

import json
import operator
import os
import re
import secrets
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import ClassVar

FILE_FORMAT = "course_lib.tokenizer"
FILE_VERSION = 1


class Tokenizer:
    kind: ClassVar[str] = ""  # written into saved files ("char", "bpe"); picks the class on load
    _kinds: ClassVar[dict[str, type[Tokenizer]]] = {}

    def __init_subclass__(cls, **kwargs):
        # Every tokenizer class registers itself under its `kind`, so `Tokenizer.load` can
        # rebuild the right class from the name stored in the file.
        super().__init_subclass__(**kwargs)
        if cls.kind:
            Tokenizer._kinds[cls.kind] = cls

    def __init__(self) -> None:
        self.vocab: dict[int, bytes] = {i: bytes([i]) for i in range(256)}  # id -> its bytes
        self.special_tokens: dict[str, int] = {}  # e.g. {"<|endoftext|>": 1023}
        self._special_regex: re.Pattern | None = None

    # ----- what each tokenizer provides -------------------------------------------------
    def train(self, text: str, vocab_size: int, special_tokens: Iterable[str] = ()) -> Tokenizer:
        raise NotImplementedError

    def _encode_ordinary(self, text: str) -> list[int]:
        """Ids for ``text``, which contains no special tokens."""
        raise NotImplementedError

    def to_dict(self) -> dict:
        """Everything needed to rebuild this tokenizer, as JSON-friendly values."""
        raise NotImplementedError

    @classmethod
    def _from_dict(cls, data: dict, source: str) -> Tokenizer:
        """Rebuild from ``to_dict()``'s output; ``source`` names the file in error messages."""
        raise NotImplementedError

    # ----- sizes --------------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        """Number of ids, special tokens included: the rows an embedding table needs."""
        return max(self.vocab) + 1

    # ----- encoding -------------------------------------------------------------------------
    def encode(self, text: str, allowed_special: bool = True) -> list[int]:
        """The ids of ``text``. Special tokens in the text become their single id unless
        ``allowed_special`` is False, in which case they are encoded like ordinary text."""
        check_text(text)
        if not allowed_special or self._special_regex is None:
            return self._encode_ordinary(text)
        ids: list[int] = []
        # `split` with a capturing group returns ordinary text and special tokens alternately:
        # ["ordinary", "<|endoftext|>", "ordinary", ...]; the odd positions are the specials.
        for position, part in enumerate(self._special_regex.split(text)):
            if position % 2 == 1:
                ids.append(self.special_tokens[part])
            elif part:
                ids.extend(self._encode_ordinary(part))
        return ids

    def encode_stream(self, lines: Iterable[str], allowed_special: bool = True) -> Iterator[int]:
        """Encode an iterable of lines (an open file, a generator) lazily, in bounded memory.
        See ``course_lib.tokenization.stream``."""
        from course_lib.tokenization.stream import encode_stream

        return encode_stream(self, lines, allowed_special=allowed_special)

    # ----- decoding -------------------------------------------------------------------------
    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        """The bytes that ``ids`` stand for, joined."""
        if hasattr(ids, "tolist"):  # a torch tensor or numpy array of ids
            ids = ids.tolist()
        if not isinstance(ids, Iterable):  # a single id, e.g. one element of a tensor: tensor[5]
            raise ValueError(f"decode: expected a sequence of ids, got the single value {ids!r}; "
                             f"to decode one id, pass [{ids!r}]")
        pieces = []
        for position, token_id in enumerate(ids):
            try:
                token_id = operator.index(token_id)
            except TypeError:
                raise ValueError(
                    f"decode: expected integer ids, got {token_id!r} at position {position}"
                ) from None
            token_bytes = self.vocab.get(token_id)
            if token_bytes is None:
                raise ValueError(
                    f"decode: unknown id {token_id} at position {position}; this tokenizer's "
                    f"ids are 0..{self.vocab_size - 1}"
                )
            pieces.append(token_bytes)
        return b"".join(pieces)

    def decode(self, ids: Iterable[int]) -> str:
        """The text that ``ids`` stand for. Bytes are joined first, then decoded as UTF-8;
        bytes that do not form valid UTF-8 become U+FFFD instead of raising."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    # ----- special tokens -------------------------------------------------------------------
    def _set_special_tokens(
        self, special_tokens: dict[str, int], describe_id: Callable[[int], str] | None = None
    ) -> None:
        """Add ``special_tokens`` (text -> id) after checking that none collides with a
        regular token. ``describe_id`` says where a colliding id came from, for the message."""
        describe_id = describe_id or (lambda token_id: f"regular token {token_id}")
        regular_ids = {token_id: token_bytes for token_id, token_bytes in self.vocab.items()
                       if token_id not in self.special_tokens.values()}
        by_bytes = {token_bytes: token_id for token_id, token_bytes in regular_ids.items()}
        seen_ids: dict[int, str] = {}
        for text, token_id in special_tokens.items():
            if not isinstance(text, str) or not text:
                raise ValueError(f"special tokens must be non-empty strings, got {text!r}")
            check_text(text)
            if not isinstance(token_id, int) or isinstance(token_id, bool) or token_id < 0:
                raise ValueError(f"special token {text!r}: expected a non-negative integer id, got {token_id!r}")
            if token_id in regular_ids:
                raise ValueError(
                    f"special token {text!r} has id {token_id}, which is already taken by "
                    f"{describe_id(token_id)} ({regular_ids[token_id]!r})"
                )
            if token_id in seen_ids:
                raise ValueError(f"special tokens {seen_ids[token_id]!r} and {text!r} share id {token_id}")
            seen_ids[token_id] = text
            same_bytes = by_bytes.get(text.encode("utf-8"))
            if same_bytes is not None:
                raise ValueError(
                    f"special token {text!r} collides with {describe_id(same_bytes)}, which "
                    "stands for the same bytes; the text could not be told apart from it"
                )
        for text, token_id in special_tokens.items():
            self.special_tokens[text] = token_id
            self.vocab[token_id] = text.encode("utf-8")
        # Longest first: where one special token is a prefix of another ("<|a|>" and
        # "<|a|>x"), the regex must try the longer one first.
        ordered = sorted(self.special_tokens, key=len, reverse=True)
        self._special_regex = re.compile("(" + "|".join(map(re.escape, ordered)) + ")") if ordered else None

    # ----- files ----------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write the tokenizer to ``path`` as JSON. The file is written under a temporary
        name and renamed at the end, so a failure never leaves a half-written file behind."""
        data = {"format": FILE_FORMAT, "version": FILE_VERSION, "type": self.kind, **self.to_dict()}
        atomic_write(path, lambda file: json.dump(data, file, ensure_ascii=False))

    @classmethod
    def load(cls, path: str | os.PathLike) -> Tokenizer:
        """Read a tokenizer written by ``save``; the file says which kind it is."""
        source = str(path)
        try:
            with open(path, encoding="utf-8") as file:
                data = json.load(file)
        except UnicodeDecodeError as error:
            raise ValueError(f"{source}: not a UTF-8 text file ({error})") from None
        except json.JSONDecodeError as error:
            raise ValueError(
                f"{source}: not valid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
            ) from None
        if not isinstance(data, dict) or data.get("format") != FILE_FORMAT:
            raise ValueError(f"{source}: not a course_lib tokenizer file (expected \"format\": \"{FILE_FORMAT}\")")
        if data.get("version") != FILE_VERSION:
            raise ValueError(
                f"{source}: file version {data.get('version')!r}, this library reads version {FILE_VERSION}"
            )
        kind = data.get("type")
        if kind not in cls._kinds:
            raise ValueError(f"{source}: unknown tokenizer type {kind!r}, expected one of {sorted(cls._kinds)}")
        tokenizer_class = cls._kinds[kind]
        if not issubclass(tokenizer_class, cls):
            raise ValueError(f"{source}: holds a {tokenizer_class.__name__}, not a {cls.__name__}")
        return tokenizer_class._from_dict(data, source)

    def __repr__(self) -> str:
        specials = f", special_tokens={list(self.special_tokens)}" if self.special_tokens else ""
        return f"{type(self).__name__}(vocab_size={self.vocab_size}{specials})"


# ----- helpers shared by the tokenizers ----------------------------------------------------
def check_text(text) -> None:
    """Encoding needs a str whose characters all have UTF-8 bytes."""
    if not isinstance(text, str):
        raise TypeError(f"expected text as a str, got {type(text).__name__}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(
            f"text has the lone surrogate {text[error.start]!r} at position {error.start}: it has no "
            "UTF-8 bytes, so a byte-level tokenizer cannot encode it"
        ) from None


def check_vocab_size(vocab_size, special_tokens: list[str]) -> None:
    """A vocabulary needs room for the 256 bytes plus every special token."""
    if not isinstance(vocab_size, int) or isinstance(vocab_size, bool):
        raise ValueError(f"vocab_size: expected an int, got {vocab_size!r}")
    smallest = 256 + len(special_tokens)
    if vocab_size < smallest:
        raise ValueError(
            f"vocab_size={vocab_size} is too small: it must hold the 256 single bytes plus "
            f"{len(special_tokens)} special token(s), so at least {smallest}"
        )


def check_special_tokens(special_tokens: Iterable[str]) -> list[str]:
    """The special tokens as a list of distinct, non-empty strings."""
    if isinstance(special_tokens, str):
        raise ValueError(f"special_tokens: expected a list of strings, got the string {special_tokens!r}")
    special_tokens = list(special_tokens)
    for text in special_tokens:
        if not isinstance(text, str) or not text:
            raise ValueError(f"special tokens must be non-empty strings, got {text!r}")
    if len(set(special_tokens)) != len(special_tokens):
        raise ValueError(f"special_tokens has duplicates: {special_tokens}")
    return special_tokens


def check_contiguous_ids(vocab: dict[int, bytes], source: str) -> None:
    """Ids must be exactly 0..N-1, so that they index an embedding table with no holes."""
    missing = sorted(set(range(max(vocab) + 1)) - set(vocab))
    if missing:
        raise ValueError(
            f"{source}: ids must run from 0 to {max(vocab)} without gaps; "
            f"missing {missing[:5]}{' ...' if len(missing) > 5 else ''}"
        )


def atomic_write(path: str | os.PathLike, write: Callable, mode: str = "w") -> None:
    """Call ``write(file)`` on a temporary file next to ``path``, then rename it to ``path``.

    A rename within one folder is atomic: readers see the old file or the new one, never a
    half-written mix, and if ``write`` fails the old file is untouched.
    """
    path = Path(path)
    # A fresh name in the same folder ("x" mode refuses to overwrite anything); plain `open`
    # rather than `tempfile.mkstemp` so the file gets the usual permissions, not owner-only.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    text_options = {} if "b" in mode else {"encoding": "utf-8", "newline": "\n"}  # "\n" on every OS
    try:
        with open(temporary, mode.replace("w", "x"), **text_options) as file:
            write(file)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
