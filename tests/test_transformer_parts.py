"""The transformer's parts, each against an oracle: loops written in plain Python, formulas,
and torch's own modules (nn.LayerNorm, nn.RMSNorm, nn.MultiheadAttention)."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from course_lib.transformer import (
    MLP,
    LayerNorm,
    LearnedPositions,
    MultiHeadAttention,
    RMSNorm,
    RotaryEmbedding,
    SinusoidalPositions,
    SwiGLU,
    causal_mask,
    fused_scaled_dot_product_attention,
    layer_norm,
    rms_norm,
    scaled_dot_product_attention,
    sinusoidal_table,
    stable_softmax,
)

ATTENTIONS = {"written_out": scaled_dot_product_attention, "fused": fused_scaled_dot_product_attention}


# --- a plain-Python reference for attention ---------------------------------------------------

def naive_attention(q, k, v, causal=False, padding_mask=None):
    """Attention one query at a time with Python floats: (B, H, Tq, D) ... -> (B, H, Tq, Dv)."""
    B, H, Tq, D = q.shape
    Tk, Dv = k.shape[2], v.shape[3]
    q, k, v = q.tolist(), k.tolist(), v.tolist()
    keep = padding_mask.tolist() if padding_mask is not None else None
    out = torch.zeros(B, H, Tq, Dv, dtype=torch.float64)
    for b in range(B):
        for h in range(H):
            for i in range(Tq):
                position = Tk - Tq + i  # queries are the last Tq positions
                allowed = [j for j in range(Tk)
                           if (not causal or j <= position) and (keep is None or keep[b][j])]
                if not allowed:
                    continue  # a query that may see nothing gives 0
                scores = [sum(q[b][h][i][d] * k[b][h][j][d] for d in range(D)) / math.sqrt(D) for j in allowed]
                top = max(scores)
                exps = [math.exp(s - top) for s in scores]
                total = sum(exps)
                for e in range(Dv):
                    out[b, h, i, e] = sum(x / total * v[b][h][j][e] for x, j in zip(exps, allowed))
    return out


def random_qkv(B=2, H=2, Tq=5, Tk=5, D=4, Dv=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(B, H, Tq, D, generator=g, dtype=torch.float64),
            torch.randn(B, H, Tk, D, generator=g, dtype=torch.float64),
            torch.randn(B, H, Tk, Dv, generator=g, dtype=torch.float64))


PADDING = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)  # first sequence padded


@pytest.mark.parametrize("name", ATTENTIONS)
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("padded", [False, True])
def test_attention_matches_a_plain_python_loop(name, causal, padded):
    q, k, v = random_qkv()
    padding_mask = PADDING if padded else None
    got = ATTENTIONS[name](q, k, v, causal=causal, padding_mask=padding_mask)
    torch.testing.assert_close(got, naive_attention(q, k, v, causal, padding_mask), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ATTENTIONS)
@pytest.mark.parametrize("t_q", [1, 3])
def test_causal_attention_with_fewer_queries_than_keys_treats_them_as_the_last_positions(name, t_q):
    q, k, v = random_qkv(Tq=t_q, Tk=5)
    for padding_mask in (None, PADDING):
        got = ATTENTIONS[name](q, k, v, causal=True, padding_mask=padding_mask)
        torch.testing.assert_close(got, naive_attention(q, k, v, True, padding_mask), rtol=1e-10, atol=1e-12)


def test_fused_and_written_out_agree_on_larger_float32_inputs():
    g = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(3, 4, 33, 16, generator=g) for _ in range(3))
    mask = torch.rand(3, 33, generator=g) > 0.3
    mask[:, 0] = True
    for causal in (False, True):
        for padding_mask in (None, mask):
            a = scaled_dot_product_attention(q, k, v, causal, padding_mask)
            b = fused_scaled_dot_product_attention(q, k, v, causal, padding_mask)
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ATTENTIONS)
def test_a_query_that_may_see_nothing_gives_zeros_not_nan(name):
    q, k, v = random_qkv(B=1)
    left_padded = torch.tensor([[0, 0, 1, 1, 1]], dtype=torch.bool)  # queries 0, 1 see only padding
    out = ATTENTIONS[name](q, k, v, causal=True, padding_mask=left_padded)
    assert not torch.isnan(out).any()
    assert torch.all(out[:, :, :2] == 0)
    torch.testing.assert_close(out, naive_attention(q, k, v, True, left_padded), rtol=1e-10, atol=1e-12)


def test_causal_mask_is_the_lower_triangle_and_shifts_for_a_kv_cache():
    assert torch.equal(causal_mask(3, 3), torch.tensor([[1, 0, 0], [1, 1, 0], [1, 1, 1]], dtype=torch.bool))
    assert torch.equal(causal_mask(2, 4), torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]], dtype=torch.bool))


def test_stable_softmax_survives_huge_scores_and_matches_torch():
    x = torch.tensor([[1000.0, 1001.0, 999.0], [-5.0, 0.0, 5.0]])
    got = stable_softmax(x)
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got, torch.softmax(x, dim=-1))
    all_masked = torch.full((1, 4), float("-inf"))
    assert torch.equal(stable_softmax(all_masked), torch.zeros(1, 4))


@pytest.mark.parametrize("name", ATTENTIONS)
def test_attention_dropout_zeroes_weights_and_rescales_the_rest(name):
    # With values = the identity matrix, the output *is* the (dropped-out) weight matrix.
    torch.manual_seed(0)
    q, k, _ = random_qkv(B=1, H=1, Tq=4, Tk=4)
    eye = torch.eye(4, dtype=torch.float64).expand(1, 1, 4, 4)
    weights = naive_attention(q, k, eye)
    p, n = 0.25, 2000
    samples = torch.stack([ATTENTIONS[name](q, k, eye, dropout_p=p) for _ in range(n)])  # (n, 1, 1, 4, 4)
    kept = samples != 0
    torch.testing.assert_close(samples[kept], (weights / (1 - p)).expand_as(samples)[kept])
    assert abs(1 - kept.double().mean().item() - p) < 0.02          # about p of them dropped
    torch.testing.assert_close(samples.mean(0), weights, atol=0.03, rtol=0)  # unbiased on average


def test_attention_errors_name_the_shapes():
    q, k, v = random_qkv()
    with pytest.raises(ValueError, match=r"same feature size.*q \(2, 2, 5, 4\), k \(2, 2, 5, 3\)"):
        scaled_dot_product_attention(q, k[..., :3], v)
    with pytest.raises(ValueError, match="k and v must have the same length"):
        fused_scaled_dot_product_attention(q, k, v[:, :, :4])
    with pytest.raises(ValueError, match=r"padding_mask: expected shape \(B, T_k\) = \(2, 5\).*got \(2, 4\)"):
        scaled_dot_product_attention(q, k, v, padding_mask=PADDING[:, :4])
    with pytest.raises(ValueError, match="dropout_p"):
        scaled_dot_product_attention(q, k, v, dropout_p=1.0)


def test_attention_gradients_match_finite_differences():
    q, k, v = random_qkv(B=1, H=1, Tq=3, Tk=3, D=2, Dv=2)
    padding = torch.tensor([[1, 1, 0]], dtype=torch.bool)
    inputs = tuple(t.clone().requires_grad_() for t in (q, k, v))
    assert torch.autograd.gradcheck(lambda a, b, c: scaled_dot_product_attention(a, b, c, True, padding), inputs)


# --- multi-head attention against torch.nn.MultiheadAttention ---------------------------------

def torch_mha_like(ours: MultiHeadAttention) -> torch.nn.MultiheadAttention:
    ref = torch.nn.MultiheadAttention(ours.d_model, ours.n_heads, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        ref.in_proj_weight.copy_(ours.qkv.weight)  # same (q, k, v) stacking
        ref.in_proj_bias.copy_(ours.qkv.bias)
        ref.out_proj.weight.copy_(ours.proj.weight)
        ref.out_proj.bias.copy_(ours.proj.bias)
    return ref.eval()


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("causal", [False, True])
def test_multi_head_attention_matches_torch(fused, causal):
    torch.manual_seed(0)
    ours = MultiHeadAttention(12, 3, causal=causal, fused=fused).double().eval()
    ref = torch_mha_like(ours)
    x = torch.randn(2, 6, 12, dtype=torch.float64)
    padding = torch.tensor([[1, 1, 1, 1, 0, 0], [1] * 6], dtype=torch.bool)  # right padding
    torch_mask = torch.ones(6, 6, dtype=torch.bool).triu(1) if causal else None  # torch: True = hidden
    expected, _ = ref(x, x, x, attn_mask=torch_mask, key_padding_mask=~padding, need_weights=False)
    got = ours(x, padding_mask=padding)
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-12)


def test_multi_head_attention_without_mask_or_positions_is_permutation_equivariant():
    torch.manual_seed(0)
    attn = MultiHeadAttention(8, 2, causal=False).double()
    x = torch.randn(1, 5, 8, dtype=torch.float64)
    order = torch.tensor([3, 0, 4, 1, 2])
    torch.testing.assert_close(attn(x[:, order]), attn(x)[:, order])


def test_multi_head_attention_errors():
    with pytest.raises(ValueError, match="d_model=10 is not divisible by n_heads=4"):
        MultiHeadAttention(10, 4)
    attn = MultiHeadAttention(8, 2)
    with pytest.raises(ValueError, match=r"expected input of shape \(B, T, 8\), got \(2, 3, 6\)"):
        attn(torch.randn(2, 3, 6))


# --- positions ---------------------------------------------------------------------------------

def test_sinusoidal_table_matches_the_formula():
    table = sinusoidal_table(20, 6)
    for pos in range(20):
        for i in range(3):
            angle = pos / 10000 ** (2 * i / 6)
            assert table[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert table[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)
    assert sinusoidal_table(4, 5).shape == (4, 5)  # an odd width works too


def test_position_modules_honour_the_offset_and_the_context():
    learned, fixed = LearnedPositions(10, 4), SinusoidalPositions(10, 4)
    for module, table in ((learned, learned.table.weight), (fixed, fixed.table)):
        assert torch.equal(module(3, offset=2), table[2:5])
        with pytest.raises(ValueError, match=r"positions 8\.\.10 are outside the context.*0\.\.9"):
            module(3, offset=8)


def rotate_with_complex_numbers(x: torch.Tensor, position: int, base: float = 10000.0) -> torch.Tensor:
    """RoPE as complex multiplication: pair (x_i, x_{i+D/2}) is the complex number x_i + i x_{i+D/2}."""
    half = x.shape[-1] // 2
    theta = base ** (-torch.arange(half, dtype=torch.float64) * 2 / x.shape[-1])
    z = torch.complex(x[..., :half], x[..., half:]) * torch.exp(1j * position * theta)
    return torch.cat([z.real, z.imag], dim=-1)


def test_rope_is_a_rotation_by_position_times_frequency():
    rope = RotaryEmbedding(8, 64)
    x = torch.randn(2, 3, 1, 8, dtype=torch.float64)
    for position in (0, 1, 17, 63):
        got = rope(x, offset=position)
        torch.testing.assert_close(got, rotate_with_complex_numbers(x, position), rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(got.norm(dim=-1), x.norm(dim=-1))  # rotations keep lengths
    assert torch.equal(rope(x, offset=0), x)


def test_rope_scores_depend_only_on_the_offset_between_positions():
    rope = RotaryEmbedding(16, 128)
    torch.manual_seed(0)
    q, k = torch.randn(16, dtype=torch.float64), torch.randn(16, dtype=torch.float64)

    def score(m, n):
        return (rope(q.view(1, 1, 16), offset=m) * rope(k.view(1, 1, 16), offset=n)).sum().item()

    for m, n in ((5, 2), (2, 5), (40, 40), (10, 0)):
        reference = score(m, n)
        for shift in (1, 7, 60):
            assert score(m + shift, n + shift) == pytest.approx(reference, rel=1e-5, abs=1e-6)
    assert score(5, 2) != pytest.approx(score(5, 3), abs=1e-3)  # and the offset does matter


def test_rope_rotates_a_sequence_token_by_token():
    rope = RotaryEmbedding(4, 16)
    x = torch.randn(1, 2, 5, 4, dtype=torch.float64)  # (B, H, T, D)
    whole = rope(x, offset=3)
    for t in range(5):
        torch.testing.assert_close(whole[:, :, t : t + 1], rope(x[:, :, t : t + 1], offset=3 + t))
    with pytest.raises(ValueError, match="head_dim must be even"):
        RotaryEmbedding(5, 16)


# --- norms ---------------------------------------------------------------------------------------

def test_layer_norm_matches_torch_values_and_gradients():
    torch.manual_seed(0)
    x = torch.randn(3, 4, 10, dtype=torch.float64, requires_grad=True)
    ref = torch.nn.LayerNorm(10, eps=1e-5, dtype=torch.float64)
    ours = LayerNorm(10, eps=1e-5).double()
    with torch.no_grad():
        for module in (ref, ours):
            module.weight.copy_(torch.linspace(0.5, 2.0, 10))
            module.bias.copy_(torch.linspace(-1.0, 1.0, 10))
    expected = ref(x)
    torch.testing.assert_close(ours(x), expected)
    torch.testing.assert_close(layer_norm(x, ours.weight, ours.bias, 1e-5), expected)
    (grad_ref,) = torch.autograd.grad(expected.pow(2).sum(), x)
    (grad_ours,) = torch.autograd.grad(layer_norm(x, ours.weight, ours.bias, 1e-5).pow(2).sum(), x)
    torch.testing.assert_close(grad_ours, grad_ref)
    assert LayerNorm(10, bias=False).bias is None


def test_rms_norm_matches_torch():
    torch.manual_seed(0)
    x = torch.randn(3, 4, 10, dtype=torch.float64) * 5
    ref = torch.nn.RMSNorm(10, eps=1e-6, dtype=torch.float64)
    ours = RMSNorm(10, eps=1e-6).double()
    with torch.no_grad():
        ref.weight.copy_(torch.linspace(0.5, 2.0, 10))
        ours.weight.copy_(ref.weight)
    torch.testing.assert_close(ours(x), ref(x))
    torch.testing.assert_close(rms_norm(x, ours.weight, 1e-6), ref(x))


# --- feed-forward ------------------------------------------------------------------------------------

def gelu_formula(x, approximation):
    if approximation == "tanh":
        return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    return x * 0.5 * (1 + torch.special.erf(x / math.sqrt(2)))  # x * Phi(x)


@pytest.mark.parametrize("approximation", ["tanh", "none"])
def test_mlp_is_linear_gelu_linear(approximation):
    torch.manual_seed(0)
    mlp = MLP(6, 24, gelu_approximation=approximation).double()
    x = torch.randn(2, 3, 6, dtype=torch.float64)
    hidden = gelu_formula(x @ mlp.fc.weight.T + mlp.fc.bias, approximation)
    torch.testing.assert_close(mlp(x), hidden @ mlp.proj.weight.T + mlp.proj.bias)


def test_swiglu_gates_one_projection_with_another():
    torch.manual_seed(0)
    ffn = SwiGLU(6, 16).double()
    x = torch.randn(2, 3, 6, dtype=torch.float64)
    gate = x @ ffn.gate.weight.T
    hidden = gate / (1 + torch.exp(-gate)) * (x @ ffn.up.weight.T)  # silu(g) = g * sigmoid(g)
    torch.testing.assert_close(ffn(x), hidden @ ffn.down.weight.T)
    assert ffn.gate.bias is None


def test_torch_gelu_names_are_what_the_config_passes():
    x = torch.linspace(-4, 4, 50, dtype=torch.float64)
    for approximation in ("tanh", "none"):
        torch.testing.assert_close(F.gelu(x, approximate=approximation), gelu_formula(x, approximation))
