"""Blocks, the GPT, the encoder, mixture of experts, and the counting formulas, with oracles:
torch.nn.TransformerEncoderLayer, per-token loops, torch's FLOP counter, and known sizes."""
from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from course_lib.transformer import (
    GPT,
    Block,
    Encoder,
    GPTConfig,
    MoEFeedForward,
    count_parameters,
    flops_per_token,
    load_balancing_loss,
    non_embedding_parameter_count,
    parameter_breakdown,
    parameter_count,
)

TINY = GPTConfig(vocab_size=50, context_length=16, n_layers=2, n_heads=2, d_model=16)


def tiny(**changes) -> GPTConfig:
    return dataclasses.replace(TINY, **changes)


def model_of(config: GPTConfig, seed: int = 0, cls=GPT) -> GPT:
    torch.manual_seed(seed)
    return cls(config).double().eval()


def ids(B=2, T=10, V=50, seed=0):
    return torch.randint(0, V, (B, T), generator=torch.Generator().manual_seed(seed))


# --- a block against torch's own pre-norm encoder layer --------------------------------------------

@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("fused", [False, True])
def test_block_matches_torch_transformer_encoder_layer(causal, fused):
    config = tiny(causal=causal, fused_attention=fused, gelu_approximation="none", d_model=12, n_heads=3)
    torch.manual_seed(0)
    block = Block(config).double().eval()
    for p in block.parameters():  # move norms and biases away from 1 and 0 so they are checked too
        torch.nn.init.normal_(p, std=0.3)
    ref = torch.nn.TransformerEncoderLayer(12, 3, dim_feedforward=48, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True, dtype=torch.float64).eval()
    with torch.no_grad():
        ref.self_attn.in_proj_weight.copy_(block.attn.qkv.weight)
        ref.self_attn.in_proj_bias.copy_(block.attn.qkv.bias)
        ref.self_attn.out_proj.weight.copy_(block.attn.proj.weight)
        ref.self_attn.out_proj.bias.copy_(block.attn.proj.bias)
        for mine, theirs in ((block.ffn.fc, ref.linear1), (block.ffn.proj, ref.linear2),
                             (block.norm1, ref.norm1), (block.norm2, ref.norm2)):
            theirs.weight.copy_(mine.weight)
            theirs.bias.copy_(mine.bias)
    x = torch.randn(2, 7, 12, dtype=torch.float64)
    padding = torch.tensor([[1] * 5 + [0] * 2, [1] * 7], dtype=torch.bool)
    mask = torch.ones(7, 7, dtype=torch.bool).triu(1) if causal else None  # torch: True = hidden
    expected = ref(x, src_mask=mask, src_key_padding_mask=~padding, is_causal=causal)
    got = block(x, padding_mask=padding)
    torch.testing.assert_close(got[:, :5], expected[:, :5], rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(got[1], expected[1], rtol=1e-10, atol=1e-10)


# --- the GPT -------------------------------------------------------------------------------------------

VARIANTS = [
    {"positions": "learned"},
    {"positions": "sinusoidal", "norm": "rmsnorm"},
    {"positions": "rope", "feedforward": "swiglu", "bias": False, "norm": "rmsnorm"},
    {"positions": "rope", "feedforward": "moe", "n_experts": 3, "expert_top_k": 2},
]


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: "-".join(map(str, v.values())))
def test_gpt_is_causal_a_token_never_sees_the_future(variant):
    model = model_of(tiny(**variant))
    x = ids()
    logits, _ = model(x)
    changed = x.clone()
    changed[:, 6:] = (changed[:, 6:] + 1) % 50
    logits_changed, _ = model(changed)
    torch.testing.assert_close(logits_changed[:, :6], logits[:, :6], rtol=0, atol=1e-12)
    assert not torch.allclose(logits_changed[:, 6:], logits[:, 6:])


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: "-".join(map(str, v.values())))
def test_fused_and_written_out_attention_give_the_same_model(variant):
    fused = model_of(tiny(**variant, fused_attention=True))
    written = model_of(tiny(**variant, fused_attention=False))
    written.load_state_dict(fused.state_dict())
    x = ids()
    torch.testing.assert_close(fused(x)[0], written(x)[0], rtol=1e-10, atol=1e-10)


def test_gpt_loss_is_cross_entropy_and_skips_ignored_targets():
    model = model_of(TINY)
    x, y = ids(seed=0), ids(seed=1)
    y[0, :4] = -100
    logits, loss = model(x, y)
    keep = y != -100
    expected = F.cross_entropy(logits[keep], y[keep])
    torch.testing.assert_close(loss, expected)
    assert logits.shape == (2, 10, 50)
    assert model(x)[1] is None


def test_weight_tying_shares_one_matrix_and_it_learns_from_both_ends():
    model = model_of(TINY)
    assert model.lm_head.weight is model.token_embedding.weight
    _, loss = model(ids(), ids(seed=1))
    loss.backward()
    grad = model.token_embedding.weight.grad
    used_as_input = torch.zeros(50, dtype=torch.bool)
    used_as_input[ids().unique()] = True
    assert torch.all(grad[~used_as_input].abs().sum(1) > 0)  # rows never fed in still learn (output side)
    untied = model_of(tiny(tie_weights=False))
    assert untied.lm_head.weight is not untied.token_embedding.weight
    assert count_parameters(untied) - count_parameters(model) == 50 * 16


def test_gpt_trains_on_a_tiny_pattern():
    torch.manual_seed(0)
    model = GPT(tiny(vocab_size=8))
    data = torch.arange(8).repeat(2, 3)[:, :16]  # 0 1 2 ... 7 0 1 ...: each token predicts the next
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(40):
        _, loss = model(data[:, :-1], data[:, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1


# --- the encoder ---------------------------------------------------------------------------------------

def test_encoder_sees_both_directions():
    encoder = model_of(TINY, cls=Encoder)
    assert encoder.config.causal is False and TINY.causal is True
    x = ids()
    changed = x.clone()
    changed[:, -1] = (changed[:, -1] + 1) % 50
    assert not torch.allclose(encoder(changed)[0][:, 0], encoder(x)[0][:, 0])  # the first token saw the last


@pytest.mark.parametrize("positions", ["learned", "rope"])
def test_encoder_with_padding_equals_the_encoder_on_the_unpadded_sequence(positions):
    encoder = model_of(tiny(positions=positions), cls=Encoder)
    short, long = ids(B=1, T=6, seed=2), ids(B=1, T=10, seed=3)
    batch = torch.cat([torch.cat([short, torch.zeros(1, 4, dtype=torch.long)], 1), long])  # right-padded
    padding = torch.tensor([[1] * 6 + [0] * 4, [1] * 10], dtype=torch.bool)
    logits, _ = encoder(batch, padding_mask=padding)
    torch.testing.assert_close(logits[0, :6], encoder(short)[0][0], rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(logits[1], encoder(long)[0][0], rtol=1e-10, atol=1e-10)
    other_padding = batch.clone()
    other_padding[0, 6:] = 7  # what sits in the padded slots must not matter
    torch.testing.assert_close(encoder(other_padding, padding_mask=padding)[0][0, :6], logits[0, :6])


def test_encoder_masked_lm_loss_counts_only_masked_positions():
    encoder = model_of(TINY, cls=Encoder)
    x = ids()
    targets = torch.full_like(x, -100)
    targets[:, 3] = x[:, 3]
    logits, loss = encoder(x, targets)
    torch.testing.assert_close(loss, F.cross_entropy(logits[:, 3], x[:, 3]))


# --- errors ---------------------------------------------------------------------------------------------

def test_config_errors_name_the_values():
    with pytest.raises(ValueError, match="d_model=100 is not divisible by n_heads=3"):
        GPTConfig(d_model=100, n_heads=3)
    with pytest.raises(ValueError, match=r"positions: expected one of 'learned', 'sinusoidal', 'rope', 'none', got 'alibi'"):
        GPTConfig(positions="alibi")
    with pytest.raises(ValueError, match="n_layers: expected a positive int, got 0"):
        GPTConfig(n_layers=0)
    with pytest.raises(ValueError, match="head size must be even.*= 3"):
        GPTConfig(d_model=12, n_heads=4, positions="rope")
    with pytest.raises(ValueError, match="expert_top_k=3 is larger than n_experts=2"):
        GPTConfig(feedforward="moe", n_experts=2, expert_top_k=3)
    with pytest.raises(ValueError, match="dropout"):
        GPTConfig(dropout=1.5)


def test_model_input_errors_name_the_shapes():
    model = model_of(TINY)
    with pytest.raises(ValueError, match="the input has 17 tokens.*context_length=16"):
        model(ids(T=17))
    with pytest.raises(ValueError, match=r"integer tensor of shape \(B, T\), got shape \(10,\)"):
        model(ids()[0])
    with pytest.raises(ValueError, match="integer tensor.*dtype torch.float32"):
        model(torch.zeros(1, 3))
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, vocab_size=50\), got ids from 0 to 50"):
        model(torch.tensor([[0, 50]]))
    with pytest.raises(ValueError, match=r"padding_mask: expected shape \(B, T\) = \(2, 10\).*got \(2, 9\)"):
        model(ids(), padding_mask=torch.ones(2, 9, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"targets must have the shape of the input ids \(2, 10\), got \(2, 9\)"):
        model(ids(), ids(T=9))
    with pytest.raises(TypeError, match="expected a GPTConfig"):
        GPT({"d_model": 16})


# --- mixture of experts ---------------------------------------------------------------------------------

def test_moe_matches_a_per_token_loop():
    torch.manual_seed(0)
    for top_k in (1, 2):
        moe = MoEFeedForward(8, 16, n_experts=4, top_k=top_k).double()
        x = torch.randn(2, 5, 8, dtype=torch.float64)
        got = moe(x)
        for b in range(2):
            for t in range(5):
                token = x[b, t]
                probs = torch.softmax(moe.router.weight @ token, dim=0)
                chosen = sorted(range(4), key=lambda e: -probs[e].item())[:top_k]
                gates = [probs[e] for e in chosen]
                if top_k > 1:
                    gates = [g / sum(gates) for g in gates]
                expected = sum(g * moe.experts[e](token) for g, e in zip(gates, chosen))
                torch.testing.assert_close(got[b, t], expected)


def test_moe_with_every_expert_identical_and_all_chosen_is_one_mlp():
    torch.manual_seed(0)
    moe = MoEFeedForward(8, 16, n_experts=3, top_k=3).double()
    for expert in moe.experts[1:]:
        expert.load_state_dict(moe.experts[0].state_dict())
    x = torch.randn(2, 4, 8, dtype=torch.float64)
    torch.testing.assert_close(moe(x), moe.experts[0](x))


def test_load_balancing_loss_is_one_when_balanced_and_n_experts_when_collapsed():
    E = 4
    uniform = torch.full((8, E), 1 / E)
    balanced_choice = torch.arange(8).remainder(E).unsqueeze(1)  # each expert gets 2 of 8 tokens
    assert load_balancing_loss(uniform, balanced_choice, E).item() == pytest.approx(1.0)
    certain = torch.zeros(8, E)
    certain[:, 0] = 1.0
    assert load_balancing_loss(certain, torch.zeros(8, 1, dtype=torch.long), E).item() == pytest.approx(E)
    # by hand: f = (3/4, 1/4, 0, 0), P = mean of the rows
    probs = torch.tensor([[0.7, 0.1, 0.1, 0.1]] * 3 + [[0.1, 0.6, 0.2, 0.1]])
    choice = torch.tensor([[0], [0], [0], [1]])
    P = probs.mean(0)
    expected = E * (0.75 * P[0] + 0.25 * P[1])
    assert load_balancing_loss(probs, choice, E).item() == pytest.approx(expected.item())


def test_moe_statistics_and_gradients():
    torch.manual_seed(0)
    moe = MoEFeedForward(8, 16, n_experts=4, top_k=2)
    out = moe(torch.randn(3, 5, 8))
    stats = moe.last_stats
    assert stats.tokens_per_expert.sum().item() == 3 * 5 * 2
    assert stats.fraction_routed.sum().item() == pytest.approx(1.0)
    assert stats.mean_probability.sum().item() == pytest.approx(1.0)
    assert stats.aux_loss.item() >= 1.0 - 1e-6  # balanced routing is the minimum
    moe(torch.randn(1, 5, 8))
    assert moe.expert_counts.sum().item() == (15 + 5) * 2
    moe.reset_statistics()
    assert moe.expert_counts.sum().item() == 0
    (out.sum() + moe.aux_loss).backward()
    assert moe.router.weight.grad.abs().sum() > 0


def test_moe_top1_router_learns_from_the_main_loss_alone():
    torch.manual_seed(0)
    moe = MoEFeedForward(8, 16, n_experts=4, top_k=1)
    moe(torch.randn(2, 5, 8)).pow(2).sum().backward()
    assert moe.router.weight.grad.abs().sum() > 0  # the gate is the raw probability, so it has a gradient


def test_gpt_with_moe_adds_the_weighted_aux_loss():
    model = model_of(tiny(feedforward="moe", n_experts=4, expert_top_k=1, moe_aux_loss_weight=0.5))
    x, y = ids(), ids(seed=1)
    logits, loss = model(x, y)
    aux = sum(block.ffn.aux_loss for block in model.blocks)
    torch.testing.assert_close(loss, F.cross_entropy(logits.reshape(-1, 50), y.reshape(-1)) + 0.5 * aux)
    assert model_of(TINY).moe_aux_loss() is None


# --- counting --------------------------------------------------------------------------------------------

COUNTED = [
    {},
    {"tie_weights": False},
    {"bias": False},
    {"positions": "rope", "norm": "rmsnorm", "feedforward": "swiglu"},
    {"positions": "sinusoidal", "feedforward": "swiglu", "d_ff": 40},
    {"feedforward": "moe", "n_experts": 3, "expert_top_k": 2},
    {"positions": "none", "norm": "rmsnorm", "bias": False, "tie_weights": False},
]


@pytest.mark.parametrize("changes", COUNTED, ids=str)
def test_parameter_formula_matches_the_model(changes):
    config = tiny(**changes)
    assert parameter_count(config) == count_parameters(GPT(config))


def test_gpt2_small_has_its_published_size():
    gpt2 = GPTConfig(vocab_size=50257, context_length=1024, n_layers=12, n_heads=12, d_model=768)
    assert parameter_count(gpt2) == 124_439_808  # the size Hugging Face reports for "gpt2"
    assert parameter_breakdown(gpt2)["token_embedding"] == 50257 * 768
    n = non_embedding_parameter_count(gpt2)
    assert n == 124_439_808 - 50257 * 768 - 1024 * 768
    # training costs about 6N per token; the output layer and attention add the rest
    assert 1.0 < flops_per_token(gpt2) / (6 * n) < 1.8
    assert flops_per_token(gpt2, training=True) == 3 * flops_per_token(gpt2, training=False)


@pytest.mark.parametrize("changes", [{}, {"feedforward": "swiglu", "bias": False},
                                     {"feedforward": "moe", "n_experts": 3, "expert_top_k": 2}], ids=str)
def test_flops_formula_matches_torch_flop_counter(changes):
    # The written-out attention path, whose matrix multiplies torch's FLOP counter sees.
    config = tiny(fused_attention=False, **changes)
    model = GPT(config)
    B, T = 2, 12
    x = ids(B=B, T=T)
    with FlopCounterMode(display=False) as forward_counter:
        model(x)
    assert forward_counter.get_total_flops() == B * T * flops_per_token(config, seq_len=T, training=False)
    with FlopCounterMode(display=False) as training_counter:
        _, loss = model(x, x)
        loss.backward()
    assert training_counter.get_total_flops() == B * T * flops_per_token(config, seq_len=T, training=True)
