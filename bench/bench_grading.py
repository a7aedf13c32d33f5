"""Benchmark class grading: submissions per minute for a small synthetic class of the toy lesson.

The class (tests/harness.py's two-exercise toy lesson, correct answers) is graded three ways in one
run: one worker with the sandbox, ``--workers`` workers with the sandbox, and one worker without it.
Reported: submissions per minute for each, the speed-up of parallel grading over one worker, what the
sandbox costs per submission, and the slowest student's time.

    python bench/bench_grading.py                       # 8 students, 2 workers
    python bench/bench_grading.py --students 16 --workers 4
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))            # run from a checkout without installing
sys.path.insert(0, str(ROOT / "tests"))  # the toy lesson

from harness import toy_lesson, with_answers

from course_lib.pipeline.class_grade import grade_class
from course_lib.pipeline.notebooks import read_notebook
from course_lib.pipeline.release import generate_release
from course_lib.pipeline.sandbox import sandbox_problem

ANSWERS = {"double": "def double(x):\n    return x + x", "square": "def square(x):\n    return x ** 2"}


def make_class(folder: Path, students: int) -> None:
    (folder / "nbgrader_config.py").write_text((ROOT / "nbgrader_config.py").read_text())
    (folder / "solutions" / "00_toy").mkdir(parents=True)
    nbformat.write(toy_lesson(), folder / "solutions" / "00_toy" / "00_toy.ipynb")
    generate_release(folder)
    release = read_notebook(folder / "notebooks" / "00_toy" / "00_toy.ipynb")
    for i in range(students):
        path = folder / "submitted" / f"student{i:03d}" / "00_toy" / "00_toy.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(with_answers(release, ANSWERS), path)


def run(folder: Path, workers: int, sandbox: bool) -> tuple[float, float]:
    """(submissions per minute, slowest student's seconds); every submission must score 5 / 5."""
    start = time.perf_counter()
    statuses = grade_class(folder, "00_toy", verbose=False, workers=workers, again=True,
                           sandbox=None if sandbox else False, timeout_s=600)
    minutes = (time.perf_counter() - start) / 60
    assert all(s.status == "graded" for s in statuses), [s for s in statuses if s.status != "graded"]
    return len(statuses) / minutes, max(s.seconds for s in statuses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    problem = sandbox_problem()
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as scratch:
        folder = Path(scratch)
        make_class(folder, args.students)
        print(f"{args.students} submissions of the toy lesson")
        if problem is not None:
            print(f"no sandbox here ({problem}): only unsandboxed grading is measured")
        runs = [("1 worker, unsandboxed", 1, False)]
        if problem is None:
            runs = [("1 worker, sandboxed", 1, True), (f"{args.workers} workers, sandboxed", args.workers, True)] + runs
        results = {}
        for label, workers, sandbox in runs:
            rate, slowest = run(folder, workers, sandbox)
            results[label] = rate
            print(f"  {label:<24} {rate:6.1f} submissions/minute   slowest student {slowest:5.1f} s")
        if problem is None:
            one, many, bare = results["1 worker, sandboxed"], results[f"{args.workers} workers, sandboxed"], \
                results["1 worker, unsandboxed"]
            print(f"parallel speed-up: {many / one:.2f}x with {args.workers} workers; the sandbox costs "
                  f"{60 / one - 60 / bare:+.1f} s per submission")


if __name__ == "__main__":
    main()
