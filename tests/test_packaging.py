"""Packaging and launch files stay consistent with each other."""
import json
import re
import tomllib

import yaml

from harness import LESSONS, ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
REPOSITORY = PYPROJECT["project"]["urls"]["Repository"].removeprefix("https://github.com/")


def _name(spec: str) -> str:
    return re.split(r"[<>=!~\[ ]", spec, maxsplit=1)[0].lower()


def test_torch_is_pinned_everywhere_it_is_installed():
    assert "torch==2.13.0" in (ROOT / "constraints.txt").read_text().split()
    assert "torch==2.13.0+cpu" in (ROOT / "binder/requirements.txt").read_text().split()
    assert "-c constraints.txt" in (ROOT / "binder/postBuild").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert makefile.count("-c constraints.txt") >= 2


def test_environment_yml_matches_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    specs = {_name(s): s for s in pip if not s.startswith("-")}
    wanted = PYPROJECT["project"]["dependencies"] + PYPROJECT["project"]["optional-dependencies"]["lab"]
    for requirement in wanted:
        name = _name(requirement)
        expected = "torch==2.13.0" if name == "torch" else requirement
        assert specs.get(name) == expected, f"environment.yml has {specs.get(name)!r} for {expected!r}"
    assert set(specs) == {_name(r) for r in wanted}
    assert "-e ." in pip


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make lab" in readme
    assert re.search(r"^make test$", (ROOT / ".ci/run").read_text(), re.M)


def test_launch_links_point_at_the_repository():
    readme = (ROOT / "README.md").read_text()
    assert f"mybinder.org/v2/gh/{REPOSITORY}/" in readme and f"colab.research.google.com/github/{REPOSITORY}/" in readme
    for lesson in LESSONS:
        text = (ROOT / "solutions" / lesson / f"{lesson}.ipynb").read_text()
        assert f"mybinder.org/v2/gh/{REPOSITORY}/" in text, lesson
        assert f"colab.research.google.com/github/{REPOSITORY}/blob/main/notebooks/{lesson}/{lesson}.ipynb" in text


def test_every_lesson_first_cell_installs_the_library_and_reports_the_device():
    for lesson in LESSONS:
        nb = json.loads((ROOT / "solutions" / lesson / f"{lesson}.ipynb").read_text())
        first = "".join(next(c for c in nb["cells"] if c["cell_type"] == "code")["source"])
        assert 'find_spec("course_lib") is None' in first and f"git+https://github.com/{REPOSITORY}" in first
        assert "setup_lesson(" in first


def test_core_modules_do_not_import_widget_libraries():
    import subprocess
    import sys
    code = ("import sys, course_lib, course_lib.grading, course_lib.data, course_lib.pipeline;"
            "bad = [m for m in ('matplotlib', 'ipywidgets') if m in sys.modules]; print(bad); sys.exit(bool(bad))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_make_lab_serves_the_learners_workspace_not_the_solutions():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\nlab:", 1)[1].split("\n\n", 1)[0]
    assert "llmcourse workspace" in recipe and "--ServerApp.root_dir=workspace" in recipe
    readme = (ROOT / "README.md").read_text()
    assert "jupyter-lab --ServerApp.root_dir=workspace" in readme and "--allow-root" in readme


def test_nbval_collects_one_lesson_with_the_documented_command():
    """The README's nbval command: each code cell of a solutions notebook is one pytest item."""
    import subprocess
    import sys
    lesson = LESSONS[0]
    assert "pytest --nbval-lax solutions/04_pretraining" in (ROOT / "README.md").read_text()
    result = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "--collect-only", "-q",
                             "-p", "no:cacheprovider", f"solutions/{lesson}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    code_cells = sum(c["cell_type"] == "code" for c in json.loads(
        (ROOT / "solutions" / lesson / f"{lesson}.ipynb").read_text())["cells"])
    assert f"{code_cells} tests collected" in result.stdout, result.stdout[-500:]
