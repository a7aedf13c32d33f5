"""Loading GPT-2 weights in the Hugging Face format: the same logits and the same greedy text as
transformers' own GPT2LMHeadModel. The test makes a small, randomly initialised GPT-2 with
transformers and saves it to a temporary directory: no download anywhere."""
from __future__ import annotations

import json

import pytest
import torch

from course_lib.transformer import generate, load_gpt2

transformers = pytest.importorskip("transformers", reason="the test extra should include transformers")
pytest.importorskip("safetensors", reason="the test extra should include safetensors")


@pytest.fixture(scope="module")
def hf_model():
    torch.manual_seed(0)
    config = transformers.GPT2Config(n_layer=2, n_head=2, n_embd=64, vocab_size=97, n_positions=32,
                                     resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                                     bos_token_id=None, eos_token_id=None)
    model = transformers.GPT2LMHeadModel(config).eval()
    with torch.no_grad():  # larger weights than the init, so that greedy text does not just repeat
        for name, param in model.named_parameters():
            if "ln" not in name:
                param.add_(torch.randn_like(param) * 0.2)
    return model


def ids(B=2, T=12, seed=0):
    return torch.randint(0, 97, (B, T), generator=torch.Generator().manual_seed(seed))


def hf_logits(model, x):
    with torch.no_grad():
        return model(x).logits


def test_loaded_safetensors_model_gives_transformers_logits(hf_model, tmp_path):
    hf_model.save_pretrained(tmp_path)  # writes config.json and model.safetensors
    assert (tmp_path / "model.safetensors").exists()
    ours = load_gpt2(tmp_path)
    assert not ours.training
    assert ours.config.n_layers == 2 and ours.config.context_length == 32 and ours.config.vocab_size == 97
    assert ours.lm_head.weight is ours.token_embedding.weight
    x = ids()
    with torch.no_grad():
        logits, _ = ours(x)
    torch.testing.assert_close(logits, hf_logits(hf_model, x), rtol=0, atol=1e-4)


def test_loaded_model_continues_greedily_like_transformers(hf_model, tmp_path):
    hf_model.save_pretrained(tmp_path)
    ours = load_gpt2(tmp_path)
    prompt = ids(B=2, T=6, seed=1)
    expected = hf_model.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=20,
                                 do_sample=False, pad_token_id=0)
    assert expected.shape == (2, 26) and expected[:, 6:].unique().numel() >= 8  # a varied continuation
    assert torch.equal(generate(ours, prompt, 20, greedy=True), expected)
    assert torch.equal(generate(ours, prompt, 20, greedy=True, use_kv_cache=False), expected)


def test_pytorch_model_bin_and_checkpoints_without_prefix_load_too(hf_model, tmp_path):
    hf_model.config.save_pretrained(tmp_path)
    torch.save(hf_model.state_dict(), tmp_path / "pytorch_model.bin")  # the older pickled format
    x = ids(seed=2)
    expected = hf_logits(hf_model, x)
    torch.testing.assert_close(load_gpt2(tmp_path)(x)[0].detach(), expected, rtol=0, atol=1e-4)
    # A GPT2Model checkpoint (no LM head) names its tensors without the "transformer." prefix.
    (tmp_path / "pytorch_model.bin").unlink()
    torch.save(hf_model.transformer.state_dict(), tmp_path / "pytorch_model.bin")
    torch.testing.assert_close(load_gpt2(tmp_path)(x)[0].detach(), expected, rtol=0, atol=1e-4)


def test_loading_errors_name_the_file_and_the_tensor(hf_model, tmp_path):
    with pytest.raises(FileNotFoundError, match="no config.json here"):
        load_gpt2(tmp_path)
    hf_model.config.save_pretrained(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"expected model.safetensors.*pytorch_model.bin; found \['config.json'\]"):
        load_gpt2(tmp_path)
    state = dict(hf_model.state_dict())
    state["transformer.wpe.weight"] = state["transformer.wpe.weight"][:16]
    torch.save(state, tmp_path / "pytorch_model.bin")
    with pytest.raises(ValueError, match=r"'transformer.wpe.weight' has shape \(16, 64\).*expects \(32, 64\)"):
        load_gpt2(tmp_path)
    state = dict(hf_model.state_dict())
    del state["transformer.h.1.mlp.c_fc.bias"]
    torch.save(state, tmp_path / "pytorch_model.bin")
    with pytest.raises(ValueError, match=r"lacks tensors the model needs: \['blocks.1.ffn.fc.bias'\]"):
        load_gpt2(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "model_type": "llama"}))
    with pytest.raises(ValueError, match="expected a GPT-2 config.*got model_type 'llama'"):
        load_gpt2(tmp_path)
