"""Recorded common mistakes for lesson 02: each must lose its points, with a message that names it.

MISTAKES maps an answer cell's grade_id to plausible wrong answers a learner writes:
``code`` replaces the whole answer cell, and the failure message of the test cell(s) that
follow must contain ``says`` (case-insensitive). The first entry of each list is also used
when a whole mistaken notebook is autograded.

ALTERNATIVES holds correct answers written differently from the solution; each must pass.
"""

_TOKENIZER = '''
class BytePairTokenizer:
    def __init__(self, merges, special_tokens):
        self.rank = {tuple(pair): k for k, pair in enumerate(merges)}
        self.special_tokens = dict(special_tokens)
        self.vocab = {i: bytes([i]) for i in range(256)}
        for k, (left, right) in enumerate(merges):
            self.vocab[256 + k] = self.vocab[left] + self.vocab[right]
        for special, special_id in self.special_tokens.items():
            self.vocab[special_id] = special.encode("utf-8")

    def encode(self, text, allowed_special=True):
        if allowed_special and self.special_tokens:
            longest_first = sorted(self.special_tokens, key=len, reverse=True)
            parts = re.split("(" + "|".join(map(re.escape, longest_first)) + ")", text)
        else:
            parts = [text]
        ids = []
        for position, part in enumerate(parts):
            if position % 2 == 1:
                ids.append(self.special_tokens[part])
                continue
            for piece in pretokenize(part):
                piece_ids = list(piece.encode("utf-8"))
                while len(piece_ids) >= 2:
                    pair = min(zip(piece_ids, piece_ids[1:]), key=lambda p: self.rank.get(p, float("inf")))
                    if pair not in self.rank:
                        break
                    piece_ids = merge_pair(piece_ids, pair, 256 + self.rank[pair])
                ids.extend(piece_ids)
        return ids
'''


def _tokenizer(old: str, new: str) -> str:
    """The tokenizer class with ``old`` (which must occur once) replaced by ``new``."""
    assert _TOKENIZER.count(old) == 1, old
    return _TOKENIZER.replace(old, new)


MISTAKES = {
    "count_pairs": [
        {
            "name": "joins the pieces first (pairs cross pre-token boundaries)",
            "code": '''
def count_pairs(pieces):
    ids = [i for piece in pieces for i in piece]
    counts = {}
    for pair in zip(ids, ids[1:]):
        counts[pair] = counts.get(pair, 0) + 1
    return counts
''',
            "says": "crossed a pre-token boundary",
        },
        {
            "name": "off by one: misses each piece's last pair",
            "code": '''
def count_pairs(pieces):
    counts = {}
    for piece in pieces:
        for i in range(len(piece) - 2):
            pair = (piece[i], piece[i + 1])
            counts[pair] = counts.get(pair, 0) + 1
    return counts
''',
            "says": "last pair is missing",
        },
        {
            "name": "counts each distinct pair once per piece (overlapping pairs undercounted)",
            "code": '''
def count_pairs(pieces):
    counts = {}
    for piece in pieces:
        for pair in set(zip(piece, piece[1:])):
            counts[pair] = counts.get(pair, 0) + 1
    return counts
''',
            "says": "pairs overlap when counting",
        },
        {
            "name": "starts at the second pair (misses each piece's first pair)",
            "code": '''
def count_pairs(pieces):
    counts = {}
    for piece in pieces:
        for i in range(1, len(piece) - 1):
            pair = (piece[i], piece[i + 1])
            counts[pair] = counts.get(pair, 0) + 1
    return counts
''',
            "says": "first pair is missing",
        },
        {
            "name": "sorts each pair (treats (a, b) and (b, a) as one)",
            "code": '''
def count_pairs(pieces):
    counts = {}
    for piece in pieces:
        for left, right in zip(piece, piece[1:]):
            pair = (min(left, right), max(left, right))
            counts[pair] = counts.get(pair, 0) + 1
    return counts
''',
            "says": "pairs are ordered",
        },
        {
            "name": "sets each count to 1 instead of adding 1",
            "code": '''
def count_pairs(pieces):
    counts = {}
    for piece in pieces:
        for pair in zip(piece, piece[1:]):
            counts[pair] = 1
    return counts
''',
            "says": "count every occurrence",
        },
        {
            "name": "reads past the end of a piece (IndexError)",
            "code": '''
def count_pairs(pieces):
    counts = {}
    for piece in pieces:
        for i in range(len(piece)):
            if len(piece) > 1:
                pair = (piece[i], piece[i + 1])
                counts[pair] = counts.get(pair, 0) + 1
    return counts
''',
            "says": "reads past the end of a piece",
        },
        {
            "name": "returns Counter.most_common() (a list)",
            "code": '''
from collections import Counter
def count_pairs(pieces):
    return Counter(pair for piece in pieces for pair in zip(piece, piece[1:])).most_common()
''',
            "says": "should return a dict",
        },
    ],
    "merge": [
        {
            "name": "merges overlapping pairs (steps one id after a merge)",
            "code": '''
def merge(ids, pair, new_id):
    merged = []
    i = 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            merged.append(new_id)
        else:
            merged.append(ids[i])
        i += 1
    return merged
''',
            "says": "merged overlapping pairs",
        },
        {
            "name": "stops one id early and drops the last id",
            "code": '''
def merge(ids, pair, new_id):
    merged = []
    i = 0
    while i < len(ids) - 1:
        if (ids[i], ids[i + 1]) == pair:
            merged.append(new_id)
            i += 2
        else:
            merged.append(ids[i])
            i += 1
    return merged
''',
            "says": "the last id is missing",
        },
        {
            "name": "changes the caller's list in place",
            "code": '''
def merge(ids, pair, new_id):
    i = 0
    while i < len(ids) - 1:
        if (ids[i], ids[i + 1]) == pair:
            ids[i:i + 2] = [new_id]
        i += 1
    return ids
''',
            "says": "in place",
        },
        {
            "name": "scans from the right",
            "code": '''
def merge(ids, pair, new_id):
    merged = []
    i = len(ids) - 1
    while i >= 0:
        if i >= 1 and (ids[i - 1], ids[i]) == pair:
            merged.append(new_id)
            i -= 2
        else:
            merged.append(ids[i])
            i -= 1
    return merged[::-1]
''',
            "says": "scan from the left",
        },
        {
            "name": "joins the ids into a string and uses str.replace",
            "code": '''
def merge(ids, pair, new_id):
    text = " ".join(str(i) for i in ids)
    text = text.replace(f"{pair[0]} {pair[1]}", str(new_id))
    return [int(part) for part in text.split()]
''',
            "says": "ids are numbers, not text",
        },
        {
            "name": "checks only the left id of the pair",
            "code": '''
def merge(ids, pair, new_id):
    merged = []
    i = 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0]:
            merged.append(new_id)
            i += 2
        else:
            merged.append(ids[i])
            i += 1
    return merged
''',
            "says": "both ids must match",
        },
        {
            "name": "reads ids[i + 1] at the last id (IndexError)",
            "code": '''
def merge(ids, pair, new_id):
    merged = []
    i = 0
    while i < len(ids):
        if ids[i] == pair[0] and ids[i + 1] == pair[1]:
            merged.append(new_id)
            i += 2
        else:
            merged.append(ids[i])
            i += 1
    return merged
''',
            "says": "the last id has no right neighbour",
        },
    ],
    "train_bpe": [
        {
            "name": "breaks ties by text order (max with counts.get)",
            "code": '''
def train_bpe(pieces, n_merges):
    sequences = [list(piece.encode("utf-8")) for piece in pieces]
    merges = []
    for k in range(n_merges):
        counts = count_pairs(sequences)
        if not counts:
            break
        best = max(counts, key=counts.get)
        sequences = [merge_pair(sequence, best, 256 + k) for sequence in sequences]
        merges.append(best)
    return merges
''',
            "says": "the pair seen first",
        },
        {
            "name": "breaks ties by the last pair seen (sorted by count)",
            "code": '''
def train_bpe(pieces, n_merges):
    sequences = [list(piece.encode("utf-8")) for piece in pieces]
    merges = []
    for k in range(n_merges):
        counts = count_pairs(sequences)
        if not counts:
            break
        best = sorted(counts.items(), key=lambda item: item[1])[-1][0]
        sequences = [merge_pair(sequence, best, 256 + k) for sequence in sequences]
        merges.append(best)
    return merges
''',
            "says": "tie",
        },
        {
            "name": "forgets to apply the merge (learns the same pair again and again)",
            "code": '''
def train_bpe(pieces, n_merges):
    sequences = [list(piece.encode("utf-8")) for piece in pieces]
    merges = []
    for k in range(n_merges):
        counts = count_pairs(sequences)
        if not counts:
            break
        merges.append(min(counts, key=lambda pair: (-counts[pair], pair)))
    return merges
''',
            "says": "the same pair twice",
        },
        {
            "name": "joins all pieces into one sequence (merges cross pre-token boundaries)",
            "code": '''
def train_bpe(pieces, n_merges):
    ids = [byte for piece in pieces for byte in piece.encode("utf-8")]
    merges = []
    for k in range(n_merges):
        counts = count_pairs([ids])
        if not counts:
            break
        best = min(counts, key=lambda pair: (-counts[pair], pair))
        ids = merge_pair(ids, best, 256 + k)
        merges.append(best)
    return merges
''',
            "says": "crossed a pre-token boundary",
        },
        {
            "name": "starts from code points (ord) instead of UTF-8 bytes",
            "code": '''
def train_bpe(pieces, n_merges):
    sequences = [[ord(char) for char in piece] for piece in pieces]
    merges = []
    for k in range(n_merges):
        counts = count_pairs(sequences)
        if not counts:
            break
        best = min(counts, key=lambda pair: (-counts[pair], pair))
        sequences = [merge_pair(sequence, best, 256 + k) for sequence in sequences]
        merges.append(best)
    return merges
''',
            "says": "code points",
        },
        {
            "name": "does not stop when no pair is left",
            "code": '''
def train_bpe(pieces, n_merges):
    sequences = [list(piece.encode("utf-8")) for piece in pieces]
    merges = []
    for k in range(n_merges):
        counts = count_pairs(sequences)
        best = min(counts, key=lambda pair: (-counts[pair], pair))
        sequences = [merge_pair(sequence, best, 256 + k) for sequence in sequences]
        merges.append(best)
    return merges
''',
            "says": "no pair is left",
        },
        {
            "name": "gives every merge the id 256",
            "code": '''
def train_bpe(pieces, n_merges):
    sequences = [list(piece.encode("utf-8")) for piece in pieces]
    merges = []
    for k in range(n_merges):
        counts = count_pairs(sequences)
        if not counts:
            break
        best = min(counts, key=lambda pair: (-counts[pair], pair))
        sequences = [merge_pair(sequence, best, 256) for sequence in sequences]
        merges.append(best)
    return merges
''',
            "says": "creates the NEW id 256 + k",
        },
        {
            "name": "numbers the new ids from 257 (off by one)",
            "code": '''
def train_bpe(pieces, n_merges):
    sequences = [list(piece.encode("utf-8")) for piece in pieces]
    merges = []
    for k in range(n_merges):
        counts = count_pairs(sequences)
        if not counts:
            break
        best = min(counts, key=lambda pair: (-counts[pair], pair))
        sequences = [merge_pair(sequence, best, 257 + k) for sequence in sequences]
        merges.append(best)
    return merges
''',
            "says": "Merge k (counting from 0) creates the id 256 + k",
        },
        {
            "name": "merges the least frequent pair (forgets the minus)",
            "code": '''
def train_bpe(pieces, n_merges):
    sequences = [list(piece.encode("utf-8")) for piece in pieces]
    merges = []
    for k in range(n_merges):
        counts = count_pairs(sequences)
        if not counts:
            break
        best = min(counts, key=lambda pair: (counts[pair], pair))
        sequences = [merge_pair(sequence, best, 256 + k) for sequence in sequences]
        merges.append(best)
    return merges
''',
            "says": "LEAST frequent",
        },
        {
            "name": "sorts by the pair before the count",
            "code": '''
def train_bpe(pieces, n_merges):
    sequences = [list(piece.encode("utf-8")) for piece in pieces]
    merges = []
    for k in range(n_merges):
        counts = count_pairs(sequences)
        if not counts:
            break
        best = min(counts, key=lambda pair: (pair, -counts[pair]))
        sequences = [merge_pair(sequence, best, 256 + k) for sequence in sequences]
        merges.append(best)
    return merges
''',
            "says": "the count comes first",
        },
    ],
    "encode": [
        {
            "name": "ignores special tokens (encodes them as ordinary text)",
            "code": _tokenizer("        if allowed_special and self.special_tokens:", "        if False:"),
            "says": "special token",
        },
        {
            "name": "skips pre-tokenization (merges cross piece boundaries)",
            "code": _tokenizer("            for piece in pretokenize(part):", "            for piece in [part]:"),
            "says": "pre-token boundary",
        },
        {
            "name": "merges the latest-learned pair first",
            "code": _tokenizer('pair = min(zip(piece_ids, piece_ids[1:]), key=lambda p: self.rank.get(p, float("inf")))',
                               'pair = max(zip(piece_ids, piece_ids[1:]), key=lambda p: self.rank.get(p, -1))'),
            "says": "EARLIEST",
        },
        {
            "name": "splits at special tokens without a capturing group (they vanish)",
            "code": _tokenizer('parts = re.split("(" + "|".join(map(re.escape, longest_first)) + ")", text)',
                               'parts = re.split("|".join(map(re.escape, longest_first)), text)')
                    .replace("            if position % 2 == 1:", "            if False:"),
            "says": "special token",
        },
        {
            "name": "does not try the longer special tokens first",
            "code": _tokenizer("longest_first = sorted(self.special_tokens, key=len, reverse=True)",
                               "longest_first = list(self.special_tokens)"),
            "says": "longer special tokens first",
        },
        {
            "name": "joins the special tokens into a pattern without re.escape",
            "code": _tokenizer('parts = re.split("(" + "|".join(map(re.escape, longest_first)) + ")", text)',
                               'parts = re.split("(" + "|".join(longest_first) + ")", text)'),
            "says": "re.escape",
        },
        {
            "name": "ignores allowed_special (always cuts out special tokens)",
            "code": _tokenizer("        if allowed_special and self.special_tokens:", "        if self.special_tokens:"),
            "says": "allowed_special=False",
        },
        {
            "name": "pre-tokenizes with GPT-2's pattern",
            "code": _tokenizer("            for piece in pretokenize(part):", '            for piece in pretokenize(part, "gpt2"):'),
            "says": "GPT-4's pattern",
        },
        {
            "name": "starts from code points instead of UTF-8 bytes",
            "code": _tokenizer('piece_ids = list(piece.encode("utf-8"))', "piece_ids = [ord(char) for char in piece]"),
            "says": "UTF-8 bytes",
        },
        {
            "name": "leaves the special tokens out of the vocabulary",
            "code": _tokenizer('        for special, special_id in self.special_tokens.items():\n            self.vocab[special_id] = special.encode("utf-8")\n', ""),
            "says": "also map each special token",
        },
        {
            "name": "builds a merged token from the pair's ids as bytes",
            "code": _tokenizer("self.vocab[256 + k] = self.vocab[left] + self.vocab[right]",
                               "self.vocab[256 + k] = bytes([left % 256, right % 256])"),
            "says": "stands for vocab[",
        },
    ],
    "decode": [
        {
            "name": "decodes token by token (breaks characters split across tokens)",
            "code": '''
def decode(ids, vocab):
    return "".join(vocab[i].decode("utf-8", errors="replace") for i in ids)
''',
            "says": "decoded each token on its own",
        },
        {
            "name": "decodes token by token, strictly (raises on a split character)",
            "code": '''
def decode(ids, vocab):
    return "".join(vocab[i].decode("utf-8") for i in ids)
''',
            "says": "Do not decode token by token",
        },
        {
            "name": "decodes the joined bytes strictly (crashes on ids that end inside a character)",
            "code": '''
def decode(ids, vocab):
    return b"".join(vocab[i] for i in ids).decode("utf-8")
''',
            "says": "errors='replace'",
        },
        {
            "name": "treats ids as code points (chr)",
            "code": '''
def decode(ids, vocab):
    return "".join(chr(i) for i in ids)
''',
            "says": "ids are not code points",
        },
        {
            "name": "drops broken characters with errors='ignore'",
            "code": '''
def decode(ids, vocab):
    return b"".join(vocab[i] for i in ids).decode("utf-8", errors="ignore")
''',
            "says": "errors='ignore' drops",
        },
        {
            "name": "decodes the bytes as Latin-1",
            "code": '''
def decode(ids, vocab):
    return b"".join(vocab[i] for i in ids).decode("latin-1")
''',
            "says": "the bytes are UTF-8",
        },
        {
            "name": "returns the joined bytes, not text",
            "code": '''
def decode(ids, vocab):
    return b"".join(vocab[i] for i in ids)
''',
            "says": "should return a str",
        },
        {
            "name": "treats the ids as bytes (bytes(ids))",
            "code": '''
def decode(ids, vocab):
    return bytes(ids).decode("utf-8", errors="replace")
''',
            "says": "Ids are not bytes",
        },
    ],
}

ALTERNATIVES = {
    "count_pairs": [
        {
            "name": "Counter.update over zip",
            "code": '''
from collections import Counter
def count_pairs(pieces):
    c = Counter()
    for p in pieces:
        c.update(zip(p, p[1:]))
    return c
''',
        },
        {
            "name": "defaultdict with indices",
            "code": '''
from collections import defaultdict
def count_pairs(pieces):
    d = defaultdict(int)
    for p in pieces:
        for i in range(len(p) - 1):
            d[p[i], p[i + 1]] += 1
    return d
''',
        },
    ],
    "merge": [
        {
            "name": "a skip flag, returns a tuple",
            "code": '''
def merge(ids, pair, new_id):
    out, skip = [], False
    for i, x in enumerate(ids):
        if skip:
            skip = False
            continue
        if i + 1 < len(ids) and (x, ids[i + 1]) == tuple(pair):
            out.append(new_id); skip = True
        else:
            out.append(x)
    return tuple(out)
''',
        },
    ],
    "train_bpe": [
        {
            "name": "counts inline, sorted items, pairs as lists, uses merge",
            "code": '''
def train_bpe(pieces, n_merges):
    seqs = [list(p.encode()) for p in pieces]
    merges = []
    while len(merges) < n_merges:
        counts = {}
        for s in seqs:
            for pr in zip(s, s[1:]):
                counts[pr] = counts.get(pr, 0) + 1
        if not counts:
            break
        best = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        seqs = [merge(s, best, 256 + len(merges)) for s in seqs]
        merges.append(list(best))
    return merges
''',
        },
        {
            "name": "correct, after wrong count_pairs and merge of exercises 1 and 2 (the test uses the references)",
            "code": '''
def count_pairs(pieces):
    return {}
def merge(ids, pair, new_id):
    return ids
def train_bpe(pieces, n_merges):
    sequences = [list(piece.encode("utf-8")) for piece in pieces]
    merges = []
    for k in range(n_merges):
        counts = count_pairs(sequences)
        if not counts:
            break
        best = min(counts, key=lambda pair: (-counts[pair], pair))
        sequences = [merge(sequence, best, 256 + k) for sequence in sequences]
        merges.append(best)
    return merges
''',
        },
    ],
    "encode": [
        {
            "name": "replays every merge in order (the same result as merging by rank)",
            "code": '''
class BytePairTokenizer:
    def __init__(self, merges, special_tokens):
        self.merges = [tuple(m) for m in merges]
        self.special_tokens = special_tokens
        self.vocab = {i: bytes([i]) for i in range(256)}
        for k, (l, r) in enumerate(self.merges):
            self.vocab[256 + k] = self.vocab[l] + self.vocab[r]
        self.vocab.update({i: s.encode() for s, i in special_tokens.items()})
    def encode(self, text, allowed_special=True):
        if allowed_special and self.special_tokens:
            pat = "(" + "|".join(re.escape(s) for s in sorted(self.special_tokens, key=lambda s: -len(s))) + ")"
            parts = re.split(pat, text)
        else:
            parts = [text]
        out = []
        for i, part in enumerate(parts):
            if i % 2:
                out.append(self.special_tokens[part]); continue
            for piece in pretokenize(part):
                ids = list(piece.encode("utf-8"))
                for k, pair in enumerate(self.merges):     # replaying every merge in order is the same thing
                    ids = merge(ids, pair, 256 + k)
                out += ids
        return out
''',
        },
        {
            "name": "correct, after a wrong merge of exercise 2 (the test uses the reference)",
            "code": '''
def merge(ids, pair, new_id):
    return ids
class BytePairTokenizer:
    def __init__(self, merges, special_tokens):
        self.merges = [tuple(m) for m in merges]
        self.special_tokens = special_tokens
        self.vocab = {i: bytes([i]) for i in range(256)}
        for k, (l, r) in enumerate(self.merges):
            self.vocab[256 + k] = self.vocab[l] + self.vocab[r]
        self.vocab.update({i: s.encode() for s, i in special_tokens.items()})
    def encode(self, text, allowed_special=True):
        if allowed_special and self.special_tokens:
            pat = "(" + "|".join(re.escape(s) for s in sorted(self.special_tokens, key=lambda s: -len(s))) + ")"
            parts = re.split(pat, text)
        else:
            parts = [text]
        out = []
        for i, part in enumerate(parts):
            if i % 2:
                out.append(self.special_tokens[part]); continue
            for piece in pretokenize(part):
                ids = list(piece.encode("utf-8"))
                for k, pair in enumerate(self.merges):
                    ids = merge(ids, pair, 256 + k)
                out += ids
        return out
''',
        },
    ],
    "decode": [
        {
            "name": "bytes().join and the default codec",
            "code": '''
def decode(ids, vocab):
    return bytes().join([vocab[int(i)] for i in ids]).decode(errors="replace")
''',
        },
    ],
}
