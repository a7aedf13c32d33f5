"""A learner's Run All in real JupyterLab, for every lesson: the whole lesson runs, failures show in
place, every widget appears; and each explorer of lesson 07 redraws after one slider notch (timed,
from the key press to the new picture).

Uses the shared ``lab`` fixture (tests/conftest.py): JupyterLab serving a copy of notebooks/ (the
student release, every exercise unanswered), driven by Debian's chromium through Playwright.
In each lesson one Run All (Run > Run All Cells) must reach the last cell: the release tags every
test cell ``raises-exception``, so an unanswered exercise's failure shows in its cell (message
first, a few lines) and the run goes on. Then every widget the lesson shows (each cell that calls an
``..._explorer(`` or ``..._viewer(``) must be drawn on the page. Each lesson is its own test, so
the two workers of `make test` share them (each worker has its own JupyterLab, and each test shuts
down the kernel it started). Lesson 07, the one with the most explorers, goes on:
for each explorer, one slider moves notch by notch (focus the handle, press an arrow key); each
redraw is timed in the page and the new picture must differ from the old one, pixel for pixel. The redraw times go to
test-artifacts/widget-redraw-browser.json (``bench/bench_widgets.py`` prints them beside its own);
they are reported, not asserted: a wall-clock limit would fail on a busy machine. Screenshots go to
test-artifacts/. The headless tests of the same explorers are in test_widgets_optimization.py.
"""
from __future__ import annotations

import json
import re
import statistics
import time

import pytest
from conftest import ARTIFACTS, accept_dialogs, open_notebook
from harness import LESSONS, ROOT

from course_lib.pipeline.notebooks import is_test_cell, read_notebook

LESSON = "07_optimization"
WIDGET_CALL = re.compile(r"\b\w+_(?:explorer|viewer)\(")  # a cell that shows one of the course's widgets
NOTCHES = 6  # slider moves per explorer, timed one by one

# (name for the screenshots, text that identifies the cell, which slider (in page order), the keys to
# press, one notch each: every one moves the slider to a value it has not had, but the batch size,
# which has only nine values, goes back and forth)
EXPLORERS = [
    ("gradient-descent", "display(descent_explorer(", 0, ["ArrowRight"] * NOTCHES),    # the learning rate
    ("batch-noise", "display(bn.batch_noise_explorer(", 0,
     ["ArrowRight", "ArrowLeft"] * (NOTCHES // 2) + ["ArrowRight"]),                     # the batch size
    ("optimizer-race", "display(race_explorer(", 1, ["ArrowRight"] * NOTCHES),          # SGD's learning rate
    ("l1-vs-l2", "display(penalty_explorer(", 0, ["ArrowLeft"] * NOTCHES),              # lambda
]

# In the page: a promise of the milliseconds from the next key press to a new picture in ``img``.
TIME_NEXT_REDRAW = """img => {
    window.__redraw = new Promise(resolve => {
        const old = img.getAttribute('src');
        let pressed = null;
        document.addEventListener('keydown', () => { pressed = performance.now(); }, {capture: true, once: true});
        const observer = new MutationObserver(() => {
            if (pressed !== null && img.getAttribute('src') !== old) {
                observer.disconnect();
                img.decode().catch(() => null).then(() => resolve(performance.now() - pressed));
            }
        });
        observer.observe(img, {attributes: true, attributeFilter: ['src']});
        setTimeout(() => { observer.disconnect(); resolve(null); }, 60000);  // no new picture within a minute
    });
}"""


# Every code cell as [its source, [the text of each stderr output]]: JupyterLab shows an error as stderr.
CODE_CELLS = """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')].map(cell => [
    cell.querySelector('.jp-InputArea-editor').textContent,
    [...cell.querySelectorAll(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")]
        .map(output => output.textContent.trim())])"""
FAILURE = re.compile(r"^\w*(Error|Exception|Failure|Interrupt)\b|Traceback", re.M)


def code_cell(page, text: str, lesson: str = LESSON):
    """The code cell whose source contains ``text``."""
    cell = page.locator(".jp-Notebook .jp-CodeCell").filter(
        has=page.locator(".jp-InputArea-editor", has_text=text))
    assert cell.count() == 1, f"expected one cell of {lesson} containing {text!r}, found {cell.count()}"
    return cell


def widget_calls(lesson: str) -> list[str]:
    """The call (``descent_explorer(``) in each of the release's cells that shows a widget."""
    release = read_notebook(ROOT / "notebooks" / lesson / f"{lesson}.ipynb")
    return [match.group(0) for cell in release.cells if cell.cell_type == "code" and not is_test_cell(cell)
            for match in [WIDGET_CALL.search(cell.source)] if match]


def run_all(page, lesson: str = LESSON, attempts: int = 4) -> None:
    """Run > Run All Cells, as a learner does it, until the first cell runs.

    It tries again because JupyterLab ignores Run All while the kernel is still starting (it only
    shows a notification then), and a dialog it opens meanwhile takes the clicks.
    """
    first_prompt = page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt").first
    started = "el => /\\[(\\d+|\\*)\\]/.test(el.textContent)"
    for attempt in range(attempts):
        if attempt and first_prompt.evaluate(started):
            return  # the last Run All started late: a second one would run the lesson twice
        try:  # a dialog (the kernel picker) can open at any moment of this: the next attempt accepts it
            accept_dialogs(page)
            page.keyboard.press("Escape")  # close any menu left open
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click(timeout=15_000)
            page.locator(".lm-Menu-item:not(.lm-mod-hidden) .lm-Menu-itemLabel").get_by_text(
                "Run All Cells", exact=True).click(timeout=15_000)
            page.wait_for_function(started, arg=first_prompt.element_handle(), timeout=60_000)
            return
        except Exception:
            if attempt == attempts - 1:
                page.screenshot(path=str(ARTIFACTS / f"{lesson}-run-all-did-not-start.png"))
                raise


EVERY_CELL_RAN = """() => {
    const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')];
    const idle = [...document.querySelectorAll('.jp-Notebook-ExecutionIndicator, .jp-StatusBar-Widget')]
        .some(e => /Idle/i.test(e.innerText) || e.getAttribute('data-status') === 'idle');
    return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent)) && idle;
}"""


KERNEL_IDLE = """() => [...document.querySelectorAll('.jp-Notebook-ExecutionIndicator, .jp-StatusBar-Widget')]
    .some(e => /Idle/i.test(e.innerText) || e.getAttribute('data-status') === 'idle')"""


def wait_until_every_cell_ran(page, timeout_ms: int, lesson: str = LESSON, stalled_s: float = 90) -> None:
    """Until every code cell shows an execution number ([12]:) and the kernel is idle.

    Meanwhile it accepts any dialog JupyterLab opens (the kernel picker, on a busy machine), which
    would otherwise hold the run until the time limit. Accepting the kernel picker can start a new
    kernel and drop the cells still queued: when the kernel has stayed idle for ``stalled_s`` with
    cells not run, Run All is given again.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    idle_since = None
    while not page.evaluate(EVERY_CELL_RAN):
        if time.monotonic() > deadline:
            raise TimeoutError(f"not every cell ran within {timeout_ms / 1000:g} s")
        accept_dialogs(page)
        idle_since = (idle_since or time.monotonic()) if page.evaluate(KERNEL_IDLE) else None
        if idle_since is not None and time.monotonic() - idle_since > stalled_s:
            print(f"the kernel stayed idle {stalled_s:g} s with cells not run: Run All again")
            run_all(page, lesson)
            idle_since = None
        page.wait_for_timeout(2000)


def run_all_to_the_end(page, base: str, token: str, lesson: str) -> None:
    """One Run All of the learner's copy of ``lesson``: it reaches the last cell, only the unanswered
    exercises' test cells fail (each in a few lines, message first), and every widget is drawn."""
    open_notebook(page, base, token, f"{lesson}/{lesson}.ipynb")
    run_all(page, lesson)
    try:
        wait_until_every_cell_ran(page, timeout_ms=1_800_000, lesson=lesson)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / f"{lesson}-run-all-stopped.png"), full_page=True)
        raise

    # The unanswered exercises failed in place, in a few lines that start with the message, and no
    # other cell failed: the lesson after each exercise runs on the library's version.
    cells = page.evaluate(CODE_CELLS)
    tests = [stderr for source, stderr in cells if "fresh_grader()" in source]
    assert len(tests) >= 5 and len(cells) > 2 * len(tests), (lesson, len(tests), len(cells))
    for i, stderr in enumerate(tests):
        assert len(stderr) == 1 and stderr[0].startswith("ExerciseFailure:"), (lesson, i, stderr)
        assert len(stderr[0].splitlines()) <= 6 and "grading.py" not in stderr[0] and "Traceback" not in stderr[0]
    failed = [(source[:60], stderr) for source, stderr in cells if "fresh_grader()" not in source
              and any(FAILURE.search(text) for text in stderr)]
    assert not failed, (lesson, failed)

    # Every widget of the lesson is on the page, drawn (not "Loading widget...", not an error).
    calls = widget_calls(lesson)
    assert calls, f"{lesson}: no cell shows a widget (none calls ..._explorer( or ..._viewer()"
    for call in calls:
        cell = code_cell(page, call, lesson)
        cell.scroll_into_view_if_needed()
        try:  # a drawn widget, not only a progress bar of the same cell
            page.wait_for_function("cell => [...cell.querySelectorAll('.jp-OutputArea-output .jupyter-widgets')]"
                                   ".some(widget => widget.getBoundingClientRect().height > 50)",
                                   arg=cell.element_handle(), timeout=60_000)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / f"{lesson}-widget-missing.png"))
            raise AssertionError(f"{lesson}: the widget of the cell with {call!r} is not on the page after Run All")
        shown = cell.locator(".jp-OutputArea").inner_text()
        assert "Error displaying widget" not in shown and "Loading widget" not in shown, (lesson, call, shown[:300])
    page.screenshot(path=str(ARTIFACTS / f"{lesson}-run-all-end.png"))


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.timeout(2400)
@pytest.mark.parametrize("lesson", [lesson for lesson in LESSONS if lesson != LESSON])  # 07: the test below
def test_run_all_reaches_the_end_with_every_widget_on_the_page(lab, browser_page, lesson):
    base, token = lab
    run_all_to_the_end(browser_page, base, token, lesson)


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.timeout(2400)
def test_run_all_reaches_the_end_of_lesson_07_and_every_explorer_redraws(lab, browser_page):
    base, token = lab
    page = browser_page
    run_all_to_the_end(page, base, token, LESSON)

    redraws = {}
    for name, text, slider_index, keys in EXPLORERS:
        cell = code_cell(page, text)
        cell.scroll_into_view_if_needed()
        image = cell.locator(".widget-image").first
        image.wait_for(timeout=60_000)  # on the page after Run All, with nothing run by hand
        image.scroll_into_view_if_needed()
        page.wait_for_function("img => img.naturalWidth > 300", arg=image.element_handle(), timeout=60_000)
        before_pixels = image.screenshot()
        page.screenshot(path=str(ARTIFACTS / f"{LESSON}-{name}-before.png"))

        readout = cell.locator(".widget-slider .widget-readout").nth(slider_index)
        text_before = readout.inner_text().strip()
        handle = cell.locator(".widget-slider .noUi-handle").nth(slider_index)
        handle.click()
        times = []
        for key in keys:
            page.evaluate(TIME_NEXT_REDRAW, image.element_handle())
            page.keyboard.press(key)
            times.append(page.evaluate("() => window.__redraw"))
            assert times[-1] is not None, f"{name}: no new picture a minute after pressing {key}"
        redraws[name] = times
        if len(set(keys)) == 1:
            moved_up = float(readout.inner_text()) > float(text_before)
            assert moved_up == (keys[0] == "ArrowRight"), (name, text_before, readout.inner_text())
        after_pixels = image.screenshot()
        page.screenshot(path=str(ARTIFACTS / f"{LESSON}-{name}-after.png"))
        assert after_pixels != before_pixels, f"{name}: the picture did not change after moving the slider"

    report = {name: {"median_ms": round(statistics.median(times)), "slowest_ms": round(max(times)),
                     "notches": [round(t) for t in times]} for name, times in redraws.items()}
    (ARTIFACTS / "widget-redraw-browser.json").write_text(json.dumps({LESSON: report}, indent=1))
    print(f"one slider notch, key press to new picture in JupyterLab ({LESSON}):")
    for name, row in report.items():
        print(f"  {name:<18} median {row['median_ms']:>5} ms, slowest {row['slowest_ms']:>5} ms")
