"""The input checks that every metric of the evaluation package shares.

A metric that quietly accepts two lists of different lengths, an empty list or a label 2
in a binary task returns a number that looks fine and means nothing. These checks refuse
such inputs at the door, with a sentence that says what was expected and what came.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from course_lib.validation import describe


def as_vector(values, name: str, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """``values`` (a list, tuple, numpy array or tensor of numbers) as a non-empty 1-D tensor of ``dtype``."""
    if isinstance(values, (str, bytes)) or values is None:
        raise TypeError(f"{name}: expected a sequence of numbers, got {describe(values)}")
    if isinstance(values, torch.Tensor):
        tensor = values.detach().cpu()
    else:
        try:
            tensor = torch.as_tensor(np.asarray(values, dtype=np.float64))
        except (TypeError, ValueError):
            raise TypeError(f"{name}: expected a sequence of numbers, got {describe(values)}") from None
    if tensor.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D sequence (one number per example), got shape {tuple(tensor.shape)}")
    if tensor.numel() == 0:
        raise ValueError(f"{name}: expected at least one value, got an empty sequence")
    if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
        bad = tensor[~torch.isfinite(tensor)][0].item()
        raise ValueError(f"{name}: expected finite numbers, found {bad!r} at position "
                         f"{int((~torch.isfinite(tensor)).nonzero()[0])}")
    return tensor.to(dtype)


def check_same_length(**vectors: torch.Tensor) -> int:
    """The common length of ``vectors``, or an error listing every length."""
    lengths = {name: len(vector) for name, vector in vectors.items()}
    if len(set(lengths.values())) != 1:
        listed = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise ValueError(f"expected one value per example in each input, but {listed}")
    return next(iter(lengths.values()))


def as_binary(values, name: str) -> torch.Tensor:
    """``values`` as a 1-D bool tensor, after checking that every entry is 0 or 1 (or False / True)."""
    tensor = as_vector(values, name)
    outside = (tensor != 0) & (tensor != 1)
    if bool(outside.any()):
        position = int(outside.nonzero()[0])
        raise ValueError(f"{name}: expected binary labels, each 0 or 1, got {tensor[position].item()!r} at position "
                         f"{position} (for several classes use average='macro' or 'micro')")
    return tensor.bool()


def as_class_ids(values, name: str) -> torch.Tensor:
    """``values`` as a 1-D int64 tensor of class ids (whole numbers >= 0)."""
    tensor = as_vector(values, name)
    not_ids = (tensor != tensor.round()) | (tensor < 0)
    if bool(not_ids.any()):
        position = int(not_ids.nonzero()[0])
        raise ValueError(f"{name}: expected class ids (whole numbers >= 0), got {tensor[position].item()!r} "
                         f"at position {position}")
    return tensor.long()


def check_int(value, name: str, at_least: int) -> int:
    """``value`` if it is an int >= ``at_least`` (not a bool), else a clear error."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}: expected an int, got {describe(value)}")
    if value < at_least:
        raise ValueError(f"{name}: expected an int >= {at_least}, got {value!r}")
    return int(value)


def check_fraction(value, name: str, *, open_low: bool = True) -> float:
    """``value`` if it is a number in (0, 1) (or [0, 1) with ``open_low=False``), else a clear error."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise TypeError(f"{name}: expected a number between 0 and 1, got {describe(value)}")
    if not (0 < value < 1 if open_low else 0 <= value < 1):
        raise ValueError(f"{name}: expected a number in {'(0' if open_low else '[0'}, 1), got {value!r}")
    return float(value)
