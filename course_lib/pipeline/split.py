"""Split grading: the learner's cells run in their (sandboxed) kernel, the test cells in a checker kernel.

``SplitCells`` is mixed into the notebook clients that grade (nbgrader's autograder in
``autograde.py``, self-grading in ``self_grade.py``). For each test cell it

1. has the learner's kernel run the agent (``course_lib.pipeline.agent.serve``), which connects to
   the checker's socket and waits for requests;
2. runs the test cell in the checker kernel, after giving it the learner's value of each name the
   cell uses and does not define (``course_lib.pipeline.checker.bind``);
3. releases the learner's kernel, which goes back to the notebook, and asks the checker for its
   verdict on how the answers were written (``borrowing``): a test cell whose checks passed on the
   library's own answer, called by the learner's code, fails with that reason.

The test cell's outputs, and so its score, come from the checker kernel alone. If the learner's
kernel does not come back (its code hangs), it is interrupted. ``lesson``, the instructor's notebook,
tells which library functions the lesson's own code used before each test cell (a learner may
use those); without it only the same-name rule holds.
"""
from __future__ import annotations

import ast
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.util import run_sync
from traitlets import Integer

from course_lib.borrowing import names_in_code
from course_lib.pipeline.notebooks import grade_id, is_answer_cell, is_test_cell
from course_lib.pipeline.sandbox import Limits

RELEASE_SECONDS = 30   # how long the learner's kernel has to return to its notebook after a test cell
RELEASE = "_course_checker_.release()"   # run in the checker kernel after each test cell
VERDICT = "_course_checker_.last_verdict"   # read after RELEASE: why the cell fails anyway ("" if it does not)


def serve_command(path: str) -> str:
    """What the learner's kernel runs while a test cell runs: the agent, answering at ``path``."""
    return f"__import__('course_lib.pipeline.agent', fromlist=['serve']).serve({path!r}, globals())"


def start_command(path: str) -> str:
    """What makes a fresh kernel the checker, listening at ``path``."""
    return f"from course_lib.pipeline import checker as _course_checker_\n_course_checker_.start({path!r})"


def bind_command(source: str, shown: list[str] | None = None) -> str:
    """What the checker kernel runs before the test cell ``source``: the learner's values of its free names.
    ``shown``: the names the lesson's code used before the cell (``shown_before``), None if unknown."""
    return f"_course_checker_.bind({source!r}, get_ipython().user_ns, {shown!r})"


def shown_before(lesson, test_cell) -> list[str] | None:
    """The names the lesson's own code cells (not answers, not tests) use before ``test_cell``; None when
    ``lesson`` is unknown or lacks the cell."""
    if lesson is None:
        return None
    gid = grade_id(test_cell)
    for index, cell in enumerate(lesson.cells):
        if is_test_cell(cell) and gid is not None and grade_id(cell) == gid:
            before = [c.source for c in lesson.cells[:index]
                      if c.cell_type == "code" and not is_test_cell(c) and not is_answer_cell(c)]
            return sorted(names_in_code(before))
    return None


def failure_output(reason: str):
    """The error output a test cell gets when the checker's verdict fails it."""
    return nbformat.v4.new_output("error", ename="ExerciseFailure", evalue=reason,
                                  traceback=[f"ExerciseFailure: {reason}"])


class CheckerKernelManager(AsyncKernelManager):
    """The checker's kernel: the grader's own Python, its address space capped (util-linux's prlimit,
    where it exists) as the learner's is, so that replies flooding it end in a MemoryError in one test
    cell, not in the machine running out of memory."""

    memory_bytes = Integer(Limits.memory_bytes).tag(config=True)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        command = super().format_kernel_cmd(extra_arguments)
        prlimit = shutil.which("prlimit")
        return [prlimit, f"--as={self.memory_bytes}", "--", *command] if prlimit else command


class SplitCells:
    """Mixin for an nbclient NotebookClient: test cells go to a checker kernel of their own."""

    split = True
    lesson = None     # the instructor's notebook (nbformat), when known
    _checker = None   # (kernel manager, kernel client, socket path, its working folder, the socket's folder)

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if not (self.split and is_test_cell(cell) and cell.source.strip()):
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        checker_km, checker_kc, path = await self._checker_kernel()
        learner_kc, learner_km = self.kc, self.km
        serve = learner_kc.execute(serve_command(path), silent=True, store_history=False, allow_stdin=False)
        self.kc, self.km = checker_kc, checker_km
        verdict = ""
        try:
            await self._quietly(bind_command(cell.source, shown_before(self.lesson, cell)))
            cell = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        finally:
            try:
                verdict = await self._quietly(RELEASE, VERDICT)
            finally:
                self.kc, self.km = learner_kc, learner_km
                await self._learner_back(serve)
        if verdict and not any(output.get("output_type") == "error" for output in cell.get("outputs", [])):
            cell.outputs.append(failure_output(verdict))
        return cell

    execute_cell = run_sync(async_execute_cell)   # nbclient binds its own at class creation: rebind ours

    async def _quietly(self, code: str, expression: str | None = None) -> str:
        """Run ``code`` in the current kernel (the checker's), waiting for its reply; output is ignored.
        Returns the value of ``expression`` (a str) evaluated after it, "" if none or not a str."""
        msg_id = self.kc.execute(code, silent=True, store_history=False, allow_stdin=False,
                                 user_expressions={"value": expression} if expression else None)
        reply = await self.async_wait_for_reply(msg_id)
        value = ((reply or {}).get("content", {}).get("user_expressions") or {}).get("value", {})
        text = value.get("data", {}).get("text/plain", "") if value.get("status") == "ok" else ""
        try:
            found = ast.literal_eval(text) if text else ""
        except (ValueError, SyntaxError):
            return ""
        return found if isinstance(found, str) else ""

    async def _learner_back(self, serve_id: str) -> None:
        """Wait for the learner's kernel to finish serving; interrupt it if its code hangs."""
        for attempt in range(2):
            try:
                await asyncio.wait_for(self._reply_to(serve_id), RELEASE_SECONDS)
                return
            except asyncio.TimeoutError:
                if attempt == 0:
                    await self.km.interrupt_kernel()

    async def _reply_to(self, msg_id: str) -> None:
        while True:
            message = await self.kc.shell_channel.get_msg(timeout=None)
            if message.get("parent_header", {}).get("msg_id") == msg_id:
                return

    async def _checker_kernel(self):
        if self._checker is None:
            folder = _socket_folder(self.km)
            path = str(folder / "checker")
            env = {**os.environ, "NBGRADER_EXECUTION": os.environ.get("NBGRADER_EXECUTION", "autograde"),
                   "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONNOUSERSITE": "1"}
            work = Path(tempfile.mkdtemp(prefix="checker-"))  # an empty folder: nothing of the submission
            memory = getattr(self.km, "memory_bytes", Limits.memory_bytes)   # the learner kernel's limit
            km = CheckerKernelManager(kernel_name="python3", memory_bytes=memory)
            await km.start_kernel(cwd=str(work), env=env, extra_arguments=list(self.extra_arguments or []),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            kc = km.client()
            kc.start_channels()
            await kc.wait_for_ready(timeout=self.startup_timeout)
            self._checker = (km, kc, path, work, folder)
            learner = self.kc, self.km
            self.kc, self.km = kc, km
            try:
                await self._quietly(start_command(path))
            finally:
                self.kc, self.km = learner
        km, kc, path, _, _ = self._checker
        return km, kc, path

    async def _async_cleanup_kernel(self) -> None:
        try:
            await super()._async_cleanup_kernel()
        finally:
            if self._checker is not None:
                km, kc, path, work, folder = self._checker
                self._checker = None
                kc.stop_channels()
                await km.shutdown_kernel(now=True)
                shutil.rmtree(work, ignore_errors=True)
                if folder.name.startswith("checker-socket-"):
                    shutil.rmtree(folder, ignore_errors=True)

    _cleanup_kernel = run_sync(_async_cleanup_kernel)


def _socket_folder(km) -> Path:
    """Where the checker's socket goes: the sandbox's shared folder, or a private one without a sandbox."""
    scratch = getattr(km, "_scratch", None)
    if scratch is not None:
        return Path(scratch) / "k"
    folder = Path(tempfile.mkdtemp(prefix="checker-socket-", dir="/tmp" if sys.platform != "win32" else None))
    return folder


class SplitNotebookClient(SplitCells, NotebookClient):
    """nbclient's NotebookClient with split grading (self-grading uses it)."""
