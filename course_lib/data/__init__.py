"""Offline corpora and batching for the lessons."""
from course_lib.data.corpus import load_corpus, python_docs, stories

__all__ = ["load_corpus", "python_docs", "stories"]
