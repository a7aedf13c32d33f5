"""split_sentences: tricky cases one by one, a round-trip property, and the stories' own sentences."""
from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.data import corpus, stories
from course_lib.data.sentences import split_sentences


@pytest.mark.parametrize("text, expected", [
    # abbreviations before a name or an example do not end a sentence
    ("Mr. Smith met Dr. Lee. They talked.", ["Mr. Smith met Dr. Lee.", "They talked."]),
    ("Mrs. Brown and Prof. Green came. St. Ives is far.", ["Mrs. Brown and Prof. Green came.", "St. Ives is far."]),
    ("Use a fruit, e.g. Apples, or a nut, i.e. Almonds. Then eat.",
     ["Use a fruit, e.g. Apples, or a nut, i.e. Almonds.", "Then eat."]),
    ("Bring pens, paper, etc. and a bag. We leave soon.", ["Bring pens, paper, etc. and a bag.", "We leave soon."]),
    ("Bring pens, paper, etc. Then go.", ["Bring pens, paper, etc.", "Then go."]),  # etc. may end one
    ("J. K. Rowling wrote it. I read it.", ["J. K. Rowling wrote it.", "I read it."]),
    ("So did I. Then we left.", ["So did I.", "Then we left."]),
    # decimals, times, web addresses: a dot inside a word
    ("Pi is 3.14 and e is 2.718. Both are numbers.", ["Pi is 3.14 and e is 2.718.", "Both are numbers."]),
    ("It cost $3.50 at 5 p.m. on Monday. Cheap.", ["It cost $3.50 at 5 p.m. on Monday.", "Cheap."]),
    ("See example.com for more. Or not.", ["See example.com for more.", "Or not."]),
    # ellipses: a sentence end only when a new sentence starts
    ("I waited... and waited. Nothing.", ["I waited... and waited.", "Nothing."]),
    ("I waited... Then it came.", ["I waited...", "Then it came."]),
    ("I waited\u2026 Then it came.", ["I waited\u2026", "Then it came."]),
    # dialogue: "?" or "!" inside quotes followed by a lowercase word is one sentence
    ('"Look!" said Mia.', ['"Look!" said Mia.']),
    ('"Where is it?" asked Tom. "Here," said Mia.', ['"Where is it?" asked Tom.', '"Here," said Mia.']),
    ('"Look!" said Tom. "Can you help me find it?"', ['"Look!" said Tom.', '"Can you help me find it?"']),
    ('He said "stop." Then he left.', ['He said "stop."', "Then he left."]),
    ("(It was late.) We slept.", ["(It was late.)", "We slept."]),
    ("Really?! Yes! Wow?", ["Really?!", "Yes!", "Wow?"]),
    # whitespace: runs of spaces and single newlines fold; a blank line ends a sentence
    ("One  two.\n  Three\tfour.   ", ["One two.", "Three four."]),
    ("A title\n\nThe text starts here. It goes on", ["A title", "The text starts here.", "It goes on"]),
    ("no punctuation at all", ["no punctuation at all"]),
    ("Ends without a stop. And then", ["Ends without a stop.", "And then"]),
    ("", []),
    (" \n\n \t ", []),
])
def test_tricky_cases(text, expected):
    assert split_sentences(text) == expected


def test_not_a_string_is_an_error():
    with pytest.raises(TypeError, match="text: expected a str, got list"):
        split_sentences(["One sentence."])


# ----- round trip: nothing lost, nothing added, order kept ----------------------------------------------
PIECES = ["Mr.", "Dr.", "e.g.", "i.e.", "etc.", "3.14", "J.", "said", "Look!\"", "\"Look!\"", "why?", "Yes.",
          "no", "...", "wait...", "(see", "above.)", "Then", "the", "cat", "\u2026", "A", "!", "?", ".", "\"Hi,\""]
SPACES = [" ", "  ", "\n", "\n\n", "\t", " \n \n "]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PIECES), st.sampled_from(SPACES)), max_size=30),
       st.sampled_from(["", " ", "\n"]))
def test_joining_the_sentences_gives_the_whitespace_normalized_text(pieces, leading):
    text = leading + "".join(piece + space for piece, space in pieces)
    sentences = split_sentences(text)
    assert " ".join(sentences) == " ".join(text.split())
    assert all(s and s == " ".join(s.split()) for s in sentences)  # none empty, whitespace folded


# ----- the stories: as many sentences as the generator wrote --------------------------------------------
class RecordingRandom(random.Random):
    """A random.Random that remembers its random() draws: the stories keep a sentence when one is < 0.75.

    Defining getrandbits as well keeps choice/sample/randint on the same (getrandbits) path as
    the plain class, so this draws exactly the numbers random.Random(seed) would.
    """

    def __init__(self, seed):
        self.draws: list[float] = []
        super().__init__(seed)

    def random(self):
        draw = super().random()
        self.draws.append(draw)
        return draw

    def getrandbits(self, k):
        return super().getrandbits(k)


def test_every_story_has_the_sentences_its_generator_wrote():
    n = 300
    lines = stories(n, seed=3).splitlines()
    rng = RecordingRandom(3)
    dialogue_sentences = 0
    for line in lines:
        rng.draws.clear()
        assert corpus._story(rng) == line  # the replay is the same story
        kept = [True] + [draw < 0.75 for draw in rng.draws]  # the generator's 9 templates, the first always kept
        assert len(kept) == 9
        # Template 3, '"Look!" said Hero. "Can you help me find it?"', is two sentences (see sentences.py).
        expected = sum(kept) + kept[3]
        sentences = split_sentences(line)
        assert len(sentences) == expected, (line, sentences)
        assert sentences[0].endswith(".") and all(s.endswith((".", '?"')) for s in sentences)
        dialogue_sentences += sum(s.startswith('"Look!" said') for s in sentences)
    assert dialogue_sentences > n // 2  # the tricky template was there to be split, many times
    # and across story boundaries (single newlines) no two stories run together
    whole = split_sentences("\n".join(lines))
    assert len(whole) == sum(len(split_sentences(line)) for line in lines)
