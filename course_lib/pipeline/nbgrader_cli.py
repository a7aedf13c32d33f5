"""Running nbgrader's command line from Python, from any virtual environment."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def nbgrader_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for an nbgrader subprocess.

    nbgrader runs ``alembic`` from PATH when it creates a gradebook, so the folder of this
    Python's scripts goes first on PATH: a virtual environment need not be activated.
    """
    env = dict(os.environ)
    scripts = str(Path(sys.executable).parent)
    env["PATH"] = scripts + os.pathsep + env.get("PATH", "")
    env.update(extra or {})
    return env


def run_nbgrader(args: list[str], cwd: str | os.PathLike, timeout: float | None = None,
                 preexec_fn=None) -> subprocess.CompletedProcess:
    """``nbgrader ARGS`` in ``cwd`` (a course folder with nbgrader_config.py); output captured."""
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=cwd, env=nbgrader_env(), capture_output=True, text=True, timeout=timeout,
        preexec_fn=preexec_fn, stdin=subprocess.DEVNULL,
    )
