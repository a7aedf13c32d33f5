"""Autograde a whole class with nbgrader, so that one bad submission never stops the batch.

nbgrader grades submissions one after another in one process; a notebook that is not JSON, a
kernel that crashes, or a memory hog either stops the batch or shows up in the export as a plain
0, which looks exactly like a student who scored nothing. Here each submission is graded by its
own ``nbgrader autograde --student`` process:

- with a wall-clock limit (the whole process group is killed past it),
- with an address-space limit inherited by the notebook's kernel (a memory hog gets MemoryError),
- after a check that each notebook file is a readable notebook.

Every submission ends with a status: ``graded``, ``failed`` (with the reason) or ``missing``.
``export_grades`` writes them next to the scores, so a failure is never mistaken for a zero.
"""
from __future__ import annotations

import csv
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from course_lib.pipeline.nbgrader_cli import nbgrader_env, run_nbgrader
from course_lib.pipeline.notebooks import NotebookError, read_notebook


@dataclass
class SubmissionStatus:
    student: str
    assignment: str
    status: str        # "graded", "failed" or "missing"
    reason: str = ""


def status_file(root: Path, assignment: str) -> Path:
    return root / ".grading" / assignment / "status.json"


def _write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".status.", suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
    os.replace(temporary, path)


def load_statuses(root: Path, assignment: str) -> dict[str, SubmissionStatus]:
    path = status_file(root, assignment)
    if not path.exists():
        return {}
    return {s: SubmissionStatus(**row) for s, row in json.loads(path.read_text()).items()}


def prepare_gradebook(root: Path, assignment: str) -> None:
    """Record the assignment's source in the gradebook (nbgrader needs it to autograde).

    The release it generates goes to .grading/release so the committed notebooks/ stay untouched.
    """
    result = run_nbgrader(["generate_assignment", assignment, "--force", "--log-level=WARN",
                           "--CourseDirectory.release_directory=.grading/release"], cwd=root)
    if result.returncode != 0:
        raise RuntimeError(f"nbgrader could not prepare {assignment}:\n{result.stdout}{result.stderr}")


def _reason_from_log(log: str) -> str:
    if "Kernel died" in log or "DeadKernelError" in log:
        return "the notebook's kernel died (a crash, os._exit, or running out of memory)"
    errors = [line for line in log.splitlines() if "ERROR" in line or "Error" in line]
    return errors[-1].strip()[:300] if errors else "nbgrader exited with an error"


def grade_submission(root: Path, assignment: str, student: str, timeout_s: float, memory_bytes: int
                     ) -> SubmissionStatus:
    folder = root / "submitted" / student / assignment
    notebooks = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
    if not notebooks:
        return SubmissionStatus(student, assignment, "missing", f"no notebook in {folder}")
    for notebook in notebooks:
        try:
            read_notebook(notebook)
        except NotebookError as error:
            return SubmissionStatus(student, assignment, "failed", str(error))

    def limit_memory():  # runs in the child before exec; the kernel inherits the limit
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))

    command = [sys.executable, "-m", "nbgrader", "autograde", assignment, "--student", student, "--force"]
    process = subprocess.Popen(command, cwd=root, env=nbgrader_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL,
                               start_new_session=True, preexec_fn=limit_memory)
    try:
        log, _ = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # nbgrader and the kernel it started
        process.communicate()
        return SubmissionStatus(student, assignment, "failed", f"grading took longer than {timeout_s:g} s")
    if process.returncode != 0:
        return SubmissionStatus(student, assignment, "failed", _reason_from_log(log))
    return SubmissionStatus(student, assignment, "graded")


def grade_class(root: str | os.PathLike, assignment: str, students: list[str] | None = None,
                timeout_s: float = 1800, memory_gb: float = 4.0, verbose: bool = True
                ) -> list[SubmissionStatus]:
    """Autograde every submission of ``assignment`` under ``root/submitted``; return the statuses."""
    root = Path(root).resolve()
    if not re.fullmatch(r"[\w.-]+", assignment):
        raise ValueError(f"assignment: expected a folder name like 01_fundamentals, got {assignment!r}")
    submitted = root / "submitted"
    if students is None:
        students = sorted(p.name for p in submitted.iterdir() if p.is_dir()) if submitted.is_dir() else []
    prepare_gradebook(root, assignment)
    statuses = load_statuses(root, assignment)
    results = []
    for student in students:
        try:
            status = grade_submission(root, assignment, student, timeout_s, int(memory_gb * 2**30))
        except Exception as error:  # never lose the rest of the class to one submission
            status = SubmissionStatus(student, assignment, "failed", f"{type(error).__name__}: {error}")
        statuses[student] = status
        _write_json(status_file(root, assignment), {s: asdict(v) for s, v in statuses.items()})
        results.append(status)
        if verbose:
            print(f"{student:>20}  {status.status:<7} {status.reason}", flush=True)
    return results


def export_grades(root: str | os.PathLike, assignment: str, out: str | os.PathLike) -> Path:
    """Write a CSV: one row per student with status, score, max score, reason and per-test points.

    Failed and missing submissions have an empty score, never a 0.
    """
    from nbgrader.api import Gradebook, MissingEntry

    root = Path(root).resolve()
    out = Path(out)
    statuses = load_statuses(root, assignment)
    rows, test_names = [], []
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        for student, status in sorted(statuses.items()):
            row = {"student_id": student, "assignment": assignment, "status": status.status,
                   "score": "", "max_score": "", "reason": status.reason}
            if status.status == "graded":
                try:
                    submission = gradebook.find_submission(assignment, student)
                except MissingEntry:
                    row.update(status="failed", reason="graded, but no scores in the gradebook")
                else:
                    row.update(score=submission.score, max_score=submission.max_score)
                    for notebook in submission.notebooks:
                        for grade in notebook.grades:
                            row[grade.name] = grade.score
                            if grade.name not in test_names:
                                test_names.append(grade.name)
            rows.append(row)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", newline="") as handle:
        writer = csv.DictWriter(handle, ["student_id", "assignment", "status", "score", "max_score",
                                         "reason", *test_names], restval="")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(temporary, out)
    return out
