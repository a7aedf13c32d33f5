"""The checker's side of split grading: test cells run here, and the learner's objects are stand-ins.

Under grading a notebook runs in two kernels. The learner's cells run in the sandboxed learner
kernel; each test cell runs in this *checker* kernel, where no learner code ever runs, so the
expected values, the hidden tests and every comparison are out of the learner's reach. A test cell
is unchanged: before it runs, ``bind`` gives each name it uses but does not define (``softmax``,
``NgramLM``) the learner's value. Plain data arrives as plain data; a function, class or other
object arrives as a ``Remote``, whose calls, attributes and items are requests to the learner's
kernel (``course_lib.pipeline.agent``) answered in plain data (``course_lib.pipeline.wire``).

Tensors the checker passes to the learner's code are shared: the learner's side keeps a twin, and
every exchange carries the changes both ways, so ``optimizer.step()`` moves the checker's
parameters and a closure run here fills the gradients the learner's optimizer reads.
"""
from __future__ import annotations

import ast
import builtins
import importlib
import io
import json
import os
import pickle
import socket
from types import BuiltinFunctionType, FunctionType, MethodType

import torch

from course_lib import borrowing
from course_lib.pipeline import wire

ACCEPT_SECONDS = 30      # how long the learner's kernel has to connect for a test cell
AFTER_SILENCE_SECONDS = 5   # ... once it has failed to connect for an earlier one
PERSONAL = ("__name__", "__qualname__", "__doc__", "__module__", "__dict__")   # dunders a Remote fetches


class LearnerError(Exception):
    """Raised here for an exception the learner's code raised there (its own type name is kept)."""
    learner_where = ""


# ------------------------------------------------------------------ stand-ins for the learner's objects
class Remote:
    """An object in the learner's kernel: attribute reads, items, iteration and ``len`` are requests.

    Its type is named after the learner's type, with that type's bases (names and modules only),
    so ``type(x).__name__``, ``type(x).__mro__`` and ``vars(x)`` read as they would there.
    """

    __slots__ = ("_channel", "_handle")

    def __init__(self, channel: "Channel", handle: wire.Handle):
        object.__setattr__(self, "_channel", channel)
        object.__setattr__(self, "_handle", handle)

    def __getattr__(self, name: str):
        if name.startswith("__") and name not in PERSONAL:
            raise AttributeError(name)
        return self._channel.request("getattr", target=self._handle.number, name=name)

    def __setattr__(self, name: str, value) -> None:
        self._channel.request("setattr", target=self._handle.number, name=name, value=value)

    def __getitem__(self, key):
        return self._channel.request("item", target=self._handle.number, key=key)

    def __iter__(self):
        return iter(self._channel.request("iter", target=self._handle.number))

    def __len__(self) -> int:
        return self._channel.request("len", target=self._handle.number)

    def __bool__(self) -> bool:
        return True

    def _remote_using(self, references: dict):
        """``G.using`` on a learner's function or class: the copy that sees ``references`` is made there."""
        return self._channel.request("using", target=self._handle.number, references=references)

    def __repr__(self) -> str:
        return self._handle.text

    def __reduce__(self):
        raise TypeError("a learner's object is sent back by reference, never copied")

    @property
    def __class__(self):  # isinstance(remote, torch.nn.Module) answers as it would for the object there
        return _stand_in(self._handle)


class RemoteCallable(Remote):
    """A learner's function, class or other callable: calling it is a request."""

    __slots__ = ()

    def __call__(self, *args, **kwargs):
        return self._channel.request("call", target=self._handle.number, args=args, kwargs=kwargs)


_KINDS: dict[tuple, type] = {}
TRUSTED_ROOTS = ("torch", "course_lib", "collections", "numpy", "builtins")


def _kind(handle: wire.Handle) -> type:
    """The Remote subclass for the learner's type: a chain of empty classes named as its MRO."""
    key = (handle.type_name, handle.bases, handle.is_callable)
    if key not in _KINDS:
        kind = RemoteCallable if handle.is_callable else Remote
        for module, qualname in reversed(handle.bases):   # from the most basic class to the type itself
            if (module, qualname) == ("builtins", "object"):
                continue
            name = qualname.rsplit(".", 1)[-1]
            kind = type(name if name.isidentifier() else "LearnerObject", (kind,),
                        {"__slots__": (), "__module__": module, "__qualname__": qualname})
        _KINDS[key] = kind
    return _KINDS[key]


def _stand_in(handle: wire.Handle) -> type:
    """The first class in the object's MRO that this side can import from a trusted package, subclassed.

    Used only by ``isinstance``: a learner who claims a base class gains nothing, since every check
    of behaviour is still a request answered with data.
    """
    for module_name, qualname in handle.bases:
        if module_name.split(".")[0] not in TRUSTED_ROOTS or qualname == "object":
            continue
        try:
            found = importlib.import_module(module_name)
            for part in qualname.split("."):
                found = getattr(found, part)
            if isinstance(found, type):
                return type(handle.type_name, (found,), {})
        except Exception:
            continue
    return _kind(handle)


def _exception_for(error: dict) -> BaseException:
    """The learner's exception, rebuilt here: the same builtin type (so ``isinstance`` checks hold), same text."""
    type_name, message = str(error.get("type", "Exception")), str(error.get("message", ""))
    builtin = getattr(builtins, type_name, None)
    exception = None
    if isinstance(builtin, type) and issubclass(builtin, Exception):
        try:
            exception = builtin(message)
            if builtin is not KeyError and str(exception) != message:
                exception = None
        except Exception:
            exception = None
        if exception is None:   # a type whose constructor wants its fields (UnicodeDecodeError): keep the text
            kind = type(type_name, (builtin,), {"__str__": lambda self: self.args[0] if self.args else ""})
            exception = kind.__new__(kind)
            exception.args = (message,)
    else:
        kind = type(type_name if type_name.isidentifier() else "LearnerError", (LearnerError,), {})
        exception = kind(message)
    exception.learner_where = str(error.get("where", ""))
    return exception


# ------------------------------------------------------------------ the channel
# Sent as copies whose state comes back after each request: an optimizer's and a scheduler's state_dict,
# a module's training flags (its parameters and buffers are shared tensors).
STATEFUL = (torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler, torch.nn.Module)


def restore(value, state) -> None:
    """Give the checker's optimizer, scheduler or module the state its copy has in the learner's kernel."""
    if isinstance(value, torch.nn.Module):
        modules = list(value.modules())
        flags = state.get("training") if isinstance(state, dict) else None
        if type(flags) is list and len(flags) == len(modules):
            for module, flag in zip(modules, flags):
                module.training = flag is True
    else:
        value.load_state_dict(state)


class _Pickler(pickle.Pickler):
    """Pickles a request: shared tensors, generators, learner objects and checker functions by reference."""

    def __init__(self, stream, channel: "Channel", inside: set[int] | None = None):
        super().__init__(stream, protocol=pickle.HIGHEST_PROTOCOL)
        self.channel = channel
        self.inside = set() if inside is None else inside   # stateful objects being pickled now

    def persistent_id(self, value):
        if isinstance(value, Remote):   # first: a learner's module answers isinstance as a Module does
            return ("object", object.__getattribute__(value, "_handle").number)
        if isinstance(value, STATEFUL) and id(value) not in self.inside:
            # an optimizer or scheduler: sent as a copy, and its state_dict comes back after each request
            self.inside.add(id(value))
            try:
                stream = io.BytesIO()
                _Pickler(stream, self.channel, self.inside).dump(value)
            finally:
                self.inside.discard(id(value))
            return ("stateful", self.channel.share_stateful(value), stream.getvalue(),
                    bool(getattr(value, "_opt_called", False)))   # has step() run (schedulers warn if not)
        if isinstance(value, torch.Tensor):
            return ("tensor", self.channel.share(value))
        if isinstance(value, torch.Generator):
            return ("generator", self.channel.share_generator(value))
        if isinstance(value, (FunctionType, MethodType, BuiltinFunctionType, type)):
            module = getattr(value, "__module__", "") or ""
            qualname = getattr(value, "__qualname__", "")
            if module.startswith("course_lib") and "<" not in qualname:
                return ("library", 0, module, qualname)
            if isinstance(value, type) and (module == "__main__" or "<locals>" in qualname):  # the test cell's class
                return ("class", self.channel.share_class(value), value.__name__, value.__bases__,
                        {k: v for k, v in vars(value).items()
                         if isinstance(v, FunctionType) or v is None or type(v) in (str, int, float, bool)})
            if isinstance(value, (FunctionType, MethodType)) and (module == "__main__" or "<" in qualname):
                return ("callback", self.channel.share_function(value))
        return None


def _update_in_place(args: tuple, kwargs: dict, changed) -> None:
    """Change the lists, dicts and sets the checker passed as the learner's code changed its copies."""
    for key, value in changed if type(changed) is list else []:
        original = args[key] if type(key) is int and 0 <= key < len(args) else kwargs.get(key) if type(key) is str else None
        if type(original) is not type(value) and not (type(original) is bytearray and type(value) is bytes):
            continue
        if isinstance(original, (list, bytearray)):
            original[:] = value
        elif isinstance(original, (dict, set)):
            original.clear()
            original.update(value)


def _number_in(table: dict[int, object], value) -> int:
    """The number ``value`` has in ``table`` (compared by identity), given it now if it has none."""
    for number, known in table.items():
        if known is value:
            return number
    table[len(table) + 1] = value
    return len(table)


class Channel:
    """The checker's end of the socket to the learner's kernel, for one test cell at a time."""

    def __init__(self, path: str):
        self.path = path
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        os.chmod(path, 0o777)   # the sandbox's user connects to it
        self.listener.listen(1)
        self.sock: socket.socket | None = None
        self.silent = False   # the learner's kernel once failed to connect
        self._reset()

    def _reset(self) -> None:
        self.tensors: dict[int, torch.Tensor] = {}   # number -> the checker's tensor
        self.numbers: dict[int, int] = {}            # id(tensor) -> number
        self.signatures: dict[int, tuple] = {}
        self.generators: dict[int, torch.Generator] = {}
        self.functions: dict[int, object] = {}
        self.classes: dict[type, int] = {}
        self.stateful: dict[int, object] = {}         # optimizers, schedulers and modules sent, by number
        self.remotes: dict[int, Remote] = {}         # one stand-in per learner object: `fit(...) is model` holds
        self.callback_error: BaseException | None = None
        self._stop_watching()
        self.answer_called: set[tuple[str, str]] = set()   # library functions the learner's code called itself
        self.shown: set[str] | None = None           # the names the lesson's code showed before this test cell

    # ------------------------------------------------------------------ sharing
    def share(self, tensor: torch.Tensor) -> int:
        return wire.number_for(tensor, self.tensors, self.numbers)

    def share_generator(self, generator: torch.Generator) -> int:
        return _number_in(self.generators, generator)

    def share_stateful(self, value) -> int:
        return _number_in(self.stateful, value)

    def share_class(self, kind: type) -> int:
        if kind not in self.classes:
            self.classes[kind] = len(self.classes) + 1
        return self.classes[kind]

    def share_function(self, function) -> int:
        number = len(self.functions) + 1
        self.functions[number] = function
        return number

    def _push(self) -> dict:
        tensors = {}
        for number, tensor in self.tensors.items():
            if wire.Signature(tensor) != self.signatures.get(number):
                grad = tensor.grad if tensor.is_leaf else None
                tensors[number] = (tensor.detach().clone(), bool(tensor.requires_grad),
                                   isinstance(tensor, torch.nn.Parameter), None if grad is None else grad.detach().clone())
                self.signatures[number] = wire.Signature(tensor)
        generators = {number: g.get_state() for number, g in self.generators.items()}
        return {"tensors": tensors, "generators": generators}

    def _take_pull(self, pull) -> None:
        if type(pull) is not dict:
            raise wire.WireError("a message without its shared tensors")
        for number, spec, grad_spec, requires_grad in pull.get("tensors", []):
            tensor = self.tensors.get(number)
            if tensor is None:
                raise wire.WireError("news of a shared tensor the checker never sent")
            value = wire.tensor_from(spec)
            if tuple(value.shape) != tuple(tensor.shape):
                raise LearnerError(f"your code changed the shape of a tensor it was given, from {tuple(tensor.shape)} "
                                   f"to {tuple(value.shape)}; change its values, or make a new tensor")
            with torch.no_grad():
                tensor.copy_(value.to(tensor.dtype))
            if tensor.is_leaf and requires_grad is not tensor.requires_grad and type(requires_grad) is bool:
                tensor.requires_grad_(requires_grad)   # the learner froze (or unfroze) a parameter it was given
            if tensor.is_leaf:
                tensor.grad = None if grad_spec is None else wire.tensor_from(grad_spec).to(tensor.dtype)
            self.signatures[number] = wire.Signature(tensor)
        for number, spec in pull.get("generators", []):
            if number in self.generators:
                self.generators[number].set_state(wire.tensor_from(spec))
        for number, state in pull.get("stateful", []):
            if number in self.stateful:   # what step() and scheduler.step() changed there: lr, momenta, counts
                restore(self.stateful[number], wire._decode(state, self.tensors, 0))

    # ------------------------------------------------------------------ requests
    def _connection(self) -> socket.socket:
        if self.sock is None:
            self.listener.settimeout(AFTER_SILENCE_SECONDS if self.silent else ACCEPT_SECONDS)
            try:
                self.sock, _ = self.listener.accept()
                self.silent = False
            except OSError:
                self.silent = True
                raise LearnerError("the learner's kernel did not answer (it may have crashed, or a cell stopped it): "
                                   "no answer of this notebook can be checked. Restart the kernel and run every cell "
                                   "from the top") from None
            self.sock.settimeout(None)
        return self.sock

    def _send(self, request: dict) -> None:
        stream = io.BytesIO()
        try:
            _Pickler(stream, self).dump(request)
        except (pickle.PicklingError, TypeError, AttributeError) as error:
            raise TypeError(f"this test cell passes something the learner's kernel cannot receive: {error}") from None
        envelope = pickle.dumps({"push": self._push(), "request": stream.getvalue()}, protocol=pickle.HIGHEST_PROTOCOL)
        wire.send(self._connection(), envelope)

    def request(self, op: str, **fields):
        """Ask the learner's kernel to do ``op``; the plain-data answer, or the learner's exception raised here."""
        self._send({"op": op, **fields})
        while True:
            try:
                message = self._receive()
            except (EOFError, OSError):
                self.sock = None
                raise LearnerError("the learner's kernel stopped while running your code (it crashed, ran out of "
                                   "memory or time, or exited)") from None
            printed = message.get("printed")
            if isinstance(printed, str) and printed:
                print(printed, end="" if printed.endswith("\n") else "\n")
            if "callback" in message:
                self._run_callback(message)
                continue
            if "error" in message:
                error, self.callback_error = self.callback_error, None
                if error is not None:
                    raise error   # a checker function the learner's code called failed: that is the failure
                raise _exception_for(message["error"] if type(message["error"]) is dict else {})
            if op == "call":
                _update_in_place(fields["args"], fields["kwargs"], message.get("arguments"))
                for pair in message.get("called") if type(message.get("called")) is list else []:
                    if type(pair) is list and len(pair) == 2 and all(type(p) is str for p in pair) \
                            and len(self.answer_called) < 1000:
                        self.answer_called.add((pair[0], pair[1]))   # (module, qualname) of a library function
                if isinstance(message.get("library"), str):
                    from course_lib.grading import ExerciseFailure
                    raise ExerciseFailure(borrowing.same_name_reason(message["library"]))
            return message.get("reply")

    def _receive(self) -> dict:
        body = wire.receive(self._connection())
        raw = json.loads(body)
        if type(raw) is not dict:
            raise wire.WireError("a malformed message")
        self._take_pull(raw.get("pull", {}))
        message = {}
        for key in ("reply", "args", "kwargs", "arguments"):
            if key in raw:
                message[key] = wire._decode(raw[key], self.tensors, 0, self._backward)
        for key in ("callback", "error", "printed", "library", "called"):
            if key in raw:
                message[key] = raw[key]
        return {k: self._remote(v) for k, v in message.items()}

    def _remote(self, value):
        """Plain data with each Handle turned into a Remote."""
        if isinstance(value, wire.Handle):
            if value.number not in self.remotes:
                self.remotes[value.number] = _kind(value)(self, value)
            return self.remotes[value.number]
        if type(value) is list:
            return [self._remote(v) for v in value]
        if type(value) is tuple:
            return tuple(self._remote(v) for v in value)
        if isinstance(value, dict):   # dict, OrderedDict or Counter, built from a dict (Counter counts pairs)
            return type(value)({k: self._remote(v) for k, v in value.items()})
        return value

    def _backward(self, number: int):
        """For a tensor the learner's code computed with autograd: backward continues in the learner's kernel."""
        channel = self

        class ThroughLearner(torch.autograd.Function):
            @staticmethod
            def forward(ctx, anchor, value):
                return value.clone()

            @staticmethod
            def backward(ctx, grad):
                channel.request("backward", target=number, args=(grad,), kwargs={})  # the inputs' .grad arrive
                return None, None

        def attach(value: torch.Tensor) -> torch.Tensor:
            anchor = torch.zeros((), requires_grad=True)
            return ThroughLearner.apply(anchor, value.detach())
        return attach

    def _run_callback(self, message: dict) -> None:
        function = self.functions.get(message.get("callback"))
        args = message.get("args") or []
        kwargs = message.get("kwargs") or {}
        try:
            if function is None or type(args) is not list or type(kwargs) is not dict:
                raise wire.WireError("a call of a checker function that was never sent")
            value = function(*args, **kwargs)
        except BaseException as error:  # keep it: it is the failure the test cell reports
            self.callback_error = error
            self._send({"op": "raise", "type": type(error).__name__, "message": str(error)[:2000]})
            return
        self._send({"op": "return", "value": value})

    def watch_the_test(self, shown: set[str] | None) -> None:
        """From now until ``release``: note the library functions the test cell calls itself."""
        self._stop_watching()
        self.answer_called, self.shown = set(), shown
        self.watch = borrowing.Watch(callers=("own",)).__enter__()

    def _stop_watching(self) -> None:
        if getattr(self, "watch", None) is not None:
            self.watch.__exit__(None, None, None)
        self.watch: borrowing.Watch | None = None   # the library functions this test cell calls itself

    def verdict(self) -> str:
        """Why the test cell fails though its checks passed ("" when it does not): the learner's code
        called the library function the test computes its expected values with."""
        if self.watch is None:
            return ""
        found = borrowing.copied(self.answer_called, self.watch.called, self.shown)
        if not found:
            return ""
        return borrowing.copied_reason(*found[0])

    def release(self) -> None:
        """End the test cell: the learner's kernel goes back to its notebook; shared tensors are forgotten."""
        if self.sock is None:
            self.listener.settimeout(2)
            try:
                self.sock, _ = self.listener.accept()
            except OSError:
                self.sock = None
        if self.sock is not None:
            try:
                wire.send(self.sock, pickle.dumps({"push": {}, "request": pickle.dumps({"op": "release"})}))
            except OSError:
                pass
            self.sock.close()
            self.sock = None
        self._reset()




# ------------------------------------------------------------------ the checker kernel's entry points
_channel: Channel | None = None
last_verdict = ""   # the verdict of the test cell released last (``Channel.verdict``)


def start(path: str) -> None:
    """Make this kernel the checker: listen at ``path``; course_lib's references need no fresh copies here."""
    global _channel
    from course_lib import grading

    grading.TRUSTED = True
    _channel = Channel(path)


def free_names(source: str) -> list[str]:
    """The names a test cell reads but never assigns anywhere (at any depth), builtins left out."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    loaded, stored = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else stored).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stored.add(node.name)
        elif isinstance(node, ast.arg):
            stored.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            stored.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            stored.add(node.name)
    return sorted(name for name in loaded - stored if not hasattr(builtins, name))


def bind(source: str, namespace: dict, shown: list[str] | None = None) -> None:
    """Give ``namespace`` the learner's value of every free name of the test cell ``source``.

    ``shown``: the names the lesson's own code used before this test cell (None when unknown); a
    library function the test calls that is not among them is the learner's to write.
    """
    if _channel is None:
        return
    _channel.watch_the_test(None if shown is None else set(shown))
    names = free_names(source)
    if not names:
        return
    try:
        values = _channel.request("names", names=names)
    except LearnerError:
        values = {}
    for name in names:
        if isinstance(values, dict) and name in values:
            namespace[name] = values[name]
        else:
            namespace.pop(name, None)   # not defined in the learner's notebook: a NameError, as there


def release() -> None:
    global last_verdict
    if _channel is not None:
        last_verdict = _channel.verdict()
        _channel.release()
