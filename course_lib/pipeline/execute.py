"""Run a notebook top to bottom in a fresh kernel and measure its CPU time, wall time and peak memory.

Used by the test suite (every lesson must fit its budget) and by bench/lesson_budgets.py.
Run as ``python -m course_lib.pipeline.execute NOTEBOOK``: it prints one JSON line. The kernel's
CPU time (user + system) and peak memory (maximum resident set size) are read from the kernel
process's own accounting after it exits, so they are exact and cost nothing while it runs.

The budget is on CPU time, not wall time: on a machine shared with other work (Binder, CI) a
notebook waits for the CPU, and its wall time grows with the load while its CPU time does not.
"""
from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path


def execute_notebook(path: str | os.PathLike, timeout: int = 600, grading: bool = False) -> dict:
    """Execute ``path`` in a child kernel; return its CPU seconds, wall seconds, peak MB and errors.

    Call it in a fresh process (as ``__main__`` below does): the children this process has
    waited for are then the kernel alone (and whatever the kernel itself started and waited for),
    so their CPU time and largest resident set are the notebook's.
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
    kernel = resource.getrusage(resource.RUSAGE_CHILDREN)  # the kernel, which has exited by now
    return {"notebook": str(path), "cpu_seconds": round(kernel.ru_utime + kernel.ru_stime, 2),
            "seconds": round(seconds, 2), "peak_mb": round(kernel.ru_maxrss / 1024, 1),  # Linux: kilobytes
            "errors": errors}


if __name__ == "__main__":
    grading = "--grading" in sys.argv
    paths = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(paths) != 1:
        sys.exit("usage: python -m course_lib.pipeline.execute NOTEBOOK [--grading]")
    print(json.dumps(execute_notebook(paths[0], grading=grading)))
