"""LoRA, adapters, prompt tuning and parameter counts: equivalences, and HF peft as an oracle."""
from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn

from course_lib.finetuning import (
    BottleneckAdapter,
    LoRALinear,
    SoftPromptModel,
    adapters_disabled,
    add_adapters,
    add_lora,
    count_trainable,
    linear_layer_names,
    lora_disabled,
    merge_lora,
    unmerge_lora,
)
from course_lib.transformer import GPT, GPTConfig

CONFIG = GPTConfig(vocab_size=61, context_length=24, n_layers=2, n_heads=2, d_model=32)
TARGETS = ["blocks.0.attn.qkv", "blocks.1.attn.proj", "blocks.1.ffn.fc"]


def tiny_gpt(seed=0):
    torch.manual_seed(seed)
    return GPT(CONFIG).eval()


def ids(seed=1, B=3, T=11):
    return torch.randint(CONFIG.vocab_size, (B, T), generator=torch.Generator().manual_seed(seed))


def randomise_b(model, seed=2):
    """Give every LoRA B a random value, as training would, so the update is not zero."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, LoRALinear):
            with torch.no_grad():
                m.B.copy_(torch.randn(m.B.shape, generator=g) * 0.1)


# ----- LoRA by hand ------------------------------------------------------------------------------
@pytest.mark.parametrize("r, alpha, rslora", [(1, 1.0, False), (4, 16.0, False), (8, 3.0, True)])
def test_lora_layer_closed_form_and_initialisation(r, alpha, rslora):
    torch.manual_seed(r)
    base = nn.Linear(20, 12)
    layer = LoRALinear(copy.deepcopy(base), r, alpha, rslora=rslora)
    assert layer.A.shape == (r, 20) and layer.B.shape == (12, r)
    assert torch.equal(layer.B, torch.zeros(12, r))                              # B = 0: unchanged at start
    assert layer.A.abs().max() <= 1 / math.sqrt(20) + 1e-7 and layer.A.abs().max() > 0  # kaiming a=sqrt(5)
    x = torch.randn(5, 7, 20)
    assert torch.equal(layer(x), base(x))
    scale = alpha / math.sqrt(r) if rslora else alpha / r
    assert layer.scale == pytest.approx(scale)
    with torch.no_grad():
        layer.B.normal_()
    expected = x @ (base.weight + scale * layer.B @ layer.A).T + base.bias
    assert torch.allclose(layer(x), expected, atol=1e-5)
    # only A and B train; the gradient reaches both once B is not zero
    assert [n for n, p in layer.named_parameters() if p.requires_grad] == ["A", "B"]
    layer(x).sum().backward()
    assert layer.A.grad.abs().sum() > 0 and layer.B.grad.abs().sum() > 0 and layer.base.weight.grad is None


def test_lora_b_gets_a_gradient_at_the_start():
    layer = LoRALinear(nn.Linear(8, 8), 2, 4.0)
    layer(torch.randn(3, 8)).pow(2).sum().backward()
    assert layer.B.grad.abs().sum() > 0 and torch.equal(layer.A.grad, torch.zeros_like(layer.A))


def test_add_lora_exact_names_counts_and_errors():
    model = tiny_gpt()
    before = model(ids())[0]
    chosen = add_lora(model, TARGETS, r=4, alpha=8.0)
    assert chosen == {"blocks.0.attn.qkv": 4 * (32 + 96), "blocks.1.attn.proj": 4 * 64, "blocks.1.ffn.fc": 4 * (32 + 128)}
    assert count_trainable(model) == sum(chosen.values())
    assert torch.equal(model(ids())[0], before)
    # "proj" is not a layer name: an error listing the real ones, never a silent suffix match
    with pytest.raises(ValueError, match=r"no linear layer is called \['proj'\].*blocks.0.attn.qkv"):
        add_lora(tiny_gpt(), ["proj"], r=2, alpha=2.0)
    with pytest.raises(ValueError, match="rank in 1..32"):
        add_lora(tiny_gpt(), ["blocks.0.attn.proj"], r=33, alpha=2.0)
    with pytest.raises(ValueError, match="non-empty list"):
        add_lora(tiny_gpt(), "blocks.0.attn.qkv", r=2, alpha=2.0)
    with pytest.raises(TypeError, match="wraps an nn.Linear"):
        LoRALinear(nn.Conv1d(3, 3, 1), 1, 1.0)


def test_merge_unmerge_and_switch_off():
    model = tiny_gpt()
    base_logits = model(ids())[0]
    add_lora(model, TARGETS, r=3, alpha=5.0)
    randomise_b(model)
    adapted = model(ids())[0]
    assert not torch.allclose(adapted, base_logits, atol=1e-4)
    with lora_disabled(model):
        assert torch.equal(model(ids())[0], base_logits)          # exactly the pretrained model
    assert torch.equal(model(ids())[0], adapted)                  # and back
    merge_lora(model)
    assert torch.allclose(model(ids())[0], adapted, atol=1e-5)
    with pytest.raises(RuntimeError, match="already merged"):
        merge_lora(model)
    with pytest.raises(RuntimeError, match="unmerge"):
        with lora_disabled(model):
            pass
    unmerge_lora(model)
    with lora_disabled(model):
        assert torch.allclose(model(ids())[0], base_logits, atol=1e-5)


def test_tied_weights_counted_once():
    model = tiny_gpt()
    assert model.lm_head.weight is model.token_embedding.weight
    total = sum(p.numel() for p in model.parameters())
    assert count_trainable(model) == total
    assert sum(p.numel() for p in model.state_dict().values()) == total + CONFIG.vocab_size * CONFIG.d_model


# ----- HF peft as the oracle -----------------------------------------------------------------------
@pytest.mark.parametrize("rslora", [False, True])
def test_lora_matches_peft(rslora):
    peft = pytest.importorskip("peft")
    ours, theirs = tiny_gpt(), tiny_gpt()
    add_lora(ours, TARGETS, r=4, alpha=12.0, rslora=rslora)
    theirs = peft.get_peft_model(theirs, peft.LoraConfig(r=4, lora_alpha=12, target_modules=TARGETS,
                                                         use_rslora=rslora, lora_dropout=0.0))
    # the same trainable count (peft counts the tied embedding once as well)
    assert count_trainable(ours) == theirs.get_nb_trainable_parameters()[0]
    randomise_b(ours)
    wrapped = theirs.base_model.model
    for name in TARGETS:
        mine, peft_layer = ours.get_submodule(name), wrapped.get_submodule(name)
        with torch.no_grad():
            peft_layer.lora_A["default"].weight.copy_(mine.A)
            peft_layer.lora_B["default"].weight.copy_(mine.B)
        assert peft_layer.scaling["default"] == pytest.approx(mine.scale)
    x = ids(seed=5)
    assert torch.allclose(ours(x)[0], theirs(x)[0], atol=1e-6)
    merged = theirs.merge_and_unload()
    merge_lora(ours)
    for name in TARGETS:
        assert torch.allclose(ours.get_submodule(name).base.weight, merged.get_submodule(name).weight, atol=1e-6)


def test_peft_init_is_ours():
    peft = pytest.importorskip("peft")
    theirs = peft.get_peft_model(tiny_gpt(), peft.LoraConfig(r=4, lora_alpha=4, target_modules=TARGETS[:1]))
    layer = theirs.base_model.model.get_submodule(TARGETS[0])
    A, B = layer.lora_A["default"].weight, layer.lora_B["default"].weight
    assert torch.equal(B, torch.zeros_like(B)) and A.abs().max() <= 1 / math.sqrt(32) + 1e-7


# ----- adapters and prompt tuning --------------------------------------------------------------------
def test_adapters_start_as_identity_and_train_alone():
    model = tiny_gpt()
    before = model(ids())[0]
    chosen = add_adapters(model, ["blocks.0.ffn", "blocks.1.attn"], bottleneck=4)
    assert chosen == {"blocks.0.ffn": 2 * 32 * 4 + 4 + 32, "blocks.1.attn": 2 * 32 * 4 + 4 + 32}
    assert count_trainable(model) == sum(chosen.values())
    assert torch.equal(model(ids())[0], before)
    logits, loss = model(ids(), ids(seed=9))
    loss.backward()
    adapter = model.blocks[0].ffn.adapter
    assert adapter.up.weight.grad.abs().sum() > 0
    with torch.no_grad():
        adapter.up.weight.normal_()
    assert not torch.allclose(model(ids())[0], before, atol=1e-4)
    with adapters_disabled(model):
        assert torch.equal(model(ids())[0], before)                  # switched off: the base model exactly
    with pytest.raises(ValueError, match="not in the model"):
        add_adapters(tiny_gpt(), ["blocks.7.ffn"], bottleneck=4)
    with pytest.raises(ValueError, match="bottleneck"):
        BottleneckAdapter(32, 0)


def test_soft_prompt_of_real_embeddings_equals_the_hard_prompt():
    model = tiny_gpt()
    prompt = [5, 17, 42, 3]
    soft = SoftPromptModel(model, prompt)
    x = ids(T=9)
    hard = torch.cat([torch.tensor(prompt).expand(3, -1), x], dim=1)     # (3, 13)
    assert torch.allclose(soft(x)[0], model(hard)[0][:, len(prompt):], atol=1e-6)
    assert count_trainable(soft) == len(prompt) * CONFIG.d_model
    assert soft.config.context_length == CONFIG.context_length - len(prompt)
    # padding mask covers the tokens only; a too long input names the prefix
    mask = torch.ones(3, 9, dtype=torch.bool)
    assert torch.allclose(soft(x, padding_mask=mask)[0], soft(x)[0], atol=1e-6)
    with pytest.raises(ValueError, match="after a prefix of 4 vectors"):
        soft(ids(T=21))
    with pytest.raises(ValueError, match="without a KV cache"):
        soft(x, kv_cache=model.new_kv_cache())


def test_answers_of_a_soft_prompt_model_need_no_cache_flag():
    from course_lib.finetuning import answer_prompts
    from course_lib.pretrained import load_pretrained
    model, tokenizer = load_pretrained()
    soft = SoftPromptModel(model, tokenizer.encode("Write a story."))
    answers = answer_prompts(soft, tokenizer, ["Tell me a story about a cat at the park."], max_new_tokens=5)
    assert answers[0].n_tokens == 5


def test_prefix_embeds_errors():
    model = tiny_gpt()
    with pytest.raises(ValueError, match=r"prefix_embeds: expected float vectors of shape \(B, P, C\)"):
        model(ids(), prefix_embeds=torch.zeros(3, 2, 7))
    cache = model.new_kv_cache()
    with torch.no_grad():
        model(ids(), kv_cache=cache)
        with pytest.raises(ValueError, match="empty KV cache"):
            model(ids(T=1), kv_cache=cache, prefix_embeds=torch.zeros(3, 1, 32))


def test_linear_layer_names_lists_the_candidates():
    names = linear_layer_names(tiny_gpt())
    assert "blocks.1.ffn.proj" in names and "lm_head" in names and len(names) == 2 * 4 + 1
