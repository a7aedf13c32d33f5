"""Reading and writing tokenizers in GPT-2's published format: vocab.json + merges.txt.

GPT-2's tokenizer was published as two text files, and many tokenizers since use the same
format (the Hugging Face ``tokenizers`` library reads and writes it):

* ``vocab.json`` maps each token, written as a string, to its id: ``{"!": 0, ..., "Ġt": 256}``.
* ``merges.txt`` lists the merges, most important first, one per line: ``Ġ t`` means "the
  tokens Ġ and t merge into Ġt". An optional first line ``#version: 0.2`` is a header.

Tokens are byte strings, but JSON and text files hold characters. GPT-2 therefore writes each
byte as one printable character: the 188 bytes that already print as a visible character
(``!`` to ``~``, ``¡`` to ``¬``, ``®`` to ``ÿ``) stand for themselves, and the other 68 (space,
newline, control bytes, ...) are shifted to the characters ``Ā`` (U+0100) onwards, in byte
order. That is why a space shows up as ``Ġ`` (U+0120) and a newline as ``Ċ`` (U+010A).

    tokenizer = load_gpt2("gpt2/vocab.json", "gpt2/merges.txt")   # files you downloaded
    tokenizer.encode("Hello world")                               # the ids GPT-2 would give

Entries of vocab.json that are neither a byte nor made by a merge (GPT-2 has one,
``<|endoftext|>``) are special tokens.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from course_lib.tokenization.base import atomic_write, check_contiguous_ids
from course_lib.tokenization.bpe import BPETokenizer


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's table from each byte value (0..255) to the character that writes it."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table = {byte: chr(byte) for byte in printable}
    shifted = 0
    for byte in range(256):
        if byte not in table:
            table[byte] = chr(256 + shifted)
            shifted += 1
    return table


BYTE_TO_CHAR = bytes_to_unicode()
CHAR_TO_BYTE = {char: byte for byte, char in BYTE_TO_CHAR.items()}


def token_to_string(token: bytes) -> str:
    """A token's bytes the way vocab.json and merges.txt write them: b" the" -> "Ġthe"."""
    return "".join(BYTE_TO_CHAR[byte] for byte in token)


def string_to_token(text: str) -> bytes | None:
    """The bytes a vocab.json string stands for, or None if it is not written with the table."""
    if not text or any(char not in CHAR_TO_BYTE for char in text):
        return None
    return bytes(CHAR_TO_BYTE[char] for char in text)


# ----- reading ------------------------------------------------------------------------------
def load_gpt2(
    vocab_path: str | os.PathLike,
    merges_path: str | os.PathLike,
    pattern: str = "gpt2",
    special_tokens: Iterable[str] | None = None,
) -> BPETokenizer:
    """A ``BPETokenizer`` from GPT-2-format files; it encodes exactly as the original would.

    ``pattern`` is the pre-tokenization regex (the files do not record it; GPT-2 used "gpt2").
    ``special_tokens``: the vocab.json entries that are special tokens. By default, every entry
    that is neither a byte nor made by a merge; if given, each must be such an entry.
    """
    vocab = _read_vocab(vocab_path)
    merges = _read_merges(merges_path)
    vocab_name, merges_name = Path(vocab_path).name, Path(merges_path).name

    # 1. The 256 byte tokens, under whatever ids the file gives them.
    byte_ids = []
    for byte in range(256):
        token = BYTE_TO_CHAR[byte]
        if token not in vocab:
            raise ValueError(
                f"{vocab_name}: no entry for the byte 0x{byte:02x} (written {token!r}); a byte-level "
                "vocabulary must hold all 256 bytes"
            )
        byte_ids.append(vocab[token])

    # 2. Each merge line as (left id, right id, merged id).
    merge_ids, line_of = [], []
    for line_number, left, right in merges:
        for part in (left, right, left + right):
            if string_to_token(part) is None:
                raise ValueError(
                    f"{merges_name} line {line_number}: {part!r} is not written with GPT-2's byte table"
                )
            if part not in vocab:
                raise ValueError(f"{merges_name} line {line_number}: the token {part!r} is not in {vocab_name}")
        merge_ids.append((vocab[left], vocab[right], vocab[left + right]))
        line_of.append(line_number)

    # 3. What is left are special tokens.
    regular = set(byte_ids) | {merged for _, _, merged in merge_ids}
    leftovers = {text: token_id for text, token_id in vocab.items() if token_id not in regular}
    if special_tokens is None:
        specials = leftovers
    else:
        specials = {}
        for text in special_tokens:
            if text not in vocab:
                raise ValueError(f"special token {text!r} is not in {vocab_name}")
            specials[text] = vocab[text]  # an id taken by a byte or merge is refused by _build
        unexplained = sorted(set(leftovers) - set(specials))
        if unexplained:
            raise ValueError(
                f"{vocab_name}: {unexplained[:5]} are neither bytes, nor made by a merge in "
                f"{merges_name}, nor listed in special_tokens"
            )

    tokenizer = BPETokenizer(pattern)
    tokenizer._build(
        tokenizer.pattern, byte_ids, merge_ids, specials,
        describe_merge=lambda k: f"{merges_name} line {line_of[k]} ({merges[k][1]} {merges[k][2]})",
    )
    check_contiguous_ids(tokenizer.vocab, vocab_name)
    return tokenizer


def _read_vocab(path: str | os.PathLike) -> dict[str, int]:
    name = Path(path).name

    def refuse_duplicates(pairs):
        # json.load would silently keep the last of two equal keys; a vocabulary must not.
        seen = {}
        for key, value in pairs:
            if key in seen:
                raise ValueError(f"{name}: the token {key!r} appears twice")
            seen[key] = value
        return seen

    try:
        with open(path, encoding="utf-8") as file:
            vocab = json.load(file, object_pairs_hook=refuse_duplicates)
    except UnicodeDecodeError as error:
        raise ValueError(f"{name}: not UTF-8 text ({error})") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{name}: not valid JSON at line {error.lineno}, column {error.colno}: {error.msg}") from None
    if not isinstance(vocab, dict) or not vocab:
        raise ValueError(f"{name}: expected a JSON object mapping tokens to ids, got {type(vocab).__name__}")
    owner: dict[int, str] = {}
    for token, token_id in vocab.items():
        if not isinstance(token_id, int) or isinstance(token_id, bool) or token_id < 0:
            raise ValueError(f"{name}: the token {token!r} has id {token_id!r}; expected a non-negative integer")
        if token_id in owner:
            raise ValueError(f"{name}: the tokens {owner[token_id]!r} and {token!r} both have id {token_id}")
        owner[token_id] = token
    return vocab


def _read_merges(path: str | os.PathLike) -> list[tuple[int, str, str]]:
    """(line number, left, right) for each merge line."""
    name = Path(path).name
    merges = []
    try:
        with open(path, encoding="utf-8") as file:
            # GPT-2's tokens never contain a line break or a space: each byte that could be one is
            # written as a letter such as Ċ or Ġ. So lines and spaces are safe separators here.
            for line_number, line in enumerate(file, start=1):
                line = line.rstrip("\n")
                if line_number == 1 and line.startswith("#version"):
                    continue  # the header
                if not line.strip():
                    continue  # blank lines (typically the last one)
                parts = line.split(" ")
                if len(parts) != 2 or not all(parts):
                    raise ValueError(
                        f"{name} line {line_number}: expected two tokens separated by one space, got {line!r}"
                    )
                merges.append((line_number, parts[0], parts[1]))
    except UnicodeDecodeError as error:
        raise ValueError(f"{name}: not UTF-8 text ({error})") from None
    return merges


# ----- writing ------------------------------------------------------------------------------
def save_gpt2(tokenizer: BPETokenizer, directory: str | os.PathLike) -> tuple[Path, Path]:
    """Write ``tokenizer`` as ``vocab.json`` and ``merges.txt`` in ``directory``.

    The pre-tokenization pattern is not part of the format: load with the same ``pattern``.
    Returns the two paths.
    """
    if not isinstance(tokenizer, BPETokenizer):
        raise ValueError(f"GPT-2's format holds byte-level BPE tokenizers, got a {type(tokenizer).__name__}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    vocab: dict[str, int] = {}
    for token_id in sorted(tokenizer.vocab):
        is_special = token_id in tokenizer.special_tokens.values()
        text = tokenizer.vocab[token_id].decode("utf-8") if is_special else token_to_string(tokenizer.vocab[token_id])
        if vocab.setdefault(text, token_id) != token_id:
            raise ValueError(f"ids {vocab[text]} and {token_id} would both be written as {text!r} in vocab.json")
    lines = ["#version: 0.2"] + [
        f"{token_to_string(tokenizer.vocab[left])} {token_to_string(tokenizer.vocab[right])}"
        for left, right in tokenizer.merges
    ]
    vocab_path, merges_path = directory / "vocab.json", directory / "merges.txt"
    atomic_write(vocab_path, lambda file: json.dump(vocab, file, ensure_ascii=False))
    atomic_write(merges_path, lambda file: file.write("\n".join(lines) + "\n"))
    return vocab_path, merges_path
