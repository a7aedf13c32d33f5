"""Cutting text into sentences, by a few readable rules.

Next-sentence prediction needs sentences in reading order. A full stop is not enough to find
them: "Dr. Lee paid 3.50 dollars, e.g. for tea..." has five dots and no sentence end. The
rules here, in the order they are applied:

1. A **blank line** (a paragraph break) always ends a sentence; a single newline is just a space.
2. Otherwise a sentence can only end at a **word** whose text, after any closing quotes or
   brackets, ends in ``.``, ``!``, ``?`` or ``…`` (so ``"Look!"`` and ``(see above.)`` count).
   A dot inside a word never ends anything: ``3.14``, ``e.g``, ``example.com``.
3. The next word must **not start with a lowercase letter** (after any opening quotes or
   brackets). This one rule handles dialogue, ``"Look!" said Mia.`` is one sentence, and
   ellipses that trail on: ``I waited... and waited.``
4. A single ``.`` after an **abbreviation that is followed by a name or an example**
   (Mr., Dr., e.g., i.e., vs., ...) or after a single capital **initial** (J. K. Rowling)
   does not end a sentence. ``etc.`` is not on that list: it often is the last word of a
   sentence, and rule 3 keeps ``etc. and more`` together.

Whitespace inside a sentence is folded to single spaces, and nothing else is changed, so
joining the sentences with spaces gives back the text with its whitespace normalized:
``" ".join(split_sentences(text)) == " ".join(text.split())``.

Dialogue, a choice made on purpose: ``"Look!" said Tom. "Can you help me find it?"`` is
*two* sentences, ``"Look!" said Tom.`` and ``"Can you help me find it?"`` (each says one
thing and ends with its own punctuation), although the stories' generator writes them as one
item of its list (see ``course_lib.data.corpus``).

Known limits of rules this short: an abbreviation that really ends a sentence before a
capital ("I met the Dr. Then ...") stays joined, and a capital letter ending a sentence
("Take plan B. Then ...") reads as an initial.
"""
from __future__ import annotations

import re

TERMINATORS = (".", "!", "?", "…")
CLOSERS = "\"'”’)]}»"   # may follow the end punctuation: `"Look!"`, `(see above.)`
OPENERS = "\"'“‘([{«"   # may come before the first letter of a sentence

# Abbreviations written with a dot that are followed by a name or an example, not by a new
# sentence. Lowercase, without the final dot.
NEVER_ENDS = {"mr", "mrs", "ms", "dr", "prof", "st", "sr", "jr", "mt", "rev", "gen", "capt", "lt", "col",
              "sgt", "fig", "e.g", "i.e", "cf", "vs", "approx", "ca"}

PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n")  # a line with nothing but spaces on it


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` in reading order, each with its whitespace folded to single spaces."""
    if not isinstance(text, str):
        raise TypeError(f"text: expected a str, got {type(text).__name__}")
    sentences = []
    for paragraph in PARAGRAPH_BREAK.split(text):
        words = paragraph.split()  # any run of spaces, tabs or single newlines separates words
        current: list[str] = []
        for i, word in enumerate(words):
            current.append(word)
            next_word = words[i + 1] if i + 1 < len(words) else None
            if next_word is None or ends_sentence(word, next_word):
                sentences.append(" ".join(current))
                current = []
    return sentences


def ends_sentence(word: str, next_word: str) -> bool:
    """Whether a sentence ends between ``word`` and the ``next_word`` that follows it."""
    core = word.rstrip(CLOSERS)                       # '"Look!"' -> '"Look!'
    if not core.endswith(TERMINATORS):                # rule 2: end punctuation, or no end
        return False
    first = next_word.lstrip(OPENERS)[:1]             # '"Can' -> 'C'
    if first.islower():                               # rule 3: "Look!" said ..., waited... and
        return False
    if core.endswith(".") and not core.endswith(".."):  # rule 4: a single dot, maybe an abbreviation
        before_dot = core[:-1].lstrip(OPENERS)        # '(Dr.' -> 'Dr', 'e.g.' -> 'e.g'
        if before_dot.lower() in NEVER_ENDS:
            return False
        if len(before_dot) == 1 and before_dot.isupper() and before_dot != "I":  # an initial: J. K. Rowling
            return False
    return True
