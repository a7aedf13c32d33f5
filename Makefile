# The course's two commands (see README.md):
#   make lab    create .venv, install the course, open the lessons in JupyterLab
#   make test   create .venv, install what the tests need, run the whole test suite
# Both work on a fresh machine with Python 3.10+ (3.11 preferred). torch is always pinned
# through constraints.txt: an unpinned torch would pull several GB of CUDA packages.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
# make test runs the suite on this many pytest-xdist workers (0: in one process). Each worker steals
# tests from the other when idle, so lessons of very different lengths keep both cores busy.
TEST_WORKERS ?= 2
# Put the environment's scripts first on PATH: nbgrader runs `alembic` from PATH.
export PATH := $(abspath $(BIN)):$(PATH)
# Jupyter refuses to run as root unless told (containers, CI).
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: lab test test-fast nbval release bench gpu-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.lab: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) install --quiet -c constraints.txt -e ".[lab]"
	@touch $@

$(VENV)/.test: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) install --quiet -c constraints.txt -e ".[test]"
	@touch $@

# Learners work on copies in workspace/ (never overwritten), so the release stays clean
# and `git pull` brings lesson updates without conflicts. JupyterLab serves workspace/ alone:
# the instructor's solutions/ (answers, hidden tests) are not one click away in its file browser.
lab: $(VENV)/.lab
	$(BIN)/llmcourse workspace workspace
	$(BIN)/jupyter-lab --ServerApp.root_dir=workspace $(ALLOW_ROOT)

test: $(VENV)/.test
	@command -v chromium >/dev/null || ./.ci/install-chromium || echo "chromium unavailable: browser tests will skip"
	@command -v bwrap >/dev/null || ./.ci/install-bubblewrap || echo "bubblewrap unavailable: grading runs unsandboxed, its attack tests skip"
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal

test-fast: $(VENV)/.test
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal -m "not slow and not browser"

# The solutions notebooks as pytest items through nbval, every cell must run without error:
# `make nbval LESSON=04_pretraining` for one lesson, `make nbval` for all. Not part of `make test`,
# which executes each lesson once already (within its budget, in tests/test_lessons.py).
nbval: $(VENV)/.test
	$(BIN)/python -m pytest --nbval-lax -p no:cacheprovider solutions/$(LESSON)

release: $(VENV)/.lab
	$(BIN)/llmcourse release

bench: $(VENV)/.test
	$(BIN)/python bench/lesson_budgets.py
	$(BIN)/python bench/bench_widgets.py

gpu-test: $(VENV)/.test
	$(BIN)/python -m pytest -m gpu

clean:
	rm -rf $(VENV) .grading build *.egg-info
