"""Hyperparameter search: grid, random, and Bayesian optimisation with a Gaussian process.

Training has settings that gradient descent cannot learn: the learning rate, the weight decay.
Each choice costs a whole training run to judge, so the question is how to choose the next
setting to try. Three answers, from simplest to smartest:

* grid search: try every point on a regular grid (simple, but wastes runs on rows and
  columns of a setting that does not matter);
* random search: try points drawn uniformly from the box (each trial is a fresh value of
  every setting);
* Bayesian optimisation: fit a Gaussian process to the results so far (a guess of the loss
  everywhere, with error bars) and try next where the *expected improvement* over the best
  result is largest: where the guess is low, or uncertain, or both.

The objective is a real, small training run (``TrainingObjective``): a logistic regression
trained by gradient descent on generated data, scored by its validation loss, as a function
of ``log10_lr`` and ``weight_decay``.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

# ---- the search space --------------------------------------------------------------------


@dataclass(frozen=True)
class SearchSpace:
    """A box of settings: ``{"name": (low, high), ...}``, searched uniformly in these units.

    Put scale-like settings in log units (``log10_lr`` from -3 to 1 means lr from 0.001 to 10):
    a uniform draw then spends as many trials on 0.001..0.01 as on 0.1..1.
    """

    bounds: dict[str, tuple[float, float]]

    def __post_init__(self):
        if not isinstance(self.bounds, dict) or not self.bounds:
            raise ValueError(f"bounds: expected a dict name -> (low, high), got {self.bounds!r}")
        for name, pair in self.bounds.items():
            if (not isinstance(pair, (tuple, list)) or len(pair) != 2
                    or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in pair)
                    or not pair[0] < pair[1]):
                raise ValueError(f"bounds[{name!r}]: expected (low, high) with low < high, got {pair!r}")

    @property
    def names(self) -> list[str]:
        return list(self.bounds)

    @property
    def dim(self) -> int:
        return len(self.bounds)

    def from_unit(self, u: torch.Tensor) -> list[dict[str, float]]:
        """Points of the unit cube (n, dim) to settings dicts in the box's units."""
        low = torch.tensor([lo for lo, _ in self.bounds.values()], dtype=torch.float64)  # (dim,)
        high = torch.tensor([hi for _, hi in self.bounds.values()], dtype=torch.float64)  # (dim,)
        x = low + u * (high - low)  # (n, dim)
        return [dict(zip(self.names, row.tolist())) for row in x]

    def to_unit(self, settings: dict[str, float]) -> torch.Tensor:
        """One settings dict to its point in the unit cube, shape (dim,)."""
        return torch.tensor([(settings[n] - lo) / (hi - lo) for n, (lo, hi) in self.bounds.items()],
                            dtype=torch.float64)

    def grid(self, points_per_axis: int) -> list[dict[str, float]]:
        """Every point of a regular grid with ``points_per_axis`` values per setting (ends included)."""
        if isinstance(points_per_axis, bool) or not isinstance(points_per_axis, int) or points_per_axis < 2:
            raise ValueError(f"points_per_axis: expected an int >= 2, got {points_per_axis!r}")
        axis = torch.linspace(0, 1, points_per_axis, dtype=torch.float64)  # (k,)
        mesh = torch.meshgrid(*[axis] * self.dim, indexing="ij")  # dim tensors (k, ..., k)
        unit = torch.stack([m.flatten() for m in mesh], dim=1)  # (k^dim, dim)
        return self.from_unit(unit)


# ---- trials and results ------------------------------------------------------------------


@dataclass
class Trial:
    settings: dict[str, float]
    value: float


@dataclass
class SearchResult:
    """The trials of one search, in the order they were run."""

    method: str
    trials: list[Trial] = field(default_factory=list)

    @property
    def best(self) -> Trial:
        return min(self.trials, key=lambda t: t.value)

    def best_so_far(self) -> list[float]:
        """The best value after 1, 2, ... trials (for the classic convergence plot)."""
        values, best = [], math.inf
        for t in self.trials:
            best = min(best, t.value)
            values.append(best)
        return values

    def trials_to_reach(self, target: float) -> int | None:
        """How many trials it took to first get a value <= target; None if it never did."""
        for i, t in enumerate(self.trials, start=1):
            if t.value <= target:
                return i
        return None


def _evaluate(objective: Callable[..., float], settings: dict[str, float]) -> Trial:
    value = float(objective(**settings))
    if math.isnan(value):
        raise ValueError(f"the objective returned nan for {settings}; return a large finite value "
                         "for failed runs instead (TrainingObjective caps its loss)")
    return Trial(settings, value)


def _check_trials(n_trials, name: str = "n_trials", minimum: int = 1) -> None:
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {n_trials!r}")


# ---- grid and random search --------------------------------------------------------------


def grid_search(objective, space: SearchSpace, points_per_axis: int,
                shuffle_seed: int | None = None) -> SearchResult:
    """Evaluate every grid point: row by row, or in a random order drawn with ``shuffle_seed``.

    (The order does not change the best point found, only how soon it is found; comparisons
    of "trials needed" therefore shuffle, so that the grid is not judged by an arbitrary order.)
    """
    points = space.grid(points_per_axis)
    if shuffle_seed is not None:
        order = torch.randperm(len(points), generator=torch.Generator().manual_seed(shuffle_seed))
        points = [points[i] for i in order.tolist()]
    return SearchResult("grid", [_evaluate(objective, p) for p in points])


def random_search(objective, space: SearchSpace, n_trials: int, seed: int = 0) -> SearchResult:
    """Evaluate ``n_trials`` points drawn uniformly from the box."""
    _check_trials(n_trials)
    g = torch.Generator().manual_seed(seed)
    unit = torch.rand(n_trials, space.dim, generator=g, dtype=torch.float64)  # (n, dim)
    return SearchResult("random", [_evaluate(objective, p) for p in space.from_unit(unit)])


# ---- the Gaussian process ----------------------------------------------------------------


def rbf_kernel(a: torch.Tensor, b: torch.Tensor, length_scale, variance: float = 1.0) -> torch.Tensor:
    """``k(a_i, b_j) = variance * exp(-||(a_i - b_j) / length_scale||^2 / 2)``: shape (n, m).

    Nearby points get correlated values (k near variance); far ones independent (k near 0).
    ``length_scale`` is one number, or one per dimension (shape (dim,)): a long length scale
    says "the loss hardly changes along this setting".
    """
    diff = (a[:, None, :] - b[None, :, :]) / length_scale  # (n, m, dim)
    return variance * torch.exp(-0.5 * (diff * diff).sum(-1))  # (n, m)


class GaussianProcess:
    """A zero-mean Gaussian process with an RBF kernel, observed with Gaussian noise.

    After ``fit(x, y)``, ``predict(x_new)`` gives the posterior of f at new points:

        K     = k(x, x) + noise * I                     (n, n)
        K_s   = k(x, x_new)                             (n, m)
        mean  = K_s^T K^(-1) y                          (m,)
        cov   = k(x_new, x_new) - K_s^T K^(-1) K_s      (m, m)

    K^(-1) is never formed: with the Cholesky factor K = L L^T, ``alpha = K^(-1) y`` takes two
    triangular solves, and ``K_s^T K^(-1) K_s = V^T V`` with ``V = L^(-1) K_s``. That is both
    faster and more accurate than an inverse.
    """

    def __init__(self, length_scale=0.2, variance: float = 1.0, noise: float = 1e-6):
        length_scale = torch.as_tensor(length_scale, dtype=torch.float64)  # () or (dim,)
        if length_scale.dim() > 1 or not (length_scale > 0).all():
            raise ValueError(f"length_scale: expected a number > 0 or one per dimension, "
                             f"got {length_scale.tolist()}")
        if not isinstance(variance, (int, float)) or not variance > 0:
            raise ValueError(f"variance: expected a number > 0, got {variance!r}")
        if not isinstance(noise, (int, float)) or not noise >= 0:
            raise ValueError(f"noise: expected a number >= 0, got {noise!r}")
        self.length_scale, self.variance, self.noise = length_scale, float(variance), float(noise)

    def fit(self, x: torch.Tensor, y: torch.Tensor) -> GaussianProcess:
        if x.dim() != 2 or y.shape != (x.shape[0],) or x.shape[0] == 0:
            raise ValueError(f"expected x of shape (n, dim) and y of shape (n,) with n >= 1, "
                             f"got {tuple(x.shape)} and {tuple(y.shape)}")
        self.x, self.y = x.to(torch.float64), y.to(torch.float64)
        n = self.x.shape[0]
        K = rbf_kernel(self.x, self.x, self.length_scale, self.variance) + self.noise * torch.eye(
            n, dtype=torch.float64)  # (n, n)
        self.L = torch.linalg.cholesky(K)  # (n, n), lower triangular, K = L L^T
        self.alpha = torch.cholesky_solve(self.y[:, None], self.L)[:, 0]  # (n,) = K^(-1) y
        return self

    def predict(self, x_new: torch.Tensor, full_covariance: bool = False):
        """Posterior ``(mean (m,), std (m,))``, or ``(mean, covariance (m, m))`` if asked."""
        x_new = x_new.to(torch.float64)
        K_s = rbf_kernel(self.x, x_new, self.length_scale, self.variance)  # (n, m)
        mean = K_s.T @ self.alpha  # (m,)
        V = torch.linalg.solve_triangular(self.L, K_s, upper=False)  # (n, m) = L^(-1) K_s
        if full_covariance:
            return mean, rbf_kernel(x_new, x_new, self.length_scale, self.variance) - V.T @ V
        var = self.variance - (V * V).sum(0)  # (m,): the diagonal of the covariance
        return mean, var.clamp(min=0.0).sqrt()  # rounding can make a tiny variance negative

    def log_marginal_likelihood(self) -> float:
        """``log p(y | x) = -y^T K^(-1) y / 2 - log det K / 2 - n log(2 pi) / 2``: how well the
        kernel's settings explain the data (used to pick the length scale)."""
        n = self.y.shape[0]
        log_det = 2 * torch.log(torch.diagonal(self.L)).sum()  # log det K = 2 sum log L_ii
        return (-0.5 * self.y @ self.alpha - 0.5 * log_det - 0.5 * n * math.log(2 * math.pi)).item()


def normal_cdf(z: torch.Tensor) -> torch.Tensor:
    """Phi(z) = (1 + erf(z / sqrt 2)) / 2."""
    return 0.5 * (1 + torch.erf(z / math.sqrt(2)))


def normal_pdf(z: torch.Tensor) -> torch.Tensor:
    """phi(z) = exp(-z^2 / 2) / sqrt(2 pi)."""
    return torch.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


def expected_improvement(mean: torch.Tensor, std: torch.Tensor, best: float, xi: float = 0.0) -> torch.Tensor:
    """E[max(best - xi - f, 0)] for f ~ N(mean, std^2): how much a trial is expected to beat ``best``.

    We minimise, so improving means going *below* the best value. With ``d = best - xi - mean``
    and ``z = d / std``:

        EI = d * Phi(z) + std * phi(z)

    The first term rewards a low mean (exploitation), the second a large std (exploration).
    Where std is 0 the value is known, and EI is simply max(d, 0). ``xi > 0`` asks for a
    margin of improvement, nudging the search to explore.
    """
    mean, std = torch.as_tensor(mean, dtype=torch.float64), torch.as_tensor(std, dtype=torch.float64)
    if (std < 0).any():
        raise ValueError(f"std: expected values >= 0, got a minimum of {std.min().item()}")
    d = best - xi - mean
    safe_std = torch.where(std > 0, std, torch.ones_like(std))  # avoid 0 / 0 below
    z = d / safe_std
    ei = d * normal_cdf(z) + std * normal_pdf(z)
    return torch.where(std > 0, ei, d.clamp(min=0.0))


# ---- Bayesian optimisation ---------------------------------------------------------------

LENGTH_SCALES = (0.05, 0.1, 0.2, 0.4, 0.8)  # in the unit cube; chosen by marginal likelihood


def fit_gp(x: torch.Tensor, y: torch.Tensor, noise: float = 1e-4) -> GaussianProcess:
    """A GP fitted to standardised ``y``: targets ``(y - mean) / std``, variance 1.

    Every combination of per-dimension length scales from ``LENGTH_SCALES`` is tried (5^dim
    small fits: 25 in two dimensions), and the one with the highest marginal likelihood wins.
    One length scale per setting lets the model learn that, say, the loss changes fast with
    the learning rate and slowly with the weight decay.
    """
    spread = y.std() if len(y) > 1 else torch.tensor(0.0)
    y_std = (y - y.mean()) / (spread if spread > 0 else 1.0)
    best, best_lml = None, -math.inf
    for scales in itertools.product(LENGTH_SCALES, repeat=x.shape[1]):
        gp = GaussianProcess(scales, 1.0, noise).fit(x, y_std)
        lml = gp.log_marginal_likelihood()
        if lml > best_lml:
            best, best_lml = gp, lml
    return best


def bayesian_optimization(objective, space: SearchSpace, n_trials: int, n_initial: int = 5,
                          seed: int = 0, n_candidates: int = 1000, xi: float = 0.01) -> SearchResult:
    """Search with a GP and expected improvement.

    1. Evaluate ``n_initial`` random points.
    2. Repeat: fit the GP to all trials so far (in the unit cube, values standardised); draw
       ``n_candidates`` random points; evaluate the one with the largest expected improvement.

    Maximising EI over random candidates is crude but transparent; a finer optimiser would
    change little in two dimensions.
    """
    _check_trials(n_trials)
    _check_trials(n_initial, "n_initial")
    g = torch.Generator().manual_seed(seed)
    result = SearchResult("bayesian")
    unit_initial = torch.rand(min(n_initial, n_trials), space.dim, generator=g, dtype=torch.float64)
    for settings in space.from_unit(unit_initial):
        result.trials.append(_evaluate(objective, settings))

    while len(result.trials) < n_trials:
        x = torch.stack([space.to_unit(t.settings) for t in result.trials])  # (n, dim)
        y = torch.tensor([t.value for t in result.trials], dtype=torch.float64)  # (n,)
        gp = fit_gp(x, y)
        candidates = torch.rand(n_candidates, space.dim, generator=g, dtype=torch.float64)  # (c, dim)
        mean, std = gp.predict(candidates)  # (c,), (c,) in standardised units
        ei = expected_improvement(mean, std, best=gp.y.min().item(), xi=xi)  # (c,)
        next_point = candidates[ei.argmax()][None, :]  # (1, dim)
        result.trials.append(_evaluate(objective, space.from_unit(next_point)[0]))
    return result


# ---- comparing the three -----------------------------------------------------------------


@dataclass
class SearchComparison:
    """Trials each method needed to reach ``target``, per seed (None: not within the budget)."""

    target: float
    n_trials: int
    trials_needed: dict[str, list[int | None]]

    def median(self, method: str) -> float:
        """Median trials needed, counting a miss as infinitely many."""
        counts = sorted(math.inf if c is None else c for c in self.trials_needed[method])
        mid = len(counts) // 2
        return counts[mid] if len(counts) % 2 else (counts[mid - 1] + counts[mid]) / 2

    def table(self) -> str:
        lines = [f"trials to reach {self.target:.4g} (budget {self.n_trials}), one column per seed"]
        for method, counts in self.trials_needed.items():
            shown = " ".join(f"{'-' if c is None else c:>4}" for c in counts)
            lines.append(f"{method:>9}: {shown}   median {self.median(method):g}")
        return "\n".join(lines)


def compare_search_methods(objective, space: SearchSpace, target: float, n_trials: int = 25,
                           seeds=(0, 1, 2), n_initial: int = 5) -> SearchComparison:
    """Run grid, random and Bayesian search with each seed; count trials to reach ``target``.

    The grid has the most points per axis that fit in ``n_trials`` and is visited in a seeded
    random order. Everything is seeded: the same call gives the same table.
    """
    _check_trials(n_trials)
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not math.isfinite(target):
        raise ValueError(f"target: expected a finite number, got {target!r}")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds: expected at least one seed, got none")
    per_axis = max(2, math.floor(n_trials ** (1 / space.dim) + 1e-9))
    needed: dict[str, list[int | None]] = {"grid": [], "random": [], "bayesian": []}
    for seed in seeds:
        needed["grid"].append(grid_search(objective, space, per_axis, shuffle_seed=seed).trials_to_reach(target))
        needed["random"].append(random_search(objective, space, n_trials, seed).trials_to_reach(target))
        needed["bayesian"].append(
            bayesian_optimization(objective, space, n_trials, n_initial, seed).trials_to_reach(target))
    return SearchComparison(float(target), n_trials, needed)


# ---- the objective: a small, real training run -------------------------------------------


class TrainingObjective:
    """Validation loss of a logistic regression trained with given ``log10_lr`` and ``weight_decay``.

    The data are generated: ``n_features`` Gaussian features of which only 4 matter, few
    training examples (so the model can overfit and weight decay has something to do), and a
    larger validation set. Training is ``n_steps`` of full-batch gradient descent on

        loss(w, b) = mean binary cross-entropy + weight_decay / 2 * ||w||^2     (b not decayed)

    with the gradient written out: ``dL/dw = X^T (sigmoid(Xw + b) - y) / N + weight_decay * w``.
    A run that blows up (nan, or a loss above ``max_loss``) scores ``max_loss``, so searches
    see a bad but finite value. Results are cached: the same settings are not trained twice.
    """

    def __init__(self, seed: int = 0, n_train: int = 30, n_val: int = 400, n_features: int = 30,
                 n_steps: int = 60, max_loss: float = 3.0, device: torch.device | str = "cpu"):
        for value, name in ((n_train, "n_train"), (n_val, "n_val"), (n_features, "n_features"),
                            (n_steps, "n_steps")):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected an int >= 1, got {value!r}")
        if n_features < 4:
            raise ValueError(f"n_features: expected an int >= 4 (4 features carry the signal), got {n_features}")
        self.n_steps, self.max_loss, self.device = n_steps, float(max_loss), torch.device(device)
        g = torch.Generator().manual_seed(seed)
        w_true = torch.zeros(n_features, dtype=torch.float64)  # (D,)
        w_true[:4] = torch.tensor([3.0, -2.25, 1.5, 0.75], dtype=torch.float64)
        X = torch.randn(n_train + n_val, n_features, generator=g, dtype=torch.float64)  # (N, D)
        p = torch.sigmoid(X @ w_true)  # (N,): the true probability of label 1
        y = (torch.rand(n_train + n_val, generator=g, dtype=torch.float64) < p).to(torch.float64)  # (N,)
        self.X_train, self.y_train = X[:n_train].to(self.device), y[:n_train].to(self.device)
        self.X_val, self.y_val = X[n_train:].to(self.device), y[n_train:].to(self.device)
        self.cache: dict[tuple[float, float], float] = {}

    def train(self, lr: float, weight_decay: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Weights ``(w (D,), b ())`` after ``n_steps`` of gradient descent."""
        X, y = self.X_train, self.y_train  # (N, D), (N,)
        n = X.shape[0]
        w = torch.zeros(X.shape[1], dtype=X.dtype, device=X.device)  # (D,)
        b = torch.zeros((), dtype=X.dtype, device=X.device)  # ()
        for _ in range(self.n_steps):
            error = torch.sigmoid(X @ w + b) - y  # (N,): prediction - label
            grad_w = X.T @ error / n + weight_decay * w  # (D,)
            grad_b = error.mean()  # ()
            w = w - lr * grad_w
            b = b - lr * grad_b
        return w, b

    def validation_loss(self, w: torch.Tensor, b: torch.Tensor) -> float:
        logits = self.X_val @ w + b  # (N_val,)
        return torch.nn.functional.binary_cross_entropy_with_logits(logits, self.y_val).item()

    def __call__(self, log10_lr: float, weight_decay: float) -> float:
        for value, name in ((log10_lr, "log10_lr"), (weight_decay, "weight_decay")):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{name}: expected a finite number, got {value!r}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay: expected a number >= 0, got {weight_decay!r}")
        key = (float(log10_lr), float(weight_decay))
        if key not in self.cache:
            loss = self.validation_loss(*self.train(10.0 ** log10_lr, weight_decay))
            self.cache[key] = loss if math.isfinite(loss) and loss < self.max_loss else self.max_loss
        return self.cache[key]


# lr from 0.001 to 10: the top end diverges, as real searches often find out.
DEFAULT_SPACE = SearchSpace({"log10_lr": (-3.0, 1.0), "weight_decay": (0.0, 0.3)})
