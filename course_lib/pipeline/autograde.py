"""nbgrader's autograder for one submission, with the course's safeguards added to its steps.

Run as ``python -m course_lib.pipeline.autograde ASSIGNMENT STUDENT [nbgrader options]`` from the
course folder (``class_grade`` does); it is ``nbgrader autograde ASSIGNMENT --student STUDENT --force``
with these changes:

- ``CourseStructure`` (before nbgrader's own checks): the graded cells are the lesson's. A cell whose
  nbgrader metadata names no cell of the lesson, or repeats one already seen, becomes an ordinary
  cell (worth nothing); a lesson cell whose metadata was edited gets the lesson's back. Each change
  is reported by cell, instead of nbgrader failing with "Please see the above traceback".
- ``SplitExecute``: the learner's kernel runs in the sandbox of ``course_lib.pipeline.sandbox``, and each
  test cell runs in a separate checker kernel that learner code never reaches (``course_lib.pipeline.split``):
  the expected values, hidden tests and comparisons are out of the submission's reach.
- ``CourseScoring``: a test cell scores when it raised nothing. Warnings (stderr) in it do not cost
  points, and a value it shows is never taken as partial credit.
- ``SafeOutputs``: what reaches the formgrader and feedback is sanitised: no script, no event
  handlers, no JavaScript or other active outputs (nbconvert's ``SanitizeHTML``, with bleach).

Each report line it prints starts with ``NOTE_PREFIX``; ``class_grade`` collects them.
"""
from __future__ import annotations

import sys
from pathlib import Path

from nbconvert.preprocessors.sanitize import SanitizeHTML
from nbgrader.api import Gradebook
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Bool

from course_lib.pipeline.notebooks import NotebookError, is_test_cell, read_notebook
from course_lib.pipeline.split import SplitCells

NOTE_PREFIX = "course-note: "
FLAGS = ("grade", "solution", "locked", "task", "points")


def _note(text: str) -> None:
    print(NOTE_PREFIX + text, file=sys.stderr, flush=True)


class CourseStructure(NbGraderPreprocessor):
    """Make the notebook's graded cells exactly the lesson's (from the gradebook), whatever it claims."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gradebook:
            lesson = gradebook.find_notebook(info["notebook"], info["assignment"])
            source = {c.name: (c.cell_type, bool(c.locked), c.source, c.checksum) for c in lesson.source_cells}
            points = {c.name: float(c.max_score) for c in lesson.grade_cells}
            answers = {c.name for c in lesson.solution_cells}
            tasks = {c.name for c in lesson.task_cells}
        seen = set()
        for number, cell in enumerate(nb.cells, start=1):
            claimed = cell.get("metadata", {}).get("nbgrader")
            if claimed is None:
                continue
            gid = claimed.get("grade_id") if isinstance(claimed, dict) else None
            label = f"cell {number}" + (f" ({str(gid)[:40]!r})" if gid is not None else "")
            if not isinstance(gid, str) or gid not in source or gid in seen:
                why = "repeats a cell of the lesson" if gid in seen else "names no cell of the lesson"
                _note(f"{label}: its nbgrader metadata {why}; graded as an ordinary cell, worth nothing")
                del cell.metadata["nbgrader"]
                continue
            seen.add(gid)
            cell_type, locked, text, checksum = source[gid]
            lesson_meta = {"grade": gid in points, "grade_id": gid, "locked": locked, "schema_version": 3,
                           "solution": gid in answers, "task": gid in tasks, "checksum": checksum,
                           "cell_type": cell_type}
            if gid in points:
                lesson_meta["points"] = points[gid]
            changed = [k for k in FLAGS if _plain(claimed.get(k)) != _plain(lesson_meta.get(k))]
            if cell.cell_type != cell_type:
                changed.append("cell type")
                cell.cell_type = cell_type
                if cell_type == "code":
                    cell.setdefault("outputs", [])
                    cell.setdefault("execution_count", None)
                else:
                    cell.pop("outputs", None)
                    cell.pop("execution_count", None)
            if changed:
                _note(f"{label}: its {', '.join(changed)} differed from the lesson's; the lesson's was put back")
            if locked:
                cell.source = text
            cell.metadata["nbgrader"] = lesson_meta
        return nb, resources


def _plain(value):
    """Metadata values compared as the lesson means them (2 == 2.0 points; a missing flag is False)."""
    if value is None or value is False:
        return False
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


class SandboxedExecute(Execute):
    """nbgrader's Execute, with the kernel in the course's sandbox (unless ``sandboxed`` is False)."""

    sandboxed = True

    def __init__(self, *args, **kwargs):
        if self.sandboxed:
            from course_lib.pipeline.sandbox import SandboxedKernelManager
            kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)


class SplitExecute(SplitCells, SandboxedExecute):
    """SandboxedExecute, with each test cell run in a checker kernel that learner code never reaches."""

    def preprocess(self, nb, resources=None, km=None):
        self.lesson = _lesson_notebook(self, resources or {})
        return super().preprocess(nb, resources, km)


def _lesson_notebook(preprocessor, resources: dict):
    """The instructor's source notebook of the one being graded (nbgrader's course folder), or None."""
    info = resources.get("nbgrader", {})
    converter = getattr(getattr(preprocessor, "parent", None), "parent", None)
    coursedir = getattr(converter, "coursedir", None)
    if coursedir is None or not info.get("assignment") or not info.get("notebook"):
        return None
    path = Path(coursedir.format_path(coursedir.source_directory, ".", info["assignment"])) / f"{info['notebook']}.ipynb"
    try:
        return read_notebook(path)
    except NotebookError:
        return None


class CourseScoring(NbGraderPreprocessor):
    """A test cell scores when it raised nothing: stderr is shown as plain output, results are not scores."""

    def preprocess_cell(self, cell, resources, index):
        if is_test_cell(cell):
            for output in cell.outputs:
                if output.output_type == "stream" and output.name == "stderr":
                    output.name = "stdout"  # a warning is not a failure
                elif output.output_type == "execute_result":
                    output.output_type = "display_data"  # nbgrader would read a number as partial credit
                    output.pop("execution_count", None)
        return cell, resources


class SafeOutputs(SanitizeHTML):
    """nbconvert's SanitizeHTML on outputs and on the learner's own text; the lesson's locked cells are kept."""

    enabled = Bool(True).tag(config=True)  # nbconvert's preprocessors start disabled

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" and cell.get("metadata", {}).get("nbgrader", {}).get("locked"):
            return cell, resources
        return super().preprocess_cell(cell, resources, index)


SANITIZE = ["nbgrader.preprocessors.ClearOutput", f"{__name__}.CourseStructure", "nbgrader.preprocessors.DeduplicateIds",
            "nbgrader.preprocessors.OverwriteKernelspec", "nbgrader.preprocessors.OverwriteCells",
            "nbgrader.preprocessors.CheckCellMetadata"]
AUTOGRADE = [f"{__name__}.SplitExecute", f"{__name__}.CourseScoring", f"{__name__}.SafeOutputs",
             "nbgrader.preprocessors.IgnorePattern", "nbconvert.preprocessors.ClearMetadataPreprocessor",
             "nbgrader.preprocessors.LimitOutput", "nbgrader.preprocessors.SaveAutoGrades",
             "nbgrader.preprocessors.AssignLatePenalties", "nbgrader.preprocessors.CheckCellMetadata"]


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: python -m course_lib.pipeline.autograde ASSIGNMENT STUDENT [--no-sandbox] [nbgrader options]",
              file=sys.stderr)
        return 2
    assignment, student, *options = argv
    if "--no-sandbox" in options:
        options.remove("--no-sandbox")
        SandboxedExecute.sandboxed = False
    from jupyter_core.application import NoStart
    from nbgrader.apps.nbgraderapp import NbGraderApp

    steps = [f"--Autograde.sanitize_preprocessors={p}" for p in SANITIZE]
    steps += [f"--Autograde.autograde_preprocessors={p}" for p in AUTOGRADE]
    app = NbGraderApp.instance()
    app.initialize(["autograde", assignment, "--student", student, "--force", *steps, *options])
    try:
        app.start()
    except NoStart:  # how a Jupyter application says it has finished its subcommand
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
