"""Run a notebook top to bottom in a fresh kernel and measure its time and peak memory.

Used by the test suite (every lesson must fit its budget) and by bench/lesson_budgets.py.
Run as ``python -m course_lib.pipeline.execute NOTEBOOK``: it prints one JSON line. The peak
memory is the kernel's maximum resident set size, read from the kernel process's own
accounting after it exits, so it is exact and costs nothing while the notebook runs.
"""
from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path


def execute_notebook(path: str | os.PathLike, timeout: int = 600, grading: bool = False) -> dict:
    """Execute ``path`` (in this process's child kernel); return seconds, peak MB and the first error.

    Call it in a fresh process (as ``__main__`` below does): the peak memory is the largest
    child process this process has waited for, which is then the kernel.
    """
    from nbclient import NotebookClient

    from course_lib.pipeline.notebooks import read_notebook

    path = Path(path)
    nb = read_notebook(path)
    if grading:
        os.environ["NBGRADER_EXECUTION"] = "autograde"
    else:
        os.environ.pop("NBGRADER_EXECUTION", None)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent.resolve())}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    errors = [
        f"cell {i} ({cell.get('id', '?')}): {out.get('ename')}: {str(out.get('evalue', ''))[:300]}"
        for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
        for out in cell.get("outputs", []) if out.get("output_type") == "error"
    ]
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # Linux: kilobytes
    return {"notebook": str(path), "seconds": round(seconds, 2), "peak_mb": round(peak_kb / 1024, 1),
            "errors": errors}


if __name__ == "__main__":
    grading = "--grading" in sys.argv
    paths = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(paths) != 1:
        sys.exit("usage: python -m course_lib.pipeline.execute NOTEBOOK [--grading]")
    print(json.dumps(execute_notebook(paths[0], grading=grading)))
