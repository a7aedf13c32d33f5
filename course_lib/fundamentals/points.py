"""Toy data for the first lesson: clouds of 2-D points around chosen centres.

Each cloud ("blob") is a round Gaussian: its points are ``centre + std * noise`` with
standard-normal noise. Points carry the index of the blob they came from, which is the
label for classification and the hidden truth for clustering.
"""
from __future__ import annotations

import torch

from course_lib.validation import check_positive


def make_blobs(
    centers: torch.Tensor | list,
    n_per_blob: int = 50,
    std: float = 1.0,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n_per_blob`` points around each of the K ``centers`` (K, D).

    Returns X (K * n_per_blob, D) float32 points and y (K * n_per_blob,) long blob indices,
    blob by blob (shuffle them yourself if the order matters).
    """
    centers = torch.as_tensor(centers, dtype=torch.float32)
    if centers.dim() != 2 or centers.shape[0] == 0:
        raise ValueError(f"centers: expected a (K, D) table of K >= 1 centres, got shape {tuple(centers.shape)}")
    if isinstance(n_per_blob, bool) or not isinstance(n_per_blob, int) or n_per_blob < 1:
        raise ValueError(f"n_per_blob: expected a positive int, got {n_per_blob!r}")
    check_positive(std, "std")
    num_blobs, dims = centers.shape
    noise = torch.randn(num_blobs, n_per_blob, dims, generator=generator)  # (K, n, D)
    X = (centers[:, None, :] + std * noise).reshape(-1, dims)              # (K * n, D)
    y = torch.arange(num_blobs).repeat_interleave(n_per_blob)               # (K * n,)
    return X, y


def two_blobs(n_per_blob: int = 100, distance: float = 3.0, std: float = 1.0,
              generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Two classes of 2-D points whose centres lie ``distance`` apart on a diagonal line."""
    check_positive(distance, "distance", allow_zero=True)
    half = distance / (2 * 2 ** 0.5)  # each centre sits distance/2 from the origin along (1, 1)
    return make_blobs([[-half, -half], [half, half]], n_per_blob, std, generator)
