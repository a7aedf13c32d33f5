"""The transformer in bf16 autocast: forward, backward, training, the fused kernel, generation.

Every test runs on CUDA (marked ``gpu``, skipped without it) and also on the CPU, whose bf16
autocast takes the same code paths (dtypes of masks, caches, gradients), so a machine without a
GPU still checks them. The FlashAttention kernel test is CUDA only."""
from __future__ import annotations

import dataclasses

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from course_lib.transformer import (
    GPT,
    GPTConfig,
    fused_scaled_dot_product_attention,
    generate,
    scaled_dot_product_attention,
)

ON_CUDA = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]
DEVICES = ["cpu", pytest.param("cuda", marks=ON_CUDA)]

CONFIG = GPTConfig(vocab_size=300, context_length=64, n_layers=2, n_heads=4, d_model=128)
VARIANTS = [{}, {"positions": "rope", "norm": "rmsnorm", "feedforward": "swiglu", "bias": False},
            {"feedforward": "moe", "n_experts": 4, "expert_top_k": 2}]


def make_model(device, seed=0, **changes) -> GPT:
    torch.manual_seed(seed)
    return GPT(dataclasses.replace(CONFIG, **changes)).to(device)


def batch(device, B=4, T=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randint(0, 300, (B, T), generator=g).to(device),
            torch.randint(0, 300, (B, T), generator=g).to(device))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("changes", VARIANTS, ids=str)
def test_forward_and_backward_under_bf16_autocast(changes, device):
    model = make_model(device, **changes)
    x, y = batch(device)
    _, loss32 = model(x, y)
    with torch.autocast(device, dtype=torch.bfloat16):
        logits, loss = model(x, y)
    assert logits.dtype == torch.bfloat16
    assert torch.isfinite(loss) and abs(loss.item() - loss32.item()) < 0.02 * loss32.item()
    loss.backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and param.grad.dtype == torch.float32, name
        assert torch.isfinite(param.grad).all(), name


@pytest.mark.parametrize("device", DEVICES)
def test_a_training_step_under_autocast_lowers_the_loss(device):
    model = make_model(device)
    x, y = batch(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(10):
        with torch.autocast(device, dtype=torch.bfloat16):
            _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.1


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_bf16_causal_attention_runs_on_the_flash_kernel_and_matches_the_written_out_version():
    g = torch.Generator(device="cuda").manual_seed(0)
    q, k, v = (torch.randn(2, 4, 128, 64, device="cuda", dtype=torch.bfloat16, generator=g) for _ in range(3))
    # Forcing the FlashAttention backend raises if the call is not eligible for it.
    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
        fused = fused_scaled_dot_product_attention(q, k, v, causal=True)
    reference = scaled_dot_product_attention(q.double(), k.double(), v.double(), causal=True)
    torch.testing.assert_close(fused.double(), reference, atol=2e-2, rtol=2e-2)
    written = scaled_dot_product_attention(q, k, v, causal=True)
    torch.testing.assert_close(written.double(), reference, atol=2e-2, rtol=2e-2)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("changes", VARIANTS, ids=str)
def test_fused_and_written_out_models_agree(changes, device):
    fused = make_model(device, **changes, fused_attention=True)
    written = make_model(device, **changes, fused_attention=False)
    written.load_state_dict(fused.state_dict())
    x, _ = batch(device)
    padding = torch.ones_like(x, dtype=torch.bool)
    padding[0, 40:] = False
    for mask in (None, padding):
        with torch.no_grad():
            # float32: loose enough for TF32 matmuls, should another test have switched them on
            torch.testing.assert_close(fused(x, padding_mask=mask)[0], written(x, padding_mask=mask)[0],
                                       atol=1e-3, rtol=1e-3)
            with torch.autocast(device, dtype=torch.bfloat16):
                a, b = fused(x, padding_mask=mask)[0].float(), written(x, padding_mask=mask)[0].float()
            # bf16: compare on average, since a bf16 rounding may send a token to another expert
            assert (a - b).abs().mean().item() < 0.02


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("changes", VARIANTS, ids=str)
def test_generation_with_and_without_the_cache(changes, device):
    model = make_model(device, **changes).eval()
    with torch.no_grad():
        model.token_embedding.weight.mul_(20)  # logits far from uniform, so greedy has no near-ties
    prompt, _ = batch(device, B=2, T=8)
    a = generate(model, prompt, 70, greedy=True)  # crosses the context of 64
    b = generate(model, prompt, 70, greedy=True, use_kv_cache=False)
    assert a.shape == (2, 78) and a.device.type == device
    assert torch.equal(a, b)
    sampled = generate(model, prompt, 20, temperature=0.9, top_k=50, top_p=0.95,
                       generator=torch.Generator(device=device).manual_seed(0))
    assert sampled.shape == (2, 28)


@pytest.mark.parametrize("device", DEVICES)
def test_cached_generation_under_autocast_keeps_a_bf16_cache(device):
    model = make_model(device).eval()
    prompt, _ = batch(device, B=2, T=8)
    cache = model.new_kv_cache()
    with torch.no_grad(), torch.autocast(device, dtype=torch.bfloat16):
        model(prompt, kv_cache=cache)
        out = generate(model, prompt, 10, greedy=True)
    assert cache[0].keys.dtype == torch.bfloat16 and cache.length == 8
    assert out.shape == (2, 18)


@pytest.mark.parametrize("device", DEVICES)
def test_the_trainer_trains_and_evaluates_under_bf16_autocast(device):
    """The trainer's mixed-precision path (on by itself on CUDA; switched on by hand on the CPU)."""
    from course_lib.data import TokenWindows
    from course_lib.training import Trainer, TrainerConfig

    tokens = torch.randint(0, 300, (5000,), generator=torch.Generator().manual_seed(0))
    tokens[1::2] = (tokens[0::2] + 1) % 300              # every second token follows from the one before
    config = TrainerConfig(max_steps=12, lr=3e-3, warmup_steps=2, eval_every=6, progress=False)
    def run(dtype):
        trainer = Trainer(make_model(device), TokenWindows(tokens, 64, 8), config,
                          val_data=TokenWindows(tokens, 64, 8, seed=1), device=device)
        trainer.autocast_dtype = dtype
        return trainer, trainer.train()

    trainer, history = run(torch.bfloat16)
    _, history32 = run(None)
    # bf16 really was on (the losses differ from float32's), and it learns about as well.
    assert history["loss"][1:] != history32["loss"][1:]
    assert history["loss"][-1] == pytest.approx(history32["loss"][-1], rel=0.1)
    assert all(torch.isfinite(torch.tensor(history["loss"])))
    assert history["loss"][-1] < history["loss"][0] - 0.5
    assert history["val_step"] == [6, 12] and history["val_loss"][1] < history["val_loss"][0]
    assert all(p.dtype == torch.float32 for p in trainer.model.parameters())   # weights stay float32
