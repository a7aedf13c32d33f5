"""Chain of thought, measured: addition with and without its intermediate steps written out.

A language model spends the same computation on every token it writes. To answer
``4817+3956=`` with ``8773`` straight away, it must work out every carry before writing the
first digit, in one forward pass per digit. Written out the way a pupil does it, from the
right, each step is small and each one reads the step before:

    4817+3956=7+6+0=13,1+5+1=07,8+9+0=17,4+3+1=08;8773.
              ^^^^^^^^ units: 7 + 6, no carry in, makes 13 (write 3, carry 1)

Every step is ``a+b+c=ss``: the two digits of one column, the carry coming in, and their sum
as two digits, the first of which is the carry going out. After ``;`` comes the answer, which
is the last digits of the steps read backwards (and the final carry, when it is 1). Nothing is
given away: the steps are computed from the problem, just written down.

Two small GPTs are trained on the same problems, one to write the steps (``"steps"``), one to
write the answer only (``"answer"``); ``course_lib/evaluation/cot_model.py`` makes them. This
file is the task: writing problems and targets in the two formats, the character vocabulary,
reading the answer back from what a model wrote, and exact-match accuracy by number of digits,
greedy or by a majority vote over samples (self-consistency, ``sampling.majority_vote``).
"""
from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from course_lib.evaluation.inputs import check_int
from course_lib.evaluation.sampling import majority_vote
from course_lib.transformer.generation import generate

FORMATS = ("steps", "answer")
VOCAB = "0123456789+=,;.#"   # '#' pads a batch; '.' ends an answer
PAD, END = VOCAB.index("#"), VOCAB.index(".")
STOI = {char: i for i, char in enumerate(VOCAB)}
MAX_DIGITS = 5


# ----- 1. problems and their targets -----------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """``a + b``, both with ``digits`` digits."""

    a: int
    b: int
    digits: int

    @property
    def prompt(self) -> str:
        return f"{self.a}+{self.b}="

    @property
    def answer(self) -> str:
        return str(self.a + self.b)


def random_problem(rng: random.Random, digits: int) -> Problem:
    """Two numbers of exactly ``digits`` digits (0 to 9 for one digit), drawn from ``rng``."""
    digits = check_int(digits, "digits", 1)
    low = 0 if digits == 1 else 10 ** (digits - 1)
    return Problem(rng.randint(low, 10**digits - 1), rng.randint(low, 10**digits - 1), digits)


def problems(n: int, digits: int, seed: int) -> list[Problem]:
    """``n`` problems with ``digits`` digits, the same for the same ``seed`` in every process."""
    rng = random.Random(f"addition/{seed}/{digits}")
    return [random_problem(rng, digits) for _ in range(check_int(n, "n", 0))]


def written_steps(problem: Problem) -> str:
    """The column additions from the right: ``a+b+c=ss`` per column, separated by commas."""
    a, b = str(problem.a).zfill(problem.digits), str(problem.b).zfill(problem.digits)
    steps, carry = [], 0
    for da, db in zip(reversed(a), reversed(b)):
        total = int(da) + int(db) + carry
        steps.append(f"{da}+{db}+{carry}={total:02d}")
        carry = total // 10
    return ",".join(steps)


def target(problem: Problem, fmt: str) -> str:
    """What the model should write after the prompt, in format ``fmt``, ending with '.'."""
    if fmt not in FORMATS:
        raise ValueError(f"fmt: expected one of {FORMATS}, got {fmt!r}")
    if fmt == "steps":
        return f"{written_steps(problem)};{problem.answer}."
    return f"{problem.answer}."


def read_answer(written: str, fmt: str) -> str | None:
    """The answer in what a model wrote after the prompt, or None when it wrote no well-formed one.

    The answer is what comes before the first '.', after the ';' in the steps format.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt: expected one of {FORMATS}, got {fmt!r}")
    if "." not in written:
        return None  # never finished
    text = written[:written.index(".")]
    if fmt == "steps":
        if ";" not in text:
            return None
        text = text[text.rindex(";") + 1:]
    return text if text.isdigit() else None


# ----- 2. encoding ----------------------------------------------------------------------------------
def encode(text: str) -> list[int]:
    """Character ids of ``text`` (only the characters of ``VOCAB``)."""
    try:
        return [STOI[char] for char in text]
    except KeyError as error:
        raise ValueError(f"text: {error.args[0]!r} is not in the vocabulary {VOCAB!r}") from None


def decode(ids: Sequence[int]) -> str:
    return "".join(VOCAB[i] for i in ids)


def training_batch(rng: random.Random, batch_size: int, fmt: str, max_digits: int = MAX_DIGITS):
    """(inputs, targets), each (B, L) int64: random problems of 1 to ``max_digits`` digits.

    Only what the model writes is trained (the prompt's targets are -100, as is the padding):
    the model learns to answer, not to make up problems.
    """
    rows, answer_starts = [], []
    for _ in range(batch_size):
        problem = random_problem(rng, rng.randint(1, max_digits))
        rows.append(encode(problem.prompt + target(problem, fmt)))
        answer_starts.append(len(problem.prompt))
    length = max(len(row) for row in rows)
    ids = torch.full((batch_size, length), PAD, dtype=torch.long)               # (B, L)
    for i, row in enumerate(rows):
        ids[i, :len(row)] = torch.tensor(row)
    inputs, targets = ids[:, :-1], ids[:, 1:].clone()                           # (B, L - 1) each
    positions = torch.arange(length - 1)                                        # target t is token t + 1
    written = positions[None, :] >= torch.tensor(answer_starts)[:, None] - 1    # (B, L - 1) answer tokens
    targets[~written | (targets == PAD)] = -100
    return inputs, targets


# ----- 3. answering ---------------------------------------------------------------------------------
def complete(model, prompts: Sequence[str], max_new: int, greedy: bool = True, temperature: float = 1.0,
             generator: torch.Generator | None = None) -> list[str]:
    """What ``model`` writes after each prompt (prompts of one length, so one batch), up to and with '.'."""
    lengths = {len(p) for p in prompts}
    if len(lengths) != 1:
        raise ValueError(f"prompts: expected prompts of one length (one batch), got lengths {sorted(lengths)}")
    ids = torch.tensor([encode(p) for p in prompts])                            # (B, P)
    out = generate(model, ids, max_new, greedy=greedy, temperature=temperature, generator=generator,
                   stop_token=END)                                              # (B, P + new), KV-cached
    return [decode(row) for row in out[:, ids.shape[1]:].tolist()]


def max_written(fmt: str, digits: int) -> int:
    """The length of the longest correct target for ``digits`` digits (room to write it)."""
    return len(target(Problem(10**digits - 1, 10**digits - 1, digits), fmt))


def answers(model, problem_list: Sequence[Problem], fmt: str, samples: int = 1, greedy: bool = True,
            temperature: float = 1.0, seed: int = 0) -> list[list[str | None]]:
    """Per problem, the answers read from ``samples`` completions (greedy: one is enough)."""
    by_digits: dict[int, list[int]] = {}
    for i, problem in enumerate(problem_list):
        by_digits.setdefault(problem.digits, []).append(i)
    generator = torch.Generator().manual_seed(seed)
    result: list[list[str | None]] = [[] for _ in problem_list]
    was_training = model.training
    model.eval()
    try:
        for digits, indices in sorted(by_digits.items()):
            prompts = [problem_list[i].prompt for i in indices for _ in range(samples)]
            written = complete(model, prompts, max_written(fmt, digits) + 2, greedy, temperature, generator)
            for row, text in enumerate(written):
                result[indices[row // samples]].append(read_answer(text, fmt))
    finally:
        model.train(was_training)
    return result


def accuracy_by_digits(model, fmt: str, digits: Sequence[int] = tuple(range(1, MAX_DIGITS + 1)),
                       n: int = 100, seed: int = 1, greedy: bool = True, samples: int = 1,
                       temperature: float = 1.0) -> dict[int, float]:
    """Exact-match accuracy per number of digits on ``n`` held-out problems each (``problems(n, d, seed)``).

    ``greedy=True``: the greedy answer. ``greedy=False``: the majority vote over ``samples``
    answers sampled at ``temperature`` (one sample when ``samples=1``; self-consistency when
    more). An unreadable answer is a vote for None, which is never right.
    """
    check_int(samples, "samples", 1)
    if greedy and samples != 1:
        raise ValueError(f"samples={samples}: greedy decoding gives one answer; pass greedy=False to vote")
    scores = {}
    for d in digits:
        batch = problems(n, d, seed)
        got = answers(model, batch, fmt, samples, greedy, temperature, seed=seed * 1000 + d)
        voted = [majority_vote(a) for a in got]
        scores[d] = sum(v == p.answer for v, p in zip(voted, batch)) / max(len(batch), 1)
    return scores
