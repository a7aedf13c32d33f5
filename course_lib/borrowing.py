"""Which library functions a piece of code called itself: how grading tells a copy from an answer.

course_lib holds a reference answer for most exercises, and a learner's kernel can import it. Two
rules:

- *The same name*: an answer named ``softmax`` that runs course_lib's own ``softmax`` (imported,
  wrapped or inherited, at any depth) hands in the library's answer (``Watch.same_name``). The
  grader's ``G.call`` applies it in a learner's own notebook; under grading the checker does.
- *Another name* (under grading only, decided by the checker from what each side reports): an
  answer that itself calls a library function which the test cell itself calls (lesson 01's
  ``count_bigrams`` returning ``ngram.bigram_counts(...)``, which the test computes the expected
  counts with) hands in the test's own oracle, unless the lesson showed that function in its code
  before the test (``build_vocab``, ``pretokenize``: helpers a learner is meant to use).

Only *direct* calls count: from the learner's (or the test's) own code into the library, not the
library's calls to itself, so a correct answer built on a helper that the lesson hands out, which
happens to use an oracle inside, is not refused. Code in a notebook cell counts as someone's own;
course_lib's grading machinery, the installed packages and generated code do not.
"""
from __future__ import annotations

import ast
import functools
import os
import sys
import sysconfig

LIBRARY = os.path.dirname(os.path.abspath(__file__))   # course_lib's folder
_MACHINERY = (os.path.join(LIBRARY, "pipeline") + os.sep,   # split grading, self-grading, class grading
              os.path.join(LIBRARY, "grading.py"), os.path.abspath(__file__))
_INSTALLED = tuple(sorted({os.path.abspath(p) + os.sep for p in
                           [sys.prefix, sys.base_prefix, sys.exec_prefix,
                            *(sysconfig.get_paths().get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib"))]
                           if p}))


@functools.lru_cache(maxsize=4096)
def kind_of(filename: str) -> str:
    """'library', 'machinery' (course_lib's grading), 'installed' (torch, the standard library, generated
    code) or 'own' (a notebook cell, a test file, a learner's module) for code from ``filename``."""
    if filename.startswith(_MACHINERY):
        return "machinery"
    if filename.startswith(LIBRARY + os.sep):
        return "library"
    if filename.startswith("<") and not filename.startswith("<ipython-input"):
        return "installed"    # <frozen ...>, <string> (dataclasses' generated methods)
    if filename.startswith(_INSTALLED):
        return "installed"
    return "own"


class Watch:
    """A profile hook, for one call: the library functions called directly by code of the given kinds.

    ``called`` holds them as ``(module, qualname)``; ``same_name`` is the first library function run (at any
    depth) whose qualname is ``name`` or one of its methods. Code objects in ``allowed`` are ignored.
    """

    def __init__(self, callers: tuple[str, ...] = ("own",), name: str | None = None, allowed=frozenset()):
        self.callers = callers
        self.name = name
        self.allowed = allowed
        self.called: set[tuple[str, str]] = set()
        self.same_name: str | None = None
        self._previous = None

    def _hook(self, frame, event, arg):
        if event != "call":
            return
        code = frame.f_code
        if kind_of(code.co_filename) != "library" or code in self.allowed:
            return
        module = frame.f_globals.get("__name__", "course_lib")
        if self.name is not None and self.same_name is None and (
                code.co_qualname == self.name or code.co_qualname.startswith(self.name + ".")):
            self.same_name = f"{module}.{code.co_qualname}"
        caller = frame.f_back
        if caller is not None and kind_of(caller.f_code.co_filename) in self.callers and len(self.called) < 1000:
            self.called.add((module, code.co_qualname))

    def __enter__(self) -> "Watch":
        self._previous = sys.getprofile()
        sys.setprofile(self._hook)
        return self

    def __exit__(self, *exc) -> None:
        sys.setprofile(self._previous)


def answer_name(answer) -> str | None:
    """The qualname an answer is graded under (``softmax``, ``NgramLM``); None for a lambda or a nested
    function, which cannot be a notebook's answer."""
    name = getattr(getattr(answer, "__func__", answer), "__qualname__", None)
    return name if isinstance(name, str) and "<" not in name else None


def same_name_reason(where: str) -> str:
    """Why an answer that ran the library's function ``where`` (``module.qualname``) of its own name fails."""
    return (f"write it yourself: your answer runs the library's own {where[:200]}, which is this exercise's answer. "
            f"Build it from torch's operations (and your earlier answers), not from course_lib's "
            f"{where.rsplit('.', 1)[-1][:100]}")


def copied_reason(module: str, qualname: str) -> str:
    """Why an answer that called ``module.qualname``, the library function its test computes the expected
    answer with, fails."""
    return (f"write it yourself: your answer calls the library's {module[:100]}.{qualname[:100]}, which this "
            f"test computes the expected answer with, so it hands in the library's answer, not yours. Build it "
            f"from torch's operations (and your earlier answers), not from course_lib's {qualname[:100]}")


def names_in_code(sources: list[str]) -> set[str]:
    """Every name the code reads, every attribute it reaches and every name it imports."""
    names: set[str] = set()
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:   # a cell with IPython magics: read the code they run (%time x = f(y)), not them
            kept = "\n".join(_without_magic(line) for line in source.splitlines())
            try:
                tree = ast.parse(kept)
            except SyntaxError:
                continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.Attribute):
                names.add(node.attr)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    names.update(alias.name.split("."))
                    if alias.asname:
                        names.add(alias.asname)
    return names


def _without_magic(line: str) -> str:
    """``%time x = f(y)`` -> ``x = f(y)``; a shell line (``!ls``) or a bare magic -> an empty line."""
    stripped = line.lstrip()
    if stripped.startswith("!"):
        return ""
    if stripped.startswith("%"):
        parts = stripped.split(None, 1)
        return parts[1] if len(parts) == 2 and not stripped.startswith("%%") else ""
    return line


def copied(answer_called, test_called, shown: set[str] | None) -> list[tuple[str, str]]:
    """The library functions (``(module, qualname)`` pairs) that both the answer and the test called
    directly and the lesson had not shown by name (neither the function's name nor its class's); none
    when the lesson's code is unknown (``shown`` is None)."""
    if shown is None:
        return []
    found = []
    for module, qualname in sorted(set(map(tuple, answer_called)) & set(map(tuple, test_called))):
        parts = [part for part in qualname.split(".") if part != "<locals>"]
        if not any(part in shown for part in {parts[0], parts[-1]} if not part.startswith("__")):
            found.append((module, qualname))
    return found
