"""Reading, writing and inspecting lesson notebooks, with one-line errors for bad files."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import nbformat


class NotebookError(ValueError):
    """A notebook file is missing or unreadable; the message is one line that says which and why."""


def read_notebook(path: str | os.PathLike) -> nbformat.NotebookNode:
    """Load a notebook, turning every way a file can be bad into a one-line NotebookError."""
    path = Path(path)
    if not path.exists():
        raise NotebookError(f"{path}: no such file")
    if path.is_dir():
        raise NotebookError(f"{path}: is a folder, expected a .ipynb notebook file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise NotebookError(f"{path}: not a text file (byte {error.start} is not UTF-8)") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise NotebookError(
            f"{path}: not valid notebook JSON ({error.msg} at line {error.lineno}, column {error.colno})"
        ) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        raise NotebookError(f"{path}: JSON without a list of cells, so not a notebook")
    if raw.get("nbformat") != 4:
        raise NotebookError(f"{path}: notebook format {raw.get('nbformat')!r}, expected 4")
    try:
        return nbformat.reads(text, as_version=4)
    except Exception as error:  # nbformat's own validation messages are long: keep the first line
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise NotebookError(f"{path}: not a valid notebook ({first})") from None


def write_notebook(nb: nbformat.NotebookNode, path: str | os.PathLike) -> None:
    """Write ``nb`` to a temporary file beside ``path`` and rename it: never a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            nbformat.write(nb, handle)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def nbgrader_meta(cell) -> dict:
    """The cell's nbgrader metadata ({} for an ordinary cell)."""
    return dict(cell.get("metadata", {}).get("nbgrader", {}))


def grade_id(cell) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


def is_test_cell(cell) -> bool:
    """An autograded test cell: a graded code cell that is not an answer cell."""
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def is_answer_cell(cell) -> bool:
    return cell.cell_type == "code" and bool(nbgrader_meta(cell).get("solution"))


def strip_outputs(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove outputs and execution counts in place (notebooks are committed clean)."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def lesson_dirs(root: str | os.PathLike, folder: str = "solutions") -> list[Path]:
    """The lesson folders (``NN_topic``) under ``root/folder``, in order."""
    base = Path(root) / folder
    return sorted(p for p in base.iterdir() if p.is_dir() and p.name[:2].isdigit()) if base.exists() else []


def find_course_root(start: str | os.PathLike) -> Path | None:
    """The nearest folder at or above ``start`` holding nbgrader_config.py and solutions/ or notebooks/."""
    here = Path(start).resolve()
    for folder in [here, *here.parents]:
        if (folder / "nbgrader_config.py").exists() and (
                (folder / "solutions").is_dir() or (folder / "notebooks").is_dir()):
            return folder
    return None
