"""Deduplication: exact hashing, shingles, MinHash, LSH banding, and planted duplicates recovered.

The oracle for near duplicates is brute force: the exact Jaccard index of every pair, written
out in this file. MinHash is checked against its statistics (the estimate's standard error,
the S-curve of LSH banding) and against the hash family computed with Python's exact integers.
"""
from __future__ import annotations

import math
import os
import random
import subprocess
import sys
from itertools import combinations

import pytest
import torch

from course_lib.data import stories
from course_lib.data.dedup import (
    MERSENNE_PRIME,
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
    shingle_id,
    shingles,
    text_digest,
)

STORIES = stories(400, seed=3).splitlines()  # one story per line


def brute_force_pairs(documents, threshold, n=5):
    """Every pair (i, j, J) with J >= threshold, from the shingle sets, by hand."""
    sets = [shingles(d, n) for d in documents]
    pairs = []
    for i, j in combinations(range(len(documents)), 2):
        union = len(sets[i] | sets[j])
        similarity = len(sets[i] & sets[j]) / union if union else 1.0
        if similarity >= threshold:
            pairs.append((i, j, similarity))
    return pairs


def word_doc(start: int, stop: int) -> str:
    """A text of distinct words w<start> .. w<stop - 1>, for building exact overlaps."""
    return " ".join(f"w{i}" for i in range(start, stop))


# ----- exact duplicates ---------------------------------------------------------------------------
def test_normalize_lowercases_drops_punctuation_and_collapses_whitespace():
    assert normalize('  "Look!"  said   Mia.\n') == "look said mia"
    assert normalize("end.Start") == "end start"  # punctuation separates words
    assert normalize("ＡＢＣ  Straße") == "abc strasse"  # full-width letters and ß folded
    assert normalize("snake_case, 3.14") == "snake case 3 14"
    assert normalize("") == "" and normalize(" \t\n ") == ""


def test_exact_duplicates_keep_the_first_occurrence():
    docs = ["The cat sat.", "a dog", "the  CAT sat", "The cat sat!", "a dog.", "a frog"]
    assert exact_duplicates(docs) == [2, 3, 4]
    assert exact_duplicates([]) == []
    assert exact_duplicates(("x", "y")) == []
    assert text_digest("The cat sat.") == text_digest("the cat sat") != text_digest("the cat sat down")


def test_hashes_are_the_same_in_another_process():
    """Python's hash() of a str is salted per process; the digests and signatures must not be."""
    code = (
        "from course_lib.data.dedup import MinHasher, text_digest, shingle_id\n"
        "print(hash('salted?'))\n"
        "print(text_digest('Once upon a time').hex())\n"
        "print(shingle_id('the cat sat on the'))\n"
        "print(MinHasher(16, seed=3).signature({'a b c', 'd e f', 'g h i'}).tolist())\n"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345")
    lines = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                           check=True).stdout.splitlines()
    if os.environ.get("PYTHONHASHSEED") != "12345":
        assert lines[0] != str(hash("salted?"))  # the built-in hash did change between processes ...
    assert lines[1] == text_digest("Once upon a time").hex()  # ... ours did not
    assert int(lines[2]) == shingle_id("the cat sat on the")
    assert lines[3] == str(MinHasher(16, seed=3).signature({"a b c", "d e f", "g h i"}).tolist())


# ----- shingles and Jaccard -----------------------------------------------------------------------
def test_shingles_are_word_ngrams_of_the_normalized_text():
    assert shingles("The cat sat on the mat.", n=3) == {"the cat sat", "cat sat on", "sat on the", "on the mat"}
    assert shingles("A b. A b!", n=2) == {"a b", "b a"}  # a set: repeats count once
    assert shingles("Too short", n=5) == {"too short"}  # fewer than n words: the whole text
    assert shingles("...", n=5) == set() and shingles("", n=1) == set()
    assert shingles("one two three", n=1) == {"one", "two", "three"}


def test_jaccard_by_hand():
    assert jaccard({1, 2, 3}, {2, 3, 4}) == pytest.approx(2 / 4)
    assert jaccard({1}, {2}) == 0.0
    assert jaccard({"x"}, frozenset({"x"})) == 1.0
    assert jaccard(set(), set()) == 1.0  # two empty sets are equal
    assert jaccard({1, 2}, set()) == 0.0


# ----- MinHash ------------------------------------------------------------------------------------
def test_signature_matches_the_hash_family_in_exact_integers():
    hasher = MinHasher(num_hashes=64, seed=7)
    shingle_set = shingles(STORIES[0])
    signature = hasher.signature(shingle_set)
    assert signature.shape == (64,) and signature.dtype == torch.int64
    ids = [shingle_id(s) for s in shingle_set]
    # Python ints never overflow: this is the definition, min over x of (a x + b) mod p.
    expected = [min((a * x + b) % MERSENNE_PRIME for x in ids) for a, b in zip(hasher.a.tolist(), hasher.b.tolist())]
    assert signature.tolist() == expected
    assert hasher.signature(list(shingle_set)).tolist() == expected  # any iterable, any order
    # many at once equals one at a time, whatever the chunk size; an empty set keeps p
    sets = [shingles(s) for s in STORIES[:5]] + [set()]
    batch = hasher.signatures(sets, chunk=37)                          # (6, 64)
    assert batch.shape == (6, 64)
    for row, shingle_set in zip(batch, sets[:5]):
        assert torch.equal(row, hasher.signature(shingle_set))
    assert (batch[5] == MERSENNE_PRIME).all()


def test_signature_depends_on_the_seed_only():
    s = shingles(STORIES[1])
    assert torch.equal(MinHasher(32, seed=1).signature(s), MinHasher(32, seed=1).signature(s))
    assert not torch.equal(MinHasher(32, seed=1).signature(s), MinHasher(32, seed=2).signature(s))


def test_minhash_similarity_estimates_jaccard_within_its_standard_error():
    """Over 300 pairs of various Jaccard s, (estimate - s) / sqrt(s (1 - s) / k) behaves like N(0, 1)."""
    k, rng = 128, random.Random(0)
    hasher = MinHasher(num_hashes=k, seed=0)
    sets, exact = [], []
    for pair in range(300):  # each pair has its own words, so the estimates are independent
        union = rng.randint(20, 120)
        common = rng.randint(1, union - 1)
        words = [f"p{pair}w{i}" for i in range(union)]
        only_a = rng.randint(0, union - common)
        a = set(words[:common + only_a])
        b = set(words[:common]) | set(words[common + only_a:])
        sets += [a, b]
        exact.append(jaccard(a, b))
    signatures = hasher.signatures(sets)                                   # (600, k)
    estimates = torch.tensor([MinHasher.similarity(signatures[2 * i], signatures[2 * i + 1]) for i in range(300)])
    s = torch.tensor(exact, dtype=torch.float64)
    z = (estimates - s) / torch.sqrt(s * (1 - s) / k)                       # (300,)
    assert abs(z.mean().item()) < 4 / math.sqrt(300), f"biased estimates: mean z = {z.mean():.3f}"
    assert 0.75 < z.std().item() < 1.25, f"spread of z = {z.std():.3f}, expected about 1"
    assert z.abs().max().item() < 4.5
    assert MinHasher.similarity(signatures[0], signatures[0]) == 1.0


def test_lsh_candidate_rate_follows_the_s_curve():
    """Measured fraction of pairs that become candidates vs 1 - (1 - s^r)^b, for 8 bands of 4 rows."""
    bands, rows, per_level, union = 8, 4, 300, 50
    hasher = MinHasher(num_hashes=bands * rows, seed=5)
    levels = [0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    sets = []
    for level_index, s in enumerate(levels):
        common = round(s * union)  # |A & B| / |A | B| = common / union exactly
        for pair in range(per_level):
            words = [f"l{level_index}p{pair}w{i}" for i in range(union)]
            half = common + (union - common) // 2
            sets += [set(words[:half]), set(words[:common]) | set(words[half:])]
    candidates = lsh_candidates(hasher.signatures(sets), bands)
    for level_index, s in enumerate(levels):
        first = 2 * level_index * per_level
        found = sum((first + 2 * p, first + 2 * p + 1) in candidates for p in range(per_level))
        rate, expected = found / per_level, candidate_probability(s, bands, rows)
        tolerance = 4 * math.sqrt(expected * (1 - expected) / per_level) + 0.02
        assert abs(rate - expected) < tolerance, f"s={s}: candidate rate {rate:.3f}, S-curve says {expected:.3f}"
    assert candidate_probability(0.85, 32, 4) > 1 - 1e-9 and candidate_probability(0.3, 32, 4) < 0.25


# ----- near duplicates against brute force --------------------------------------------------------
@pytest.fixture(scope="module")
def planted_small():
    """60 stories with copies: exact ones, ones edited at the ends, and ones with one word changed inside."""
    corpus, _ = plant_duplicates(STORIES[:60], exact_fraction=0.1, near_fraction=0.2, edits=2, seed=1)
    long_stories = [story for story in STORIES[60:] if len(story.split()) >= 70][:6]
    for story in long_stories:  # one word replaced in the middle: 5 of >= 66 shingles change, J >= 0.85
        words = story.split()
        words[len(words) // 2] = "zebra"
        corpus += [story, " ".join(words)]
    return corpus


def test_near_duplicates_return_exactly_the_brute_force_pairs(planted_small):
    threshold, bands, rows = 0.7, 32, 4
    expected = brute_force_pairs(planted_small, threshold)
    assert len(expected) >= 20, "the corpus should hold planted pairs"
    # The planted pairs sit far above the threshold, so LSH should miss none of them:
    assert min(j for _, _, j in expected) >= 0.85
    chance_all_found = math.prod(candidate_probability(j, bands, rows) for _, _, j in expected)
    assert chance_all_found > 0.999
    found = near_duplicates(planted_small, threshold=threshold, num_hashes=bands * rows, bands=bands)
    assert found == expected  # same pairs, same order, same Jaccard
    assert all_pairs_near_duplicates(planted_small, threshold) == expected


def test_near_duplicates_never_report_a_pair_below_the_threshold(planted_small):
    """Few long bands find few candidates, but whatever is reported is verified."""
    truth = {(i, j): s for i, j, s in brute_force_pairs(planted_small, 0.5)}
    found = near_duplicates(planted_small, threshold=0.5, num_hashes=64, bands=2, seed=3)
    assert len(found) < len(truth)  # 2 bands of 32 rows miss pairs: recall is not free
    for i, j, s in found:
        assert i < j and truth[(i, j)] == s


def test_the_stories_have_no_near_duplicates_of_their_own():
    """The stories are templated; with 5-word shingles their pairs stay far below 0.7."""
    natural = brute_force_pairs(STORIES[:250], threshold=0.2)
    assert len(natural) > 10  # the templates do share some 5-word shingles ...
    highest = max(s for _, _, s in natural)  # ... but far fewer than a copy does
    assert highest < 0.5, f"two generated stories share Jaccard {highest:.2f}: planting would be ambiguous"
    assert near_duplicates(STORIES, threshold=0.7) == []


# ----- deduplicate --------------------------------------------------------------------------------
def test_deduplicate_keeps_the_first_occurrence_in_order():
    a, b = word_doc(0, 50), word_doc(100, 150)
    near_a = a + " w999"  # one word added at the end: Jaccard 46 / 47
    docs = [a, b, a.upper(), near_a, "something else entirely here", b + "."]
    result = deduplicate(docs)
    assert isinstance(result, DedupResult)
    assert result.exact_removed == [2, 5] and result.near_removed == [3]
    assert result.kept_indices == [0, 1, 4] and result.kept == [a, b, "something else entirely here"]
    assert result.removed == [2, 3, 5]


def test_deduplicate_removes_only_near_twins_of_kept_documents():
    """a ~ b and b ~ c, but a and c are far apart: b goes (twin of a), c stays (b was removed)."""
    a, b, c = word_doc(0, 50), word_doc(5, 55), word_doc(10, 60)
    sets = [shingles(x) for x in (a, b, c)]
    assert jaccard(sets[0], sets[1]) > 0.7 and jaccard(sets[1], sets[2]) > 0.7 and jaccard(sets[0], sets[2]) < 0.7
    result = deduplicate([a, b, c])
    assert result.near_removed == [1] and result.kept_indices == [0, 2]


def test_deduplicate_is_idempotent_and_handles_empty_input(planted_small):
    first = deduplicate(planted_small)
    assert first.removed, "the planted corpus has duplicates"
    again = deduplicate(first.kept)
    assert again.kept == first.kept and again.removed == []
    empty = deduplicate([])
    assert empty.kept == [] and empty.kept_indices == [] and empty.exact_removed == [] == empty.near_removed


# ----- planted duplicates -------------------------------------------------------------------------
def test_plant_duplicates_inserts_copies_after_their_sources():
    docs = STORIES[:100]
    corpus, planted = plant_duplicates(docs, exact_fraction=0.2, near_fraction=0.3, edits=2, seed=4)
    assert len(corpus) == 150 and len(planted) == 50 and planted == sorted(planted)
    planted_set = set(planted)
    assert [d for i, d in enumerate(corpus) if i not in planted_set] == docs  # originals, in order
    n_exact = n_near = 0
    for index in planted:
        earlier = [shingles(d) for i, d in enumerate(corpus[:index]) if i not in planted_set]
        copy = shingles(corpus[index])
        best = max(range(len(earlier)), key=lambda i: jaccard(copy, earlier[i]))
        if any(normalize(corpus[index]) == normalize(d) for d in docs[:len(earlier)]):
            n_exact += 1
        else:
            n_near += 1
            size = len(earlier[best])  # the source's shingle count S: J >= (S - edits) / (S + edits)
            assert jaccard(copy, earlier[best]) >= (size - 2) / (size + 2)
    assert n_exact == 20 and n_near == 30
    assert plant_duplicates(docs, seed=4) == plant_duplicates(docs, seed=4)
    assert plant_duplicates([], seed=0) == ([], [])


def test_deduplicate_recovers_planted_duplicates_in_the_stories():
    corpus, planted = plant_duplicates(STORIES, exact_fraction=0.2, near_fraction=0.2, edits=2, seed=0)
    removed, planted = set(deduplicate(corpus).removed), set(planted)
    precision = len(removed & planted) / len(removed)
    recall = len(removed & planted) / len(planted)
    assert precision >= 0.95 and recall >= 0.95, f"precision {precision:.3f}, recall {recall:.3f}"


# ----- bad input ----------------------------------------------------------------------------------
@pytest.mark.parametrize("call, message", [
    (lambda: exact_duplicates(["ok", 3]), r"documents\[1\]: expected a str, got int"),
    (lambda: deduplicate("one text"), "got a single str"),
    (lambda: near_duplicates({"a": 1}), "expected a sequence of str"),
    (lambda: near_duplicates(["a"], threshold=0), r"threshold: expected a Jaccard similarity in \(0, 1\], got 0"),
    (lambda: deduplicate(["a"], threshold=1.5), "got 1.5"),
    (lambda: deduplicate(["a"], threshold=True), "got True"),
    (lambda: shingles("a b", n=0), "n: expected an int >= 1, got 0"),
    (lambda: near_duplicates(["a"], n=2.5), "got 2.5"),
    (lambda: near_duplicates(["a"], num_hashes=128, bands=30), r"bands=30 does not divide num_hashes=128.*\[1, 2, 4, 8"),
    (lambda: MinHasher(num_hashes=0), "num_hashes: expected an int >= 1, got 0"),
    (lambda: MinHasher(seed="x"), "seed: expected an int"),
    (lambda: MinHasher(8).signature("a b c"), "got a str"),
    (lambda: MinHasher(8).signature({1, 2}), "expected str shingles, got int"),
    (lambda: MinHasher.similarity(torch.zeros(4, dtype=torch.long), torch.zeros(5, dtype=torch.long)),
     "different lengths: 4 and 5"),
    (lambda: MinHasher.similarity([1, 2], torch.zeros(2)), "expected a 1-D signature tensor"),
    (lambda: lsh_candidates(torch.zeros(3, 10, dtype=torch.long), 4), "bands=4 does not divide num_hashes=10"),
    (lambda: jaccard([1], {1}), "a: expected a set, got list"),
    (lambda: normalize(None), "text: expected a str, got NoneType"),
    (lambda: deduplicate(["a"], rows=4), r"unknown near-duplicate options \['rows'\]"),
    (lambda: plant_duplicates(["a"], exact_fraction=-0.1), "exact_fraction: expected a number >= 0"),
    (lambda: plant_duplicates(["a"], edits=0), "edits: expected an int >= 1, got 0"),
])
def test_bad_input_is_refused_with_a_clear_message(call, message):
    with pytest.raises((TypeError, ValueError), match=message):
        call()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_signatures_on_cuda_equal_the_cpu_ones():
    sets = [shingles(s) for s in STORIES[:50]]
    cpu = MinHasher(64, seed=2).signatures(sets)
    cuda = MinHasher(64, seed=2, device="cuda").signatures(sets)
    assert cuda.device.type == "cuda" and torch.equal(cuda.cpu(), cpu)
