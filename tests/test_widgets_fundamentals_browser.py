"""Lesson 01's hiker explorer in real JupyterLab: it renders, and moving a slider redraws it.

Uses the shared ``lab`` fixture (tests/conftest.py): JupyterLab serving notebooks/, driven
by Debian's chromium through Playwright. The headless tests of the same widget live in
test_widgets_fundamentals.py.
"""
from __future__ import annotations

import pytest
from conftest import ARTIFACTS, open_notebook, run_cell_until

LESSON = "01_fundamentals"


@pytest.mark.browser
def test_hiker_explorer_renders_and_responds_in_jupyterlab(lab, browser_page):
    base, token = lab
    page = browser_page
    playwright = pytest.importorskip("playwright.sync_api")  # for its TimeoutError
    open_notebook(page, base, token, f"{LESSON}/{LESSON}.ipynb")
    run_cell_until(page, 0, "device:")  # the setup cell
    # Then the cells below it, down to (and including) the one that shows the hiker.
    active = page.locator(".jp-Notebook .jp-Cell.jp-mod-active")
    for _ in range(30):
        is_hiker_cell = "hiker_explorer()" in active.inner_text()
        page.keyboard.press("Shift+Enter")
        if is_hiker_cell:
            break
    else:
        pytest.fail("no cell of the lesson shows hiker_explorer()")
    image = page.locator(".jp-Notebook .widget-image").first
    try:
        image.wait_for(timeout=120_000)
    except playwright.TimeoutError:
        page.screenshot(path=str(ARTIFACTS / f"{LESSON}-hiker-missing.png"))
        raise
    image.scroll_into_view_if_needed()
    page.wait_for_function("img => img.naturalWidth > 100", arg=image.element_handle(), timeout=60_000)
    before = image.get_attribute("src")
    page.screenshot(path=str(ARTIFACTS / f"{LESSON}-hiker-before.png"))

    # The first slider is the learning rate: ten notches to the right multiply it by 10 ** 0.5.
    page.locator(".jp-Notebook .widget-slider .noUi-handle").first.click()
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("([img, old]) => img.getAttribute('src') !== old",
                           arg=[image.element_handle(), before], timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / f"{LESSON}-hiker-after.png"))
    readout = page.locator(".jp-Notebook .widget-readout").first.inner_text()
    assert float(readout) == pytest.approx(0.1 * 10 ** 0.5, rel=0.05)
