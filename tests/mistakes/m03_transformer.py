"""Recorded common mistakes for lesson 03: each must lose its points, with a message that names it.

MISTAKES maps an answer cell's grade_id to plausible wrong answers a learner writes:
``code`` replaces the whole answer cell, and the failure message of the test cell(s) that
follow must contain ``says`` (case-insensitive). The first entry of each list is also used
when a whole mistaken notebook is autograded.

ALTERNATIVES holds correct answers written differently from the solution; each must pass.
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
        {
            "name": "softmax written as exp / sum, without subtracting the max (overflows)",
            "code": '''
def causal_attention(q, k, v):
    T, D = q.shape[-2], q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(D)
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    e = torch.exp(scores).masked_fill(~mask, 0.0)
    return e / e.sum(dim=-1, keepdim=True) @ v
''',
            "says": "overflows",
        },
        {
            "name": "scales by the width of the values",
            "code": '''
def causal_attention(q, k, v):
    T, D = v.shape[-2], v.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(D)
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1) @ v
''',
            "says": "width of the VALUES",
        },
        {
            "name": "masks the future with 0 instead of -inf",
            "code": '''
def causal_attention(q, k, v):
    T, D = q.shape[-2], q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(D)
    mask = torch.tril(torch.ones(T, T))
    return torch.softmax(scores * mask, dim=-1) @ v
''',
            "says": "set to 0, not -inf",
        },
        {
            "name": "softmax over the queries (dim=-2)",
            "code": '''
def causal_attention(q, k, v):
    T, D = q.shape[-2], q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(D)
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-2) @ v
''',
            "says": "wrong dimension",
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
        {
            "name": "views the features as (D, H) instead of (H, D)",
            "code": '''
def split_heads(x, n_heads):
    B, T, C = x.shape
    return x.view(B, T, C // n_heads, n_heads).permute(0, 3, 1, 2)

def merge_heads(y):
    B, H, T, D = y.shape
    return y.transpose(1, 2).reshape(B, T, H * D)
''',
            "says": "h*D .. (h+1)*D - 1",
        },
        {
            "name": "transposes (B, T, C) to (B, C, T) before cutting",
            "code": '''
def split_heads(x, n_heads):
    B, T, C = x.shape
    return x.transpose(1, 2).reshape(B, n_heads, T, C // n_heads)

def merge_heads(y):
    B, H, T, D = y.shape
    return y.transpose(1, 2).reshape(B, T, H * D)
''',
            "says": "transposing x to (B, C, T)",
        },
        {
            "name": "merges with a permute that interleaves the heads",
            "code": '''
def split_heads(x, n_heads):
    B, T, C = x.shape
    return x.view(B, T, n_heads, C // n_heads).transpose(1, 2)

def merge_heads(y):
    B, H, T, D = y.shape
    return y.permute(0, 2, 3, 1).reshape(B, T, H * D)
''',
            "says": "interleaves the heads",
        },
        {
            "name": "merge forgets to flatten the heads",
            "code": '''
def split_heads(x, n_heads):
    B, T, C = x.shape
    return x.view(B, T, n_heads, C // n_heads).transpose(1, 2)

def merge_heads(y):
    return y.transpose(1, 2)
''',
            "says": "flatten the last two axes",
        },
    ],
    "attention_layer": [
        {
            "name": "no causal mask",
            "code": '''
class CausalSelfAttention(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.n_heads, self.head_dim = n_heads, d_model // n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=-1)
        q, k, v = (t.view(B, T, self.n_heads, self.head_dim).transpose(1, 2) for t in (q, k, v))
        weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(self.head_dim), dim=-1)
        return self.proj((weights @ v).transpose(1, 2).reshape(B, T, C))
''',
            "says": "no causal mask",
        },
        {
            "name": "scales by the model width",
            "code": '''
class CausalSelfAttention(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=-1)
        q, k, v = (t.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=1 / math.sqrt(C))
        return self.proj(y.transpose(1, 2).reshape(B, T, C))
''',
            "says": "HEAD width",
        },
        {
            "name": "forgets the output projection",
            "code": '''
class CausalSelfAttention(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=-1)
        q, k, v = (t.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return y.transpose(1, 2).reshape(B, T, C)
''',
            "says": "projection is missing",
        },
        {
            "name": "takes keys, queries, values in the wrong order",
            "code": '''
class CausalSelfAttention(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x):
        B, T, C = x.shape
        k, q, v = self.qkv(x).split(C, dim=-1)
        q, k, v = (t.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))
''',
            "says": "queries first",
        },
        {
            "name": "splits the heads with a plain view",
            "code": '''
class CausalSelfAttention(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=-1)
        q, k, v = (t.reshape(B, self.n_heads, T, C // self.n_heads) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))
''',
            "says": "wrong transpose when splitting",
        },
        {
            "name": "merges the heads without transposing back",
            "code": '''
class CausalSelfAttention(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=-1)
        q, k, v = (t.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.reshape(B, T, C))
''',
            "says": "wrong transpose when merging",
        },
        {
            "name": "linear layers without bias",
            "code": '''
class CausalSelfAttention(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)
        self.proj = nn.Linear(d_model, d_model, bias=False)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=-1)
        q, k, v = (t.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))
''',
            "says": "both with bias",
        },
        {
            "name": "three separate linear layers",
            "code": '''
class CausalSelfAttention(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.n_heads = n_heads
        self.q, self.k, self.v = (nn.Linear(d_model, d_model) for _ in range(3))
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = (layer(x).view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2) for layer in (self.q, self.k, self.v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))
''',
            "says": "exactly two parts",
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
        {
            "name": "ignores the eps argument",
            "code": '''
def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    variance = x.var(dim=-1, keepdim=True, unbiased=False)
    return (x - mean) / torch.sqrt(variance + 1e-5) * weight + bias
''',
            "says": "ignored the eps argument",
        },
        {
            "name": "divides by the variance",
            "code": '''
def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    variance = x.var(dim=-1, keepdim=True, unbiased=False)
    return (x - mean) / (variance + eps) * weight + bias
''',
            "says": "not by the variance",
        },
        {
            "name": "weight and bias swapped",
            "code": '''
def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    variance = x.var(dim=-1, keepdim=True, unbiased=False)
    return (x - mean) / torch.sqrt(variance + eps) * bias + weight
''',
            "says": "swapped",
        },
        {
            "name": "statistics without keepdim (a raw broadcasting error)",
            "code": '''
def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=-1)
    variance = x.var(dim=-1, unbiased=False)
    return (x - mean) / torch.sqrt(variance + eps) * weight + bias
''',
            "says": "keepdim=True",
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
        {
            "name": "calls the block itself",
            "code": '''
def block_forward(block, x):
    return block(x)
''',
            "says": "called block(x)",
        },
        {
            "name": "adds in place to the caller's x",
            "code": '''
def block_forward(block, x):
    x += block.attn(block.norm1(x))
    x += block.ffn(block.norm2(x))
    return x
''',
            "says": "in place",
        },
        {
            "name": "attention on the un-normalised stream",
            "code": '''
def block_forward(block, x):
    x = x + block.attn(x)
    return x + block.ffn(block.norm2(x))
''',
            "says": "normalised stream",
        },
        {
            "name": "parallel branches: both read the input x",
            "code": '''
def block_forward(block, x):
    return x + block.attn(block.norm1(x)) + block.ffn(block.norm2(x))
''',
            "says": "both branches read the same x",
        },
        {
            "name": "feed-forward first",
            "code": '''
def block_forward(block, x):
    x = x + block.ffn(block.norm2(x))
    return x + block.attn(block.norm1(x))
''',
            "says": "wrong order",
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
        {
            "name": "sorts ascending",
            "code": '''
def top_p_filter(logits, p):
    sorted_logits, order = torch.sort(logits, dim=-1)
    probs = torch.softmax(sorted_logits, dim=-1)
    keep_sorted = torch.cumsum(probs, dim=-1) - probs < p
    keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
    return logits.masked_fill(~keep, float("-inf"))
''',
            "says": "least to most likely",
        },
        {
            "name": "puts the mask back with gather",
            "code": '''
def top_p_filter(logits, p):
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    probs = torch.softmax(sorted_logits, dim=-1)
    keep_sorted = torch.cumsum(probs, dim=-1) - probs < p
    keep = keep_sorted.gather(-1, order)
    return logits.masked_fill(~keep, float("-inf"))
''',
            "says": "gather",
        },
        {
            "name": "returns the filtered logits in sorted order",
            "code": '''
def top_p_filter(logits, p):
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    probs = torch.softmax(sorted_logits, dim=-1)
    keep_sorted = torch.cumsum(probs, dim=-1) - probs < p
    return sorted_logits.masked_fill(~keep_sorted, float("-inf"))
''',
            "says": "sorted order",
        },
        {
            "name": "softmax over the batch (dim=0)",
            "code": '''
def top_p_filter(logits, p):
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    probs = torch.softmax(sorted_logits, dim=0)
    keep_sorted = torch.cumsum(probs, dim=-1) - probs < p
    keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
    return logits.masked_fill(~keep, float("-inf"))
''',
            "says": "wrong dimension",
        },
        {
            "name": "dropped tokens set to 0",
            "code": '''
def top_p_filter(logits, p):
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    probs = torch.softmax(sorted_logits, dim=-1)
    keep_sorted = torch.cumsum(probs, dim=-1) - probs < p
    keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
    return logits * keep
''',
            "says": "not 0",
        },
        {
            "name": "returns probabilities",
            "code": '''
def top_p_filter(logits, p):
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    probs = torch.softmax(sorted_logits, dim=-1)
    keep_sorted = torch.cumsum(probs, dim=-1) - probs < p
    keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
    return torch.softmax(logits, dim=-1).masked_fill(~keep, float("-inf"))
''',
            "says": "not probabilities",
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
        {
            "name": "appends along the feature axis",
            "code": '''
def kv_cache_step(q_new, k_new, v_new, k_cache, v_cache):
    k_all = torch.cat([k_cache, k_new], dim=-1)
    v_all = torch.cat([v_cache, v_new], dim=-1)
    scores = q_new @ k_all.transpose(-2, -1) / math.sqrt(q_new.shape[-1])
    return torch.softmax(scores, dim=-1) @ v_all, k_all, v_all
''',
            "says": "along the time axis",
        },
        {
            "name": "softmax over the query axis",
            "code": '''
def kv_cache_step(q_new, k_new, v_new, k_cache, v_cache):
    k_all = torch.cat([k_cache, k_new], dim=2)
    v_all = torch.cat([v_cache, v_new], dim=2)
    scores = q_new @ k_all.transpose(-2, -1) / math.sqrt(q_new.shape[-1])
    return torch.softmax(scores, dim=-2) @ v_all, k_all, v_all
''',
            "says": "wrong dimension",
        },
        {
            "name": "returns the old cache",
            "code": '''
def kv_cache_step(q_new, k_new, v_new, k_cache, v_cache):
    k_all = torch.cat([k_cache, k_new], dim=2)
    v_all = torch.cat([v_cache, v_new], dim=2)
    scores = q_new @ k_all.transpose(-2, -1) / math.sqrt(q_new.shape[-1])
    return torch.softmax(scores, dim=-1) @ v_all, k_cache, v_cache
''',
            "says": "OLD cache",
        },
    ],
}

# Correct answers written differently from the solution: the test cells must give them full marks.
ALTERNATIVES = {
    "causal_attention": [
        {
            "name": "torch's fused kernel",
            "code": '''
import torch.nn.functional as F
def causal_attention(q, k, v):
    return F.scaled_dot_product_attention(q, k, v, is_causal=True)
''',
        },
        {
            "name": "triu future mask, -1e9",
            "code": '''
def causal_attention(q, k, v):
    T = q.shape[-2]
    scores = torch.matmul(q, k.transpose(-1, -2)) * q.shape[-1] ** -0.5
    future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    scores = scores.masked_fill(future, -1e9)
    return scores.softmax(-1) @ v
''',
        },
        {
            "name": "manual stable softmax with where",
            "code": '''
def causal_attention(q, k, v):
    T, D = q.shape[-2], q.shape[-1]
    s = q @ k.mT / math.sqrt(D)
    s = torch.where(torch.ones(T, T, dtype=torch.bool).tril(), s, torch.tensor(float("-inf"), dtype=s.dtype))
    s = s - s.amax(-1, keepdim=True)
    e = s.exp()
    return (e / e.sum(-1, keepdim=True)) @ v
''',
        },
    ],
    "heads": [
        {
            "name": "reshape/permute/flatten",
            "code": '''
def split_heads(x, n_heads):
    B, T, C = x.shape
    return x.reshape(B, T, n_heads, -1).permute(0, 2, 1, 3)

def merge_heads(y):
    return y.permute(0, 2, 1, 3).flatten(2)
''',
        },
        {
            "name": "unflatten and contiguous view",
            "code": '''
def split_heads(x, n_heads):
    return x.unflatten(-1, (n_heads, -1)).transpose(1, 2)

def merge_heads(y):
    B, H, T, D = y.shape
    return y.transpose(1, 2).contiguous().view(B, T, H * D)
''',
        },
    ],
    "attention_layer": [
        {
            "name": "chunk and fused kernel",
            "code": '''
import torch.nn.functional as F
class CausalSelfAttention(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.h = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
    def forward(self, x):
        B, T, C = x.shape
        q, k, v = (t.reshape(B, T, self.h, -1).transpose(1, 2) for t in self.qkv(x).chunk(3, dim=-1))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))
''',
        },
        {
            "name": "library attention",
            "code": '''
class CausalSelfAttention(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
    def forward(self, x):
        B, T, C = x.shape
        qkv = self.qkv(x).view(B, T, 3, self.n_heads, C // self.n_heads).permute(2, 0, 3, 1, 4)
        y = tf.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], causal=True)
        return self.proj(y.permute(0, 2, 1, 3).reshape(B, T, C))
''',
        },
    ],
    "layer_norm": [
        {
            "name": "torch's layer_norm",
            "code": '''
import torch.nn.functional as F
def layer_norm(x, weight, bias, eps=1e-5):
    return F.layer_norm(x, x.shape[-1:], weight, bias, eps)
''',
        },
        {
            "name": "var_mean and rsqrt",
            "code": '''
def layer_norm(x, weight, bias, eps=1e-5):
    var, mean = torch.var_mean(x, dim=-1, keepdim=True, correction=0)
    return weight * (x - mean) * torch.rsqrt(var + eps) + bias
''',
        },
        {
            "name": "squared deviations by hand",
            "code": '''
def layer_norm(x, weight, bias, eps=1e-5):
    centred = x - x.mean(-1, keepdim=True)
    return centred / ((centred ** 2).mean(-1, keepdim=True) + eps).sqrt() * weight + bias
''',
        },
    ],
    "block_forward": [
        {
            "name": "named intermediate",
            "code": '''
def block_forward(block, x):
    attended = block.attn(block.norm1(x))
    y = x + attended
    return y + block.ffn(block.norm2(y))
''',
        },
        {
            "name": "loop over the branches",
            "code": '''
def block_forward(block, x):
    for norm, branch in [(block.norm1, block.attn), (block.norm2, block.ffn)]:
        x = x + branch(norm(x))
    return x
''',
        },
    ],
    "top_p": [
        {
            "name": "HF-style shift",
            "code": '''
def top_p_filter(logits, p):
    sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
    cum = sorted_logits.softmax(-1).cumsum(-1)
    remove = cum > p
    remove[..., 1:] = remove[..., :-1].clone()
    remove[..., 0] = False
    remove = remove.scatter(-1, order, remove)
    return logits.masked_fill(remove, float("-inf"))
''',
        },
        {
            "name": "gather with the inverse permutation",
            "code": '''
def top_p_filter(logits, p):
    probs, order = torch.softmax(logits, -1).sort(-1, descending=True)
    keep_sorted = probs.cumsum(-1) - probs < p
    keep = keep_sorted.gather(-1, order.argsort(-1))
    return torch.where(keep, logits, torch.full_like(logits, float("-inf")))
''',
        },
    ],
    "kv_step": [
        {
            "name": "fused kernel",
            "code": '''
import torch.nn.functional as F
def kv_cache_step(q_new, k_new, v_new, k_cache, v_cache):
    k_all, v_all = torch.cat((k_cache, k_new), 2), torch.cat((v_cache, v_new), 2)
    return F.scaled_dot_product_attention(q_new, k_all, v_all), k_all, v_all
''',
        },
        {
            "name": "returns a list",
            "code": '''
def kv_cache_step(q_new, k_new, v_new, k_cache, v_cache):
    k_all = torch.cat([k_cache, k_new], dim=-2)
    v_all = torch.cat([v_cache, v_new], dim=-2)
    w = torch.softmax(q_new @ k_all.transpose(-1, -2) / q_new.shape[-1] ** 0.5, dim=-1)
    return [w @ v_all, k_all, v_all]
''',
        },
    ],
}
