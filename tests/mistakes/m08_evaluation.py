"""Recorded common mistakes for lesson 08: each must lose its points, with a message that names it.

MISTAKES maps an answer cell's grade_id to plausible wrong answers a learner writes:
``code`` replaces the whole answer cell, and the failure message of the test cell(s) that
follow must contain ``says`` (case-insensitive). The first entry of each list is also used
when a whole mistaken notebook is autograded.
ALTERNATIVES holds correct answers written differently from the solution; each must pass.
"""

MISTAKES = {
    "precision_recall_f1": [
        {
            "name": "false positives and false negatives swapped",
            "code": '''
def precision_recall_f1(predictions, targets):
    pairs = list(zip(predictions, targets))
    tp = sum(1 for p, t in pairs if p == 1 and t == 1)
    fp = sum(1 for p, t in pairs if p == 1 and t == 0)
    fn = sum(1 for p, t in pairs if p == 0 and t == 1)
    precision = tp / (tp + fn) if tp + fn else 0.0
    recall = tp / (tp + fp) if tp + fp else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
''',
            "says": "false positives and false negatives are swapped",
        },
        {
            "name": "accuracy returned as the precision",
            "code": '''
def precision_recall_f1(predictions, targets):
    pairs = list(zip(predictions, targets))
    tp = sum(1 for p, t in pairs if p == 1 and t == 1)
    fn = sum(1 for p, t in pairs if p == 0 and t == 1)
    precision = sum(1 for p, t in pairs if p == t) / len(pairs)
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
''',
            "says": "that is the accuracy",
        },
        {
            "name": "F1 as the plain mean of precision and recall",
            "code": '''
def precision_recall_f1(predictions, targets):
    pairs = list(zip(predictions, targets))
    tp = sum(1 for p, t in pairs if p == 1 and t == 1)
    fp = sum(1 for p, t in pairs if p == 1 and t == 0)
    fn = sum(1 for p, t in pairs if p == 0 and t == 1)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return precision, recall, (precision + recall) / 2
''',
            "says": "harmonic mean",
        },
        {
            "name": "F1 without its factor 2",
            "code": '''
def precision_recall_f1(predictions, targets):
    pairs = list(zip(predictions, targets))
    tp = sum(1 for p, t in pairs if p == 1 and t == 1)
    fp = sum(1 for p, t in pairs if p == 1 and t == 0)
    fn = sum(1 for p, t in pairs if p == 0 and t == 1)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
''',
            "says": "the factor 2 is missing",
        },
        {
            "name": "nan where a denominator is 0 (tensor division)",
            "code": '''
def precision_recall_f1(predictions, targets):
    p, t = torch.as_tensor(predictions).double(), torch.as_tensor(targets).double()
    tp, fp, fn = (p * t).sum(), (p * (1 - t)).sum(), ((1 - p) * t).sum()
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    f1 = 2 * precision * recall / (precision + recall)
    return precision.item(), recall.item(), f1.item()
''',
            "says": "not nan",
        },
        {
            "name": "ZeroDivisionError where a denominator is 0",
            "code": '''
def precision_recall_f1(predictions, targets):
    pairs = list(zip(predictions, targets))
    tp = sum(1 for p, t in pairs if p == 1 and t == 1)
    fp = sum(1 for p, t in pairs if p == 1 and t == 0)
    fn = sum(1 for p, t in pairs if p == 0 and t == 1)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return precision, recall, 2 * tp / (2 * tp + fp + fn)
''',
            "says": "a ratio with denominator 0 is 0.0",
        },
        {
            "name": "class 0 taken as the positive class",
            "code": '''
def precision_recall_f1(predictions, targets):
    pairs = list(zip(predictions, targets))
    tp = sum(1 for p, t in pairs if p == 0 and t == 0)
    fp = sum(1 for p, t in pairs if p == 0 and t == 1)
    fn = sum(1 for p, t in pairs if p == 1 and t == 0)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    return precision, recall, f1
''',
            "says": "class 1 is the positive class",
        },
    ],
    "roc_auc": [
        {
            "name": "ties counted as 0",
            "code": '''
def roc_auc(scores, labels):
    scores, labels = torch.as_tensor(scores, dtype=torch.float64), torch.as_tensor(labels).bool()
    pos, neg = scores[labels], scores[~labels]
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError("needs both classes")
    return (pos[:, None] > neg[None, :]).double().mean().item()
''',
            "says": "ties are counted as 0",
        },
        {
            "name": "ties counted as 1",
            "code": '''
def roc_auc(scores, labels):
    scores, labels = torch.as_tensor(scores, dtype=torch.float64), torch.as_tensor(labels).bool()
    pos, neg = scores[labels], scores[~labels]
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError("needs both classes")
    return (pos[:, None] >= neg[None, :]).double().mean().item()
''',
            "says": "ties are counted as 1",
        },
        {
            "name": "TPR and FPR swapped (the area left of the curve: 1 - AUC)",
            "code": '''
def roc_auc(scores, labels):
    scores, labels = torch.as_tensor(scores, dtype=torch.float64), torch.as_tensor(labels).bool()
    pos, neg = scores[labels], scores[~labels]
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError("needs both classes")
    thresholds = torch.cat([torch.tensor([float("inf")]), scores.unique().flip(0)]).double()
    tpr = torch.stack([(pos >= t).double().mean() for t in thresholds])
    fpr = torch.stack([(neg >= t).double().mean() for t in thresholds])
    return torch.trapezoid(fpr, tpr).item()   # x and y swapped
''',
            "says": "TPR and FPR are swapped",
        },
        {
            "name": "trapezoids without the start point (0, 0)",
            "code": '''
def roc_auc(scores, labels):
    scores, labels = torch.as_tensor(scores, dtype=torch.float64), torch.as_tensor(labels).bool()
    pos, neg = scores[labels], scores[~labels]
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError("needs both classes")
    thresholds = scores.unique().flip(0)              # highest first, but no threshold above them all
    tpr = torch.stack([(pos >= t).double().mean() for t in thresholds])
    fpr = torch.stack([(neg >= t).double().mean() for t in thresholds])
    return torch.trapezoid(tpr, fpr).item()
''',
            "says": "missing its start point",
        },
        {
            "name": "pairs counted over all pairs of examples",
            "code": '''
def roc_auc(scores, labels):
    scores, labels = torch.as_tensor(scores, dtype=torch.float64), torch.as_tensor(labels).bool()
    pos, neg = scores[labels], scores[~labels]
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError("needs both classes")
    wins = (pos[:, None] > neg[None, :]).double() + 0.5 * (pos[:, None] == neg[None, :]).double()
    n = len(scores)
    return wins.sum().item() / (n * (n - 1) / 2)
''',
            "says": "divided by all pairs",
        },
        {
            "name": "hard predictions (score >= 0.5) instead of the scores",
            "code": '''
def roc_auc(scores, labels):
    scores, labels = torch.as_tensor(scores, dtype=torch.float64), torch.as_tensor(labels).bool()
    hard = (scores >= 0.5).double()
    pos, neg = hard[labels], hard[~labels]
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError("needs both classes")
    return ((pos[:, None] > neg[None, :]).double() + 0.5 * (pos[:, None] == neg[None, :]).double()).mean().item()
''',
            "says": "hard predictions",
        },
        {
            "name": "no error without negatives (nan)",
            "code": '''
def roc_auc(scores, labels):
    scores, labels = torch.as_tensor(scores, dtype=torch.float64), torch.as_tensor(labels).bool()
    pos, neg = scores[labels], scores[~labels]
    return ((pos[:, None] > neg[None, :]).double() + 0.5 * (pos[:, None] == neg[None, :]).double()).mean().item()
''',
            "says": "the AUC is undefined: raise a ValueError",
        },
    ],
    "sliding_window_perplexity": [
        {
            "name": "overlapping windows scored twice",
            "code": '''
def sliding_window_perplexity(model, ids, context_length, stride):
    if not 1 <= stride <= context_length:
        raise ValueError("bad stride")
    N = len(ids)
    ends = sorted(set(list(range(min(context_length, N - 1), N - 1, stride)) + [N - 1]))
    nlls = []
    with torch.no_grad():
        for end in ends:
            begin = max(0, end - context_length)
            logits, _ = model(ids[None, begin:end])
            nlls.append(F.cross_entropy(logits[0].double(), ids[begin + 1:end + 1], reduction="none"))
    return math.exp(torch.cat(nlls).mean().item())
''',
            "says": "scored twice",
        },
        {
            "name": "window perplexities averaged",
            "code": '''
def sliding_window_perplexity(model, ids, context_length, stride):
    if not 1 <= stride <= context_length:
        raise ValueError("bad stride")
    N = len(ids)
    ends = sorted(set(list(range(min(context_length, N - 1), N - 1, stride)) + [N - 1]))
    perplexities, scored_until = [], 0
    with torch.no_grad():
        for end in ends:
            begin = max(0, end - context_length)
            logits, _ = model(ids[None, begin:end])
            nll = F.cross_entropy(logits[0].double(), ids[begin + 1:end + 1], reduction="none")
            perplexities.append(math.exp(nll[-(end - scored_until):].mean().item()))
            scored_until = end
    return sum(perplexities) / len(perplexities)
''',
            "says": "window perplexities are averaged",
        },
        {
            "name": "window losses averaged (not weighted by tokens)",
            "code": '''
def sliding_window_perplexity(model, ids, context_length, stride):
    if not 1 <= stride <= context_length:
        raise ValueError("bad stride")
    N = len(ids)
    ends = sorted(set(list(range(min(context_length, N - 1), N - 1, stride)) + [N - 1]))
    losses, scored_until = [], 0
    with torch.no_grad():
        for end in ends:
            begin = max(0, end - context_length)
            logits, _ = model(ids[None, begin:end])
            nll = F.cross_entropy(logits[0].double(), ids[begin + 1:end + 1], reduction="none")
            losses.append(nll[-(end - scored_until):].mean().item())
            scored_until = end
    return math.exp(sum(losses) / len(losses))
''',
            "says": "window losses are averaged",
        },
        {
            "name": "each window starts where the last one stopped (little context)",
            "code": '''
def sliding_window_perplexity(model, ids, context_length, stride):
    if not 1 <= stride <= context_length:
        raise ValueError("bad stride")
    N = len(ids)
    ends = sorted(set(list(range(min(context_length, N - 1), N - 1, stride)) + [N - 1]))
    total, scored_until = 0.0, 0
    with torch.no_grad():
        for end in ends:
            logits, _ = model(ids[None, scored_until:end])
            total += F.cross_entropy(logits[0].double(), ids[scored_until + 1:end + 1], reduction="sum").item()
            scored_until = end
    return math.exp(total / (N - 1))
''',
            "says": "starts where the last one stopped",
        },
        {
            "name": "stride ignored (plain chunks)",
            "code": '''
def sliding_window_perplexity(model, ids, context_length, stride):
    if not 1 <= stride <= context_length:
        raise ValueError("bad stride")
    N = len(ids)
    total = 0.0
    with torch.no_grad():
        for begin in range(0, N - 1, context_length):
            end = min(begin + context_length, N - 1)
            logits, _ = model(ids[None, begin:end])
            total += F.cross_entropy(logits[0].double(), ids[begin + 1:end + 1], reduction="sum").item()
    return math.exp(total / (N - 1))
''',
            "says": "the stride is ignored",
        },
        {
            "name": "the last window (to the end of the text) missing",
            "code": '''
def sliding_window_perplexity(model, ids, context_length, stride):
    if not 1 <= stride <= context_length:
        raise ValueError("bad stride")
    N = len(ids)
    ends = list(range(min(context_length, N - 1), N - 1, stride)) or [N - 1]
    total, scored_until = 0.0, 0
    with torch.no_grad():
        for end in ends:
            begin = max(0, end - context_length)
            logits, _ = model(ids[None, begin:end])
            nll = F.cross_entropy(logits[0].double(), ids[begin + 1:end + 1], reduction="none")
            total += nll[-(end - scored_until):].sum().item()
            scored_until = end
    return math.exp(total / (N - 1))
''',
            "says": "the last tokens are never scored",
        },
        {
            "name": "2 ** loss (bits) instead of exp(loss)",
            "code": '''
def sliding_window_perplexity(model, ids, context_length, stride):
    if not 1 <= stride <= context_length:
        raise ValueError("bad stride")
    N = len(ids)
    ends = sorted(set(list(range(min(context_length, N - 1), N - 1, stride)) + [N - 1]))
    total, scored_until = 0.0, 0
    with torch.no_grad():
        for end in ends:
            begin = max(0, end - context_length)
            logits, _ = model(ids[None, begin:end])
            nll = F.cross_entropy(logits[0].double(), ids[begin + 1:end + 1], reduction="none")
            total += nll[-(end - scored_until):].sum().item()
            scored_until = end
    return 2 ** (total / (N - 1))
''',
            "says": "2 ** loss",
        },
        {
            "name": "exp of the summed NLL",
            "code": '''
def sliding_window_perplexity(model, ids, context_length, stride):
    if not 1 <= stride <= context_length:
        raise ValueError("bad stride")
    N = len(ids)
    ends = sorted(set(list(range(min(context_length, N - 1), N - 1, stride)) + [N - 1]))
    total, scored_until = 0.0, 0
    with torch.no_grad():
        for end in ends:
            begin = max(0, end - context_length)
            logits, _ = model(ids[None, begin:end])
            nll = F.cross_entropy(logits[0].double(), ids[begin + 1:end + 1], reduction="none")
            total += nll[-(end - scored_until):].sum().item()
            scored_until = end
    return math.exp(total)
''',
            "says": "exp of the summed NLL",
        },
        {
            "name": "no error for a stride larger than the context",
            "code": '''
def sliding_window_perplexity(model, ids, context_length, stride):
    N = len(ids)
    ends = sorted(set(list(range(min(context_length, N - 1), N - 1, max(stride, 1))) + [N - 1]))
    total, scored_until = 0.0, 0
    with torch.no_grad():
        for end in ends:
            begin = max(0, end - context_length)
            logits, _ = model(ids[None, begin:end])
            nll = F.cross_entropy(logits[0].double(), ids[begin + 1:end + 1], reduction="none")
            total += nll[-min(end - scored_until, end - begin):].sum().item()
            scored_until = end
    return math.exp(total / (N - 1))
''',
            "says": "a stride larger than the context would skip tokens",
        },
    ],
    "option_loglikelihood": [
        {
            "name": "option encoded apart from its context",
            "code": '''
def option_loglikelihood(model, tokenizer, context, option):
    context_ids, option_ids = tokenizer.encode(context), tokenizer.encode(option)
    ids = torch.tensor([context_ids + option_ids])
    with torch.no_grad():
        logits, _ = model(ids[:, :-1])
    log_probs = F.log_softmax(logits[0].double(), dim=-1).gather(-1, ids[0, 1:, None])[:, 0]
    return log_probs[-len(option_ids):].sum().item()
''',
            "says": "encoded apart",
        },
        {
            "name": "option scored without its context",
            "code": '''
def option_loglikelihood(model, tokenizer, context, option):
    ids = torch.tensor([tokenizer.encode(option)])
    with torch.no_grad():
        logits, _ = model(ids[:, :-1])
    log_probs = F.log_softmax(logits[0].double(), dim=-1).gather(-1, ids[0, 1:, None])[:, 0]
    return log_probs.sum().item()
''',
            "says": "scored without its context",
        },
        {
            "name": "context tokens included in the score",
            "code": '''
def option_loglikelihood(model, tokenizer, context, option):
    n = len(context) - len(context.rstrip())
    if n:
        context, option = context[:-n], context[-n:] + option
    context_ids, whole = tokenizer.encode(context), tokenizer.encode(context + option)
    if whole[:len(context_ids)] != context_ids:
        raise ValueError("a token spans the join")
    ids = torch.tensor([whole])
    with torch.no_grad():
        logits, _ = model(ids[:, :-1])
    log_probs = F.log_softmax(logits[0].double(), dim=-1).gather(-1, ids[0, 1:, None])[:, 0]
    return log_probs.sum().item()
''',
            "says": "the context's tokens are scored too",
        },
        {
            "name": "log-probabilities not shifted",
            "code": '''
def option_loglikelihood(model, tokenizer, context, option):
    n = len(context) - len(context.rstrip())
    if n:
        context, option = context[:-n], context[-n:] + option
    context_ids, whole = tokenizer.encode(context), tokenizer.encode(context + option)
    if whole[:len(context_ids)] != context_ids:
        raise ValueError("a token spans the join")
    ids = torch.tensor([whole])
    with torch.no_grad():
        logits, _ = model(ids)
    log_probs = F.log_softmax(logits[0].double(), dim=-1).gather(-1, ids[0, :, None])[:, 0]
    return log_probs[len(context_ids):].sum().item()
''',
            "says": "not shifted",
        },
        {
            "name": "mean over the option's tokens",
            "code": '''
def option_loglikelihood(model, tokenizer, context, option):
    n = len(context) - len(context.rstrip())
    if n:
        context, option = context[:-n], context[-n:] + option
    context_ids, whole = tokenizer.encode(context), tokenizer.encode(context + option)
    if whole[:len(context_ids)] != context_ids:
        raise ValueError("a token spans the join")
    ids = torch.tensor([whole])
    with torch.no_grad():
        logits, _ = model(ids[:, :-1])
    log_probs = F.log_softmax(logits[0].double(), dim=-1).gather(-1, ids[0, 1:, None])[:, 0]
    return log_probs[len(context_ids) - 1:].mean().item()
''',
            "says": "that is the mean",
        },
        {
            "name": "trailing space left in the context, whole string cut at the context's length",
            "code": '''
def option_loglikelihood(model, tokenizer, context, option):
    context_ids, whole = tokenizer.encode(context), tokenizer.encode(context + option)
    ids = torch.tensor([whole])
    with torch.no_grad():
        logits, _ = model(ids[:, :-1])
    log_probs = F.log_softmax(logits[0].double(), dim=-1).gather(-1, ids[0, 1:, None])[:, 0]
    return log_probs[len(context_ids) - 1:].sum().item()
''',
            "says": "trailing space was not moved",
        },
        {
            "name": "the probability (product) instead of the log-likelihood",
            "code": '''
def option_loglikelihood(model, tokenizer, context, option):
    n = len(context) - len(context.rstrip())
    if n:
        context, option = context[:-n], context[-n:] + option
    context_ids, whole = tokenizer.encode(context), tokenizer.encode(context + option)
    if whole[:len(context_ids)] != context_ids:
        raise ValueError("a token spans the join")
    ids = torch.tensor([whole])
    with torch.no_grad():
        logits, _ = model(ids[:, :-1])
    probs = F.softmax(logits[0].double(), dim=-1).gather(-1, ids[0, 1:, None])[:, 0]
    return probs[len(context_ids) - 1:].prod().item()
''',
            "says": "a probability (the product)",
        },
        {
            "name": "no error when a token spans the join",
            "code": '''
def option_loglikelihood(model, tokenizer, context, option):
    n = len(context) - len(context.rstrip())
    if n:
        context, option = context[:-n], context[-n:] + option
    context_ids, whole = tokenizer.encode(context), tokenizer.encode(context + option)
    ids = torch.tensor([whole])
    with torch.no_grad():
        logits, _ = model(ids[:, :-1])
    log_probs = F.log_softmax(logits[0].double(), dim=-1).gather(-1, ids[0, 1:, None])[:, 0]
    return log_probs[len(context_ids) - 1:].sum().item()
''',
            "says": "when a token spans the join",
        },
    ],
    "expected_calibration_error": [
        {
            "name": "bins weighted equally",
            "code": '''
def expected_calibration_error(confidences, correct, n_bins=10):
    c, y = torch.as_tensor(confidences, dtype=torch.float64), torch.as_tensor(correct, dtype=torch.float64)
    bins = torch.bucketize(c, torch.arange(1, n_bins, dtype=torch.float64) / n_bins)
    gaps = [(y[bins == b].mean() - c[bins == b].mean()).abs().item() for b in range(n_bins) if (bins == b).any()]
    return sum(gaps) / len(gaps)
''',
            "says": "weighted equally",
        },
        {
            "name": "bins weighted equally, empty bins as 0",
            "code": '''
def expected_calibration_error(confidences, correct, n_bins=10):
    c, y = torch.as_tensor(confidences, dtype=torch.float64), torch.as_tensor(correct, dtype=torch.float64)
    bins = torch.bucketize(c, torch.arange(1, n_bins, dtype=torch.float64) / n_bins)
    gaps = [(y[bins == b].mean() - c[bins == b].mean()).abs().item() for b in range(n_bins) if (bins == b).any()]
    return sum(gaps) / n_bins
''',
            "says": "weighted equally",
        },
        {
            "name": "squared gaps",
            "code": '''
def expected_calibration_error(confidences, correct, n_bins=10):
    c, y = torch.as_tensor(confidences, dtype=torch.float64), torch.as_tensor(correct, dtype=torch.float64)
    bins = torch.bucketize(c, torch.arange(1, n_bins, dtype=torch.float64) / n_bins)
    return sum((bins == b).double().mean().item() * ((y[bins == b].mean() - c[bins == b].mean()) ** 2).item()
               for b in range(n_bins) if (bins == b).any())
''',
            "says": "squared",
        },
        {
            "name": "the largest gap (MCE)",
            "code": '''
def expected_calibration_error(confidences, correct, n_bins=10):
    c, y = torch.as_tensor(confidences, dtype=torch.float64), torch.as_tensor(correct, dtype=torch.float64)
    bins = torch.bucketize(c, torch.arange(1, n_bins, dtype=torch.float64) / n_bins)
    return max((y[bins == b].mean() - c[bins == b].mean()).abs().item() for b in range(n_bins) if (bins == b).any())
''',
            "says": "largest gap",
        },
        {
            "name": "signed gaps",
            "code": '''
def expected_calibration_error(confidences, correct, n_bins=10):
    c, y = torch.as_tensor(confidences, dtype=torch.float64), torch.as_tensor(correct, dtype=torch.float64)
    bins = torch.bucketize(c, torch.arange(1, n_bins, dtype=torch.float64) / n_bins)
    return sum((bins == b).double().mean().item() * (y[bins == b].mean() - c[bins == b].mean()).item()
               for b in range(n_bins) if (bins == b).any())
''',
            "says": "not made absolute",
        },
        {
            "name": "no bins at all",
            "code": '''
def expected_calibration_error(confidences, correct, n_bins=10):
    c, y = torch.as_tensor(confidences, dtype=torch.float64), torch.as_tensor(correct, dtype=torch.float64)
    return abs(y.mean().item() - c.mean().item())
''',
            "says": "no bins",
        },
        {
            "name": "bins [lo, hi): an edge goes to the bin above",
            "code": '''
def expected_calibration_error(confidences, correct, n_bins=10):
    c, y = torch.as_tensor(confidences, dtype=torch.float64), torch.as_tensor(correct, dtype=torch.float64)
    bins = torch.clamp((c * n_bins).floor().long(), max=n_bins - 1)
    return sum((bins == b).double().mean().item() * (y[bins == b].mean() - c[bins == b].mean()).abs().item()
               for b in range(n_bins) if (bins == b).any())
''',
            "says": "belongs to the bin below it",
        },
    ],
    "pass_at_k": [
        {
            "name": "1 - (1 - c/n)^k (with replacement)",
            "code": '''
def pass_at_k(n, c, k):
    if k > n or c > n:
        raise ValueError("bad counts")
    return 1 - (1 - c / n) ** k
''',
            "says": "with replacement",
        },
        {
            "name": "c / n whatever k",
            "code": '''
def pass_at_k(n, c, k):
    if k > n or c > n:
        raise ValueError("bad counts")
    return c / n
''',
            "says": "pass@1",
        },
        {
            "name": "the chance that all k are wrong",
            "code": '''
from math import comb
def pass_at_k(n, c, k):
    if k > n or c > n:
        raise ValueError("bad counts")
    return comb(n - c, k) / comb(n, k)
''',
            "says": "the chance that all k are wrong",
        },
        {
            "name": "right and wrong counts swapped",
            "code": '''
from math import comb
def pass_at_k(n, c, k):
    if k > n or c > n:
        raise ValueError("bad counts")
    return 1 - comb(c, k) / comb(n, k)
''',
            "says": "counts are swapped",
        },
        {
            "name": "binomial coefficients as floats (overflow for large n)",
            "code": '''
from math import comb
def pass_at_k(n, c, k):
    if k > n or c > n:
        raise ValueError("bad counts")
    return 1.0 - float(comb(n - c, k)) / float(comb(n, k))
''',
            "says": "overflows a float",
        },
        {
            "name": "no error for k > n",
            "code": '''
from math import comb
def pass_at_k(n, c, k):
    return 1 - comb(n - c, k) / comb(n, k)
''',
            "says": "k > n",
        },
        {
            "name": "no error for c > n",
            "code": '''
def pass_at_k(n, c, k):
    if k > n:
        raise ValueError("k > n")
    if n - c < k:
        return 1.0
    all_wrong = 1.0
    for i in range(n - c + 1, n + 1):
        all_wrong *= 1.0 - k / i
    return 1.0 - all_wrong
''',
            "says": "c > n",
        },
    ],
}

ALTERNATIVES = {
    "precision_recall_f1": [
        {
            "name": "tensor counts, zero division by torch.where",
            "code": """
def precision_recall_f1(predictions, targets):
    p, t = torch.as_tensor(predictions).long(), torch.as_tensor(targets).long()
    tp = ((p == 1) & (t == 1)).sum().double()
    fp = ((p == 1) & (t == 0)).sum().double()
    fn = ((p == 0) & (t == 1)).sum().double()
    safe = lambda a, b: (a / b).item() if b > 0 else 0.0
    precision, recall = safe(tp, tp + fp), safe(tp, tp + fn)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return precision, recall, f1
""",
        },
    ],
    "roc_auc": [
        {
            "name": "trapezoids under the ROC curve from (0, 0)",
            "code": """
def roc_auc(scores, labels):
    scores, labels = torch.as_tensor(scores, dtype=torch.float64), torch.as_tensor(labels).bool()
    pos, neg = scores[labels], scores[~labels]
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError("needs both classes")
    thresholds = torch.cat([torch.tensor([float("inf")], dtype=torch.float64), scores.unique().flip(0)])
    tpr = torch.stack([(pos >= t).double().mean() for t in thresholds])
    fpr = torch.stack([(neg >= t).double().mean() for t in thresholds])
    return torch.trapezoid(tpr, fpr).item()
""",
        },
        {
            "name": "Mann-Whitney U from average ranks",
            "code": """
def roc_auc(scores, labels):
    s = [float(x) for x in scores]
    y = [int(v) for v in labels]
    n_pos, n_neg = sum(y), len(y) - sum(y)
    if n_pos == 0 or n_neg == 0:
        raise ValueError("needs both classes")
    order = sorted(range(len(s)), key=lambda i: s[i])
    ranks = [0.0] * len(s)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and s[order[j + 1]] == s[order[i]]:
            j += 1
        for m in range(i, j + 1):
            ranks[order[m]] = (i + j) / 2 + 1
        i = j + 1
    rank_sum = sum(r for r, label in zip(ranks, y) if label == 1)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
""",
        },
    ],
    "sliding_window_perplexity": [
        {
            "name": "float32 cross-entropy, a while loop over windows",
            "code": """
def sliding_window_perplexity(model, ids, context_length, stride):
    if stride < 1 or stride > context_length:
        raise ValueError("stride must be in 1 .. context_length")
    N = len(ids)
    total, previous_end = 0.0, 0
    end = min(context_length, N - 1)
    with torch.no_grad():
        while True:
            begin = max(0, end - context_length)
            logits, _ = model(ids[begin:end].unsqueeze(0))
            targets = ids[begin + 1:end + 1].clone()
            targets[: len(targets) - (end - previous_end)] = -100       # scored by an earlier window
            total += F.cross_entropy(logits[0], targets, ignore_index=-100, reduction="sum").item()
            previous_end = end
            if end == N - 1:
                break
            end = min(end + stride, N - 1)
    return math.exp(total / (N - 1))
""",
        },
    ],
    "option_loglikelihood": [
        {
            "name": "float32 cross-entropy over the option's positions",
            "code": """
def option_loglikelihood(model, tokenizer, context, option):
    stripped = context.rstrip()
    option = context[len(stripped):] + option
    context_ids = tokenizer.encode(stripped)
    whole = tokenizer.encode(stripped + option)
    if whole[:len(context_ids)] != context_ids:
        raise ValueError("a token spans the join")
    ids = torch.tensor(whole)
    with torch.no_grad():
        logits, _ = model(ids[None, :-1])
    start = len(context_ids) - 1                       # the logits that predict the option's first token
    return -F.cross_entropy(logits[0, start:], ids[start + 1:], reduction="sum").item()
""",
        },
    ],
    "expected_calibration_error": [
        {
            "name": "bin index by ceil(c * n) - 1, plain Python",
            "code": """
def expected_calibration_error(confidences, correct, n_bins=10):
    c = [float(x) for x in confidences]
    y = [float(v) for v in correct]
    bins = {}
    for ci, yi in zip(c, y):
        b = max(math.ceil(ci * n_bins) - 1, 0)
        bins.setdefault(b, []).append((ci, yi))
    return sum(len(m) / len(c) * abs(sum(v for _, v in m) / len(m) - sum(x for x, _ in m) / len(m))
               for m in bins.values())
""",
        },
    ],
    "pass_at_k": [
        {
            "name": "exact integers: 1 - comb(n - c, k) / comb(n, k)",
            "code": """
from math import comb
def pass_at_k(n, c, k):
    if k > n or c > n:
        raise ValueError("need k <= n and c <= n")
    return 1 - comb(n - c, k) / comb(n, k)
""",
        },
        {
            "name": "product over the k draws",
            "code": """
def pass_at_k(n, c, k):
    if k > n or c > n:
        raise ValueError("need k <= n and c <= n")
    all_wrong = 1.0
    for i in range(k):
        all_wrong *= (n - c - i) / (n - i)
    return 1.0 - max(all_wrong, 0.0)
""",
        },
    ],
}
