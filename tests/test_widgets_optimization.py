"""Lesson 07's explorers, headless: the data they plot, checked against independent
computations, and that moving a control redraws the picture (exactly once)."""
import math

import matplotlib

matplotlib.use("Agg")  # no display needed: the explorers render to PNG bytes

import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course_lib import optim  # noqa: E402
from course_lib.regularization import coefficient_paths, correlated_regression  # noqa: E402
from course_lib.surfaces import run_optimizer  # noqa: E402
from course_lib.widgets import batch_noise as bn  # noqa: E402
from course_lib.widgets import l1_vs_l2 as pen  # noqa: E402
from course_lib.widgets import optimizer_race as race  # noqa: E402
from course_lib.widgets.gradient_descent_explorer import (  # noqa: E402
    GOOD_LR, descent_data, descent_explorer, draw_descent)
from course_lib.widgets.panels import PlainLogLocator  # noqa: E402
from course_lib.widgets.surface_plot import SURFACE_NAMES, make_surface  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors (see conftest.py)


def same_path(path, expected, rtol=1e-10, atol=1e-12):
    """Two lists of points (x, y) agree; nan-free."""
    torch.testing.assert_close(torch.tensor(path, dtype=torch.float64), torch.tensor(expected, dtype=torch.float64),
                               rtol=rtol, atol=atol)
    return True


def count_redraws(explorer):
    """A list that gains an entry each time the explorer's picture changes."""
    seen = []
    explorer.image.observe(lambda change: seen.append(1), names="value")
    return seen


# ----------------------------------------------------------------------------- gradient descent explorer
def test_descent_path_is_gradient_descent_in_closed_form():
    # quadratic, axis-aligned: x shrinks by (1 - lr) per step, y by (1 - lr * condition)
    surface = make_surface("quadratic")
    picture = descent_data("quadratic", lr=0.04, start_x=-1.5, start_y=1.0, steps=30)
    assert not picture.diverged and picture.steps_taken == 30 and len(picture.losses) == 31
    for t, (x, y) in enumerate(picture.path):
        assert x == pytest.approx(-1.5 * 0.96 ** t, rel=1e-12)
        assert y == pytest.approx(1.0 * (1 - 0.04 * surface.condition) ** t, rel=1e-9, abs=1e-15)
    assert picture.losses == pytest.approx([float(surface.value(x, y)) for x, y in picture.path])
    assert picture.gaps == pytest.approx([max(v, 1e-12) for v in picture.losses])  # f_min = 0
    assert "stable only for lr < 2 / 20 = 0.1" in picture.message


def test_the_stability_limit_on_the_quadratic_is_two_over_the_curvature():
    below = descent_data("quadratic", lr=0.099, steps=300)
    above = descent_data("quadratic", lr=0.101, steps=300)
    assert not below.diverged and below.losses[-1] < below.losses[0]
    assert above.diverged and above.losses[-1] > above.losses[0]


@pytest.mark.parametrize("lr", [0.3, 1.0, 10 ** 0.5])
def test_too_large_a_rate_blows_up_with_a_message_and_a_drawable_path(lr):
    picture = descent_data("quadratic", lr=lr, steps=200)
    assert picture.diverged and picture.diverged_at is not None
    assert picture.message.startswith(f"Diverged at step {picture.diverged_at}") and "too large" in picture.message
    assert picture.steps_taken == picture.diverged_at - 1 and len(picture.path) >= 2
    assert all(math.isfinite(v) for point in picture.path for v in point)
    figure = Figure()
    draw_descent(figure.subplots(1, 2), picture)
    assert "Diverged" in figure._suptitle.get_text() and figure.axes[1].lines  # a loss curve was drawn


def test_a_rate_slightly_too_large_is_caught_before_it_blows_up():
    picture = descent_data("quadratic", lr=0.105, steps=20)  # |1 - 0.105 * 20| = 1.1: slow growth
    assert picture.diverged_at is None and picture.diverged
    assert picture.message.startswith("Diverging") and "went UP" in picture.message


def test_every_surface_gives_a_picture_at_a_good_and_a_huge_rate():
    for name in SURFACE_NAMES:
        for lr in (GOOD_LR[name], 3.0):
            picture = descent_data(name, lr=lr, steps=100)
            assert picture.path and all(math.isfinite(g) and g > 0 for g in picture.gaps), (name, lr)
            draw_descent(Figure().subplots(1, 2), picture)
        good = descent_data(name, lr=GOOD_LR[name], steps=100)
        assert not good.diverged and good.losses[-1] < good.losses[0], name


def test_descent_explorer_redraws_once_per_change_and_resets_for_a_new_surface():
    explorer = descent_explorer()
    assert set(explorer.controls) == {"surface", "lr", "steps", "start_x", "start_y"}
    redraws = count_redraws(explorer)
    first_png, first = explorer.image.value, explorer.data
    assert first_png[:8] == PNG and not first.diverged

    explorer.controls["lr"].value = 0.3
    assert len(redraws) == 1 and explorer.data.diverged and explorer.image.value != first_png
    assert "Diverged" in explorer.figure._suptitle.get_text()

    explorer.controls["surface"].value = "rosenbrock"  # resets lr and the start: still one redraw
    assert len(redraws) == 2
    surface = make_surface("rosenbrock")
    (x_lo, x_hi), (y_lo, y_hi) = surface.bounds
    sx, sy = explorer.controls["start_x"], explorer.controls["start_y"]
    assert (sx.min, sx.max, sy.min, sy.max) == (x_lo, x_hi, y_lo, y_hi)
    assert explorer.data.path[0] == pytest.approx(surface.start)
    assert explorer.data.lr == pytest.approx(GOOD_LR["rosenbrock"]) and not explorer.data.diverged
    expected = run_optimizer(surface, optim.SGD, n_steps=explorer.controls["steps"].value, lr=GOOD_LR["rosenbrock"])
    assert same_path(explorer.data.path, expected.points.tolist())

    explorer.controls["start_y"].value = 0.5
    assert len(redraws) == 3 and explorer.data.path[0][1] == pytest.approx(0.5)


# ----------------------------------------------------------------------------- optimizer race
def test_each_lane_is_torchs_own_optimizer_on_the_surface():
    racers = {"SGD": {"lr": 0.03}, "momentum": {"lr": 0.01, "momentum": 0.8}, "AdaGrad": {"lr": 0.3},
              "RMSProp": {"lr": 0.03}, "Adam": {"lr": 0.1, "betas": (0.8, 0.999)}}
    picture = race.race_data("tilted valley", 80, racers)
    torch_versions = {
        "SGD": lambda p: torch.optim.SGD(p, lr=0.03),
        "momentum": lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.8),
        "AdaGrad": lambda p: torch.optim.Adagrad(p, lr=0.3),
        "RMSProp": lambda p: torch.optim.RMSprop(p, lr=0.03),
        "Adam": lambda p: torch.optim.Adam(p, lr=0.1, betas=(0.8, 0.999)),
    }
    assert [lane.name for lane in picture.lanes] == list(racers)
    for lane in picture.lanes:
        reference = run_optimizer(make_surface("tilted valley"), torch_versions[lane.name], n_steps=80)
        assert same_path(lane.path, reference.points.tolist(), atol=1e-10), lane.name
        assert lane.final_gap == pytest.approx(reference.final_loss, abs=1e-12)
    assert picture.message.startswith("tilted valley, 80 steps: closest to the minimum is")


def test_a_short_race_is_the_start_of_a_long_one():
    surface = make_surface("noisy")  # noise drawn step by step: the prefix must still match
    for steps in (0, 1, 37, race.MAX_STEPS):
        picture = race.race_data("noisy", steps, {"Adam": {"lr": 0.1}, "SGD": {"lr": 0.12}})
        for lane, (opt, lr) in zip(picture.lanes, [(optim.Adam, 0.1), (optim.SGD, 0.12)]):
            direct = run_optimizer(surface, opt, n_steps=steps, lr=lr)
            finite = direct.last_finite_step + 1
            assert same_path(lane.path, direct.points[:finite].tolist())
            assert lane.diverged_at == direct.diverged_at
    sgd = race.race_data("noisy", race.MAX_STEPS, {"SGD": {"lr": 0.12}}).lanes[0]
    assert sgd.diverged_at is not None  # so the prefixes above cut a diverging run both before and after
    with pytest.raises(ValueError, match="steps"):
        race.race_data("noisy", race.MAX_STEPS + 10)


def test_race_reports_divergence_per_lane_and_an_empty_race():
    picture = race.race_data("quadratic", 100, {"SGD": {"lr": 0.5}, "Adam": {"lr": 0.1}})
    sgd, adam = picture.lanes
    assert sgd.diverged_at is not None and "diverged at step" in sgd.label and adam.diverged_at is None
    assert "diverged: SGD" in picture.message
    everyone = race.race_data("quadratic", 100, {"SGD": {"lr": 0.5}, "momentum": {"lr": 0.5, "momentum": 0.9}})
    assert everyone.message.startswith("quadratic: every optimizer diverged")
    assert race.race_data("quadratic", 100, {}).message.startswith("tick at least one")
    with pytest.raises(ValueError, match="unknown optimizer"):
        race.race_data("quadratic", 10, {"LBFGS": {"lr": 1.0}})
    figure = Figure()
    race.draw_race(figure.subplots(1, 2), picture)
    assert len(figure.axes[1].get_legend().get_texts()) == 2


def test_race_explorer_reruns_only_the_optimizer_whose_slider_moved():
    explorer = race.race_explorer(surface="tilted valley", steps=60)
    misses = race._run.cache_info().misses
    explorer.controls["steps"].value = 200  # the runs exist already: cut, not rerun
    assert race._run.cache_info().misses == misses and len(explorer.data.lanes[0].path) == 201
    assert [lane.name for lane in explorer.data.lanes] == ["SGD", "momentum", "RMSProp", "Adam"]
    redraws = count_redraws(explorer)
    misses = race._run.cache_info().misses
    first_png = explorer.image.value
    explorer.controls["lr_adam"].value = 0.05
    assert race._run.cache_info().misses == misses + 1 and len(redraws) == 1
    assert explorer.image.value != first_png
    adam = explorer.data.lanes[-1]
    assert adam.settings == {"lr": pytest.approx(0.05), "betas": (0.9, 0.999)}

    explorer.controls["on_adagrad"].value = True
    explorer.controls["on_sgd"].value = False
    assert [lane.name for lane in explorer.data.lanes] == ["momentum", "AdaGrad", "RMSProp", "Adam"]
    explorer.controls["momentum_mu"].value = 0.5
    assert explorer.data.lanes[0].settings["momentum"] == pytest.approx(0.5)

    explorer.controls["surface"].value = "rosenbrock"  # every rate reset: one redraw
    assert len(redraws) == 5
    assert {lane.name: lane.settings["lr"] for lane in explorer.data.lanes} == pytest.approx(
        {name: race.DEFAULT_LRS["rosenbrock"][name] for name in ["momentum", "AdaGrad", "RMSProp", "Adam"]})


# ----------------------------------------------------------------------------- L1 vs L2
def test_strength_grid_and_nearest_point():
    grid = pen.strength_grid()
    assert len(grid) == 81 and grid[0] == pytest.approx(1e-3) and grid[-1] == pytest.approx(10.0)
    assert pen.nearest_index(1.0) == 60 and pen.nearest_index(1e-9) == 0 and pen.nearest_index(1e9) == 80
    with pytest.raises(ValueError, match="strength"):
        pen.nearest_index(0.0)


def test_the_penalised_answers_solve_the_constrained_problems():
    """At each strength, the lasso answer has the lowest loss in its diamond and ridge in its disc."""
    p = pen.problems()
    g = torch.Generator().manual_seed(0)
    for strength in (0.03, 0.3, 1.0, 2.0):
        picture = pen.penalty_data(strength)
        # points spread over the diamond |w1| + |w2| <= t (and its boundary) and the disc
        t, r = picture.l1_budget, picture.l2_radius
        angles = torch.linspace(0, 2 * math.pi, 4001, dtype=torch.float64)
        circle = torch.stack([angles.cos(), angles.sin()], 1)  # (M, 2)
        diamond = circle / circle.abs().sum(1, keepdim=True)  # (M, 2) on |w1| + |w2| = 1
        scale = torch.rand(4001, 1, generator=g, dtype=torch.float64).sqrt()
        for region, size, answer in ((diamond, t, picture.w_l1), (circle, r, picture.w_l2)):
            candidates = torch.cat([region * size, region * size * scale])  # boundary and inside
            best = pen.squared_error(p.X2, p.y2, candidates).min().item()
            ours = pen.squared_error(p.X2, p.y2, torch.tensor(answer, dtype=torch.float64)).item()
            assert ours <= best + 1e-9, (strength, answer)
        assert picture.loss_l1 == pytest.approx(pen.squared_error(p.X2, p.y2, torch.tensor(picture.w_l1, dtype=torch.float64)).item())


def test_l1_lands_on_a_corner_and_l2_never_reaches_zero():
    picture = pen.penalty_data(1.0)
    assert picture.w_l1[1] == 0.0 and picture.w_l1[0] > 0 and "corner (w2 = 0)" in picture.message
    assert all(w != 0 for w in picture.w_l2)
    small, huge = pen.penalty_data(1e-3), pen.penalty_data(10.0)
    assert small.l1_zeros == 0 and small.w_l1 == pytest.approx(small.w_unpenalised, abs=2e-3)
    assert huge.l1_zeros == 6 and huge.w_l1 == [0.0, 0.0] and "origin" in huge.message
    assert huge.l2_zeros == 0 and all(abs(w) > 0.1 for w in huge.l2_weights)
    assert picture.message.endswith(f"L1 has {picture.l1_zeros} exact zeros, L2 has 0")


def test_paths_are_the_librarys_coefficient_paths():
    p = pen.problems()
    X6, y6, w6 = correlated_regression(n_samples=80, n_features=6, correlation=0.8, seed=0)
    every_fourth = p.strengths[::4]
    torch.testing.assert_close(p.l1_path[::4], coefficient_paths(X6, y6, every_fourth, "l1"), atol=1e-6, rtol=0)
    torch.testing.assert_close(p.l2_path[::4], coefficient_paths(X6, y6, every_fourth, "l2"))
    zeros = (p.l1_path == 0).sum(1)
    assert zeros[0] == 0 and zeros[-1] == 6
    # every weight is exactly 0 from lambda = max |X^T y| / N on: the lasso's smallest all-zero strength
    lambda_max = (X6.T @ y6 / len(y6)).abs().max().item()
    assert all(z == 6 for s, z in zip(p.strengths, zeros.tolist()) if s >= lambda_max)
    assert all(z < 6 for s, z in zip(p.strengths, zeros.tolist()) if s < 0.99 * lambda_max)


def test_penalty_explorer_redraws_with_the_new_strength():
    explorer = pen.penalty_explorer()
    redraws = count_redraws(explorer)
    first_png = explorer.image.value
    explorer.controls["strength"].value = 0.01
    assert len(redraws) == 1 and explorer.image.value != first_png
    assert explorer.data.strength == pytest.approx(0.01)
    line = explorer.figure.axes[1].lines[-1]  # the dashed line at the current strength
    assert line.get_xdata()[0] == pytest.approx(0.01)
    assert "exactly 0" in explorer.figure.axes[1].get_title()


# ----------------------------------------------------------------------------- batch size and noise
def reference_sgd(batch_size, lr, n_epochs, seed=0):
    """Mini-batch SGD on the line with autograd and the course's SGD: the oracle for sgd_run."""
    data = bn.line_data()
    theta = torch.tensor(bn.START, dtype=torch.float64, requires_grad=True)  # (w, b)
    opt = optim.SGD([theta], lr=lr)
    generator = torch.Generator().manual_seed(seed)
    path = [tuple(theta.tolist())]
    for _ in range(n_epochs):
        for batch in optim.minibatches(bn.N_EXAMPLES, batch_size, generator):
            x, y = data.x[batch], data.y[batch]
            loss = 0.5 * ((theta[0] * x + theta[1] - y) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            path.append(tuple(theta.tolist()))
    return path


@pytest.mark.parametrize("batch_size", [1, 16, 100, 256])
def test_sgd_run_is_minibatch_sgd_with_autograd(batch_size):
    run = bn.sgd_run(batch_size, lr=0.1, n_epochs=2)
    assert run.diverged_at is None
    assert same_path(run.path, reference_sgd(batch_size, 0.1, 2))
    steps_per_epoch = math.ceil(bn.N_EXAMPLES / batch_size)
    assert len(run.path) == 2 * steps_per_epoch + 1 and run.epochs[-1] == 2.0
    data = bn.line_data()
    for (w, b), loss in zip(run.path[::7], run.losses[::7]):
        assert loss == pytest.approx(0.5 * ((w * data.x + b - data.y) ** 2).mean().item(), rel=1e-10)


def test_best_fit_is_least_squares():
    data = bn.line_data()
    X = torch.stack([data.x, torch.ones_like(data.x)], 1)  # (N, 2)
    w, b = torch.linalg.lstsq(X, data.y[:, None]).solution[:, 0].tolist()
    assert bn.best_fit()[:2] == pytest.approx((w, b), rel=1e-10)


def test_gradient_noise_follows_the_sampling_formula():
    measured, predicted = bn.noise_by_batch_size()
    for B, m, p in zip(bn.BATCH_SIZES[:-1], measured, predicted):
        assert m == pytest.approx(p, rel=0.15), B  # 200 draws: a few percent of sampling error
    assert predicted[-1] == 0.0 and measured[-1] < 1e-12  # the full batch has no noise
    # the cloud of first steps is centred on the full-batch step and shrinks with B
    data = bn.line_data()
    full_step = torch.tensor(bn.START) - 0.1 * bn.per_example_gradients(data, *bn.START).mean(0)
    spreads = []
    for B in (1, 16, 256):
        cloud = bn.first_step_cloud(B, lr=0.1, n=2000)
        assert (cloud.mean(0) - full_step).abs().max() < 4 * 0.1 * measured[bn.BATCH_SIZES.index(B)] / math.sqrt(2000) + 1e-12
        spreads.append(cloud.std(0).norm().item())
    assert spreads[0] > 3 * spreads[1] and spreads[2] < 1e-12


def test_a_large_rate_with_small_batches_diverges_with_a_message():
    picture = bn.batch_noise_data(batch_size=1, lr=10 ** 0.5, epochs=3)
    assert picture.run.diverged_at is not None and "diverged at step" in picture.message
    assert all(math.isfinite(v) for point in picture.run.path for v in point)
    bn.draw_batch_noise(Figure().subplots(1, 3), picture)
    with pytest.raises(ValueError, match="batch_size"):
        bn.batch_noise_data(batch_size=3)


def test_batch_noise_explorer_redraws_for_each_control():
    explorer = bn.batch_noise_explorer()
    redraws = count_redraws(explorer)
    first_png = explorer.image.value
    explorer.controls["batch_size"].value = 4
    assert len(redraws) == 1 and explorer.image.value != first_png
    assert len(explorer.data.run.path) == 3 * 64 + 1 and len(explorer.data.cloud) == bn.N_CLOUD
    explorer.controls["epochs"].value = 1
    explorer.controls["lr"].value = 0.2
    assert len(redraws) == 3 and explorer.data.full_batch.epochs == [0.0, 1.0]


# ----------------------------------------------------------------------------- shared drawing
@pytest.mark.parametrize("make, moves", [
    (descent_explorer, [("lr", 0.3), ("surface", "rosenbrock"), ("surface", "quadratic"), ("lr", 0.05)]),
    (race.race_explorer, [("lr_sgd", 0.5), ("surface", "beale"), ("surface", "tilted valley"), ("lr_sgd", 0.03)]),
    (pen.penalty_explorer, [("strength", 0.002), ("strength", 1.0)]),
    (bn.batch_noise_explorer, [("batch_size", 1), ("lr", 3.0), ("lr", 0.1), ("batch_size", 16)]),
])
def test_a_reused_figure_leaves_nothing_of_earlier_pictures(make, moves):
    """The explorers redraw into the same figure; after a round trip the PNG is byte for byte a fresh one."""
    explorer = make()
    for control, value in moves:
        explorer.controls[control].value = value
    assert explorer.image.value == make().image.value


def test_plain_log_locator():
    assert PlainLogLocator().tick_values(0.13, 2.0) == pytest.approx([0.2, 0.5, 1.0, 2.0])
    assert PlainLogLocator().tick_values(1e-12, 10.0) == pytest.approx([1e-12, 1e-9, 1e-6, 1e-3, 1.0])
    narrow = PlainLogLocator().tick_values(0.62, 0.93)  # no 1-2-5 value inside: evenly spaced ticks
    assert len(narrow) >= 2 and all(0.62 <= t <= 0.93 for t in narrow)


def test_a_racer_out_of_the_race_has_its_settings_greyed_out():
    """No control without a visible effect: AdaGrad's sliders do nothing while AdaGrad is off."""
    explorer = race.race_explorer(racers=("SGD", "Adam"))
    controls = explorer.controls
    assert controls["lr_adagrad"].disabled and controls["momentum_mu"].disabled and controls["lr_momentum"].disabled
    assert not controls["lr_sgd"].disabled and not controls["adam_beta1"].disabled
    controls["on_adagrad"].value = True
    assert not controls["lr_adagrad"].disabled and "AdaGrad" in [lane.name for lane in explorer.data.lanes]
    controls["on_adam"].value = False
    assert controls["lr_adam"].disabled and controls["adam_beta1"].disabled
