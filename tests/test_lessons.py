"""Every lesson, end to end: release, structure, budget, autograding, and its recorded mistakes."""
from __future__ import annotations

import csv
import importlib
import json
import re
import shutil

import nbformat
import pytest

from course_lib.pipeline.class_grade import export_grades, grade_class
from course_lib.pipeline.notebooks import grade_id, is_answer_cell, is_test_cell, nbgrader_meta, read_notebook
from course_lib.pipeline.release import generate_release
from course_lib.pipeline.split import shown_before
from harness import LESSONS, ROOT, SplitKernel, execute_in_subprocess, with_answers

BUDGET_SECONDS, BUDGET_MB = 150, 1536
MARKERS = re.compile(r"### (BEGIN|END) (SOLUTION|HIDDEN TESTS)")


def source(lesson):
    return read_notebook(ROOT / "solutions" / lesson / f"{lesson}.ipynb")


def release(lesson):
    return read_notebook(ROOT / "notebooks" / lesson / f"{lesson}.ipynb")


def mistakes(lesson):
    return importlib.import_module(f"mistakes.m{lesson}").MISTAKES


def exercises(nb):
    """[(answer cell, [its test cells])] in notebook order."""
    pairs = []
    for cell in nb.cells:
        if is_answer_cell(cell):
            pairs.append((cell, []))
        elif is_test_cell(cell) and pairs:
            pairs[-1][1].append(cell)
    return pairs


def marked_regions(text: str, begin: str, end: str) -> list[str]:
    return re.findall(rf"### BEGIN {begin}\n(.*?)### END {end}", text, re.S)


def test_lessons_are_present():
    assert "01_fundamentals" in LESSONS
    assert sorted(LESSONS) == sorted(p.name for p in (ROOT / "notebooks").iterdir() if p.is_dir())


@pytest.mark.parametrize("lesson", LESSONS)
def test_release_is_what_solutions_generate(lesson, tmp_path):
    generate_release(ROOT, [lesson], out=tmp_path)
    committed = sorted(p.relative_to(ROOT / "notebooks" / lesson) for p in (ROOT / "notebooks" / lesson).rglob("*")
                       if p.is_file())
    assert committed == sorted(p.relative_to(tmp_path / lesson) for p in (tmp_path / lesson).rglob("*") if p.is_file())
    for name in committed:
        assert (tmp_path / lesson / name).read_bytes() == (ROOT / "notebooks" / lesson / name).read_bytes(), (
            f"notebooks/{lesson}/{name} is stale: run `llmcourse release {lesson}` and commit")


@pytest.mark.parametrize("lesson", LESSONS)
def test_release_leaks_no_solution_or_hidden_test(lesson):
    text = "\n".join(c.source for c in release(lesson).cells)
    assert not MARKERS.search(text)
    src = source(lesson)
    outside = "\n".join(re.sub(r"### BEGIN (SOLUTION|HIDDEN TESTS).*?### END (SOLUTION|HIDDEN TESTS)", "",
                               c.source, flags=re.S) for c in src.cells)
    released_lines = {line.strip() for line in text.splitlines()}
    for cell in src.cells:
        hidden = marked_regions(cell.source, "SOLUTION", "SOLUTION") + \
            marked_regions(cell.source, "HIDDEN TESTS", "HIDDEN TESTS")
        for region in hidden:
            for line in region.splitlines():
                line = line.strip()
                if len(line) >= 12 and not line.startswith("#") and line not in outside:
                    assert line not in released_lines, f"{lesson}: released notebook contains {line!r}"


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_structure(lesson):
    nb = source(lesson)
    for cell in nb.cells:
        assert cell.cell_type != "code" or (not cell.outputs and cell.execution_count is None), "commit without outputs"
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert nbgrader_meta(first).get("locked") and "setup_lesson" in first.source
    pairs = exercises(nb)
    assert len(pairs) >= 5, f"{lesson} has {len(pairs)} exercises, expected at least 5"
    for answer, tests in pairs:
        assert tests, f"exercise {grade_id(answer)} has no test cell after it"
        for test in tests:
            assert nbgrader_meta(test).get("points", 0) > 0 and nbgrader_meta(test).get("locked")
            assert "fresh_grader()" in test.source, f"{grade_id(test)} must use fresh_grader()"
    ids = [c.get("id") for c in nb.cells]
    assert len(set(ids)) == len(ids) and all(ids), "every cell needs a stable, unique id"
    tagged = {grade_id(c) for c in release(lesson).cells if "raises-exception" in c.metadata.get("tags", [])}
    assert tagged == {grade_id(t) for _, ts in pairs for t in ts}, (
        "in the release exactly the test cells carry the raises-exception tag (Run All goes past them): "
        f"run `llmcourse release {lesson}`")


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("lesson", LESSONS)
def test_solution_runs_within_budget(lesson):
    """The budget is the kernel's CPU time, so a machine busy with other work cannot fail it
    (only its wall time grows, hence the generous time limits here)."""
    stats = execute_in_subprocess(ROOT / "solutions" / lesson / f"{lesson}.ipynb", timeout=1700)
    print(f"{lesson}: {stats['cpu_seconds']} s CPU, {stats['seconds']} s wall, {stats['peak_mb']} MB")
    assert stats["errors"] == [], stats["errors"]
    assert stats["cpu_seconds"] <= BUDGET_SECONDS, (
        f"{lesson} took {stats['cpu_seconds']} s of CPU time (budget {BUDGET_SECONDS} s)")
    assert stats["peak_mb"] <= BUDGET_MB, f"{lesson} peaked at {stats['peak_mb']} MB (budget {BUDGET_MB} MB)"


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS)
def test_autograding_solution_release_and_mistakes(lesson, tmp_path):
    """Solution: full marks. Untouched release: zero, graded without error. Mistakes: every test loses."""
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    shutil.copytree(ROOT / "solutions" / lesson, tmp_path / "solutions" / lesson)
    wrong = with_answers(release(lesson), {gid: cases[0]["code"] for gid, cases in mistakes(lesson).items()})
    for student, nb in (("solution", source(lesson)), ("untouched", release(lesson)), ("mistaken", wrong)):
        folder = tmp_path / "submitted" / student / lesson
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{lesson}.ipynb")
    statuses = grade_class(tmp_path, lesson, verbose=False, timeout_s=600)
    assert [s.status for s in statuses] == ["graded"] * 3, statuses
    rows = {r["student_id"]: r for r in csv.DictReader(export_grades(tmp_path, lesson, tmp_path / "g.csv").open())}
    assert float(rows["solution"]["score"]) == float(rows["solution"]["max_score"]) > 0
    assert float(rows["untouched"]["score"]) == 0.0
    # In the untouched release only test cells fail: the lesson after each exercise never needs the
    # learner's answer, so a learner's Run All (which goes past a failing test cell) reaches the end.
    untouched = read_notebook(tmp_path / "autograded" / "untouched" / lesson / f"{lesson}.ipynb")
    failed = [c.get("id") for c in untouched.cells if c.cell_type == "code" and not is_test_cell(c)
              and any(out.get("output_type") == "error" for out in c.get("outputs", []))]
    assert not failed, f"{lesson}: with no exercise answered, these cells fail and Run All would stop: {failed}"
    tests = [grade_id(t) for _, ts in exercises(source(lesson)) for t in ts]
    kept = {t: rows["mistaken"][t] for t in tests if float(rows["mistaken"][t]) != 0.0}
    assert not kept, f"these tests gave points to a recorded mistake: {kept}"


def replay(lesson, cases_of):
    """Run the lesson as grading does (test cells in a checker kernel); each case replaces its answer cell
    before that exercise's test cells.

    ``cases_of`` maps an answer cell's grade_id to its cases ({"name", "code", ...}). Returns
    [(grade_id, case, messages)], messages being the test cells' errors joined ("" when they all passed).
    The real solution then runs, and its tests must pass, before the lesson goes on.
    """
    nb = source(lesson)
    kernel = SplitKernel(ROOT / "solutions" / lesson, env={"NBGRADER_EXECUTION": "autograde"})
    results = []
    try:
        tests_of = {grade_id(a): ts for a, ts in exercises(nb)}
        for cell in nb.cells:
            if cell.cell_type != "code" or is_test_cell(cell):
                continue  # test cells run right after their answer cell, below
            gid = grade_id(cell)
            if is_answer_cell(cell):
                for case in cases_of.get(gid, []):
                    kernel.run(case["code"])
                    errors = [kernel.run_test(t.source, shown=shown_before(nb, t)) for t in tests_of[gid]]
                    results.append((gid, case, " | ".join(f"{e[0]}: {e[1]}" for e in errors if e)))
                error = kernel.run(cell.source)
                assert error is None, f"solution {gid} raised {error}"
                for test in tests_of[gid]:
                    error = kernel.run_test(test.source, shown=shown_before(nb, test))
                    assert error is None, f"{grade_id(test)} fails on the real solution: {error}"
            else:
                error = kernel.run(cell.source)
                assert error is None, f"cell {cell.get('id')} raised {error}"
    finally:
        kernel.close()
    return results


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS)
def test_recorded_mistakes_fail_by_name_and_alternatives_pass(lesson):
    """Each recorded mistake replaces its answer cell: the test cells must fail with its message. Each
    correct answer written differently from the solution (ALTERNATIVES beside the mistakes) must pass.
    Both kinds are replayed in one run of the lesson."""
    recorded = mistakes(lesson)
    alternatives = getattr(importlib.import_module(f"mistakes.m{lesson}"), "ALTERNATIVES", {})
    answers = {grade_id(a) for a, _ in exercises(source(lesson))}
    assert set(recorded) == answers, f"mistakes recorded for {sorted(recorded)}, exercises are {sorted(answers)}"
    assert all(recorded.values()), f"an exercise has no recorded mistake: {recorded}"
    assert set(alternatives) <= answers, f"alternatives recorded for {sorted(set(alternatives) - answers)}, not exercises"
    cases = {gid: [dict(case, correct=False) for case in recorded[gid]]
             + [dict(case, correct=True) for case in alternatives.get(gid, [])] for gid in answers}
    problems = []
    for gid, case, messages in replay(lesson, cases):
        if case["correct"] and messages:
            problems.append(f"{gid} / {case['name']}: a correct answer was rejected: {messages[:300]}")
        elif not case["correct"] and not messages:
            problems.append(f"{gid} / {case['name']}: the tests PASSED this mistake")
        elif not case["correct"] and case["says"].lower() not in messages.lower():
            problems.append(f"{gid} / {case['name']}: rejected, but the message does not say "
                            f"{case['says']!r}: {messages[:300]}")
    assert not problems, "\n".join(problems)
