"""Scaling laws: the closed-form optimum against brute force, the published numbers, the cost
arithmetic, the fits against known laws and numpy, and the sweep of tiny GPTs.

Oracles: a dense float64 grid along the iso-FLOP curve, numpy.polyfit, synthetic data from a
known law, the models' own parameters counted module by module, and a direct cross-entropy.
"""
import itertools
import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib import scaling
from course_lib.scaling import (
    A100_BF16_PEAK,
    CHINCHILLA,
    GPT3,
    ScalingLaw,
    fit_power_law,
    fit_scaling_law,
    gpu_hours,
    training_flops,
)
from course_lib.transformer import GPT

LAWS = [CHINCHILLA, ScalingLaw(E=0.5, A=40.0, B=900.0, alpha=0.6, beta=0.35),
        ScalingLaw(E=2.0, A=3000.0, B=20.0, alpha=0.25, beta=0.5)]


# ----------------------------------------------------------------------------- the compute-optimal split
@pytest.mark.parametrize("law", LAWS)
@pytest.mark.parametrize("C", [1e15, 1e19, 5.76e23, 1e26])
def test_closed_form_optimum_is_the_lowest_point_of_the_iso_flop_curve(law, C):
    # three million model sizes from 1 parameter to C / 6 (one training token), log-spaced
    # (steps of at most 2.1e-5 in log N)
    N = np.logspace(0, math.log10(C / 6), 3_000_001)
    losses = law.loss(N, C / (6 * N))
    best = np.argmin(losses)
    assert 0 < best < len(N) - 1, "the grid must hold the minimum inside it"
    N_opt, D_opt = law.compute_optimal(C)
    assert N_opt == pytest.approx(N[best], rel=1e-4)
    assert 6 * N_opt * D_opt == pytest.approx(C, rel=1e-12)               # on the curve
    assert law.loss(N_opt, D_opt) <= losses[best] + 1e-12                 # no grid point is lower
    assert law.tokens_per_param(C) == pytest.approx(D_opt / N_opt, rel=1e-12)


def test_optimum_grows_with_the_budget_as_the_exponents_say():
    a = CHINCHILLA.beta / (CHINCHILLA.alpha + CHINCHILLA.beta)  # N_opt ~ C^a, D_opt ~ C^(1 - a)
    (N1, D1), (N2, D2) = CHINCHILLA.compute_optimal(1e21), CHINCHILLA.compute_optimal(1e24)
    assert N2 / N1 == pytest.approx(1e3 ** a, rel=1e-10)
    assert D2 / D1 == pytest.approx(1e3 ** (1 - a), rel=1e-10)
    # arrays in, arrays out, entry by entry the same
    budgets = np.array([1e21, 1e24])
    N, D = CHINCHILLA.compute_optimal(budgets)
    assert N == pytest.approx([N1, N2], rel=1e-14) and D == pytest.approx([D1, D2], rel=1e-14)


def test_chinchilla_at_its_own_budget():
    C = 5.76e23  # the budget Hoffmann et al. gave Gopher and then Chinchilla
    N_opt, D_opt = CHINCHILLA.compute_optimal(C)
    assert N_opt == pytest.approx(3.22e10, rel=0.01)      # the numbers written in the docstring
    assert D_opt == pytest.approx(2.98e12, rel=0.01)
    assert CHINCHILLA.tokens_per_param(C) == pytest.approx(93, abs=1)
    assert CHINCHILLA.loss(N_opt, D_opt) == pytest.approx(1.931, abs=1e-3)
    # the real Chinchilla (70e9 parameters) is within 0.01 of the optimum; Gopher (280e9 on 300e9 tokens) is not
    assert CHINCHILLA.loss(70e9, C / (6 * 70e9)) - CHINCHILLA.loss(N_opt, D_opt) < 0.01
    assert CHINCHILLA.loss(280e9, 300e9) - CHINCHILLA.loss(N_opt, D_opt) > 0.05


def test_loss_is_the_formula_and_takes_arrays_and_tensors():
    law = LAWS[1]
    assert law.loss(1e6, 1e9) == pytest.approx(0.5 + 40.0 / 1e6**0.6 + 900.0 / 1e9**0.35, rel=1e-14)
    N, D = np.array([1e3, 1e6]), np.array([1e5, 1e9])
    assert law.loss(N, D) == pytest.approx([law.loss(1e3, 1e5), law.loss(1e6, 1e9)], rel=1e-14)
    as_tensor = law.loss(torch.tensor(N), torch.tensor(D))
    assert as_tensor.tolist() == pytest.approx(law.loss(N, D).tolist(), rel=1e-14)


def test_bad_laws_and_bad_sizes_are_refused():
    with pytest.raises(ValueError, match=r"ScalingLaw.alpha: expected a finite number > 0, got -0.3"):
        ScalingLaw(E=1.0, A=1.0, B=1.0, alpha=-0.3, beta=0.3)
    with pytest.raises(ValueError, match="ScalingLaw.E"):
        ScalingLaw(E=float("nan"), A=1.0, B=1.0, alpha=0.3, beta=0.3)
    with pytest.raises(ValueError, match=r"N: expected finite values > 0, found 0.0"):
        CHINCHILLA.loss(np.array([1e6, 0.0]), 1e9)
    with pytest.raises(ValueError, match="C: expected finite values > 0"):
        CHINCHILLA.compute_optimal(-1e20)
    with pytest.raises(TypeError, match="D: expected a number or an array"):
        CHINCHILLA.loss(1e6, "many")


# ----------------------------------------------------------------------------- what training costs
def test_gpt3_worked_example():
    assert GPT3.flops == training_flops(175e9, 300e9) == pytest.approx(3.15e23, rel=1e-12)
    assert GPT3.flops == pytest.approx(GPT3.reported_flops, rel=0.005)   # the paper's own figure
    petaflop_s_days = GPT3.flops / (1e15 * 86_400)
    assert petaflop_s_days == pytest.approx(3640, rel=0.005)             # as the paper reports
    hours = gpu_hours(GPT3.flops, A100_BF16_PEAK, 0.4)
    assert hours == pytest.approx(3.15e23 / (312e12 * 0.4) / 3600, rel=1e-12)
    assert hours == pytest.approx(701_122, rel=1e-5)                     # the docstring's 701,000


def test_gpu_hours_arithmetic_and_validation():
    assert gpu_hours(1e15 * 3600, 1e15, 1.0) == pytest.approx(1.0)       # one hour at the full peak
    assert gpu_hours(1e15 * 3600, 1e15, 0.5) == pytest.approx(2.0)       # half the rate, twice the time
    for bad in (0, 0.0, 1.5, 40, -0.1, True):
        with pytest.raises(ValueError, match=r"utilisation: expected a fraction in \(0, 1\]"):
            gpu_hours(1e20, 1e15, bad)
    with pytest.raises(ValueError, match="flops"):
        gpu_hours(-1.0, 1e15, 0.4)
    with pytest.raises(ValueError, match="peak_flops_per_s"):
        gpu_hours(1e20, 0, 0.4)
    with pytest.raises(ValueError, match="n_tokens"):
        training_flops(1e9, float("inf"))


# ----------------------------------------------------------------------------- fitting a power law
def test_fit_power_law_recovers_a_noiseless_law_exactly():
    x = np.logspace(3, 9, 7)
    a, alpha = fit_power_law(x, 3.5 * x ** -0.27)
    assert a == pytest.approx(3.5, rel=1e-12) and alpha == pytest.approx(0.27, rel=1e-12)
    a, alpha = fit_power_law(torch.tensor([1.0, 2.0]), torch.tensor([8.0, 2.0]))  # y = 8 x^-2
    assert (a, alpha) == pytest.approx((8.0, 2.0), rel=1e-12)


def test_fit_power_law_is_polyfit_on_the_logs():
    rng = np.random.default_rng(0)
    x = rng.uniform(1, 1e6, 50)
    y = 2.0 * x ** -0.5 * np.exp(rng.normal(0, 0.3, 50))
    slope, intercept = np.polyfit(np.log(x), np.log(y), 1)
    a, alpha = fit_power_law(x, y)
    assert alpha == pytest.approx(-slope, rel=1e-10) and a == pytest.approx(math.exp(intercept), rel=1e-10)


def test_fit_power_law_refuses_bad_input():
    with pytest.raises(ValueError, match=r"y: expected finite values > 0, found -1.0"):
        fit_power_law([1, 2, 3], [1, -1, 2])
    with pytest.raises(ValueError, match=r"x: expected finite values > 0, found 0.0"):
        fit_power_law([0, 2, 3], [1, 1, 2])
    with pytest.raises(ValueError, match=r"equally long inputs, got lengths \{'x': 3, 'y': 2\}"):
        fit_power_law([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="at least 2 points"):
        fit_power_law([1.0], [1.0])
    with pytest.raises(ValueError, match="two different x"):
        fit_power_law([2.0, 2.0], [1.0, 3.0])
    with pytest.raises(ValueError, match="1-D"):
        fit_power_law([[1.0, 2.0]], [[1.0, 2.0]])


# ----------------------------------------------------------------------------- fitting the scaling law
TRUE_LAW = ScalingLaw(E=1.8, A=300.0, B=800.0, alpha=0.4, beta=0.3)


def synthetic_runs(law, n=40, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    N = np.exp(rng.uniform(np.log(1e5), np.log(1e9), n))
    D = np.exp(rng.uniform(np.log(1e7), np.log(1e11), n))
    return N, D, law.loss(N, D) * np.exp(rng.normal(0, noise, n))


def test_fit_scaling_law_recovers_a_known_law_from_noiseless_runs():
    fitted = fit_scaling_law(*synthetic_runs(TRUE_LAW))
    for name in ("E", "A", "B", "alpha", "beta"):
        assert getattr(fitted, name) == pytest.approx(getattr(TRUE_LAW, name), rel=1e-3), name


def test_fit_scaling_law_with_one_percent_noise_is_close():
    N, D, L = synthetic_runs(TRUE_LAW, noise=0.01, seed=1)
    fitted = fit_scaling_law(N, D, L)
    assert fitted.alpha == pytest.approx(0.4, abs=0.05) and fitted.beta == pytest.approx(0.3, abs=0.05)
    assert fitted.E == pytest.approx(1.8, rel=0.05)
    # it explains the runs about as well as the true law (whose residuals are the noise itself)
    fitted_error = np.abs(np.log(fitted.loss(N, D) / L)).mean()
    true_error = np.abs(np.log(TRUE_LAW.loss(N, D) / L)).mean()
    assert fitted_error <= true_error
    # and it predicts the true law's losses over the range of the runs to within 1%
    assert np.abs(fitted.loss(N, D) / TRUE_LAW.loss(N, D) - 1).max() < 0.01


def test_the_huber_loss_shrugs_off_a_bad_run():
    N, D, L = synthetic_runs(TRUE_LAW, n=30, seed=2)
    L[np.argmin(N)] *= 2.0  # one run gone wrong
    starts = [[5.7, 6.7, 0.6, 0.4, 0.3], [0.0, 5.0, 0.0, 0.5, 0.5]]
    robust = fit_scaling_law(N, D, L, starts=starts)
    assert robust.alpha == pytest.approx(0.4, abs=0.01) and robust.beta == pytest.approx(0.3, abs=0.01)
    squares = fit_scaling_law(N, D, L, delta=10.0, starts=starts)  # delta this large: plain least squares
    assert abs(squares.alpha - 0.4) > 5 * abs(robust.alpha - 0.4)


def test_fit_scaling_law_refuses_bad_input():
    N, D, L = synthetic_runs(TRUE_LAW, n=8)
    with pytest.raises(ValueError, match=r"equally long inputs, got lengths \{'N': 8, 'D': 7, 'L': 8\}"):
        fit_scaling_law(N, D[:7], L)
    with pytest.raises(ValueError, match=r"at least 5 points \(the law has five parameters\), got 4"):
        fit_scaling_law(N[:4], D[:4], L[:4])
    with pytest.raises(ValueError, match="L: expected finite values > 0, found nan"):
        fit_scaling_law(N, D, np.where(np.arange(8) == 3, np.nan, L))
    with pytest.raises(ValueError, match="at least two different values"):
        fit_scaling_law(np.full(8, 1e6), D, L)
    with pytest.raises(ValueError, match="delta"):
        fit_scaling_law(N, D, L, delta=0)
    with pytest.raises(ValueError, match="n_starts"):
        fit_scaling_law(N, D, L, n_starts=0)
    with pytest.raises(ValueError, match=r"starts: expected rows of 5 numbers"):
        fit_scaling_law(N, D, L, starts=[[1.0, 2.0]])


# ----------------------------------------------------------------------------- the sweep of tiny GPTs
TINY = {"model_sizes": [(1, 16)], "token_budgets": [1024, 4096], "context_length": 16, "batch_size": 8,
        "n_stories": 300}


@pytest.fixture(scope="module")
def tiny_sweep():
    return scaling.scaling_sweep(**TINY, seed=0)


def test_sweep_rows_say_what_was_trained(tiny_sweep):
    tokens = scaling.sweep_tokens(300)
    vocab_size = int(tokens.max()) + 1
    assert vocab_size == len(set(scaling.sweep_tokens(300).tolist())) and 30 < vocab_size < 70
    model = GPT(scaling.sweep_config(1, 16, vocab_size, 16))
    # the oracle: the model's own parameters, without the two embedding tables
    non_embedding = sum(p.numel() for name, p in model.named_parameters()
                        if not name.startswith(("token_embedding.", "positions.")))
    assert [row["n_params"] for row in tiny_sweep] == [non_embedding] * 2
    assert [row["n_tokens"] for row in tiny_sweep] == [8 * 8 * 16, 32 * 8 * 16]  # steps x batch x context
    assert [row["steps"] for row in tiny_sweep] == [8, 32]
    assert all(row["n_layers"] == 1 and row["d_model"] == 16 for row in tiny_sweep)


def test_sweep_is_repeatable_with_a_seed_and_loss_falls_with_data(tiny_sweep):
    assert scaling.scaling_sweep(**TINY, seed=0) == tiny_sweep
    short, long = (row["loss"] for row in tiny_sweep)
    assert long < short - 0.1 and short < math.log(60)  # below a uniform guess over the characters
    other = scaling.scaling_sweep(**TINY, seed=1)
    assert [row["loss"] for row in other] != [row["loss"] for row in tiny_sweep]


def test_validation_loss_is_the_cross_entropy_of_every_window():
    torch.manual_seed(0)
    tokens = torch.randint(0, 20, (16 * 7 + 5,))            # 7 whole windows of 16 and a remainder
    model = GPT(scaling.sweep_config(1, 16, 20, 16))
    inputs = tokens[: 7 * 16].view(7, 16)
    targets = tokens[1: 7 * 16 + 1].view(7, 16)
    with torch.no_grad():
        logits, _ = model(inputs)
        expected = F.cross_entropy(logits.reshape(-1, 20), targets.reshape(-1)).item()
    assert scaling.validation_loss(model, tokens, 16, batch_size=3) == pytest.approx(expected, rel=1e-6)


def test_sweep_refuses_bad_settings():
    with pytest.raises(ValueError, match=r"at least one batch \(8 x 16 = 128 tokens\), got 100"):
        scaling.scaling_sweep([(1, 16)], [100], context_length=16, batch_size=8)
    with pytest.raises(ValueError, match="d_model: expected a positive multiple of 16"):
        scaling.scaling_sweep([(1, 24)], [4096], n_stories=50)
    with pytest.raises(ValueError, match="at least one of each"):
        scaling.scaling_sweep([], [4096])


def test_the_shipped_sweep_ran_every_size_on_every_budget():
    sweep = scaling.load_sweep()
    rows = sweep["rows"]
    settings = sweep["settings"]
    assert settings["model_sizes"] == [list(size) for size in scaling.FULL_SWEEP["model_sizes"]]
    assert settings["token_budgets"] == scaling.FULL_SWEEP["token_budgets"]
    assert len(rows) == len(settings["model_sizes"]) * len(settings["token_budgets"])
    # every model size saw every budget, and more data never hurt by more than noise
    for n_params in {row["n_params"] for row in rows}:
        losses = [row["loss"] for row in sorted(rows, key=lambda r: r["n_tokens"]) if row["n_params"] == n_params]
        assert all(later < earlier + 0.02 for earlier, later in itertools.pairwise(losses)), n_params


# ----------------------------------------------------------------------------- the law on the shipped sweep
# The bounds the law fitted to the shipped sweep must meet on the runs it was fitted to (nats per character).
MAX_FITTED_RESIDUAL = 0.30     # the worst run: the smallest model at 262,144 tokens (0.28)
MEDIAN_FITTED_RESIDUAL = 0.01  # half of the runs (0.003)


@pytest.fixture(scope="module")
def shipped():
    """(rows, the law fit_sweep gives for them) of the shipped sweep."""
    rows = scaling.load_sweep()["rows"]
    return rows, scaling.fit_sweep(rows)


def sweep_columns(rows):
    return tuple(np.array([row[key] for row in rows], dtype=np.float64) for key in ("n_params", "n_tokens", "loss"))


def test_fit_sweep_leaves_out_exactly_the_runs_below_the_threshold(shipped):
    rows, law = shipped
    fitted, plateau = scaling.split_sweep(rows)
    assert scaling.FIT_MIN_TOKENS == 262_144
    assert fitted == [row for row in rows if row["n_tokens"] >= 262_144]          # order kept
    assert plateau == [row for row in rows if row["n_tokens"] < 262_144]
    assert {row["n_tokens"] for row in plateau} == {16_384, 32_768, 65_536, 131_072} and len(plateau) == 24
    assert {row["n_tokens"] for row in fitted} == {262_144, 524_288, 1_048_576} and len(fitted) == 18
    # the law is the one fit_scaling_law gives for the fitted runs alone ...
    assert law == fit_scaling_law(*sweep_columns(fitted))
    # ... so the plateau's losses do not move it, and a fitted run's do
    moved_plateau = [dict(row, loss=row["loss"] * 3) if row["n_tokens"] < 262_144 else row for row in rows]
    assert scaling.fit_sweep(moved_plateau) == law
    moved_fitted = [dict(row, loss=row["loss"] * 1.5) if row is fitted[0] else row for row in rows]
    assert scaling.fit_sweep(moved_fitted) != law
    # another threshold moves the split with it; 1 keeps every run
    assert scaling.split_sweep(rows, min_tokens=131_072)[1] == [row for row in rows if row["n_tokens"] < 131_072]
    assert scaling.split_sweep(rows, min_tokens=1) == (rows, [])


def test_the_law_is_close_to_every_run_it_was_fitted_to(shipped):
    rows, law = shipped
    fitted, plateau = scaling.split_sweep(rows)
    residuals = np.abs(scaling.sweep_residuals(law, fitted))
    assert residuals.max() < MAX_FITTED_RESIDUAL, residuals.round(3)
    assert np.median(residuals) < MEDIAN_FITTED_RESIDUAL, residuals.round(3)
    assert 0 < law.E < min(row["loss"] for row in rows)      # below every measured loss
    assert 0 < law.alpha < 3 and 0 < law.beta < 3
    # sweep_residuals is predicted minus measured, run by run (the oracle: the law's formula written out)
    N, D, L = sweep_columns(plateau)
    expected = law.E + law.A / N**law.alpha + law.B / D**law.beta - L
    assert scaling.sweep_residuals(law, plateau) == pytest.approx(expected, rel=1e-12)


def test_the_threshold_is_where_every_model_has_left_the_plateau(shipped):
    """Why 262,144: the plateau is the letter frequencies' entropy; from there on every model is past half of it."""
    rows, _ = shipped
    settings = scaling.load_sweep()["settings"]
    letters = torch.bincount(scaling.sweep_tokens(settings["n_stories"])).double()
    p = letters[letters > 0] / letters.sum()
    plateau_loss = -(p * p.log()).sum().item()                                    # 3.04 nats per character
    assert 2.9 < plateau_loss < 3.2
    by_budget = {budget: [row["loss"] for row in rows if row["n_tokens"] == budget] for budget in
                 settings["token_budgets"]}
    smallest = min(by_budget[16_384])
    assert abs(smallest - plateau_loss) < 0.4                                  # the least data: on the plateau
    fitted_budgets = [budget for budget in by_budget if budget >= scaling.FIT_MIN_TOKENS]
    assert all(max(by_budget[budget]) < plateau_loss / 2 for budget in fitted_budgets)
    largest_excluded = max(budget for budget in by_budget if budget < scaling.FIT_MIN_TOKENS)
    assert max(by_budget[largest_excluded]) > plateau_loss / 2                  # someone is still dropping there


def test_the_law_fitted_to_every_run_is_worse_than_a_uniform_guess_on_the_plateau(shipped):
    """What fit_sweep's threshold is for: the law has no plateau, and fitting one bends it out of shape."""
    rows, law = shipped
    everything = scaling.fit_sweep(rows, min_tokens=1)
    fitted, plateau = scaling.split_sweep(rows)
    least_data = [row for row in plateau if row["n_tokens"] == 16_384]
    uniform = math.log(int(scaling.sweep_tokens(scaling.load_sweep()["settings"]["n_stories"]).max()) + 1)
    assert np.all(scaling.sweep_residuals(everything, least_data) > 1.0)
    assert np.all(everything.loss(*sweep_columns(least_data)[:2]) > uniform)    # ln 51 = 3.93
    # and it is several times further off on the runs the law describes
    assert np.abs(scaling.sweep_residuals(everything, fitted)).max() > MAX_FITTED_RESIDUAL / 2
    assert np.median(np.abs(scaling.sweep_residuals(everything, fitted))) > 3 * MEDIAN_FITTED_RESIDUAL


def test_fit_sweep_finds_the_minimum_scipy_finds(shipped):
    """Oracle: scipy's least_squares with its Huber loss (the same objective, written in numpy) from 40 random starts."""
    optimize = pytest.importorskip("scipy.optimize")
    rows, law = shipped
    N, D, L = sweep_columns([row for row in rows if row["n_tokens"] >= 262_144])

    def log_residuals(params):  # log L_hat - log L for params (a, b, e, alpha, beta)
        a, b, e, alpha, beta = params
        return np.logaddexp(np.logaddexp(a - alpha * np.log(N), b - beta * np.log(D)), e) - np.log(L)

    def huber(residuals, delta=1e-3):  # torch's huber_loss summed: 0.5 r^2 near 0, delta (|r| - delta / 2) beyond
        r = np.abs(residuals)
        return float(np.where(r <= delta, 0.5 * r**2, delta * (r - 0.5 * delta)).sum())

    rng = np.random.default_rng(0)
    best = None
    for start in rng.uniform([0, 0, -3, 0, 0], [25, 25, 1, 3, 3], size=(40, 5)):
        # scipy's "huber" with f_scale = delta is exactly the objective above (its cost is 0.5 sum rho)
        result = optimize.least_squares(log_residuals, start, loss="huber", f_scale=1e-3,
                                        xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=5000)
        if np.all(result.x[3:] > 0) and (best is None or result.cost < best.cost):
            best = result
    ours = [math.log(law.A), math.log(law.B), math.log(law.E), law.alpha, law.beta]
    assert huber(log_residuals(best.x)) == pytest.approx(best.cost, rel=1e-9)
    assert huber(log_residuals(ours)) <= best.cost * (1 + 1e-6)
    a, b, e, alpha, beta = best.x
    oracle = ScalingLaw(E=math.exp(e), A=math.exp(a), B=math.exp(b), alpha=alpha, beta=beta)
    assert law.loss(N, D) == pytest.approx(oracle.loss(N, D), abs=1e-5)
    assert (law.alpha, law.beta, law.E) == pytest.approx((alpha, beta, math.exp(e)), rel=1e-4)


def test_fit_sweep_refuses_too_few_runs_and_bad_thresholds(shipped):
    rows, _ = shipped
    with pytest.raises(ValueError, match=r"at least 5 runs with n_tokens >= 2,000,000 .* got 0 \(42 runs have fewer"):
        scaling.fit_sweep(rows, min_tokens=2_000_000)
    for bad in (0, 2.5e5, True):
        with pytest.raises(ValueError, match="min_tokens: expected an int >= 1"):
            scaling.split_sweep(rows, min_tokens=bad)


def test_load_sweep_names_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m course_lib.scaling"):
        scaling.load_sweep(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        scaling.load_sweep(broken)
    bad_row = tmp_path / "bad_row.json"
    bad_row.write_text(json.dumps({"rows": [{"n_params": 10, "n_tokens": 100, "loss": 1.0},
                                            {"n_params": 10, "n_tokens": -5, "loss": 1.0}]}))
    with pytest.raises(ValueError, match=r"row 1 needs a number > 0 for 'n_tokens', got -5"):
        scaling.load_sweep(bad_row)


def test_write_sweep_records_its_settings(tmp_path, monkeypatch):
    monkeypatch.setattr(scaling, "FULL_SWEEP", {"model_sizes": [(1, 16)], "token_budgets": [1024]})
    path = tmp_path / "sweep.json"
    written = scaling.write_sweep(path, threads=1, context_length=16, n_stories=300)
    loaded = scaling.load_sweep(path)
    assert loaded["rows"] == written["rows"]
    assert loaded["settings"] == {"model_sizes": [[1, 16]], "token_budgets": [1024], "context_length": 16,
                                  "batch_size": 8, "lr": 1e-2, "n_stories": 300, "val_fraction": 0.05, "seed": 0}
    rerun = scaling.scaling_sweep([(1, 16)], [1024], context_length=16, n_stories=300)
    assert [row["loss"] for row in rerun] == pytest.approx([row["loss"] for row in loaded["rows"]], rel=1e-12)
    assert not list(tmp_path.glob(".*tmp"))  # no temporary file left behind


def test_torch_threads_restores_the_count_even_after_an_error():
    before = torch.get_num_threads()
    with scaling.torch_threads(before + 1):
        assert torch.get_num_threads() == before + 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), scaling.torch_threads(before + 1):
        raise RuntimeError("a failed run")
    assert torch.get_num_threads() == before
    with scaling.torch_threads(None):
        assert torch.get_num_threads() == before
