"""Lesson 01's explorers, headless: the data they plot, and that moving a control changes it."""
import math

import matplotlib

matplotlib.use("Agg")  # no display needed: the explorers render to PNG bytes

import pytest  # noqa: E402
import torch  # noqa: E402

from course_lib.fundamentals.gradient_descent import LOSS_CURVES, descend_1d  # noqa: E402
from course_lib.widgets.hiker import draw_hiker, hiker_data, hiker_explorer  # noqa: E402
from course_lib.widgets.softmax_temperature import (  # noqa: E402
    parse_logits, temperature_data, temperature_explorer)


# ----------------------------------------------------------------------------- the hiker
def test_hiker_path_is_gradient_descent_on_the_curve():
    picture = hiker_data("bowl", lr=0.1, steps=10, start=2.0)
    assert not picture.diverged and picture.steps_taken == 10
    assert picture.path_x == pytest.approx([2.0 * 0.8 ** t for t in range(11)])
    assert picture.path_y == pytest.approx([x ** 2 for x in picture.path_x])
    low, high = picture.x_range
    assert picture.curve_x[0] == low and picture.curve_x[-1] == high
    assert picture.curve_y == pytest.approx([x ** 2 for x in picture.curve_x])
    assert "after 10 steps" in picture.message


@pytest.mark.parametrize("lr", [1.1, 1.5, 3.0])
def test_too_large_a_rate_diverges_with_a_message_and_a_drawable_path(lr):
    picture = hiker_data("bowl", lr=lr, steps=40)
    assert picture.diverged and "Diverged" in picture.message and "too large" in picture.message
    assert len(picture.path_x) >= 2                      # the start and the step that left the picture
    assert all(math.isfinite(v) for v in picture.path_x + picture.path_y)
    low, high = picture.x_range
    assert all(low <= x <= high for x in picture.path_x[:-1])
    assert not low <= picture.path_x[-1] <= high


def test_a_huge_rate_on_every_curve_still_gives_a_picture():
    for curve in LOSS_CURVES:
        picture = hiker_data(curve, lr=10 ** 0.5, steps=100)
        assert picture.path_x and all(math.isfinite(v) for v in picture.path_y), curve
        figure = matplotlib.figure.Figure()
        draw_hiker(figure.add_subplot(), picture)           # drawing does not fail


def test_the_start_decides_the_valley():
    left = hiker_data("two valleys", lr=0.05, steps=200, start=-0.5)
    right = hiker_data("two valleys", lr=0.05, steps=200, start=0.5)
    assert left.path_x[-1] < -1 < 1 < right.path_x[-1]
    path = descend_1d(LOSS_CURVES["two valleys"][0], -0.5, 0.05, 200)
    assert left.path_x == pytest.approx(path.xs)


def test_unknown_curve_is_rejected():
    with pytest.raises(ValueError, match="curve"):
        hiker_data("cliff")


def test_hiker_explorer_redraws_when_a_slider_moves():
    explorer = hiker_explorer()
    assert set(explorer.controls) == {"curve", "lr", "steps", "start"}
    first_data, first_png = explorer.data, explorer.image.value
    assert first_png[:8] == b"\x89PNG\r\n\x1a\n" and not first_data.diverged

    explorer.controls["lr"].value = 1.2
    assert explorer.data is not first_data and explorer.data.diverged
    assert explorer.data.path_x != first_data.path_x
    assert explorer.image.value != first_png
    title = explorer.figure.axes[0].get_title()
    assert "Diverged" in title

    explorer.controls["steps"].value = 3
    assert explorer.data.steps_taken <= 3

    explorer.controls["curve"].value = "two valleys"
    low, high = LOSS_CURVES["two valleys"][1]
    assert (explorer.controls["start"].min, explorer.controls["start"].max) == (low, high)
    assert explorer.data.x_range == (low, high)


# ----------------------------------------------------------------------------- softmax temperature
def test_temperature_data_is_softmax_of_scaled_logits():
    for T in (0.1, 0.5, 1.0, 3.0):
        picture = temperature_data("2, 1, 0.1, -1", T)
        expected = torch.softmax(torch.tensor([2.0, 1.0, 0.1, -1.0], dtype=torch.float64) / T, -1)
        assert picture.probs == pytest.approx(expected.tolist())
        assert picture.reference == pytest.approx(torch.softmax(expected.new_tensor([2, 1, 0.1, -1]), -1).tolist())
        assert picture.entropy == pytest.approx(-(expected * expected.log()).sum().item())
        assert picture.labels == ["2", "1", "0.1", "-1"]


def test_low_temperature_picks_the_max_and_high_temperature_flattens():
    cold = temperature_data([3.0, 1.0, 2.0], 0.05)
    hot = temperature_data([3.0, 1.0, 2.0], 1000.0)
    assert cold.probs[0] > 0.999
    assert hot.probs == pytest.approx([1 / 3] * 3, abs=1e-3)
    assert cold.entropy < temperature_data([3.0, 1.0, 2.0], 1.0).entropy < hot.entropy <= math.log(3) + 1e-12
    huge = temperature_data([1000.0, -1000.0], 0.05)           # stable softmax: no nan
    assert huge.probs == pytest.approx([1.0, 0.0])


def test_unreadable_scores_give_a_message_not_an_exception():
    for text in ("a, b", "", "1, nan", ", ,"):
        picture = temperature_data(text, 1.0)
        assert picture.probs == [] and picture.message
    assert parse_logits("1 2,3") == [1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match="could not read"):
        parse_logits("1, two")
    with pytest.raises(ValueError, match="temperature"):
        temperature_data("1, 2", 0.0)


def test_temperature_explorer_redraws_when_the_slider_or_text_changes():
    explorer = temperature_explorer()
    first_data, first_png = explorer.data, explorer.image.value
    explorer.controls["temperature"].value = 0.2
    assert explorer.data.probs != first_data.probs and explorer.data.probs[0] > first_data.probs[0]
    assert explorer.image.value != first_png
    bars = [patch.get_height() for patch in explorer.figure.axes[0].patches[:4]]
    assert bars == pytest.approx(explorer.data.probs)

    explorer.controls["logits"].value = "0, 0, 5"
    assert explorer.data.labels == ["0", "0", "5"] and explorer.data.probs[2] > 0.99
    explorer.controls["logits"].value = "oops"
    assert explorer.data.probs == [] and "could not read" in explorer.data.message


def test_the_legend_names_each_bar_set_once():
    explorer = temperature_explorer(temperature=1.0)  # at T = 1 the outline would repeat the bars
    assert [t.get_text() for t in explorer.figure.axes[0].get_legend().get_texts()] == ["T = 1"]
    explorer.controls["temperature"].value = 0.5
    assert [t.get_text() for t in explorer.figure.axes[0].get_legend().get_texts()] == [
        "T = 0.5", "T = 1 (for comparison)"]


@pytest.mark.parametrize("make, moves", [
    (hiker_explorer, [("lr", 0.9), ("curve", "two valleys"), ("curve", "bowl"), ("lr", 0.1)]),
    (temperature_explorer, [("temperature", 0.2), ("logits", "oops"), ("logits", "2, 1, 0.1, -1"),
                            ("temperature", 1.0)]),
])
def test_a_reused_figure_leaves_nothing_of_earlier_pictures(make, moves):
    """Each redraw reuses one figure (fast); after a round trip the PNG is byte for byte a fresh one."""
    explorer = make()
    for control, value in moves:
        explorer.controls[control].value = value
    assert explorer.image.value == make().image.value
