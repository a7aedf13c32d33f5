"""Recorded common mistakes for lesson 01: each must lose its points, with a message that names it.

MISTAKES maps an answer cell's grade_id to plausible wrong answers a learner writes:
``code`` replaces the whole answer cell, and the failure message of the test cell(s) that
follow must contain ``says`` (case-insensitive). The first entry of each list is also used
when a whole mistaken notebook is autograded.

ALTERNATIVES holds correct answers written differently from the solution; each must pass.
"""

_NGRAM_LM = '''
class NgramLM:
    def __init__(self, n, k):
        self.n = n
        self.k = k

    def fit(self, sentences):
        self.vocab = ngram.build_vocab(sentences)
        self.known = set(self.vocab)
        self.counts = {}
        for sentence in sentences:
            padded = [BOUNDARY] * (self.n - 1) + list(sentence) + [BOUNDARY]
            for t in range(self.n - 1, len(padded)):
                context = tuple(padded[t - self.n + 1 : t])
                followers = self.counts.setdefault(context, {})
                followers[padded[t]] = followers.get(padded[t], 0) + 1
        return self

    def prob(self, token, context):
        known = [word if word in self.known else ngram.UNKNOWN for word in context]
        recent = known[max(0, len(known) - (self.n - 1)):] if self.n > 1 else []
        key = tuple([BOUNDARY] * (self.n - 1 - len(recent)) + recent)
        token = token if token in self.known else ngram.UNKNOWN
        followers = self.counts.get(key, {})
        total = sum(followers.values())
        V = len(self.vocab)
        if total + self.k * V == 0:
            return 1.0 / V
        return (followers.get(token, 0) + self.k) / (total + self.k * V)

    def sample(self, generator, max_tokens=50):
        generated = []
        for _ in range(max_tokens):
            probs = torch.tensor([self.prob(token, generated) for token in self.vocab], dtype=torch.float64)
            token = self.vocab[torch.multinomial(probs, 1, generator=generator).item()]
            if token == BOUNDARY:
                break
            generated.append(token)
        return generated

    def perplexity(self, sentences):
        log_probs = []
        for sentence in sentences:
            padded = [BOUNDARY] * (self.n - 1) + list(sentence) + [BOUNDARY]
            for t in range(self.n - 1, len(padded)):
                log_probs.append(math.log(self.prob(padded[t], padded[:t])))
        return math.exp(-sum(log_probs) / len(log_probs))
'''


def _ngram_lm(old: str, new: str, count: int = 1) -> str:
    """The n-gram class with ``old`` replaced by ``new`` (which must occur ``count`` times)."""
    assert _NGRAM_LM.count(old) == count, old
    return _NGRAM_LM.replace(old, new)


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
        {
            "name": "forgets to update the bias",
            "code": '''
def logistic_regression_step(w, b, X, y, lr):
    p = torch.sigmoid(X @ w + b)
    grad_w = X.T @ (p - y) / len(y)
    return w - lr * grad_w, b
''',
            "says": "the bias was not updated",
        },
        {
            "name": "uses the squared-error gradient (an extra p * (1 - p))",
            "code": '''
def logistic_regression_step(w, b, X, y, lr):
    p = torch.sigmoid(X @ w + b)
    error = (p - y) * p * (1 - p)
    return w - lr * X.T @ error / len(y), b - lr * error.mean()
''',
            "says": "gradient of the squared error",
        },
        {
            "name": "averages X * (p - y) over all entries (one step for every weight)",
            "code": '''
def logistic_regression_step(w, b, X, y, lr):
    p = torch.sigmoid(X @ w + b)
    grad_w = (X * (p - y)[:, None]).mean()
    grad_b = (p - y).mean()
    return w - lr * grad_w, b - lr * grad_b
''',
            "says": "every weight moved by the same amount",
        },
        {
            "name": "forgets the learning rate in the bias step",
            "code": '''
def logistic_regression_step(w, b, X, y, lr):
    p = torch.sigmoid(X @ w + b)
    return w - lr * X.T @ (p - y) / len(y), b - (p - y).mean()
''',
            "says": "learning rate is missing from the bias step",
        },
        {
            "name": "multiplies by X instead of X.T (a shape error)",
            "code": '''
def logistic_regression_step(w, b, X, y, lr):
    p = torch.sigmoid(X @ w + b)
    grad_w = X @ (p - y) / len(y)
    return w - lr * grad_w, b - lr * (p - y).mean()
''',
            "says": "X.T @ (p - y) / N",
        },
    ],
    "softmax": [
        {
            "name": "imports the library's softmax (the answer itself)",
            "code": '''
from course_lib.functional import softmax
''',
            "says": "write it yourself",
        },
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
        {
            "name": "subtracts each row's minimum instead of its max",
            "code": '''
def softmax(logits):
    exps = torch.exp(logits - logits.min(dim=-1, keepdim=True).values)
    return exps / exps.sum(dim=-1, keepdim=True)
''',
            "says": "subtracting the row's minimum",
        },
        {
            "name": "subtracts each row's mean instead of its max",
            "code": '''
def softmax(logits):
    exps = torch.exp(logits - logits.mean(dim=-1, keepdim=True))
    return exps / exps.sum(dim=-1, keepdim=True)
''',
            "says": "subtracting the row's mean",
        },
        {
            "name": "sums without keepdim",
            "code": '''
def softmax(logits):
    exps = torch.exp(logits - logits.max(dim=-1, keepdim=True).values)
    return exps / exps.sum(dim=-1)
''',
            "says": "keep the summed dimension",
        },
        {
            "name": "divides by the sum of the whole tensor",
            "code": '''
def softmax(logits):
    exps = torch.exp(logits - logits.max(dim=-1, keepdim=True).values)
    return exps / exps.sum()
''',
            "says": "sum of the whole tensor",
        },
        {
            "name": "computes in float64 and returns float64 for float32 input",
            "code": '''
def softmax(logits):
    logits = logits.double()
    exps = torch.exp(logits - logits.max(dim=-1, keepdim=True).values)
    return exps / exps.sum(dim=-1, keepdim=True)
''',
            "says": "keep the input's dtype",
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
        {
            "name": "sums over the examples instead of averaging",
            "code": '''
def cross_entropy(logits, targets):
    log_probs = torch.log_softmax(logits, dim=-1)
    return -log_probs[torch.arange(len(targets)), targets].sum()
''',
            "says": "the mean over the N examples",
        },
        {
            "name": "wrong sign",
            "code": '''
def cross_entropy(logits, targets):
    log_probs = torch.log_softmax(logits, dim=-1)
    return log_probs[torch.arange(len(targets)), targets].mean()
''',
            "says": "the sign is wrong",
        },
        {
            "name": "log-softmax without subtracting the max (overflows)",
            "code": '''
def cross_entropy(logits, targets):
    log_probs = logits - torch.log(torch.exp(logits).sum(dim=-1, keepdim=True))
    return -log_probs[torch.arange(len(targets)), targets].mean()
''',
            "says": "subtract each row's max before exponentiating",
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
        {
            "name": "the loop starts one pair late (misses <s> followed by the first word)",
            "code": '''
def count_bigrams(sentences, vocab):
    index = {token: i for i, token in enumerate(vocab)}
    counts = torch.zeros(len(vocab), len(vocab), dtype=torch.int64)
    for sentence in sentences:
        padded = [BOUNDARY] + sentence + [BOUNDARY]
        for t in range(1, len(padded) - 1):
            counts[index[padded[t]], index[padded[t + 1]]] += 1
    return counts
''',
            "says": "first pair (<s> followed by its first word) is missing",
        },
        {
            "name": "joins the padded sentences into one stream (<s> <s> pairs)",
            "code": '''
def count_bigrams(sentences, vocab):
    index = {token: i for i, token in enumerate(vocab)}
    counts = torch.zeros(len(vocab), len(vocab), dtype=torch.int64)
    tokens = [token for sentence in sentences for token in [BOUNDARY] + sentence + [BOUNDARY]]
    for previous, following in zip(tokens, tokens[1:]):
        counts[index[previous], index[following]] += 1
    return counts
''',
            "says": "<s> was counted as followed by <s>",
        },
        {
            "name": "float counts (torch.zeros without dtype)",
            "code": '''
def count_bigrams(sentences, vocab):
    index = {token: i for i, token in enumerate(vocab)}
    counts = torch.zeros(len(vocab), len(vocab))
    for sentence in sentences:
        padded = [BOUNDARY] + sentence + [BOUNDARY]
        for previous, following in zip(padded, padded[1:]):
            counts[index[previous], index[following]] += 1
    return counts
''',
            "says": "should have dtype torch.int64",
        },
        {
            "name": "sets the entry to 1 instead of adding 1",
            "code": '''
def count_bigrams(sentences, vocab):
    index = {token: i for i, token in enumerate(vocab)}
    counts = torch.zeros(len(vocab), len(vocab), dtype=torch.int64)
    for sentence in sentences:
        padded = [BOUNDARY] + sentence + [BOUNDARY]
        for previous, following in zip(padded, padded[1:]):
            counts[index[previous], index[following]] = 1
    return counts
''',
            "says": "do not set the entry to 1",
        },
        {
            "name": "numbers the tokens in sorted order instead of the vocabulary's order",
            "code": '''
def count_bigrams(sentences, vocab):
    index = {token: i for i, token in enumerate(sorted(vocab))}
    counts = torch.zeros(len(vocab), len(vocab), dtype=torch.int64)
    for sentence in sentences:
        padded = [BOUNDARY] + sentence + [BOUNDARY]
        for previous, following in zip(padded, padded[1:]):
            counts[index[previous], index[following]] += 1
    return counts
''',
            "says": "by their position in the vocab you were given",
        },
        {
            "name": "returns the library's counts, found under another name (ngram.bigram_counts)",
            "code": '''
def count_bigrams(sentences, vocab):
    return ngram.bigram_counts(sentences, vocab)
''',
            "says": "calls the library's course_lib.ngram.bigram_counts, which this test computes the expected answer with",
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
        {
            "name": "adds k * V to the total but nothing to the counts",
            "code": '''
def smoothed_bigram_probs(counts, k):
    counts = counts.double()
    V = counts.shape[0]
    return counts / (counts.sum(dim=-1, keepdim=True) + k * V)
''',
            "says": "add k to every count as well",
        },
        {
            "name": "divides by the total of the whole table",
            "code": '''
def smoothed_bigram_probs(counts, k):
    counts = counts.double()
    V = counts.shape[0]
    return (counts + k) / (counts.sum() + k * V * V)
''',
            "says": "total of the whole table",
        },
        {
            "name": "floor division //",
            "code": '''
def smoothed_bigram_probs(counts, k):
    counts = counts.double()
    V = counts.shape[0]
    return (counts + k) // (counts.sum(dim=-1, keepdim=True) + k * V)
''',
            "says": "floor division",
        },
        {
            "name": "softmax of the smoothed counts",
            "code": '''
def smoothed_bigram_probs(counts, k):
    return torch.softmax(counts.double() + k, dim=-1)
''',
            "says": "softmax of the counts is not add-k smoothing",
        },
        {
            "name": "float32 probabilities (.float())",
            "code": '''
def smoothed_bigram_probs(counts, k):
    counts = counts.float()
    V = counts.shape[0]
    return (counts + k) / (counts.sum(dim=-1, keepdim=True) + k * V)
''',
            "says": "should have dtype torch.float64",
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
        {
            "name": "mean of exp(-log p) (the mean of 1/p)",
            "code": '''
def perplexity(log_probs):
    return torch.exp(-log_probs).mean()
''',
            "says": "not the mean of exp",
        },
        {
            "name": "returns the mean negative log-probability (no exp)",
            "code": '''
def perplexity(log_probs):
    return -log_probs.mean()
''',
            "says": "the perplexity is its exponential",
        },
        {
            "name": "base 10 with natural logs",
            "code": '''
def perplexity(log_probs):
    return 10 ** (-log_probs.mean())
''',
            "says": "10 ** x only pairs with log base 10",
        },
    ],
    "ngram_lm": [
        {
            "name": "pads each sentence with one <s> whatever n is",
            "code": _ngram_lm("padded = [BOUNDARY] * (self.n - 1) + list(sentence) + [BOUNDARY]\n            for t in range(self.n - 1, len(padded)):\n                context",
                              "padded = [BOUNDARY] + list(sentence) + [BOUNDARY]\n            for t in range(self.n - 1, len(padded)):\n                context"),
            "says": "pad each sentence with n - 1 = 2 boundary tokens",
        },
        {
            "name": "no closing <s> (the model never learns where sentences stop)",
            "code": _ngram_lm("padded = [BOUNDARY] * (self.n - 1) + list(sentence) + [BOUNDARY]\n            for t in range(self.n - 1, len(padded)):\n                context",
                              "padded = [BOUNDARY] * (self.n - 1) + list(sentence)\n            for t in range(self.n - 1, len(padded)):\n                context"),
            "says": "the closing <s> is missing",
        },
        {
            "name": "V leaves out <s> and <unk>",
            "code": _ngram_lm("V = len(self.vocab)", "V = len(self.vocab) - 2"),
            "says": "V counts every token of the vocabulary",
        },
        {
            "name": "uses the first n - 1 tokens of the context",
            "code": _ngram_lm("recent = known[max(0, len(known) - (self.n - 1)):]", "recent = known[: self.n - 1]"),
            "says": "use the LAST n - 1 tokens",
        },
        {
            "name": "samples greedily (the likeliest token every time)",
            "code": _ngram_lm("torch.multinomial(probs, 1, generator=generator).item()", "probs.argmax().item()"),
            "says": "instead of taking the likeliest one",
        },
        {
            "name": "samples without the generator",
            "code": _ngram_lm("torch.multinomial(probs, 1, generator=generator).item()", "torch.multinomial(probs, 1).item()"),
            "says": "draw with the generator you were given",
        },
        {
            "name": "samples every token from the start-of-sentence context",
            "code": _ngram_lm("self.prob(token, generated) for token", "self.prob(token, []) for token"),
            "says": "the tokens generated so far",
        },
        {
            "name": "keeps the closing <s> in the sample",
            "code": _ngram_lm("            if token == BOUNDARY:\n                break\n            generated.append(token)",
                              "            generated.append(token)\n            if token == BOUNDARY:\n                break"),
            "says": "leave it out",
        },
        {
            "name": "perplexity leaves out each sentence's closing <s>",
            "code": _ngram_lm("for t in range(self.n - 1, len(padded)):\n                log_probs",
                              "for t in range(self.n - 1, len(padded) - 1):\n                log_probs"),
            "says": "count the closing <s> of each sentence too",
        },
        {
            "name": "perplexity averages the perplexities of the sentences",
            "code": _ngram_lm('''        log_probs = []
        for sentence in sentences:
            padded = [BOUNDARY] * (self.n - 1) + list(sentence) + [BOUNDARY]
            for t in range(self.n - 1, len(padded)):
                log_probs.append(math.log(self.prob(padded[t], padded[:t])))
        return math.exp(-sum(log_probs) / len(log_probs))''', '''        values = []
        for sentence in sentences:
            padded = [BOUNDARY] * (self.n - 1) + list(sentence) + [BOUNDARY]
            log_probs = [math.log(self.prob(padded[t], padded[:t])) for t in range(self.n - 1, len(padded))]
            values.append(math.exp(-sum(log_probs) / len(log_probs)))
        return sum(values) / len(values)'''),
            "says": "do not average per-sentence perplexities",
        },
        {
            "name": "wraps the library's NgramModel",
            "code": '''
class NgramLM:
    def __init__(self, n, k):
        self.model = ngram.NgramModel(n, k)

    def fit(self, sentences):
        self.model.fit(sentences)
        return self

    def prob(self, token, context):
        return self.model.prob(token, context)

    def sample(self, generator, max_tokens=50):
        return self.model.sample(generator, max_tokens)

    def perplexity(self, sentences):
        return self.model.perplexity(sentences)
''',
            "says": "write NgramLM yourself",
        },
    ],
}

ALTERNATIVES = {
    "logistic_step": [
        {
            "name": "autograd on torch's loss, returned as a list",
            "code": '''
def logistic_regression_step(w, b, X, y, lr):
    w2, b2 = w.clone().requires_grad_(), b.clone().requires_grad_()
    loss = torch.nn.functional.binary_cross_entropy_with_logits(X @ w2 + b2, y)
    gw, gb = torch.autograd.grad(loss, (w2, b2))
    return [(w - lr * gw).detach(), (b - lr * gb).detach()]
''',
        },
    ],
    "softmax": [
        {
            "name": "exp(x - logsumexp(x)) in float32",
            "code": '''
def softmax(logits):
    return torch.exp(logits - torch.logsumexp(logits, dim=-1, keepdim=True))
''',
        },
        {
            "name": "torch.softmax",
            "code": '''
def softmax(logits):
    return torch.softmax(logits, dim=-1)
''',
        },
        {
            "name": "amax and torch.sum",
            "code": '''
def softmax(logits):
    m = torch.amax(logits, dim=-1, keepdim=True)
    e = (logits - m).exp()
    return e / torch.sum(e, -1, keepdim=True)
''',
        },
    ],
    "cross_entropy": [
        {
            "name": "torch.nn.functional.cross_entropy",
            "code": '''
def cross_entropy(logits, targets):
    return torch.nn.functional.cross_entropy(logits, targets)
''',
        },
        {
            "name": "logsumexp minus gather",
            "code": '''
def cross_entropy(logits, targets):
    lse = torch.logsumexp(logits, dim=-1)
    return (lse - logits.gather(1, targets[:, None]).squeeze(1)).mean()
''',
        },
    ],
    "bigram_counts": [
        {
            "name": "bincount of flattened pair ids",
            "code": '''
def count_bigrams(sentences, vocab):
    index = {t: i for i, t in enumerate(vocab)}
    V = len(vocab)
    flat = []
    for s in sentences:
        ids = [index[t] for t in [BOUNDARY] + list(s) + [BOUNDARY]]
        flat += [a * V + b for a, b in zip(ids, ids[1:])]
    return torch.bincount(torch.tensor(flat, dtype=torch.int64), minlength=V * V).reshape(V, V)
''',
        },
    ],
    "bigram_probs": [
        {
            "name": "add k, then divide by the row sums",
            "code": '''
def smoothed_bigram_probs(counts, k):
    c = counts.double() + k
    return c / c.sum(dim=1, keepdim=True)
''',
        },
    ],
    "perplexity": [
        {
            "name": "math.exp of a float",
            "code": '''
def perplexity(log_probs):
    return math.exp(-log_probs.mean().item())
''',
        },
        {
            "name": "float of a tensor",
            "code": '''
def perplexity(log_probs):
    return float(torch.exp(-torch.mean(log_probs)))
''',
        },
    ],
    "ngram_lm": [
        {
            "name": "whole n-gram tuples in one Counter, contexts taken from a padded history",
            "code": '''
from collections import Counter
class NgramLM:
    def __init__(self, n, k):
        self.n, self.k = n, k

    def fit(self, sentences):
        self.vocab = ngram.build_vocab(sentences)
        self.grams, self.contexts = Counter(), Counter()
        for sentence in sentences:
            padded = (BOUNDARY,) * (self.n - 1) + tuple(sentence) + (BOUNDARY,)
            for end in range(self.n, len(padded) + 1):
                self.grams[padded[end - self.n:end]] += 1
                self.contexts[padded[end - self.n:end - 1]] += 1
        return self

    def prob(self, token, context):
        vocab = set(self.vocab)
        history = [BOUNDARY] * (self.n - 1) + [w if w in vocab else ngram.UNKNOWN for w in context]
        key = tuple(history[len(history) - self.n + 1:]) if self.n > 1 else ()
        token = token if token in vocab else ngram.UNKNOWN
        V = len(self.vocab)
        if self.contexts[key] == 0 and self.k == 0:
            return 1 / V
        return (self.grams[key + (token,)] + self.k) / (self.contexts[key] + self.k * V)

    def sample(self, generator, max_tokens=50):
        words = []
        while len(words) < max_tokens:
            weights = torch.tensor([self.prob(w, words) for w in self.vocab])
            word = self.vocab[torch.multinomial(weights, 1, generator=generator)[0]]
            if word == BOUNDARY:
                return words
            words.append(word)
        return words

    def perplexity(self, sentences):
        total, count = 0.0, 0
        for sentence in sentences:
            for i, token in enumerate(list(sentence) + [BOUNDARY]):
                total -= math.log(self.prob(token, sentence[:i]))
                count += 1
        return math.exp(total / count)
''',
        },
        {
            "name": "Counters, its own vocabulary, a float32 multinomial, a tensor perplexity",
            "code": '''
from collections import Counter, defaultdict
class NgramLM:
    def __init__(self, n, k):
        self.n, self.k = n, k
    def fit(self, sentences):
        words = sorted({w for s in sentences for w in s})
        self.vocab = [BOUNDARY, "<unk>"] + words
        self.c = defaultdict(Counter)
        for s in sentences:
            p = [BOUNDARY] * (self.n - 1) + s + [BOUNDARY]
            for i in range(len(s) + 1):
                self.c[tuple(p[i:i + self.n - 1])][p[i + self.n - 1]] += 1
        return self
    def _ctx(self, context):
        ctx = [BOUNDARY] * (self.n - 1) + [w if w in self.vocab else "<unk>" for w in context]
        return tuple(ctx[len(ctx) - (self.n - 1):])
    def prob(self, token, context):
        if token not in self.vocab: token = "<unk>"
        row = self.c.get(self._ctx(context), Counter())
        V = len(self.vocab); tot = sum(row.values())
        if tot == 0 and self.k == 0: return 1 / V
        return (row[token] + self.k) / (tot + self.k * V)
    def sample(self, generator, max_tokens=50):
        out = []
        while len(out) < max_tokens:
            p = [self.prob(t, out) for t in self.vocab]
            i = int(torch.multinomial(torch.tensor(p), 1, generator=generator))
            if i == 0: break
            out.append(self.vocab[i])
        return out
    def perplexity(self, sentences):
        lp = torch.tensor([math.log(self.prob(t, s[:i])) for s in sentences for i, t in enumerate(s + [BOUNDARY])])
        return torch.exp(-lp.mean())
''',
        },
    ],
}
