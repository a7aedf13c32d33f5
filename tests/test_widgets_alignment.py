"""Lesson 06's clip explorer, headless: the curves are the library's clipped objective, the flat
(zero-gradient) parts sit exactly where PPO's clip cuts the gradient for each sign of the advantage,
the readout says the objective and gradient at the chosen ratio, and a slider redraws once."""
import matplotlib

matplotlib.use("Agg")  # no display needed: the explorer renders to PNG bytes

import numpy as np
import pytest
import torch

from course_lib.alignment import ppo_clip_loss
from course_lib.widgets.clip_explorer import clip_data, clip_explorer

PNG = b"\x89PNG\r\n\x1a\n"


def count_redraws(explorer):
    seen = []
    explorer.image.observe(lambda change: seen.append(1), names="value")
    return seen


@pytest.mark.parametrize("eps, advantage", [(0.2, 1.0), (0.1, 0.25), (0.5, 2.0)])
def test_curves_are_the_clipped_objective_and_flat_exactly_past_the_clip(eps, advantage):
    picture = clip_data(eps, advantage)
    r = picture.ratio
    for sign, A in (("A > 0", advantage), ("A < 0", -advantage)):
        # each point is one token's objective: -ppo_clip_loss of that token alone
        one_by_one = [-ppo_clip_loss(torch.tensor([[np.log(x)]], dtype=torch.float64), torch.zeros(1, 1, dtype=torch.float64),
                                     torch.full((1, 1), A, dtype=torch.float64), torch.ones(1, 1, dtype=torch.bool),
                                     eps)[0].item() for x in r[::10]]
        assert np.allclose(picture.objective[sign][::10], one_by_one, atol=1e-12)
        assert np.allclose(picture.unclipped[sign], r * A)
        assert np.all(picture.objective[sign] <= picture.unclipped[sign] + 1e-12)   # a pessimistic bound
        # the hand rule: no gradient past 1 + eps for A > 0, below 1 - eps for A < 0; full gradient elsewhere
        strictly_past = r > 1 + eps + 1e-9 if A > 0 else r < 1 - eps - 1e-9
        inside = r < 1 + eps - 1e-9 if A > 0 else r > 1 - eps + 1e-9
        assert picture.flat[sign][strictly_past].all() and not picture.flat[sign][inside].any()


def test_readout_gives_objective_and_gradient_at_the_ratio():
    picture = clip_data(0.2, 1.5, marker=1.5)
    assert picture.at_marker["A > 0"] == pytest.approx((1.2 * 1.5, 0.0))     # clipped: flat
    assert picture.at_marker["A < 0"] == pytest.approx((-1.5 * 1.5, -1.5))   # a bad token made likelier: full pull
    low = clip_data(0.2, 1.0, marker=0.5)
    assert low.at_marker["A > 0"] == pytest.approx((0.5, 1.0))
    assert low.at_marker["A < 0"] == pytest.approx((-0.8, 0.0))
    assert "A > 0: objective +1.800, gradient +0.000" in picture.readout


def test_bad_arguments_are_explained():
    for kwargs, says in (({"eps": 0.0}, "eps"), ({"advantage": -1.0}, "advantage"), ({"marker": 3.0}, "marker")):
        with pytest.raises(ValueError, match=says):
            clip_data(**kwargs)


def test_explorer_redraws_once_per_notch_and_the_readout_follows():
    explorer = clip_explorer()
    assert set(explorer.controls) == {"eps", "advantage", "marker"}
    assert explorer.image.value[:8] == PNG
    redraws = count_redraws(explorer)
    first_png = explorer.image.value
    assert "gradient +0.000" in explorer.readout.value                        # r = 1.3 is past 1.2 for A > 0
    explorer.controls["eps"].value = 0.35
    assert len(redraws) == 1 and explorer.image.value != first_png
    assert explorer.data.eps == pytest.approx(0.35)
    assert "A > 0: objective +1.300, gradient +1.000" in explorer.readout.value   # now inside the clip range
    left, right = explorer.figure.axes
    assert "A > 0" in left.get_title() and "A < 0" in right.get_title()
    assert np.allclose(left.lines[1].get_ydata(), explorer.data.objective["A > 0"])
