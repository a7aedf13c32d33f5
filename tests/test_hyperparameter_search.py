"""Hyperparameter search: the GP against direct matrix algebra, EI against Monte Carlo,
the training objective against autograd + torch.optim, and the three searches."""
from __future__ import annotations

import math

import pytest
import torch

from course_lib.hyperparameter_search import (
    DEFAULT_SPACE,
    GaussianProcess,
    SearchSpace,
    TrainingObjective,
    bayesian_optimization,
    compare_search_methods,
    expected_improvement,
    fit_gp,
    grid_search,
    normal_cdf,
    normal_pdf,
    random_search,
    rbf_kernel,
)

UNIT = SearchSpace({"u": (0.0, 1.0), "v": (0.0, 1.0)})


def bowl(u, v):
    """A smooth bowl with a small sweet spot: f < 0.001 covers about 0.2% of the unit square."""
    return (u - 0.7) ** 2 + 3 * (v - 0.2) ** 2


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors (see conftest.py)


@pytest.fixture(scope="module")
def objective():
    return TrainingObjective(seed=0)


# ---- the search space ----------------------------------------------------------------------

def test_search_space_grid_and_unit_cube():
    space = SearchSpace({"log10_lr": (-3.0, 1.0), "weight_decay": (0.0, 0.3)})
    grid = space.grid(5)
    assert len(grid) == 25 and space.names == ["log10_lr", "weight_decay"] and space.dim == 2
    assert {"log10_lr": -3.0, "weight_decay": 0.0} in grid and {"log10_lr": 1.0, "weight_decay": 0.3} in grid
    assert sorted({p["log10_lr"] for p in grid}) == [-3.0, -2.0, -1.0, 0.0, 1.0]
    u = torch.rand(7, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    back = torch.stack([space.to_unit(s) for s in space.from_unit(u)])
    torch.testing.assert_close(back, u)


# ---- the Gaussian process ------------------------------------------------------------------

def test_rbf_kernel_against_the_formula():
    g = torch.Generator().manual_seed(1)
    a, b = torch.rand(4, 2, generator=g, dtype=torch.float64), torch.rand(3, 2, generator=g, dtype=torch.float64)
    ls = torch.tensor([0.3, 0.7], dtype=torch.float64)
    K = rbf_kernel(a, b, ls, variance=2.0)
    for i in range(4):
        for j in range(3):
            d2 = (((a[i] - b[j]) / ls) ** 2).sum()
            assert K[i, j].item() == pytest.approx(2.0 * math.exp(-0.5 * d2.item()), rel=1e-14)
    torch.testing.assert_close(rbf_kernel(a, b, 0.5), rbf_kernel(a, b, torch.tensor([0.5, 0.5])))


@pytest.mark.parametrize("length_scale", [0.3, [0.2, 0.6]])
def test_gp_posterior_equals_the_direct_matrix_computation(length_scale):
    g = torch.Generator().manual_seed(2)
    x = torch.rand(8, 2, generator=g, dtype=torch.float64)  # (n, 2)
    y = torch.randn(8, generator=g, dtype=torch.float64)  # (n,)
    x_new = torch.rand(5, 2, generator=g, dtype=torch.float64)  # (m, 2)
    gp = GaussianProcess(length_scale, variance=1.5, noise=0.01).fit(x, y)

    K = rbf_kernel(x, x, gp.length_scale, 1.5) + 0.01 * torch.eye(8, dtype=torch.float64)
    K_s = rbf_kernel(x, x_new, gp.length_scale, 1.5)
    K_ss = rbf_kernel(x_new, x_new, gp.length_scale, 1.5)
    K_inv = torch.linalg.inv(K)
    mean_direct = K_s.T @ K_inv @ y
    cov_direct = K_ss - K_s.T @ K_inv @ K_s

    mean, cov = gp.predict(x_new, full_covariance=True)
    torch.testing.assert_close(mean, mean_direct, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(cov, cov_direct, rtol=1e-9, atol=1e-10)
    mean2, std = gp.predict(x_new)
    torch.testing.assert_close(mean2, mean_direct, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(std, torch.diagonal(cov_direct).sqrt(), rtol=1e-9, atol=1e-10)
    # The log marginal likelihood is the Gaussian log density of y under N(0, K).
    density = torch.distributions.MultivariateNormal(torch.zeros(8, dtype=torch.float64), K)
    assert gp.log_marginal_likelihood() == pytest.approx(density.log_prob(y).item(), rel=1e-10)


def test_gp_interpolates_its_data_and_reverts_to_the_prior_far_away():
    x = torch.tensor([[0.1, 0.1], [0.5, 0.9], [0.9, 0.4]], dtype=torch.float64)
    y = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    gp = GaussianProcess(0.2, variance=1.0, noise=1e-10).fit(x, y)
    mean, std = gp.predict(x)
    torch.testing.assert_close(mean, y, atol=1e-6, rtol=0)
    assert (std < 1e-4).all()
    mean_far, std_far = gp.predict(torch.tensor([[10.0, 10.0]], dtype=torch.float64))
    assert abs(mean_far.item()) < 1e-10 and std_far.item() == pytest.approx(1.0)


def test_fit_gp_picks_a_longer_length_scale_for_the_setting_that_does_not_matter():
    g = torch.Generator().manual_seed(3)
    x = torch.rand(25, 2, generator=g, dtype=torch.float64)
    y = torch.sin(6 * x[:, 0])  # varies along u only
    gp = fit_gp(x, y)
    assert gp.length_scale[1] > gp.length_scale[0]
    assert gp.y.mean().abs() < 1e-12 and gp.y.std().item() == pytest.approx(1.0)  # standardised


# ---- expected improvement ------------------------------------------------------------------

def test_normal_cdf_and_pdf():
    z = torch.linspace(-6, 6, 101, dtype=torch.float64)
    torch.testing.assert_close(normal_cdf(z), torch.special.ndtr(z))
    torch.testing.assert_close(normal_pdf(z), torch.distributions.Normal(0.0, 1.0).log_prob(z).exp())


@pytest.mark.parametrize("mean, std, best, xi", [
    (0.0, 1.0, 0.0, 0.0), (1.0, 0.5, 0.2, 0.0), (-0.5, 2.0, 0.0, 0.1), (0.3, 0.05, 0.4, 0.01),
    (2.0, 0.3, 0.0, 0.0),
])
def test_expected_improvement_against_monte_carlo(mean, std, best, xi):
    g = torch.Generator().manual_seed(4)
    f = mean + std * torch.randn(400_000, generator=g, dtype=torch.float64)  # samples of f
    improvement = (best - xi - f).clamp(min=0)
    mc, se = improvement.mean().item(), improvement.std().item() / math.sqrt(len(f))
    ei = expected_improvement(torch.tensor([mean]), torch.tensor([std]), best, xi).item()
    assert abs(ei - mc) < 4 * se + 1e-12, (ei, mc, se)


def test_expected_improvement_edge_cases_and_shape():
    ei = expected_improvement(torch.tensor([0.5, -0.5, 0.0]), torch.zeros(3), best=0.0)
    assert ei.tolist() == [0.0, 0.5, 0.0]  # known values: improvement or nothing
    std = torch.linspace(0.1, 2, 20)
    grows = expected_improvement(torch.zeros(20), std, best=0.0)
    assert (grows[1:] > grows[:-1]).all()  # more uncertainty, more to gain
    mean = torch.linspace(-1, 1, 20)
    falls = expected_improvement(mean, torch.full((20,), 0.3), best=0.0)
    assert (falls[1:] < falls[:-1]).all() and (falls >= 0).all()
    with pytest.raises(ValueError, match="std: expected values >= 0"):
        expected_improvement(torch.zeros(2), torch.tensor([0.1, -0.1]), best=0.0)


# ---- the training objective ----------------------------------------------------------------

def test_objective_trains_like_autograd_and_torch_sgd(objective):
    """The hand-written gradient descent equals autograd + torch.optim.SGD (decay on w, not b)."""
    lr, wd = 0.3, 0.05
    w, b = objective.train(lr, wd)
    w_ref = torch.zeros_like(w, requires_grad=True)
    b_ref = torch.zeros_like(b, requires_grad=True)
    opt = torch.optim.SGD([{"params": [w_ref], "weight_decay": wd}, {"params": [b_ref]}], lr=lr)
    for _ in range(objective.n_steps):
        opt.zero_grad()
        torch.nn.functional.binary_cross_entropy_with_logits(
            objective.X_train @ w_ref + b_ref, objective.y_train).backward()
        opt.step()
    torch.testing.assert_close(w, w_ref.detach(), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(b, b_ref.detach(), rtol=1e-10, atol=1e-12)
    loss = objective(log10_lr=math.log10(lr), weight_decay=wd)
    logits = objective.X_val @ w_ref.detach() + b_ref.detach()
    p = torch.sigmoid(logits)
    bce = -(objective.y_val * p.log() + (1 - objective.y_val) * (1 - p).log()).mean()
    assert loss == pytest.approx(bce.item(), rel=1e-9)


def test_objective_landscape_caching_and_capping(objective):
    # Training helps (chance level is log 2 = 0.693), too large a rate hurts, divergence is capped.
    assert objective(log10_lr=-1.0, weight_decay=0.1) < 0.6 < math.log(2)
    assert objective(log10_lr=-3.0, weight_decay=0.0) > 0.67
    assert objective(log10_lr=1.0, weight_decay=0.3) == objective.max_loss == 3.0
    # Weight decay rescues a large learning rate from overfitting.
    assert objective(log10_lr=0.5, weight_decay=0.1) < objective(log10_lr=0.5, weight_decay=0.0) - 0.2
    n_cached = len(objective.cache)
    objective(log10_lr=-1.0, weight_decay=0.1)
    assert len(objective.cache) == n_cached
    # The same seed gives the same data and numbers; another seed other data.
    assert TrainingObjective(seed=0)(log10_lr=-1.0, weight_decay=0.1) == objective(log10_lr=-1.0, weight_decay=0.1)
    assert TrainingObjective(seed=1)(log10_lr=-1.0, weight_decay=0.1) != objective(log10_lr=-1.0, weight_decay=0.1)


# ---- the searches --------------------------------------------------------------------------

def test_grid_and_random_search(objective):
    grid = grid_search(objective, DEFAULT_SPACE, 4)
    assert len(grid.trials) == 16 and grid.method == "grid"
    shuffled = grid_search(objective, DEFAULT_SPACE, 4, shuffle_seed=0)
    assert sorted(t.value for t in shuffled.trials) == sorted(t.value for t in grid.trials)
    assert [t.settings for t in shuffled.trials] != [t.settings for t in grid.trials]

    rand = random_search(objective, DEFAULT_SPACE, 12, seed=5)
    assert len(rand.trials) == 12
    for t in rand.trials:
        assert -3.0 <= t.settings["log10_lr"] <= 1.0 and 0.0 <= t.settings["weight_decay"] <= 0.3
    again = random_search(objective, DEFAULT_SPACE, 12, seed=5)
    assert [t.settings for t in again.trials] == [t.settings for t in rand.trials]
    assert rand.best.value == min(t.value for t in rand.trials) == rand.best_so_far()[-1]
    best = rand.best_so_far()
    assert all(b2 <= b1 for b1, b2 in zip(best, best[1:]))
    assert rand.trials_to_reach(rand.trials[0].value) == 1 and rand.trials_to_reach(-1.0) is None


def test_bayesian_optimization_beats_random_search_on_a_bowl():
    target = 0.001
    bo = [bayesian_optimization(bowl, UNIT, 20, seed=s) for s in range(3)]
    rs = [random_search(bowl, UNIT, 20, seed=s) for s in range(3)]
    bo_needed = [r.trials_to_reach(target) for r in bo]
    rs_needed = [r.trials_to_reach(target) for r in rs]
    assert all(n is not None for n in bo_needed), bo_needed
    assert sum(n is None for n in rs_needed) >= 2, rs_needed
    assert [t.settings for t in bayesian_optimization(bowl, UNIT, 8, seed=1).trials] == \
        [t.settings for t in bo[1].trials[:8]]  # seeded: a shorter run is a prefix of a longer one


def test_bayesian_optimization_matches_a_dense_grid_with_twenty_trials(objective):
    dense = grid_search(objective, DEFAULT_SPACE, 21)  # 441 trials; best about 0.578
    for seed in (0, 1):
        result = bayesian_optimization(objective, DEFAULT_SPACE, 20, seed=seed)
        assert result.best.value < dense.best.value + 1e-3, (seed, result.best, dense.best)


def test_comparison_is_seeded_and_consistent(objective):
    comparison = compare_search_methods(objective, DEFAULT_SPACE, target=0.585, n_trials=16, seeds=(0, 1))
    assert set(comparison.trials_needed) == {"grid", "random", "bayesian"}
    assert all(len(v) == 2 for v in comparison.trials_needed.values())
    again = compare_search_methods(TrainingObjective(seed=0), DEFAULT_SPACE, 0.585, 16, seeds=(0, 1))
    assert again.trials_needed == comparison.trials_needed
    assert comparison.trials_needed["random"][1] == \
        random_search(objective, DEFAULT_SPACE, 16, seed=1).trials_to_reach(0.585)
    assert comparison.trials_needed["grid"][0] == \
        grid_search(objective, DEFAULT_SPACE, 4, shuffle_seed=0).trials_to_reach(0.585)
    assert any(n is not None for counts in comparison.trials_needed.values() for n in counts)
    table = comparison.table()
    assert "bayesian" in table and "0.585" in table and "median" in table


@pytest.mark.parametrize("call, error, message", [
    (lambda: SearchSpace({"lr": (1.0, 0.0)}), ValueError, r"bounds\['lr'\]: expected \(low, high\) with low < high, got \(1.0, 0.0\)"),
    (lambda: SearchSpace({}), ValueError, "bounds: expected a dict"),
    (lambda: UNIT.grid(1), ValueError, "points_per_axis: expected an int >= 2, got 1"),
    (lambda: random_search(bowl, UNIT, 0), ValueError, "n_trials: expected an int >= 1, got 0"),
    (lambda: bayesian_optimization(bowl, UNIT, 5, n_initial=0), ValueError, "n_initial: expected an int >= 1, got 0"),
    (lambda: random_search(lambda u, v: math.nan, UNIT, 2), ValueError, "the objective returned nan for"),
    (lambda: compare_search_methods(bowl, UNIT, math.inf), ValueError, "target: expected a finite number, got inf"),
    (lambda: compare_search_methods(bowl, UNIT, 0.1, seeds=()), ValueError, "seeds: expected at least one seed"),
    (lambda: GaussianProcess(length_scale=-0.1), ValueError, r"length_scale: expected a number > 0 or one per dimension, got -0.1"),
    (lambda: GaussianProcess().fit(torch.zeros(3, 2), torch.zeros(4)), ValueError, r"got \(3, 2\) and \(4,\)"),
    (lambda: TrainingObjective()(log10_lr=math.nan, weight_decay=0.1), ValueError, "log10_lr: expected a finite number, got nan"),
    (lambda: TrainingObjective()(log10_lr=-1.0, weight_decay=-0.1), ValueError, "weight_decay: expected a number >= 0, got -0.1"),
    (lambda: TrainingObjective(n_features=3), ValueError, "n_features: expected an int >= 4"),
])
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()
