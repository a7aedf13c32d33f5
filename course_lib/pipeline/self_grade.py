"""Grade your own copy of a lesson, locally, and see a table of points and failure messages.

From a terminal::

    llmcourse check notebooks/01_fundamentals/01_fundamentals.ipynb

From a cell of the lesson itself (save the notebook first)::

    from course_lib.pipeline import self_grade
    self_grade("01_fundamentals.ipynb")

What it does, like nbgrader's autograder: test cells and read-only cells are put back from the
course's copy of the lesson (a deleted or edited test does not count), outputs are cleared, the
notebook runs top to bottom in a fresh kernel with ``NBGRADER_EXECUTION`` set, and each test
cell scores its points when it raises nothing. When the instructor source (solutions/) is next to
the course, its hidden tests are used too; otherwise the release's visible tests are, and the
table says why. A renamed copy ("01_fundamentals-Copy1.ipynb") still finds its lesson.

Only the lesson's test cells count: a cell that claims to be a test the lesson does not have, or
repeats one, is run as an ordinary cell. Course files found in the notebook's own folder (a
``solutions/`` or ``nbgrader_config.py`` handed in with it) are ignored. The kernel runs in the
grading sandbox (``course_lib.pipeline.sandbox``) where the machine can run it; the table says so
when it cannot.
"""
from __future__ import annotations

import copy
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from course_lib.pipeline.notebooks import (
    NotebookError, find_course_root, grade_id, is_test_cell, lesson_dirs, nbgrader_meta, read_notebook,
    strip_outputs,
)

HIDDEN, VISIBLE = "hidden tests included", "visible tests only"


@dataclass
class ExerciseResult:
    name: str          # the test cell's grade_id
    points: float
    max_points: float
    message: str = ""  # empty when passed; else the first line of the failure

    @property
    def passed(self) -> bool:
        return self.points == self.max_points


@dataclass
class GradeReport:
    notebook: Path
    mode: str                               # "hidden tests included" or "visible tests only"
    results: list[ExerciseResult] = field(default_factory=list)
    problem: str = ""                       # set when the run stopped early (kernel died, ...)
    why: str = ""                           # why only the visible tests were used, when they were
    sandbox: str = ""                       # set when the kernel ran without the grading sandbox
    printed: bool = field(default=False, repr=False)  # self_grade has printed the table already

    @property
    def score(self) -> float:
        return sum(r.points for r in self.results)

    @property
    def max_score(self) -> float:
        return sum(r.max_points for r in self.results)

    def table(self) -> str:
        width = max([len(r.name) for r in self.results] + [8])
        lines = [f"{self.notebook.name}: {self.score:g} / {self.max_score:g} points ({self.mode})",
                 f"  {'exercise'.ljust(width)}  points   result"]
        for r in self.results:
            verdict = "passed" if r.passed else r.message
            lines.append(f"  {r.name.ljust(width)}  {f'{r.points:g} / {r.max_points:g}'.ljust(7)}  {verdict}")
        if self.why:
            lines.append(f"  {self.mode}: {self.why}")
        if self.problem:
            lines.append(f"  note: {self.problem}")
        if self.sandbox:
            lines.append(f"  sandbox: {self.sandbox}")
        return "\n".join(lines)

    def _ipython_display_(self) -> None:
        """In a notebook cell: the table once (self_grade printed it already), never a long repr."""
        if not self.printed:
            print(self.table())


def _test_ids(nb) -> set[str]:
    return {grade_id(c) for c in nb.cells if is_test_cell(c)}


def which_lesson(notebook: Path, root: Path, submission=None) -> str | None:
    """The lesson ``notebook`` is a copy of, from its name, its folder or, failing both, its test cells.

    "01_fundamentals.ipynb", "01_fundamentals-Copy1.ipynb" and "workspace/01_fundamentals/mine.ipynb"
    are all lesson 01_fundamentals.
    """
    lessons = sorted({p.name for folder in ("solutions", "notebooks") for p in lesson_dirs(root, folder)},
                     key=len, reverse=True)  # the longest name first: "01_a_b" before "01_a"
    for name in (notebook.stem, notebook.parent.name):
        for lesson in lessons:
            if name == lesson or name.startswith(lesson):
                return lesson
    if submission is not None:  # renamed and moved: the lesson whose release has the same test cells
        mine = _test_ids(submission)
        for lesson in lessons:
            release = root / "notebooks" / lesson / f"{lesson}.ipynb"
            if mine and release.exists() and mine <= _test_ids(read_notebook(release)):
                return lesson
    return None


def find_reference(notebook: Path, submission=None) -> tuple[Path | None, str, str]:
    """The course's copy of this lesson, the mode, and why the hidden tests are missing (if they are).

    The instructor source (solutions/, with hidden tests) when it is in the course folder, else
    the release (notebooks/). Without either, (None, visible, why): the notebook's own tests are used.
    """
    own = notebook.parent.resolve()  # course files beside the notebook came with it: never trusted
    roots = [find_course_root(start) for start in (own.parent, Path.cwd()) if start.resolve() != own]
    root = next((r for r in roots if r is not None and r != own), None)
    if root is None:
        return None, VISIBLE, ("no course folder (one with nbgrader_config.py) around this notebook, so "
                               "its own test cells were used as they are")
    lesson = which_lesson(notebook, root, submission)
    if lesson is None:
        return None, VISIBLE, (f"no lesson of {root} matches this notebook's name or test cells, so its "
                               "own test cells were used as they are")
    source = root / "solutions" / lesson / f"{lesson}.ipynb"
    if source.exists():
        return source, HIDDEN, ""
    release = root / "notebooks" / lesson / f"{lesson}.ipynb"
    if release.exists():
        return release, VISIBLE, f"the hidden tests are in the instructor's solutions/, which {root} does not have"
    return None, VISIBLE, f"{root} has no copy of {lesson}, so this notebook's own test cells were used as they are"


def restore_locked_cells(submission, reference):
    """Put the reference's read-only and test cells into ``submission``; re-add deleted ones."""
    nb = copy.deepcopy(submission)
    position = {grade_id(c): i for i, c in enumerate(nb.cells) if grade_id(c)}
    previous_index = -1  # where the last reference cell sits in nb
    for ref_cell in reference.cells:
        gid = grade_id(ref_cell)
        if gid is None:
            continue
        locked = nbgrader_meta(ref_cell).get("locked") or is_test_cell(ref_cell)
        if gid in position:
            index = position[gid]
            if locked:
                nb.cells[index] = copy.deepcopy(ref_cell)
        elif locked:
            index = previous_index + 1
            nb.cells.insert(index, copy.deepcopy(ref_cell))
            position = {grade_id(c): i for i, c in enumerate(nb.cells) if grade_id(c)}
        else:
            continue
        previous_index = position[gid]
    return nb


def only_lesson_tests(nb, reference):
    """Cells of ``nb`` that claim a test the reference lacks, or repeat one, become ordinary cells (in place)."""
    lesson, seen = _test_ids(reference), set()
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid is not None and (gid in seen or (is_test_cell(cell) and gid not in lesson)):
            del cell.metadata["nbgrader"]
        elif gid is not None:
            seen.add(gid)
    return nb


def _first_error(cell) -> str | None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            value = str(output.get("evalue", "")).strip().splitlines()
            return f"{output.get('ename', 'Error')}: {value[0] if value else ''}".rstrip(": ")
    return None


def self_grade(path: str | os.PathLike, reference: str | os.PathLike | None = None,
               timeout: int = 120, verbose: bool = True) -> GradeReport:
    """Grade the notebook at ``path``; print and return the per-exercise table.

    Raises NotebookError (one line) when the file is missing or not a lesson notebook.
    """
    from nbclient.exceptions import DeadKernelError

    from course_lib.pipeline.split import SplitNotebookClient

    path = Path(path)
    submission = read_notebook(path)
    if reference is None:
        ref_path, mode, why = find_reference(path, submission)
    else:
        ref_path, mode, why = Path(reference), "reference given", ""
    ref_nb = read_notebook(ref_path) if ref_path is not None else submission
    if not any(is_test_cell(c) for c in ref_nb.cells):
        raise NotebookError(f"{path}: no graded test cells, so not a lesson notebook")

    nb = strip_outputs(restore_locked_cells(only_lesson_tests(copy.deepcopy(submission), ref_nb), ref_nb))
    report = GradeReport(notebook=path, mode=mode, why=why)
    from course_lib.pipeline.sandbox import SandboxedKernelManager, sandbox_problem
    unsandboxed = sandbox_problem()
    if unsandboxed:
        report.sandbox = f"none ({unsandboxed}): the notebook ran as you, with access to your files"
    previous = os.environ.get("NBGRADER_EXECUTION")
    os.environ["NBGRADER_EXECUTION"] = "autograde"  # heavy demo cells skip, as under nbgrader
    sandbox = {} if unsandboxed else {"kernel_manager_class": SandboxedKernelManager}
    client = SplitNotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            interrupt_on_timeout=True, resources={"metadata": {"path": str(path.parent.resolve())}},
                            **sandbox)
    client.lesson = ref_nb if ref_path is not None else None   # the lesson's own code: the helpers it hands out
    # The kernel's own start-up messages (a warning about its TCP transport) would show in red in the
    # learner's cell: they go to a file instead, read only to explain a kernel that died.
    kernel_log = tempfile.TemporaryFile(mode="w+")
    try:
        client.execute(stdout=kernel_log, stderr=kernel_log)
    except DeadKernelError:
        report.problem = ("the kernel died while running the notebook (a crash, os._exit, or memory "
                          "exhaustion); tests after that point score 0")
        kernel_log.seek(0)
        last = [line.strip() for line in kernel_log.read().splitlines() if line.strip()][-1:]
        report.problem += f" (its last message: {last[0][:200]})" if last else ""
    except Exception as error:  # execution machinery failed: still report what ran
        report.problem = f"execution stopped: {type(error).__name__}: {str(error).strip()[:200]}"
    finally:
        kernel_log.close()
        if previous is None:
            os.environ.pop("NBGRADER_EXECUTION", None)
        else:
            os.environ["NBGRADER_EXECUTION"] = previous

    for cell in nb.cells:
        if not is_test_cell(cell):
            continue
        points = float(nbgrader_meta(cell).get("points", 0))
        ran = cell.get("execution_count") is not None or cell.get("outputs")
        error = _first_error(cell) if ran else "not run (the notebook stopped before this cell)"
        report.results.append(ExerciseResult(grade_id(cell), 0.0 if error else points, points, error or ""))
    if verbose:
        print(report.table(), file=sys.stdout)
        report.printed = True
    return report
