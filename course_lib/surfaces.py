"""Two-dimensional loss surfaces, and a runner that walks any optimizer across them.

A real network has millions of parameters; these surfaces have two, so a whole optimisation
run can be drawn as a path on a contour map. Each surface is a small class with

* ``value(x, y)``: the loss, and ``gradient(x, y)``: its exact gradient ``(df/dx, df/dy)``,
  written out by hand. Both take floats or tensors of any (equal) shape, so one call fills a
  whole contour grid;
* ``stochastic_gradient(x, y, generator)``: the gradient an optimizer sees. It is the exact
  gradient except on the noisy surface, which adds noise like a mini-batch would;
* ``minimum`` (where the lowest point is, when there is one), ``bounds`` and ``start``
  (a plotting window and a starting point that shows the surface's character).

``run_optimizer(surface, optimizer, start, n_steps)`` runs torch's optimizers or the course's
on a surface and returns the path. A run that blows up (a learning rate too large) is part of
the lesson, not a crash: the result says ``diverged`` and at which step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.optim import Optimizer


class Surface:
    """The shared shape of every surface below; subclasses write ``value`` and ``gradient``."""

    name = "surface"
    minimum: tuple[float, float] | None = None
    bounds: tuple[tuple[float, float], tuple[float, float]] = ((-2.0, 2.0), (-2.0, 2.0))
    start: tuple[float, float] = (-1.5, 1.5)

    def value(self, x, y):
        raise NotImplementedError

    def gradient(self, x, y):
        raise NotImplementedError

    def stochastic_gradient(self, x, y, generator: torch.Generator | None = None):
        """The gradient an optimizer gets to see; exact unless the surface is noisy."""
        return self.gradient(x, y)

    def grid(self, n: int = 100, dtype: torch.dtype = torch.float64):
        """``(X, Y, Z)``, each of shape (n, n), over ``bounds``: ready for a contour plot."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 2:
            raise ValueError(f"n: expected an int >= 2, got {n!r}")
        (x_lo, x_hi), (y_lo, y_hi) = self.bounds
        xs = torch.linspace(x_lo, x_hi, n, dtype=dtype)  # (n,)
        ys = torch.linspace(y_lo, y_hi, n, dtype=dtype)  # (n,)
        X, Y = torch.meshgrid(xs, ys, indexing="xy")  # (n, n) each; rows follow y
        return X, Y, self.value(X, Y)

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({settings})"


class IllConditionedQuadratic(Surface):
    """A long, narrow bowl: ``f = (u^2 + condition * v^2) / 2``, with (u, v) the axes turned by ``angle``.

    ``u = cos(a) x + sin(a) y`` and ``v = -sin(a) x + cos(a) y``. The curvature is 1 along u and
    ``condition`` along v, so gradient descent must keep lr < 2 / condition to stay stable and
    then crawls along u: the picture behind momentum. With ``angle = 0`` the valley lies along
    the x axis, which per-coordinate methods (AdaGrad, RMSProp, Adam) find easy; turn it and
    they lose that advantage.
    """

    name = "quadratic"
    minimum = (0.0, 0.0)
    start = (-1.8, 0.6)

    def __init__(self, condition: float = 20.0, angle: float = 0.0):
        if isinstance(condition, bool) or not isinstance(condition, (int, float)) or not condition >= 1:
            raise ValueError(f"condition: expected a number >= 1, got {condition!r}")
        self.condition = float(condition)
        self.angle = float(angle)

    def _rotate(self, x, y):
        c, s = math.cos(self.angle), math.sin(self.angle)
        return c * x + s * y, -s * x + c * y  # (u, v)

    def value(self, x, y):
        u, v = self._rotate(x, y)
        return 0.5 * (u * u + self.condition * v * v)

    def gradient(self, x, y):
        c, s = math.cos(self.angle), math.sin(self.angle)
        u, v = self._rotate(x, y)
        du, dv = u, self.condition * v  # df/du, df/dv
        # chain rule through the rotation: df/dx = df/du * du/dx + df/dv * dv/dx, and so on
        return c * du - s * dv, s * du + c * dv


class Rosenbrock(Surface):
    """The banana valley: ``f = (a - x)^2 + b (y - x^2)^2``, lowest at ``(a, a^2)``.

    Easy to find the valley, slow to follow its curved floor to the minimum.
    """

    name = "rosenbrock"
    bounds = ((-2.0, 2.0), (-1.0, 3.0))
    start = (-1.5, 2.0)

    def __init__(self, a: float = 1.0, b: float = 100.0):
        self.a, self.b = float(a), float(b)
        self.minimum = (self.a, self.a ** 2)

    def value(self, x, y):
        return (self.a - x) ** 2 + self.b * (y - x * x) ** 2

    def gradient(self, x, y):
        valley = y - x * x  # 0 on the valley floor
        df_dx = -2 * (self.a - x) - 4 * self.b * x * valley
        df_dy = 2 * self.b * valley
        return df_dx, df_dy


class Saddle(Surface):
    """A saddle point between two valleys: ``f = x^2 + y^4 / 4 - y^2 / 2``.

    At the origin the gradient is zero but it is no minimum: f rises along x and falls along y.
    The two minima are at ``(0, +1)`` and ``(0, -1)``, with f = -1/4. Started exactly on the x axis,
    gradient descent never learns that y could change and stops at the saddle; any nudge in y,
    such as gradient noise, lets it slide off into a valley.
    """

    name = "saddle"
    minimum = (0.0, 1.0)  # one of the two; (0, -1) is the other
    bounds = ((-1.5, 1.5), (-1.5, 1.5))
    start = (1.2, 0.0)

    def value(self, x, y):
        return x * x + y ** 4 / 4 - y * y / 2

    def gradient(self, x, y):
        return 2 * x, y ** 3 - y


class Beale(Surface):
    """Beale's function: flat plateaus and steep ridges, lowest at ``(3, 0.5)`` with f = 0.

    ``f = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2``
    """

    name = "beale"
    minimum = (3.0, 0.5)
    bounds = ((-4.5, 4.5), (-4.5, 4.5))
    start = (1.0, 1.5)

    def value(self, x, y):
        a = 1.5 - x + x * y
        b = 2.25 - x + x * y ** 2
        c = 2.625 - x + x * y ** 3
        return a * a + b * b + c * c

    def gradient(self, x, y):
        a = 1.5 - x + x * y
        b = 2.25 - x + x * y ** 2
        c = 2.625 - x + x * y ** 3
        df_dx = 2 * a * (y - 1) + 2 * b * (y ** 2 - 1) + 2 * c * (y ** 3 - 1)
        df_dy = 2 * a * x + 2 * b * (2 * x * y) + 2 * c * (3 * x * y ** 2)
        return df_dx, df_dy


class NoisySurface(Surface):
    """Another surface whose gradients arrive with Gaussian noise, as mini-batch gradients do.

    ``value`` and ``gradient`` are the underlying surface's (the true, full-data loss);
    ``stochastic_gradient`` adds independent ``noise_scale * N(0, 1)`` to each component.
    """

    name = "noisy"

    def __init__(self, base: Surface | None = None, noise_scale: float = 1.0):
        base = IllConditionedQuadratic() if base is None else base
        if not isinstance(base, Surface):
            raise TypeError(f"base: expected a Surface, got {type(base).__name__}")
        if isinstance(noise_scale, bool) or not isinstance(noise_scale, (int, float)) or not noise_scale >= 0:
            raise ValueError(f"noise_scale: expected a number >= 0, got {noise_scale!r}")
        self.base, self.noise_scale = base, float(noise_scale)
        self.minimum, self.bounds, self.start = base.minimum, base.bounds, base.start

    def value(self, x, y):
        return self.base.value(x, y)

    def gradient(self, x, y):
        return self.base.gradient(x, y)

    def stochastic_gradient(self, x, y, generator: torch.Generator | None = None):
        gx, gy = self.base.gradient(x, y)
        noise = self.noise_scale * torch.randn(2, generator=generator, dtype=torch.float64)  # (2,)
        return gx + noise[0], gy + noise[1]


SURFACES = {
    "quadratic": IllConditionedQuadratic,
    "rosenbrock": Rosenbrock,
    "saddle": Saddle,
    "beale": Beale,
    "noisy": NoisySurface,
}


def get_surface(name: str, **settings) -> Surface:
    """A surface by name: one of ``SURFACES``' keys."""
    if name not in SURFACES:
        raise ValueError(f"unknown surface {name!r}; expected one of {sorted(SURFACES)}")
    return SURFACES[name](**settings)


# ---- the runner ----------------------------------------------------------------------------

@dataclass
class Trajectory:
    """The path of one run: ``points`` (n_steps + 1, 2) and ``losses`` (n_steps + 1,).

    Row 0 is the start; row t is the point after t steps. If the run diverged at step t,
    rows t onward are nan (so a plot simply stops) and ``diverged_at`` is t.
    """

    points: torch.Tensor  # (N + 1, 2)
    losses: torch.Tensor  # (N + 1,)
    diverged: bool
    diverged_at: int | None
    message: str

    @property
    def n_steps(self) -> int:
        return self.points.shape[0] - 1

    @property
    def last_finite_step(self) -> int:
        return self.n_steps if self.diverged_at is None else self.diverged_at - 1

    @property
    def final_point(self) -> torch.Tensor:
        return self.points[self.last_finite_step]

    @property
    def final_loss(self) -> float:
        return self.losses[self.last_finite_step].item()


def _make_optimizer(optimizer, params, optimizer_settings) -> Optimizer:
    if isinstance(optimizer, type) and issubclass(optimizer, Optimizer):
        opt = optimizer(params, **optimizer_settings)
    elif callable(optimizer) and not optimizer_settings:
        opt = optimizer(params)
    elif callable(optimizer):
        raise TypeError("settings such as lr= go with an optimizer class; a factory function "
                        "(params -> optimizer) should set them itself")
    else:
        raise TypeError(f"optimizer: expected an Optimizer class or a function params -> optimizer, "
                        f"got {optimizer!r}")
    if not isinstance(opt, Optimizer):
        raise TypeError(f"optimizer: the factory returned {type(opt).__name__}, not a torch.optim.Optimizer")
    return opt


def run_optimizer(surface: Surface, optimizer, start=None, n_steps: int = 100, *, seed: int = 0,
                  divergence_threshold: float = 1e6, **optimizer_settings) -> Trajectory:
    """Run ``optimizer`` on ``surface`` from ``start`` for ``n_steps`` steps; return the path.

    ``optimizer`` is an optimizer class, given ``lr=...`` and friends as keywords
    (``run_optimizer(s, torch.optim.Adam, lr=0.1)``), or a function from a parameter list to an
    optimizer (``lambda params: Momentum(params, lr=0.01)``). Each step hands the optimizer the
    surface's gradient (exact, or noisy on a noisy surface, drawn with ``seed``) through a
    closure, so optimizers that need one (L-BFGS) work too.

    A run diverges when a coordinate becomes nan, inf or larger in size than
    ``divergence_threshold``, or the loss is not finite. It then stops early and says so.
    """
    if not isinstance(surface, Surface):
        raise TypeError(f"surface: expected a Surface, got {type(surface).__name__}")
    if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 0:
        raise ValueError(f"n_steps: expected an int >= 0, got {n_steps!r}")
    start = surface.start if start is None else start
    start = torch.as_tensor(start, dtype=torch.float64).flatten()
    if start.shape != (2,) or not torch.isfinite(start).all():
        raise ValueError(f"start: expected two finite numbers (x, y), got {start.tolist()}")

    theta = start.clone().requires_grad_(True)  # (2,): the point (x, y) being optimised
    opt = _make_optimizer(optimizer, [theta], optimizer_settings)
    generator = torch.Generator().manual_seed(seed)

    # Surfaces are evaluated on 0-d float64 tensors, not Python floats: a diverging run then
    # produces inf and nan, which we detect, where float arithmetic would raise OverflowError.
    def closure():
        with torch.no_grad():
            x, y = theta.detach()  # two 0-d tensors
            gx, gy = surface.stochastic_gradient(x, y, generator)
            theta.grad = torch.stack([torch.as_tensor(gx), torch.as_tensor(gy)]).to(torch.float64)  # (2,)
            return torch.as_tensor(surface.value(x, y), dtype=torch.float64)

    points = torch.full((n_steps + 1, 2), math.nan, dtype=torch.float64)  # (N + 1, 2)
    losses = torch.full((n_steps + 1,), math.nan, dtype=torch.float64)  # (N + 1,)
    points[0] = start
    losses[0] = surface.value(start[0], start[1])

    for t in range(1, n_steps + 1):
        opt.step(closure)
        point = theta.detach().clone()  # (2,)
        finite = bool(torch.isfinite(point).all())
        too_far = finite and point.abs().max().item() > divergence_threshold
        loss = float(surface.value(point[0], point[1])) if finite and not too_far else math.nan
        if not finite or too_far or not math.isfinite(loss):
            what = "became nan or inf" if not finite else (
                f"left the box |x|, |y| <= {divergence_threshold:g}" if too_far else "gave a loss of inf or nan")
            message = (f"diverged at step {t}: the point {what} (last finite point "
                       f"{points[t - 1].tolist()}); try a smaller learning rate")
            return Trajectory(points, losses, True, t, message)
        points[t] = point
        losses[t] = loss

    message = f"ran {n_steps} steps; final loss {losses[-1].item():.4g}"
    return Trajectory(points, losses, False, None, message)
