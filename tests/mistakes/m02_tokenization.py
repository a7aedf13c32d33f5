"""Recorded common mistakes for lesson 02: each must lose its points, with a message that names it.

MISTAKES maps an answer cell's grade_id to plausible wrong answers a learner writes:
``code`` replaces the whole answer cell, and the failure message of the test cell(s) that
follow must contain ``says`` (case-insensitive). The first entry of each list is also used
when a whole mistaken notebook is autograded.
"""

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
    ],
    "encode": [
        {
            "name": "ignores special tokens (encodes them as ordinary text)",
            "code": '''
def encode(text, merges, special_tokens):
    rank = {pair: k for k, pair in enumerate(merges)}
    ids = []
    for piece in pretokenize(text):
        piece_ids = list(piece.encode("utf-8"))
        while len(piece_ids) >= 2:
            pair = min(zip(piece_ids, piece_ids[1:]), key=lambda p: rank.get(p, float("inf")))
            if pair not in rank:
                break
            piece_ids = merge_pair(piece_ids, pair, 256 + rank[pair])
        ids.extend(piece_ids)
    return ids
''',
            "says": "special token",
        },
        {
            "name": "skips pre-tokenization (merges cross piece boundaries)",
            "code": '''
def encode(text, merges, special_tokens):
    rank = {pair: k for k, pair in enumerate(merges)}
    parts = re.split("(" + "|".join(map(re.escape, special_tokens)) + ")", text) if special_tokens else [text]
    ids = []
    for position, part in enumerate(parts):
        if position % 2 == 1:
            ids.append(special_tokens[part])
            continue
        part_ids = list(part.encode("utf-8"))
        while len(part_ids) >= 2:
            pair = min(zip(part_ids, part_ids[1:]), key=lambda p: rank.get(p, float("inf")))
            if pair not in rank:
                break
            part_ids = merge_pair(part_ids, pair, 256 + rank[pair])
        ids.extend(part_ids)
    return ids
''',
            "says": "pre-token boundary",
        },
        {
            "name": "merges the latest-learned pair first",
            "code": '''
def encode(text, merges, special_tokens):
    rank = {pair: k for k, pair in enumerate(merges)}
    parts = re.split("(" + "|".join(map(re.escape, special_tokens)) + ")", text) if special_tokens else [text]
    ids = []
    for position, part in enumerate(parts):
        if position % 2 == 1:
            ids.append(special_tokens[part])
            continue
        for piece in pretokenize(part):
            piece_ids = list(piece.encode("utf-8"))
            while len(piece_ids) >= 2:
                pair = max(zip(piece_ids, piece_ids[1:]), key=lambda p: rank.get(p, -1))
                if pair not in rank:
                    break
                piece_ids = merge_pair(piece_ids, pair, 256 + rank[pair])
            ids.extend(piece_ids)
    return ids
''',
            "says": "EARLIEST",
        },
        {
            "name": "uses the special-token pattern without a capturing group (special tokens vanish)",
            "code": '''
def encode(text, merges, special_tokens):
    rank = {pair: k for k, pair in enumerate(merges)}
    parts = re.split("|".join(map(re.escape, special_tokens)), text) if special_tokens else [text]
    ids = []
    for part in parts:
        for piece in pretokenize(part):
            piece_ids = list(piece.encode("utf-8"))
            while len(piece_ids) >= 2:
                pair = min(zip(piece_ids, piece_ids[1:]), key=lambda p: rank.get(p, float("inf")))
                if pair not in rank:
                    break
                piece_ids = merge_pair(piece_ids, pair, 256 + rank[pair])
            ids.extend(piece_ids)
    return ids
''',
            "says": "special token",
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
    ],
}
