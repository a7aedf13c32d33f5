"""Unsupervised learning: k-means finds groups in points that carry no labels.

k-means places k centres ("centroids") and repeats two steps until nothing changes:

1. assign: each point joins the group of its nearest centroid;
2. update: each centroid moves to the mean of the points in its group.

Each step can only lower (never raise) the *inertia*, the sum of squared distances from
the points to their centroids: step 1 picks the nearest centroid for every point, and the
mean in step 2 is the point with the smallest sum of squared distances to its group.
So k-means always settles, though possibly in a poor arrangement; a careful start helps.
We start with "k-means++": the first centroid is a random point, and each further one is a
random point drawn with probability proportional to its squared distance to the nearest
centroid so far, which spreads the starting centroids out.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from course_lib.validation import check_tensor


def _check_points(X: torch.Tensor, k: int) -> None:
    check_tensor(X, "X", shape=("N", "D"))
    if not X.is_floating_point():
        raise TypeError(f"X: expected floating-point coordinates, got dtype {X.dtype}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k: expected a positive int, got {k!r}")
    if k > X.shape[0]:
        raise ValueError(f"k: cannot make {k} groups from {X.shape[0]} points")


def squared_distances(X: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """(N, k) table: squared distance from every point to every centroid."""
    return ((X[:, None, :] - centroids[None, :, :]) ** 2).sum(dim=-1)  # (N, 1, D) - (1, k, D)


def init_centroids(X: torch.Tensor, k: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """k starting centroids (k, D) chosen among the points by k-means++."""
    _check_points(X, k)
    first = torch.randint(len(X), (1,), generator=generator)
    centroids = X[first]                                                # (1, D)
    for _ in range(1, k):
        nearest = squared_distances(X, centroids).min(dim=1).values     # (N,)
        # Points already chosen have weight 0; if every point coincides with a centroid, pick uniformly.
        weights = nearest if nearest.sum() > 0 else torch.ones_like(nearest)
        pick = torch.multinomial(weights, 1, generator=generator)
        centroids = torch.cat([centroids, X[pick]])
    return centroids.clone()


def assign(X: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """Step 1: the index of the nearest centroid for each point (N,) long."""
    return squared_distances(X, centroids).argmin(dim=1)


def update(X: torch.Tensor, labels: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """Step 2: each centroid moves to the mean of its points; a centroid with no points stays put."""
    k = len(centroids)
    sums = torch.zeros_like(centroids).index_add_(0, labels, X)                # (k, D)
    counts = torch.bincount(labels, minlength=k).to(X.dtype)                    # (k,)
    means = sums / counts.clamp(min=1)[:, None]
    return torch.where(counts[:, None] > 0, means, centroids)


def inertia(X: torch.Tensor, centroids: torch.Tensor, labels: torch.Tensor) -> float:
    """Sum of squared distances from each point to its assigned centroid."""
    return ((X - centroids[labels]) ** 2).sum().item()


@dataclass
class KMeansResult:
    centroids: torch.Tensor                  # (k, D)
    labels: torch.Tensor                     # (N,) the group of each point
    inertia_history: list[float] = field(default_factory=list)  # after each assign step
    history: list[torch.Tensor] = field(default_factory=list)   # centroids at the start of each round


def fit(X: torch.Tensor, k: int, max_steps: int = 100,
        generator: torch.Generator | None = None, centroids: torch.Tensor | None = None) -> KMeansResult:
    """Run k-means on points X (N, D) until the groups stop changing (or ``max_steps`` rounds).

    ``centroids`` (k, D) sets the start; by default k-means++ picks it with ``generator``.
    """
    _check_points(X, k)
    if centroids is None:
        centroids = init_centroids(X, k, generator)
    else:
        check_tensor(centroids, "centroids", shape=(k, X.shape[1]))
        centroids = centroids.to(X.dtype).clone()
    result = KMeansResult(centroids, assign(X, centroids))
    for _ in range(max_steps):
        result.history.append(centroids)
        labels = assign(X, centroids)
        result.inertia_history.append(inertia(X, centroids, labels))
        new_centroids = update(X, labels, centroids)
        done = torch.equal(new_centroids, centroids)
        centroids = new_centroids
        if done:
            break
    result.centroids, result.labels = centroids, assign(X, centroids)
    return result
