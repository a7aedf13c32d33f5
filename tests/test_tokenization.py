"""Tokenizers: training, the round trip text -> ids -> text, special tokens, errors, files.

Oracles: a straightforward BPE trainer written here (recounts every pair after each merge),
a merge sequence worked out by hand, and the round-trip property checked on random text
(hypothesis) plus a fixed list of awkward strings.
"""
from __future__ import annotations

import doctest
import json
import os
import subprocess
import sys
import textwrap
from collections import Counter

import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import course_lib.tokenization as tokenization
from course_lib.data import python_docs, stories
from course_lib.tokenization import (
    BPETokenizer,
    CharTokenizer,
    Tokenizer,
    base,
    bpe,
    bpe_trainer,
    char,
    pretokenization,
    pretokenize,
)

EOT = "<|endoftext|>"
CORPUS = stories(120, seed=1) + python_docs()[:20_000]  # ~60 KB: letters, code, punctuation

ADVERSARIAL = [
    "",
    " ",
    "a",
    "\n",
    " " * 3000,  # one long run of whitespace
    "\n" * 500 + "x" + "\t " * 300,
    "\r\n\r\n\t\x0b\x0c \x85\u2028\u2029\u3000",  # every kind of line break and space
    "\x00\x01\x02\x1b[31mred\x1b[0m\x7f\x1c\x1d",  # control characters
    "😀👍🏽👩‍👩‍👧‍👦🇫🇷🏳️‍🌈",  # emoji: skin tone, zero-width joiners, flags
    "e\u0301 a\u0308\u0304 \u0915\u094d\u0937 Z\u0351\u0362\u0337",  # combining marks
    "日本語のテキスト、中文，한국어 텍스트",  # CJK
    "שלום עולם مرحبا بالعالم \u202eevil\u202c",  # right-to-left text, bidi override
    "\ufeffBOM \ufffd replacement \U0010ffff last code point \U0001d11e",
    "１２３ ٣٤٥ ½ ⅷ 10000000000000000000",  # digits of other scripts, long numbers
    "it's IT'S they'll we've I'm you'd 'twas ''' '",  # contractions
    EOT,
    EOT + EOT + "a" + EOT,
    "<|endoftext",
    "<|endoftext|" + EOT + "|>",
    "x" * 5000,  # one very long word
    "a\n\nb\n \nc  \n  d",
]


@pytest.fixture(scope="module")
def bpe_gpt4():
    return BPETokenizer("gpt4").train(CORPUS, 512, special_tokens=[EOT])


@pytest.fixture(scope="module")
def bpe_gpt2():
    return BPETokenizer("gpt2").train(CORPUS, 400, special_tokens=[EOT, "<|pad|>"])


@pytest.fixture(scope="module")
def char_tokenizer():
    return CharTokenizer().train(CORPUS, 300, special_tokens=[EOT])


@pytest.fixture(scope="module", params=["bpe_gpt4", "bpe_gpt2", "char_tokenizer"])
def any_tokenizer(request):
    return request.getfixturevalue(request.param)


# ----- a straightforward trainer, written independently, as the oracle ------------------------
def reference_merges(text: str, pattern: str, n_merges: int, specials=()) -> list[tuple[int, int]]:
    """BPE the slow, obvious way: every piece kept (repeats included), all pairs recounted."""
    documents = regex.split("|".join(map(regex.escape, specials)), text) if specials else [text]
    sequences = [list(piece.encode("utf-8")) for doc in documents for piece in regex.findall(pattern, doc)]
    merges = []
    for step in range(n_merges):
        counts: dict[tuple[int, int], int] = {}
        for seq in sequences:
            for pair in zip(seq, seq[1:]):
                counts[pair] = counts.get(pair, 0) + 1
        if not counts:
            break
        best = min(counts, key=lambda pair: (-counts[pair], pair))  # highest count, then smallest pair
        new_id = 256 + step
        for index, seq in enumerate(sequences):
            out, i = [], 0
            while i < len(seq):
                if seq[i : i + 2] == list(best):
                    out.append(new_id)
                    i += 2
                else:
                    out.append(seq[i])
                    i += 1
            sequences[index] = out
        merges.append(best)
    return merges


@pytest.mark.parametrize("pattern", ["gpt2", "gpt4"])
def test_incremental_trainer_learns_the_same_merges_as_recounting(pattern):
    text = stories(40, seed=3) + python_docs()[:6000] + " aaaa bbbb abab 1234567 ... !!!\n\n  x"
    tokenizer = BPETokenizer(pattern).train(text, 256 + 150)
    expected = reference_merges(text, pretokenization.PATTERNS[pattern], 150)
    assert list(tokenizer.merges) == expected
    assert list(tokenizer.merges.values()) == list(range(256, 256 + 150))


def test_count_pairs_counts_overlaps_inside_pieces_only():
    count_pairs = tokenization.count_pairs
    pieces = [[97, 97, 97, 98], [32, 97, 97, 98], [97], []]
    assert count_pairs(pieces) == {(97, 97): 3, (97, 98): 2, (32, 97): 1}
    text = stories(10, seed=2) + " aaaa 1234\n\n  x"
    sequences = [list(piece.encode("utf-8")) for piece in pretokenization.pretokenize(text)]
    assert count_pairs(sequences) == dict(Counter(p for seq in sequences for p in zip(seq, seq[1:])))


def test_merges_worked_out_by_hand():
    # "aaabdaaabac": (a,a) occurs 4 times -> 256; then (a,b) 3 times -> 257; then (256,257)
    # twice -> 258; then four pairs occur once each and the tie goes to the smallest, (a,c).
    tokenizer = BPETokenizer("gpt2").train("aaabdaaabac", 260)
    a, b, c = ord("a"), ord("b"), ord("c")
    assert list(tokenizer.merges) == [(a, a), (a, b), (256, 257), (a, c)]
    assert tokenizer.encode("aaabdaaabac") == [258, ord("d"), 258, 259]


def test_ties_go_to_the_smallest_pair_whatever_the_text_order():
    # Every pair occurs once; text order would pick (z, y) first, the rule picks (a, b).
    tokenizer = BPETokenizer("gpt2").train("zy\nab", 257)
    assert list(tokenizer.merges) == [(ord("a"), ord("b"))]


def test_training_is_deterministic_across_processes():
    # Set and dict order can depend on PYTHONHASHSEED; the merges must not.
    script = textwrap.dedent("""
        from course_lib.data import stories
        from course_lib.tokenization import BPETokenizer
        tokenizer = BPETokenizer("gpt4").train(stories(60, seed=5), 400, special_tokens=["<|endoftext|>"])
        print(list(tokenizer.merges.items()))
    """)
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
        assert result.returncode == 0, result.stderr
        outputs.add(result.stdout)
    assert len(outputs) == 1
    in_process = BPETokenizer("gpt4").train(stories(60, seed=5), 400, special_tokens=[EOT])
    assert outputs.pop().strip() == str(list(in_process.merges.items()))


@pytest.mark.parametrize("pattern", ["gpt2", "gpt4"])
def test_merges_never_cross_pre_token_boundaries(pattern):
    tokenizer = BPETokenizer(pattern).train(CORPUS, 700)
    pieces = {piece.encode("utf-8") for piece in pretokenize(CORPUS, pattern)}
    for token_id in range(256, tokenizer.vocab_size):
        token = tokenizer.vocab[token_id]
        assert any(token in piece for piece in pieces), f"token {token!r} spans a piece boundary"
    # Encoding works piece by piece too: the ids of a text are the ids of its pieces, joined.
    text = "The dog, the cat.\n\n  def f(x): return x+1  # 'quoted'"
    by_piece = [i for piece in pretokenize(text, pattern) for i in tokenizer.encode(piece)]
    assert tokenizer.encode(text) == by_piece


def test_patterns_split_as_gpt2_and_gpt4_do():
    text = "Hello world!!  It's 2024.\n\nI'LL go"
    # GPT-2: "\n\n" before a letter is two pieces (the lookahead (?!\S) gives back the last "\n")
    assert pretokenize(text, "gpt2") == [
        "Hello", " world", "!!", " ", " It", "'s", " 2024", ".", "\n", "\n", "I", "'", "LL", " go"]
    assert pretokenize(text, "gpt4") == [
        "Hello", " world", "!!", " ", " It", "'s", " ", "202", "4", ".\n\n", "I", "'LL", " go"]


def test_a_pattern_that_skips_text_is_an_error():
    tokenizer = BPETokenizer(r"\w+")
    with pytest.raises(ValueError, match="skips ' ' at position 1"):
        tokenizer.encode("a b")


# ----- special tokens ---------------------------------------------------------------------------
def test_special_tokens_are_matched_first_and_never_split(bpe_gpt4):
    eot = bpe_gpt4.special_tokens[EOT]
    assert eot == 511  # the last id
    ids = bpe_gpt4.encode("end." + EOT + "Once")
    assert ids.count(eot) == 1
    before, after = ids[: ids.index(eot)], ids[ids.index(eot) + 1 :]
    assert bpe_gpt4.decode(before) == "end." and bpe_gpt4.decode(after) == "Once"
    assert bpe_gpt4.encode(EOT) == [eot]
    # not recognised: encoded as ordinary text, several ids
    plain = bpe_gpt4.encode(EOT, allowed_special=False)
    assert eot not in plain and bpe_gpt4.decode(plain) == EOT


def test_longer_special_token_wins():
    tokenizer = BPETokenizer("gpt2").train(CORPUS, 300, special_tokens=["<|a|>", "<|a|>b"])
    assert tokenizer.encode("<|a|>b<|a|>") == [tokenizer.special_tokens["<|a|>b"], tokenizer.special_tokens["<|a|>"]]


def test_special_tokens_in_training_text_are_not_learned():
    text = EOT.join(stories(80, seed=2).splitlines())
    tokenizer = BPETokenizer("gpt4").train(text, 500, special_tokens=[EOT])
    learned = [tokenizer.vocab[i] for i in range(256, 499)]
    assert not [t for t in learned if b"|" in t or b"endof" in t]
    # without declaring it, the marker's pieces are learned (the test above can fail)
    naive = BPETokenizer("gpt4").train(text, 500)
    assert [t for t in naive.vocab.values() if b"|" in t and len(t) > 1]


def test_char_tokenizer_special_tokens(char_tokenizer):
    ids = char_tokenizer.encode("ab" + EOT)
    assert ids[-1] == char_tokenizer.special_tokens[EOT] == 299 and len(ids) == 3


# ----- round trip -------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_round_trip_adversarial(any_tokenizer, text):
    ids = any_tokenizer.encode(text)
    assert all(isinstance(i, int) and 0 <= i < any_tokenizer.vocab_size for i in ids)
    assert any_tokenizer.decode(ids) == text
    assert any_tokenizer.decode(any_tokenizer.encode(text, allowed_special=False)) == text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200) | st.text(st.sampled_from(" \n\t\r'.,!?aAé日😀0123\u0301<|>endoftx"), max_size=200))
def test_round_trip_random_text(bpe_gpt4, bpe_gpt2, char_tokenizer, text):
    for tokenizer in (bpe_gpt4, bpe_gpt2, char_tokenizer):
        assert tokenizer.decode(tokenizer.encode(text)) == text


def test_bpe_compresses_and_char_does_not_lose(bpe_gpt4, char_tokenizer):
    text = stories(20, seed=9)
    assert len(bpe_gpt4.encode(text)) < 0.5 * len(text.encode())
    assert len(char_tokenizer.encode(text)) == len(text)  # every character of English text is known


def test_decoding_a_partial_character_gives_the_replacement_character(any_tokenizer):
    ids = any_tokenizer.encode("€")  # three UTF-8 bytes, unseen in training: three byte ids
    assert len(ids) == 3
    assert any_tokenizer.decode(ids[:2]) == "\ufffd"
    assert any_tokenizer.decode(ids[:2]) + any_tokenizer.decode(ids[2:]) != "€"
    assert any_tokenizer.decode(ids) == "€"  # bytes are joined before decoding
    assert any_tokenizer.decode(ids + [ids[0]]) == "€\ufffd"


def test_decode_accepts_tensors(bpe_gpt4):
    torch = pytest.importorskip("torch")
    ids = bpe_gpt4.encode("hello there")
    assert bpe_gpt4.decode(torch.tensor(ids)) == "hello there"
    # One element of a tensor is a 0-d tensor, a single id rather than a sequence: a clear error.
    with pytest.raises(ValueError, match="expected a sequence of ids, got the single value"):
        bpe_gpt4.decode(torch.tensor(ids)[0])
    with pytest.raises(ValueError, match="pass \\[104\\]"):
        bpe_gpt4.decode(104)


def test_char_tokenizer_keeps_the_most_frequent_characters():
    tokenizer = CharTokenizer().train("aaa bb c", 259)  # room for 3 characters
    assert tokenizer.char_to_id == {"a": 256, " ": 257, "b": 258}  # " " and "b" tie: code-point order
    assert tokenizer.encode("cab") == [ord("c"), 256, 258]  # "c" falls back to its byte


# ----- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [BPETokenizer, CharTokenizer])
def test_vocab_size_too_small(cls):
    with pytest.raises(ValueError, match=r"vocab_size=257 is too small.*2 special token.*at least 258"):
        cls().train("abc", 257, special_tokens=["<a>", "<b>"])
    with pytest.raises(ValueError, match="vocab_size=100 is too small"):
        cls().train("abc", 100)
    with pytest.raises(ValueError, match="vocab_size: expected an int"):
        cls().train("abc", 300.0)


@pytest.mark.parametrize("bad_ids, message", [
    ([5, 99999], "unknown id 99999 at position 1; this tokenizer's ids are 0..511"),
    ([-1], "unknown id -1 at position 0"),
    ([1.5], "expected integer ids, got 1.5 at position 0"),
])
def test_decode_unknown_id(bpe_gpt4, bad_ids, message):
    with pytest.raises(ValueError, match=regex.escape(message)):
        bpe_gpt4.decode(bad_ids)


def test_special_token_that_collides_with_a_regular_token():
    with pytest.raises(ValueError, match=r"special token 'a' collides with the single-byte token 97"):
        BPETokenizer("gpt2").train("abc", 258, special_tokens=["a"])
    with pytest.raises(ValueError, match=r"special token 'a' collides with the single-byte token 97"):
        CharTokenizer().train("abc", 300, special_tokens=["a"])



def test_special_token_that_collides_with_a_character_token_in_a_file(tmp_path):
    path = tmp_path / "char.json"
    path.write_text(json.dumps({"format": base.FILE_FORMAT, "version": 1, "type": "char",
                                "chars": ["é"], "special_tokens": {"é": 257}}))
    with pytest.raises(ValueError, match=r"special token 'é' collides with character token 256"):
        Tokenizer.load(path)


def test_special_token_that_collides_with_a_merge_in_a_file(tmp_path, bpe_gpt4):
    data = bpe_gpt4.to_dict()
    # give the special token the id that merge 3 produces
    data["special_tokens"] = {EOT: 259}
    path = tmp_path / "tok.json"
    path.write_text(json.dumps({"format": base.FILE_FORMAT, "version": 1, "type": "bpe", **data}))
    taken = r"special token '<\|endoftext\|>' has id 259, which is already taken by the token made by merges\[3\]"
    with pytest.raises(ValueError, match=taken):
        Tokenizer.load(path)
    # a special token spelled exactly like a learned token
    learned = bpe_gpt4.vocab[300].decode()
    data["special_tokens"] = {learned: 511}
    path.write_text(json.dumps({"format": base.FILE_FORMAT, "version": 1, "type": "bpe", **data}))
    with pytest.raises(ValueError, match=r"collides with the token made by merges\[44\]"):
        Tokenizer.load(path)


def test_lone_surrogates_are_refused_clearly(bpe_gpt4):
    with pytest.raises(ValueError, match="lone surrogate '\\\\ud800' at position 2"):
        bpe_gpt4.encode("ab\ud800")
    with pytest.raises(TypeError, match="expected text as a str, got bytes"):
        bpe_gpt4.encode(b"abc")


def test_too_little_text_for_the_vocabulary_warns():
    with pytest.warns(UserWarning, match="only allows 2 merges, not 44"):
        tokenizer = BPETokenizer("gpt2").train("abc", 300)
    assert tokenizer.vocab_size == 258


# ----- files ------------------------------------------------------------------------------------
def test_save_and_load(tmp_path, any_tokenizer):
    path = tmp_path / "tokenizer.json"
    any_tokenizer.save(path)
    loaded = Tokenizer.load(path)
    assert type(loaded) is type(any_tokenizer)
    assert loaded.vocab == any_tokenizer.vocab and loaded.special_tokens == any_tokenizer.special_tokens
    for text in ADVERSARIAL[:12] + [CORPUS[:3000]]:
        assert loaded.encode(text) == any_tokenizer.encode(text)
    assert tokenization.load(path).vocab == any_tokenizer.vocab
    assert [p.name for p in tmp_path.iterdir()] == ["tokenizer.json"]  # no temporary left behind


def test_failed_save_leaves_the_old_file_intact(tmp_path, bpe_gpt4, monkeypatch):
    path = tmp_path / "tokenizer.json"
    bpe_gpt4.save(path)
    before = path.read_bytes()
    broken = bpe_gpt4.to_dict()
    broken["merges"] = broken["merges"][:50] + [object()]  # json.dump fails half way through
    monkeypatch.setattr(bpe_gpt4, "to_dict", lambda: broken)
    with pytest.raises(TypeError, match="not JSON serializable"):
        bpe_gpt4.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["tokenizer.json"]
    assert Tokenizer.load(path).merges == bpe_gpt4.merges


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON at line 1, column 2"),
    ('{"format": "other"}', "not a course_lib tokenizer file"),
    ('{"format": "course_lib.tokenizer", "version": 7}', "file version 7"),
    ('{"format": "course_lib.tokenizer", "version": 1, "type": "wordpiece"}', "unknown tokenizer type 'wordpiece'"),
    ('{"format": "course_lib.tokenizer", "version": 1, "type": "bpe", "pattern": "gpt2", "byte_ids": [], "merges": []}',
     "byte_ids: expected 256 distinct ids"),
    ('{"format": "course_lib.tokenizer", "version": 1, "type": "char", "chars": ["ab"]}',
     r"chars\[0\] should be one character"),
])
def test_malformed_tokenizer_files(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        Tokenizer.load(path)


def test_loading_through_the_wrong_class(tmp_path, bpe_gpt4):
    bpe_gpt4.save(tmp_path / "bpe.json")
    assert isinstance(BPETokenizer.load(tmp_path / "bpe.json"), BPETokenizer)
    with pytest.raises(ValueError, match="holds a BPETokenizer, not a CharTokenizer"):
        CharTokenizer.load(tmp_path / "bpe.json")


def test_malformed_merges_in_a_saved_file(tmp_path):
    data = {"format": base.FILE_FORMAT, "version": 1, "type": "bpe", "pattern": "gpt2",
            "byte_ids": list(range(256)), "merges": [[97, 98, 256], [256, 999, 257]], "special_tokens": {}}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"merges\[1\]: uses id 999, which no byte or earlier merge defines"):
        Tokenizer.load(path)
    data["merges"] = [[97, 98, 300]]
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"ids must run from 0 to 300 without gaps; missing \[256, 257"):
        Tokenizer.load(path)


def test_docstring_examples_run():
    for module in (base, char, bpe, bpe_trainer, pretokenization):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, module.__name__
