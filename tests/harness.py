"""Test helpers: run code in a real Jupyter kernel, and build a tiny lesson for pipeline tests."""
from __future__ import annotations

import ast
import copy
import json
import subprocess
import sys
from pathlib import Path

import nbformat
from jupyter_client.manager import start_new_kernel

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir() and p.name[:2].isdigit()) \
    if (ROOT / "solutions").is_dir() else []


class Kernel:
    """A live ipykernel: run code and get back the error (ename, evalue) or None."""

    def __init__(self, cwd: Path, env: dict[str, str] | None = None):
        import os
        full_env = dict(os.environ, **(env or {}))
        self.manager, self.client = start_new_kernel(kernel_name="python3", cwd=str(cwd), env=full_env)

    def run(self, code: str, timeout: float = 300) -> tuple[str, str] | None:
        error = []

        def hook(message):
            if message["header"]["msg_type"] == "error":
                error.append((message["content"]["ename"], message["content"]["evalue"]))

        reply = self.client.execute_interactive(code, output_hook=hook, timeout=timeout, store_history=False)
        if reply["content"]["status"] == "error" and not error:
            error.append((reply["content"]["ename"], reply["content"]["evalue"]))
        return error[0] if error else None

    def close(self):
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


class SplitKernel(Kernel):
    """A learner's kernel and a checker kernel: ``run_test`` runs a test cell in the checker, as grading does."""

    def __init__(self, cwd: Path, env: dict[str, str] | None = None):
        import os
        import tempfile

        from course_lib.pipeline.split import start_command
        super().__init__(cwd, env)
        self.folder = Path(tempfile.mkdtemp(prefix="checker-socket-"))
        self.path = str(self.folder / "checker")
        self.checker_manager, self.checker = start_new_kernel(kernel_name="python3", cwd=str(self.folder),
                                                              env=dict(os.environ, **(env or {})))
        assert self._in(self.checker, start_command(self.path)) is None

    def _in(self, client, code: str, timeout: float = 300):
        learner = self.client
        self.client = client
        try:
            return self.run(code, timeout)
        finally:
            self.client = learner

    def run_test(self, code: str, timeout: float = 300, shown: list[str] | None = None) -> tuple[str, str] | None:
        """Run the test cell ``code`` in the checker; ``shown``: the names the lesson's code used before it
        (``split.shown_before``). Returns the error, or the checker's verdict on a cell that passed."""
        from course_lib.pipeline.split import RELEASE, VERDICT, bind_command, serve_command
        serving = self.client.execute(serve_command(self.path), silent=True, store_history=False)
        try:
            self._in(self.checker, bind_command(code, shown))
            error = self._in(self.checker, code, timeout)
        finally:
            self._in(self.checker, RELEASE)
            while self.client.get_shell_msg(timeout=120)["parent_header"].get("msg_id") != serving:
                pass
        verdict = self.checker.execute_interactive("", user_expressions={"v": VERDICT}, timeout=60)
        text = verdict["content"]["user_expressions"]["v"]["data"]["text/plain"]
        reason = ast.literal_eval(text)
        return error or (("ExerciseFailure", reason) if reason else None)

    def close(self):
        super().close()
        self.checker.stop_channels()
        self.checker_manager.shutdown_kernel(now=True)
        import shutil
        shutil.rmtree(self.folder, ignore_errors=True)


def execute_in_subprocess(path: Path, grading: bool = False, timeout: int = 900) -> dict:
    """Execute a notebook in a fresh Python (so its peak memory is the kernel's) and return the stats."""
    command = [sys.executable, "-m", "course_lib.pipeline.execute", str(path)] + (["--grading"] if grading else [])
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _meta(**fields):
    base = {"grade": False, "locked": False, "schema_version": 3, "solution": False, "task": False}
    base.update(fields)
    return {"nbgrader": base}


def toy_lesson() -> nbformat.NotebookNode:
    """A two-exercise lesson in the course's format, fast enough to autograde many times."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                               "language": "python"}, "language_info": {"name": "python"}})
    nb.cells = [
        new_markdown_cell("# Toy lesson", id="title"),
        new_code_cell("import course_lib\ndevice = course_lib.setup_lesson(seed=0)", id="setup",
                      metadata=_meta(grade_id="setup", locked=True)),
        new_code_cell('def double(x):\n    """Twice x."""\n    ### BEGIN SOLUTION\n    return 2 * x\n'
                      '    ### END SOLUTION', id="double", metadata=_meta(grade_id="double", solution=True)),
        new_code_cell('from course_lib.grading import fresh_grader\nG = fresh_grader()\nx = G.torch.arange(3.0)\n'
                      'G.close(G.call(double, x), 2 * x, "double(x)", mistakes={"you returned 3x": 3 * x})\n'
                      '### BEGIN HIDDEN TESTS\nG.close(G.call(double, -x - 7), -2 * x - 14, "double of negatives")\n'
                      '### END HIDDEN TESTS', id="double_tests",
                      metadata=_meta(grade=True, grade_id="double_tests", locked=True, points=2)),
        new_code_cell('def square(x):\n    ### BEGIN SOLUTION\n    squared_secret_value = x * x\n'
                      '    return squared_secret_value\n    ### END SOLUTION', id="square",
                      metadata=_meta(grade_id="square", solution=True)),
        new_code_cell('from course_lib.grading import fresh_grader\nG = fresh_grader()\nx = G.torch.arange(4.0)\n'
                      'G.close(G.call(square, x), x * x, "square(x)")', id="square_tests",
                      metadata=_meta(grade=True, grade_id="square_tests", locked=True, points=3)),
    ]
    return nb


def with_answers(release: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    """A copy of ``release`` whose answer cells (by grade_id) hold the given sources."""
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    return nb
