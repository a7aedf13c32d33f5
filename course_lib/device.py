"""Where tensors live, and how runs are made repeatable.

Every model and trainer in the course takes a ``device``; this module decides which one.
Preference order: CUDA, then Apple's MPS, then the CPU.
"""
from __future__ import annotations

import os
import random

import numpy as np
import torch


def pick_device(prefer: str | None = None) -> torch.device:
    """Return the best available device, or ``prefer`` ("cpu", "cuda", "mps") if given.

    The environment variable ``COURSE_DEVICE`` overrides the choice (handy to force "cpu").
    """
    choice = prefer or os.environ.get("COURSE_DEVICE")
    if choice:
        device = torch.device(choice)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {choice!r} was requested but CUDA is not available here")
        if device.type == "mps" and not _mps_available():
            raise ValueError(f"device {choice!r} was requested but MPS is not available here")
        if device.type not in ("cpu", "cuda", "mps"):
            raise ValueError(f"expected a device of 'cpu', 'cuda' or 'mps', got {choice!r}")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy and torch (all devices); return a torch Generator seeded the same way."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"expected a non-negative int seed, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return torch.Generator().manual_seed(seed)


def autocast_dtype(device: torch.device | str) -> torch.dtype | None:
    """The dtype for mixed precision on ``device``: bf16 on CUDA cards that support it, else None.

    None means "train in float32": CPU autocast is slower than float32 for the course's small models.
    """
    device = torch.device(device)
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return None


def setup_lesson(seed: int = 0, prefer: str | None = None, verbose: bool = True,
                 threads: int | None = 1) -> torch.device:
    """The first cell of every lesson: seed, pick the device, set torch's CPU threads and say what was found.

    ``threads``: torch's CPU threads (torch.set_num_threads). One by default: the course's models are
    small, so a second thread gains little, and on a busy shared machine (Binder, CI) threads mostly
    wait on each other. None keeps torch's own choice (one per core).
    """
    if threads is not None and (not isinstance(threads, int) or isinstance(threads, bool) or threads < 1):
        raise ValueError(f"threads: expected a positive int or None, got {threads!r}")
    seed_everything(seed)
    if threads is not None:
        torch.set_num_threads(threads)
    device = pick_device(prefer)
    if verbose:
        if device.type == "cuda":
            where = f"cuda ({torch.cuda.get_device_name(device)})"
        elif device.type == "mps":
            where = "mps (Apple GPU)"
        else:
            count = torch.get_num_threads()
            where = f"cpu ({count} thread{'s' if count != 1 else ''})"
        grading = " | grading run" if os.environ.get("NBGRADER_EXECUTION") else ""
        print(f"torch {torch.__version__} | device: {where} | seed: {seed}{grading}")
    return device
