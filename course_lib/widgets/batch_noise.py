"""Batch size and gradient noise: what a mini-batch gradient is, and what its noise does.

The model is a straight line ``y = w x + b`` fitted to N = 256 points by mini-batch SGD on

    loss(w, b) = mean over the data of (w x + b - y)^2 / 2,

so its two parameters can be drawn as a point on the loss's contour map. A mini-batch of B
examples gives the gradient of the loss on those B examples only: the true gradient plus
noise. Three pictures:

1. the path of SGD on the contour map, and around the start the cloud of places where the
   *first* step could land (one dot per random mini-batch): its spread is the noise, times lr;
2. the full-data loss against epochs (passes over the data) for this batch size, and for
   full-batch gradient descent with the same learning rate: small batches take N / B steps per
   epoch, noisily; the full batch takes one, exactly;
3. the size of the noise against B: it falls like 1 / sqrt(B) (exactly
   ``sigma * sqrt((N - B) / (B (N - 1)))`` for batches drawn without replacement).

The gradient of a batch needs only four averages over its examples, ``x^2, x, x y, y``:
``dL/dw = w mean(x^2) + b mean(x) - mean(x y)`` and ``dL/db = w mean(x) + b - mean(y)``.
They are computed for every batch of an epoch at once, and the steps then cost a few float
operations each, so even B = 1 (2,560 steps for ten epochs) redraws at slider speed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache

import ipywidgets as widgets
import numpy as np
import torch

from course_lib.optim import minibatches
from course_lib.widgets.panels import PanelExplorer, fast_log_scale

N_EXAMPLES = 256
BATCH_SIZES = [2 ** k for k in range(9)]       # 1, 2, 4, ..., 256 = N (the full batch)
START = (-1.0, 2.5)                            # (w, b) where every run starts
WINDOW = ((-1.5, 3.0), (-2.0, 3.0))           # the contour map's (w, b) ranges
N_CLOUD = 200                                  # random mini-batches drawn for the noise cloud
DIVERGED = 1e6                                 # |w| or |b| beyond this: the run has blown up


@dataclass(frozen=True)
class LineData:
    """The examples and the averages the full-data loss needs."""

    x: torch.Tensor    # (N,)
    y: torch.Tensor    # (N,)

    @cached_property  # computed once: loss() is called after every step
    def moments(self) -> tuple[float, float, float, float, float]:
        """mean(x^2), mean(x), mean(x y), mean(y), mean(y^2)."""
        x, y = self.x, self.y
        return ((x * x).mean().item(), x.mean().item(), (x * y).mean().item(), y.mean().item(),
                (y * y).mean().item())

    def loss(self, w: float, b: float) -> float:
        """The full-data loss, mean((w x + b - y)^2) / 2, from the five averages."""
        xx, x, xy, y, yy = self.moments
        return 0.5 * (w * w * xx + 2 * w * b * x + b * b - 2 * w * xy - 2 * b * y + yy)


@lru_cache(maxsize=None)
def line_data(seed: int = 0) -> LineData:
    """256 points around the line y = 1.5 x - 0.5, with x near 1 (which tilts the valley)."""
    g = torch.Generator().manual_seed(seed)
    x = 1.0 + 0.5 * torch.randn(N_EXAMPLES, generator=g, dtype=torch.float64)  # (N,)
    y = 1.5 * x - 0.5 + 0.7 * torch.randn(N_EXAMPLES, generator=g, dtype=torch.float64)  # (N,)
    return LineData(x, y)


def per_example_gradients(data: LineData, w: float, b: float) -> torch.Tensor:
    """(N, 2): the gradient (dL/dw, dL/db) of each example's own loss (w x + b - y)^2 / 2."""
    residual = w * data.x + b - data.y  # (N,)
    return torch.stack([residual * data.x, residual], dim=1)  # (N, 2)


def batch_means(data: LineData, batches: list[torch.Tensor], batch_size: int) -> torch.Tensor:
    """(n_batches, 4): mean(x^2), mean(x), mean(x y), mean(y) over each batch of ``minibatches``.

    ``minibatches`` cuts one shuffled order into consecutive chunks of ``batch_size`` (the last
    may be shorter), so position p of the joined order belongs to batch p // batch_size.
    """
    order = torch.cat(batches)  # (N,) every index once
    batch_of = torch.arange(len(order)) // batch_size  # (N,) the batch of each position
    sizes = torch.bincount(batch_of)  # (n_batches,)
    x, y = data.x[order], data.y[order]  # (N,) each
    columns = torch.stack([x * x, x, x * y, y], dim=1)  # (N, 4)
    sums = torch.zeros(len(sizes), 4, dtype=columns.dtype).index_add_(0, batch_of, columns)  # (n_batches, 4)
    return sums / sizes[:, None]


@dataclass
class SGDRun:
    path: list[tuple[float, float]]   # (w, b) after each step, start first
    losses: list[float]               # the full-data loss at each point of the path
    epochs: list[float]               # epochs completed at each point (examples seen / N)
    diverged_at: int | None           # the step that blew up, if one did


def sgd_run(batch_size: int, lr: float, n_epochs: int, seed: int = 0, data: LineData | None = None) -> SGDRun:
    """Mini-batch SGD from START: each epoch shuffles the data (``minibatches``) and steps once per batch."""
    data = line_data() if data is None else data
    generator = torch.Generator().manual_seed(seed)
    w, b = START
    path, losses, epochs = [(w, b)], [data.loss(w, b)], [0.0]
    seen = 0
    for _ in range(n_epochs):
        batches = list(minibatches(N_EXAMPLES, batch_size, generator))
        sizes = [min(batch_size, N_EXAMPLES - start) for start in range(0, N_EXAMPLES, batch_size)]
        for (xx, x, xy, y), size in zip(batch_means(data, batches, batch_size).tolist(), sizes):
            grad_w = w * xx + b * x - xy  # dL/dw on this batch
            grad_b = w * x + b - y        # dL/db on this batch
            w, b = w - lr * grad_w, b - lr * grad_b
            seen += size
            if not (math.isfinite(w) and math.isfinite(b)) or max(abs(w), abs(b)) > DIVERGED:
                return SGDRun(path, losses, epochs, diverged_at=len(path))
            path.append((w, b))
            losses.append(data.loss(w, b))
            epochs.append(seen / N_EXAMPLES)
    return SGDRun(path, losses, epochs, None)


def first_step_cloud(batch_size: int, lr: float, n: int = N_CLOUD, seed: int = 1,
                     data: LineData | None = None) -> torch.Tensor:
    """(n, 2): where the first step from START lands, for n random mini-batches of ``batch_size``."""
    data = line_data() if data is None else data
    g = torch.Generator().manual_seed(seed)
    grads = per_example_gradients(data, *START)  # (N, 2)
    # n independent batches, each B distinct examples: the first B of a random permutation
    picks = torch.rand(n, N_EXAMPLES, generator=g).argsort(dim=1)[:, :batch_size]  # (n, B)
    batch_grads = grads[picks].mean(dim=1)  # (n, 2)
    return torch.tensor(START, dtype=torch.float64) - lr * batch_grads  # (n, 2)


@lru_cache(maxsize=None)
def noise_by_batch_size(seed: int = 2) -> tuple[list[float], list[float]]:
    """Measured and predicted RMS size of the gradient noise ``||g_batch - g||`` at START, per batch size.

    Prediction for B examples drawn without replacement from N:
    ``E ||g_B - g||^2 = sigma^2 (N - B) / (B (N - 1))``, sigma^2 the mean of ``||g_i - g||^2``.
    """
    data = line_data()
    grads = per_example_gradients(data, *START)  # (N, 2)
    full = grads.mean(0)  # (2,)
    sigma2 = ((grads - full) ** 2).sum(1).mean().item()
    g = torch.Generator().manual_seed(seed)
    measured, predicted = [], []
    for B in BATCH_SIZES:
        picks = torch.rand(N_CLOUD, N_EXAMPLES, generator=g).argsort(dim=1)[:, :B]  # (n, B)
        deviation = grads[picks].mean(dim=1) - full  # (n, 2)
        measured.append((deviation ** 2).sum(1).mean().sqrt().item())
        predicted.append(math.sqrt(sigma2 * (N_EXAMPLES - B) / (B * (N_EXAMPLES - 1))))
    return measured, predicted


@lru_cache(maxsize=None)
def loss_grid(n: int = 60) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The full-data loss over WINDOW, for the contour map."""
    data = line_data()
    (w_lo, w_hi), (b_lo, b_hi) = WINDOW
    W, B = np.meshgrid(np.linspace(w_lo, w_hi, n), np.linspace(b_lo, b_hi, n))
    xx, x, xy, y, yy = data.moments
    loss = 0.5 * (W * W * xx + 2 * W * B * x + B * B - 2 * W * xy - 2 * B * y + yy)
    return W, B, loss


def best_fit(data: LineData | None = None) -> tuple[float, float, float]:
    """(w*, b*, lowest loss) by least squares: the bottom of the valley."""
    data = line_data() if data is None else data
    xx, x, xy, y, _ = data.moments
    det = xx - x * x
    w = (xy - x * y) / det
    b = y - w * x
    return w, b, data.loss(w, b)


@dataclass
class BatchPicture:
    batch_size: int
    lr: float
    n_epochs: int
    run: SGDRun                       # mini-batch SGD with this batch size
    full_batch: SGDRun                # gradient descent (B = N) with the same lr, for comparison
    cloud: list[tuple[float, float]]  # possible landing points of the first step
    noise_measured: list[float]       # per entry of BATCH_SIZES
    noise_predicted: list[float]
    lowest_loss: float
    message: str


def batch_noise_data(batch_size: int = 16, lr: float = 0.1, epochs: int = 3) -> BatchPicture:
    if batch_size not in BATCH_SIZES:
        raise ValueError(f"batch_size: expected one of {BATCH_SIZES}, got {batch_size!r}")
    if not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr: expected a number > 0, got {lr!r}")
    run = sgd_run(batch_size, lr, epochs)
    full = sgd_run(N_EXAMPLES, lr, epochs)
    cloud = first_step_cloud(batch_size, lr)
    measured, predicted = noise_by_batch_size()
    lowest = best_fit()[2]
    steps = len(run.path) - 1
    if run.diverged_at is not None:
        message = (f"B = {batch_size}, lr = {lr:.3g}: diverged at step {run.diverged_at}; a noisy batch "
                   f"with a large lr throws the line far off. Lower lr or raise B")
    else:
        message = (f"B = {batch_size}, lr = {lr:.3g}: {steps} steps in {epochs} epochs; loss above the best "
                   f"{run.losses[-1] - lowest:.3g} (full batch, {len(full.path) - 1} steps: "
                   + ("diverged" if full.diverged_at is not None else f"{full.losses[-1] - lowest:.3g}") + ")")
    return BatchPicture(batch_size, float(lr), int(epochs), run, full, [tuple(p) for p in cloud.tolist()],
                        measured, predicted, lowest, message)


def draw_batch_noise(axes, picture: BatchPicture) -> None:
    ax_map, ax_loss, ax_noise = axes
    W, B, loss = loss_grid()
    ax_map.contour(W, B, loss - picture.lowest_loss, levels=np.geomspace(0.01, 20, 12), cmap="viridis",
                   linewidths=0.8, norm="log")
    cloud = np.array(picture.cloud)
    ax_map.scatter(cloud[:, 0], cloud[:, 1], s=5, color="tab:red", alpha=0.35)
    path = np.array(picture.run.path)
    ax_map.plot(path[:, 0], path[:, 1], "-", color="tab:orange", lw=1)
    ax_map.plot(*START, "o", color="tab:orange", ms=8, markeredgecolor="black")
    w_best, b_best, _ = best_fit()
    ax_map.plot(w_best, b_best, "*", color="gold", ms=14, markeredgecolor="black")
    (w_lo, w_hi), (b_lo, b_hi) = WINDOW
    ax_map.set_xlim(w_lo, w_hi)
    ax_map.set_ylim(b_lo, b_hi)
    ax_map.set_xlabel("slope w")
    ax_map.set_ylabel("intercept b")
    # (titles instead of legends: a legend costs as much to draw as the rest of a panel)
    ax_map.set_title("SGD path (orange); first step, 200 batches (red)", fontsize=9)

    for run, colour, label in ((picture.run, "tab:orange", f"B = {picture.batch_size}"),
                               (picture.full_batch, "black", f"B = {N_EXAMPLES} (full batch)")):
        gaps = [max(loss - picture.lowest_loss, 1e-12) for loss in run.losses]
        ax_loss.plot(run.epochs, gaps, "-" if len(gaps) > 20 else "-o", color=colour, lw=1.2, ms=4, label=label)
    fast_log_scale(ax_loss)
    ax_loss.set_xlim(0, picture.n_epochs)
    ax_loss.set_xlabel("epochs (passes over the data)")
    ax_loss.set_ylabel("loss - lowest loss")
    ax_loss.legend(fontsize=7.5, loc="lower left")  # the curves start high at the left: that corner is free
    ax_loss.grid(True, alpha=0.3)
    ax_loss.set_title("full-data loss during training", fontsize=10)

    ax_noise.plot(BATCH_SIZES[:-1], picture.noise_measured[:-1], "o", color="tab:red")
    ax_noise.plot(BATCH_SIZES[:-1], picture.noise_predicted[:-1], "-", color="0.4")
    fast_log_scale(ax_noise, "x")
    fast_log_scale(ax_noise, "y")
    i = BATCH_SIZES.index(picture.batch_size)
    if picture.batch_size < N_EXAMPLES:
        ax_noise.plot(picture.batch_size, picture.noise_measured[i], "o", ms=13, mfc="none", mec="black", mew=1.5)
    ax_noise.set_xlabel("batch size B")
    ax_noise.set_ylabel("RMS gradient noise")
    ax_noise.set_title("noise: measured (dots), sigma sqrt((N-B)/(B(N-1)))", fontsize=9)
    ax_map.figure.suptitle(picture.message, fontsize=10,
                           color="tab:red" if picture.run.diverged_at is not None else "black")


def batch_noise_explorer(batch_size: int = 16, lr: float = 0.1, epochs: int = 3) -> PanelExplorer:
    """Sliders for the batch size (powers of 2 up to N), the learning rate and the epochs."""
    wide = {"description_width": "initial"}
    controls = {
        "batch_size": widgets.SelectionSlider(options=BATCH_SIZES, value=batch_size, description="batch size B",
                                              style=wide),
        "lr": widgets.FloatLogSlider(value=lr, base=10, min=-3, max=0.5, step=0.05, description="learning rate",
                                     readout_format=".3g", style=wide),
        "epochs": widgets.IntSlider(value=epochs, min=1, max=10, description="epochs"),
    }
    return PanelExplorer(controls, batch_noise_data, draw_batch_noise, n_panels=3, figsize=(12.5, 4.0),
                         margins=dict(left=0.05, wspace=0.3))
