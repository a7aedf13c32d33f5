"""An answer that hands in the library's answer under another name fails, unless the lesson handed it out.

A tiny lesson asks for ``shrink(w, t)`` (soft thresholding); its test checks the answer against
``course_lib.regularization.soft_threshold``. An answer that calls that function itself fails with
a reason that names it, under self-grading and under ``llmcourse grade``; a hand-written answer
passes; and when the lesson's own code used ``reg.soft_threshold`` before the exercise, calling it
is allowed.
"""
from __future__ import annotations

import csv
import shutil

import nbformat
import pytest
from harness import ROOT, _meta, with_answers
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course_lib import borrowing
from course_lib.pipeline.class_grade import export_grades, grade_class
from course_lib.pipeline.notebooks import read_notebook
from course_lib.pipeline.self_grade import self_grade

HONEST = "def shrink(w, t):\n    return torch.sign(w) * torch.clamp(w.abs() - t, min=0)"
COPIED = "def shrink(w, t):\n    return reg.soft_threshold(w, t)"
ALIASED = "shrink = reg.soft_threshold"
HELPER = "def shrink(w, t):\n    return reg.l1_penalty([w], 0.0) * 0 + torch.sign(w) * torch.clamp(w.abs() - t, min=0)"
REASON = "calls the library's course_lib.regularization.soft_threshold, which this test computes the expected answer"


def lesson(shows_the_function: bool) -> nbformat.NotebookNode:
    """The exercise after a setup cell; ``shows_the_function``: a cell before it uses reg.soft_threshold."""
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                               "language": "python"}, "language_info": {"name": "python"}})
    shown = [new_code_cell("print(reg.soft_threshold(torch.tensor([-2.0, 0.5]), 1.0))", id="shown")]
    nb.cells = [
        new_markdown_cell("# Soft thresholding", id="title"),
        new_code_cell("import course_lib\ndevice = course_lib.setup_lesson(seed=0)\nimport torch\n"
                      "from course_lib import regularization as reg", id="setup",
                      metadata=_meta(grade_id="setup", locked=True)),
        *(shown if shows_the_function else []),
        new_code_cell(f"### BEGIN SOLUTION\n{HONEST}\n### END SOLUTION", id="shrink",
                      metadata=_meta(grade_id="shrink", solution=True)),
        new_code_cell('from course_lib.grading import fresh_grader\nG = fresh_grader()\n'
                      'reference = G.ref("regularization")\n'
                      'w = G.torch.linspace(-3, 3, 13, dtype=G.torch.float64)\n'
                      'G.close(G.call(shrink, w, 1.0), reference.soft_threshold(w, 1.0), "shrink(w, 1.0)")',
                      id="shrink_tests", metadata=_meta(grade=True, grade_id="shrink_tests", locked=True, points=2)),
    ]
    return nb


def test_the_lesson_code_before_a_test_is_read_for_the_names_it_uses():
    names = borrowing.names_in_code(["from course_lib import ngram as lm\n%time x = lm.build_vocab(s)\n",
                                     "import course_lib.functional as cf\nprint(cf.softmax(x))", "def broken(:"])
    assert {"ngram", "lm", "build_vocab", "cf", "softmax", "functional", "print", "x", "s"} <= names
    assert borrowing.kind_of(borrowing.__file__) == "machinery"
    assert borrowing.kind_of(str(ROOT / "course_lib" / "ngram.py")) == "library"
    assert borrowing.kind_of(shutil.__file__) == "installed" and borrowing.kind_of("<string>") == "installed"
    assert borrowing.kind_of("/tmp/ipykernel_7/123.py") == "own"
    pairs = [("course_lib.ngram", "NgramModel.fit"), ("course_lib.ngram", "bigram_counts")]
    assert borrowing.copied(pairs, pairs, {"fit"}) == [("course_lib.ngram", "bigram_counts")]
    assert borrowing.copied(pairs, pairs, {"NgramModel", "bigram_counts"}) == []
    assert borrowing.copied(pairs, pairs[:1], set()) == [("course_lib.ngram", "NgramModel.fit")]
    assert borrowing.copied(pairs, pairs, None) == []


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Each answer self-graded against the lesson that does not show the function, and the one that does."""
    folder = tmp_path_factory.mktemp("borrowing")
    reports = {}
    for shows in (False, True):
        nbformat.write(lesson(shows), folder / f"lesson_{shows}.ipynb")
        for name, code in {"honest": HONEST, "copied": COPIED, "aliased": ALIASED, "helper": HELPER}.items():
            if shows and name in ("aliased", "helper"):
                continue
            path = folder / f"{name}_{shows}.ipynb"
            nbformat.write(with_answers(lesson(shows), {"shrink": code}), path)
            reports[name, shows] = self_grade(path, reference=folder / f"lesson_{shows}.ipynb", verbose=False)
    return reports


def test_an_answer_calling_the_tests_oracle_fails_by_name_under_self_grading(graded):
    [result] = graded["copied", False].results
    assert result.points == 0 and REASON in result.message, result
    [result] = graded["aliased", False].results   # the library's function itself, under the exercise's name
    assert result.points == 0 and "write it yourself" in result.message, result
    assert "course_lib.regularization.soft_threshold" in result.message, result


def test_a_hand_written_answer_and_one_using_another_helper_pass(graded):
    for name in ("honest", "helper"):
        [result] = graded[name, False].results
        assert result.points == result.max_points == 2, (name, result)


def test_a_function_the_lesson_used_before_the_exercise_may_be_called(graded):
    for name in ("honest", "copied"):
        [result] = graded[name, True].results
        assert result.points == 2, (name, result)


@pytest.mark.slow
def test_an_answer_calling_the_tests_oracle_fails_by_name_under_class_grading(tmp_path):
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    (tmp_path / "solutions" / "00_borrow").mkdir(parents=True)
    nbformat.write(lesson(False), tmp_path / "solutions" / "00_borrow" / "00_borrow.ipynb")
    for student, code in (("honest", HONEST), ("copied", COPIED)):
        folder = tmp_path / "submitted" / student / "00_borrow"
        folder.mkdir(parents=True)
        nbformat.write(with_answers(lesson(False), {"shrink": code}), folder / "00_borrow.ipynb")
    statuses = grade_class(tmp_path, "00_borrow", verbose=False, timeout_s=300)
    assert [s.status for s in statuses] == ["graded", "graded"], statuses
    rows = {r["student_id"]: r for r in csv.DictReader(export_grades(tmp_path, "00_borrow", tmp_path / "g.csv").open())}
    assert float(rows["honest"]["score"]) == 2.0 and float(rows["copied"]["score"]) == 0.0, rows
    graded_nb = read_notebook(tmp_path / "autograded" / "copied" / "00_borrow" / "00_borrow.ipynb")
    [test_cell] = [c for c in graded_nb.cells if c.get("id") == "shrink_tests"]
    errors = [o for o in test_cell.outputs if o.get("output_type") == "error"]
    assert errors and errors[0]["ename"] == "ExerciseFailure" and REASON in errors[0]["evalue"], test_cell.outputs
