"""Recorded common mistakes for lesson 04: each must lose its points, with a message that names it.

MISTAKES maps an answer cell's grade_id to plausible wrong answers a learner writes:
``code`` replaces the whole answer cell, and the failure message of the test cell(s) that
follow must contain ``says`` (case-insensitive). The first entry of each list is also used
when a whole mistaken notebook is autograded.
"""

MISTAKES = {
    "sample_batch": [
        {
            "name": "unshifted targets (the targets are the inputs)",
            "code": '''
def sample_batch(tokens, context_length, batch_size, generator):
    starts = torch.randint(len(tokens) - context_length, (batch_size,), generator=generator)
    inputs = torch.stack([tokens[s : s + context_length] for s in starts])
    return inputs, inputs.clone()
''',
            "says": "unshifted targets",
        },
        {
            "name": "targets shifted the wrong way (the previous token)",
            "code": '''
def sample_batch(tokens, context_length, batch_size, generator):
    starts = torch.randint(len(tokens) - context_length, (batch_size,), generator=generator)
    offsets = torch.arange(context_length)
    return tokens[starts[:, None] + offsets], tokens[starts[:, None] + offsets - 1]
''',
            "says": "shifted the wrong way",
        },
        {
            "name": "starts drawn from one position fewer than there are",
            "code": '''
def sample_batch(tokens, context_length, batch_size, generator):
    starts = torch.randint(len(tokens) - context_length - 1, (batch_size,), generator=generator)
    inputs = torch.stack([tokens[s : s + context_length] for s in starts])
    targets = torch.stack([tokens[s + 1 : s + context_length + 1] for s in starts])
    return inputs, targets
''',
            "says": "draw the starts with torch.randint(len(tokens) - context_length",
        },
        {
            "name": "returns the whole window of T + 1 tokens as the inputs",
            "code": '''
def sample_batch(tokens, context_length, batch_size, generator):
    starts = torch.randint(len(tokens) - context_length, (batch_size,), generator=generator)
    windows = torch.stack([tokens[s : s + context_length + 1] for s in starts])
    return windows, windows[:, 1:]
''',
            "says": "should have shape",
        },
        {
            "name": "ignores the generator",
            "code": '''
def sample_batch(tokens, context_length, batch_size, generator):
    starts = torch.randint(len(tokens) - context_length, (batch_size,))
    inputs = torch.stack([tokens[s : s + context_length] for s in starts])
    targets = torch.stack([tokens[s + 1 : s + context_length + 1] for s in starts])
    return inputs, targets
''',
            "says": "generator=generator",
        },
    ],
    "causal_lm_loss": [
        {
            "name": "unshifted targets: position t scored against the token it has read",
            "code": '''
def causal_lm_loss(logits, labels):
    V = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, V), labels.reshape(-1), ignore_index=-100)
''',
            "says": "unshifted targets",
        },
        {
            "name": "shift in the wrong direction",
            "code": '''
def causal_lm_loss(logits, labels):
    V = logits.shape[-1]
    return F.cross_entropy(logits[:, 1:].reshape(-1, V), labels[:, :-1].reshape(-1), ignore_index=-100)
''',
            "says": "the shift goes the wrong way",
        },
        {
            "name": "softmax before cross_entropy",
            "code": '''
def causal_lm_loss(logits, labels):
    V = logits.shape[-1]
    probs = torch.softmax(logits[:, :-1], dim=-1)
    return F.cross_entropy(probs.reshape(-1, V), labels[:, 1:].reshape(-1), ignore_index=-100)
''',
            "says": "applied a softmax",
        },
        {
            "name": "labels rolled: the last position predicts the row's first token",
            "code": '''
def causal_lm_loss(logits, labels):
    V = logits.shape[-1]
    targets = labels.roll(-1, dims=1)
    return F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=-100)
''',
            "says": "rolling the labels",
        },
        {
            "name": "padding scored as token 0",
            "code": '''
def causal_lm_loss(logits, labels):
    V = logits.shape[-1]
    targets = labels[:, 1:].clamp(min=0)
    return F.cross_entropy(logits[:, :-1].reshape(-1, V), targets.reshape(-1))
''',
            "says": "padding positions (-100) were scored",
        },
        {
            "name": "mean of the rows' means",
            "code": '''
def causal_lm_loss(logits, labels):
    losses = [F.cross_entropy(logits[b, :-1], labels[b, 1:], ignore_index=-100) for b in range(len(logits))]
    return torch.stack(losses).mean()
''',
            "says": "averaged each row's mean",
        },
        {
            "name": "sum instead of mean",
            "code": '''
def causal_lm_loss(logits, labels):
    V = logits.shape[-1]
    return F.cross_entropy(logits[:, :-1].reshape(-1, V), labels[:, 1:].reshape(-1), ignore_index=-100,
                           reduction="sum")
''',
            "says": "summed the losses",
        },
    ],
    "training_step": [
        {
            "name": "missing zero_grad",
            "code": '''
def training_step(model, optimizer, scheduler, inputs, targets, max_norm):
    _, loss = model(inputs, targets)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    scheduler.step()
    return loss.item()
''',
            "says": "missing zero_grad",
        },
        {
            "name": "clipping after the optimizer step",
            "code": '''
def training_step(model, optimizer, scheduler, inputs, targets, max_norm):
    optimizer.zero_grad()
    _, loss = model(inputs, targets)
    loss.backward()
    optimizer.step()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    scheduler.step()
    return loss.item()
''',
            "says": "clipped after the optimizer step",
        },
        {
            "name": "no clipping at all",
            "code": '''
def training_step(model, optimizer, scheduler, inputs, targets, max_norm):
    optimizer.zero_grad()
    _, loss = model(inputs, targets)
    loss.backward()
    optimizer.step()
    scheduler.step()
    return loss.item()
''',
            "says": "were not clipped",
        },
        {
            "name": "zero_grad between backward and step",
            "code": '''
def training_step(model, optimizer, scheduler, inputs, targets, max_norm):
    _, loss = model(inputs, targets)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.zero_grad()
    optimizer.step()
    scheduler.step()
    return loss.item()
''',
            "says": "zero_grad came between backward and step",
        },
        {
            "name": "scheduler stepped before the optimizer",
            "code": '''
def training_step(model, optimizer, scheduler, inputs, targets, max_norm):
    optimizer.zero_grad()
    _, loss = model(inputs, targets)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    scheduler.step()
    optimizer.step()
    return loss.item()
''',
            "says": "scheduler.step() came before optimizer.step()",
        },
        {
            "name": "no scheduler step",
            "code": '''
def training_step(model, optimizer, scheduler, inputs, targets, max_norm):
    optimizer.zero_grad()
    _, loss = model(inputs, targets)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return loss.item()
''',
            "says": "scheduler.step() is missing",
        },
        {
            "name": "returns the loss tensor",
            "code": '''
def training_step(model, optimizer, scheduler, inputs, targets, max_norm):
    optimizer.zero_grad()
    _, loss = model(inputs, targets)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    scheduler.step()
    return loss
''',
            "says": "loss.item()",
        },
    ],
    "mask_for_mlm": [
        {
            "name": "masks special tokens",
            "code": '''
def mask_for_mlm(ids, mask_id, vocab_size, special_ids, generator):
    chosen = torch.rand(ids.shape, generator=generator) < 0.15
    action = torch.rand(ids.shape, generator=generator)
    random_tokens = torch.randint(len(special_ids) + 1, vocab_size, ids.shape, generator=generator)
    inputs = ids.clone()
    inputs[chosen & (action < 0.8)] = mask_id
    to_random = chosen & (action >= 0.8) & (action < 0.9)
    inputs[to_random] = random_tokens[to_random]
    labels = torch.full_like(ids, -100)
    labels[chosen] = ids[chosen]
    return inputs, labels
''',
            "says": "masked special tokens",
        },
        {
            "name": "loss on unmasked positions (labels are the ids everywhere)",
            "code": '''
def mask_for_mlm(ids, mask_id, vocab_size, special_ids, generator):
    never = torch.tensor(list(special_ids) + [mask_id])
    ordinary = torch.tensor([i for i in range(vocab_size) if i not in never.tolist()])
    chosen = (torch.rand(ids.shape, generator=generator) < 0.15) & ~torch.isin(ids, never)
    action = torch.rand(ids.shape, generator=generator)
    random_tokens = ordinary[torch.randint(len(ordinary), ids.shape, generator=generator)]
    inputs = ids.clone()
    inputs[chosen & (action < 0.8)] = mask_id
    to_random = chosen & (action >= 0.8) & (action < 0.9)
    inputs[to_random] = random_tokens[to_random]
    return inputs, ids.clone()
''',
            "says": "loss on unmasked positions",
        },
        {
            "name": "every chosen token becomes [MASK] (no 80/10/10)",
            "code": '''
def mask_for_mlm(ids, mask_id, vocab_size, special_ids, generator):
    never = torch.tensor(list(special_ids) + [mask_id])
    chosen = (torch.rand(ids.shape, generator=generator) < 0.15) & ~torch.isin(ids, never)
    inputs = ids.clone()
    inputs[chosen] = mask_id
    labels = torch.full_like(ids, -100)
    labels[chosen] = ids[chosen]
    return inputs, labels
''',
            "says": "80% become [MASK]",
        },
        {
            "name": "labels hold the masked input instead of the original token",
            "code": '''
def mask_for_mlm(ids, mask_id, vocab_size, special_ids, generator):
    never = torch.tensor(list(special_ids) + [mask_id])
    ordinary = torch.tensor([i for i in range(vocab_size) if i not in never.tolist()])
    chosen = (torch.rand(ids.shape, generator=generator) < 0.15) & ~torch.isin(ids, never)
    action = torch.rand(ids.shape, generator=generator)
    random_tokens = ordinary[torch.randint(len(ordinary), ids.shape, generator=generator)]
    inputs = ids.clone()
    inputs[chosen & (action < 0.8)] = mask_id
    to_random = chosen & (action >= 0.8) & (action < 0.9)
    inputs[to_random] = random_tokens[to_random]
    labels = torch.full_like(ids, -100)
    labels[chosen] = inputs[chosen]
    return inputs, labels
''',
            "says": "ORIGINAL token",
        },
        {
            "name": "random replacement drawn from the whole vocabulary (special tokens too)",
            "code": '''
def mask_for_mlm(ids, mask_id, vocab_size, special_ids, generator):
    never = torch.tensor(list(special_ids) + [mask_id])
    chosen = (torch.rand(ids.shape, generator=generator) < 0.15) & ~torch.isin(ids, never)
    action = torch.rand(ids.shape, generator=generator)
    random_tokens = torch.randint(vocab_size, ids.shape, generator=generator)
    inputs = ids.clone()
    inputs[chosen & (action < 0.8)] = mask_id
    to_random = chosen & (action >= 0.8) & (action < 0.9)
    inputs[to_random] = random_tokens[to_random]
    labels = torch.full_like(ids, -100)
    labels[chosen] = ids[chosen]
    return inputs, labels
''',
            "says": "random replacement must be an ordinary token",
        },
        {
            "name": "ignores the generator",
            "code": '''
def mask_for_mlm(ids, mask_id, vocab_size, special_ids, generator):
    never = torch.tensor(list(special_ids) + [mask_id])
    ordinary = torch.tensor([i for i in range(vocab_size) if i not in never.tolist()])
    chosen = (torch.rand(ids.shape) < 0.15) & ~torch.isin(ids, never)
    action = torch.rand(ids.shape)
    random_tokens = ordinary[torch.randint(len(ordinary), ids.shape)]
    inputs = ids.clone()
    inputs[chosen & (action < 0.8)] = mask_id
    to_random = chosen & (action >= 0.8) & (action < 0.9)
    inputs[to_random] = random_tokens[to_random]
    labels = torch.full_like(ids, -100)
    labels[chosen] = ids[chosen]
    return inputs, labels
''',
            "says": "generator=generator",
        },
    ],
    "make_nsp_pairs": [
        {
            "name": "a random second sentence may be the true next one",
            "code": '''
def make_nsp_pairs(sentences, n_pairs, generator):
    n = len(sentences)
    labels = torch.tensor([0] * (n_pairs // 2) + [1] * (n_pairs - n_pairs // 2))
    labels = labels[torch.randperm(n_pairs, generator=generator)]
    pairs = []
    for label in labels.tolist():
        first = int(torch.randint(n - 1, (1,), generator=generator))
        second = first + 1 if label == 1 else int(torch.randint(n, (1,), generator=generator))
        pairs.append((sentences[first], sentences[second], label))
    return pairs
''',
            "says": "IS the true next sentence",
        },
        {
            "name": "labels by a coin flip (not exactly half)",
            "code": '''
def make_nsp_pairs(sentences, n_pairs, generator):
    n = len(sentences)
    pairs = []
    for _ in range(n_pairs):
        label = int(torch.rand(1, generator=generator) < 0.5)
        first = int(torch.randint(n - 1, (1,), generator=generator))
        if label == 1:
            second = first + 1
        else:
            second = int(torch.randint(n - 1, (1,), generator=generator))
            if second >= first + 1:
                second += 1
        pairs.append((sentences[first], sentences[second], label))
    return pairs
''',
            "says": "exactly n_pairs // 2",
        },
        {
            "name": "the last sentence paired with the first one (wrap-around)",
            "code": '''
def make_nsp_pairs(sentences, n_pairs, generator):
    n = len(sentences)
    labels = torch.tensor([0] * (n_pairs // 2) + [1] * (n_pairs - n_pairs // 2))
    labels = labels[torch.randperm(n_pairs, generator=generator)]
    pairs = []
    for label in labels.tolist():
        first = int(torch.randint(n, (1,), generator=generator))
        following = (first + 1) % n
        if label == 1:
            second = following
        else:
            second = int(torch.randint(n - 1, (1,), generator=generator))
            if second >= following:
                second += 1
        pairs.append((sentences[first], sentences[second], label))
    return pairs
''',
            "says": "the last sentence has no next sentence",
        },
        {
            "name": "labels swapped (1 for random pairs)",
            "code": '''
def make_nsp_pairs(sentences, n_pairs, generator):
    n = len(sentences)
    labels = torch.tensor([1] * (n_pairs // 2) + [0] * (n_pairs - n_pairs // 2))
    labels = labels[torch.randperm(n_pairs, generator=generator)]
    pairs = []
    for label in labels.tolist():
        first = int(torch.randint(n - 1, (1,), generator=generator))
        if label == 0:
            second = first + 1
        else:
            second = int(torch.randint(n - 1, (1,), generator=generator))
            if second >= first + 1:
                second += 1
        pairs.append((sentences[first], sentences[second], label))
    return pairs
''',
            "says": "swapped labels",
        },
        {
            "name": "the two kinds are not shuffled",
            "code": '''
def make_nsp_pairs(sentences, n_pairs, generator):
    n = len(sentences)
    pairs = []
    for label in [0] * (n_pairs // 2) + [1] * (n_pairs - n_pairs // 2):
        first = int(torch.randint(n - 1, (1,), generator=generator))
        if label == 1:
            second = first + 1
        else:
            second = int(torch.randint(n - 1, (1,), generator=generator))
            if second >= first + 1:
                second += 1
        pairs.append((sentences[first], sentences[second], label))
    return pairs
''',
            "says": "not shuffled",
        },
    ],
    "fit_power_law": [
        {
            "name": "alpha with the wrong sign (returns the slope)",
            "code": '''
def fit_power_law(x, y):
    log_x, log_y = torch.log(x), torch.log(y)
    dx, dy = log_x - log_x.mean(), log_y - log_y.mean()
    slope = (dx * dy).sum() / (dx * dx).sum()
    intercept = log_y.mean() - slope * log_x.mean()
    return math.exp(intercept.item()), slope.item()
''',
            "says": "wrong sign",
        },
        {
            "name": "returns the intercept log(a) instead of a",
            "code": '''
def fit_power_law(x, y):
    log_x, log_y = torch.log(x), torch.log(y)
    dx, dy = log_x - log_x.mean(), log_y - log_y.mean()
    slope = (dx * dy).sum() / (dx * dx).sum()
    intercept = log_y.mean() - slope * log_x.mean()
    return intercept.item(), -slope.item()
''',
            "says": "log(a)",
        },
        {
            "name": "axes swapped (log x regressed on log y)",
            "code": '''
def fit_power_law(x, y):
    log_x, log_y = torch.log(y), torch.log(x)
    dx, dy = log_x - log_x.mean(), log_y - log_y.mean()
    slope = (dx * dy).sum() / (dx * dx).sum()
    intercept = log_y.mean() - slope * log_x.mean()
    return math.exp(intercept.item()), -slope.item()
''',
            "says": "axes are swapped",
        },
        {
            "name": "a straight line through the raw (x, y)",
            "code": '''
def fit_power_law(x, y):
    dx, dy = x - x.mean(), y - y.mean()
    slope = (dx * dy).sum() / (dx * dx).sum()
    intercept = y.mean() - slope * x.mean()
    return intercept.item(), -slope.item()
''',
            "says": "log-log space",
        },
        {
            "name": "log10 for the fit, exp for a",
            "code": '''
def fit_power_law(x, y):
    log_x, log_y = torch.log10(x), torch.log10(y)
    dx, dy = log_x - log_x.mean(), log_y - log_y.mean()
    slope = (dx * dy).sum() / (dx * dx).sum()
    intercept = log_y.mean() - slope * log_x.mean()
    return math.exp(intercept.item()), -slope.item()
''',
            "says": "mixed logarithm bases",
        },
    ],
}
