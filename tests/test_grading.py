"""The grading helpers: messages that explain, and checks a notebook cannot fool."""
import pytest
import torch

import course_lib
import course_lib.grading as grading
from course_lib.grading import ExerciseFailure, fresh_grader


@pytest.fixture
def G():
    return fresh_grader()


def test_close_passes_and_explains_a_mismatch_with_shape_and_index(G):
    x = torch.arange(6.0).reshape(2, 3)
    G.close(x + 1e-9, x, "f(x)")
    with pytest.raises(ExerciseFailure, match=r"f\(x\): expected tensor of shape \(2, 3\).*index \(1, 2\)"):
        y = x.clone()
        y[1, 2] += 5
        G.close(y, x, "f(x)")


def test_close_names_a_known_mistake(G):
    x = torch.tensor([1.0, 2.0, 3.0])
    with pytest.raises(ExerciseFailure, match="you forgot the log"):
        G.close(x.exp(), x, "loss", mistakes={"you forgot the log": x.exp()})


def test_close_rejects_wrong_types_and_shapes(G):
    with pytest.raises(ExerciseFailure, match="should be a torch.Tensor, got list"):
        G.close([1.0, 2.0], torch.tensor([1.0, 2.0]), "f(x)")
    with pytest.raises(ExerciseFailure, match=r"should have shape \(2,\), got \(1, 2\)"):
        G.close(torch.tensor([[1.0, 2.0]]), torch.tensor([1.0, 2.0]), "f(x)")
    with pytest.raises(ExerciseFailure, match="should be a number"):
        G.close("3.0", 3.0, "value")


def test_tensor_subclasses_are_not_tensors(G):
    class Liar(torch.Tensor):
        pass
    with pytest.raises(ExerciseFailure, match="should be a torch.Tensor, got Liar"):
        G.is_tensor(torch.zeros(2).as_subclass(Liar), "out")


def test_equal_cannot_be_fooled_by_a_lying_eq(G):
    class AlwaysEqual(dict):
        def __eq__(self, other):
            return True
    G.equal({"a": 1}, {"a": 1}, "counts")
    with pytest.raises(ExerciseFailure, match="counts: expected"):
        G.equal(AlwaysEqual(), {"a": 1}, "counts")


def test_finite_gives_the_hint(G):
    with pytest.raises(ExerciseFailure, match="nan or inf.*subtract the max"):
        G.finite(torch.tensor([float("nan"), 1.0]), "softmax(x)", hint="subtract the max")


def test_call_reports_exceptions_stubs_and_in_place_changes(G):
    def stub(x):
        raise NotImplementedError()

    def broken(x):
        return x.nonexistent

    def in_place(x):
        return x.mul_(2)
    x = torch.ones(3)
    with pytest.raises(ExerciseFailure, match="stub is not written yet"):
        G.call(stub, x)
    with pytest.raises(ExerciseFailure, match=r"calling broken\(tensor of shape \(3,\).*raised AttributeError"):
        G.call(broken, x)
    with pytest.raises(ExerciseFailure, match="changed its input tensor in place"):
        G.call(in_place, x)


def test_a_failure_shows_its_message_first_and_the_line_of_the_learners_code(G, monkeypatch):
    """What a notebook shows (IPython calls _render_traceback_): a few lines, not the grader's internals."""
    def broken(x):
        return x.nonexistent
    with pytest.raises(ExerciseFailure) as failure:
        G.call(broken, torch.ones(3))
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    lines = failure.value._render_traceback_()
    assert len(lines) == 3 and "ExerciseFailure" in lines[0] and "raised AttributeError" in lines[0]
    assert "test_grading.py" in lines[1] and "in broken: return x.nonexistent" in lines[1]
    assert "%tb plain" in lines[2] and not any("course_lib/grading.py" in line for line in lines)
    with pytest.raises(ExerciseFailure) as failure:
        G.close(torch.ones(2), torch.zeros(2), "f(x)")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")  # while grading: the message alone
    assert len(failure.value._render_traceback_()) == 1


def test_expect_needs_a_real_true(G):
    class Truthy:
        def __bool__(self):
            return True
    G.expect(True, "fine")
    with pytest.raises(ExerciseFailure, match="must be True"):
        G.expect(Truthy(), "must be True")


def test_using_gives_an_answer_the_references_of_earlier_pieces(G):
    scope = {"helper": lambda x: x + 1}
    exec("def answer(x, step=2):\n    return helper(x) * step\n"
         "class Model:\n    def run(self, x):\n        return helper(x)\n", scope)
    answer, Model = scope["answer"], scope["Model"]
    assert G.call(G.using(answer, helper=lambda x: x - 1), 5) == 8    # the reference is used
    assert answer(5) == 12                                             # the notebook's function is untouched
    assert scope["helper"](1) == 2
    model = G.using(Model, helper=lambda x: 10 * x)()
    assert isinstance(model, Model) and model.run(3) == 30 and Model().run(3) == 4
    assert G.using(print, helper=None) is print                       # not Python code: unchanged


def test_raises(G):
    G.raises(lambda: int("x"), ValueError, "parse")
    with pytest.raises(ExerciseFailure, match="expected ValueError, but nothing was raised"):
        G.raises(lambda: 1, ValueError, "parse")


def test_rebinding_the_grading_helpers_changes_nothing(monkeypatch):
    monkeypatch.setattr(grading.Grader, "close", lambda *a, **k: None)
    monkeypatch.setattr(grading, "_strict_equal", lambda a, b: True)
    G = fresh_grader()
    with pytest.raises(ExerciseFailure):
        G.close(torch.ones(2), torch.zeros(2), "f(x)")
    with pytest.raises(ExerciseFailure):
        G.equal([1], [2], "list")


def test_rebinding_a_library_function_does_not_change_the_reference(monkeypatch):
    import course_lib.data.corpus as corpus
    original = corpus.stories(2)
    monkeypatch.setattr(corpus, "stories", lambda *a, **k: "my answer")
    G = fresh_grader()
    assert G.ref("data.corpus").stories(2) == original
    assert corpus.stories(2) == "my answer"  # the notebook's own module is left as it was


@pytest.mark.parametrize("target, name", [
    (torch, "allclose"), (torch, "exp"), (torch.nn.functional, "softmax"), (torch.Tensor, "sum"),
])
def test_replacing_a_torch_function_blocks_grading(monkeypatch, target, name):
    monkeypatch.setattr(target, name, lambda *a, **k: True)
    with pytest.raises(ExerciseFailure, match=f"replaced .*{name}"):
        fresh_grader()


def test_comparisons_use_torch_functions_that_cannot_be_rebound(monkeypatch):
    G = fresh_grader()  # built before the rebinding, as in a test cell that ran first
    monkeypatch.setattr(torch, "allclose", lambda *a, **k: True)
    with pytest.raises(ExerciseFailure):
        G.close(torch.ones(2), torch.zeros(2), "f(x)")


def test_is_grading_follows_nbgrader_environment(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert course_lib.is_grading() is False
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert course_lib.is_grading() is True


def test_a_described_call_is_not_given_a_second_pair_of_brackets():
    G = fresh_grader()

    def broken(x=None):
        raise ValueError("no")

    with pytest.raises(ExerciseFailure, match=r"^calling broken\(3\) raised ValueError: no$"):
        G.call(broken, 3)
    with pytest.raises(ExerciseFailure, match=r"^calling BytePairTokenizer\(\.\.\.\)\.vocab raised ValueError"):
        G.call(broken, name="BytePairTokenizer(...).vocab")
    with pytest.raises(ExerciseFailure, match=r"^calling pass_at_k for n = 30, with arguments \(3\) raised"):
        G.call(broken, 3, name="pass_at_k for n = 30")


def test_default_tolerances_follow_the_less_precise_dtype():
    G = fresh_grader()
    exact = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    off = exact * (1 + 5e-5)                             # what a float32 computation may reach, not float64
    G.close(off.float(), exact, "float32 answer")       # float32: rtol 1e-4
    with pytest.raises(ExerciseFailure, match="largest difference"):
        G.close(off, exact, "float64 answer")            # float64: rtol 1e-5
    with pytest.raises(ExerciseFailure):
        G.close(float(off[0]), 1.0, "a Python number")   # numbers count as float64
    G.close(off.bfloat16(), exact, "bfloat16 answer")
    assert grading.tolerance_for(exact, off.float()) == grading.TOLERANCES[torch.float32]
    assert grading.tolerance_for(1.0) == grading.TOLERANCES[torch.float64]


def test_in_a_learners_notebook_an_answer_running_the_librarys_own_function_of_its_name_fails():
    """G.call applies the same-name rule in-process too, so a notebook's test cell says what grading says."""
    from course_lib import functional as library
    G = fresh_grader()
    x = torch.randn(2, 5)

    def softmax(logits, dim=-1):           # wraps the library's answer
        return library.softmax(logits, dim)

    def log_softmax(logits, dim=-1):       # builds on the library's softmax: another exercise, allowed
        return library.softmax(logits, dim).log()

    def uses(function, logits):            # calls a library function the test passed in: allowed
        return function(logits, -1)

    softmax.__qualname__, log_softmax.__qualname__ = "softmax", "log_softmax"   # as in a notebook cell
    for answer in (softmax, library.softmax):
        with pytest.raises(ExerciseFailure, match=r"softmax: write it yourself: .*course_lib\.functional\.softmax"):
            G.call(answer, x)
    assert torch.allclose(G.call(log_softmax, x), torch.log_softmax(x, -1), atol=1e-6)
    uses.__qualname__ = "softmax"          # even under the exercise's name
    assert torch.allclose(G.call(uses, library.softmax, x), torch.softmax(x, -1), atol=1e-6)
