"""A learner's own copies of the lessons, made once and never overwritten."""
from __future__ import annotations

import shutil
from pathlib import Path

from course_lib.pipeline.notebooks import lesson_dirs


def make_workspace(root: str | Path, folder: str | Path = "workspace") -> list[Path]:
    """Copy each lesson of ``root/notebooks`` into ``folder`` unless it is already there.

    Returns the lessons copied now. Existing copies (your answers) are left alone, so new
    lessons arrive with a ``git pull`` and your work on earlier ones stays.
    """
    root = Path(root)
    target = Path(folder)
    if not target.is_absolute():
        target = root / target
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for lesson in lesson_dirs(root, "notebooks"):
        destination = target / lesson.name
        if not destination.exists():
            shutil.copytree(lesson, destination)
            copied.append(destination)
    return copied
