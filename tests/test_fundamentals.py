"""Lesson 01's library: gradient descent, logistic regression, k-means, the bandit, Gaussians.

Oracles: torch.optim.SGD, autograd and finite differences, torch's binary cross-entropy,
torch.cov and torch.distributions.MultivariateNormal, and known answers on toy data.
"""
import math

import pytest
import torch
import torch.nn.functional as F

from course_lib.fundamentals import bandit, gaussian, gradient_descent as gd, kmeans, logistic_regression as lr
from course_lib.fundamentals.points import make_blobs, two_blobs


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------- gradient descent
def test_descend_1d_on_a_bowl_matches_the_closed_form():
    # On x^2 each step multiplies x by (1 - 2 lr).
    path = gd.descend_1d(lambda x: x ** 2, x0=2.0, lr=0.1, steps=10)
    assert len(path.xs) == 11 and not path.diverged
    for t, x in enumerate(path.xs):
        assert x == pytest.approx(2.0 * 0.8 ** t)
    assert path.losses == pytest.approx([x ** 2 for x in path.xs])


def test_too_large_a_step_diverges_with_a_message_and_lr_one_oscillates():
    path = gd.descend_1d(lambda x: x ** 2, x0=1.0, lr=1.5, steps=100)
    assert path.diverged and "too large" in path.message and len(path.xs) < 101
    assert all(abs(b) > abs(a) for a, b in zip(path.xs, path.xs[1:]))  # each step lands farther out
    bounce = gd.descend_1d(lambda x: x ** 2, x0=1.0, lr=1.0, steps=6)
    assert bounce.xs == pytest.approx([1, -1, 1, -1, 1, -1, 1]) and not bounce.diverged


def test_where_the_hiker_ends_depends_on_the_start():
    curve, _ = gd.LOSS_CURVES["two valleys"]
    left = gd.descend_1d(curve, x0=-0.5, lr=0.05, steps=300)
    right = gd.descend_1d(curve, x0=0.5, lr=0.05, steps=300)
    assert left.xs[-1] < -1 and right.xs[-1] > 1
    assert left.losses[-1] < right.losses[-1]  # the left valley is deeper
    for path in (left, right):  # small steps never go uphill
        assert all(b <= a + 1e-12 for a, b in zip(path.losses, path.losses[1:]))


def test_all_loss_curves_evaluate_on_their_range():
    for name, (curve, (low, high)) in gd.LOSS_CURVES.items():
        values = curve(torch.linspace(low, high, 50, dtype=torch.float64))
        assert torch.isfinite(values).all(), name


def test_minimize_matches_torch_sgd():
    X = torch.randn(20, 3, generator=gen(), dtype=torch.float64)
    y = torch.randn(20, generator=gen(1), dtype=torch.float64)
    w1 = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    w2 = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    ours = gd.minimize(lambda: ((X @ w1 - y) ** 2).mean(), [w1], lr=0.1, steps=25)
    opt = torch.optim.SGD([w2], lr=0.1)
    theirs = []
    for _ in range(25):
        opt.zero_grad()
        loss = ((X @ w2 - y) ** 2).mean()
        loss.backward()
        opt.step()
        theirs.append(loss.item())
    torch.testing.assert_close(w1, w2)
    assert ours == pytest.approx(theirs)


def test_gradient_descent_rejects_bad_input():
    with pytest.raises(ValueError, match="lr"):
        gd.descend_1d(lambda x: x ** 2, 0.0, lr=0.0, steps=3)
    with pytest.raises(ValueError, match="steps"):
        gd.descend_1d(lambda x: x ** 2, 0.0, lr=0.1, steps=-1)
    with pytest.raises(ValueError, match="requires_grad"):
        gd.minimize(lambda: torch.tensor(0.0), [torch.zeros(2)], lr=0.1, steps=1)


# ----------------------------------------------------------------------------- toy points
def test_make_blobs_shapes_labels_and_spread():
    X, y = make_blobs([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]], n_per_blob=400, std=0.5, generator=gen())
    assert X.shape == (1200, 2) and y.tolist() == [0] * 400 + [1] * 400 + [2] * 400
    torch.testing.assert_close(X[y == 1].mean(0), torch.tensor([10.0, 0.0]), atol=0.1, rtol=0)
    assert X[y == 2].std(0).tolist() == pytest.approx([0.5, 0.5], abs=0.05)
    X2, _ = two_blobs(50, distance=4.0, generator=gen())
    assert X2.shape == (100, 2)
    with pytest.raises(ValueError, match="centers"):
        make_blobs([1.0, 2.0])
    with pytest.raises(ValueError, match="n_per_blob"):
        make_blobs([[1.0, 2.0]], n_per_blob=0)


# ----------------------------------------------------------------------------- logistic regression
@pytest.fixture
def toy():
    X, y = two_blobs(30, distance=2.0, generator=gen())
    X, y = X.double(), y.double()
    w = torch.tensor([0.3, -0.7], dtype=torch.float64)
    b = torch.tensor(0.2, dtype=torch.float64)
    return w, b, X, y


def test_loss_matches_torch_binary_cross_entropy(toy):
    w, b, X, y = toy
    expected = F.binary_cross_entropy_with_logits(X @ w + b, y)
    torch.testing.assert_close(lr.loss(w, b, X, y), expected)
    # and it stays finite where log(sigmoid(z)) would not
    big = lr.loss(torch.tensor([500.0], dtype=torch.float64), torch.tensor(0.0, dtype=torch.float64),
                  torch.tensor([[1.0], [-1.0]], dtype=torch.float64), torch.tensor([0.0, 1.0], dtype=torch.float64))
    assert big.item() == pytest.approx(500.0)


def test_gradient_by_hand_matches_autograd_and_finite_differences(toy):
    w, b, X, y = toy
    grad_w, grad_b = lr.gradient(w, b, X, y)
    w_, b_ = w.clone().requires_grad_(), b.clone().requires_grad_()
    auto_w, auto_b = torch.autograd.grad(lr.loss(w_, b_, X, y), (w_, b_))
    torch.testing.assert_close(grad_w, auto_w)
    torch.testing.assert_close(grad_b, auto_b)
    eps = 1e-6
    for i in range(2):
        step = torch.zeros(2, dtype=torch.float64)
        step[i] = eps
        numeric = (lr.loss(w + step, b, X, y) - lr.loss(w - step, b, X, y)) / (2 * eps)
        assert grad_w[i].item() == pytest.approx(numeric.item(), abs=1e-8)
    numeric_b = (lr.loss(w, b + eps, X, y) - lr.loss(w, b - eps, X, y)) / (2 * eps)
    assert grad_b.item() == pytest.approx(numeric_b.item(), abs=1e-8)


def test_gradient_step_matches_one_sgd_step_and_keeps_inputs(toy):
    w, b, X, y = toy
    w0, b0 = w.clone(), b.clone()
    new_w, new_b = lr.gradient_step(w, b, X, y, lr=0.7)
    assert torch.equal(w, w0) and torch.equal(b, b0)   # inputs untouched
    w_, b_ = w.clone().requires_grad_(), b.clone().requires_grad_()
    opt = torch.optim.SGD([w_, b_], lr=0.7)
    lr.loss(w_, b_, X, y).backward()
    opt.step()
    torch.testing.assert_close(new_w, w_.detach())
    torch.testing.assert_close(new_b, b_.detach())
    assert lr.loss(new_w, new_b, X, y) < lr.loss(w, b, X, y)  # a small step goes downhill


def test_training_separates_two_blobs():
    X, y = two_blobs(100, distance=5.0, generator=gen())
    model = lr.LogisticRegression(num_features=2)
    losses = model.fit(X, y, lr=0.5, steps=150)
    assert losses[0] == pytest.approx(math.log(2))        # w = 0: every point gets p = 1/2
    assert losses[-1] < 0.2 and all(b <= a + 1e-6 for a, b in zip(losses, losses[1:]))
    assert (model.predict(X) == y).double().mean() > 0.95
    p = model.predict_proba(X)
    assert p.shape == (200,) and ((p > 0) & (p < 1)).all()


def test_logistic_regression_rejects_bad_input(toy):
    w, b, X, y = toy
    with pytest.raises(ValueError, match="w: "):
        lr.gradient(torch.zeros(3, dtype=torch.float64), b, X, y)
    with pytest.raises(ValueError, match="labels 0 or 1"):
        lr.gradient(w, b, X, y * 2)
    with pytest.raises(ValueError, match="y: "):
        lr.gradient(w, b, X, y[:-1])
    with pytest.raises(ValueError, match="lr"):
        lr.gradient_step(w, b, X, y, lr=-0.1)


# ----------------------------------------------------------------------------- k-means
CENTERS = torch.tensor([[0.0, 0.0], [8.0, 0.0], [0.0, 8.0], [8.0, 8.0]])


def test_kmeans_recovers_well_separated_clusters():
    X, y = make_blobs(CENTERS, n_per_blob=60, std=0.7, generator=gen())
    result = kmeans.fit(X, k=4, generator=gen(1))
    # every true centre has a found centroid nearby, and each found group is one true blob
    distance = torch.cdist(CENTERS, result.centroids)      # (4, 4)
    assert distance.min(dim=1).values.max() < 0.5
    for c in range(4):
        assert len(set(y[result.labels == c].tolist())) == 1
    assert sorted(torch.bincount(result.labels).tolist()) == [60] * 4


@pytest.mark.parametrize("seed", range(5))
def test_inertia_never_increases(seed):
    X, _ = make_blobs(CENTERS, n_per_blob=40, std=3.0, generator=gen(seed))  # overlapping blobs
    start = X[:5].clone()   # a poor start: many rounds before it settles
    result = kmeans.fit(X, k=5, centroids=start)
    history = result.inertia_history
    assert len(history) >= 3
    assert all(b <= a * (1 + 1e-6) for a, b in zip(history, history[1:]))
    assert kmeans.inertia(X, result.centroids, result.labels) <= history[0]


def test_kmeans_steps_are_what_they_say():
    X = torch.tensor([[0.0, 0.0], [1.0, 0.0], [10.0, 0.0], [11.0, 0.0]])
    centroids = torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    labels = kmeans.assign(X, centroids)
    assert labels.tolist() == [0, 0, 1, 1]
    torch.testing.assert_close(kmeans.update(X, labels, centroids), torch.tensor([[0.5, 0.0], [10.5, 0.0]]))
    # a centroid that wins no point stays where it was
    far = torch.tensor([[0.0, 0.0], [100.0, 100.0]])
    torch.testing.assert_close(kmeans.update(X[:2], kmeans.assign(X[:2], far), far)[1], far[1])
    assert kmeans.inertia(X, centroids, labels) == pytest.approx(0 + 1 + 49 + 64)


def test_kmeans_plus_plus_picks_distinct_points_and_rejects_bad_input():
    X, _ = make_blobs(CENTERS, n_per_blob=10, std=0.1, generator=gen())
    start = kmeans.init_centroids(X, 4, generator=gen())
    assert len({tuple(c.tolist()) for c in start}) == 4
    with pytest.raises(ValueError, match="cannot make 50 groups"):
        kmeans.fit(X, k=50)
    with pytest.raises(ValueError, match="k:"):
        kmeans.fit(X, k=0)
    with pytest.raises(ValueError, match="X:"):
        kmeans.fit(X[0], k=1)
    with pytest.raises(ValueError, match="centroids"):
        kmeans.fit(X, k=2, centroids=torch.zeros(3, 2))



def test_kmeans_plus_plus_draws_by_the_distance_to_the_nearest_chosen_centroid(one_thread):
    # Four points on a line. The exact chance of each ordered triple of starting centroids: the first is
    # uniform, each later one proportional to its squared distance to the NEAREST centroid chosen so far.
    X = torch.tensor([[0.0], [1.0], [3.0], [10.0]], dtype=torch.float64)
    exact = {}
    for first in range(4):
        to_first = (X[:, 0] - X[first, 0]) ** 2                       # (4,)
        for second in range(4):
            nearest = torch.minimum(to_first, (X[:, 0] - X[second, 0]) ** 2)
            for third in range(4):
                exact[first, second, third] = 0.25 * (to_first[second] / to_first.sum()).item() * (
                    nearest[third] / nearest.sum()).item() if len({first, second, third}) == 3 else 0.0
    draws, generator = 4000, gen(3)
    seen = {}
    for _ in range(draws):
        start = kmeans.init_centroids(X, 3, generator=generator)[:, 0].tolist()
        key = tuple(X[:, 0].tolist().index(value) for value in start)
        seen[key] = seen.get(key, 0) + 1
    assert set(seen) <= {key for key, p in exact.items() if p > 0}
    for key, p in exact.items():  # every frequency within 5 standard errors of its probability
        assert abs(seen.get(key, 0) / draws - p) <= 5 * math.sqrt(p * (1 - p) / draws) + 1e-9, key


# ----------------------------------------------------------------------------- the bandit
PROBS = [0.2, 0.5, 0.75, 0.4]


def test_pulls_pay_with_the_arms_probability():
    machine = bandit.BernoulliBandit(PROBS)
    g = gen()
    rate = sum(machine.pull(2, g) for _ in range(2000)) / 2000
    assert rate == pytest.approx(0.75, abs=0.04)


def test_epsilon_greedy_regret_per_step_falls_and_it_finds_the_best_arm():
    machine = bandit.BernoulliBandit(PROBS)
    runs = [bandit.epsilon_greedy(machine, steps=1000, epsilon=0.1, generator=gen(seed)) for seed in range(40)]
    # expected regret added at each step, averaged over the runs (T,)
    per_step = torch.stack([torch.diff(r.regret, prepend=torch.zeros(1, dtype=torch.float64)) for r in runs]).mean(0)
    early, middle, late = per_step[:50].mean().item(), per_step[100:300].mean().item(), per_step[500:].mean().item()
    assert early > middle > late and late < early / 3
    # with epsilon = 0.1 the late regret is about epsilon times the mean gap to the best arm
    mean_gap = (0.75 - torch.tensor(PROBS)).mean().item()
    assert late < 2 * 0.1 * mean_gap
    run = runs[0]
    assert run.pulls.argmax().item() == 2 and run.pulls.sum().item() == 1000
    assert run.estimates[2].item() == pytest.approx(0.75, abs=0.07)
    # cumulative regret is non-decreasing and is the sum of the per-step gaps
    assert (torch.diff(run.regret) >= 0).all()
    assert run.regret[-1].item() == pytest.approx((0.75 - machine.probs[run.arms]).sum().item())


def test_learning_beats_pulling_at_random_and_runs_are_reproducible():
    machine = bandit.BernoulliBandit(PROBS)
    greedy = bandit.epsilon_greedy(machine, steps=2000, epsilon=0.1, generator=gen(1))
    random_play = bandit.epsilon_greedy(machine, steps=2000, epsilon=1.0, generator=gen(1))
    assert greedy.regret[-1] < random_play.regret[-1] / 2
    again = bandit.epsilon_greedy(machine, steps=2000, epsilon=0.1, generator=gen(1))
    assert torch.equal(greedy.arms, again.arms)


def test_bandit_rejects_bad_input():
    with pytest.raises(ValueError, match=r"probs\[1\]"):
        bandit.BernoulliBandit([0.5, 1.5])
    with pytest.raises(ValueError, match="at least one arm"):
        bandit.BernoulliBandit([])
    with pytest.raises(ValueError, match="arm"):
        bandit.BernoulliBandit(PROBS).pull(4)
    with pytest.raises(ValueError, match="epsilon"):
        bandit.epsilon_greedy(bandit.BernoulliBandit(PROBS), 10, epsilon=2.0)
    with pytest.raises(ValueError, match="steps"):
        bandit.epsilon_greedy(bandit.BernoulliBandit(PROBS), 0, epsilon=0.1)


# ----------------------------------------------------------------------------- Gaussians
def test_fit_gaussian_is_the_maximum_likelihood_estimate():
    X = torch.randn(200, 2, generator=gen(), dtype=torch.float64) @ torch.tensor([[2.0, 0.5], [0.0, 1.0]],
                                                                                 dtype=torch.float64)
    mean, cov = gaussian.fit_gaussian(X)
    torch.testing.assert_close(mean, X.mean(0))
    torch.testing.assert_close(cov, torch.cov(X.T, correction=0))
    # the maximum: nudging the mean or the covariance lowers the likelihood of the data
    best = gaussian.log_prob(X, mean, cov).sum()
    assert gaussian.log_prob(X, mean + 0.05, cov).sum() < best
    assert gaussian.log_prob(X, mean, cov * 1.05).sum() < best
    assert gaussian.log_prob(X, mean, cov * 0.95).sum() < best


def test_log_prob_matches_torch_distributions():
    mean = torch.tensor([1.0, -2.0], dtype=torch.float64)
    cov = torch.tensor([[2.0, 0.6], [0.6, 0.5]], dtype=torch.float64)
    X = torch.randn(10, 2, generator=gen(), dtype=torch.float64)
    expected = torch.distributions.MultivariateNormal(mean, cov).log_prob(X)
    torch.testing.assert_close(gaussian.log_prob(X, mean, cov), expected)


def test_samples_have_the_requested_mean_and_covariance():
    mean = torch.tensor([3.0, -1.0], dtype=torch.float64)
    cov = torch.tensor([[1.0, 0.8], [0.8, 2.0]], dtype=torch.float64)
    S = gaussian.sample(mean, cov, 20000, generator=gen())
    torch.testing.assert_close(S.mean(0), mean, atol=0.05, rtol=0)
    torch.testing.assert_close(torch.cov(S.T), cov, atol=0.06, rtol=0)
    assert torch.equal(gaussian.sample(mean, cov, 5, gen(4)), gaussian.sample(mean, cov, 5, gen(4)))


def test_gaussian_classifier_uses_bayes_rule_and_generates_its_classes():
    X, y = make_blobs([[-2.0, 0.0], [2.0, 0.0], [0.0, 3.0]], n_per_blob=80, std=0.8, generator=gen())
    X = X.double()
    model = gaussian.GaussianClassifier().fit(X, y)
    post = model.predict_proba(X[:5])
    # Bayes by hand for the first point
    joint = torch.tensor([math.exp(gaussian.log_prob(X[:1], m, S).item()) / 3 for m, S in zip(model.means, model.covs)],
                         dtype=torch.float64)
    torch.testing.assert_close(post[0], joint / joint.sum())
    assert (model.predict(X) == y).double().mean() > 0.95
    new = model.sample(500, label=1, generator=gen(2))
    assert new.shape == (500, 2) and (model.predict(new) == 1).double().mean() > 0.9


def test_gaussian_rejects_bad_input():
    with pytest.raises(ValueError, match="at least 2 points"):
        gaussian.fit_gaussian(torch.zeros(1, 2))
    with pytest.raises(ValueError, match="positive-definite"):
        gaussian.log_prob(torch.zeros(1, 2), torch.zeros(2), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="class 1 has 1 points"):
        gaussian.GaussianClassifier().fit(torch.randn(3, 2), torch.tensor([0, 0, 1]))
    with pytest.raises(ValueError, match="label"):
        gaussian.GaussianClassifier().fit(torch.randn(4, 2), torch.tensor([0, 0, 1, 1])).sample(3, label=2)


def test_lesson_modules_do_not_import_plotting_libraries():
    import subprocess
    import sys
    code = ("import sys, course_lib.fundamentals, course_lib.functional, course_lib.metrics, course_lib.ngram; "
            "bad = [m for m in ('matplotlib', 'ipywidgets') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
