"""Pre-tokenization: cut text into pieces before byte-pair merging ever sees it.

BPE on raw text would happily learn tokens such as "dog." or "the cat", one for every
word-punctuation combination. GPT-2 fixed this by first splitting text with a regular
expression into words, numbers, runs of punctuation and runs of whitespace, and then
merging only *inside* each piece. A merge can therefore never cross a piece boundary.

The two patterns below are the ones published with GPT-2 and with GPT-4's tokenizer
(cl100k_base). They use Unicode classes such as ``\\p{L}`` (any letter) and ``\\p{N}`` (any
number), which Python's built-in ``re`` does not know; the ``regex`` package does.

    >>> pretokenize("Hello world!!  It's 2024.", "gpt2")
    ['Hello', ' world', '!!', ' ', ' It', "'s", ' 2024', '.']
"""
from __future__ import annotations

import regex

# GPT-2. Read it alternative by alternative, first match wins:
#   's 't 're 've 'm 'll 'd      common English contractions (lower case only)
#    ?\p{L}+                     a word, with at most one leading space
#    ?\p{N}+                     a number, with at most one leading space
#    ?[^\s\p{L}\p{N}]+           a run of punctuation/symbols, with at most one leading space
#   \s+(?!\S)                    whitespace, leaving its last space for the word that follows
#   \s+                          any remaining whitespace (e.g. at the very end)
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

# GPT-4 (cl100k_base). The changes from GPT-2:
#   contractions match in any case ('S, 'Ll), words may carry one leading non-letter such as
#   a space or a quote, numbers are cut into groups of at most 3 digits, punctuation keeps the
#   newlines that follow it, and newlines get their own alternative. `?+` and `++` are
#   possessive: once matched they never give characters back (this keeps matching fast).
GPT4_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*"""
    r"""|\s*[\r\n]|\s+(?!\S)|\s+"""
)

PATTERNS = {"gpt2": GPT2_PATTERN, "gpt4": GPT4_PATTERN}


def resolve_pattern(pattern: str) -> str:
    """The regular expression for ``pattern``: a name in ``PATTERNS`` or a regex itself."""
    if not isinstance(pattern, str) or not pattern:
        raise ValueError(f"pattern: expected 'gpt2', 'gpt4' or a regular expression, got {pattern!r}")
    pattern = PATTERNS.get(pattern, pattern)
    try:
        regex.compile(pattern)
    except regex.error as error:
        raise ValueError(f"pattern {pattern!r} is not a valid regular expression: {error}") from None
    return pattern


def pattern_name(pattern: str) -> str:
    """'gpt2' or 'gpt4' when ``pattern`` is one of the known regexes, else the regex itself."""
    for name, known in PATTERNS.items():
        if pattern == known:
            return name
    return pattern


def split_pieces(compiled: regex.Pattern, text: str):
    """Yield the pieces of ``text`` in order, checking that together they cover all of it.

    Both built-in patterns match every character, but a hand-written pattern might skip some
    (say, one without a whitespace alternative). Skipped text would silently vanish from the
    encoding, so it is an error instead.
    """
    position = 0
    for match in compiled.finditer(text):
        if match.start() != position:
            raise ValueError(
                f"the pre-tokenization pattern skips {text[position:match.start()]!r} at position "
                f"{position}: a pattern must match every character (end it with |\\s+|.)"
            )
        position = match.end()
        yield match.group()
    if position != len(text):
        raise ValueError(
            f"the pre-tokenization pattern skips {text[position:]!r} at position {position}: "
            "a pattern must match every character"
        )


def pretokenize(text: str, pattern: str = "gpt4") -> list[str]:
    """The pieces of ``text`` under ``pattern``; joined together they give back ``text``."""
    return list(split_pieces(regex.compile(resolve_pattern(pattern)), text))
