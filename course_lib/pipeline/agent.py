"""The learner's side of split grading: calls the learner's answers for the checker, and answers in plain data.

While the checker runs a test cell, the grader has the learner's kernel run ``serve(path, globals())``.
It connects to the checker's socket and does what each request asks (look up a name, call an object,
read an attribute), sending back plain data (``wire``) or a number standing for an object that stays
here. It decides nothing: learner code runs in this kernel and could change anything in it, so this
side is trusted with nothing but running the learner's code. Objects are kept by number until the
test cell ends.
"""
from __future__ import annotations

import base64
import contextlib
import io
import json
import pickle
import socket
import time

import numpy as np
import torch

from course_lib.grading import _ipython, _learner_line, with_references
from course_lib import borrowing
from course_lib.pipeline import wire

OUTPUT_LIMIT = 20_000   # characters of the learner's printed output passed on per request


class Agent:
    """Answers the checker's requests on ``sock`` from the learner's ``namespace``, for one test cell."""

    def __init__(self, sock: socket.socket, namespace: dict):
        self.sock = sock
        self.namespace = namespace
        self.objects: dict[int, object] = {}       # number -> object kept for the checker
        self.numbers: dict[int, int] = {}          # id(object) -> number
        self.twins: dict[int, torch.Tensor] = {}   # the checker's shared tensors, by its numbers
        self.twin_numbers: dict[int, int] = {}     # id(twin) -> its number
        self.generators: dict[int, torch.Generator] = {}
        self.classes: dict[int, type] = {}         # the test cell's own classes, rebuilt here
        self.stateful: dict[int, object] = {}      # the checker's optimizers, schedulers and modules, as received
        self.signatures: dict[int, wire.Signature] = {}   # what each twin looked like at the last exchange
        self.given: set = set()                    # code of the library functions the checker itself passed

    # ------------------------------------------------------------------ the loop
    def serve(self) -> None:
        while True:
            try:
                request = self._read()
            except EOFError:
                return
            except Exception as error:  # a request this side cannot read: say so, and go on
                self._send({"error": describe(error), "printed": ""})
                continue
            if request["op"] == "release":
                return
            self._answer(request)

    def _read(self) -> dict:
        """The next request: first the shared tensors' news, then the request, whose pickle refers to them."""
        envelope = pickle.loads(wire.receive(self.sock))
        self._take_push(envelope["push"])
        return _Unpickler(envelope["request"], self).load()

    def _answer(self, request: dict) -> None:
        """Do one request; send its result, or the error the learner's code raised."""
        printed = io.StringIO()
        self.changed_arguments, self.library_used, self.library_called = [], None, []
        try:
            with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
                result = self._do(request)
            message = {"reply": self.encode(result), "arguments": self.changed_arguments,
                       "library": self.library_used, "called": self.library_called}
        except Exception as error:  # the learner's code raised: describe it, in plain data
            message = {"error": describe(error)}
        message["printed"] = printed.getvalue()[-OUTPUT_LIMIT:]
        self._send(message)

    def _send(self, message: dict) -> None:
        message["pull"] = self._changed_twins()
        wire.send(self.sock, _json(message))

    def _do(self, request: dict):
        op = request["op"]
        if op == "names":
            return {name: self.namespace[name] for name in request["names"] if name in self.namespace}
        target = self.objects[request["target"]] if "target" in request else None
        if op == "call":
            args, kwargs = request["args"], request["kwargs"]
            watched = {key: value for key, value in [*enumerate(args), *kwargs.items()]
                       if type(value) in (list, dict, set, bytearray)}
            before = {key: _json(self.encode(value)) for key, value in watched.items()}
            result, self.library_used, called = call_watching_the_library(target, args, kwargs, given=self.given)
            self.library_called.extend(called)
            # the learner's code changed a container it was given: the checker's own changes the same way
            self.changed_arguments = [[key, self.encode(value)] for key, value in watched.items()
                                      if _json(self.encode(value)) != before[key]]
            return result
        if op == "getattr":
            return getattr(target, request["name"])
        if op == "setattr":
            return setattr(target, request["name"], request["value"])
        if op == "item":
            return target[request["key"]]
        if op == "iter":
            return list(target)
        if op == "len":
            return len(target)
        if op == "backward":
            return target.backward(*request["args"], **request["kwargs"])
        if op == "using":
            return with_references(target, request["references"])
        raise ValueError(f"unknown request {op!r}")

    # ------------------------------------------------------------------ the checker's functions, called from here
    def callback(self, number: int):
        def call_checker(*args, **kwargs):
            self._send({"callback": number, "args": self.encode(list(args)), "kwargs": self.encode(kwargs)})
            while True:  # the checker may call back into this kernel while it runs its function
                request = self._read()
                if request["op"] == "return":
                    return request["value"]
                if request["op"] == "raise":
                    raise _rebuilt(request["type"], request["message"])
                self._answer(request)
        call_checker.__name__ = call_checker.__qualname__ = f"checker_function_{number}"
        return call_checker

    # ------------------------------------------------------------------ shared tensors
    def _take_push(self, push: dict) -> None:
        for number, (value, requires_grad, parameter, grad) in push.get("tensors", {}).items():
            twin = self.twins.get(number)
            if twin is None or tuple(twin.shape) != tuple(value.shape) or twin.dtype != value.dtype:
                twin = torch.nn.Parameter(value, requires_grad) if parameter else value.requires_grad_(requires_grad)
                self.twins[number] = twin
                self.twin_numbers[id(twin)] = number
            else:
                with torch.no_grad():
                    twin.copy_(value)
                if twin.is_leaf and twin.requires_grad != requires_grad:
                    twin.requires_grad_(requires_grad)
            if twin.is_leaf:
                twin.grad = grad
            self.signatures[number] = wire.Signature(twin)
        for number, state in push.get("generators", {}).items():
            generator = self.generators.setdefault(number, torch.Generator())
            generator.set_state(state)

    def _changed_twins(self) -> dict:
        tensors = []
        for number, twin in self.twins.items():
            if wire.Signature(twin) != self.signatures.get(number):
                grad = twin.grad if twin.is_leaf else None
                tensors.append([number, wire.tensor_bytes(twin), None if grad is None else wire.tensor_bytes(grad),
                                bool(twin.requires_grad)])
                self.signatures[number] = wire.Signature(twin)
        generators = [[number, wire.tensor_bytes(g.get_state())] for number, g in self.generators.items()]
        stateful = [[number, self.encode(state_of(value))] for number, value in self.stateful.items()]
        return {"tensors": tensors, "generators": generators, "stateful": stateful}

    # ------------------------------------------------------------------ values -> plain data
    def encode(self, value, depth: int = 0):
        if depth > 100:
            raise ValueError("the value is nested more than 100 levels deep")
        kind = type(value)
        if value is None or kind in (bool, int, float, str):
            return value
        if isinstance(value, torch.Tensor):
            if id(value) in self.twin_numbers and self.twins.get(self.twin_numbers[id(value)]) is value:
                return {"twin": self.twin_numbers[id(value)]}
            spec = wire.tensor_bytes(value)
            spec["requires_grad"] = bool(value.requires_grad)
            spec["parameter"] = isinstance(value, torch.nn.Parameter)
            if value.is_leaf and value.grad is not None:
                spec["grad"] = wire.tensor_bytes(value.grad)
            if value.requires_grad and value.grad_fn is not None:
                spec["handle"] = self.keep(value)
            return {"tensor": spec}
        if kind is torch.Size:
            return {"size": list(value)}
        if kind is torch.dtype:
            return {"dtype": str(value).removeprefix("torch.")}
        if kind in (list, tuple, set, frozenset) or isinstance(value, tuple):
            items = [self.encode(v, depth + 1) for v in value]
            return items if kind is list else {("tuple" if isinstance(value, tuple) else kind.__name__): items}
        if isinstance(value, dict) and type(value).__name__ in wire.DICTS:
            return {"dict": {"type": type(value).__name__,
                             "items": [[self.encode(k, depth + 1), self.encode(v, depth + 1)] for k, v in value.items()]}}
        if kind in (bytes, bytearray):
            return {"bytes": base64.b64encode(bytes(value)).decode("ascii")}
        if kind is np.ndarray and str(value.dtype) in wire.NUMPY_DTYPES:
            spec = wire.tensor_bytes(torch.from_numpy(np.ascontiguousarray(value)))
            spec["dtype"] = str(value.dtype)
            return {"ndarray": spec}
        if isinstance(value, np.generic) and str(value.dtype) in wire.NUMPY_DTYPES:
            return {"numpy": [str(value.dtype), value.item()]}
        return {"handle": self.describe_object(value)}

    def keep(self, value) -> int:
        return wire.number_for(value, self.objects, self.numbers)

    def describe_object(self, value) -> dict:
        kind = type(value)
        try:
            text = repr(value)
        except Exception:
            text = f"<{kind.__name__} object>"
        return {"number": self.keep(value), "type": kind.__name__, "callable": callable(value),
                "bases": [[getattr(c, "__module__", "") or "", c.__qualname__] for c in kind.__mro__],
                "text": text[:300]}


def _json(message) -> bytes:
    return json.dumps(message, allow_nan=True).encode()


def describe(error: BaseException) -> dict:
    """The learner's exception as plain data: its type, message and the line of their code that raised it."""
    where = _learner_line(error, _ipython())
    try:  # a KeyError's str() quotes its key; it is rebuilt from the key there, as here
        message = str(error.args[0]) if isinstance(error, KeyError) and len(error.args) == 1 else str(error)
    except Exception:
        message = "(its message could not be shown)"
    return {"type": type(error).__name__, "message": message[:2000], "where": where[:500]}


def _rebuilt(type_name: str, message: str) -> Exception:
    """The exception a checker function raised, for the learner's code: its builtin type, else a RuntimeError."""
    import builtins
    kind = getattr(builtins, type_name, None)
    if isinstance(kind, type) and issubclass(kind, Exception):
        try:
            return kind(message)
        except Exception:
            pass
    return RuntimeError(f"{type_name}: {message}")


def call_watching_the_library(target, args: tuple, kwargs: dict, given=frozenset()):
    """``target(*args, **kwargs)``, the library function of the same name it ran (or None), and the
    library functions the learner's code called directly (``borrowing``: the checker judges them).

    Library functions the test itself passed in (``given``) are the test's: calling them is allowed.
    """
    # "machinery" too: an answer that IS a library function is called by this agent's own code
    with borrowing.Watch(callers=("own", "machinery"), name=borrowing.answer_name(target), allowed=given) as watch:
        result = target(*args, **kwargs)
    return result, watch.same_name, sorted(watch.called)


def state_of(value) -> dict:
    """What the checker's copy needs back: a module's training flags, or a state_dict."""
    if isinstance(value, torch.nn.Module):
        return {"training": [module.training for module in value.modules()]}
    return value.state_dict()


def _track_steps(optimizer: torch.optim.Optimizer, called: bool) -> None:
    """Mark step() as an LR scheduler does in its constructor (a copy loses the mark), so that the
    scheduler warns about what the learner's code does, not about the copy."""
    step = optimizer.step

    def tracked_step(*args, **kwargs):
        optimizer._opt_called = True
        return step(*args, **kwargs)

    tracked_step._wrapped_by_lr_sched = True
    optimizer.step = tracked_step
    optimizer._opt_called = called


class _Unpickler(pickle.Unpickler):
    """Reads the checker's pickles, mapping its shared tensors, generators, callbacks and our objects."""

    def __init__(self, data: bytes, agent: Agent, seen: dict | None = None):
        super().__init__(io.BytesIO(data))
        self.agent = agent
        self.seen = {} if seen is None else seen

    def persistent_load(self, pid):
        kind, number, *rest = pid
        if kind == "tensor":
            return self.agent.twins[number]
        if kind == "generator":
            return self.agent.generators.setdefault(number, torch.Generator())
        if kind == "object":
            return self.agent.objects[number]
        if kind == "callback":
            return self.agent.callback(number)
        if kind == "stateful":
            if number not in self.seen:   # one copy per request, shared by every reference to it
                value = _Unpickler(rest[0], self.agent, self.seen).load()
                if isinstance(value, torch.optim.Optimizer):
                    _track_steps(value, called=rest[1])
                self.seen[number] = self.agent.stateful[number] = value
            return self.seen[number]
        if kind == "class":
            name, bases, namespace = rest
            if number not in self.agent.classes:
                self.agent.classes[number] = type(name, tuple(bases), dict(namespace))
            return self.agent.classes[number]
        if kind == "library":
            import importlib
            target = importlib.import_module(rest[0])
            for part in rest[1].split("."):
                target = getattr(target, part)
            functions = [target] if not isinstance(target, type) else \
                [f for kind in target.__mro__ for f in vars(kind).values()]
            self.agent.given.update(getattr(f, "__code__", None) for f in functions)   # the test's own: allowed
            return target
        raise pickle.UnpicklingError(f"unknown reference {kind!r}")


def serve(path: str, namespace: dict, connect_seconds: float = 20.0) -> None:
    """Connect to the checker at ``path`` and answer its requests until it releases this kernel."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    deadline = time.monotonic() + connect_seconds
    while True:
        try:
            sock.connect(path)
            break
        except OSError:
            if time.monotonic() > deadline:
                return
            time.sleep(0.02)
    try:
        Agent(sock, namespace).serve()
    finally:
        sock.close()
