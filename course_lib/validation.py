"""Input checks whose errors say what was expected and what came.

A wrong shape deep inside a model gives an unreadable traceback; these checks
fail early, at the boundary, with a sentence a learner can act on.
"""
from __future__ import annotations

from typing import Sequence

import torch


def describe(value) -> str:
    """A short description of any value: a tensor's shape and dtype, else its type."""
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    return f"a {type(value).__name__} ({value!r:.60})"


def check_tensor(
    value,
    name: str,
    shape: Sequence[int | str | None] | None = None,
    dtype: torch.dtype | Sequence[torch.dtype] | None = None,
) -> dict[str, int]:
    """Check that ``value`` is a tensor of the given shape pattern and dtype.

    ``shape`` entries are ints (exact size), None (any size) or names like "B": the same
    name must mean the same size everywhere in the pattern. Returns the sizes bound to names.

    >>> check_tensor(torch.zeros(2, 3), "x", shape=("B", 3))
    {'B': 2}
    """
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {describe(value)}")
    sizes: dict[str, int] = {}
    if shape is not None:
        pattern = "(" + ", ".join("?" if s is None else str(s) for s in shape) + ")"
        if value.dim() != len(shape):
            raise ValueError(
                f"{name}: expected {len(shape)} dimensions {pattern}, got shape {tuple(value.shape)}"
            )
        for axis, (want, got) in enumerate(zip(shape, value.shape)):
            if want is None:
                continue
            if isinstance(want, str):
                if sizes.setdefault(want, got) != got:
                    raise ValueError(
                        f"{name}: dimension {axis} should equal {want}={sizes[want]} {pattern}, "
                        f"got shape {tuple(value.shape)}"
                    )
            elif got != want:
                raise ValueError(
                    f"{name}: expected size {want} in dimension {axis} {pattern}, "
                    f"got shape {tuple(value.shape)}"
                )
    if dtype is not None:
        allowed = (dtype,) if isinstance(dtype, torch.dtype) else tuple(dtype)
        if value.dtype not in allowed:
            names = " or ".join(str(d) for d in allowed)
            raise TypeError(f"{name}: expected dtype {names}, got {value.dtype}")
    return sizes


def check_positive(value, name: str, allow_zero: bool = False) -> None:
    """Raise ValueError unless ``value`` is a number > 0 (or >= 0 with ``allow_zero``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name}: expected a number, got {describe(value)}")
    if value < 0 or (value == 0 and not allow_zero) or value != value:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name}: expected a value {bound}, got {value!r}")


def check_probability(value, name: str) -> None:
    """Raise ValueError unless ``value`` is a number in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name}: expected a number in [0, 1], got {describe(value)}")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name}: expected a value in [0, 1], got {value!r}")
