"""Sampling rules against brute-force definitions, and the KV cache against recomputing everything."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from course_lib.transformer import (
    GPT,
    GPTConfig,
    KVCache,
    generate,
    sample_next_token,
    top_k_filter,
    top_p_filter,
)

TINY = GPTConfig(vocab_size=40, context_length=24, n_layers=2, n_heads=2, d_model=16)


def model_of(seed=0, dtype=torch.float32, **changes) -> GPT:
    torch.manual_seed(seed)
    model = GPT(dataclasses.replace(TINY, **changes)).to(dtype).eval()
    with torch.no_grad():  # larger weights than GPT-2's init, so the logits are far from uniform
        model.token_embedding.weight.mul_(20)
    return model


def prompt_of(B=2, T=5, seed=0):
    return torch.randint(0, 40, (B, T), generator=torch.Generator().manual_seed(seed))


# --- filters ---------------------------------------------------------------------------------------

def test_top_k_keeps_exactly_the_k_largest():
    logits = torch.randn(3, 20, generator=torch.Generator().manual_seed(0))
    for k in (1, 5, 20, 100):
        kept = torch.isfinite(top_k_filter(logits, k))
        expected = torch.zeros_like(kept).scatter(1, logits.topk(min(k, 20), dim=1).indices, True)
        assert torch.equal(kept, expected)
    filtered = top_k_filter(logits, 5)
    kept = torch.isfinite(filtered)
    torch.testing.assert_close(filtered[kept], logits[kept])  # the kept logits are unchanged


def test_top_p_keeps_the_token_that_crosses_the_threshold():
    probs = torch.tensor([[0.05, 0.5, 0.15, 0.3]])
    logits = probs.log()
    def kept(p):
        return torch.isfinite(top_p_filter(logits, p))[0].tolist()
    assert kept(0.7) == [False, True, False, True]    # 0.5 < 0.7, adding 0.3 crosses it: keep both
    assert kept(0.5) == [False, True, False, False]   # 0.5 reaches 0.5 on its own
    assert kept(0.1) == [False, True, False, False]   # the most likely token always stays
    assert kept(0.96) == [True, True, True, True]


def test_top_p_matches_a_brute_force_definition():
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        logits = torch.randn(1, 12, generator=g) * 2
        p = torch.rand(1, generator=g).item()
        probs = torch.softmax(logits[0], 0).tolist()
        order = sorted(range(12), key=lambda i: -probs[i])
        chosen, total = set(), 0.0
        for i in order:  # the smallest set of most likely tokens with total >= p
            chosen.add(i)
            total += probs[i]
            if total >= p:
                break
        kept = torch.isfinite(top_p_filter(logits, p))[0]
        assert {i for i in range(12) if kept[i]} == chosen


# --- sampling -------------------------------------------------------------------------------------------

def frequencies(logits, n=6000, **settings):
    g = torch.Generator().manual_seed(0)
    draws = sample_next_token(logits.expand(n, -1), generator=g, **settings)[:, 0]
    return torch.bincount(draws, minlength=logits.shape[-1]).double() / n


def test_sampling_follows_softmax_of_logits_over_temperature():
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0]])
    for temperature in (0.5, 1.0, 2.0):
        expected = torch.softmax(logits[0].double() / temperature, 0)
        torch.testing.assert_close(frequencies(logits, temperature=temperature), expected, atol=0.02, rtol=0)


def test_sampling_with_top_k_and_top_p_renormalises_what_is_kept():
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0]])
    probs = torch.softmax(logits[0].double(), 0)
    expected = torch.zeros(4, dtype=torch.float64)
    expected[:2] = probs[:2] / probs[:2].sum()
    torch.testing.assert_close(frequencies(logits, top_k=2), expected, atol=0.02, rtol=0)
    p = (probs[0] + probs[1] / 2).item()  # crossing inside the second token: keep the first two
    torch.testing.assert_close(frequencies(logits, top_p=p), expected, atol=0.02, rtol=0)


def test_greedy_and_zero_temperature_take_the_argmax():
    logits = torch.randn(5, 30, generator=torch.Generator().manual_seed(0))
    expected = logits.argmax(-1, keepdim=True)
    assert torch.equal(sample_next_token(logits, greedy=True), expected)
    assert torch.equal(sample_next_token(logits, temperature=0), expected)


@pytest.mark.parametrize("settings, message", [
    ({"temperature": -1.0}, "temperature: expected a number >= 0.*got -1.0"),
    ({"temperature": "hot"}, "temperature: expected a number >= 0.*got 'hot'"),
    ({"top_k": 0}, "top_k: expected None or an int >= 1.*got 0"),
    ({"top_k": 2.5}, "top_k: expected None or an int >= 1.*got 2.5"),
    ({"top_p": 0.0}, r"top_p: expected None or a probability in \(0, 1\], got 0.0"),
    ({"top_p": 1.5}, r"top_p: expected None or a probability in \(0, 1\], got 1.5"),
    ({"greedy": "yes"}, "greedy: expected True or False, got 'yes'"),
])
def test_unknown_sampling_settings_are_refused_with_the_value(settings, message):
    with pytest.raises(ValueError, match=message):
        sample_next_token(torch.zeros(1, 5), **settings)
    with pytest.raises(ValueError, match=message):
        generate(model_of(), prompt_of(), 2, **settings)


def test_generate_input_errors():
    model = model_of()
    with pytest.raises(ValueError, match="max_new_tokens: expected an int >= 0, got -1"):
        generate(model, prompt_of(), -1)
    with pytest.raises(ValueError, match=r"prompt: expected token ids of shape \(B, T\) with T >= 1, got \(5,\)"):
        generate(model, prompt_of()[0], 3)


# --- the KV cache --------------------------------------------------------------------------------------

POSITIONS = [{"positions": "learned"}, {"positions": "sinusoidal"}, {"positions": "rope"},
             {"positions": "rope", "fused_attention": False}, {"positions": "learned", "feedforward": "moe"}]


@pytest.mark.parametrize("changes", POSITIONS, ids=str)
def test_cached_forward_gives_the_logits_of_the_full_forward(changes):
    model = model_of(**changes)
    sequence = prompt_of(T=20)
    full, _ = model(sequence)                      # (B, 20, V) all at once
    cache = model.new_kv_cache()
    pieces = [model(sequence[:, :7], kv_cache=cache)[0]]        # a prompt ...
    for t in range(7, 20):
        pieces.append(model(sequence[:, t : t + 1], kv_cache=cache)[0])  # ... then one token at a time
    assert cache.length == 20
    torch.testing.assert_close(torch.cat(pieces, dim=1), full, rtol=0, atol=1e-5)


@pytest.mark.parametrize("changes", POSITIONS, ids=str)
def test_greedy_generation_with_the_cache_is_exactly_the_same(changes):
    model = model_of(**changes)
    prompt = prompt_of()
    with_cache = generate(model, prompt, 30, greedy=True)  # 5 + 30 > context 24: crosses the context
    without = generate(model, prompt, 30, greedy=True, use_kv_cache=False)
    assert with_cache.shape == (2, 35)
    assert torch.equal(with_cache, without)
    assert torch.equal(with_cache[:, :5], prompt)


def test_greedy_generation_is_greedy_step_by_step():
    model = model_of()
    out = generate(model, prompt_of(), 6, greedy=True, use_kv_cache=False)
    for t in range(5, 11):
        logits, _ = model(out[:, :t])
        assert torch.equal(out[:, t], logits[:, -1].argmax(-1))


def test_sampling_with_and_without_the_cache_draws_the_same_tokens():
    model = model_of(dtype=torch.float64, positions="rope")
    settings = {"temperature": 0.8, "top_k": 10, "top_p": 0.9}
    a = generate(model, prompt_of(), 15, generator=torch.Generator().manual_seed(3), **settings)
    b = generate(model, prompt_of(), 15, generator=torch.Generator().manual_seed(3), use_kv_cache=False, **settings)
    assert torch.equal(a, b)
    c = generate(model, prompt_of(), 15, generator=torch.Generator().manual_seed(4), **settings)
    assert not torch.equal(a, c)


def test_a_prompt_longer_than_the_context_is_cropped():
    model = model_of()
    long_prompt = prompt_of(T=30)
    out = generate(model, long_prompt, 3, greedy=True)
    cropped = generate(model, long_prompt[:, -24:], 3, greedy=True)
    assert torch.equal(out[:, 30:], cropped[:, 24:])


def test_generation_stops_at_the_stop_token_and_restores_train_mode():
    model = model_of()
    model.train()
    first = generate(model, prompt_of(), 1, greedy=True)[:, -1]  # what each sequence says next
    stop = first[0].item()
    out = generate(model, prompt_of(), 10, greedy=True, stop_token=stop)
    assert model.training
    assert torch.all(out[0, 5:] == stop)  # sequence 0 stops at once, and then only repeats it
    if first[1].item() != stop:
        assert out.shape[1] > 6  # sequence 1 kept going


def test_cache_errors():
    model = model_of()
    cache = model.new_kv_cache()
    model(prompt_of(T=20), kv_cache=cache)
    with pytest.raises(ValueError, match="the input has 5 tokens after 20 cached tokens.*context_length=24"):
        model(prompt_of(T=5), kv_cache=cache)
    with pytest.raises(ValueError, match="the KV cache has 3 layers, the model 2"):
        model(prompt_of(), kv_cache=KVCache(3, 24))
    with pytest.raises(ValueError, match=r"padding_mask: expected shape \(B, T\) = \(2, 21\)"):
        model(prompt_of(T=1), kv_cache=cache, padding_mask=torch.ones(2, 1, dtype=torch.bool))
