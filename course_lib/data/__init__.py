"""Offline corpora, token arrays cached on disk, and batches of shifted windows."""
from course_lib.data.corpus import load_corpus, python_docs, stories
from course_lib.data.tokens import TokenWindows, cached_tokens, split_tokens

__all__ = ["TokenWindows", "cached_tokens", "load_corpus", "python_docs", "split_tokens", "stories"]
