"""Offline corpora, token arrays cached on disk, batches of shifted windows, sentences, duplicates.

corpus.py     the course's own text: generated stories, standard-library docstrings
tokens.py     tokenize once, cache the ids on disk, split, and sample windows with shifted targets
sentences.py  cut text into sentences (for next-sentence prediction)
dedup.py      exact and near-duplicate removal (normalized digests, MinHash, LSH)
"""
from course_lib.data.corpus import load_corpus, python_docs, stories
from course_lib.data.dedup import (
    DedupResult,
    MinHasher,
    all_pairs_near_duplicates,
    candidate_probability,
    deduplicate,
    exact_duplicates,
    jaccard,
    lsh_candidates,
    near_duplicates,
    normalize,
    plant_duplicates,
    shingles,
)
from course_lib.data.sentences import split_sentences
from course_lib.data.tokens import TokenWindows, cached_tokens, split_tokens

__all__ = ["DedupResult", "MinHasher", "TokenWindows", "all_pairs_near_duplicates", "cached_tokens",
           "candidate_probability", "deduplicate", "exact_duplicates", "jaccard", "load_corpus",
           "lsh_candidates", "near_duplicates", "normalize", "plant_duplicates", "python_docs", "shingles",
           "split_sentences", "split_tokens", "stories"]
