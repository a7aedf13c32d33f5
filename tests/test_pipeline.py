"""The grading pipeline on a tiny lesson: release, class grading of bad submissions, export, self-grading.

Each property has a test that fails when the property breaks. The class is graded once (module
fixture) and the tests read the results, to keep the suite fast.
"""
from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys

import nbformat
import pytest

from course_lib.pipeline.class_grade import export_grades, grade_class
from course_lib.pipeline.notebooks import read_notebook
from course_lib.pipeline.release import generate_release
from course_lib.pipeline.self_grade import self_grade
from harness import ROOT, toy_lesson, with_answers

pytestmark = pytest.mark.slow
GOOD = {"double": "def double(x):\n    return x + x", "square": "def square(x):\n    return x ** 2"}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    config = (ROOT / "nbgrader_config.py").read_text() + "\nc.Execute.timeout = 10\n"
    (root / "nbgrader_config.py").write_text(config)
    nbformat.write(toy_lesson(), (root / "solutions" / "00_toy").mkdir(parents=True) or
                   root / "solutions" / "00_toy" / "00_toy.ipynb")
    generate_release(root)
    return root


@pytest.fixture(scope="module")
def release(course):
    return read_notebook(course / "notebooks" / "00_toy" / "00_toy.ipynb")


@pytest.fixture(scope="module")
def graded(course, release):
    """Submit one notebook per kind of trouble, grade the class once, export."""
    def submit(student, nb=None, raw=None):
        folder = course / "submitted" / student / "00_toy"
        folder.mkdir(parents=True)
        path = folder / "00_toy.ipynb"
        path.write_text(raw) if raw is not None else nbformat.write(nb, path)

    submit("good", with_answers(release, GOOD))
    submit("untouched", release)
    submit("badjson", raw='{"cells": [ not json')
    submit("crash", with_answers(release, {**GOOD, "double": GOOD["double"] + "\nimport os\nos._exit(1)"}))
    submit("loop", with_answers(release, {**GOOD, "square": "while True:\n    pass"}))
    submit("huge", with_answers(release, {**GOOD, "double": GOOD["double"] + "\nfor i in range(100000):\n"
                                                              "    print('spam ' * 20)"}))
    submit("hog", with_answers(release, {**GOOD, "double": "import torch\nkeep = [torch.ones(10**8) for _ in "
                                                           "range(60)]\n" + GOOD["double"]}))
    deleted = with_answers(release, GOOD)
    deleted.cells = [c for c in deleted.cells if c.get("id") != "double_tests"]
    submit("deleted", deleted)
    edited = with_answers(release, {**GOOD, "double": "def double(x):\n    return 3 * x"})
    for cell in edited.cells:
        if cell.get("id") == "double_tests":
            cell.source = "pass  # tests? what tests"
    submit("edited", edited)
    submit("monkey", with_answers(release, {
        "double": "import torch, course_lib.grading as g\ntorch.allclose = lambda *a, **k: True\n"
                  "g.Grader.close = lambda *a, **k: None\ndef double(x):\n    return 3 * x",
        "square": GOOD["square"]}))
    statuses = {s.student: s for s in grade_class(course, "00_toy", memory_gb=3.0, timeout_s=300, verbose=False)}
    rows = {r["student_id"]: r for r in csv.DictReader(export_grades(course, "00_toy", course / "g.csv").open())}
    return statuses, rows


def autograded_text(course, student):
    return (course / "autograded" / student / "00_toy" / "00_toy.ipynb").read_text()


def test_release_strips_solutions_and_hidden_tests(release):
    text = json.dumps(release)
    assert "squared_secret_value" not in text and "BEGIN SOLUTION" not in text
    assert "BEGIN HIDDEN TESTS" not in text and "double of negatives" not in text
    assert "raise NotImplementedError()" in text
    assert all(not c.get("outputs") for c in release.cells if c.cell_type == "code")


def test_release_tags_test_cells_so_run_all_goes_on(release):
    """JupyterLab's Run All continues past a failing cell tagged raises-exception (grading ignores the tag)."""
    tagged = [c.get("id") for c in release.cells if "raises-exception" in c.metadata.get("tags", [])]
    assert tagged == ["double_tests", "square_tests"]


def test_release_is_deterministic(course, tmp_path):
    generate_release(course, out=tmp_path)
    again = (tmp_path / "00_toy" / "00_toy.ipynb").read_text()
    assert again == (course / "notebooks" / "00_toy" / "00_toy.ipynb").read_text()


def test_correct_submission_gets_full_marks(graded):
    statuses, rows = graded
    assert statuses["good"].status == "graded"
    assert float(rows["good"]["score"]) == float(rows["good"]["max_score"]) == 5.0


def test_untouched_release_scores_zero_and_is_not_a_failure(graded):
    statuses, rows = graded
    assert statuses["untouched"].status == "graded"
    assert float(rows["untouched"]["score"]) == 0.0


def test_malformed_notebook_is_a_failure_with_reason_not_a_zero(graded):
    statuses, rows = graded
    assert rows["badjson"]["status"] == "failed" and rows["badjson"]["score"] == ""
    assert "not valid notebook JSON" in rows["badjson"]["reason"]


def test_crashing_kernel_is_a_failure_with_reason(graded):
    statuses, rows = graded
    assert rows["crash"]["status"] == "failed" and rows["crash"]["score"] == ""
    assert "kernel died" in rows["crash"]["reason"]


def test_bad_submissions_do_not_stop_the_batch(graded):
    statuses, _ = graded
    assert set(statuses) == {"good", "untouched", "badjson", "crash", "loop", "huge", "hog", "deleted",
                             "edited", "monkey"}


def test_infinite_loop_times_out_and_other_exercises_still_count(graded):
    statuses, rows = graded
    assert statuses["loop"].status == "graded"
    assert float(rows["loop"]["double_tests"]) == 2.0 and float(rows["loop"]["square_tests"]) == 0.0


def test_huge_output_is_cut(graded, course):
    statuses, rows = graded
    assert float(rows["huge"]["score"]) == 5.0
    assert len(autograded_text(course, "huge")) < 200_000  # 100,000 lines of spam would be 10 MB


def test_memory_hog_gets_memory_error_not_the_machine(graded, course):
    statuses, rows = graded
    assert statuses["hog"].status == "graded"
    assert float(rows["hog"]["double_tests"]) == 0.0 and float(rows["hog"]["square_tests"]) == 3.0
    assert "MemoryError" in autograded_text(course, "hog") or "allocate memory" in autograded_text(course, "hog")


def test_deleted_test_cell_comes_back(graded, course):
    statuses, rows = graded
    assert float(rows["deleted"]["double_tests"]) == 2.0  # restored and run: it can only pass if it exists
    assert '"grade_id": "double_tests"' in autograded_text(course, "deleted")


def test_edited_test_cell_is_restored(graded):
    _, rows = graded
    assert float(rows["edited"]["double_tests"]) == 0.0 and float(rows["edited"]["square_tests"]) == 3.0


def test_monkeypatching_torch_or_the_grader_gains_nothing(graded, course):
    """The patches live in the learner's kernel; the test cells run in the checker, which they never reach:
    the wrong double scores nothing, the right square its points."""
    _, rows = graded
    assert (float(rows["monkey"]["double_tests"]), float(rows["monkey"]["square_tests"])) == (0.0, 3.0)
    assert "you returned 3x" in autograded_text(course, "monkey")


# ---------------------------------------------------------------- self-grading
def test_self_grade_uses_hidden_tests_when_the_source_is_present(course, release, tmp_path, capsys):
    mine = course / "mine" / "00_toy.ipynb"
    mine.parent.mkdir(exist_ok=True)
    # right on the visible input, wrong on the hidden one (negatives)
    nbformat.write(with_answers(release, {**GOOD, "double": "def double(x):\n    return (2 * x).abs()"}), mine)
    hidden = self_grade(mine, reference=course / "solutions" / "00_toy" / "00_toy.ipynb")
    visible = self_grade(mine, reference=course / "notebooks" / "00_toy" / "00_toy.ipynb")
    assert (hidden.score, visible.score) == (3.0, 5.0)
    table = capsys.readouterr().out
    assert "double of negatives" in table and "double_tests" in table and "3 / 5 points" in table


def test_self_grade_finds_the_course_copy_and_restores_deleted_tests(course, release):
    # a learner's working copy inside the course folder: tests are found without --reference
    nb = with_answers(release, {**GOOD, "double": "def double(x):\n    return 3 * x"})
    nb.cells = [c for c in nb.cells if c.get("id") != "double_tests"]
    mine = course / "workspace" / "00_toy" / "00_toy.ipynb"
    mine.parent.mkdir(parents=True)
    nbformat.write(nb, mine)
    report = self_grade(mine, verbose=False)
    assert report.mode == "hidden tests included"
    assert [(r.name, r.points) for r in report.results] == [("double_tests", 0.0), ("square_tests", 3.0)]
    assert "you returned 3x" in report.results[0].message


def test_self_grade_finds_the_lesson_of_a_renamed_copy(course, release):
    answers = with_answers(release, {**GOOD, "double": "def double(x):\n    return (2 * x).abs()"})
    for mine in (course / "workspace" / "00_toy-Copy1.ipynb",       # JupyterLab's "Duplicate"
                 course / "elsewhere" / "my answers.ipynb"):          # renamed and moved: found by its tests
        mine.parent.mkdir(exist_ok=True)
        nbformat.write(answers, mine)
        report = self_grade(mine, verbose=False)
        assert (report.mode, report.why, report.score) == ("hidden tests included", "", 3.0), report.table()


def test_self_grade_says_why_it_used_visible_tests_only(course, release, tmp_path):
    shutil.copy(course / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    shutil.copytree(course / "notebooks", tmp_path / "notebooks")  # a learner's course folder: no solutions/
    mine = tmp_path / "workspace" / "00_toy" / "00_toy.ipynb"
    mine.parent.mkdir(parents=True)
    nbformat.write(with_answers(release, GOOD), mine)
    report = self_grade(mine, verbose=False)
    assert report.mode == "visible tests only" and "solutions/" in report.why
    assert "visible tests only: the hidden tests are in" in report.table()


@pytest.mark.parametrize("content, expected", [
    (None, "no such file"),
    ('{"cells": [', "not valid notebook JSON"),
    ('{"metadata": {}}', "not a notebook"),
])
def test_self_grade_command_gives_one_line_errors(tmp_path, content, expected):
    path = tmp_path / "lesson.ipynb"
    if content is not None:
        path.write_text(content)
    result = subprocess.run([sys.executable, "-m", "course_lib", "check", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr + result.stdout


def test_release_command_reports_unknown_lessons(course):
    result = subprocess.run([sys.executable, "-m", "course_lib", "release", "99_nothing", "--root", str(course)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "no lesson ['99_nothing']" in result.stderr


def test_grading_needs_no_activated_environment(course, tmp_path):
    """nbgrader runs alembic from PATH: our commands must work with a bare PATH."""
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    shutil.copy(course / "nbgrader_config.py", fresh / "nbgrader_config.py")
    shutil.copytree(course / "solutions", fresh / "solutions")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "course_lib", "grade", "00_toy", "--root", str(fresh)],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (fresh / "gradebook.db").exists()


def test_self_grade_works_from_a_notebook_cell(tmp_path):
    """Learners call it from a cell of the lesson: it runs inside a live kernel's event loop, and the
    cell shows the table only: no warning from the grading kernel, no report repr after it."""
    from harness import Kernel, toy_lesson
    path = tmp_path / "00_toy.ipynb"
    nbformat.write(toy_lesson(), path)  # the instructor source: the solutions pass
    kernel = Kernel(tmp_path)
    outputs = []
    try:
        error = kernel.run(f"from course_lib.pipeline import self_grade\nreport = self_grade({str(path)!r})\n"
                           "assert (report.score, report.max_score) == (5.0, 5.0), report.table()")
        shown_kinds = ("stream", "execute_result", "display_data", "error")
        kernel.client.execute_interactive("self_grade('00_toy.ipynb')", timeout=300, output_hook=lambda m: (
            outputs.append(m) if m["header"]["msg_type"] in shown_kinds else None))
    finally:
        kernel.close()
    assert error is None, error
    shown = [(m["header"]["msg_type"], m["content"].get("name"), m["content"].get("text", "")) for m in outputs]
    assert [kind[:2] for kind in shown] == [("stream", "stdout")], shown
    assert shown[0][2].startswith("00_toy.ipynb: 5 / 5 points") and "GradeReport(" not in shown[0][2]


def test_feedback_is_generated_for_graded_submissions(graded, course):
    from course_lib.pipeline.nbgrader_cli import run_nbgrader
    for student in ("good", "edited"):
        result = run_nbgrader(["generate_feedback", "00_toy", "--student", student], cwd=course)
        assert result.returncode == 0, result.stdout + result.stderr
    good = (course / "feedback" / "good" / "00_toy" / "00_toy.html").read_text()
    edited = (course / "feedback" / "edited" / "00_toy" / "00_toy.html").read_text()
    assert "Score: 5.0 / 5.0" in good or "5.0 / 5.0" in good
    assert "ExerciseFailure" in edited and "double(x)" in edited
