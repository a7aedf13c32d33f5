"""The narrow channel between a learner's kernel and the grader's checker: what may cross, and how.

Under grading, the test cells run in a *checker* kernel that no learner code ever runs in; the
learner's answers stay in the sandboxed learner kernel, where an *agent* calls them on request.
Messages go over one Unix socket, each a 4-byte length and a body:

- checker -> learner: a pickle (arguments, tensors, library objects). The learner's side reads it;
  that is safe for the checker, which only ever *writes* pickles.
- learner -> checker: JSON that ``decode`` turns into plain data only: numbers, strings, bytes,
  lists, tuples, dicts, sets, real tensors and numpy arrays, dtypes, and ``Handle`` s naming an
  object that stays in the learner's kernel. Nothing the learner sends can run code in the checker:
  no pickle, no object with its own ``__eq__`` or ``__bool__``, no tensor subclass.

A tensor the checker sent is a *shared* tensor: the learner's side keeps a twin of it, and each
message carries the twins' changes (values, ``.grad``, a generator's state), so an optimizer built
on the checker's parameters updates them as it would in one process.
"""
from __future__ import annotations

import base64
import collections
import json
import socket
import struct
from dataclasses import dataclass

import numpy as np
import torch

MAX_MESSAGE = 512 * 2**20   # bytes: a larger message is refused, not read
DTYPES = {str(d).removeprefix("torch."): d for d in (
    torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.float16,
    torch.bfloat16, torch.float32, torch.float64, torch.complex64, torch.complex128)}
NUMPY_DTYPES = {"bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"}
DICTS = {"dict": dict, "OrderedDict": collections.OrderedDict, "Counter": collections.Counter,
         "defaultdict": dict}   # a defaultdict arrives as a dict: its factory is code


class WireError(ValueError):
    """A message that is not what the protocol allows (too large, malformed, an unknown tag)."""


class Signature:
    """What a shared tensor looked like at the last exchange: it is sent again when this changes.

    It holds the gradient and the storage themselves, so a new gradient, or new data put in
    with ``p.data = ...``, can never pass for the old by reusing its memory address.
    """

    def __init__(self, tensor: torch.Tensor):
        self.grad = tensor.grad if tensor.is_leaf else None
        self.storage = tensor.untyped_storage()   # held, so `p.data = new` cannot reuse its address unseen
        self.state = (tensor._version, tensor.requires_grad, self.storage.data_ptr(), tuple(tensor.shape),
                      None if self.grad is None else self.grad._version)

    def __eq__(self, other) -> bool:
        return isinstance(other, Signature) and self.grad is other.grad and self.state == other.state


def number_for(value, table: dict[int, object], index: dict[int, int]) -> int:
    """The number ``value`` has in ``table`` (``index``: id(value) -> number), given it now if it has none."""
    number = index.get(id(value))
    if number is None or table.get(number) is not value:
        number = len(table) + 1
        table[number] = value
        index[id(value)] = number
    return number


# ------------------------------------------------------------------ framing
def send(sock: socket.socket, body: bytes) -> None:
    sock.sendall(struct.pack(">I", len(body)) + body)


def receive(sock: socket.socket) -> bytes:
    """One message's body; ``EOFError`` when the other side has gone."""
    (size,) = struct.unpack(">I", _exactly(sock, 4))
    if size > MAX_MESSAGE:
        raise WireError(f"a message of {size} bytes is over the limit of {MAX_MESSAGE}")
    return _exactly(sock, size)


def _exactly(sock: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 2**20))
        if not chunk:
            raise EOFError("the other side closed the channel")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


# ------------------------------------------------------------------ learner -> checker: plain data only
@dataclass(frozen=True)
class Handle:
    """An object that stays in the learner's kernel: its number there, and what it says it is."""
    number: int
    type_name: str
    bases: tuple[tuple[str, str], ...]   # (module, qualname) of each class in its MRO, as the learner reports
    is_callable: bool
    text: str                            # its repr, shortened


def tensor_bytes(tensor: torch.Tensor) -> dict:
    """A tensor as JSON: dtype, shape and its raw bytes (base64)."""
    tensor = tensor.detach().cpu().contiguous()
    dtype = str(tensor.dtype).removeprefix("torch.")
    if dtype not in DTYPES:
        raise WireError(f"tensors of dtype {tensor.dtype} cannot be sent")
    raw = tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b""
    return {"dtype": dtype, "shape": list(tensor.shape), "data": base64.b64encode(raw).decode("ascii")}


def tensor_from(spec: dict) -> torch.Tensor:
    """The tensor ``tensor_bytes`` described, as a new real tensor; malformed specs are refused."""
    dtype = DTYPES.get(spec.get("dtype")) if isinstance(spec.get("dtype"), str) else None
    shape = spec.get("shape")
    if dtype is None or not isinstance(shape, list) or not all(type(n) is int and n >= 0 for n in shape):
        raise WireError("a malformed tensor")
    raw = base64.b64decode(spec.get("data", ""), validate=True)
    count = 1
    for n in shape:
        count *= n
    if len(raw) != count * torch.empty((), dtype=dtype).element_size():
        raise WireError(f"a tensor of shape {shape} and dtype {dtype} came with {len(raw)} bytes")
    if count == 0:
        return torch.empty(shape, dtype=dtype)
    return torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(dtype).reshape(shape).clone()


def decode(text: bytes, twins: dict[int, object] | None = None, backward=None) -> object:
    """The plain data of a learner's message.

    ``twins``: the checker's shared tensors, by number. ``backward(number)``: for a tensor the
    learner computed with autograd, a function that makes it a tensor whose backward continues there.
    """
    return _decode(json.loads(text), twins or {}, depth=0, backward=backward)


def _decode(value, twins, depth, backward=None):
    if depth > 100:
        raise WireError("a value nested more than 100 levels deep")
    if value is None or type(value) in (bool, int, float, str):
        return value
    if type(value) is list:
        return [_decode(v, twins, depth + 1, backward) for v in value]
    if type(value) is not dict or len(value) != 1:
        raise WireError("a malformed value")
    (tag, body), = value.items()
    items = lambda: [_decode(v, twins, depth + 1, backward) for v in _list(body)]  # noqa: E731
    if tag == "tuple":
        return tuple(items())
    if tag == "set":
        return set(items())
    if tag == "frozenset":
        return frozenset(items())
    if tag == "bytes":
        return base64.b64decode(_text(body), validate=True)
    if tag == "dict":
        kind = DICTS.get(body.get("type")) if type(body) is dict else None
        if kind is None:
            raise WireError("a malformed dict")
        pairs = {_decode(k, twins, depth + 1, backward): _decode(v, twins, depth + 1, backward)
                 for k, v in _pairs(body.get("items"))}
        return kind(pairs)   # from a dict: Counter(pairs) would count the pairs
    if tag == "tensor":
        tensor = tensor_from(body)
        if body.get("parameter") is True:
            parameter = torch.nn.Parameter(tensor, requires_grad=bool(body.get("requires_grad")))
            if type(body.get("grad")) is dict:
                parameter.grad = tensor_from(body["grad"]).to(tensor.dtype)   # shapes checked by torch
            return parameter
        if body.get("requires_grad") is True and (tensor.is_floating_point() or tensor.is_complex()):
            if backward is not None and type(body.get("handle")) is int and torch.is_grad_enabled():
                return backward(body["handle"])(tensor)   # its backward runs where its graph is: there
            tensor.requires_grad_(True)
        return tensor
    if tag == "ndarray":
        if body.get("dtype") not in NUMPY_DTYPES:
            raise WireError("a malformed array")
        return tensor_from(body).numpy().copy()
    if tag == "numpy":
        if type(body) is not list or len(body) != 2 or body[0] not in NUMPY_DTYPES:
            raise WireError("a malformed numpy number")
        return np.dtype(body[0]).type(body[1])
    if tag == "dtype":
        if _text(body) not in DTYPES:
            raise WireError(f"an unknown dtype {body!r}")
        return DTYPES[body]
    if tag == "size":
        return torch.Size(int(n) for n in _list(body))
    if tag == "twin":
        if type(body) is not int or body not in twins:
            raise WireError("a shared tensor the checker never sent")
        return twins[body]
    if tag == "handle":
        if type(body) is not dict or type(body.get("number")) is not int:
            raise WireError("a malformed handle")
        bases = tuple((_text(m)[:200], _text(q)[:200]) for m, q in _pairs(body.get("bases", []))[:64])
        return Handle(body["number"], _text(body.get("type", "object"))[:200], bases,
                      body.get("callable") is True, _text(body.get("text", ""))[:300])
    raise WireError(f"an unknown tag {tag!r}")


def _list(value) -> list:
    if type(value) is not list:
        raise WireError("a malformed list")
    return value


def _pairs(value) -> list:
    if type(value) is not list or not all(type(p) is list and len(p) == 2 for p in value):
        raise WireError("a malformed list of pairs")
    return value


def _text(value) -> str:
    if type(value) is not str:
        raise WireError("a malformed string")
    return value
