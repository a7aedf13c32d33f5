"""Sandbox users: when grading as root, each kernel runs as a uid that no other kernel on the machine has.

Gradings run at once in several processes (``llmcourse grade`` workers, self-grading, parallel test
workers); a shared uid would share the process limit (one submission's fork bomb starving another)
and the files the user may touch. ``claim_uid`` hands out uids under an exclusive lock per uid.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from course_lib.pipeline import sandbox
from course_lib.pipeline.sandbox import FIRST_UID, claim_uid
from course_lib.pipeline.self_grade import self_grade

HOLD = """import sys
from pathlib import Path
from course_lib.pipeline.sandbox import claim_uid
uid, lock = claim_uid(folder=Path(sys.argv[1]))
print(uid, flush=True)
sys.stdin.read()  # holds the uid until the test closes our stdin
"""


def test_each_claim_gets_its_own_uid_until_released(tmp_path):
    first, first_lock = claim_uid(folder=tmp_path)
    second, second_lock = claim_uid(folder=tmp_path)
    preferred, preferred_lock = claim_uid(FIRST_UID + 7, folder=tmp_path)
    assert (first, second, preferred) == (FIRST_UID, FIRST_UID + 1, FIRST_UID + 7)
    first_lock.close()
    again, again_lock = claim_uid(folder=tmp_path)
    assert again == FIRST_UID  # released: free again
    for lock in (second_lock, preferred_lock, again_lock):
        lock.close()


def test_a_uid_held_by_another_process_is_skipped_until_that_process_ends(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert int(holder.stdout.readline()) == FIRST_UID
        uid, lock = claim_uid(folder=tmp_path)
        assert uid == FIRST_UID + 1
        lock.close()
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    uid, lock = claim_uid(folder=tmp_path)
    assert uid == FIRST_UID
    lock.close()


def test_every_uid_taken_and_a_folder_others_can_write_are_named(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "UIDS", 2)
    locks = [claim_uid(folder=tmp_path)[1] for _ in range(2)]
    with pytest.raises(RuntimeError, match=r"all 2 sandbox users \(64000-64001\) are in use"):
        claim_uid(folder=tmp_path)
    for lock in locks:
        lock.close()
    open_folder = tmp_path / "open"
    open_folder.mkdir()
    open_folder.chmod(0o777)
    with pytest.raises(RuntimeError, match="no one else can write"):
        claim_uid(folder=open_folder)
    (tmp_path / "link").symlink_to(open_folder)
    with pytest.raises(RuntimeError, match="no one else can write"):
        claim_uid(folder=tmp_path / "link")


def _lesson(path, seconds: float):
    """A lesson whose learner cell takes ``seconds`` and notes its kernel's uid; its test fails, naming that uid."""
    learner = new_code_cell(f"import os, time\ntime.sleep({seconds})\nwho = os.getuid()", id="mine")
    test = new_code_cell("raise AssertionError(f'uid {who}')", id="who",
                         metadata={"nbgrader": {"grade": True, "grade_id": "who", "locked": True, "points": 1,
                                                "schema_version": 3, "solution": False, "task": False}})
    path.parent.mkdir(parents=True)
    nbformat.write(new_notebook(cells=[learner, test]), path)
    return path


def test_two_gradings_at_once_run_as_different_users(tmp_path, monkeypatch):
    if os.getuid() != 0:
        pytest.skip("sandbox users are given out only when grading as root")
    if sandbox.sandbox_problem():
        pytest.skip(f"the sandbox cannot run here: {sandbox.sandbox_problem()}")
    claimed, first_claimed = [], threading.Event()

    def recorded_claim(*args, **kwargs):
        uid, lock = claim_uid(*args, **kwargs)
        claimed.append(uid)
        first_claimed.set()
        return uid, lock

    monkeypatch.setattr(sandbox, "claim_uid", recorded_claim)
    slow, fast = _lesson(tmp_path / "a" / "slow.ipynb", 8), _lesson(tmp_path / "b" / "fast.ipynb", 0)
    reports = {}
    first = threading.Thread(target=lambda: reports.update(slow=self_grade(slow, reference=slow, verbose=False)))
    first.start()
    try:
        assert first_claimed.wait(timeout=120), "the first grading never started its kernel"
        reports["fast"] = self_grade(fast, reference=fast, verbose=False)  # while the first kernel sleeps
    finally:
        first.join(timeout=300)
    messages = [reports[name].results[0].message for name in ("slow", "fast")]
    assert messages == [f"AssertionError: uid {uid}" for uid in claimed], (messages, claimed)
    assert len(set(claimed)) == 2 and all(uid >= FIRST_UID for uid in claimed), claimed
