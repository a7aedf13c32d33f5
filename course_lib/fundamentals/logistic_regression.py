"""Supervised learning in its smallest form: logistic regression on labelled points.

Given points X (N, D) with labels y in {0, 1}, the model scores each point with a line
(a plane in D dimensions) and squashes the score into a probability:

    z = X @ w + b                 # (N,) the score, or "logit": which side of the line, how far
    p = sigmoid(z) = 1 / (1 + exp(-z))   # (N,) the model's P(y = 1 | x)

It is *discriminative*: it models only P(y | x), the boundary between the classes, and
says nothing about where points come from. Training minimises the binary cross-entropy,
the mean of ``-log P(the true label)``:

    L = mean_n  -[ y_n log p_n + (1 - y_n) log(1 - p_n) ]

Its gradient is remarkably simple, because the sigmoid's derivative cancels against the log:

    dL/dz_n = (p_n - y_n) / N       (prediction minus truth)
    dL/dw   = X.T @ (p - y) / N     dL/db = mean(p - y)
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from course_lib.fundamentals.gradient_descent import minimize
from course_lib.validation import check_positive, check_tensor


def _check(w: torch.Tensor, b: torch.Tensor, X: torch.Tensor, y: torch.Tensor | None = None) -> None:
    sizes = check_tensor(X, "X", shape=("N", "D"))
    check_tensor(w, "w", shape=(sizes["D"],))
    check_tensor(b, "b", shape=())
    if y is not None:
        check_tensor(y, "y", shape=(sizes["N"],))
        if bool(((y != 0) & (y != 1)).any()):
            raise ValueError("y: expected labels 0 or 1")


def logits(w: torch.Tensor, b: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """The score of each point, ``X @ w + b`` (N,); positive means class 1 is more likely."""
    _check(w, b, X)
    return X @ w + b


def predict_proba(w: torch.Tensor, b: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """P(y = 1 | x) for each point (N,)."""
    return torch.sigmoid(logits(w, b, X))


def loss(w: torch.Tensor, b: torch.Tensor, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The mean binary cross-entropy (a 0-d tensor), written so that large scores cannot overflow.

    -[y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))] simplifies to softplus(z) - y * z,
    and softplus(z) = log(1 + exp(z)) is computed safely by torch for any z.
    """
    _check(w, b, X, y)
    z = X @ w + b                                   # (N,)
    return (F.softplus(z) - y.to(z.dtype) * z).mean()


def gradient(w: torch.Tensor, b: torch.Tensor, X: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The gradient of ``loss`` by hand: (dL/dw (D,), dL/db ())."""
    _check(w, b, X, y)
    error = torch.sigmoid(X @ w + b) - y.to(X.dtype)  # (N,) prediction minus truth
    return X.T @ error / len(y), error.mean()


def gradient_step(w: torch.Tensor, b: torch.Tensor, X: torch.Tensor, y: torch.Tensor,
                  lr: float) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of gradient descent: new tensors ``w - lr * dL/dw`` and ``b - lr * dL/db``."""
    check_positive(lr, "lr")
    grad_w, grad_b = gradient(w, b, X, y)
    return w - lr * grad_w, b - lr * grad_b


class LogisticRegression:
    """Logistic regression trained by gradient descent, with autograd computing the gradient."""

    def __init__(self, num_features: int = 2, dtype: torch.dtype = torch.float32):
        if isinstance(num_features, bool) or not isinstance(num_features, int) or num_features < 1:
            raise ValueError(f"num_features: expected a positive int, got {num_features!r}")
        self.w = torch.zeros(num_features, dtype=dtype, requires_grad=True)  # (D,)
        self.b = torch.zeros((), dtype=dtype, requires_grad=True)            # ()

    def fit(self, X: torch.Tensor, y: torch.Tensor, lr: float = 0.5, steps: int = 200,
            progress: bool = False) -> list[float]:
        """Train on points X (N, D) with 0/1 labels y (N,); returns the loss before each step."""
        _check(self.w, self.b, X, y)
        y = y.to(self.w.dtype)
        return minimize(lambda: loss(self.w, self.b, X, y), [self.w, self.b], lr, steps, progress)

    @torch.no_grad()
    def predict_proba(self, X: torch.Tensor) -> torch.Tensor:
        """P(y = 1 | x) for each row of X (N,)."""
        return predict_proba(self.w, self.b, X)

    @torch.no_grad()
    def predict(self, X: torch.Tensor) -> torch.Tensor:
        """The more likely class (0 or 1) for each row of X (N,) long."""
        return (logits(self.w, self.b, X) > 0).long()
