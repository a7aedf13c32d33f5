"""Loss surfaces: hand-written gradients against autograd and finite differences; the runner."""
from __future__ import annotations

import math

import pytest
import torch

from course_lib import optim
from course_lib.surfaces import (
    SURFACES,
    Beale,
    IllConditionedQuadratic,
    NoisySurface,
    Rosenbrock,
    Saddle,
    Surface,
    get_surface,
    run_optimizer,
)

ALL = [IllConditionedQuadratic(), IllConditionedQuadratic(condition=50, angle=0.6), Rosenbrock(),
       Rosenbrock(a=0.5, b=10), Saddle(), Beale(), NoisySurface(Rosenbrock(), noise_scale=3.0)]
IDS = [repr(s)[:40] for s in ALL]


def random_points(surface, n=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    (x_lo, x_hi), (y_lo, y_hi) = surface.bounds
    x = x_lo + (x_hi - x_lo) * torch.rand(n, generator=g, dtype=torch.float64)
    y = y_lo + (y_hi - y_lo) * torch.rand(n, generator=g, dtype=torch.float64)
    return x, y


@pytest.mark.parametrize("surface", ALL, ids=IDS)
def test_gradient_matches_autograd(surface):
    x, y = random_points(surface)
    x.requires_grad_(True)
    y.requires_grad_(True)
    gx_auto, gy_auto = torch.autograd.grad(surface.value(x, y).sum(), (x, y))
    gx, gy = surface.gradient(x.detach(), y.detach())
    torch.testing.assert_close(gx, gx_auto, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(gy, gy_auto, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("surface", ALL, ids=IDS)
def test_gradient_matches_central_differences(surface):
    h = 1e-6
    for x, y in zip(*[t.tolist() for t in random_points(surface, n=10, seed=1)]):
        gx, gy = surface.gradient(x, y)  # plain floats in, plain floats out
        num_x = (surface.value(x + h, y) - surface.value(x - h, y)) / (2 * h)
        num_y = (surface.value(x, y + h) - surface.value(x, y - h)) / (2 * h)
        scale = 1 + abs(gx) + abs(gy)
        assert gx == pytest.approx(num_x, abs=1e-6 * scale), (x, y)
        assert gy == pytest.approx(num_y, abs=1e-6 * scale), (x, y)


@pytest.mark.parametrize("surface", ALL, ids=IDS)
def test_minimum_is_a_stationary_point_and_lower_than_around_it(surface):
    mx, my = surface.minimum
    gx, gy = surface.gradient(mx, my)
    assert abs(gx) < 1e-12 and abs(gy) < 1e-12
    x, y = random_points(surface, n=200, seed=2)
    assert (surface.value(x, y) >= surface.value(mx, my) - 1e-12).all()


def test_known_values():
    assert Rosenbrock().value(1.0, 1.0) == 0.0 and Rosenbrock().value(0.0, 0.0) == 1.0
    assert Beale().value(3.0, 0.5) == 0.0
    assert Saddle().value(0.0, 1.0) == -0.25 and Saddle().gradient(0.0, 0.0) == (0.0, 0.0)
    q = IllConditionedQuadratic(condition=10, angle=math.pi / 2)  # the steep axis is now x
    assert q.value(1.0, 0.0) == pytest.approx(5.0) and q.value(0.0, 1.0) == pytest.approx(0.5)


def test_grid_for_contour_plots():
    X, Y, Z = Rosenbrock().grid(n=30)
    assert X.shape == Y.shape == Z.shape == (30, 30)
    torch.testing.assert_close(Z[4, 7], torch.tensor(Rosenbrock().value(X[4, 7].item(), Y[4, 7].item()),
                                                     dtype=torch.float64))
    assert X[0, 0].item() == -2.0 and Y[-1, 0].item() == 3.0


def test_gradient_descent_on_the_quadratic_follows_the_closed_form():
    """On f = (x^2 + k y^2) / 2, gradient descent gives x_t = (1 - lr)^t x_0, y_t = (1 - lr k)^t y_0."""
    surface, lr, k = IllConditionedQuadratic(condition=10.0), 0.15, 10.0
    run = run_optimizer(surface, optim.GradientDescent, start=(2.0, 1.0), n_steps=30, lr=lr)
    t = torch.arange(31, dtype=torch.float64)
    expected = torch.stack([2.0 * (1 - lr) ** t, 1.0 * (1 - lr * k) ** t], dim=1)  # (31, 2)
    assert run.points.shape == (31, 2) and run.losses.shape == (31,)
    torch.testing.assert_close(run.points, expected, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(run.losses, surface.value(expected[:, 0], expected[:, 1]))
    assert not run.diverged and run.diverged_at is None


def test_ours_and_torchs_optimizers_trace_the_same_path():
    surface = Rosenbrock()
    for ours, theirs, settings in [
        (optim.Momentum, torch.optim.SGD, dict(lr=1e-3, momentum=0.9, nesterov=True)),
        (optim.Adam, torch.optim.Adam, dict(lr=0.05)),
        (optim.RMSProp, torch.optim.RMSprop, dict(lr=0.01)),
    ]:
        a = run_optimizer(surface, ours, n_steps=200, **settings)
        b = run_optimizer(surface, lambda params, t=theirs, s=settings: t(params, **s), n_steps=200)
        torch.testing.assert_close(a.points, b.points, rtol=1e-10, atol=1e-10)


def test_lbfgs_needs_the_closure_and_gets_it():
    run = run_optimizer(Rosenbrock(), torch.optim.LBFGS, n_steps=50, lr=1.0)
    torch.testing.assert_close(run.final_point, torch.tensor([1.0, 1.0], dtype=torch.float64),
                               atol=1e-4, rtol=0)


def test_divergence_is_reported_not_raised():
    # lr above 2 / condition makes the steep direction grow by |1 - lr k| > 1 every step.
    run = run_optimizer(IllConditionedQuadratic(condition=20.0), optim.SGD, start=(1.0, 1.0),
                        n_steps=200, lr=0.2)
    assert run.diverged and run.diverged_at is not None
    # |1 - 0.2 * 20| = 3 per step: 3^t > 1e6 first at t = 13.
    assert run.diverged_at == 13
    assert "step 13" in run.message and "smaller learning rate" in run.message
    assert run.points.shape == (201, 2)
    assert torch.isfinite(run.points[:13]).all() and torch.isnan(run.points[13:]).all()
    assert math.isfinite(run.final_loss) and run.final_point.tolist() == run.points[12].tolist()
    # Overflow to inf and nan is caught too (a huge step on a quartic).
    run = run_optimizer(Beale(), optim.SGD, start=(4.0, 4.0), n_steps=50, lr=1.0,
                        divergence_threshold=math.inf)
    assert run.diverged and "inf or nan" in run.message and run.diverged_at == 3
    # A nan point (torch's SGD accepts lr=nan) stops the run at once.
    run = run_optimizer(Saddle(), lambda params: torch.optim.SGD(params, lr=math.nan), n_steps=5)
    assert run.diverged_at == 1 and "became nan or inf" in run.message
    assert run.final_point.tolist() == list(Saddle.start)


def test_saddle_traps_exact_gradient_descent_but_noise_escapes():
    saddle = Saddle()
    stuck = run_optimizer(saddle, optim.SGD, start=(1.2, 0.0), n_steps=300, lr=0.1)
    assert stuck.final_point[1].item() == 0.0 and abs(stuck.final_loss) < 1e-10  # at the saddle
    noisy = NoisySurface(saddle, noise_scale=0.05)
    escaped = run_optimizer(noisy, optim.SGD, start=(1.2, 0.0), n_steps=300, lr=0.1, seed=3)
    assert abs(escaped.final_point[1].item()) > 0.8 and escaped.final_loss < -0.2  # in a valley


def test_noisy_runs_repeat_with_the_seed_and_differ_without():
    noisy = NoisySurface(noise_scale=0.5)
    a = run_optimizer(noisy, optim.SGD, n_steps=20, lr=0.05, seed=1)
    b = run_optimizer(noisy, optim.SGD, n_steps=20, lr=0.05, seed=1)
    c = run_optimizer(noisy, optim.SGD, n_steps=20, lr=0.05, seed=2)
    assert torch.equal(a.points, b.points) and not torch.equal(a.points, c.points)
    # The noise is zero-mean with the requested scale.
    g = torch.Generator().manual_seed(0)
    samples = torch.stack([torch.stack(noisy.stochastic_gradient(0.5, 0.5, g)) for _ in range(4000)])  # (4000, 2)
    exact = torch.tensor(noisy.gradient(0.5, 0.5), dtype=samples.dtype)
    assert (samples.mean(0) - exact).abs().max() < 4 * 0.5 / math.sqrt(4000)
    assert samples.std(0).sub(0.5).abs().max() < 0.03


def test_surface_registry_and_bad_input():
    assert set(SURFACES) == {"quadratic", "rosenbrock", "saddle", "beale", "noisy"}
    assert isinstance(get_surface("rosenbrock", b=10), Surface)
    with pytest.raises(ValueError, match="unknown surface 'himmelblau'; expected one of"):
        get_surface("himmelblau")
    with pytest.raises(ValueError, match="condition: expected a number >= 1, got 0.5"):
        IllConditionedQuadratic(condition=0.5)
    with pytest.raises(ValueError, match="noise_scale: expected a number >= 0, got -1"):
        NoisySurface(noise_scale=-1)
    with pytest.raises(ValueError, match=r"start: expected two finite numbers \(x, y\), got \[1.0, 2.0, 3.0\]"):
        run_optimizer(Saddle(), optim.SGD, start=(1.0, 2.0, 3.0), lr=0.1)
    with pytest.raises(ValueError, match="n_steps: expected an int >= 0, got -5"):
        run_optimizer(Saddle(), optim.SGD, n_steps=-5, lr=0.1)
    with pytest.raises(TypeError, match="optimizer: expected an Optimizer class"):
        run_optimizer(Saddle(), "adam", lr=0.1)
    with pytest.raises(TypeError, match="not a torch.optim.Optimizer"):
        run_optimizer(Saddle(), lambda params: params)
    with pytest.raises(ValueError, match="Invalid learning rate lr=-1.0"):
        run_optimizer(Saddle(), optim.Adam, lr=-1.0)
    with pytest.raises(TypeError, match="surface: expected a Surface, got str"):
        run_optimizer("saddle", optim.Adam, lr=0.1)
