"""A snapshot of torch's public functions, taken when course_lib is first imported.

The lesson's first cell imports course_lib before any learner code runs, so this
records the real ``torch.allclose``, ``torch.Tensor.sum`` and friends. The graders
compare against it to notice a notebook that has replaced one of them.
"""
from __future__ import annotations

import torch
import torch.nn.functional

# label -> the namespace whose public attributes are watched
WATCHED = {
    "torch": torch,
    "torch.nn.functional": torch.nn.functional,
    "torch.linalg": torch.linalg,
    "torch.Tensor": torch.Tensor,
}

_MISSING = object()


def take_snapshot() -> dict[str, dict[str, object]]:
    return {label: dict(vars(namespace)) for label, namespace in WATCHED.items()}


SNAPSHOT = take_snapshot()


def _same(current: object, original: object) -> bool:
    # torch itself re-wraps a few functions when torch._dynamo loads (e.g. manual_seed);
    # a wrapper that says it wraps the original is the original.
    return current is original or getattr(current, "__wrapped__", _MISSING) is original


def replaced_names(snapshot: dict[str, dict[str, object]] | None = None) -> list[str]:
    """Public names that no longer refer to the object seen in ``snapshot``.

    A method newly set on ``torch.Tensor`` also counts: it would shadow the real one.
    """
    snapshot = SNAPSHOT if snapshot is None else snapshot
    changed = []
    for label, namespace in WATCHED.items():
        before, now = snapshot[label], vars(namespace)
        for name, original in before.items():
            if not name.startswith("_") and not _same(now.get(name, _MISSING), original):
                changed.append(f"{label}.{name}")
        if label == "torch.Tensor":
            changed += [f"{label}.{name}" for name in now.keys() - before.keys() if not name.startswith("__")]
    return sorted(changed)
