"""Checkpoints that resume *exactly*: the same losses as a run that was never interrupted.

Resuming exactly needs more than the weights. A checkpoint here holds

- the model's weights and its config (to name a mismatch: "vocab_size 64 here, 80 in the file"),
- the optimizer's state (AdamW's running averages of gradients and their squares),
- the scheduler's state (how many steps it has counted),
- the step number and the loss history so far,
- the data sampler's generator state (so the next batch is the one that would have come),
- torch's random state on the CPU and on every CUDA device (dropout draws from it).

The file is written under a temporary name and renamed, so a crash while saving leaves the
previous checkpoint whole. Loading checks everything *before* changing the model, so a file
that does not fit leaves the model and the optimizer as they were.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import torch

from course_lib.tokenization.base import atomic_write

FORMAT = "course_lib.checkpoint"
VERSION = 1


def save_checkpoint(path: str | os.PathLike, *, model, optimizer, scheduler, step: int,
                    data_state: dict | None = None, history: dict | None = None) -> None:
    """Write everything needed to resume training at ``step`` to ``path`` (temporary file + rename)."""
    config = getattr(model, "config", None)
    state = {
        "format": FORMAT,
        "version": VERSION,
        "step": int(step),
        "config": dataclasses.asdict(config) if dataclasses.is_dataclass(config) else None,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "data": data_state,
        "history": history or {},
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    atomic_write(path, lambda file: torch.save(state, file), mode="wb")


def read_checkpoint(path: str | os.PathLike) -> dict:
    """The checkpoint's contents, or a ValueError saying why the file is not a checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        # weights_only: read tensors and plain Python values only, never run code from a file.
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001  a damaged file surfaces as many error types (zip, pickle, OS)
        raise ValueError(f"{path}: not a readable checkpoint (damaged or not written by save_checkpoint): {error}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path}: not a course_lib checkpoint (expected format {FORMAT!r})")
    if state.get("version") != VERSION:
        raise ValueError(f"{path}: checkpoint version {state.get('version')!r}, this library reads version {VERSION}")
    return state


def load_checkpoint(path: str | os.PathLike, *, model, optimizer=None, scheduler=None, data=None) -> dict:
    """Load ``path`` into the model (and optimizer, scheduler, data sampler, random state).

    Returns the checkpoint's contents. Raises ValueError naming the first difference if the
    checkpoint belongs to another model or another data stream, before anything is changed.
    """
    state = read_checkpoint(path)
    check_compatible(state, model, source=str(path))
    if data is not None:
        if state.get("data") is None:
            raise ValueError(f"{path}: the checkpoint holds no data sampler state, so the run cannot resume exactly")
        data.load_state_dict(state["data"])  # checks that the windows match before setting them
    model.load_state_dict(state["model"])
    if optimizer is not None:
        optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    if torch.cuda.is_available() and state["cuda_rng"]:
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    return state


def check_compatible(state: dict, model, source: str = "checkpoint") -> None:
    """Raise ValueError naming the first setting or weight that differs between file and model."""
    config = getattr(model, "config", None)
    if state.get("config") is not None and dataclasses.is_dataclass(config):
        mine = dataclasses.asdict(config)
        for key, theirs in state["config"].items():
            if key in mine and mine[key] != theirs:
                raise ValueError(f"{source}: checkpoint was saved with {key}={theirs!r}, this model has {key}={mine[key]!r}")
    own = model.state_dict()
    saved = state["model"]
    missing, extra = sorted(set(own) - set(saved)), sorted(set(saved) - set(own))
    if missing or extra:
        raise ValueError(f"{source}: weights do not match this model; missing {missing[:3]}, unexpected {extra[:3]}")
    for name, tensor in own.items():
        if tuple(saved[name].shape) != tuple(tensor.shape):
            raise ValueError(
                f"{source}: weight {name!r} has shape {tuple(saved[name].shape)} in the checkpoint, "
                f"{tuple(tensor.shape)} in this model"
            )
