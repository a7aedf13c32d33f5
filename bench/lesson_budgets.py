"""Each lesson's CPU time, wall time and peak memory, against its budget and an empty notebook's cost.

    python bench/lesson_budgets.py [LESSON ...] [--grading]

Every solutions notebook runs top to bottom in a fresh kernel (in a fresh process, so the CPU
time and peak memory are the kernel's own). The budget is on CPU time (user + system of the
kernel): wall time is printed beside it, and "wall / CPU" well above 1 means the machine was busy
with other work (on an idle machine with one torch thread it is close to 1). The empty notebook,
run the same way in the same run, is the reference: what starting a kernel and importing
course_lib costs on this machine.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
BUDGET_SECONDS, BUDGET_MB = 150, 1536


def run(path: Path, grading: bool) -> dict:
    command = [sys.executable, "-m", "course_lib.pipeline.execute", str(path)] + (["--grading"] if grading else [])
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(f"{path}: {result.stderr.strip().splitlines()[-1]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    grading = "--grading" in sys.argv
    wanted = [a for a in sys.argv[1:] if not a.startswith("--")]
    lessons = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir() and p.name[:2].isdigit())
    lessons = [lesson for lesson in lessons if not wanted or lesson in wanted]
    with tempfile.TemporaryDirectory() as scratch:
        empty = Path(scratch) / "empty.ipynb"
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell("import course_lib")]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, empty)
        reference = run(empty, grading)
    mode = "grading mode (NBGRADER_EXECUTION set)" if grading else "full run"
    print(f"Lesson budgets, {mode}; reference: an empty notebook importing course_lib "
          f"({reference['cpu_seconds']:.1f} s CPU, {reference['seconds']:.1f} s wall, {reference['peak_mb']:.0f} MB)")
    header = (f"{'lesson':<20} {'CPU s':>7} {'x empty':>8} {'% budget':>9} {'wall s':>7} {'wall/CPU':>9} "
              f"{'peak MB':>8} {'% budget':>9}  errors")
    print(header)
    print("-" * len(header))
    for lesson in lessons:
        stats = run(ROOT / "solutions" / lesson / f"{lesson}.ipynb", grading)
        cpu = stats["cpu_seconds"]
        print(f"{lesson:<20} {cpu:>7.1f} {cpu / reference['cpu_seconds']:>8.1f} {100 * cpu / BUDGET_SECONDS:>8.0f}% "
              f"{stats['seconds']:>7.1f} {stats['seconds'] / cpu:>9.2f} {stats['peak_mb']:>8.0f} "
              f"{100 * stats['peak_mb'] / BUDGET_MB:>8.0f}%  {len(stats['errors'])}")
    print(f"\nBudget: {BUDGET_SECONDS} s of the kernel's CPU time (aim: 100 s) and {BUDGET_MB} MB.")

if __name__ == "__main__":
    main()
