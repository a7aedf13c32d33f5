"""Regenerate the student release (notebooks/) from the instructor source (solutions/).

nbgrader's ``generate_assignment`` does the work: it replaces each ``### BEGIN SOLUTION`` block
with a stub, drops hidden tests, locks test cells and records checksums. It runs in a temporary
course folder so the repository never gets a stray gradebook, and each lesson's release is
written file by file through a temporary name, so an interrupted run leaves the old release intact.

Every test cell of the release is tagged ``raises-exception``. In the learner's copy the test
cell of an unanswered or wrong exercise raises; with the tag, JupyterLab's Run All shows that
failure in place and goes on with the rest of the lesson (it sends ``stop_on_error: false``
for that cell, so the kernel keeps the cells queued after it). Grading is unchanged: nbgrader
and self-grading run with errors allowed anyway and score a test cell 0 when its output holds
an error, and nbgrader's cell checksums do not cover tags.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from course_lib.pipeline.nbgrader_cli import run_nbgrader
from course_lib.pipeline.notebooks import is_test_cell, lesson_dirs, read_notebook, strip_outputs, write_notebook

RUN_ALL_CONTINUES = "raises-exception"  # the cell tag JupyterLab, nbclient and nbval honour


class ReleaseError(RuntimeError):
    """nbgrader refused to generate a lesson; the message carries its explanation."""


def let_run_all_continue(nb):
    """Tag every test cell of ``nb`` ``raises-exception`` (in place), so Run All goes past a failure."""
    for cell in nb.cells:
        if is_test_cell(cell):
            tags = list(cell.metadata.get("tags", []))
            if RUN_ALL_CONTINUES not in tags:
                cell.metadata["tags"] = [*tags, RUN_ALL_CONTINUES]
    return nb


def generate_release(root: str | Path, lessons: list[str] | None = None,
                     out: str | Path | None = None) -> list[Path]:
    """Generate the release of ``lessons`` (default: all) from ``root/solutions`` into ``out``.

    ``out`` defaults to ``root/notebooks``. Returns the notebook files written.
    """
    root = Path(root).resolve()
    out = Path(out) if out is not None else root / "notebooks"
    available = {p.name: p for p in lesson_dirs(root, "solutions")}
    names = lessons or sorted(available)
    unknown = [n for n in names if n not in available]
    if unknown:
        raise ReleaseError(f"no lesson {unknown} in {root / 'solutions'}: expected one of {sorted(available)}")
    written = []
    with tempfile.TemporaryDirectory(prefix="release-") as scratch:
        course = Path(scratch)
        shutil.copy(root / "nbgrader_config.py", course / "nbgrader_config.py")
        for name in names:
            shutil.copytree(available[name], course / "solutions" / name,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        for name in names:
            result = run_nbgrader(["generate_assignment", name, "--force", "--log-level=WARN"], cwd=course)
            if result.returncode != 0:
                raise ReleaseError(f"nbgrader could not generate {name}:\n{result.stdout}{result.stderr}")
            generated = course / "notebooks" / name
            for source in sorted(generated.rglob("*")):
                if source.is_dir():
                    continue
                target = out / name / source.relative_to(generated)
                if source.suffix == ".ipynb":
                    write_notebook(let_run_all_continue(strip_outputs(read_notebook(source))), target)
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, target)
                written.append(target)
    return written
