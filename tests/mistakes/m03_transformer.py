"""Recorded common mistakes for lesson 03: each must lose its points, with a message that names it.

MISTAKES maps an answer cell's grade_id to plausible wrong answers a learner writes:
``code`` replaces the whole answer cell, and the failure message of the test cell(s) that
follow must contain ``says`` (case-insensitive). The first entry of each list is also used
when a whole mistaken notebook is autograded.
"""

MISTAKES = {
    "causal_attention": [
        {
            "name": "scales by d instead of sqrt(d)",
            "code": '''
def causal_attention(q, k, v):
    T, D = q.shape[-2], q.shape[-1]
    scores = q @ k.transpose(-2, -1) / D
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1) @ v
''',
            "says": "scaled by d instead of sqrt(d)",
        },
        {
            "name": "masks after the softmax",
            "code": '''
def causal_attention(q, k, v):
    T, D = q.shape[-2], q.shape[-1]
    weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(D), dim=-1)
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    return weights.masked_fill(~mask, 0.0) @ v
''',
            "says": "masked after the softmax",
        },
        {
            "name": "off-by-one mask: hides the diagonal (triu with diagonal 0)",
            "code": '''
def causal_attention(q, k, v):
    T, D = q.shape[-2], q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(D)
    future = torch.triu(torch.ones(T, T, dtype=torch.bool))
    return torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1) @ v
''',
            "says": "off-by-one causal mask",
        },
        {
            "name": "off-by-one mask: lets each token see the next one",
            "code": '''
def causal_attention(q, k, v):
    T, D = q.shape[-2], q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(D)
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1) @ v
''',
            "says": "off-by-one causal mask",
        },
        {
            "name": "no scaling",
            "code": '''
def causal_attention(q, k, v):
    T = q.shape[-2]
    scores = q @ k.transpose(-2, -1)
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1) @ v
''',
            "says": "not scaled",
        },
        {
            "name": "no causal mask",
            "code": '''
def causal_attention(q, k, v):
    return torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1) @ v
''',
            "says": "no causal mask",
        },
    ],
    "heads": [
        {
            "name": "wrong transpose: views (B, H, T, D) directly",
            "code": '''
def split_heads(x, n_heads):
    B, T, C = x.shape
    return x.view(B, n_heads, T, C // n_heads)

def merge_heads(y):
    B, H, T, D = y.shape
    return y.transpose(1, 2).reshape(B, T, H * D)
''',
            "says": "wrong transpose",
        },
        {
            "name": "forgets the transpose when splitting",
            "code": '''
def split_heads(x, n_heads):
    B, T, C = x.shape
    return x.view(B, T, n_heads, C // n_heads)

def merge_heads(y):
    B, H, T, D = y.shape
    return y.transpose(1, 2).reshape(B, T, H * D)
''',
            "says": "wrong transpose",
        },
        {
            "name": "merges without transposing back",
            "code": '''
def split_heads(x, n_heads):
    B, T, C = x.shape
    return x.view(B, T, n_heads, C // n_heads).transpose(1, 2)

def merge_heads(y):
    B, H, T, D = y.shape
    return y.reshape(B, T, H * D)
''',
            "says": "wrong transpose",
        },
        {
            "name": "view after transpose (not contiguous)",
            "code": '''
def split_heads(x, n_heads):
    B, T, C = x.shape
    return x.view(B, T, n_heads, C // n_heads).transpose(1, 2)

def merge_heads(y):
    B, H, T, D = y.shape
    return y.transpose(1, 2).view(B, T, H * D)
''',
            "says": "not contiguous",
        },
    ],
    "layer_norm": [
        {
            "name": "normalises over the wrong dimension (dim=0)",
            "code": '''
def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=0, keepdim=True)
    variance = x.var(dim=0, keepdim=True, unbiased=False)
    return (x - mean) / torch.sqrt(variance + eps) * weight + bias
''',
            "says": "wrong dimension",
        },
        {
            "name": "normalises over all entries at once",
            "code": '''
def layer_norm(x, weight, bias, eps=1e-5):
    return (x - x.mean()) / torch.sqrt(x.var(unbiased=False) + eps) * weight + bias
''',
            "says": "wrong dimension",
        },
        {
            "name": "unbiased variance (divides by C - 1)",
            "code": '''
def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    variance = x.var(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(variance + eps) * weight + bias
''',
            "says": "C - 1",
        },
        {
            "name": "eps outside the square root",
            "code": '''
def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    std = x.std(dim=-1, keepdim=True, unbiased=False)
    return (x - mean) / (std + eps) * weight + bias
''',
            "says": "inside the square root",
        },
        {
            "name": "forgets the scale and shift",
            "code": '''
def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    variance = x.var(dim=-1, keepdim=True, unbiased=False)
    return (x - mean) / torch.sqrt(variance + eps)
''',
            "says": "scale and shift",
        },
    ],
    "block_forward": [
        {
            "name": "post-norm",
            "code": '''
def block_forward(block, x):
    x = block.norm1(x + block.attn(x))
    return block.norm2(x + block.ffn(x))
''',
            "says": "post-norm",
        },
        {
            "name": "no residual connections",
            "code": '''
def block_forward(block, x):
    x = block.attn(block.norm1(x))
    return block.ffn(block.norm2(x))
''',
            "says": "residual connections are missing",
        },
        {
            "name": "residual added to the normalised x",
            "code": '''
def block_forward(block, x):
    h = block.norm1(x)
    x = h + block.attn(h)
    h = block.norm2(x)
    return h + block.ffn(h)
''',
            "says": "added to the normalised x",
        },
        {
            "name": "norm1 used for both branches",
            "code": '''
def block_forward(block, x):
    x = x + block.attn(block.norm1(x))
    return x + block.ffn(block.norm1(x))
''',
            "says": "own norm",
        },
        {
            "name": "forgets the feed-forward branch",
            "code": '''
def block_forward(block, x):
    return x + block.attn(block.norm1(x))
''',
            "says": "feed-forward branch is missing",
        },
    ],
    "top_p": [
        {
            "name": "drops the token that crosses the threshold",
            "code": '''
def top_p_filter(logits, p):
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    cumulative = torch.cumsum(torch.softmax(sorted_logits, dim=-1), dim=-1)
    keep_sorted = cumulative <= p
    keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
    return logits.masked_fill(~keep, float("-inf"))
''',
            "says": "drops the token that crosses the threshold",
        },
        {
            "name": "does not sort before the cumulative sum",
            "code": '''
def top_p_filter(logits, p):
    probs = torch.softmax(logits, dim=-1)
    mass_before = torch.cumsum(probs, dim=-1) - probs
    return logits.masked_fill(mass_before >= p, float("-inf"))
''',
            "says": "sort the tokens",
        },
    ],
    "kv_step": [
        {
            "name": "attends before appending the new key and value",
            "code": '''
def kv_cache_step(q_new, k_new, v_new, k_cache, v_cache):
    weights = torch.softmax(q_new @ k_cache.transpose(-2, -1) / math.sqrt(q_new.shape[-1]), dim=-1)
    out = weights @ v_cache
    return out, torch.cat([k_cache, k_new], dim=2), torch.cat([v_cache, v_new], dim=2)
''',
            "says": "its own key",
        },
        {
            "name": "top-left causal mask on the (1, T+1) scores",
            "code": '''
def kv_cache_step(q_new, k_new, v_new, k_cache, v_cache):
    k_all = torch.cat([k_cache, k_new], dim=2)
    v_all = torch.cat([v_cache, v_new], dim=2)
    scores = q_new @ k_all.transpose(-2, -1) / math.sqrt(q_new.shape[-1])
    mask = torch.ones(1, k_all.shape[2], dtype=torch.bool).tril()
    weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    return weights @ v_all, k_all, v_all
''',
            "says": "off-by-one causal mask",
        },
        {
            "name": "puts the new key first",
            "code": '''
def kv_cache_step(q_new, k_new, v_new, k_cache, v_cache):
    k_all = torch.cat([k_new, k_cache], dim=2)
    v_all = torch.cat([v_new, v_cache], dim=2)
    scores = q_new @ k_all.transpose(-2, -1) / math.sqrt(q_new.shape[-1])
    return torch.softmax(scores, dim=-1) @ v_all, k_all, v_all
''',
            "says": "at the END",
        },
        {
            "name": "scales by d instead of sqrt(d)",
            "code": '''
def kv_cache_step(q_new, k_new, v_new, k_cache, v_cache):
    k_all = torch.cat([k_cache, k_new], dim=2)
    v_all = torch.cat([v_cache, v_new], dim=2)
    scores = q_new @ k_all.transpose(-2, -1) / q_new.shape[-1]
    return torch.softmax(scores, dim=-1) @ v_all, k_all, v_all
''',
            "says": "scaled by d instead of sqrt(d)",
        },
    ],
}
