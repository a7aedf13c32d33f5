"""Penalties, the L1 proximal step, dropout, L2-in-Adam vs AdamW, and L1 / L2 coefficient paths."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from course_lib import optim
from course_lib.regularization import (
    Dropout,
    coefficient_paths,
    compare_l2_and_decoupled_decay,
    correlated_regression,
    dropout,
    elastic_net_penalty,
    l1_penalty,
    l2_penalty,
    lasso,
    proximal_l1_step,
    ridge,
    soft_threshold,
)


def some_params(seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True),
            torch.randn(5, generator=g, dtype=torch.float64, requires_grad=True)]


def test_penalty_values_and_gradients():
    params = some_params()
    flat = torch.cat([p.detach().flatten() for p in params])
    assert l1_penalty(params, 0.3).item() == pytest.approx(0.3 * flat.abs().sum().item())
    assert l2_penalty(params, 0.3).item() == pytest.approx(0.15 * (flat ** 2).sum().item())
    assert elastic_net_penalty(params, 0.3, 1.0).item() == pytest.approx(l1_penalty(params, 0.3).item())
    assert elastic_net_penalty(params, 0.3, 0.0).item() == pytest.approx(l2_penalty(params, 0.3).item())
    mixed = 0.3 * (0.25 * flat.abs().sum() + 0.75 / 2 * (flat ** 2).sum())
    assert elastic_net_penalty(params, 0.3, 0.25).item() == pytest.approx(mixed.item())
    # Gradients: strength * sign(w) for L1, strength * w for L2.
    grads = torch.autograd.grad(l1_penalty(params, 0.3) + l2_penalty(params, 0.2), params)
    for p, g in zip(params, grads):
        torch.testing.assert_close(g, 0.3 * p.sign() + 0.2 * p.detach())
    assert l1_penalty(params[0], 1.0).item() == pytest.approx(params[0].abs().sum().item())


def test_l2_penalty_in_the_loss_is_torchs_weight_decay():
    params = some_params(1)
    x = torch.linspace(-1, 1, 4, dtype=torch.float64)  # (4,)

    def loss_fn(p):
        return (torch.tanh(p[0] @ x) - 1).pow(2).sum() + (p[1] - 1).pow(2).sum()

    ours = [p.detach().clone().requires_grad_(True) for p in params]
    theirs = [p.detach().clone().requires_grad_(True) for p in params]
    opt_ours = torch.optim.SGD(ours, lr=0.1)
    opt_theirs = torch.optim.SGD(theirs, lr=0.1, weight_decay=0.3)
    for _ in range(10):
        opt_ours.zero_grad()
        opt_theirs.zero_grad()
        (loss_fn(ours) + l2_penalty(ours, 0.3)).backward()
        loss_fn(theirs).backward()
        opt_ours.step()
        opt_theirs.step()
    for a, b, start in zip(ours, theirs, params):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-12)
        assert not torch.allclose(a, start)


def test_soft_threshold_is_softshrink_and_the_l1_prox():
    w = torch.linspace(-2, 2, 81, dtype=torch.float64)
    torch.testing.assert_close(soft_threshold(w, 0.7), F.softshrink(w, 0.7))
    assert (soft_threshold(w, 0.7)[w.abs() <= 0.7] == 0).all()  # exact zeros, not tiny numbers
    # It minimises (v - w)^2 / 2 + t |v|: compare with a brute-force search over v.
    v = torch.linspace(-3, 3, 60001, dtype=torch.float64)  # spacing 1e-4
    for wi in [-1.3, -0.2, 0.0, 0.5, 1.9]:
        objective = (v - wi) ** 2 / 2 + 0.7 * v.abs()
        assert soft_threshold(torch.tensor(wi), 0.7).item() == pytest.approx(
            v[objective.argmin()].item(), abs=2e-4)


def test_proximal_step_gives_exact_zeros_where_subgradient_descent_does_not():
    X, y, _ = correlated_regression(seed=1)
    strength, lr = 0.5, 0.15  # lr below 1 / L (L is about 5.4 here): ISTA converges

    def train(proximal):
        w = torch.zeros(X.shape[1], dtype=X.dtype, requires_grad=True)
        opt = optim.SGD([w], lr=lr)
        for _ in range(1000):
            opt.zero_grad()
            loss = ((X @ w - y) ** 2).mean() / 2
            if not proximal:
                loss = loss + l1_penalty(w, strength)  # the penalty through autograd
            loss.backward()
            opt.step()
            if proximal:
                proximal_l1_step([w], lr, strength)
        return w.detach()

    w_prox, w_sub = train(True), train(False)
    assert (w_prox == 0).sum() >= 2
    assert (w_sub == 0).sum() == 0  # it jitters around 0 instead
    torch.testing.assert_close(w_prox, lasso(X, y, strength), atol=1e-6, rtol=0)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
@pytest.mark.parametrize("shape", [(1000,), (7, 3, 5)])
def test_dropout_matches_torch_mask_for_mask(p, shape):
    x = torch.randn(shape, generator=torch.Generator().manual_seed(9))
    torch.manual_seed(42)
    expected = F.dropout(x, p, training=True)
    got = dropout(x, p, training=True, generator=torch.Generator().manual_seed(42))
    assert torch.equal(got, expected)


def test_dropout_training_and_evaluation_behaviour():
    x = torch.rand(200, 50, dtype=torch.float64) + 0.5  # no zeros in the input
    g = torch.Generator().manual_seed(0)
    out = dropout(x, 0.3, generator=g)
    dropped = out == 0
    assert abs(dropped.double().mean().item() - 0.3) < 0.02  # 10,000 draws: sd about 0.005
    torch.testing.assert_close(out[~dropped], x[~dropped] / 0.7)  # survivors scaled by 1 / (1 - p)
    # Matched in expectation: averaged over many masks, dropout(x) is x.
    mean = torch.stack([dropout(x[:4], 0.3, generator=g) for _ in range(4000)]).mean(0)
    assert (mean - x[:4]).abs().max() < 5 * (x.max() * (0.3 / 0.7) ** 0.5 / 4000 ** 0.5)
    # Evaluation, p = 0 and p = 1, like torch.
    assert dropout(x, 0.3, training=False) is x and torch.equal(F.dropout(x, 0.3, training=False), x)
    assert torch.equal(dropout(x, 0.0), x)
    assert torch.equal(dropout(x, 1.0), F.dropout(x, 1.0))
    assert (dropout(x, 1.0) == 0).all()
    # The layer follows model.train() / model.eval().
    layer = Dropout(0.5, generator=torch.Generator().manual_seed(1))
    assert (layer(x) == 0).any()
    layer.eval()
    assert torch.equal(layer(x), x)
    assert "p=0.5" in repr(layer)


def test_l2_in_adam_is_not_adamw_but_for_sgd_they_coincide():
    adam = compare_l2_and_decoupled_decay("adam", weight_decay=0.1)
    assert adam.max_difference > 0.5
    # AdamW decays every weight alike; L2-in-Adam hardly fits the small-scale feature's weight.
    assert adam.decoupled_loss < adam.l2_loss
    sgd = compare_l2_and_decoupled_decay("sgd", weight_decay=0.1)
    assert sgd.max_difference < 1e-12
    assert sgd.l2_weights.abs().sum() > 0.1  # it trained: both runs are not just zeros
    # Without decay the Adam pair coincides too: the difference comes from the decay alone.
    assert compare_l2_and_decoupled_decay("adam", weight_decay=0.0).max_difference == 0.0


def test_lasso_path_gains_exact_zeros_and_satisfies_the_optimality_conditions():
    X, y, _ = correlated_regression()
    n = X.shape[0]
    assert torch.corrcoef(X.T)[0, 1] > 0.6  # the features really are correlated
    largest = (X.T @ y).abs().max().item() / n  # from here on, w = 0 is optimal
    strengths = torch.logspace(-4, 0, 9, dtype=torch.float64).mul(largest * 1.01).tolist()
    path = coefficient_paths(X, y, strengths, "l1")  # (9, D)
    zeros = (path == 0).sum(1).tolist()
    assert zeros[0] == 0 and zeros[-1] == X.shape[1]
    assert zeros == sorted(zeros) and len(set(zeros)) >= 3, zeros
    # Optimality (KKT): c = X^T (y - Xw) / N must equal strength * sign(w_j) where w_j != 0
    # and lie within [-strength, strength] where w_j = 0.
    for strength, w in zip(strengths, path):
        c = X.T @ (y - X @ w) / n
        nonzero = w != 0
        torch.testing.assert_close(c[nonzero], strength * w[nonzero].sign(), atol=1e-8, rtol=0)
        assert (c[~nonzero].abs() <= strength + 1e-8).all()


def test_ridge_path_shrinks_without_zeros():
    X, y, _ = correlated_regression()
    n, d = X.shape
    strengths = [1e-3, 1e-2, 0.1, 1.0, 10.0]
    path = coefficient_paths(X, y, strengths, "l2")
    assert (path != 0).all()
    norms = path.norm(dim=1)
    assert (norms[1:] < norms[:-1]).all()
    # Against least squares on the augmented system [X / sqrt(N); sqrt(strength) I] w = [y / sqrt(N); 0].
    for strength, w in zip(strengths, path):
        A = torch.cat([X / n ** 0.5, strength ** 0.5 * torch.eye(d, dtype=X.dtype)])
        b = torch.cat([y / n ** 0.5, torch.zeros(d, dtype=X.dtype)])
        torch.testing.assert_close(w, torch.linalg.lstsq(A, b.unsqueeze(1)).solution.squeeze(1))
    torch.testing.assert_close(ridge(X, y, 0.0), torch.linalg.lstsq(X, y.unsqueeze(1)).solution.squeeze(1))


@pytest.mark.parametrize("call, error, message", [
    (lambda: l1_penalty(some_params(), -0.1), ValueError, "strength: expected a number >= 0, got -0.1"),
    (lambda: l2_penalty([], 0.1), ValueError, "params: expected at least one tensor"),
    (lambda: l2_penalty([1.0], 0.1), TypeError, r"params\[0\]: expected a tensor, got float"),
    (lambda: elastic_net_penalty(some_params(), 0.1, 1.5), ValueError, "l1_ratio: expected a number in"),
    (lambda: soft_threshold(torch.ones(2), -1), ValueError, "threshold: expected a number >= 0, got -1"),
    (lambda: dropout(torch.ones(2), 1.2), ValueError, "p: expected a number in \\[0, 1\\], got 1.2"),
    (lambda: Dropout(-0.5), ValueError, "got -0.5"),
    (lambda: dropout([1.0], 0.5), TypeError, "x: expected a tensor, got list"),
    (lambda: compare_l2_and_decoupled_decay("lion"), ValueError, "expected 'adam' or 'sgd', got 'lion'"),
    (lambda: coefficient_paths(torch.ones(5, 2), torch.ones(4), [0.1]), ValueError, r"got \(5, 2\) and \(4,\)"),
    (lambda: coefficient_paths(torch.ones(5, 2), torch.ones(5), [0.1], "l0"), ValueError, "got 'l0'"),
    (lambda: correlated_regression(correlation=1.0), ValueError, "correlation: expected a number in"),
])
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()
