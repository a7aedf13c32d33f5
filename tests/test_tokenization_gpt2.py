"""GPT-2's file format (vocab.json + merges.txt): loading, saving, and encoding exactly as GPT-2.

Oracles, from the most to the least independent:
* facts about GPT-2's published files: its first merges and the ids of a few tokens;
* GPT-2's original encoding algorithm (string merges ranked by line), written out in this test;
* the Hugging Face ``tokenizers`` package, when installed (an optional test dependency):
  it reads files we write, and writes files we read.
"""
from __future__ import annotations

import json

import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from course_lib.data import python_docs, stories
from course_lib.tokenization import BPETokenizer, CharTokenizer, bytes_to_unicode, load_gpt2, save_gpt2

try:
    import tokenizers as huggingface
except ImportError:  # an optional test dependency: pip install -c constraints.txt tokenizers
    huggingface = None
needs_huggingface = pytest.mark.skipif(huggingface is None, reason="the optional `tokenizers` package is not installed")

EOT = "<|endoftext|>"
CORPUS = stories(150, seed=4) + python_docs()[:25_000]

# Awkward texts; the same list as the round-trip tests use, plus code and GPT-2's own quirks.
TEXTS = [
    "", " ", "\n", "\n\n\n", "a\n\nb", "  leading and trailing  ", "tabs\tand\r\nCRLF\r\n",
    " " * 300 + "x", "x" + " " * 301, "it's IT'S they'll we've I'm you'd", "'''", "1234567890 3.14159",
    "😀👍🏽👩‍👩‍👧‍👦🇫🇷", "e\u0301 a\u0308", "日本語のテキスト、中文", "שלום עולם مرحبا", "\x00\x01\x1b[0m\x7f",
    "def f(x):\n    return x ** 2  # square\n", "<|endoftext|> is special", "ĠĊ are ordinary letters",
]

# GPT-2's first merges, as published in its merges.txt (a fact about the real file).
GPT2_FIRST_MERGES = ["Ġ t", "Ġ a", "h e", "i n", "r e", "o n", "Ġt he", "e r", "Ġ s", "a t"]


# ----- GPT-2's original algorithm, written here as the oracle ---------------------------------
class ReferenceGPT2Encoder:
    """GPT-2's encoder: regex pieces, bytes written as characters, then merges by rank.

    Merging works on strings, as the original does: find the adjacent pair that appears
    earliest in merges.txt, join every occurrence of it left to right, repeat.
    """

    PATTERN = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

    def __init__(self, vocab_path, merges_path):
        self.encoder = json.loads(open(vocab_path, encoding="utf-8").read())
        lines = open(merges_path, encoding="utf-8").read().split("\n")[1:]
        self.ranks = {tuple(line.split()): rank for rank, line in enumerate(lines) if line}
        self.byte_encoder = bytes_to_unicode()

    def bpe(self, token: str) -> list[str]:
        word = list(token)
        while len(word) > 1:
            pairs = set(zip(word, word[1:]))
            first, second = min(pairs, key=lambda pair: self.ranks.get(pair, float("inf")))
            if (first, second) not in self.ranks:
                break
            new_word, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and word[i] == first and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = new_word
        return word

    def encode(self, text: str) -> list[int]:
        ids = []
        for piece in self.PATTERN.findall(text):
            written = "".join(self.byte_encoder[b] for b in piece.encode("utf-8"))
            ids.extend(self.encoder[token] for token in self.bpe(written))
        return ids


def write_gpt2_files(directory, vocab: dict[str, int], merge_lines: list[str]):
    vocab_path, merges_path = directory / "vocab.json", directory / "merges.txt"
    vocab_path.write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    merges_path.write_text("#version: 0.2\n" + "\n".join(merge_lines) + "\n", encoding="utf-8")
    return vocab_path, merges_path


def mini_gpt2_vocab() -> dict[str, int]:
    """GPT-2's layout: the 256 byte characters first (in the table's order), then merges."""
    vocab = {char: token_id for token_id, char in enumerate(bytes_to_unicode().values())}
    for line in GPT2_FIRST_MERGES:
        vocab[line.replace(" ", "")] = len(vocab)
    vocab[EOT] = len(vocab)
    return vocab


@pytest.fixture(scope="module")
def trained():
    return BPETokenizer("gpt2").train(CORPUS, 600, special_tokens=[EOT])


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    return save_gpt2(trained, tmp_path_factory.mktemp("gpt2"))


# ----- the byte table -----------------------------------------------------------------------
def test_byte_table_matches_gpt2():
    table = bytes_to_unicode()
    assert sorted(table) == list(range(256))
    assert len(set(table.values())) == 256
    assert all(char.isprintable() and not char.isspace() for char in table.values())
    assert table[ord(" ")] == "Ġ" and table[ord("\n")] == "Ċ" and table[0] == "Ā" and table[127] == "ġ"
    assert table[ord("A")] == "A" and table[0xE9] == "é" and table[0xAD] == "Ń"


@needs_huggingface
def test_byte_table_matches_huggingface():
    assert set(bytes_to_unicode().values()) == set(huggingface.pre_tokenizers.ByteLevel.alphabet())


# ----- GPT-2's own layout and ids -----------------------------------------------------------
def test_mini_gpt2_gives_gpt2s_ids(tmp_path):
    vocab_path, merges_path = write_gpt2_files(tmp_path, mini_gpt2_vocab(), GPT2_FIRST_MERGES)
    tokenizer = load_gpt2(vocab_path, merges_path)
    # Ids as in the real GPT-2: "!" is 0, "\n" is 198, " " is 220, " the" is 262.
    assert tokenizer.encode("!") == [0]
    assert tokenizer.encode("\n") == [198]
    assert tokenizer.encode(" ") == [220]
    assert tokenizer.encode(" the") == [262]
    # " there": Ġ t -> Ġt, h e -> he, r e -> re, Ġt he -> Ġthe; (Ġthe, re) is no merge here
    assert tokenizer.encode(" there") == [262, 260]
    assert tokenizer.special_tokens == {EOT: 266}
    assert tokenizer.encode("a" + EOT) == [64, 266]
    reference = ReferenceGPT2Encoder(vocab_path, merges_path)
    for text in TEXTS[:-2]:  # the reference knows no special tokens
        assert tokenizer.encode(text) == reference.encode(text), text


# ----- files course_lib writes --------------------------------------------------------------
def test_exported_files_encode_like_gpt2s_algorithm(trained, exported):
    reference = ReferenceGPT2Encoder(*exported)
    loaded = load_gpt2(*exported)
    for text in TEXTS + [CORPUS[:20_000], stories(5, seed=99)]:
        expected = reference.encode(text)
        assert loaded.encode(text, allowed_special=False) == expected
        assert trained.encode(text, allowed_special=False) == expected


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=120) | st.text(st.sampled_from(" \n\t'sltdvmreaA1é😀.!"), max_size=120))
def test_exported_files_encode_like_gpt2s_algorithm_on_random_text(trained, exported, text):
    reference = ReferenceGPT2Encoder(*exported)
    assert load_gpt2(*exported).encode(text, allowed_special=False) == reference.encode(text)


def test_save_then_load_gives_the_same_tokenizer(trained, exported):
    loaded = load_gpt2(*exported)
    assert loaded.vocab == trained.vocab
    assert loaded.merges == trained.merges
    assert loaded.special_tokens == trained.special_tokens
    lines = exported[1].read_text(encoding="utf-8").split("\n")
    assert lines[0] == "#version: 0.2" and len(lines) == 2 + len(trained.merges)


def test_gpt4_pattern_is_kept_when_loading_says_so(tmp_path):
    tokenizer = BPETokenizer("gpt4").train(CORPUS, 400)
    paths = save_gpt2(tokenizer, tmp_path)
    text = "Numbers 1234567 and I'LL\n\nsee."
    assert load_gpt2(*paths, pattern="gpt4").encode(text) == tokenizer.encode(text)


def test_only_bpe_tokenizers_have_a_gpt2_format(tmp_path):
    with pytest.raises(ValueError, match="holds byte-level BPE tokenizers, got a CharTokenizer"):
        save_gpt2(CharTokenizer().train("abc", 260), tmp_path)


# ----- the Hugging Face tokenizers package as a second, independent implementation ------------
def huggingface_tokenizer(vocab_path, merges_path):
    tokenizer = huggingface.Tokenizer(huggingface.models.BPE.from_file(str(vocab_path), str(merges_path)))
    tokenizer.pre_tokenizer = huggingface.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = huggingface.decoders.ByteLevel()
    return tokenizer


# Random text of any characters, and text dense in what pre-tokenization is about.
TRICKY_CHARACTERS = st.sampled_from(list(" \n\t\r'.,!?-_()#:;\"") + list("sltdvmreaAzZ019é日本😀\u0301ש"))


@needs_huggingface
def test_huggingface_reads_our_files_and_agrees(exported):
    oracle = huggingface_tokenizer(*exported)
    loaded = load_gpt2(*exported)
    for text in TEXTS[:-2] + [CORPUS[:20_000]]:
        assert loaded.encode(text) == oracle.encode(text).ids, text


@needs_huggingface
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=120) | st.text(TRICKY_CHARACTERS, max_size=120))
def test_huggingface_agrees_on_random_text(exported, text):
    oracle = huggingface_tokenizer(*exported)
    assert load_gpt2(*exported).encode(text, allowed_special=False) == oracle.encode(text).ids


@needs_huggingface
def test_we_read_files_huggingface_trained(tmp_path):
    from tokenizers import models, pre_tokenizers, trainers

    hf = huggingface.Tokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=[EOT], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    hf.train_from_iterator([CORPUS], trainer=trainer)
    vocab_path, merges_path = hf.model.save(str(tmp_path))
    loaded = load_gpt2(vocab_path, merges_path)
    assert loaded.special_tokens == {EOT: hf.token_to_id(EOT)}
    assert loaded.byte_ids != list(range(256))  # their own id layout, kept as is
    for text in TEXTS + [CORPUS[:20_000]]:
        assert loaded.encode(text) == hf.encode(text).ids, text  # both match special tokens first
        assert loaded.decode(hf.encode(text).ids) == text


# ----- malformed files: clear errors that name the line -------------------------------------
@pytest.fixture
def mini_files(tmp_path):
    def write(vocab=None, merges=None, raw_vocab=None, raw_merges=None):
        vocab_path, merges_path = write_gpt2_files(tmp_path, vocab or mini_gpt2_vocab(), merges or GPT2_FIRST_MERGES)
        if raw_vocab is not None:
            vocab_path.write_text(raw_vocab, encoding="utf-8")
        if raw_merges is not None:
            merges_path.write_text(raw_merges, encoding="utf-8")
        return vocab_path, merges_path

    return write


def test_malformed_merges_lines(mini_files):
    with pytest.raises(ValueError, match=r"merges.txt line 4: expected two tokens separated by one space, got 'h e x'"):
        load_gpt2(*mini_files(merges=["Ġ t", "Ġ a", "h e x"]))
    with pytest.raises(ValueError, match=r"merges.txt line 3: expected two tokens separated by one space, got 'Ġa'"):
        load_gpt2(*mini_files(raw_merges="#version: 0.2\nĠ t\nĠa\n"))
    with pytest.raises(ValueError, match=r"merges.txt line 2: the token 'ĠtĠt' is not in vocab.json"):
        load_gpt2(*mini_files(merges=["Ġt Ġt"]))
    with pytest.raises(ValueError, match=r"merges.txt line 2: '日' is not written with GPT-2's byte table"):
        load_gpt2(*mini_files(merges=["日 本"]))


def test_merge_that_uses_a_token_before_it_is_made(mini_files):
    # "Ġt he" needs Ġt (line 2) and he (line 4): moved to the top, it comes too early.
    merges = ["Ġt he"] + [m for m in GPT2_FIRST_MERGES if m != "Ġt he"]
    too_early = r"merges.txt line 2 \(Ġt he\): uses id 256, which no byte or earlier merge defines"
    with pytest.raises(ValueError, match=too_early):
        load_gpt2(*mini_files(merges=merges))


def test_malformed_vocab(mini_files):
    with pytest.raises(ValueError, match=r"vocab.json: not valid JSON at line 2, column 1"):
        load_gpt2(*mini_files(raw_vocab='{"a": 1,\n}'))
    with pytest.raises(ValueError, match=r"vocab.json: the token 'a' appears twice"):
        load_gpt2(*mini_files(raw_vocab='{"a": 1, "a": 2}'))
    with pytest.raises(ValueError, match=r"vocab.json: the tokens 'a' and 'b' both have id 1"):
        load_gpt2(*mini_files(raw_vocab='{"a": 1, "b": 1}'))
    with pytest.raises(ValueError, match=r"vocab.json: the token 'a' has id '1'; expected a non-negative integer"):
        load_gpt2(*mini_files(raw_vocab='{"a": "1"}'))
    vocab = mini_gpt2_vocab()
    del vocab["Ċ"]
    with pytest.raises(ValueError, match=r"vocab.json: no entry for the byte 0x0a \(written 'Ċ'\)"):
        load_gpt2(*mini_files(vocab=vocab))
    vocab = mini_gpt2_vocab()
    vocab[EOT] = 300
    with pytest.raises(ValueError, match=r"vocab.json: ids must run from 0 to 300 without gaps; missing \[266, 267"):
        load_gpt2(*mini_files(vocab=vocab))


def test_special_tokens_given_explicitly(mini_files):
    paths = mini_files()
    assert load_gpt2(*paths, special_tokens=[EOT]).special_tokens == {EOT: 266}
    taken = r"special token 'Ġt' has id 256, which is already taken by the token made by merges.txt line 2 \(Ġ t\)"
    with pytest.raises(ValueError, match=taken):
        load_gpt2(*paths, special_tokens=["Ġt", EOT])
    with pytest.raises(ValueError, match=r"\['<\|endoftext\|>'\] are neither bytes, nor made by a merge"):
        load_gpt2(*paths, special_tokens=[])
    with pytest.raises(ValueError, match=r"special token '<\|pad\|>' is not in vocab.json"):
        load_gpt2(*paths, special_tokens=["<|pad|>"])
