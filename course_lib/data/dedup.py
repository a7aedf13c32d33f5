"""Finding duplicated documents in a pretraining corpus, exactly and approximately.

Web corpora repeat themselves: the same page is crawled twice, a licence or a cookie banner
stands under thousands of pages, an article is copied with a new header. Duplicates waste
compute (the model reads the same tokens again), they push the model to memorize the
repeated text instead of learning the language, and a duplicate that lands on both sides of
a train / validation split makes the validation loss look better than it is.

Two kinds of duplicates, two tools:

* **Exact** duplicates: documents whose *normalized* text is the same (lowercase, punctuation
  removed, whitespace collapsed). A cryptographic hash of each normalized text finds them in
  one pass: equal hashes, equal texts.
* **Near** duplicates: documents that share most of their word n-grams ("shingles"). Their
  similarity is the Jaccard index of the two shingle sets, ``|A & B| / |A | B|``. Comparing
  every pair costs N (N - 1) / 2 Jaccard computations: 50 million for 10,000 documents.

MinHash and locality-sensitive hashing (LSH) avoid the quadratic cost:

1. **MinHash.** Hash every shingle with k random hash functions and keep, for each function,
   the smallest value over the document: a signature of k integers. For one random hash
   function, the two sets have the same minimum exactly when the element of ``A | B`` that
   hashes lowest lies in ``A & B``, which happens with probability ``J(A, B)``. So the fraction
   of equal signature entries estimates the Jaccard index, with standard error
   ``sqrt(J (1 - J) / k)``.
2. **LSH banding.** Cut each signature into b bands of r rows (b * r = k). Two documents become
   a *candidate pair* when all r rows of at least one band agree. A band agrees with
   probability s^r for a pair of Jaccard s, so the pair becomes a candidate with probability

       P(candidate) = 1 - (1 - s^r)^b

   an S-shaped curve in s, steepest near s = (1 / b)^(1 / r): pairs far above it are almost
   always found, pairs far below almost never. Bucketing each band's rows finds the candidates
   without comparing all pairs.
3. **Verification.** Each candidate pair is checked with its exact Jaccard index, so no false
   pair is reported; a true pair is missed only when LSH never made it a candidate.

``deduplicate`` runs both: exact duplicates first, then near duplicates among what is left,
keeping the first occurrence of each group and the corpus order.
"""
from __future__ import annotations

import hashlib
import random
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

import torch

# ----- checking the inputs --------------------------------------------------------------------------


def check_documents(documents) -> list[str]:
    """``documents`` as a list of str, or an error naming the first one that is not a str."""
    if isinstance(documents, str):
        raise TypeError("documents: expected a sequence of str, got a single str (pass [text] for one document)")
    if not isinstance(documents, Sequence):
        raise TypeError(f"documents: expected a sequence of str (a list or tuple), got {type(documents).__name__}")
    for index, document in enumerate(documents):
        if not isinstance(document, str):
            raise TypeError(f"documents[{index}]: expected a str, got {type(document).__name__} ({document!r:.40})")
    return list(documents)


def check_positive_int(value, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: expected an int >= 1, got {value!r}")


def check_threshold(threshold) -> None:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold <= 1:
        raise ValueError(f"threshold: expected a Jaccard similarity in (0, 1], got {threshold!r}")


def check_bands(num_hashes: int, bands: int) -> int:
    """The rows per band, after checking that ``bands`` cuts ``num_hashes`` into equal bands."""
    check_positive_int(num_hashes, "num_hashes")
    check_positive_int(bands, "bands")
    if num_hashes % bands != 0:
        divisors = [d for d in range(1, num_hashes + 1) if num_hashes % d == 0]
        raise ValueError(
            f"bands={bands} does not divide num_hashes={num_hashes}: every band takes num_hashes / bands "
            f"rows of the signature, so pick bands among the divisors of {num_hashes}: {divisors}"
        )
    return num_hashes // bands


# ----- exact duplicates: normalize, hash, compare hashes -------------------------------------------
PUNCTUATION = re.compile(r"[^\w\s]|_")  # anything that is neither a letter/digit nor whitespace


def normalize(text: str) -> str:
    """The text as exact deduplication compares it: lowercase, punctuation removed, whitespace collapsed.

    Punctuation becomes a space (so "end.Start" gives two words, not one), and Unicode
    compatibility forms are folded first (NFKC: a full-width "Ａ" is an "A").

    >>> normalize('  "Look!"  said   Mia.\\n')
    'look said mia'
    """
    if not isinstance(text, str):
        raise TypeError(f"text: expected a str, got {type(text).__name__} ({text!r:.40})")
    text = unicodedata.normalize("NFKC", text).casefold()  # casefold: lowercase that also folds "ß" to "ss"
    return " ".join(PUNCTUATION.sub(" ", text).split())


def text_digest(text: str) -> bytes:
    """A 16-byte BLAKE2b digest of the normalized text.

    Python's built-in ``hash()`` of a str changes from one process to the next (it is salted
    on purpose), so it cannot be stored or compared across runs; a hashlib digest can.
    """
    return hashlib.blake2b(normalize(text).encode("utf-8"), digest_size=16).digest()


def exact_duplicates(documents: Sequence[str]) -> list[int]:
    """Indices of the documents whose normalized text appeared earlier (the first one is kept)."""
    documents = check_documents(documents)
    seen: set[bytes] = set()
    duplicates = []
    for index, document in enumerate(documents):
        digest = text_digest(document)
        if digest in seen:
            duplicates.append(index)
        seen.add(digest)
    return duplicates


# ----- near duplicates: shingles and their Jaccard index ---------------------------------------------
def shingles(text: str, n: int = 5) -> set[str]:
    """The word n-grams of the normalized text, as a set; a text of fewer than n words is one shingle.

    An empty (or punctuation-only) text has no shingles.

    >>> sorted(shingles("The cat sat on the mat.", n=3))
    ['cat sat on', 'on the mat', 'sat on the', 'the cat sat']
    """
    check_positive_int(n, "n")
    words = normalize(text).split()
    if len(words) < n:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)}


def jaccard(a: set, b: set) -> float:
    """``|a & b| / |a | b|``: 1 for equal sets, 0 for disjoint ones (two empty sets are equal: 1)."""
    for name, value in (("a", a), ("b", b)):
        if not isinstance(value, (set, frozenset)):
            raise TypeError(f"{name}: expected a set, got {type(value).__name__}")
    union = len(a | b)
    return len(a & b) / union if union else 1.0


# ----- MinHash signatures ------------------------------------------------------------------------
# The hash family is h(x) = (a x + b) mod p with the Mersenne prime p = 2^31 - 1. Shingle ids x
# and the coefficients a, b are below 2^31, so a x < 2^62 and a x + b fit in a signed int64:
# the whole computation is exact in torch's int64 arithmetic, without overflow.
MERSENNE_PRIME = 2**31 - 1


def shingle_id(shingle: str) -> int:
    """A stable integer in [0, 2^31 - 1) for a shingle (BLAKE2b, the same in every process).

    Two different shingles share an id with probability about 1 / 2^31: rare enough for MinHash,
    which only estimates; exact Jaccard always compares the strings themselves.
    """
    digest = hashlib.blake2b(shingle.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") % MERSENNE_PRIME


class MinHasher:
    """``num_hashes`` seeded hash functions; ``signature`` keeps each one's minimum over a shingle set."""

    def __init__(self, num_hashes: int = 128, seed: int = 0, device: torch.device | str = "cpu"):
        check_positive_int(num_hashes, "num_hashes")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed: expected an int, got {seed!r}")
        self.num_hashes, self.seed = num_hashes, seed
        self.device = torch.device(device)
        generator = torch.Generator().manual_seed(seed)  # on the CPU: the same functions on every device
        p = MERSENNE_PRIME
        self.a = torch.randint(1, p, (num_hashes,), generator=generator, dtype=torch.int64).to(self.device)  # (k,)
        self.b = torch.randint(0, p, (num_hashes,), generator=generator, dtype=torch.int64).to(self.device)  # (k,)

    def signature(self, shingle_set: Iterable[str]) -> torch.Tensor:
        """The MinHash signature of one shingle set: (num_hashes,) int64."""
        return self.signatures([shingle_set])[0]

    def signatures(self, shingle_sets: Sequence[Iterable[str]], chunk: int = 2**14) -> torch.Tensor:
        """The signatures of many shingle sets at once: (D, num_hashes) int64.

        All shingles of all documents are hashed as one long row of ids, ``chunk`` at a time,
        and each hash value is folded into its document's running minimum (``scatter_reduce``).
        An empty set keeps the starting value p, larger than any hash value.
        """
        ids, owner = [], []  # every shingle's id, and the index of the document it belongs to
        for doc, shingle_set in enumerate(shingle_sets):
            if isinstance(shingle_set, str):
                raise TypeError(f"shingle_sets[{doc}]: expected a set of shingles, got a str (use shingles(text))")
            for shingle in shingle_set:
                if not isinstance(shingle, str):
                    raise TypeError(f"shingle_sets[{doc}]: expected str shingles, got {type(shingle).__name__}")
                ids.append(shingle_id(shingle))
                owner.append(doc)
        D, k = len(shingle_sets), self.num_hashes
        ids = torch.tensor(ids, dtype=torch.int64, device=self.device)      # (N,) all shingles
        owner = torch.tensor(owner, dtype=torch.int64, device=self.device)  # (N,) their documents
        minima = torch.full((k, D), MERSENNE_PRIME, dtype=torch.int64, device=self.device)  # (k, D)
        for start in range(0, len(ids), chunk):  # bounded memory: k * chunk values at a time
            x = ids[start:start + chunk]                                           # (c,)
            hashed = (self.a[:, None] * x[None, :] + self.b[:, None]) % MERSENNE_PRIME  # (k, c)
            docs = owner[start:start + chunk].expand(k, -1)                        # (k, c)
            minima.scatter_reduce_(1, docs, hashed, reduce="amin")                 # (k, D)
        return minima.T.contiguous()                                               # (D, k)

    @staticmethod
    def similarity(sig_a: torch.Tensor, sig_b: torch.Tensor) -> float:
        """The fraction of equal entries of two signatures: an estimate of the Jaccard index."""
        for name, sig in (("sig_a", sig_a), ("sig_b", sig_b)):
            if not isinstance(sig, torch.Tensor) or sig.ndim != 1:
                got = f"shape {tuple(sig.shape)}" if isinstance(sig, torch.Tensor) else type(sig).__name__
                raise ValueError(f"{name}: expected a 1-D signature tensor (num_hashes,), got {got}")
        if sig_a.shape != sig_b.shape:
            raise ValueError(f"signatures of different lengths: {len(sig_a)} and {len(sig_b)} (use one MinHasher)")
        return (sig_a == sig_b).double().mean().item()


# ----- LSH banding --------------------------------------------------------------------------------
def candidate_probability(s: float, bands: int, rows: int) -> float:
    """The chance that a pair of Jaccard ``s`` becomes an LSH candidate: 1 - (1 - s^r)^b."""
    return 1.0 - (1.0 - s**rows) ** bands


def lsh_candidates(signatures: torch.Tensor, bands: int) -> set[tuple[int, int]]:
    """Pairs (i, j), i < j, whose signatures agree on every row of at least one band.

    ``signatures`` is (D, k); each band is a (D, r) slice. ``torch.unique`` over its rows gives
    every document a bucket number, equal for equal rows; documents sharing a bucket pair up.
    """
    if not isinstance(signatures, torch.Tensor) or signatures.ndim != 2:
        got = f"shape {tuple(signatures.shape)}" if isinstance(signatures, torch.Tensor) else type(signatures).__name__
        raise ValueError(f"signatures: expected a (D, num_hashes) tensor, got {got}")
    D, k = signatures.shape
    rows = check_bands(k, bands)
    banded = signatures.reshape(D, bands, rows)                                       # (D, b, r)
    candidates: set[tuple[int, int]] = set()
    for band in range(bands):
        _, bucket = torch.unique(banded[:, band, :], dim=0, return_inverse=True)     # (D,)
        members = defaultdict(list)
        for doc, key in enumerate(bucket.tolist()):
            members[key].append(doc)
        for docs in members.values():
            candidates.update(combinations(docs, 2))  # docs are in increasing order: i < j
    return candidates


def near_duplicates(documents: Sequence[str], threshold: float = 0.7, num_hashes: int = 128, bands: int = 32,
                    n: int = 5, seed: int = 0) -> list[tuple[int, int, float]]:
    """Pairs (i, j, jaccard), i < j, of documents whose n-word shingle sets have Jaccard >= ``threshold``.

    Candidates come from MinHash + LSH with ``bands`` bands of ``num_hashes / bands`` rows; each
    is verified with its exact Jaccard index. A pair of Jaccard s is found with probability
    ``candidate_probability(s, bands, num_hashes // bands)``: the default 32 bands of 4 rows find
    a pair at s = 0.7 with probability 0.9998, and at s = 0.85 miss about one pair in 20 billion.
    Sorted by (i, j).
    """
    documents = check_documents(documents)
    check_threshold(threshold)
    check_bands(num_hashes, bands)
    check_positive_int(n, "n")
    shingle_sets = [shingles(document, n) for document in documents]
    signatures = MinHasher(num_hashes, seed).signatures(shingle_sets)  # (D, k)
    pairs = []
    for i, j in sorted(lsh_candidates(signatures, bands)):
        similarity = jaccard(shingle_sets[i], shingle_sets[j])
        if similarity >= threshold:
            pairs.append((i, j, similarity))
    return pairs


def all_pairs_near_duplicates(documents: Sequence[str], threshold: float = 0.7,
                              n: int = 5) -> list[tuple[int, int, float]]:
    """The same pairs as ``near_duplicates`` by brute force: exact Jaccard of every pair (quadratic)."""
    documents = check_documents(documents)
    check_threshold(threshold)
    shingle_sets = [shingles(document, n) for document in documents]
    return [(i, j, similarity) for i, j in combinations(range(len(documents)), 2)
            if (similarity := jaccard(shingle_sets[i], shingle_sets[j])) >= threshold]


# ----- deduplicating a corpus ---------------------------------------------------------------------
@dataclass
class DedupResult:
    kept: list[str]            # the documents kept, in corpus order
    kept_indices: list[int]    # their indices in the input
    exact_removed: list[int]   # indices removed as exact duplicates of an earlier document
    near_removed: list[int]    # indices removed as near duplicates of an earlier kept document

    @property
    def removed(self) -> list[int]:
        return sorted(self.exact_removed + self.near_removed)


NEAR_OPTIONS = ("num_hashes", "bands", "n", "seed")


def deduplicate(documents: Sequence[str], threshold: float = 0.7, **near_options) -> DedupResult:
    """Remove exact duplicates, then near duplicates (``near_duplicates`` with ``near_options``).

    The first occurrence is kept and the order preserved. Near duplicates are removed greedily
    in corpus order: document j goes when it pairs with an earlier document that is *kept*. So
    every removed document has a kept near twin before it, and no two kept documents form a
    pair (a chain a ~ b ~ c with a and c far apart keeps a and c). Running it again on the kept
    documents changes nothing.
    """
    documents = check_documents(documents)
    check_threshold(threshold)
    unknown = sorted(set(near_options) - set(NEAR_OPTIONS))
    if unknown:
        raise TypeError(f"unknown near-duplicate options {unknown}: expected some of {list(NEAR_OPTIONS)}")
    exact_removed = exact_duplicates(documents)
    exact_set = set(exact_removed)
    survivors = [i for i in range(len(documents)) if i not in exact_set]       # indices into documents
    pairs = near_duplicates([documents[i] for i in survivors], threshold, **near_options)
    removed: set[int] = set()                                                   # positions in survivors
    # Sorted by j: when pair (i, j) comes up, every pair that decides i's fate (h, i) has been seen.
    for i, j, _ in sorted(pairs, key=lambda pair: (pair[1], pair[0])):
        if i not in removed:
            removed.add(j)
    near_removed = sorted(survivors[j] for j in removed)
    kept_indices = [index for position, index in enumerate(survivors) if position not in removed]
    return DedupResult(kept=[documents[i] for i in kept_indices], kept_indices=kept_indices,
                       exact_removed=exact_removed, near_removed=near_removed)


# ----- planting duplicates, to measure precision and recall ------------------------------------------
def plant_duplicates(documents: Sequence[str], exact_fraction: float = 0.2, near_fraction: float = 0.2,
                     edits: int = 2, seed: int = 0) -> tuple[list[str], list[int]]:
    """A corpus with copies mixed in, and the (sorted) indices of the planted copies.

    ``round(exact_fraction * len(documents))`` exact copies and ``round(near_fraction * len(documents))``
    near copies of randomly chosen documents are inserted at random places *after* their source,
    so that keeping the first occurrence keeps the source.

    * An **exact** copy is the source verbatim, or with its case and spacing changed: the same
      text after ``normalize``.
    * A **near** copy has ``edits`` words added, dropped or replaced at its start or its end,
      the way two copies of one web page differ by a date, a header or a signature line. Each
      such edit removes at most one word n-gram of the source and adds at most one, so a source
      of S shingles and its copy keep a Jaccard index of at least (S - edits) / (S + edits):
      0.93 for a 60-word story and 2 edits. (An edit in the middle of a text changes up to n
      shingles at once; that is a harder case, not the one planted here.)

    Assumes the input has no duplicates of its own: then the planted indices are exactly the
    documents a perfect deduplication removes.
    """
    documents = check_documents(documents)
    for name, value in (("exact_fraction", exact_fraction), ("near_fraction", near_fraction)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"{name}: expected a number >= 0, got {value!r}")
    check_positive_int(edits, "edits")
    rng = random.Random(seed)
    N = len(documents)
    n_exact, n_near = (round(exact_fraction * N), round(near_fraction * N)) if N else (0, 0)
    copies = []  # (source index, copied text)
    for _ in range(n_exact):
        source = rng.randrange(N)
        copies.append((source, restyle(documents[source], rng)))
    for _ in range(n_near):
        source = rng.randrange(N)
        copies.append((source, edit_ends(documents[source], edits, rng)))
    # Sort keys: original i stands at i; a copy of source s stands between originals k - 1 and k
    # for a random k in s + 1 .. N, hence always after its source.
    keyed = [(float(i), False, text) for i, text in enumerate(documents)]
    for source, text in copies:
        k = rng.randint(source + 1, N)
        keyed.append((k - 0.9 + 0.8 * rng.random(), True, text))
    keyed.sort(key=lambda item: item[0])
    corpus = [text for _, _, text in keyed]
    planted = [index for index, (_, is_copy, _) in enumerate(keyed) if is_copy]
    return corpus, planted


def restyle(text: str, rng: random.Random) -> str:
    """The same text after ``normalize``: verbatim, upper case, or with doubled spaces."""
    styles = [text, text.upper(), text.replace(" ", "  "), "  " + text + " "]
    restyled = rng.choice(styles)
    return restyled if normalize(restyled) == normalize(text) else text  # upper() of rare letters may differ


def edit_ends(text: str, edits: int, rng: random.Random) -> str:
    """``text`` with ``edits`` words added, dropped or replaced at its start or end (never the same text)."""
    source_words = text.split()
    vocabulary = source_words or ["new"]  # new words come from the text itself, so they look like it
    for _ in range(100):  # an edit can undo another (drop then add back): try again
        words = list(source_words)
        for _ in range(edits):
            at_start = rng.random() < 0.5
            kind = rng.choice(["add", "drop", "replace"]) if len(words) > 1 else "add"
            position = 0 if at_start else len(words) - 1
            if kind == "add":
                words.insert(0 if at_start else len(words), rng.choice(vocabulary))
            elif kind == "drop":
                del words[position]
            else:
                words[position] = rng.choice(vocabulary)
        edited = " ".join(words)
        if normalize(edited) != normalize(text):
            return edited
    raise ValueError(f"could not edit {text!r:.60} into a different text: is it empty?")
