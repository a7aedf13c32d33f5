"""Recorded common mistakes for lesson 05: each must lose its points, with a message that names it.

MISTAKES maps an answer cell's grade_id to plausible wrong answers a learner writes:
``code`` replaces the whole answer cell, and the failure message of the test cell(s) that
follow must contain ``says`` (case-insensitive). The first entry of each list is also used
when a whole mistaken notebook is autograded. ALTERNATIVES are correct answers written
differently from the solution: they must pass.
"""

_CHAT_HEAD = '''
def build_chat_example(tokenizer, prompt, response):
    s = tokenizer.special_tokens
    asked = [s["<|user|>"]] + tokenizer.encode(prompt, allowed_special=False) + [s["<|assistant|>"]]
    answer = tokenizer.encode(response, allowed_special=False)
'''

_LORA_INIT = '''
class LoRALinear(nn.Module):
    def __init__(self, base, r, alpha):
        super().__init__()
        self.base = base
        for p in base.parameters():
            p.requires_grad_(False)
        self.r, self.alpha = r, alpha
        self.A = nn.Parameter(torch.empty(r, base.in_features, dtype=base.weight.dtype))
        self.B = nn.Parameter(torch.zeros(base.out_features, r, dtype=base.weight.dtype))
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))
'''

MISTAKES = {
    "build_chat_example": [
        {
            "name": "<|end|> not trained (masked like the prompt)",
            "code": _CHAT_HEAD + '''
    return asked + answer + [s["<|end|>"]], [0] * len(asked) + [1] * len(answer) + [0]
''',
            "says": "<|end|> not trained",
        },
        {
            "name": "no <|end|> at all",
            "code": _CHAT_HEAD + '''
    return asked + answer, [0] * len(asked) + [1] * len(answer)
''',
            "says": "<|end|> is missing",
        },
        {
            "name": "the role token <|assistant|> trained",
            "code": _CHAT_HEAD + '''
    return asked + answer + [s["<|end|>"]], [0] * (len(asked) - 1) + [1] * (len(answer) + 2)
''',
            "says": "role token <|assistant|> is trained",
        },
        {
            "name": "the prompt trained (all ones)",
            "code": _CHAT_HEAD + '''
    ids = asked + answer + [s["<|end|>"]]
    return ids, [1] * len(ids)
''',
            "says": "the prompt is trained",
        },
        {
            "name": "mask by searching the decoded text for <|assistant|>",
            "code": _CHAT_HEAD + '''
    ids = asked + answer + [s["<|end|>"]]
    text, start = "", None
    for k, i in enumerate(ids):
        text += tokenizer.decode([i])
        if start is None and "<|assistant|>" in text:
            start = k + 1
    return ids, [0] * start + [1] * (len(ids) - start)
''',
            "says": "searching the decoded text",
        },
        {
            "name": "the whole transcript encoded as one string (typed chat tokens become control tokens)",
            "code": '''
def build_chat_example(tokenizer, prompt, response):
    asked = tokenizer.encode("<|user|>" + prompt + "<|assistant|>")
    answer = tokenizer.encode(response + "<|end|>")
    return asked + answer, [0] * len(asked) + [1] * len(answer)
''',
            "says": "allowed_special=False",
        },
        {
            "name": "mask inverted",
            "code": _CHAT_HEAD + '''
    return asked + answer + [s["<|end|>"]], [1] * len(asked) + [0] * (len(answer) + 1)
''',
            "says": "mask is inverted",
        },
    ],
    "make_batch": [
        {
            "name": "the mask not shifted with the targets",
            "code": '''
def make_batch(examples, pad_id):
    T = max(len(ids) for ids, _ in examples) - 1
    inputs = torch.full((len(examples), T), pad_id)
    targets = torch.full((len(examples), T), -100)
    padding_mask = torch.zeros((len(examples), T), dtype=torch.bool)
    for row, (ids, mask) in enumerate(examples):
        n = len(ids) - 1
        inputs[row, :n] = torch.tensor(ids[:-1])
        padding_mask[row, :n] = True
        for t in range(n):
            if mask[t]:
                targets[row, t] = ids[t + 1]
    return inputs, targets, padding_mask
''',
            "says": "mask not shifted",
        },
        {
            "name": "padding trained (pad id as the target)",
            "code": '''
def make_batch(examples, pad_id):
    T = max(len(ids) for ids, _ in examples) - 1
    inputs = torch.full((len(examples), T), pad_id)
    targets = torch.full((len(examples), T), pad_id)
    padding_mask = torch.zeros((len(examples), T), dtype=torch.bool)
    for row, (ids, mask) in enumerate(examples):
        n = len(ids) - 1
        inputs[row, :n] = torch.tensor(ids[:-1])
        padding_mask[row, :n] = True
        targets[row, :n] = torch.tensor([ids[t + 1] if mask[t + 1] else -100 for t in range(n)])
    return inputs, targets, padding_mask
''',
            "says": "padding trained",
        },
        {
            "name": "the mask ignored (prompt trained)",
            "code": '''
def make_batch(examples, pad_id):
    T = max(len(ids) for ids, _ in examples) - 1
    inputs = torch.full((len(examples), T), pad_id)
    targets = torch.full((len(examples), T), -100)
    padding_mask = torch.zeros((len(examples), T), dtype=torch.bool)
    for row, (ids, mask) in enumerate(examples):
        n = len(ids) - 1
        inputs[row, :n] = torch.tensor(ids[:-1])
        targets[row, :n] = torch.tensor(ids[1:])
        padding_mask[row, :n] = True
    return inputs, targets, padding_mask
''',
            "says": "the mask is ignored",
        },
        {
            "name": "unshifted targets",
            "code": '''
def make_batch(examples, pad_id):
    T = max(len(ids) for ids, _ in examples) - 1
    inputs = torch.full((len(examples), T), pad_id)
    targets = torch.full((len(examples), T), -100)
    padding_mask = torch.zeros((len(examples), T), dtype=torch.bool)
    for row, (ids, mask) in enumerate(examples):
        n = len(ids) - 1
        inputs[row, :n] = torch.tensor(ids[:-1])
        padding_mask[row, :n] = True
        targets[row, :n] = torch.tensor([ids[t] if mask[t + 1] else -100 for t in range(n)])
    return inputs, targets, padding_mask
''',
            "says": "unshifted targets",
        },
        {
            "name": "left padding",
            "code": '''
def make_batch(examples, pad_id):
    T = max(len(ids) for ids, _ in examples) - 1
    inputs = torch.full((len(examples), T), pad_id)
    targets = torch.full((len(examples), T), -100)
    padding_mask = torch.zeros((len(examples), T), dtype=torch.bool)
    for row, (ids, mask) in enumerate(examples):
        n = len(ids) - 1
        inputs[row, T - n:] = torch.tensor(ids[:-1])
        padding_mask[row, T - n:] = True
        targets[row, T - n:] = torch.tensor([ids[t + 1] if mask[t + 1] else -100 for t in range(n)])
    return inputs, targets, padding_mask
''',
            "says": "padded on the left",
        },
        {
            "name": "T = the longest length (the last token kept in the inputs)",
            "code": '''
def make_batch(examples, pad_id):
    T = max(len(ids) for ids, _ in examples)
    inputs = torch.full((len(examples), T), pad_id)
    targets = torch.full((len(examples), T), -100)
    padding_mask = torch.zeros((len(examples), T), dtype=torch.bool)
    for row, (ids, mask) in enumerate(examples):
        inputs[row, :len(ids)] = torch.tensor(ids)
        padding_mask[row, :len(ids)] = True
        targets[row, :len(ids) - 1] = torch.tensor([ids[t + 1] if mask[t + 1] else -100 for t in range(len(ids) - 1)])
    return inputs, targets, padding_mask
''',
            "says": "the last token of the longest example is only a target",
        },
        {
            "name": "padding mask inverted",
            "code": '''
def make_batch(examples, pad_id):
    T = max(len(ids) for ids, _ in examples) - 1
    inputs = torch.full((len(examples), T), pad_id)
    targets = torch.full((len(examples), T), -100)
    for row, (ids, mask) in enumerate(examples):
        n = len(ids) - 1
        inputs[row, :n] = torch.tensor(ids[:-1])
        targets[row, :n] = torch.tensor([ids[t + 1] if mask[t + 1] else -100 for t in range(n)])
    return inputs, targets, inputs == pad_id
''',
            "says": "padding_mask is inverted",
        },
    ],
    "last_token_states": [
        {
            "name": "h[:, -1] on a right-padded batch",
            "code": '''
def last_token_states(h, lengths):
    return h[:, -1]
''',
            "says": "h[:, -1]",
        },
        {
            "name": "lengths instead of lengths - 1",
            "code": '''
def last_token_states(h, lengths):
    return h[torch.arange(h.shape[0]), lengths.clamp(max=h.shape[1] - 1)]
''',
            "says": "off by one",
        },
        {
            "name": "the first token",
            "code": '''
def last_token_states(h, lengths):
    return h[:, 0]
''',
            "says": "first token",
        },
        {
            "name": "mean including pads",
            "code": '''
def last_token_states(h, lengths):
    return h.mean(dim=1)
''',
            "says": "pads included",
        },
        {
            "name": "mean pooling over the real tokens instead of the last one",
            "code": '''
def last_token_states(h, lengths):
    real = (torch.arange(h.shape[1])[None, :] < lengths[:, None]).to(h.dtype)
    return (h * real[..., None]).sum(dim=1) / real.sum(dim=1, keepdim=True)
''',
            "says": "mean pooling",
        },
        {
            "name": "h[:, lengths - 1] (every row's position in every row)",
            "code": '''
def last_token_states(h, lengths):
    return h[:, lengths - 1]
''',
            "says": "h[:, lengths - 1]",
        },
    ],
    "count_trainable": [
        {
            "name": "tied weights counted twice",
            "code": '''
def count_trainable(model):
    return sum(p.numel() for _, p in model.named_parameters(remove_duplicate=False) if p.requires_grad)
''',
            "says": "tied weights counted twice",
        },
        {
            "name": "counted over the state_dict",
            "code": '''
def count_trainable(model):
    return sum(v.numel() for v in model.state_dict().values())
''',
            "says": "state_dict",
        },
        {
            "name": "frozen weights counted",
            "code": '''
def count_trainable(model):
    return sum(p.numel() for p in model.parameters())
''',
            "says": "frozen weights counted",
        },
        {
            "name": "counts the frozen ones",
            "code": '''
def count_trainable(model):
    return sum(p.numel() for p in model.parameters() if not p.requires_grad)
''',
            "says": "instead of the trainable",
        },
        {
            "name": "counts tensors",
            "code": '''
def count_trainable(model):
    return len([p for p in model.parameters() if p.requires_grad])
''',
            "says": "counted tensors",
        },
        {
            "name": "returns a tensor",
            "code": '''
def count_trainable(model):
    return torch.tensor([p.numel() for p in model.parameters() if p.requires_grad]).sum()
''',
            "says": "python int",
        },
    ],
    "LoRALinear": [
        {
            "name": "alpha instead of alpha / r",
            "code": _LORA_INIT + '''
    def forward(self, x):
        return self.base(x) + self.alpha * (x @ self.A.T) @ self.B.T
''',
            "says": "alpha instead of alpha / r",
        },
        {
            "name": "alpha * r",
            "code": _LORA_INIT + '''
    def forward(self, x):
        return self.base(x) + self.alpha * self.r * (x @ self.A.T) @ self.B.T
''',
            "says": "alpha * r",
        },
        {
            "name": "no scale",
            "code": _LORA_INIT + '''
    def forward(self, x):
        return self.base(x) + (x @ self.A.T) @ self.B.T
''',
            "says": "no scale",
        },
        {
            "name": "B random at the start",
            "code": _LORA_INIT + '''
        nn.init.kaiming_uniform_(self.B, a=math.sqrt(5))

    def forward(self, x):
        return self.base(x) + self.alpha / self.r * (x @ self.A.T) @ self.B.T
''',
            "says": "B random at the start",
        },
        {
            "name": "A and B both zero",
            "code": _LORA_INIT + '''
        nn.init.zeros_(self.A)

    def forward(self, x):
        return self.base(x) + self.alpha / self.r * (x @ self.A.T) @ self.B.T
''',
            "says": "A and B both zero",
        },
        {
            "name": "the base weights left trainable",
            "code": '''
class LoRALinear(nn.Module):
    def __init__(self, base, r, alpha):
        super().__init__()
        self.base, self.scale = base, alpha / r
        self.A = nn.Parameter(torch.empty(r, base.in_features, dtype=base.weight.dtype))
        self.B = nn.Parameter(torch.zeros(base.out_features, r, dtype=base.weight.dtype))
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))

    def forward(self, x):
        return self.base(x) + self.scale * (x @ self.A.T) @ self.B.T
''',
            "says": "base weights left trainable",
        },
        {
            "name": "A transposed (in, r)",
            "code": '''
class LoRALinear(nn.Module):
    def __init__(self, base, r, alpha):
        super().__init__()
        self.base, self.scale = base, alpha / r
        base.requires_grad_(False)
        self.A = nn.Parameter(torch.empty(base.in_features, r, dtype=base.weight.dtype))
        self.B = nn.Parameter(torch.zeros(base.out_features, r, dtype=base.weight.dtype))
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))

    def forward(self, x):
        return self.base(x) + self.scale * (x @ self.A) @ self.B.T
''',
            "says": "A transposed",
        },
        {
            "name": "A drawn from a standard normal",
            "code": _LORA_INIT + '''
        nn.init.normal_(self.A)

    def forward(self, x):
        return self.base(x) + self.alpha / self.r * (x @ self.A.T) @ self.B.T
''',
            "says": "like nn.Linear's weight",
        },
    ],
    "merge_lora": [
        {
            "name": "merging without the scale",
            "code": '''
def merge_lora(layer):
    merged = copy.deepcopy(layer.base)
    with torch.no_grad():
        merged.weight += layer.B @ layer.A
    return merged
''',
            "says": "without the scale",
        },
        {
            "name": "alpha instead of alpha / r",
            "code": '''
def merge_lora(layer):
    merged = copy.deepcopy(layer.base)
    with torch.no_grad():
        merged.weight += layer.alpha * (layer.B @ layer.A)
    return merged
''',
            "says": "alpha instead of alpha / r",
        },
        {
            "name": "merging A@B order wrong (the transposed update)",
            "code": '''
def merge_lora(layer):
    merged = copy.deepcopy(layer.base)
    with torch.no_grad():
        merged.weight += layer.alpha / layer.r * (layer.A.T @ layer.B.T)
    return merged
''',
            "says": "order wrong",
        },
        {
            "name": "merging twice",
            "code": '''
def merge_lora(layer):
    merged = copy.deepcopy(layer.base)
    with torch.no_grad():
        for _ in range(2):
            merged.weight += layer.alpha / layer.r * (layer.B @ layer.A)
    return merged
''',
            "says": "merging twice",
        },
        {
            "name": "merged in place into the LoRA layer's base",
            "code": '''
def merge_lora(layer):
    with torch.no_grad():
        layer.base.weight += layer.alpha / layer.r * (layer.B @ layer.A)
    return layer.base
''',
            "says": "in place",
        },
        {
            "name": "the bias lost",
            "code": '''
def merge_lora(layer):
    merged = nn.Linear(layer.base.in_features, layer.base.out_features, bias=False, dtype=layer.base.weight.dtype)
    with torch.no_grad():
        merged.weight.copy_(layer.base.weight + layer.alpha / layer.r * (layer.B @ layer.A))
    return merged
''',
            "says": "bias was lost",
        },
        {
            "name": "returns the LoRA layer itself",
            "code": '''
def merge_lora(layer):
    return layer
''',
            "says": "should return an nn.Linear",
        },
    ],
}

ALTERNATIVES = {
    "build_chat_example": [
        {
            "name": "pieces appended one by one",
            "code": '''
def build_chat_example(tokenizer, prompt, response):
    ids, mask = [], []
    for piece, trained in [([tokenizer.special_tokens["<|user|>"]], 0),
                           (tokenizer.encode(prompt, allowed_special=False), 0),
                           ([tokenizer.special_tokens["<|assistant|>"]], 0),
                           (tokenizer.encode(response, allowed_special=False), 1),
                           ([tokenizer.special_tokens["<|end|>"]], 1)]:
        ids += piece
        mask += [trained] * len(piece)
    return ids, mask
''',
        },
    ],
    "make_batch": [
        {
            "name": "pad_sequence",
            "code": '''
def make_batch(examples, pad_id):
    from torch.nn.utils.rnn import pad_sequence
    inputs = pad_sequence([torch.tensor(i[:-1]) for i, _ in examples], batch_first=True, padding_value=pad_id)
    targets = pad_sequence([torch.tensor([t if m else -100 for t, m in zip(i[1:], k[1:])]) for i, k in examples],
                           batch_first=True, padding_value=-100)
    lengths = torch.tensor([len(i) - 1 for i, _ in examples])
    padding_mask = torch.arange(inputs.shape[1])[None, :] < lengths[:, None]
    return inputs, targets, padding_mask
''',
        },
    ],
    "last_token_states": [
        {
            "name": "gather",
            "code": '''
def last_token_states(h, lengths):
    index = (lengths.long() - 1)[:, None, None].expand(-1, 1, h.shape[2])
    return h.gather(1, index).squeeze(1)
''',
        },
    ],
    "LoRALinear": [
        {
            "name": "update through F.linear, base frozen with requires_grad_ on the module",
            "code": '''
class LoRALinear(nn.Module):
    def __init__(self, base, r, alpha):
        super().__init__()
        self.base = base.requires_grad_(False)
        self.scaling = alpha / r
        self.A = nn.Parameter(torch.zeros(r, base.in_features, dtype=base.weight.dtype))
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))
        self.B = nn.Parameter(torch.zeros(base.out_features, r, dtype=base.weight.dtype))

    def forward(self, x):
        return self.base(x) + F.linear(F.linear(x, self.A), self.B) * self.scaling
''',
        },
    ],
    "merge_lora": [
        {
            "name": "deepcopy of the base, then add",
            "code": '''
def merge_lora(layer):
    merged = copy.deepcopy(layer.base)
    with torch.no_grad():
        merged.weight += layer.alpha / layer.r * layer.B @ layer.A
    return merged
''',
        },
    ],
}
