"""A hostile class on the toy lesson: each attack scores only what its real answers earn, and harms no one.

Every submission below tries one class of attack on `llmcourse grade` (reading the solutions,
writing the gradebook or a classmate's files, backdooring the library, leaving daemons, stopping
the grader, shadowing modules, padding the graded cells, script in outputs). The class is graded
once, in parallel, and the tests read the results. They need the sandbox (bubblewrap): without it
they skip, saying why.
"""
from __future__ import annotations

import csv
import hashlib
import json
import re
import subprocess
import time
from pathlib import Path

import nbformat
import pytest
from harness import ROOT, toy_lesson, with_answers

from course_lib.pipeline.class_grade import (
    export_grades,
    grade_class,
    plain_text,
    spreadsheet_safe,
)
from course_lib.pipeline.notebooks import read_notebook
from course_lib.pipeline.release import generate_release
from course_lib.pipeline.sandbox import sandbox_problem

pytestmark = pytest.mark.slow
GOOD = {"double": "def double(x):\n    return x + x", "square": "def square(x):\n    return x ** 2"}
WRONG_DOUBLE = "def double(x):\n    return 3 * x"
TOKEN = "sleep 777.25"  # a daemon's command line, looked for after grading


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _attacks(root: Path) -> dict[str, str]:
    """Answer cells for `double` that try to cheat or harm; each ends by defining a WRONG double."""
    library = Path(__import__("course_lib").__file__).parent
    site = Path(nbformat.__file__).parent.parent
    return {
        # reads the instructor's source to copy the answer; with it, it would define the right double
        "reader": f"import json\ntry:\n    nb = json.load(open({str(root / 'solutions/00_toy/00_toy.ipynb')!r}))\n"
                  "    exec(next(''.join(c['source']) for c in nb['cells'] if 'def double' in ''.join(c['source'])))\n"
                  f"except OSError:\n    {WRONG_DOUBLE.replace(chr(10), chr(10) + '    ')}",
        # writes everything it should not: gradebook, classmate's files, the library, site-packages
        "vandal": "import os\n"
                  f"for path in [{str(root / 'gradebook.db')!r}, {str(root / 'submitted/good/00_toy/00_toy.ipynb')!r},\n"
                  f"             {str(library / 'grading.py')!r}, {str(site / 'zz_backdoor.pth')!r}]:\n"
                  "    try:\n        open(path, 'a').write('import os  # pwned\\n')\n    except OSError:\n        pass\n"
                  f"    try:\n        os.remove(path) if path.endswith('.ipynb') else None\n    except OSError:\n        pass\n"
                  + WRONG_DOUBLE,
        # leaves daemons behind (one holding its output pipe) and tries to stop every process it can see
        "daemon": "import os, signal, subprocess\n"
                  f"subprocess.Popen({TOKEN.split()!r}, start_new_session=True)\n"
                  f"if os.fork() == 0:\n    os.setsid()\n    os.execvp('sleep', {TOKEN.split()!r})\n"
                  "for pid in [int(p) for p in os.listdir('/proc') if p.isdigit()]:\n"
                  "    if pid != os.getpid():\n        try:\n            os.kill(pid, signal.SIGSTOP)\n"
                  "        except OSError:\n            pass\n" + WRONG_DOUBLE,
        # many processes: the sandbox's process limit stops it, the kernel and the batch go on
        "forkbomb": "import subprocess\nkids = []\ntry:\n    for _ in range(2000):\n"
                    "        kids.append(subprocess.Popen(['sleep', '60']))\nexcept OSError:\n    pass\n"
                    "print(len(kids), 'processes started')\n" + WRONG_DOUBLE,
        # fills the disk: /submission and /tmp are capped, memory-backed folders, the grader's disk is not touched
        "filler": "import os\nwritten = 0\nfor folder in ['.', '/tmp']:\n    for i in range(8):\n        try:\n"
                  "            with open(os.path.join(folder, f'fill{i}'), 'wb') as f:\n"
                  "                for _ in range(200):\n                    f.write(b'x' * 2**20)\n"
                  "                    written += 2**20\n        except OSError:\n            break\n"
                  "print(written // 2**20, 'MB written')\n" + WRONG_DOUBLE,
        **IN_PROCESS,
    }


# Attacks on the grader inside the learner's interpreter: each passed every test while the test cells ran
# in the learner's kernel. With split grading the test cells run in the checker kernel, which none reaches.
PASS_ALL = ("class PassAll:\n    torch = __import__('torch')\n    def __getattr__(self, name):\n"
            "        return lambda *a, **k: (a[0](*a[1:], **k) if name == 'call' else None)\n")
IN_PROCESS = {
    # rebinds the grader's entry point to one that passes everything
    "rebind": PASS_ALL + "import course_lib.grading\ncourse_lib.grading.fresh_grader = lambda: PassAll()\n" + WRONG_DOUBLE,
    # swaps the module a test cell imports
    "modules": PASS_ALL + "import sys, types, course_lib.grading\nfake = types.ModuleType('course_lib.grading')\n"
               "vars(fake).update(vars(course_lib.grading))\nfake.fresh_grader = lambda: PassAll()\n"
               "sys.modules['course_lib.grading'] = fake\n" + WRONG_DOUBLE,
    # rewrites every later cell that grades into `pass`
    "transformer": "get_ipython().input_transformers_post.append(\n"
                   "    lambda lines: ['pass\\n'] if any('fresh_grader' in line for line in lines) else lines)\n"
                   + WRONG_DOUBLE,
    # swallows every exception a cell raises
    "swallow": "get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)\n" + WRONG_DOUBLE,
    # answers every torch comparison with True, below the grader's C-level functions
    "torch_mode": "import torch\nfrom torch.overrides import TorchFunctionMode\n"
                  "class Yes(TorchFunctionMode):\n    def __torch_function__(self, func, types, args=(), kwargs=None):\n"
                  "        if getattr(func, '__name__', '') in ('allclose', 'equal', 'isclose', 'eq'):\n"
                  "            return True\n        return func(*args, **(kwargs or {}))\n"
                  "Yes().__enter__()\n" + WRONG_DOUBLE,
    # returns an object that says it equals anything
    "liar": "class Liar:\n    def __eq__(self, other):\n        return True\n    __bool__ = lambda self: True\n"
            "    def __getattr__(self, name):\n        return lambda *a, **k: self\n"
            "def double(x):\n    return Liar()",
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    problem = sandbox_problem()
    if problem is not None:
        pytest.skip(f"the sandbox cannot run here: {problem}")
    root = tmp_path_factory.mktemp("hostile")
    (root / "nbgrader_config.py").write_text((ROOT / "nbgrader_config.py").read_text() + "\nc.Execute.timeout = 20\n")
    (root / "solutions" / "00_toy").mkdir(parents=True)
    nbformat.write(toy_lesson(), root / "solutions" / "00_toy" / "00_toy.ipynb")
    generate_release(root)
    release = read_notebook(root / "notebooks" / "00_toy" / "00_toy.ipynb")

    def submit(student, nb, extra=None):
        folder = root / "submitted" / student / "00_toy"
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / "00_toy.ipynb")
        for name, text in (extra or {}).items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)

    submit("good", with_answers(release, GOOD))
    for student, code in _attacks(root).items():
        submit(student, with_answers(release, {**GOOD, "double": code}))
    # a course_lib package and a torch.py beside the notebook, whose grader passes everything
    fake = "class G:\n    def __getattr__(self, name):\n        return lambda *a, **k: None\n" \
           "def fresh_grader():\n    return G()\n"
    submit("shadow", release, {"course_lib/__init__.py": "def setup_lesson(**k):\n    return 'cpu'\n",
                               "course_lib/grading.py": fake, "torch.py": "arange = lambda *a: 0\n"})
    # honest, but its answer warns (stderr in the test cell) and its metadata was edited by a tool
    honest = with_answers(release, {**GOOD, "double": "import warnings\ndef double(x):\n"
                                    "    warnings.warn('double is deprecated', DeprecationWarning)\n"
                                    "    warnings.warn('a torch-like warning')\n    return x + x"})
    for cell in honest.cells:
        if cell.get("id") == "square":
            cell.metadata["nbgrader"]["points"] = "lots"   # invalid metadata: nbgrader alone fails the notebook
            cell.metadata["nbgrader"]["locked"] = True
    submit("honest_tampered", honest)
    # extra and duplicated graded cells: a bonus test cell, and a copy of double_tests that passes
    padded = with_answers(release, {**GOOD, "double": WRONG_DOUBLE})
    test = next(c for c in padded.cells if c.get("id") == "double_tests")
    bonus = nbformat.v4.new_code_cell("pass", id="bonus", metadata={"nbgrader": {
        **test.metadata["nbgrader"], "grade_id": "bonus", "points": 100}})
    duplicate = nbformat.v4.new_code_cell("pass", id="dup", metadata={"nbgrader": dict(test.metadata["nbgrader"])})
    padded.cells.insert(padded.cells.index(test), duplicate)
    padded.cells.append(bonus)
    submit("padded", padded)
    # script, event handlers and JavaScript in outputs (they would run in the instructor's formgrader)
    submit("script", with_answers(release, {**GOOD, "double": GOOD["double"] + "\nfrom IPython.display import "
                                            "HTML, Javascript, display\ndisplay(HTML('<script>alert(1)</script>"
                                            "<img src=x onerror=\"alert(2)\"><b>bold</b>'))\n"
                                            "display(Javascript('alert(3)'))"}))

    protected = {p: _digest(p) for p in [Path(__import__("course_lib").__file__).parent / "grading.py",
                                         root / "submitted/good/00_toy/00_toy.ipynb",
                                         root / "solutions/00_toy/00_toy.ipynb"]}
    site = Path(nbformat.__file__).parent.parent
    statuses = {s.student: s for s in grade_class(root, "00_toy", memory_gb=3.0, timeout_s=300, verbose=False,
                                                  workers=2)}
    rows = {r["student_id"]: r for r in csv.DictReader(export_grades(root, "00_toy", root / "g.csv").open())}
    return root, statuses, rows, protected, site


def test_every_student_is_graded_and_exported(hostile):
    _, statuses, rows, _, _ = hostile
    assert set(rows) == set(statuses) == {"good", "reader", "vandal", "daemon", "forkbomb", "filler", "shadow",
                                          "honest_tampered", "padded", "script", *IN_PROCESS}
    assert {s: v.status for s, v in statuses.items()} == {s: "graded" for s in statuses}, statuses


@pytest.mark.parametrize("student, score", [
    ("good", 5.0), ("reader", 3.0), ("vandal", 3.0), ("daemon", 3.0), ("forkbomb", 3.0), ("filler", 3.0),
    ("shadow", 0.0),
    ("honest_tampered", 5.0), ("padded", 3.0), ("script", 5.0), *[(name, 3.0) for name in IN_PROCESS]])
def test_each_attack_scores_only_its_real_answers(hostile, student, score):
    _, _, rows, _, _ = hostile
    assert (float(rows[student]["score"]), float(rows[student]["max_score"])) == (score, 5.0), rows[student]


def test_no_file_of_the_instructor_or_a_classmate_changed(hostile):
    root, _, _, protected, site = hostile
    assert {p: _digest(p) for p in protected} == protected
    assert not (site / "zz_backdoor.pth").exists()


def test_no_process_outlives_grading(hostile):
    ps = subprocess.run(["ps", "-eo", "stat,args"], capture_output=True, text=True).stdout
    assert TOKEN not in ps and "sleep 60" not in ps
    assert not any(line.startswith("T") for line in ps.splitlines()), "a process was left stopped"


def test_tampered_metadata_is_put_back_and_named(hostile):
    _, statuses, _, _, _ = hostile
    assert "'square'" in statuses["honest_tampered"].notes and "put back" in statuses["honest_tampered"].notes
    notes = statuses["padded"].notes
    assert "'bonus'" in notes and "names no cell of the lesson" in notes
    assert "'double_tests'" in notes and "repeats a cell" in notes


def test_outputs_reaching_the_instructor_are_sanitised(hostile):
    root, _, _, _, _ = hostile
    nb = read_notebook(root / "autograded" / "script" / "00_toy" / "00_toy.ipynb")
    outputs = json.dumps([c.get("outputs", []) for c in nb.cells])  # the code itself is shown as text
    assert "<b>bold</b>" in outputs  # harmless markup stays
    assert "<script" not in outputs and "application/javascript" not in outputs  # escaped (shown as text) or gone
    assert not re.search(r"<[a-z][^>]*\son\w+=", outputs), "an event handler is left in an HTML tag"


def test_spreadsheet_cells_and_terminal_text_are_inert():
    assert [spreadsheet_safe(v) for v in ["=1+1", "+1", "-2", "@SUM(A1)", "\t=x", "\rx", "ok", 3.0]] == \
        ["'=1+1", "'+1", "'-2", "'@SUM(A1)", "'\t=x", "'\rx", "ok", 3.0]
    assert plain_text("\x1b[2J\x1b]0;title\x07graded\x1b[31m ok\x9b\x00") == "graded ok"


def test_a_rerun_keeps_what_was_graded(hostile):
    """A re-run (after a crash, or to add late students) regrades nothing that is unchanged."""
    root, statuses, _, _, _ = hostile
    start = time.perf_counter()
    again = {s.student: s for s in grade_class(root, "00_toy", verbose=False, workers=2)}
    assert again == statuses and time.perf_counter() - start < 60


def test_without_the_sandbox_grading_warns_and_names_the_risk(tmp_path, monkeypatch, capsys):
    from course_lib.pipeline import sandbox
    monkeypatch.setattr(sandbox, "sandbox_problem", lambda: "bubblewrap (bwrap) is not installed")
    (tmp_path / "nbgrader_config.py").write_text((ROOT / "nbgrader_config.py").read_text())
    (tmp_path / "solutions" / "00_toy").mkdir(parents=True)
    nbformat.write(toy_lesson(), tmp_path / "solutions" / "00_toy" / "00_toy.ipynb")
    assert grade_class(tmp_path, "00_toy", verbose=False) == []
    warning = capsys.readouterr().err
    assert "WARNING: grading without a sandbox: bubblewrap (bwrap) is not installed" in warning
    assert "can read solutions/" in warning


def test_self_grading_counts_only_the_lessons_tests_and_ignores_course_files_beside_the_notebook(tmp_path):
    from course_lib.pipeline.self_grade import self_grade
    (tmp_path / "nbgrader_config.py").write_text((ROOT / "nbgrader_config.py").read_text())
    (tmp_path / "solutions" / "00_toy").mkdir(parents=True)
    nbformat.write(toy_lesson(), tmp_path / "solutions" / "00_toy" / "00_toy.ipynb")
    generate_release(tmp_path)
    nb = with_answers(read_notebook(tmp_path / "notebooks" / "00_toy" / "00_toy.ipynb"),
                      {**GOOD, "double": WRONG_DOUBLE})
    test = next(c for c in nb.cells if c.get("id") == "double_tests")
    meta = test.metadata["nbgrader"]
    nb.cells.insert(nb.cells.index(test), nbformat.v4.new_code_cell("pass", id="dup", metadata={"nbgrader": dict(meta)}))
    nb.cells.append(nbformat.v4.new_code_cell("pass", id="bonus", metadata={"nbgrader": {
        **meta, "grade_id": "bonus", "points": 100}}))
    mine = tmp_path / "learner" / "00_toy"
    (mine / "solutions" / "00_toy").mkdir(parents=True)  # a course of its own, whose tests pass anything
    (mine / "nbgrader_config.py").write_text((ROOT / "nbgrader_config.py").read_text())
    lenient = toy_lesson()
    for cell in lenient.cells:
        if cell.get("id", "").endswith("_tests"):
            cell.source = "pass"
    nbformat.write(lenient, mine / "solutions" / "00_toy" / "00_toy.ipynb")
    nbformat.write(nb, mine / "00_toy.ipynb")
    report = self_grade(mine / "00_toy.ipynb", verbose=False)
    assert report.mode == "hidden tests included"
    assert [(r.name, r.points, r.max_points) for r in report.results] == [("double_tests", 0.0, 2.0),
                                                                         ("square_tests", 3.0, 3.0)]
    assert "you returned 3x" in report.results[0].message



PROBE = """
import json, subprocess, tempfile
from pathlib import Path
from course_lib.pipeline.sandbox import Limits, sandbox_command
work = Path(tempfile.mkdtemp())
(work / "given").write_text("handed-in")
inside = ("id -u; cat /submission/given; echo; touch /submission/written && echo wrote; touch /usr/x 2>/dev/null || echo usr-read-only; "
          "ls SOLUTIONS >/dev/null 2>&1 || echo no-solutions; ls /root >/dev/null 2>&1 || echo no-root; "
          "ls /proc | grep -c '^[0-9]'")
result = subprocess.run(sandbox_command(["/bin/sh", "-c", inside], work, Limits(cpu_seconds=30)),
                        capture_output=True, text=True, timeout=60)
print(json.dumps({"code": result.returncode, "written": (work / "written").exists(),
                  "lines": result.stdout.split(), "errors": result.stderr[-300:]}))
"""


def test_the_sandbox_holds_for_an_unprivileged_grader():
    """Graded by an ordinary user (no root): bubblewrap makes a user namespace, and the same walls stand."""
    import os
    import shutil
    import sys
    if os.getuid() != 0 or shutil.which("setpriv") is None or shutil.which("bwrap") is None:
        pytest.skip("needs root (to become an ordinary user for the test), setpriv and bubblewrap")
    nobody = 65534
    run = subprocess.run(["setpriv", f"--reuid={nobody}", f"--regid={nobody}", "--clear-groups", sys.executable,
                          "-c", PROBE.replace("SOLUTIONS", str(ROOT / "solutions"))],
                         capture_output=True, text=True, timeout=120, cwd="/tmp",
                         env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)})
    assert run.returncode == 0, run.stderr[-2000:]
    probe = json.loads(run.stdout.strip().splitlines()[-1])
    if probe["code"] != 0 and "namespace" in probe["errors"]:
        pytest.skip(f"this machine does not let ordinary users make namespaces: {probe['errors']}")
    assert probe["code"] == 0, probe
    assert not probe["written"], probe         # what it writes stays in its capped, memory-backed copy
    uid, given, *marks, processes = probe["lines"]
    assert uid == str(nobody)                  # the grader's own uid, inside its own user namespace
    assert given == "handed-in"                # the submission's files are there
    assert marks == ["wrote", "usr-read-only", "no-solutions", "no-root"], probe
    assert int(processes) <= 5, probe          # its own PID namespace: bwrap, the shell, ls and grep
