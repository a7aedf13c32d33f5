"""Encoding a text too large to hold in memory, line by line.

``tokenizer.encode(text)`` needs the whole text as one string. For a file of many gigabytes we
would rather read a few lines, encode them, hand out their ids, and forget them. The catch:
the ids of a line can depend on what follows it. With GPT-2's pattern, "a \\n" at the very end
of a text is one piece " \\n", but followed by "b" it is two pieces, " " and "\\n".

So we only cut the text where the cut cannot change anything: just after a newline that has a
non-space character on both sides, as in "...end.\\nNext...". For the GPT-2 and GPT-4 patterns
no piece ever holds a newline followed by a non-space character, and the pieces before such a
cut come out the same whether or not the text goes on. Most texts offer such a place every few
lines. The ids are then exactly those of ``tokenizer.encode("".join(lines))``.

Memory holds only the lines since the last cut. A text that offers no safe cut for
``max_buffer_chars`` characters (a huge file of indented lines, say) is cut anyway, at that
point; only there may the ids differ from ``encode``'s, and decoding still gives the text back.
(For a pattern of your own, cuts are exact when its pieces never hold a newline followed by a
non-space character and never depend on what lies beyond such a newline.)
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

import regex

# A newline with a non-space character before and after it: the cut goes right after "\n".
SAFE_CUT = regex.compile(r"(?<=\S\n)(?=\S)")


def encode_stream(
    tokenizer,
    lines: Iterable[str],
    allowed_special: bool = True,
    max_buffer_chars: int = 1_000_000,
) -> Iterator[int]:
    """Yield the ids of the text made by joining ``lines`` (an open file, a generator of str).

    Special tokens that contain a line break cannot be used: the text is cut at line breaks.
    """
    for special in tokenizer.special_tokens:
        if allowed_special and "\n" in special:
            raise ValueError(f"encode_stream cuts text at line breaks, so the special token {special!r} cannot be used")
    pending: list[str] = []  # text read since the last cut, in pieces
    pending_chars = 0
    for line in lines:
        if not isinstance(line, str):
            raise TypeError(f"encode_stream: expected lines of text (str), got {type(line).__name__}")
        # A cut needs the two characters before it, which may sit at the end of earlier lines.
        tail = _last_chars(pending, 2)
        cut = None
        for match in SAFE_CUT.finditer(tail + line, len(tail)):
            cut = match.start() - len(tail)  # the last safe cut inside this line (or at its start)
        if cut is not None:
            pending.append(line[:cut])
            yield from tokenizer.encode("".join(pending), allowed_special=allowed_special)
            pending, pending_chars = [line[cut:]], len(line) - cut
        else:
            pending.append(line)
            pending_chars += len(line)
            if pending_chars > max_buffer_chars:  # no safe cut for too long: cut here anyway
                yield from tokenizer.encode("".join(pending), allowed_special=allowed_special)
                pending, pending_chars = [], 0
    if pending_chars:
        yield from tokenizer.encode("".join(pending), allowed_special=allowed_special)


def _last_chars(pieces: list[str], n: int) -> str:
    """The last ``n`` characters of ``"".join(pieces)``, without joining all of it."""
    tail = ""
    for piece in reversed(pieces):
        tail = piece + tail
        if len(tail) >= n:
            break
    return tail[-n:]
