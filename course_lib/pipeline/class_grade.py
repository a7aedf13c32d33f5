"""Autograde a whole class with nbgrader, in parallel, so that no submission can stop the batch or touch another.

nbgrader grades submissions one after another in one process; a notebook that is not JSON, a
kernel that crashes, or a memory hog either stops the batch or shows up in the export as a plain
0, which looks exactly like a student who scored nothing. Here each submission is graded by its
own process (``course_lib.pipeline.autograde``: nbgrader's autograder with the course's safeguards):

- its kernel runs in a sandbox (``course_lib.pipeline.sandbox``): its own copy of the submission,
  no other files of the course, no network, its own process namespace, limits on CPU time, memory,
  processes and file size; where the sandbox cannot run, a warning says so and why it matters;
- with a wall-clock limit (the grading process group is killed past it); its log goes to a file,
  so a process that keeps a pipe open cannot hang the batch;
- after a check that each notebook file is a readable notebook;
- several at once (``workers``), each result written (temporary file, then rename) as soon as it
  is known; a re-run skips submissions already graded from the same files (a crash loses nothing).

Every submission ends with a status: ``graded``, ``failed`` (with the reason) or ``missing``.
``export_grades`` writes them next to the scores, so a failure is never mistaken for a zero.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

from course_lib.pipeline.autograde import NOTE_PREFIX
from course_lib.pipeline.nbgrader_cli import nbgrader_env, run_nbgrader
from course_lib.pipeline.notebooks import NotebookError, read_notebook


@dataclass
class SubmissionStatus:
    student: str
    assignment: str
    status: str        # "graded", "failed" or "missing"
    reason: str = ""
    notes: str = ""    # what the grader changed back (tampered cells), one line per change
    seconds: float = 0.0
    fingerprint: str = ""  # of the submission and the lesson: a re-run skips what is unchanged


_CONTROL = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def plain_text(text: str) -> str:
    """``text`` without terminal control sequences or control characters (newlines and tabs kept)."""
    return _CONTROL.sub("", str(text))


def spreadsheet_safe(value):
    """A CSV cell that no spreadsheet reads as a formula: text starting with = + - @ tab or CR gets a quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


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
    known = SubmissionStatus.__dataclass_fields__
    return {s: SubmissionStatus(**{k: v for k, v in row.items() if k in known})
            for s, row in json.loads(path.read_text()).items()}


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
    errors = [line for line in log.splitlines() if ("ERROR" in line or "Error" in line)
              and not line.startswith(NOTE_PREFIX)]
    return errors[-1].strip()[:300] if errors else "nbgrader exited with an error"


def fingerprint(root: Path, assignment: str, student: str) -> str:
    """A digest of the student's files and the lesson's source: a re-run regrades only when one changed."""
    digest = hashlib.sha256()
    for folder in (root / "submitted" / student / assignment, root / "solutions" / assignment):
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()) if folder.is_dir() else []:
            digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Worker:
    """How one grading slot runs its submission's kernel."""
    slot: int = 0
    sandbox: bool = True
    threads: int = 1


def grade_submission(root: Path, assignment: str, student: str, timeout_s: float, memory_bytes: int,
                     worker: Worker = Worker()) -> SubmissionStatus:
    start = time.perf_counter()
    status = _grade(root, assignment, student, timeout_s, memory_bytes, worker)
    status.reason, status.notes = plain_text(status.reason), plain_text(status.notes)
    status.seconds = round(time.perf_counter() - start, 1)
    return status


def _grade(root: Path, assignment: str, student: str, timeout_s: float, memory_bytes: int, worker: Worker
           ) -> SubmissionStatus:
    from course_lib.pipeline.sandbox import FIRST_UID

    folder = root / "submitted" / student / assignment
    notebooks = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
    if not notebooks:
        return SubmissionStatus(student, assignment, "missing", f"no notebook in {folder}")
    for notebook in notebooks:
        try:
            read_notebook(notebook)
        except NotebookError as error:
            return SubmissionStatus(student, assignment, "failed", str(error))

    command = [sys.executable, "-m", "course_lib.pipeline.autograde", assignment, student]
    if worker.sandbox:
        command += [f"--SandboxedKernelManager.{key}={value}" for key, value in {
            "uid": FIRST_UID + worker.slot, "memory_bytes": memory_bytes, "cpu_seconds": int(timeout_s),
            "threads": worker.threads}.items()]
    else:  # util-linux's prlimit sets the limit that the kernel inherits (no preexec_fn: we run in threads)
        command = ["prlimit", f"--as={memory_bytes}", "--", *command, "--no-sandbox"]
    if "db_url" not in (root / "nbgrader_config.py").read_text():  # parallel graders wait for SQLite's lock
        command.append(f"--CourseDirectory.db_url=sqlite:///{root / 'gradebook.db'}?timeout=120")
    env = nbgrader_env({"OMP_NUM_THREADS": str(worker.threads)})
    # The log goes to a file: a process that inherits it cannot keep the batch waiting for a pipe's end.
    with tempfile.TemporaryFile(mode="w+", errors="replace") as log_file:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # nbgrader and (sandboxed or not) the kernel it started
            process.wait()
            return SubmissionStatus(student, assignment, "failed", f"grading took longer than {timeout_s:g} s")
        finally:
            try:
                os.killpg(process.pid, signal.SIGKILL)  # anything left in the grading process's group
            except ProcessLookupError:
                pass
        log_file.seek(0)
        log = log_file.read()
    notes = "\n".join(line[len(NOTE_PREFIX):] for line in log.splitlines() if line.startswith(NOTE_PREFIX))
    if process.returncode != 0:
        return SubmissionStatus(student, assignment, "failed", _reason_from_log(log), notes)
    return SubmissionStatus(student, assignment, "graded", "", notes)


def default_workers(memory_gb: float) -> int:
    """As many submissions at once as there are cores, and as fit in memory at ``memory_gb`` each."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return max(1, min(os.cpu_count() or 1, int(memory // max(memory_gb, 0.5))))


def grade_class(root: str | os.PathLike, assignment: str, students: list[str] | None = None,
                timeout_s: float = 1800, memory_gb: float = 4.0, verbose: bool = True,
                workers: int | None = None, again: bool = False, sandbox: bool | None = None
                ) -> list[SubmissionStatus]:
    """Autograde every submission of ``assignment`` under ``root/submitted``; return the statuses.

    ``workers`` submissions are graded at once (default: cores, as memory allows). Submissions
    already graded from the same files are kept, unless ``again``. ``sandbox`` None: use the
    sandbox where it can run (a warning says when it cannot); False: never (trusted notebooks only).
    """
    from course_lib.pipeline.sandbox import RISK, sandbox_problem

    root = Path(root).resolve()
    if not re.fullmatch(r"[\w.-]+", assignment):
        raise ValueError(f"assignment: expected a folder name like 01_fundamentals, got {assignment!r}")
    submitted = root / "submitted"
    if students is None:
        students = sorted(p.name for p in submitted.iterdir() if p.is_dir()) if submitted.is_dir() else []
    problem = sandbox_problem() if sandbox is not False else "the sandbox was turned off"
    if problem is not None and sandbox is not False:
        print(f"WARNING: grading without a sandbox: {problem}; {RISK}", file=sys.stderr, flush=True)
    workers = max(1, min(workers or default_workers(memory_gb), len(students) or 1, os.cpu_count() or 1))
    threads = max(1, (os.cpu_count() or 1) // workers)
    prepare_gradebook(root, assignment)
    statuses = load_statuses(root, assignment)
    prints = {s: fingerprint(root, assignment, s) for s in students}
    todo = [s for s in students if again or statuses.get(s) is None or statuses[s].status == "missing"
            or statuses[s].fingerprint != prints[s]]
    results = {s: statuses[s] for s in students if s not in todo}
    lock, slots = threading.Lock(), list(range(workers))

    def grade_one(student: str) -> SubmissionStatus:
        with lock:
            slot = slots.pop()
        try:
            return grade_submission(root, assignment, student, timeout_s, int(memory_gb * 2**30),
                                    Worker(slot, problem is None, threads))
        except Exception as error:  # never lose the rest of the class to one submission
            return SubmissionStatus(student, assignment, "failed", plain_text(f"{type(error).__name__}: {error}"))
        finally:
            with lock:
                slots.append(slot)

    progress = _progress(len(todo), verbose)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in as_completed([pool.submit(grade_one, s) for s in todo]):
            status = future.result()
            status.fingerprint = prints[status.student] if status.status != "missing" else ""
            statuses[status.student] = results[status.student] = status
            _write_json(status_file(root, assignment), {s: asdict(v) for s, v in statuses.items()})
            progress.update(1)
            if verbose:
                progress.write(f"{plain_text(status.student)[:20]:>20}  {status.status:<7} {status.seconds:6.1f} s  "
                               f"{status.reason}" + "".join(f"\n{'':>22}note: {n}" for n in status.notes.splitlines()))
    progress.close()
    return [results[s] for s in students]


def _progress(total: int, verbose: bool):
    from tqdm import tqdm
    return tqdm(total=total, desc="grading", unit="notebook", disable=not verbose, file=sys.stderr)


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
                   "score": "", "max_score": "", "reason": status.reason, "notes": status.notes}
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
                                         "reason", "notes", *test_names], restval="")
        writer.writeheader()
        writer.writerows({k: spreadsheet_safe(v) for k, v in row.items()} for row in rows)
    os.replace(temporary, out)
    return out
