"""Generative models: learn where the data comes from, then make more of it.

A *discriminative* model (logistic regression) learns only P(class | point): the boundary.
A *generative* model learns P(point | class) and P(class), the whole picture, so it can
also *sample* new points. Bayes' rule turns it into a classifier as well:

    P(class | x) = P(x | class) P(class) / sum_c P(x | c) P(c)

Here each class is one 2-D Gaussian (a bell-shaped cloud) described by a mean (where the
cloud sits) and a covariance (its spread and tilt). Fitting is counting-like: the mean of
the class's points and the average outer product of their deviations. Sampling uses
the Cholesky factor L of the covariance (L @ L.T == cov): if z is standard-normal noise,
``mean + z @ L.T`` has exactly that mean and covariance.
"""
from __future__ import annotations

import math

import torch

from course_lib.validation import check_tensor


def fit_gaussian(X: torch.Tensor, ridge: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Maximum-likelihood mean (D,) and covariance (D, D) of the points X (N, D).

    ``ridge`` is added to the diagonal of the covariance (keeps it invertible for tiny data).
    """
    check_tensor(X, "X", shape=("N", "D"))
    if not X.is_floating_point():
        raise TypeError(f"X: expected floating-point coordinates, got dtype {X.dtype}")
    if X.shape[0] < 2:
        raise ValueError(f"X: need at least 2 points to estimate a spread, got {X.shape[0]}")
    if ridge < 0:
        raise ValueError(f"ridge: expected a value >= 0, got {ridge!r}")
    mean = X.mean(dim=0)                                # (D,)
    centred = X - mean                                  # (N, D)
    cov = centred.T @ centred / X.shape[0]              # (D, D); divide by N: the maximum-likelihood estimate
    return mean, cov + ridge * torch.eye(X.shape[1], dtype=X.dtype)


def _cholesky(cov: torch.Tensor) -> torch.Tensor:
    L, info = torch.linalg.cholesky_ex(cov)
    if info.item() != 0:
        raise ValueError("cov: expected a symmetric positive-definite covariance; this one is not "
                         "(are all points on one line? fit with ridge > 0)")
    return L


def log_prob(X: torch.Tensor, mean: torch.Tensor, cov: torch.Tensor) -> torch.Tensor:
    """log N(x | mean, cov) for each row of X (N,)."""
    check_tensor(X, "X", shape=("N", "D"))
    check_tensor(mean, "mean", shape=(X.shape[1],))
    check_tensor(cov, "cov", shape=(X.shape[1], X.shape[1]))
    L = _cholesky(cov)
    # Solve L u = (x - mean): then u.u is the squared Mahalanobis distance.
    u = torch.linalg.solve_triangular(L, (X - mean).T, upper=False)   # (D, N)
    mahalanobis = (u ** 2).sum(dim=0)                                   # (N,)
    log_det = 2 * torch.log(torch.diagonal(L)).sum()                    # log |cov|
    D = X.shape[1]
    return -0.5 * (mahalanobis + log_det + D * math.log(2 * math.pi))


def sample(mean: torch.Tensor, cov: torch.Tensor, n: int,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` new points (n, D) drawn from the Gaussian N(mean, cov)."""
    check_tensor(mean, "mean", shape=("D",))
    check_tensor(cov, "cov", shape=(mean.shape[0], mean.shape[0]))
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n: expected an int >= 0, got {n!r}")
    L = _cholesky(cov)
    z = torch.randn(n, mean.shape[0], generator=generator, dtype=mean.dtype)  # (n, D) standard normal
    return mean + z @ L.T


class GaussianClassifier:
    """A generative classifier: one Gaussian per class plus how common each class is."""

    def fit(self, X: torch.Tensor, y: torch.Tensor, ridge: float = 1e-6) -> "GaussianClassifier":
        """Fit a mean and covariance to each class's points in X (N, D) with labels y (N,) in [0, C)."""
        check_tensor(X, "X", shape=("N", "D"))
        check_tensor(y, "y", shape=(X.shape[0],))
        if y.is_floating_point() or y.numel() == 0 or y.min() < 0:
            raise ValueError("y: expected class indices 0, 1, ... (an integer tensor)")
        num_classes = int(y.max()) + 1
        self.means, self.covs, priors = [], [], []
        for c in range(num_classes):
            points = X[y == c]
            if len(points) < 2:
                raise ValueError(f"class {c} has {len(points)} points; each class needs at least 2")
            mean, cov = fit_gaussian(points, ridge)
            self.means.append(mean)
            self.covs.append(cov)
            priors.append(len(points) / len(y))
        self.priors = torch.tensor(priors, dtype=X.dtype)  # (C,) P(class)
        return self

    def log_joint(self, X: torch.Tensor) -> torch.Tensor:
        """log P(x, class) = log P(x | class) + log P(class), for each point and class (N, C)."""
        return torch.stack([log_prob(X, m, S) for m, S in zip(self.means, self.covs)], dim=1) + self.priors.log()

    def predict_proba(self, X: torch.Tensor) -> torch.Tensor:
        """P(class | x) by Bayes' rule (N, C): the joint, normalised over the classes."""
        return torch.softmax(self.log_joint(X), dim=1)

    def predict(self, X: torch.Tensor) -> torch.Tensor:
        return self.log_joint(X).argmax(dim=1)

    def sample(self, n: int, label: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` new points (n, D) of class ``label``: the model *generates* data."""
        if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < len(self.means):
            raise ValueError(f"label: expected a class in [0, {len(self.means)}), got {label!r}")
        return sample(self.means[label], self.covs[label], n, generator)
