"""Tokenizers: from text to integer ids and back.

Read the files in this order:

* ``base.py``        the interface every tokenizer shares: encode, decode, special tokens, files
* ``char.py``        one id per character, the simplest tokenizer worth training
* ``pretokenization.py`` GPT-2's and GPT-4's regular expressions that cut text into pieces
* ``bpe_trainer.py`` learning byte-pair merges, with counts updated instead of recounted
* ``bpe.py``         the byte-level BPE tokenizer that uses them
* ``gpt2_format.py`` GPT-2's vocab.json + merges.txt files
* ``stream.py``      encoding a large file line by line in bounded memory

Typical use::

    from course_lib.data import python_docs, stories
    from course_lib.tokenization import BPETokenizer, load

    text = stories(2000) + python_docs()
    tokenizer = BPETokenizer("gpt4").train(text, vocab_size=1024, special_tokens=["<|endoftext|>"])
    ids = tokenizer.encode("Once upon a time<|endoftext|>")
    tokenizer.decode(ids)                     # 'Once upon a time<|endoftext|>'
    tokenizer.save("stories-tokenizer.json")
    same = load("stories-tokenizer.json")     # a BPETokenizer again
"""
from course_lib.tokenization.base import Tokenizer
from course_lib.tokenization.bpe import BPETokenizer
from course_lib.tokenization.bpe_trainer import count_pairs, learn_merges, merge_pair
from course_lib.tokenization.char import CharTokenizer
from course_lib.tokenization.gpt2_format import bytes_to_unicode, load_gpt2, save_gpt2
from course_lib.tokenization.pretokenization import GPT2_PATTERN, GPT4_PATTERN, pretokenize
from course_lib.tokenization.stream import encode_stream

load = Tokenizer.load

__all__ = [
    "BPETokenizer",
    "CharTokenizer",
    "GPT2_PATTERN",
    "GPT4_PATTERN",
    "Tokenizer",
    "bytes_to_unicode",
    "count_pairs",
    "encode_stream",
    "learn_merges",
    "load",
    "load_gpt2",
    "merge_pair",
    "pretokenize",
    "save_gpt2",
]
