"""Split grading: test cells run in a checker, the learner's answers in their kernel, joined by plain data.

The learner's side (``agent.serve``) runs here in a thread on its own namespace, as it runs in the
learner's kernel under grading; the checker's side is this test. The oracles are the same
computations done in one process (torch's optimizers, schedulers, autograd, generators).
"""
from __future__ import annotations

import json
import socket
import struct
import threading

import numpy as np
import pytest
import torch

from course_lib.grading import ExerciseFailure, fresh_grader
from course_lib.pipeline import agent, checker, wire

LEARNER = '''
import torch

def square(x):
    return x * x

def broken(x):
    return {}["no such key"]

def unwritten(x):
    raise NotImplementedError()

def doubles_in_place(x):
    x.mul_(2)
    return x

def chatty(x):
    print("learner says hello")
    return x

def draw(n, generator):
    return torch.randint(1000, (n,), generator=generator)

def train(model, optimizer, scheduler, x):
    optimizer.zero_grad()
    model(x).pow(2).sum().backward()
    optimizer.step()
    scheduler.step()
    return model(x).pow(2).sum().item()

def call_forward(module, x):
    return module(x)

def rebind_data(p):
    p.data = p.data * 3

def to_eval(model):
    model.eval()
    return model.training

def count(pieces):
    import collections
    return collections.Counter(pieces)

def same_module(a, b):
    return a is b

def append_to(items, table):
    items.append(len(items))
    table["seen"] = True

class PlainSGD(torch.optim.Optimizer):
    def __init__(self, params, lr=0.1):
        super().__init__(params, dict(lr=lr))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.add_(p.grad, alpha=-group["lr"])
        return loss

class Counter:
    def fit(self, items):
        self.count = len(items)
        return self

class Layer(torch.nn.Module):
    def __init__(self, n):
        super().__init__()
        self.linear = torch.nn.Linear(n, n)

    def forward(self, x):
        return self.linear(x)

class Liar:
    def __eq__(self, other):
        return True

    def __bool__(self):
        return True

def lie(x):
    return Liar()

import course_lib.functional as F
from course_lib.finetuning import lora

def softmax(logits, dim=-1):
    return F.softmax(logits, dim)

class LoRALinear(lora.LoRALinear):
    pass

def count_pairs(pieces):
    from course_lib.tokenization import bpe_trainer
    return bpe_trainer.count_pairs(pieces)

def count_bigrams(pieces):
    from course_lib.tokenization import bpe_trainer
    return bpe_trainer.count_pairs(pieces)           # the library's answer under another name

def count_bigrams_by_hand(pieces):
    import collections
    from course_lib.tokenization import bpe_trainer
    bpe_trainer.merge_pair([1, 2], (1, 2), 9)        # a library helper the test does not call: allowed
    return dict(collections.Counter(p for piece in pieces for p in zip(piece, piece[1:])))

def uses(function, pieces):
    return function(pieces)                          # a library function the test passed in: allowed

def log_softmax(logits, dim=-1):
    return F.softmax(logits, dim).log()    # the library's softmax, but this exercise is log_softmax: allowed

everything = [1, -2.5, "text", (1, (2, 3)), {7: b"\\x00\\xff", "k": None}, {1, 2}, True]
'''


@pytest.fixture(autouse=True)
def untrusted_afterwards(monkeypatch):
    """checker.start marks this process as the checker (references load without fresh copies): undone after."""
    from course_lib import grading
    monkeypatch.setattr(grading, "TRUSTED", False)


@pytest.fixture
def socket_path():
    """A short path for the channel's socket (Unix socket paths are limited to about 100 characters)."""
    import shutil
    import tempfile
    folder = tempfile.mkdtemp(prefix="chk-", dir="/tmp")
    yield folder + "/checker"
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def learner(socket_path):
    """The learner's namespace served by an agent thread; yields (namespace, G)."""
    namespace: dict = {}
    exec(compile(LEARNER, "/tmp/ipykernel_1/learner.py", "exec"), namespace)   # named as a notebook cell is
    path = socket_path
    checker.start(path)
    thread = threading.Thread(target=agent.serve, args=(path, namespace), daemon=True)
    thread.start()
    names: dict = {}
    checker.bind("\n".join(k for k in namespace if not k.startswith("__")), names)
    yield names, fresh_grader()
    checker.release()
    thread.join(timeout=10)
    assert not thread.is_alive(), "the learner's side did not go back to its notebook"
    checker._channel.listener.close()


def test_answers_come_back_as_plain_values(learner):
    names, G = learner
    x = torch.tensor([[1.5, -2.0], [3.0, 0.25]], dtype=torch.float64)
    got = G.call(names["square"], x)
    assert type(got) is torch.Tensor and got.dtype == torch.float64 and torch.equal(got, x * x)
    assert names["everything"] == [1, -2.5, "text", (1, (2, 3)), {7: b"\x00\xff", "k": None}, {1, 2}, True]
    assert [type(v) for v in names["everything"]] == [int, float, str, tuple, dict, set, bool]


def test_errors_in_learner_code_are_named_with_their_line(learner):
    names, G = learner
    with pytest.raises(ExerciseFailure, match=r"raised KeyError: 'no such key'$") as caught:
        G.call(names["broken"], torch.ones(2))
    assert "line 8, in broken" in "".join(caught.value._render_traceback_())
    with pytest.raises(ExerciseFailure, match="not written yet"):
        G.call(names["unwritten"], torch.ones(2))


def test_an_in_place_change_of_an_input_is_seen_by_the_checker(learner):
    names, G = learner
    with pytest.raises(ExerciseFailure, match="changed its input tensor in place"):
        G.call(names["doubles_in_place"], torch.ones(3))


def test_what_the_learner_prints_is_shown_in_the_test_cell(learner, capsys):
    names, G = learner
    G.call(names["chatty"], 1)
    assert "learner says hello" in capsys.readouterr().out


def test_an_optimizer_class_moves_the_checkers_parameters_and_calls_its_closure(learner):
    names, G = learner
    ours = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64, requires_grad=True)
    theirs = ours.detach().clone().requires_grad_(True)
    optimizer = G.call(names["PlainSGD"], [ours], lr=0.25)
    twin = torch.optim.SGD([theirs], lr=0.25)
    assert isinstance(optimizer, torch.optim.Optimizer) and type(optimizer).__name__ == "PlainSGD"
    for step in range(4):
        (theirs ** 3).sum().backward()
        twin.step()
        twin.zero_grad()
        if step % 2:
            def closure():
                ours.grad = None
                loss = (ours ** 3).sum()
                loss.backward()
                return loss
            loss = G.call(optimizer.step, closure)
            assert type(loss) is torch.Tensor
        else:
            ours.grad = None
            (ours ** 3).sum().backward()
            G.call(optimizer.step)
        assert torch.allclose(ours.detach(), theirs.detach(), rtol=0, atol=1e-12), step


def test_optimizer_and_scheduler_state_come_back_as_in_one_process(learner):
    names, G = learner

    def setup():
        torch.manual_seed(0)
        model = torch.nn.Linear(3, 2).double()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 0.5 ** s)
        return model, optimizer, scheduler

    x = torch.randn(4, 3, dtype=torch.float64)
    here, there = setup(), setup()
    for _ in range(3):
        expected = names_free_train(*here, x)
        got = G.call(names["train"], *there, x)
        assert got == pytest.approx(expected, rel=1e-12)
    assert there[1].param_groups[0]["lr"] == here[1].param_groups[0]["lr"] == 0.5 * 0.5 ** 3
    assert torch.equal(there[0].weight.detach(), here[0].weight.detach())
    momentum = [there[1].state[p]["momentum_buffer"] for p in there[0].parameters()]
    assert all(torch.equal(a, here[1].state[p]["momentum_buffer"]) for a, p in zip(momentum, here[0].parameters()))


def names_free_train(model, optimizer, scheduler, x):
    """The learner's `train`, run here: what one process would compute."""
    optimizer.zero_grad()
    model(x).pow(2).sum().backward()
    optimizer.step()
    scheduler.step()
    return model(x).pow(2).sum().item()


def test_data_rebound_training_flags_and_counters_come_back(learner):
    names, G = learner
    p = torch.ones(3, requires_grad=True)
    names["rebind_data"](p)                              # `p.data = ...` swaps the storage: still seen
    assert torch.equal(p.detach(), torch.full((3,), 3.0))
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.1)).train()
    assert G.call(names["to_eval"], model) is False and [m.training for m in model.modules()] == [False] * 3
    counts = G.call(names["count"], ["a", "b", "a"])
    assert type(counts).__name__ == "Counter" and counts == {"a": 2, "b": 1}
    layer = G.call(names["Layer"], 2)
    assert G.call(names["same_module"], layer, layer) is True   # a learner's module goes back by reference
    items, table = [5, 6], {}
    names["append_to"](items, table=table)                     # containers changed in place: changed here too
    assert items == [5, 6, 2] and table == {"seen": True}


def test_a_generator_advances_as_if_the_learner_drew_from_it_here(learner):
    names, G = learner
    ours, theirs = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    got = G.call(names["draw"], 6, ours)
    assert torch.equal(got, torch.randint(1000, (6,), generator=theirs))
    assert torch.equal(torch.rand(3, generator=ours), torch.rand(3, generator=theirs))


def test_gradients_flow_back_through_the_learners_computation(learner):
    names, G = learner
    x = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    y = G.call(names["square"], x)
    assert y.requires_grad and y.grad_fn is not None
    (y * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)).sum().backward()
    assert torch.allclose(x.grad, 2 * x.detach() * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))


def test_learner_objects_keep_their_identity_class_and_methods(learner):
    names, G = learner
    counter = G.call(names["Counter"])
    assert G.call(counter.fit, [4, 5, 6]) is counter and counter.count == 3
    layer = G.call(names["Layer"], 3)
    assert isinstance(layer, torch.nn.Module) and type(layer).__name__ == "Layer"
    state = G.call(layer.state_dict)
    assert {k: tuple(v.shape) for k, v in state.items()} == {"linear.weight": (3, 3), "linear.bias": (3,)}
    oracle = torch.nn.Linear(3, 3)
    G.call(layer.load_state_dict, {f"linear.{k}": v for k, v in oracle.state_dict().items()})
    x = torch.randn(2, 3)
    assert torch.allclose(G.call(layer, x), oracle(x))


def test_a_class_the_test_cell_defines_runs_its_methods_in_the_checker(learner):
    names, G = learner
    calls = []

    class Sealed(torch.nn.Linear):
        def forward(self, x):
            calls.append(tuple(x.shape))
            raise RuntimeError("the exercise forbids calling the module itself")

    with pytest.raises(ExerciseFailure, match="forbids calling the module itself"):
        G.call(names["call_forward"], Sealed(2, 2), torch.ones(1, 2))
    assert calls == [(1, 2)]


def test_an_answer_that_runs_the_librarys_own_answer_is_refused(learner):
    names, G = learner
    x = torch.randn(2, 5)
    with pytest.raises(ExerciseFailure, match=r"softmax: write it yourself: .*course_lib.functional.softmax"):
        G.call(names["softmax"], x)
    with pytest.raises(ExerciseFailure, match=r"runs the library's own course_lib.finetuning.lora.LoRALinear.__init__"):
        G.call(names["LoRALinear"], torch.nn.Linear(4, 3), 2, 4.0)
    assert torch.allclose(G.call(names["log_softmax"], x), torch.log_softmax(x, -1), atol=1e-6)
    reference = G.ref("tokenization.bpe_trainer")
    with pytest.raises(ExerciseFailure, match=r"runs the library's own course_lib.tokenization.bpe_trainer.count_pairs"):
        G.call(names["count_pairs"], [[1, 2, 3]])
    assert G.call(names["uses"], reference.count_pairs, [[1, 2, 3]]) == reference.count_pairs([[1, 2, 3]])


def verdict_on(names, G, answer: str, shown: list[str] | None) -> str:
    """The checker's verdict on a test cell that checks ``answer`` against bpe_trainer.count_pairs."""
    checker.bind("", {}, shown)
    reference = G.ref("tokenization.bpe_trainer")
    G.equal(G.call(names[answer], [[1, 2, 3], [2, 3]]), reference.count_pairs([[1, 2, 3], [2, 3]]), answer)
    return checker._channel.verdict()


def test_an_answer_that_calls_the_tests_own_oracle_is_refused_unless_the_lesson_showed_it(learner):
    names, G = learner
    assert "bpe_trainer.count_pairs, which this test computes the expected answer with" in \
        verdict_on(names, G, "count_bigrams", shown=["merge_pair", "bpe_trainer"])
    assert verdict_on(names, G, "count_bigrams", shown=["count_pairs"]) == ""     # the lesson hands it out
    assert verdict_on(names, G, "count_bigrams", shown=None) == ""                # the lesson is unknown
    assert verdict_on(names, G, "count_bigrams_by_hand", shown=[]) == ""          # another helper: allowed
    checker.bind("", {}, [])
    reference = G.ref("tokenization.bpe_trainer")
    assert G.call(names["uses"], reference.count_pairs, [[1, 2]]) == reference.count_pairs([[1, 2]])
    assert checker._channel.verdict() == ""                                        # the test passed it in


def test_a_lying_object_stays_in_the_learners_kernel_and_fails(learner):
    names, G = learner
    got = G.call(names["lie"], 3)
    assert type(got).__name__ == "Liar" and not isinstance(got, (int, torch.Tensor))
    with pytest.raises(ExerciseFailure, match="should be a number"):
        G.close(got, 3.0, "lie(3)")
    with pytest.raises(ExerciseFailure):
        G.equal(got, 3, "lie(3)")


def test_a_test_cells_free_names_are_those_it_reads_and_never_assigns():
    source = ("from course_lib.grading import fresh_grader\nG = fresh_grader()\ntorch = G.torch\n"
              "def check(n, seed=0):\n    got = G.call(softmax, torch.randn(n))\n    return got, helper\n"
              "for k in range(3):\n    check(k)\nprint(len(NgramLM.__name__))\ntry:\n    pass\nexcept Exception as e:\n    e\n")
    assert checker.free_names(source) == ["NgramLM", "helper", "softmax"]
    assert checker.free_names("def broken(:\n") == []


def test_a_name_the_learner_never_defined_is_a_name_error(learner):
    names, _ = learner
    namespace = {"never_defined": "left over from an earlier cell"}
    checker.bind("never_defined(1)\nsquare(2)", namespace)
    assert "never_defined" not in namespace and "square" in namespace


# ------------------------------------------------------------------ the wire refuses what is not plain data
@pytest.mark.parametrize("message, complaint", [
    ({"pickle": "gASV"}, "unknown tag"),
    ({"tensor": {"dtype": "float32", "shape": [3], "data": "AAAA"}}, "came with 3 bytes"),
    ({"tensor": {"dtype": "object", "shape": [1], "data": ""}}, "malformed tensor"),
    ({"twin": 99}, "never sent"),
    ({"dict": {"type": "Liar", "items": []}}, "malformed dict"),
    ({"tuple": "not a list"}, "malformed list"),
])
def test_malformed_or_active_values_are_refused(message, complaint):
    with pytest.raises(wire.WireError, match=complaint):
        wire.decode(json.dumps(message).encode())


def test_every_kind_of_plain_value_survives_the_wire():
    side = agent.Agent(None, {})
    values = [torch.arange(6, dtype=torch.int64).reshape(2, 3), torch.tensor(2.5, dtype=torch.bfloat16),
              torch.empty(0, 4), torch.tensor([True, False]), torch.Size([2, 3]), torch.float16,
              np.arange(4, dtype=np.int32), np.float64(1.25), {"a": [1, {2: (3,)}]}, frozenset({1}), b"\x00"]
    back = wire.decode(json.dumps(side.encode(values)).encode())
    for sent, got in zip(values, back):
        if isinstance(sent, torch.Tensor):
            assert type(got) is torch.Tensor and got.dtype == sent.dtype and torch.equal(got, sent)
        elif isinstance(sent, np.ndarray):
            assert got.dtype == sent.dtype and np.array_equal(got, sent)
        else:
            assert got == sent and type(got) is type(sent)


def test_a_message_over_the_limit_is_refused_unread():
    left, right = socket.socketpair()
    left.sendall(struct.pack(">I", wire.MAX_MESSAGE + 1))
    with pytest.raises(wire.WireError, match="over the limit"):
        wire.receive(right)
    left.close()
    right.close()


def test_a_learner_kernel_that_dies_mid_call_is_a_clear_failure(socket_path):
    namespace = {"exits": lambda: None}
    path = socket_path
    checker.start(path)

    def serve_then_die():
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
        side = agent.Agent(sock, namespace)
        side._read()     # the first request, then the kernel is gone
        sock.close()

    thread = threading.Thread(target=serve_then_die, daemon=True)
    thread.start()
    with pytest.raises(checker.LearnerError, match="stopped while running your code"):
        checker._channel.request("names", names=["exits"])
    checker.release()
    thread.join(timeout=10)
    checker._channel.listener.close()


def test_the_checker_kernel_has_its_address_space_capped(tmp_path):
    """A learner's kernel flooding the checker with replies meets a MemoryError there, not the machine's limit."""
    import asyncio
    import shutil

    from course_lib.pipeline.split import CheckerKernelManager
    if shutil.which("prlimit") is None:
        pytest.skip("util-linux's prlimit is not installed: the checker kernel runs uncapped")

    async def limit_seen_by_the_kernel():
        km = CheckerKernelManager(kernel_name="python3", memory_bytes=3 * 2**30)
        await km.start_kernel(cwd=str(tmp_path))
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=60)
            reply = await kc.execute_interactive("", user_expressions={
                "limit": "__import__('resource').getrlimit(__import__('resource').RLIMIT_AS)"}, timeout=60)
            return reply["content"]["user_expressions"]["limit"]["data"]["text/plain"]
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)

    assert asyncio.run(limit_seen_by_the_kernel()) == f"({3 * 2**30}, {3 * 2**30})"
