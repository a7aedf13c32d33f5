"""Lesson 07's four explorers in real JupyterLab: each renders, and moving one of its sliders redraws it.

Uses the shared ``lab`` fixture (tests/conftest.py): JupyterLab serving a copy of notebooks/, driven by
Debian's chromium through Playwright. The student release cannot be run with "Run All Cells": the
first unanswered exercise raises NotImplementedError and JupyterLab stops there. So the test runs
what the explorers need, as a learner who skips ahead would: the setup cell, the imports cell, and
the four cells that display the explorers. For each explorer it moves a slider with the keyboard
(focus the handle, press the arrow keys), waits for the picture to be replaced, and checks that the
new picture differs from the old one, pixel for pixel. Screenshots go to test-artifacts/.
The headless tests of the same explorers are in test_widgets_optimization.py.
"""
from __future__ import annotations

import pytest
from conftest import ARTIFACTS, open_notebook, run_cell_until

LESSON = "07_optimization"

# (name for the screenshots, text that identifies the cell, which slider (in page order), key, presses)
EXPLORERS = [
    ("gradient-descent", "display(descent_explorer())", 0, "ArrowRight", 12),     # learning rate 0.05 -> about 0.2
    ("batch-noise", "display(bn.batch_noise_explorer())", 0, "ArrowRight", 2),    # batch size 16 -> 64
    ("optimizer-race", "display(race_explorer())", 1, "ArrowRight", 10),          # SGD's learning rate, x 3
    ("l1-vs-l2", "display(penalty_explorer())", 0, "ArrowLeft", 10),              # lambda 1 -> about 0.3
]


def code_cell(page, text: str):
    """The code cell whose source contains ``text``."""
    cell = page.locator(".jp-Notebook .jp-CodeCell").filter(
        has=page.locator(".jp-InputArea-editor", has_text=text))
    assert cell.count() == 1, f"expected one cell of {LESSON} containing {text!r}, found {cell.count()}"
    return cell


def run_and_wait(page, cell, timeout_ms: int = 180_000) -> None:
    """Run ``cell`` in place (Ctrl+Enter) and wait until its prompt shows an execution number."""
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Control+Enter")
    page.wait_for_function("el => /\\[\\d+\\]/.test(el.innerText)", arg=cell.locator(".jp-InputPrompt").element_handle(),
                           timeout=timeout_ms)
    errors = cell.locator("[data-mime-type='application/vnd.jupyter.error']")
    assert errors.count() == 0, errors.first.inner_text()


@pytest.mark.slow
@pytest.mark.browser
def test_every_lesson_07_explorer_renders_and_redraws_when_a_slider_moves(lab, browser_page):
    base, token = lab
    page = browser_page
    open_notebook(page, base, token, f"{LESSON}/{LESSON}.ipynb")
    run_cell_until(page, 0, "device:")                       # the setup cell
    run_and_wait(page, code_cell(page, "GRADING = course_lib.is_grading()"))   # the imports cell

    for name, text, slider_index, key, presses in EXPLORERS:
        cell = code_cell(page, text)
        run_and_wait(page, cell)
        image = cell.locator(".widget-image").first
        image.scroll_into_view_if_needed()
        page.wait_for_function("img => img.naturalWidth > 300", arg=image.element_handle(), timeout=60_000)
        before_src, before_pixels = image.get_attribute("src"), image.screenshot()
        page.screenshot(path=str(ARTIFACTS / f"{LESSON}-{name}-before.png"))

        readout = cell.locator(".widget-slider .widget-readout").nth(slider_index)
        text_before = readout.inner_text().strip()
        cell.locator(".widget-slider .noUi-handle").nth(slider_index).click()
        for _ in range(presses):
            page.keyboard.press(key)
        page.wait_for_function("([el, old]) => el.innerText.trim() !== old",
                               arg=[readout.element_handle(), text_before], timeout=30_000)
        moved_up = float(readout.inner_text()) > float(text_before)
        assert moved_up == (key == "ArrowRight"), (name, text_before, readout.inner_text())
        # The picture is replaced once per key press; wait for the kernel to draw the last one.
        page.wait_for_function("([img, old]) => img.getAttribute('src') !== old && img.naturalWidth > 300",
                               arg=[image.element_handle(), before_src], timeout=60_000)
        page.wait_for_function(
            "() => [...document.querySelectorAll('.jp-Notebook-ExecutionIndicator, .jp-StatusBar-Widget')]"
            ".some(e => /Idle/i.test(e.innerText) || e.getAttribute('data-status') === 'idle')",
            timeout=60_000)
        page.wait_for_timeout(500)  # the last PNG reaches the page after the kernel goes idle
        after_pixels = image.screenshot()
        page.screenshot(path=str(ARTIFACTS / f"{LESSON}-{name}-after.png"))
        assert after_pixels != before_pixels, f"{name}: the picture did not change after moving the slider"
