"""Recorded common mistakes for lesson 01: each must lose its points, with a message that names it.

MISTAKES maps an answer cell's grade_id to plausible wrong answers a learner writes:
``code`` replaces the whole answer cell, and the failure message of the test cell(s) that
follow must contain ``says`` (case-insensitive). The first entry of each list is also used
when a whole mistaken notebook is autograded.
"""

MISTAKES = {
    "logistic_step": [
        {
            "name": "steps uphill (adds the gradient)",
            "code": '''
def logistic_regression_step(w, b, X, y, lr):
    p = torch.sigmoid(X @ w + b)
    error = p - y
    grad_w = X.T @ error / len(y)
    grad_b = error.mean()
    return w + lr * grad_w, b + lr * grad_b
''',
            "says": "stepped uphill",
        },
        {
            "name": "sums instead of averaging (missing 1/N)",
            "code": '''
def logistic_regression_step(w, b, X, y, lr):
    p = torch.sigmoid(X @ w + b)
    grad_w = X.T @ (p - y)
    grad_b = (p - y).sum()
    return w - lr * grad_w, b - lr * grad_b
''',
            "says": "N times too large",
        },
        {
            "name": "forgets the sigmoid",
            "code": '''
def logistic_regression_step(w, b, X, y, lr):
    p = X @ w + b
    grad_w = X.T @ (p - y) / len(y)
    grad_b = (p - y).mean()
    return w - lr * grad_w, b - lr * grad_b
''',
            "says": "sigmoid is missing",
        },
        {
            "name": "updates the caller's tensors in place",
            "code": '''
def logistic_regression_step(w, b, X, y, lr):
    p = torch.sigmoid(X @ w + b)
    w -= lr * X.T @ (p - y) / len(y)
    b -= lr * (p - y).mean()
    return w, b
''',
            "says": "in place",
        },
    ],
    "softmax": [
        {
            "name": "no max shift (overflows at 1000)",
            "code": '''
def softmax(logits):
    exps = torch.exp(logits)
    return exps / exps.sum(dim=-1, keepdim=True)
''',
            "says": "subtract the max before exponentiating",
        },
        {
            "name": "normalises over the wrong dimension",
            "code": '''
def softmax(logits):
    exps = torch.exp(logits - logits.max())
    return exps / exps.sum(dim=0, keepdim=True)
''',
            "says": "dim=0",
        },
        {
            "name": "subtracts the max without keepdim",
            "code": '''
def softmax(logits):
    exps = torch.exp(logits - logits.max(dim=-1).values)
    return exps / exps.sum(dim=-1, keepdim=True)
''',
            "says": "keep the max's dimension",
        },
        {
            "name": "subtracts the global max instead of each row's max",
            "code": '''
def softmax(logits):
    exps = torch.exp(logits - logits.max())
    return exps / exps.sum(dim=-1, keepdim=True)
''',
            "says": "each row's own max",
        },
    ],
    "cross_entropy": [
        {
            "name": "averages over all classes instead of picking the target",
            "code": '''
def cross_entropy(logits, targets):
    log_probs = torch.log_softmax(logits, dim=-1)
    return -log_probs.mean()
''',
            "says": "over ALL classes",
        },
        {
            "name": "forgets the log",
            "code": '''
def cross_entropy(logits, targets):
    probs = torch.softmax(logits, dim=-1)
    return -probs[torch.arange(len(targets)), targets].mean()
''',
            "says": "the log is missing",
        },
        {
            "name": "indexes with [:, targets] (an N x N table)",
            "code": '''
def cross_entropy(logits, targets):
    log_probs = torch.log_softmax(logits, dim=-1)
    return -log_probs[:, targets].mean()
''',
            "says": "(N, N) table",
        },
        {
            "name": "log of softmax (log 0 = -inf for extreme scores)",
            "code": '''
def cross_entropy(logits, targets):
    shifted = logits - logits.max(dim=-1, keepdim=True).values
    probs = torch.exp(shifted) / torch.exp(shifted).sum(dim=-1, keepdim=True)
    return -torch.log(probs[torch.arange(len(targets)), targets]).mean()
''',
            "says": "compute the log-softmax directly",
        },
    ],
    "bigram_counts": [
        {
            "name": "counts pairs across sentence ends (one long stream)",
            "code": '''
def count_bigrams(sentences, vocab):
    index = {token: i for i, token in enumerate(vocab)}
    counts = torch.zeros(len(vocab), len(vocab), dtype=torch.int64)
    tokens = [BOUNDARY] + [word for sentence in sentences for word in sentence] + [BOUNDARY]
    for previous, following in zip(tokens, tokens[1:]):
        counts[index[previous], index[following]] += 1
    return counts
''',
            "says": "across sentence ends",
        },
        {
            "name": "off by one: the loop misses each sentence's last pair",
            "code": '''
def count_bigrams(sentences, vocab):
    index = {token: i for i, token in enumerate(vocab)}
    counts = torch.zeros(len(vocab), len(vocab), dtype=torch.int64)
    for sentence in sentences:
        padded = [BOUNDARY] + sentence + [BOUNDARY]
        for t in range(len(padded) - 2):
            counts[index[padded[t]], index[padded[t + 1]]] += 1
    return counts
''',
            "says": "last pair",
        },
        {
            "name": "no boundary tokens",
            "code": '''
def count_bigrams(sentences, vocab):
    index = {token: i for i, token in enumerate(vocab)}
    counts = torch.zeros(len(vocab), len(vocab), dtype=torch.int64)
    for sentence in sentences:
        for previous, following in zip(sentence, sentence[1:]):
            counts[index[previous], index[following]] += 1
    return counts
''',
            "says": "boundary token is missing",
        },
        {
            "name": "rows and columns swapped",
            "code": '''
def count_bigrams(sentences, vocab):
    index = {token: i for i, token in enumerate(vocab)}
    counts = torch.zeros(len(vocab), len(vocab), dtype=torch.int64)
    for sentence in sentences:
        padded = [BOUNDARY] + sentence + [BOUNDARY]
        for previous, following in zip(padded, padded[1:]):
            counts[index[following], index[previous]] += 1
    return counts
''',
            "says": "swapped",
        },
    ],
    "bigram_probs": [
        {
            "name": "adds k to the numerator only",
            "code": '''
def smoothed_bigram_probs(counts, k):
    counts = counts.double()
    return (counts + k) / counts.sum(dim=-1, keepdim=True)
''',
            "says": "rows do not sum to 1",
        },
        {
            "name": "adds k instead of k * V to the denominator",
            "code": '''
def smoothed_bigram_probs(counts, k):
    counts = counts.double()
    return (counts + k) / (counts.sum(dim=-1, keepdim=True) + k)
''',
            "says": "not k:",
        },
        {
            "name": "normalises the columns",
            "code": '''
def smoothed_bigram_probs(counts, k):
    counts = counts.double()
    V = counts.shape[0]
    return (counts + k) / (counts.sum(dim=0, keepdim=True) + k * V)
''',
            "says": "normalise each ROW",
        },
    ],
    "perplexity": [
        {
            "name": "exp of the sum instead of the mean",
            "code": '''
def perplexity(log_probs):
    return torch.exp(-log_probs.sum())
''',
            "says": "not of the sum",
        },
        {
            "name": "forgets the minus sign",
            "code": '''
def perplexity(log_probs):
    return torch.exp(log_probs.mean())
''',
            "says": "minus sign is missing",
        },
        {
            "name": "averages the probabilities",
            "code": '''
def perplexity(log_probs):
    return 1 / log_probs.exp().mean()
''',
            "says": "average the LOG-probabilities",
        },
        {
            "name": "base 2 with natural logs",
            "code": '''
def perplexity(log_probs):
    return 2 ** (-log_probs.mean())
''',
            "says": "2 ** x only pairs with log base 2",
        },
    ],
}
