"""Load OpenAI's GPT-2 weights, as published on the Hugging Face hub, into the course's GPT.

A downloaded GPT-2 directory holds ``config.json`` (the sizes) and the weights, either in
``model.safetensors`` (a safe, memory-mappable format) or in the older ``pytorch_model.bin``
(a pickled state dict). Our ``GPT`` is built to be the same network, so loading is a matter
of renaming tensors, with one twist: GPT-2's code stores its linear layers as "Conv1D"
modules whose weight is (in_features, out_features), the transpose of ``nn.Linear``'s.

    from course_lib.transformer import load_gpt2
    model = load_gpt2("path/to/gpt2")        # a directory you downloaded yourself

Nothing here downloads anything.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from course_lib.transformer.config import GPTConfig
from course_lib.transformer.gpt import GPT

_ACTIVATIONS = {"gelu_new": "tanh", "gelu_pytorch_tanh": "tanh", "gelu_fast": "tanh", "gelu": "none"}
_CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
_BLOCK_NAMES = {  # GPT-2's name inside block i -> ours inside blocks.i
    "ln_1": "norm1", "attn.c_attn": "attn.qkv", "attn.c_proj": "attn.proj",
    "ln_2": "norm2", "mlp.c_fc": "ffn.fc", "mlp.c_proj": "ffn.proj",
}
_TOP_NAMES = {"wte.weight": "token_embedding.weight", "wpe.weight": "positions.table.weight",
              "ln_f.weight": "final_norm.weight", "ln_f.bias": "final_norm.bias", "lm_head.weight": "lm_head.weight"}


def config_from_hf(hf: dict) -> GPTConfig:
    """Translate a Hugging Face GPT-2 ``config.json`` (as a dict) into a ``GPTConfig``."""
    if hf.get("model_type", "gpt2") != "gpt2":
        raise ValueError(f"expected a GPT-2 config (model_type 'gpt2'), got model_type {hf.get('model_type')!r}")
    activation = hf.get("activation_function", "gelu_new")
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation_function {activation!r} is not supported; expected one of {sorted(_ACTIVATIONS)}")
    for flag in ("scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"):
        if hf.get(flag, False):
            raise ValueError(f"config.json sets {flag}=true, a GPT-2 variant this loader does not support")
    if not hf.get("scale_attn_weights", True):
        raise ValueError("config.json sets scale_attn_weights=false; the course's attention always scales by 1/sqrt(D)")
    return GPTConfig(
        vocab_size=hf["vocab_size"],
        context_length=hf.get("n_positions", hf.get("n_ctx", 1024)),
        n_layers=hf["n_layer"],
        n_heads=hf["n_head"],
        d_model=hf["n_embd"],
        d_ff=hf.get("n_inner"),
        dropout=0.0,  # loaded for inference; set model.config / dropout yourself to fine-tune
        bias=True,
        positions="learned",
        norm="layernorm",
        norm_eps=hf.get("layer_norm_epsilon", 1e-5),
        feedforward="gelu",
        gelu_approximation=_ACTIVATIONS[activation],
        tie_weights=hf.get("tie_word_embeddings", True),
        causal=True,
    )


def read_checkpoint(directory: str | Path) -> dict[str, torch.Tensor]:
    """All tensors of a Hugging Face checkpoint directory, by name, on the CPU."""
    directory = Path(directory)
    single, index, pickled = directory / "model.safetensors", directory / "model.safetensors.index.json", directory / "pytorch_model.bin"
    if single.exists() or index.exists():
        try:
            from safetensors.torch import load_file
        except ImportError as error:  # an optional dependency
            raise ImportError("reading .safetensors files needs the safetensors package: pip install safetensors") from error
        if single.exists():
            return load_file(str(single))
        # A large model is split in shards; the index says which file holds which tensor.
        shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        state: dict[str, torch.Tensor] = {}
        for shard in shards:
            state.update(load_file(str(directory / shard)))
        return state
    if pickled.exists():
        # weights_only=True: unpickle tensors only, never arbitrary objects from the file.
        return torch.load(pickled, map_location="cpu", weights_only=True)
    found = sorted(p.name for p in directory.iterdir()) if directory.is_dir() else "no such directory"
    raise FileNotFoundError(
        f"{directory}: expected model.safetensors, model.safetensors.index.json or pytorch_model.bin; found {found}"
    )


def _our_name(hf_name: str) -> str | None:
    """Our parameter name for a GPT-2 tensor name; None for tensors we do not need."""
    name = hf_name.removeprefix("transformer.")
    if name in _TOP_NAMES:
        return _TOP_NAMES[name]
    parts = name.split(".")
    if parts[0] == "h" and len(parts) >= 4:
        inner, leaf = ".".join(parts[2:-1]), parts[-1]
        if inner == "attn" and leaf in ("bias", "masked_bias"):
            return None  # old checkpoints store the causal mask as a buffer; we build our own
        if inner in _BLOCK_NAMES:
            return f"blocks.{parts[1]}.{_BLOCK_NAMES[inner]}.{leaf}"
    raise ValueError(f"unexpected tensor {hf_name!r} in the checkpoint: is this a GPT-2 model?")


def convert_state_dict(hf_state: dict[str, torch.Tensor], model: GPT) -> dict[str, torch.Tensor]:
    """Rename (and transpose where needed) GPT-2 tensors into a state dict for ``model``."""
    expected = model.state_dict()
    ours: dict[str, torch.Tensor] = {}
    for hf_name, tensor in hf_state.items():
        name = _our_name(hf_name)
        if name is None:
            continue
        if hf_name.endswith(_CONV1D):
            tensor = tensor.t()  # Conv1D stores (in, out); nn.Linear wants (out, in)
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise ValueError(f"checkpoint tensor {hf_name!r} has shape {tuple(tensor.shape)}, but the model "
                             f"built from config.json expects {tuple(expected[name].shape)} for {name!r}")
        ours[name] = tensor
    if model.config.tie_weights:
        ours["lm_head.weight"] = ours.get("token_embedding.weight")  # one matrix, two uses
    missing = sorted(set(expected) - {k for k, v in ours.items() if v is not None})
    if missing:
        raise ValueError(f"the checkpoint lacks tensors the model needs: {missing[:6]}{' ...' if len(missing) > 6 else ''}")
    return ours


def load_gpt2(directory: str | Path, device: torch.device | str = "cpu", dtype: torch.dtype | None = None) -> GPT:
    """Build a ``GPT`` from a Hugging Face GPT-2 directory; returned in eval mode."""
    directory = Path(directory)
    config_file = directory / "config.json"
    if not config_file.exists():
        raise FileNotFoundError(f"{directory}: no config.json here; expected a Hugging Face GPT-2 model directory")
    config = config_from_hf(json.loads(config_file.read_text()))
    model = GPT(config)
    model.load_state_dict(convert_state_dict(read_checkpoint(directory), model))  # copies into the tied tensor too
    return model.to(device=device, dtype=dtype).eval()
