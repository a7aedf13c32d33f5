"""Regularisation: penalties on the weights, their proximal step, dropout, and the AdamW story.

Regularisers trade a little training loss for simpler models that generalise better.

Penalties, with ``lambda`` the strength (conventions chosen so that an L2 penalty's gradient
is exactly torch's ``weight_decay * w``):

    L1           lambda * sum |w|                          pushes weights to exactly 0
    L2           lambda / 2 * sum w^2                      shrinks every weight in proportion
    elastic net  lambda * (r * sum |w| + (1 - r) / 2 * sum w^2)   a mix, r = l1_ratio

Gradient descent cannot make a weight exactly 0 with an L1 penalty (|w| has no gradient at 0,
so the weights jitter around it). The proximal step can: take the gradient step on the loss
alone, then shrink each weight toward 0 by ``lr * lambda`` and stop at 0 (soft thresholding).

The file ends with two demonstrations: L2-in-Adam versus AdamW's decoupled decay, and the
coefficient paths of L1 (lasso) and L2 (ridge) on features that are correlated.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from course_lib.optim import SGD, Adam, AdamW


def _tensors(params) -> list[torch.Tensor]:
    """Accept one tensor or an iterable of them (e.g. ``model.parameters()``)."""
    if isinstance(params, torch.Tensor):
        return [params]
    params = list(params)
    for i, p in enumerate(params):
        if not isinstance(p, torch.Tensor):
            raise TypeError(f"params[{i}]: expected a tensor, got {type(p).__name__}")
    if not params:
        raise ValueError("params: expected at least one tensor, got none")
    return params


def _check_strength(strength, name: str = "strength") -> float:
    if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not strength >= 0:
        raise ValueError(f"{name}: expected a number >= 0, got {strength!r}")
    return float(strength)


# ---- penalties ---------------------------------------------------------------------------

def l1_penalty(params, strength: float) -> torch.Tensor:
    """``strength * sum |w|`` over all the tensors."""
    strength = _check_strength(strength)
    return strength * sum(p.abs().sum() for p in _tensors(params))


def l2_penalty(params, strength: float) -> torch.Tensor:
    """``strength / 2 * sum w^2``: its gradient is ``strength * w``, torch's weight decay."""
    strength = _check_strength(strength)
    return strength / 2 * sum((p * p).sum() for p in _tensors(params))


def elastic_net_penalty(params, strength: float, l1_ratio: float = 0.5) -> torch.Tensor:
    """``strength * (l1_ratio * sum |w| + (1 - l1_ratio) / 2 * sum w^2)``: L1 at 1, L2 at 0."""
    strength = _check_strength(strength)
    if isinstance(l1_ratio, bool) or not isinstance(l1_ratio, (int, float)) or not 0 <= l1_ratio <= 1:
        raise ValueError(f"l1_ratio: expected a number in [0, 1], got {l1_ratio!r}")
    return l1_penalty(params, strength * l1_ratio) + l2_penalty(params, strength * (1 - l1_ratio))


# ---- the proximal step for L1 ------------------------------------------------------------

def soft_threshold(w: torch.Tensor, threshold: float) -> torch.Tensor:
    """``sign(w) * max(|w| - threshold, 0)``: shrink toward 0 by ``threshold``, stopping at 0.

    It is the exact minimiser of ``(v - w)^2 / 2 + threshold * |v|`` for each entry: the
    proximal operator of the L1 norm. Entries with ``|w| <= threshold`` become exactly 0.
    """
    threshold = _check_strength(threshold, "threshold")
    return torch.sign(w) * torch.clamp(w.abs() - threshold, min=0.0)


@torch.no_grad()
def proximal_l1_step(params, lr: float, strength: float) -> None:
    """After an optimizer step on the plain loss, apply L1 exactly: ``w <- soft_threshold(w, lr * strength)``.

    Together, a gradient step and this step are one step of proximal gradient descent (ISTA)
    on ``loss + strength * sum |w|``.
    """
    lr, strength = _check_strength(lr, "lr"), _check_strength(strength)
    for p in _tensors(params):
        p.copy_(soft_threshold(p, lr * strength))


# ---- dropout -----------------------------------------------------------------------------

def dropout(x: torch.Tensor, p: float = 0.5, training: bool = True,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero each entry with probability ``p`` during training; scale the survivors by ``1 / (1 - p)``.

    The scaling ("inverted dropout") keeps the expected value of every entry equal to x, so at
    evaluation time nothing needs to change: with ``training=False`` dropout is the identity.
    Drawn the same way as ``torch.nn.functional.dropout`` on the CPU: with a generator seeded
    like torch's global one, the masks are identical. (The generator must live on x's device.)
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x: expected a tensor, got {type(x).__name__}")
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise ValueError(f"dropout probability p: expected a number in [0, 1], got {p!r}")
    if not training or p == 0:
        return x
    if p == 1:  # everything dropped; 1 / (1 - p) would divide by zero
        return x * torch.zeros_like(x)
    keep = torch.empty_like(x).bernoulli_(1 - p, generator=generator)  # 1 = keep, 0 = drop
    scale = keep / (1 - p)  # 0 or 1 / (1 - p), so that E[scale] = 1
    return x * scale


class Dropout(nn.Module):
    """Dropout as a layer: drops in ``model.train()`` mode, passes through in ``model.eval()``."""

    def __init__(self, p: float = 0.5, generator: torch.Generator | None = None):
        super().__init__()
        dropout(torch.zeros(0), p)  # check p now, not at the first forward pass
        self.p, self.generator = p, generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"


# ---- demonstration: L2 inside Adam is not weight decay -----------------------------------

def scaled_regression(n_samples: int = 64, seed: int = 0, dtype: torch.dtype = torch.float64):
    """A linear regression whose five features have very different scales (0.1 ... 10).

    ``(X, y)`` with X (n_samples, 5) and y (n_samples,). Different scales make the gradients
    of different weights differ in size, which is where Adam and AdamW part ways.
    """
    g = torch.Generator().manual_seed(seed)
    scales = torch.tensor([0.1, 0.3, 1.0, 3.0, 10.0], dtype=dtype)  # (5,)
    X = torch.randn(n_samples, 5, generator=g, dtype=dtype) * scales  # (N, 5)
    w_true = torch.tensor([2.0, -1.0, 0.5, 0.3, -0.1], dtype=dtype)  # (5,)
    y = X @ w_true + 0.1 * torch.randn(n_samples, generator=g, dtype=dtype)  # (N,)
    return X, y


@dataclass
class DecayComparison:
    """Weights after training with the L2 penalty in the gradient vs decoupled weight decay."""

    optimizer: str
    l2_weights: torch.Tensor  # (5,)
    decoupled_weights: torch.Tensor  # (5,)
    l2_loss: float
    decoupled_loss: float

    @property
    def max_difference(self) -> float:
        return (self.l2_weights - self.decoupled_weights).abs().max().item()


def compare_l2_and_decoupled_decay(optimizer: str = "adam", lr: float | None = None,
                                   weight_decay: float = 0.1, n_steps: int = 200,
                                   seed: int = 0) -> DecayComparison:
    """Train the same regression twice: weight decay as an L2 gradient, and decoupled.

    * ``"adam"``: ``Adam(weight_decay=...)`` against ``AdamW(weight_decay=...)``. Adam divides the
      L2 gradient by sqrt(v_hat), so weights with large gradients are hardly decayed; AdamW
      shrinks every weight by the same ``lr * weight_decay`` fraction. The results differ.
    * ``"sgd"``: ``SGD(weight_decay=...)`` against the decoupled SGD update. Without momentum,
      ``w - lr (g + lambda w)`` equals ``(1 - lr lambda) w - lr g``: they coincide, with the same
      lambda because torch's decoupled decay is multiplied by lr. (If decay is written without
      lr, as ``w <- (1 - lambda') w``, then ``lambda' = lr * lambda`` is the matching value.)

    ``lr=None`` picks a stable rate for each: 0.05 for Adam, 0.005 for SGD (the steepest
    feature has curvature about 100, and plain gradient descent needs lr < 2 / 100).
    """
    pairs = {"adam": (Adam, AdamW, {}), "sgd": (SGD, SGD, {"decoupled_weight_decay": True})}
    if optimizer not in pairs:
        raise ValueError(f"optimizer: expected 'adam' or 'sgd', got {optimizer!r}")
    if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 1:
        raise ValueError(f"n_steps: expected an int >= 1, got {n_steps!r}")
    coupled_class, decoupled_class, decoupled_extra = pairs[optimizer]
    if lr is None:
        lr = 0.05 if optimizer == "adam" else 0.005
    X, y = scaled_regression(seed=seed)

    def train(opt_class, extra):
        w = torch.zeros(5, dtype=X.dtype, requires_grad=True)  # (5,)
        opt = opt_class([w], lr=lr, weight_decay=weight_decay, **extra)
        for _ in range(n_steps):
            opt.zero_grad()
            (0.5 * ((X @ w - y) ** 2).mean()).backward()
            opt.step()
        w = w.detach()
        return w, (0.5 * ((X @ w - y) ** 2).mean()).item()

    l2_w, l2_loss = train(coupled_class, {})
    dec_w, dec_loss = train(decoupled_class, decoupled_extra)
    return DecayComparison(optimizer, l2_w, dec_w, l2_loss, dec_loss)


# ---- demonstration: coefficient paths of L1 and L2 ---------------------------------------

def correlated_regression(n_samples: int = 80, n_features: int = 6, correlation: float = 0.8,
                          noise: float = 0.5, seed: int = 0, dtype: torch.dtype = torch.float64):
    """Regression data whose features are correlated with each other.

    Each feature is ``sqrt(rho) * shared + sqrt(1 - rho) * own`` (pairwise correlation rho);
    half of the true weights are 0. Columns of X and y are centred, so no intercept is needed.
    Returns ``(X, y, w_true)`` with shapes (n_samples, n_features), (n_samples,), (n_features,).
    """
    if isinstance(n_features, bool) or not isinstance(n_features, int) or n_features < 2:
        raise ValueError(f"n_features: expected an int >= 2, got {n_features!r}")
    if not 0 <= correlation < 1:
        raise ValueError(f"correlation: expected a number in [0, 1), got {correlation!r}")
    g = torch.Generator().manual_seed(seed)
    shared = torch.randn(n_samples, 1, generator=g, dtype=dtype)  # (N, 1)
    own = torch.randn(n_samples, n_features, generator=g, dtype=dtype)  # (N, D)
    X = correlation ** 0.5 * shared + (1 - correlation) ** 0.5 * own  # (N, D)
    w_true = torch.zeros(n_features, dtype=dtype)  # (D,)
    w_true[: (n_features + 1) // 2] = torch.linspace(3.0, 1.0, (n_features + 1) // 2, dtype=dtype)
    y = X @ w_true + noise * torch.randn(n_samples, generator=g, dtype=dtype)  # (N,)
    return X - X.mean(0), y - y.mean(), w_true


def ridge(X: torch.Tensor, y: torch.Tensor, strength: float) -> torch.Tensor:
    """The minimiser of ``||y - Xw||^2 / (2N) + strength / 2 * ||w||^2``, in closed form:

        w = (X^T X / N + strength * I)^(-1) X^T y / N
    """
    strength = _check_strength(strength)
    n, d = X.shape
    A = X.T @ X / n + strength * torch.eye(d, dtype=X.dtype, device=X.device)  # (D, D)
    return torch.linalg.solve(A, X.T @ y / n)  # (D,)


def lasso(X: torch.Tensor, y: torch.Tensor, strength: float, w_start: torch.Tensor | None = None,
          tol: float = 1e-12, max_steps: int = 20_000) -> torch.Tensor:
    """The minimiser of ``||y - Xw||^2 / (2N) + strength * ||w||_1`` by proximal gradient (ISTA).

    Each step: a gradient step on the squared error, then soft thresholding. The step size is
    1 / L, L the largest eigenvalue of X^T X / N, which guarantees the loss never increases.
    Stops when no weight moves by more than ``tol``. Zeros in the answer are exact zeros.
    """
    strength = _check_strength(strength)
    n, d = X.shape
    step = 1.0 / torch.linalg.eigvalsh(X.T @ X / n).max().item()  # 1 / L
    w = torch.zeros(d, dtype=X.dtype, device=X.device) if w_start is None else w_start.clone()  # (D,)
    for _ in range(max_steps):
        grad = X.T @ (X @ w - y) / n  # (D,): gradient of the squared error
        w_next = soft_threshold(w - step * grad, step * strength)  # gradient step, then prox
        if (w_next - w).abs().max().item() <= tol:
            return w_next
        w = w_next
    return w


def coefficient_paths(X: torch.Tensor, y: torch.Tensor, strengths, penalty: str = "l1") -> torch.Tensor:
    """The fitted weights for each penalty strength: a tensor (len(strengths), n_features).

    With ``"l1"`` (lasso) more weights become exactly 0 as the strength grows, and all are 0 from
    ``max |X^T y| / N`` on; with ``"l2"`` (ridge) they shrink smoothly but none reaches 0.
    """
    if penalty not in ("l1", "l2"):
        raise ValueError(f"penalty: expected 'l1' or 'l2', got {penalty!r}")
    if X.dim() != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"expected X of shape (N, D) and y of shape (N,), got {tuple(X.shape)} "
                         f"and {tuple(y.shape)}")
    paths, w = [], None
    for strength in strengths:
        if penalty == "l1":
            w = lasso(X, y, strength, w_start=w)  # start from the previous answer: fewer steps
        else:
            w = ridge(X, y, strength)
        paths.append(w)
    return torch.stack(paths)  # (S, D)
