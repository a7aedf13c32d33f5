"""Checks for the lessons' test cells: failures explain themselves, and a notebook cannot fool them.

A test cell starts with::

    from course_lib.grading import fresh_grader
    G = fresh_grader()

``fresh_grader`` loads a *new copy* of course_lib from its files, so a notebook that has
rebound ``course_lib.grading.check_close`` or ``course_lib.functional.softmax`` changes
nothing the grader uses. Comparisons go through torch's C-level functions
(``torch._C._VariableFunctions``, ``torch._C.TensorBase``), which Python code cannot
rebind, and the grader refuses to award points while the notebook has replaced a public
torch function (say ``torch.allclose = lambda *a: True``).

Every failure raises ``ExerciseFailure`` with a sentence that says what was expected,
what came, and, when the answer matches a known mistake, which mistake it is.
"""
from __future__ import annotations

import contextlib
import importlib
import math
import os
import re
import sys
from types import FunctionType, ModuleType
from typing import Any, Callable, Mapping

import torch

from course_lib import borrowing

_VF = torch._C._VariableFunctions  # immutable: the real torch.allclose, torch.abs, ...
_TB = torch._C.TensorBase          # immutable: the real Tensor methods


TRUSTED = False   # True in the checker kernel of split grading, where no learner code runs


def is_grading() -> bool:
    """True while nbgrader grades or validates the notebook: heavy demo cells may skip then."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))


class ExerciseFailure(AssertionError):
    """A test-cell check failed; the message says why in words a learner can act on.

    In a notebook, IPython shows it by ``_render_traceback_``: the message first, then (when the
    learner's own code raised) the line of their code that did, and a hint for the full traceback,
    instead of twenty lines of the grader's internals. ``%tb plain`` (or ``%xmode plain``) shows
    the full traceback: any traceback mode other than IPython's default gives the full one.
    """

    def _render_traceback_(self) -> list[str]:
        shell = _ipython()
        mode = getattr(getattr(shell, "InteractiveTB", None), "mode", "Context")
        if shell is not None and mode != "Context":  # the learner asked for the full traceback
            return shell.InteractiveTB.structured_traceback(type(self), self, self.__traceback__)
        lines = [f"{_RED}ExerciseFailure{_RESET}: {self}"]
        where = _learner_line(self.__cause__, shell)
        if where:
            lines.append(f"  raised in {where}")
        if not is_grading():
            lines.append(f"{_GREY}  (the full traceback: run %tb plain in a new cell right after this one){_RESET}")
        return lines


_RED, _GREY, _RESET = "\x1b[0;31m", "\x1b[0;90m", "\x1b[0m"  # ANSI colours, as IPython's tracebacks use


def _ipython():
    """The running IPython shell, or None outside IPython."""
    shell_module = sys.modules.get("IPython")
    return shell_module.get_ipython() if shell_module is not None else None


def _learner_line(error: BaseException | None, shell) -> str:
    """Where the learner's code raised ``error``: "Cell In[7], line 3: return x @ w", or ""."""
    import traceback

    if getattr(error, "learner_where", ""):  # raised in the learner's kernel: it said where
        return error.learner_where
    if error is None or error.__traceback__ is None:
        return ""
    library = os.path.dirname(os.path.abspath(__file__))  # course_lib itself
    ours = [frame for frame in traceback.extract_tb(error.__traceback__)
            if not frame.filename.startswith((library, sys.prefix, sys.base_prefix))]
    if not ours:
        return ""
    frame = ours[-1]  # the innermost frame of the learner's code
    label = shell.compile.format_code_name(frame.filename) if shell is not None else None
    place = f"{label[0]} {label[1]}" if label else os.path.basename(frame.filename)
    return f"{place}, line {frame.lineno}, in {frame.name}: {(frame.line or '').strip()}"


def load_fresh(module_name: str) -> ModuleType:
    """Import ``module_name`` (a course_lib module) anew from its file, ignoring sys.modules.

    The notebook's own course_lib modules are put back afterwards, untouched.
    """
    if module_name != "course_lib" and not module_name.startswith("course_lib."):
        raise ValueError(f"load_fresh loads course_lib modules only, got {module_name!r}")
    if TRUSTED:  # the checker kernel: no learner code has run here, the loaded modules are the files'
        return importlib.import_module(module_name)
    ours = {k: v for k, v in sys.modules.items() if k == "course_lib" or k.startswith("course_lib.")}
    for name in ours:
        del sys.modules[name]
    try:
        return importlib.import_module(module_name)
    finally:
        for name in [k for k in sys.modules if k == "course_lib" or k.startswith("course_lib.")]:
            del sys.modules[name]
        sys.modules.update(ours)


def fresh_grader() -> "Grader":
    """A Grader from a fresh copy of this module, after checking that torch is untouched."""
    integrity = sys.modules.get("course_lib._integrity")  # the snapshot from the first import
    fresh = load_fresh("course_lib.grading")
    fresh.ExerciseFailure = ExerciseFailure  # one exception class, so `except ExerciseFailure` works
    grader = fresh.Grader(integrity)
    grader.check_untampered()
    return grader


def with_references(answer: Any, references: Mapping[str, Any]) -> Any:
    """A copy of the function or class ``answer`` whose global lookups of these names find ``references``."""
    def rebound(function: FunctionType) -> FunctionType:
        names = dict(function.__globals__)
        names.update(references)
        copy = FunctionType(function.__code__, names, function.__name__, function.__defaults__,
                            function.__closure__)
        copy.__kwdefaults__ = function.__kwdefaults__
        copy.__qualname__ = function.__qualname__
        return copy

    if type(answer) is FunctionType:
        return rebound(answer)
    if isinstance(answer, type):  # a class: a subclass whose own methods see the references
        methods = {key: rebound(value) for key, value in vars(answer).items() if type(value) is FunctionType}
        return type(answer.__name__, (answer,), {**methods, "__qualname__": answer.__qualname__})
    return answer


def _same_name_watch(fn: Any, args: tuple, kwargs: dict) -> borrowing.Watch | None:
    """A ``borrowing.Watch`` for the learner's call of ``fn``: the library function of its name, if it runs
    one. Library functions the test passes in are the test's own. None in the checker of split grading,
    where ``fn`` stands in for the learner's object and the learner's kernel watches the call."""
    name = borrowing.answer_name(fn)
    if TRUSTED or name is None:
        return None
    given = {getattr(value, "__code__", None) for value in (*args, *kwargs.values())}
    return borrowing.Watch(callers=(), name=name, allowed=given)


# (atol, rtol) by dtype: what a correct computation in that dtype reaches on the lessons' inputs.
# float32 keeps about 7 significant digits and sums of a few hundred terms lose one or two of them.
TOLERANCES = {torch.float64: (1e-6, 1e-5), torch.float32: (1e-5, 1e-4),
              torch.bfloat16: (1e-2, 2e-2), torch.float16: (1e-3, 2e-3)}


def tolerance_for(*values: Any) -> tuple[float, float]:
    """The default (atol, rtol) for comparing ``values``: the loosest of their dtypes' (numbers are float64)."""
    dtypes = [v.dtype for v in values if type(v) is torch.Tensor and v.dtype in TOLERANCES] or [torch.float64]
    return max((TOLERANCES[d] for d in dtypes), key=lambda pair: pair[1])


def _called(name: str, arguments: str) -> str:
    """``softmax(x)`` for a plain name; a described call ("the layer's forward") gets its arguments after it."""
    if re.fullmatch(r"[A-Za-z_][\w.]*", name):
        return f"{name}({arguments})"
    return f"{name}, with arguments ({arguments})" if arguments else name


def _show(value: Any, limit: int = 8) -> str:
    """A compact, readable rendering of a value for failure messages."""
    if isinstance(value, torch.Tensor):
        flat = _TB.tolist(_TB.reshape(_TB.detach(value), (-1,)))
        shape = tuple(_TB.size(value))
        if len(flat) <= limit:
            body = ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in flat)
        else:
            body = ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in flat[:limit]) + ", ..."
        return f"tensor of shape {shape} [{body}]"
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _unravel(flat_index: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The multi-dimensional index of position ``flat_index`` in a tensor of ``shape``."""
    index = []
    for size in reversed(shape):
        index.append(flat_index % size)
        flat_index //= size
    return tuple(reversed(index))


def _strict_equal(a: Any, b: Any) -> bool:
    """Equality for plain Python data that an object with a lying __eq__ cannot pass."""
    if type(a) is not type(b):
        # ints and floats compare by value; bool is not an int here
        numbers = (int, float)
        if type(a) in numbers and type(b) in numbers:
            return float(a) == float(b)
        return False
    if type(a) in (list, tuple):
        return len(a) == len(b) and all(_strict_equal(x, y) for x, y in zip(a, b))
    if type(a) is dict:
        return a.keys() == b.keys() and all(_strict_equal(a[k], b[k]) for k in a)
    if type(a) in (int, float, str, bool, type(None)):
        return a == b
    raise TypeError(f"cannot compare values of type {type(a).__name__} strictly")


class Grader:
    """The checks a test cell calls. Build it with ``fresh_grader()``, not directly."""

    def __init__(self, integrity: ModuleType | None = None):
        self._integrity = integrity
        self._references: dict[str, ModuleType] = {}
        self.torch = torch  # test cells build their inputs from G.torch

    # ------------------------------------------------------------------ set-up
    def check_untampered(self) -> None:
        """Fail if the notebook has replaced a public torch function since course_lib loaded."""
        if self._integrity is None:
            return  # course_lib was never imported before this test cell: nothing to compare with
        changed = self._integrity.replaced_names()
        if changed:
            names = ", ".join(changed[:5]) + (" ..." if len(changed) > 5 else "")
            raise ExerciseFailure(
                f"your notebook replaced {names}. The grader needs the real torch functions, so no "
                "points are given while they are replaced: delete the line that assigns them and "
                "restart the kernel."
            )

    def ref(self, module_name: str) -> ModuleType:
        """A fresh, untouched course_lib module to use as the reference answer."""
        if not module_name.startswith("course_lib"):
            module_name = f"course_lib.{module_name}"
        if module_name not in self._references:
            self._references[module_name] = load_fresh(module_name)
        return self._references[module_name]

    # ------------------------------------------------------------------ checks
    def expect(self, condition: Any, message: str) -> None:
        """Fail with ``message`` unless ``condition`` is exactly True (a real bool)."""
        if condition is not True:  # a truthy object with its own __bool__ does not count
            raise ExerciseFailure(message)

    def call(self, fn: Callable, *args: Any, name: str | None = None, **kwargs: Any) -> Any:
        """Call the learner's ``fn``; an exception or an in-place change of a tensor argument fails."""
        name = name or getattr(fn, "__name__", "your function")
        if not callable(fn):
            raise ExerciseFailure(f"{name} should be a function, got {_show(fn)}")
        inputs = [a for a in list(args) + list(kwargs.values()) if isinstance(a, torch.Tensor)]
        before = [_TB.clone(_TB.detach(a)) for a in inputs]
        # in the learner's own notebook: an answer that runs the library's function of its own name fails
        # (under split grading the learner's kernel reports that to the checker, which fails it there)
        watch = _same_name_watch(fn, args, kwargs)
        try:
            with watch if watch is not None else contextlib.nullcontext():
                result = fn(*args, **kwargs)
        except NotImplementedError:
            raise ExerciseFailure(f"{name} is not written yet: replace `raise NotImplementedError()`") from None
        except ExerciseFailure as failure:  # the checker's own verdict on the call (split grading): as it is
            raise ExerciseFailure(f"{name}: {failure}") from None
        except Exception as error:  # the learner's bug: report it, do not crash the grader
            shapes = ", ".join(_show(a) if isinstance(a, torch.Tensor) else repr(a)[:40] for a in args)
            raise ExerciseFailure(
                f"calling {_called(name, shapes)} raised {type(error).__name__}: {error}"
            ) from error
        if watch is not None and watch.same_name is not None:
            raise ExerciseFailure(f"{name}: {borrowing.same_name_reason(watch.same_name)}")
        for original, now in zip(before, inputs):
            if tuple(_TB.size(original)) != tuple(_TB.size(now)) or not _VF.equal(original, _TB.detach(now)):
                raise ExerciseFailure(f"{name} changed its input tensor in place; compute a new tensor instead")
        return result

    def using(self, answer: Any, **references: Any) -> Any:
        """The learner's function or class ``answer``, seeing ``references`` under those global names.

        An exercise that builds on an earlier one (``train_bpe`` calls ``count_pairs``) is tested
        with the reference of the earlier piece, so that a wrong earlier answer cannot fail it:
        ``G.call(G.using(train_bpe, count_pairs=reference.count_pairs), pieces, 10)``. Only the
        names ``answer`` itself looks up are replaced; anything else is returned unchanged.
        """
        if hasattr(type(answer), "_remote_using"):  # split grading: the answer is in the learner's kernel
            return answer._remote_using(references)
        return with_references(answer, references)

    def is_tensor(self, value: Any, name: str, shape: tuple | None = None,
                  dtype: torch.dtype | None = None) -> None:
        """``value`` must be a real torch.Tensor (not a subclass), of ``shape`` and ``dtype`` if given."""
        if type(value) is not torch.Tensor:
            raise ExerciseFailure(f"{name} should be a torch.Tensor, got {type(value).__name__}: {_show(value)}")
        got = tuple(_TB.size(value))
        if shape is not None and got != tuple(shape):
            raise ExerciseFailure(f"{name} should have shape {tuple(shape)}, got {got}")
        if dtype is not None and value.dtype is not dtype:
            raise ExerciseFailure(f"{name} should have dtype {dtype}, got {value.dtype}")

    def finite(self, value: Any, name: str, hint: str = "") -> None:
        """Fail if a tensor or number holds nan or inf; ``hint`` says the likely cause."""
        bad = (not bool(_VF.all(_VF.isfinite(value)))) if isinstance(value, torch.Tensor) else \
            (not math.isfinite(float(value)))
        if bad:
            raise ExerciseFailure(f"{name} contains nan or inf: {_show(value)}" + (f". {hint}" if hint else ""))

    def close(self, actual: Any, expected: Any, name: str, *, atol: float | None = None, rtol: float | None = None,
              mistakes: Mapping[str, Any] | None = None, hint: str = "") -> None:
        """``actual`` must match ``expected`` (tensor or number) within tolerance.

        The tolerance, unless given, is the one of ``TOLERANCES`` for the less precise dtype of the
        two (a Python number counts as float64): what a correct computation in that dtype reaches.
        ``mistakes`` maps a message to the value a known mistake would produce: when the
        answer matches one of them, that message is the failure (it names the mistake).
        """
        default_atol, default_rtol = tolerance_for(actual, expected)
        atol = default_atol if atol is None else atol
        rtol = default_rtol if rtol is None else rtol
        if isinstance(expected, torch.Tensor):
            self.is_tensor(actual, name, shape=tuple(_TB.size(expected)))
            a = _TB.to(_TB.detach(actual), torch.float64)
            e = _TB.to(_TB.detach(expected), torch.float64)
            ok = bool(_VF.allclose(a, e, rtol, atol, True))
        else:
            is_number = isinstance(actual, (int, float)) and type(actual) is not bool
            is_scalar_tensor = type(actual) is torch.Tensor and _TB.numel(actual) == 1
            if not (is_number or is_scalar_tensor):
                raise ExerciseFailure(f"{name} should be a number, got {type(actual).__name__}: {_show(actual)}")
            a = float(_TB.item(actual)) if type(actual) is torch.Tensor else float(actual)
            e = float(expected)
            ok = math.isclose(a, e, rel_tol=rtol, abs_tol=atol) or (math.isnan(a) and math.isnan(e))
        if ok:
            return
        for message, wrong in (mistakes or {}).items():
            if self._matches(actual, wrong, atol, rtol):
                raise ExerciseFailure(f"{name}: {message}")
        if isinstance(expected, torch.Tensor):
            diff = _VF.abs(_VF.sub(a, e))
            diff = _VF.where(_VF.isnan(diff), _VF.full_like(diff, float("inf")), diff)
            worst = int(_TB.item(_VF.argmax(_TB.reshape(diff, (-1,)))))
            index = _unravel(worst, tuple(_TB.size(e)))
            detail = (f"expected {_show(expected)}, got {_show(actual)}; the largest difference is "
                      f"{_TB.item(_TB.reshape(diff, (-1,))[worst]):.3g} at index {index}")
        else:
            detail = f"expected {e:.6g}, got {a:.6g}"
        raise ExerciseFailure(f"{name}: {detail}" + (f". {hint}" if hint else ""))

    def equal(self, actual: Any, expected: Any, name: str, *, mistakes: Mapping[str, Any] | None = None,
              hint: str = "") -> None:
        """``actual`` must equal ``expected`` exactly: plain Python data, or integer tensors."""
        if isinstance(expected, torch.Tensor):
            self.is_tensor(actual, name, shape=tuple(_TB.size(expected)))
            ok = bool(_VF.equal(_TB.detach(actual), _TB.to(_TB.detach(expected), actual.dtype)))
        else:
            ok = _strict_equal(actual, expected)
        if ok:
            return
        for message, wrong in (mistakes or {}).items():
            if self._matches(actual, wrong, 0.0, 0.0):
                raise ExerciseFailure(f"{name}: {message}")
        raise ExerciseFailure(f"{name}: expected {_show(expected)}, got {_show(actual)}" + (f". {hint}" if hint else ""))

    def raises(self, fn: Callable, error: type[BaseException], name: str, hint: str = "") -> None:
        """Calling ``fn()`` must raise ``error`` (e.g. bad input gets a clear ValueError)."""
        try:
            fn()
        except error:
            return
        except Exception as other:
            raise ExerciseFailure(f"{name}: expected {error.__name__}, got {type(other).__name__}: {other}") from None
        raise ExerciseFailure(f"{name}: expected {error.__name__}, but nothing was raised" + (f". {hint}" if hint else ""))

    @staticmethod
    def _matches(actual: Any, wrong: Any, atol: float, rtol: float) -> bool:
        try:
            if isinstance(wrong, torch.Tensor):
                if type(actual) is not torch.Tensor or tuple(_TB.size(actual)) != tuple(_TB.size(wrong)):
                    return False
                a = _TB.to(_TB.detach(actual), torch.float64)
                w = _TB.to(_TB.detach(wrong), torch.float64)
                return bool(_VF.allclose(a, w, max(rtol, 1e-5), max(atol, 1e-7), True))
            if isinstance(wrong, (int, float)) and not isinstance(wrong, bool):
                a = float(_TB.item(actual)) if type(actual) is torch.Tensor else float(actual)
                return math.isclose(a, float(wrong), rel_tol=max(rtol, 1e-6), abs_tol=max(atol, 1e-9)) or (
                    math.isnan(a) and math.isnan(float(wrong)))
            return _strict_equal(actual, wrong)
        except Exception:
            return False
