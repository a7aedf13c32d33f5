"""Emergence from the shipped scaling sweep: a smooth per-token metric, a sharp exact match p^L."""
from __future__ import annotations

import math

import numpy as np
import pytest

from course_lib.evaluation.emergence import emergence_curves, exact_match_from_per_token
from course_lib.scaling import load_sweep


def test_exact_match_is_the_per_token_probability_to_the_length():
    assert exact_match_from_per_token(0.8, 20) == pytest.approx(0.8**20)
    np.testing.assert_allclose(exact_match_from_per_token([0.5, 0.9], 3), [0.125, 0.729])
    with pytest.raises(ValueError, match=r"p: expected probabilities in \[0, 1\]"):
        exact_match_from_per_token([0.5, 1.2], 3)
    with pytest.raises(ValueError, match="length: expected an int >= 1"):
        exact_match_from_per_token(0.5, 0)


def test_curves_of_the_shipped_sweep():
    rows = load_sweep()["rows"]
    curves = emergence_curves(answer_lengths=(1, 10))
    assert len(curves.compute) == len(rows) and np.all(np.diff(curves.compute) >= 0)   # sorted by compute
    run = max(rows, key=lambda row: row["n_params"] * row["n_tokens"])                 # the largest run comes last
    assert curves.compute[-1] == 6 * run["n_params"] * run["n_tokens"] and curves.loss[-1] == run["loss"]
    np.testing.assert_allclose(curves.per_token, np.exp(-curves.loss))
    np.testing.assert_allclose(curves.exact_match[1], curves.per_token)
    np.testing.assert_allclose(curves.exact_match[10], curves.per_token**10)
    # the artefact: from the smallest to the largest compute the per-character probability grows a few
    # times, the 10-character exact match by many orders of magnitude
    smooth = curves.per_token[-1] / curves.per_token[0]
    sharp = curves.exact_match[10][-1] / curves.exact_match[10][0]
    assert 2 < smooth < 20 and sharp > 1e6 and math.log(sharp) == pytest.approx(10 * math.log(smooth))


def test_rows_are_checked():
    with pytest.raises(ValueError, match="at least one run"):
        emergence_curves([])
    with pytest.raises(ValueError, match="every row needs a number for 'loss'"):
        emergence_curves([{"n_params": 10, "n_tokens": 100}])
    with pytest.raises(ValueError, match="'loss' must be finite and > 0"):
        emergence_curves([{"n_params": 10, "n_tokens": 100, "loss": -1.0}])


def test_the_package_imports_without_a_cycle_or_plotting_libraries():
    # emergence reads the sweep through course_lib.scaling, which itself imports this package
    import subprocess
    import sys
    code = ("import sys, course_lib.scaling, course_lib.evaluation as e\n"
            "assert all(hasattr(e, name) for name in e.__all__)\n"
            "assert 'matplotlib' not in sys.modules and 'ipywidgets' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True)
