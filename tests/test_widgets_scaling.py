"""Lesson 04's scaling explorer, headless: what it plots is the law along the iso-FLOP curve,
the marked optimum is the curve's lowest point, the readout says the law's numbers, and
moving a slider redraws the picture (exactly once)."""
import matplotlib

matplotlib.use("Agg")  # no display needed: the explorer renders to PNG bytes

import numpy as np
import pytest

from course_lib.scaling import A100_BF16_PEAK, CHINCHILLA, ScalingLaw, gpu_hours
from course_lib.widgets.scaling_explorer import scaling_data, scaling_explorer

PNG = b"\x89PNG\r\n\x1a\n"
FITTED = ScalingLaw(E=0.3, A=50.0, B=400.0, alpha=0.5, beta=0.4)


def count_redraws(explorer):
    seen = []
    explorer.image.observe(lambda change: seen.append(1), names="value")
    return seen


@pytest.mark.parametrize("compute", [1e16, 5.76e23, 1e27])
def test_the_curve_is_the_law_along_the_iso_flop_curve_and_the_optimum_its_lowest_point(compute):
    picture = scaling_data(compute, fitted=FITTED)
    assert [curve.name for curve in picture.curves] == ["Chinchilla", "fitted"]
    for curve, law in zip(picture.curves, (CHINCHILLA, FITTED)):
        # every point of the curve spends exactly C: D = C / 6N tokens, and the law's loss there
        assert np.allclose(curve.loss, [law.loss(N, compute / (6 * N)) for N in curve.N], rtol=1e-12)
        lowest = int(np.argmin(curve.loss))
        assert lowest == len(curve.N) // 2            # the middle of the curve: N_opt itself
        assert curve.N[lowest] == pytest.approx(curve.N_opt, rel=1e-12)
        assert curve.loss_opt <= curve.loss.min() + 1e-12
        assert (curve.N_opt, curve.D_opt) == pytest.approx(law.compute_optimal(compute), rel=1e-12)
        assert curve.tokens_per_param == pytest.approx(law.tokens_per_param(compute), rel=1e-12)
        # the right panel: the optimum at every budget of the frontier
        assert np.allclose(curve.frontier_N, [law.compute_optimal(C)[0] for C in picture.frontier_C], rtol=1e-12)
    assert picture.gpu_hours == pytest.approx(gpu_hours(compute, A100_BF16_PEAK, 0.4), rel=1e-12)


def test_explorer_redraws_and_the_readout_follows_the_compute_slider():
    explorer = scaling_explorer()
    assert set(explorer.controls) == {"compute", "utilisation"}
    assert explorer.image.value[:8] == PNG
    redraws = count_redraws(explorer)
    first_png, first_readout = explorer.image.value, explorer.readout.value
    N_opt, D_opt = CHINCHILLA.compute_optimal(5.76e23)
    assert f"N_opt = {N_opt:.3g}" in first_readout and f"D_opt = {D_opt:.3g}" in first_readout
    assert "92.6 tokens per parameter" in first_readout and "1.28e+06 A100 GPU-hours at 40%" in first_readout

    explorer.controls["compute"].value = 1e20
    C = explorer.controls["compute"].value  # the log slider's own rounding of 1e20
    assert C == pytest.approx(1e20, rel=1e-6)
    assert len(redraws) == 1 and explorer.image.value != first_png and explorer.readout.value != first_readout
    N_opt, D_opt = CHINCHILLA.compute_optimal(C)
    assert explorer.data.curves[0].N_opt == pytest.approx(N_opt, rel=1e-12)
    assert f"N_opt = {N_opt:.3g}" in explorer.readout.value
    assert f"{CHINCHILLA.tokens_per_param(C):.3g} tokens per parameter" in explorer.readout.value
    # the figure shows it: the marked optimum sits at N_opt, the frontier's marker at C
    ax_curve, ax_frontier = explorer.figure.axes
    marker = ax_curve.lines[1]
    assert marker.get_xdata()[0] == pytest.approx(N_opt) and marker.get_ydata()[0] == 0.0
    curve_line = ax_curve.lines[0]  # the loss above the lowest, scaled so that the curve's most is 1
    excess = explorer.data.curves[0].loss - explorer.data.curves[0].loss_opt
    assert np.allclose(curve_line.get_ydata(), excess / excess.max())
    assert f"C = {C:.3g} FLOPs" in ax_curve.get_title()
    assert any(list(line.get_xdata()) == [C, C] for line in ax_frontier.lines)


def test_the_utilisation_slider_scales_the_gpu_hours():
    explorer = scaling_explorer(compute=1e22)
    hours = explorer.data.gpu_hours
    redraws = count_redraws(explorer)
    explorer.controls["utilisation"].value = 0.8
    assert len(redraws) == 1
    assert explorer.data.gpu_hours == pytest.approx(hours / 2, rel=1e-12)   # twice the rate, half the hours
    assert f"{hours / 2:.3g} A100 GPU-hours at 80%" in explorer.readout.value


def test_a_fitted_law_gets_its_own_curve_and_readout():
    explorer = scaling_explorer(fitted=FITTED, compute=1e12, compute_range=(1e9, 1e15), fitted_name="stories sweep")
    assert [curve.name for curve in explorer.data.curves] == ["Chinchilla", "stories sweep"]
    N_opt, _ = FITTED.compute_optimal(1e12)
    assert f"stories sweep: N_opt = {N_opt:.3g}" in explorer.readout.value
    assert len(explorer.figure.axes[0].lines) == 6      # per law: curve, optimum, dotted line at N_opt
    slider = explorer.controls["compute"]
    assert (10 ** slider.min, 10 ** slider.max) == pytest.approx((1e9, 1e15))


def test_a_reused_figure_leaves_nothing_of_earlier_pictures():
    explorer = scaling_explorer(fitted=FITTED)
    for value in (1e16, 1e26, 5.76e23):
        explorer.controls["compute"].value = value
    explorer.controls["utilisation"].value = 0.6
    explorer.controls["utilisation"].value = 0.4
    assert explorer.image.value == scaling_explorer(fitted=FITTED).image.value


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="compute_range"):
        scaling_explorer(compute=1e30)
    with pytest.raises(ValueError, match="utilisation"):
        scaling_data(1e20, utilisation=0.0)


def test_the_law_fitted_to_the_shipped_sweep_can_be_explored():
    """What lesson 04 does: fit the shipped sweep and compare its optimum with Chinchilla's."""
    from course_lib.scaling import fit_sweep, load_sweep
    fitted = fit_sweep(load_sweep()["rows"])
    explorer = scaling_explorer(fitted=fitted, compute=1e12, compute_range=(1e9, 1e15), fitted_name="stories")
    stories = explorer.data.curves[1]
    assert stories.N_opt == pytest.approx(fitted.compute_optimal(1e12)[0], rel=1e-12)
    assert np.all(np.isfinite(stories.loss)) and "stories: N_opt" in explorer.readout.value
    # Far past the budgets it was fitted on, its curve is nearly flat (a loss excess of about 1e-5):
    # drawn on its own scale it still rises to 1 at an edge of the panel, so its shape can be seen.
    explorer = scaling_explorer(fitted=fitted, fitted_name="stories")  # at Chinchilla's budget, 5.76e23 FLOPs
    heights = np.asarray(explorer.figure.axes[0].lines[3].get_ydata())  # the stories law's curve
    assert explorer.data.curves[1].loss.max() - explorer.data.curves[1].loss_opt < 1e-3
    assert heights.min() == pytest.approx(0.0, abs=1e-3) and heights.max() == pytest.approx(1.0)
