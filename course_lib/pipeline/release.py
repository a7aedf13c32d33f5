"""Regenerate the student release (notebooks/) from the instructor source (solutions/).

nbgrader's ``generate_assignment`` does the work: it replaces each ``### BEGIN SOLUTION`` block
with a stub, drops hidden tests, locks test cells and records checksums. It runs in a temporary
course folder so the repository never gets a stray gradebook, and each lesson's release is
written file by file through a temporary name, so an interrupted run leaves the old release intact.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from course_lib.pipeline.nbgrader_cli import run_nbgrader
from course_lib.pipeline.notebooks import lesson_dirs, read_notebook, strip_outputs, write_notebook


class ReleaseError(RuntimeError):
    """nbgrader refused to generate a lesson; the message carries its explanation."""


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
                    write_notebook(strip_outputs(read_notebook(source)), target)
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, target)
                written.append(target)
    return written
