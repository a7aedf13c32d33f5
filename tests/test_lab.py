"""The README's lab command: lessons copied to a workspace, served by JupyterLab, usable in a browser.

JupyterLab is started directly as ``jupyter-lab`` (so its process id is the server's) on loopback
with a token, and stopped by that id. The browser test drives Debian's chromium through Playwright
(never ``playwright install``) and keeps screenshots in test-artifacts/.
"""
from __future__ import annotations

import json
import shutil
import urllib.request

import pytest
from conftest import ARTIFACTS, open_notebook, run_cell_until
from harness import LESSONS, ROOT

from course_lib.pipeline.workspace import make_workspace


def test_workspace_copies_lessons_once_and_keeps_learner_work(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("")
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    assert sorted(p.name for p in make_workspace(tmp_path)) == LESSONS
    mine = tmp_path / "workspace" / LESSONS[0] / f"{LESSONS[0]}.ipynb"
    mine.write_text("my answers")
    assert make_workspace(tmp_path) == []
    assert mine.read_text() == "my answers"


@pytest.mark.slow
def test_lab_serves_every_lesson(lab):
    base, token = lab
    listing = json.load(urllib.request.urlopen(f"{base}/api/contents/?token={token}", timeout=10))
    assert sorted(item["name"] for item in listing["content"] if item["type"] == "directory") == LESSONS
    for lesson in LESSONS:
        model = json.load(urllib.request.urlopen(f"{base}/api/contents/{lesson}/{lesson}.ipynb?token={token}",
                                                 timeout=10))
        assert model["type"] == "notebook" and model["content"]["cells"]


@pytest.mark.browser
def test_a_lesson_opens_and_runs_in_the_browser(lab, browser_page):
    base, token = lab
    page = browser_page
    lesson = LESSONS[0]
    open_notebook(page, base, token, f"{lesson}/{lesson}.ipynb")
    output = run_cell_until(page, 0, "device:")  # the setup cell
    page.screenshot(path=str(ARTIFACTS / f"{lesson}-setup.png"))
    assert "device: cpu" in output or "device: cuda" in output
