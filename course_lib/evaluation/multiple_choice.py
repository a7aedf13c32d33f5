"""Multiple choice scored the way evaluation harnesses score it: by the likelihood of each option.

A multiple-choice item is a context and a few options, one of them right. A language model
does not need to *write* the answer: score each option as a continuation of the context,

    loglikelihood(option) = sum over the option's tokens of log p(token | context, earlier option tokens)

and pick the option with the highest score. This is what lm-evaluation-harness does (its
``multiple_choice`` tasks), and the details below follow its rules (version 0.4).

**Encode context and option together.** Tokenizers are not additive: ``encode(a + b)`` can
differ from ``encode(a) + encode(b)``, because a token may span the join (" liked" is one
token, "li" + "ked" are two). So the pair is encoded whole and cut where the context's own
tokens end (lm-eval's ``_encode_pair``). Trailing spaces of the context move to the start of
the option first, because a BPE tokenizer glues a space to the word after it: "liked " + "a
ball" is scored as "liked" + " a ball". If the context's tokens are not a prefix of the whole
encoding, a token spans the join and no cut gives the option's tokens alone; ``encode_pair``
refuses such a pair with an error instead of scoring the wrong tokens.

**Three ways to pick** (the numbers differ, and leaderboards differ with them):

- ``acc`` ("none"): the highest summed log-likelihood. Longer options have more tokens, each
  costing probability, so this favours short options.
- ``acc_norm`` ("chars"): the log-likelihood divided by the option's length in **characters**
  (lm-eval's ``acc_norm``; not tokens, not bytes).
- per token ("tokens"): divided by the option's number of tokens; "bytes": by UTF-8 bytes.

**The letter format** (MMLU-style): the options are listed in the prompt as "A. ...", "B. ...",
and the model's next token after "Answer:" is compared across the letters. Each letter must be
one token for that comparison to mean anything; ``letter_log_probs`` refuses letters that are
not, and says which letters are single tokens for this tokenizer. Small models do poorly in
this format even when they know the answer in the cloze form above: they have not learned
what the letters point at.

Read in this order: ``MCItem``, ``encode_pair``, ``loglikelihood``, ``choose``,
``evaluate_multiple_choice``; then ``letter_prompt``, ``letter_log_probs``, ``evaluate_letters``.
"""
from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from course_lib.evaluation.language_model import logits_of
from course_lib.validation import describe

NORMALISATIONS = ("none", "chars", "tokens", "bytes")
LETTERS = ("A", "B", "C", "D")


# ----- 1. an item --------------------------------------------------------------------------------
@dataclass(frozen=True)
class MCItem:
    """One multiple-choice question.

    ``context``  the text the answer continues (a story and a cloze stem: "... The cat liked");
    ``choices``  the options as written after the context and a space ("a red ball");
    ``answer``   the index of the right option, or None when no option is right (an
                 unanswerable item: the story does not say);
    ``kind``     what the item tests (for per-kind scores);
    ``question`` the same item as a direct question, for the letter format (may be empty).
    """

    context: str
    choices: tuple[str, ...]
    answer: int | None
    kind: str = ""
    question: str = ""

    def __post_init__(self):
        if not isinstance(self.context, str) or not self.context.strip():
            raise ValueError(f"context: expected some text, got {describe(self.context)}")
        if isinstance(self.choices, str) or not isinstance(self.choices, Sequence) or len(self.choices) < 2:
            raise ValueError(f"choices: expected a sequence of at least 2 options, got {describe(self.choices)}")
        for i, choice in enumerate(self.choices):
            if not isinstance(choice, str) or not choice:
                raise ValueError(f"choices[{i}]: expected a non-empty str, got {describe(choice)}")
        object.__setattr__(self, "choices", tuple(self.choices))
        if self.answer is not None and (isinstance(self.answer, bool) or not isinstance(self.answer, int)
                                        or not 0 <= self.answer < len(self.choices)):
            raise ValueError(f"answer: expected an index from 0 to {len(self.choices) - 1} (or None for an "
                             f"unanswerable item), got {self.answer!r}")

    @property
    def answerable(self) -> bool:
        return self.answer is not None


# ----- 2. encoding a (context, continuation) pair -----------------------------------------------------
def encode_pair(tokenizer, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """(context ids, continuation ids), cut from the encoding of the whole string (lm-eval's rule).

    Trailing whitespace of ``context`` moves to the front of ``continuation`` first. Raises a
    ValueError when a token spans the join (the context's own tokens are not a prefix of the
    whole) or when the continuation gets no token of its own.
    """
    for name, text in (("context", context), ("continuation", continuation)):
        if not isinstance(text, str):
            raise TypeError(f"{name}: expected a str, got {describe(text)}")
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces:
        context, continuation = context[:-n_spaces], context[-n_spaces:] + continuation
    if not context:
        raise ValueError("context: expected some text before the continuation (the first token of a text has "
                         "nothing to be predicted from); start it with the tokenizer's document marker, "
                         "e.g. '<|endoftext|>'")
    if not continuation:
        raise ValueError("continuation: expected some text to score, got an empty string")
    whole = tokenizer.encode(context + continuation)
    context_ids = tokenizer.encode(context)
    if whole[:len(context_ids)] != context_ids:
        n = len(context_ids)
        raise ValueError(
            f"a token spans the join between context and continuation: the context ends with tokens "
            f"{[tokenizer.decode([i]) for i in context_ids[-2:]]}, but the whole text has "
            f"{[tokenizer.decode([i]) for i in whole[max(0, n - 2):n + 1]]} there. Cutting the whole encoding "
            f"would give the continuation {continuation!r:.40} tokens it does not own; end the context at a "
            f"word boundary (e.g. before a space)")
    continuation_ids = whole[len(context_ids):]
    if not continuation_ids:
        raise ValueError(f"continuation {continuation!r:.40} got no token of its own after the context")
    return context_ids, continuation_ids


# ----- 3. scoring continuations ------------------------------------------------------------------
@dataclass(frozen=True)
class ContinuationScore:
    """How likely a continuation is after a context."""

    loglikelihood: float   # summed log-probability of its tokens (nats)
    tokens: int            # how many tokens it has
    greedy: bool           # every one of its tokens is the model's top choice (lm-eval's is_greedy)


@torch.no_grad()
def loglikelihood(model, tokenizer, context: str, continuations: Sequence[str]) -> list[ContinuationScore]:
    """Score each of ``continuations`` after ``context``, all in one batch.

    Each (context, continuation) pair is encoded by ``encode_pair``. A pair longer than the
    model's context keeps its last ``context_length + 1`` tokens (the start of the context is
    dropped, as lm-eval does). The model's train/eval mode is restored afterwards.
    """
    if isinstance(continuations, str) or not isinstance(continuations, Sequence) or not continuations:
        raise ValueError(f"continuations: expected a non-empty list of str, got {describe(continuations)}")
    T = model.config.context_length
    rows, n_scored = [], []
    for continuation in continuations:
        context_ids, continuation_ids = encode_pair(tokenizer, context, continuation)
        if len(continuation_ids) > T:
            raise ValueError(f"continuation {continuation!r:.40} is {len(continuation_ids)} tokens, more than the "
                             f"model's context of {T}")
        rows.append((context_ids + continuation_ids)[-(T + 1):])
        n_scored.append(len(continuation_ids))
    length = max(len(row) for row in rows)
    # Right padding (with id 0): a causal model's positions never see what comes after them.
    ids = torch.tensor([row + [0] * (length - len(row)) for row in rows])      # (K, L)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        log_probs = F.log_softmax(logits_of(model, ids[:, :-1].to(device)).float(), dim=-1).cpu()  # (K, L - 1, V)
    finally:
        model.train(was_training)
    targets = ids[:, 1:]                                                        # (K, L - 1)
    target_log_probs = log_probs.gather(-1, targets[..., None]).squeeze(-1)     # (K, L - 1)
    is_top = log_probs.argmax(-1) == targets                                    # (K, L - 1)
    scores = []
    for k, (row, n) in enumerate(zip(rows, n_scored)):
        span = slice(len(row) - 1 - n, len(row) - 1)                            # the continuation's targets
        scores.append(ContinuationScore(target_log_probs[k, span].double().sum().item(), n,
                                        bool(is_top[k, span].all())))
    return scores


def choose(loglikelihoods: Sequence[float], lengths: Sequence[int] | None = None) -> int:
    """The index of the best option: the highest log-likelihood, or log-likelihood / length.

    ``lengths`` (characters, tokens or bytes of each option) turns ``acc`` into ``acc_norm``
    and friends. Ties go to the first option (as numpy's argmax).
    """
    values = [float(v) for v in loglikelihoods]
    if not values:
        raise ValueError("loglikelihoods: expected at least one option, got none")
    if lengths is not None:
        lengths = list(lengths)
        if len(lengths) != len(values):
            raise ValueError(f"expected one length per option: {len(values)} log-likelihoods, {len(lengths)} lengths")
        if any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in lengths):
            raise ValueError(f"lengths: expected positive ints, got {lengths}")
        values = [v / n for v, n in zip(values, lengths)]
    return max(range(len(values)), key=lambda i: (values[i], -i))


def option_lengths(choices: Sequence[str], scores: Sequence[ContinuationScore], norm: str) -> list[int] | None:
    """The divisor of each option for normalisation ``norm`` (None for "none")."""
    if norm not in NORMALISATIONS:
        raise ValueError(f"norm: expected one of {NORMALISATIONS}, got {norm!r}")
    if norm == "none":
        return None
    if norm == "chars":
        return [len(choice) for choice in choices]
    if norm == "bytes":
        return [len(choice.encode("utf-8")) for choice in choices]
    return [score.tokens for score in scores]


@dataclass
class MCResult:
    """The scores of a set of items: predictions by each normalisation, and the accuracies."""

    items: list[MCItem]
    loglikelihoods: list[list[float]]                       # per item, per option
    predictions: dict[str, list[int]] = field(default_factory=dict)  # norm -> chosen option per item

    def correct(self, norm: str = "none") -> list[bool]:
        """Per answerable item: did the choice under ``norm`` pick the right option."""
        return [pred == item.answer for item, pred in zip(self.items, self.predictions[norm]) if item.answerable]

    def accuracy(self, norm: str = "none", kind: str | None = None) -> float:
        """The fraction of answerable items (of one ``kind``, or all) answered right under ``norm``."""
        hits = [pred == item.answer for item, pred in zip(self.items, self.predictions[norm])
                if item.answerable and (kind is None or item.kind == kind)]
        if not hits:
            raise ValueError(f"no answerable items{f' of kind {kind!r}' if kind else ''} to score")
        return sum(hits) / len(hits)

    def confidences(self) -> list[float]:
        """Per item, the probability of the chosen option when the options' likelihoods are renormalised.

        softmax over the options' summed log-likelihoods, at the ``acc`` choice: what a
        calibration study asks of a multiple-choice model.
        """
        return [torch.tensor(lls, dtype=torch.float64).softmax(0).max().item() for lls in self.loglikelihoods]


def evaluate_multiple_choice(model, tokenizer, items: Sequence[MCItem], prefix: str = "",
                             delimiter: str = " ") -> MCResult:
    """Score every item's options as ``prefix + context`` + ``delimiter + choice``, and choose four ways.

    The normalising lengths are those of the choice itself, without the delimiter (as lm-eval's
    ``acc_norm``). ``prefix`` is prepended to every context: for the course's pretrained model,
    "<|endoftext|>", the marker that starts every story it has read.
    """
    items = list(items)
    if not items:
        raise ValueError("items: expected at least one item, got none")
    for i, item in enumerate(items):
        if not isinstance(item, MCItem):
            raise TypeError(f"items[{i}]: expected an MCItem, got {describe(item)}")
    result = MCResult(items=items, loglikelihoods=[], predictions={norm: [] for norm in NORMALISATIONS})
    for item in items:
        scores = loglikelihood(model, tokenizer, prefix + item.context, [delimiter + c for c in item.choices])
        lls = [score.loglikelihood for score in scores]
        result.loglikelihoods.append(lls)
        for norm in NORMALISATIONS:
            result.predictions[norm].append(choose(lls, option_lengths(item.choices, scores, norm)))
    return result


# ----- 4. the letter format -------------------------------------------------------------------------
def letter_prompt(question: str, choices: Sequence[str], letters: Sequence[str] = LETTERS,
                  answer: int | None = None) -> str:
    """MMLU's layout: the question, one line per option "A. ...", then "Answer:".

    With ``answer``, the right letter follows (a solved example for few-shot prompts).
    """
    if not isinstance(question, str) or not question.strip():
        raise ValueError(f"question: expected some text, got {describe(question)}")
    if len(choices) > len(letters):
        raise ValueError(f"{len(choices)} choices but only {len(letters)} letters {tuple(letters)}")
    lines = [question] + [f"{letter}. {choice}" for letter, choice in zip(letters, choices)] + ["Answer:"]
    prompt = "\n".join(lines)
    if answer is not None:
        if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(choices):
            raise ValueError(f"answer: expected an index from 0 to {len(choices) - 1}, got {answer!r}")
        prompt += f" {letters[answer]}"
    return prompt


def single_token_letters(tokenizer, delimiter: str = " ") -> list[str]:
    """The letters and digits that are one token when written after ``delimiter``."""
    return [c for c in string.ascii_uppercase + string.ascii_lowercase + string.digits
            if len(tokenizer.encode(delimiter + c)) == 1]


@torch.no_grad()
def letter_log_probs(model, tokenizer, prompt: str, letters: Sequence[str] = LETTERS,
                     delimiter: str = " ") -> torch.Tensor:
    """(K,) the log-probability of each letter (written ``delimiter + letter``) as the next token after ``prompt``.

    Refuses a letter that is not exactly one token there: comparing the first token of " C"
    (a bare space) with the whole of " A" would compare different things.
    """
    letters = list(letters)
    if len(letters) < 2:
        raise ValueError(f"letters: expected at least 2 letters, got {letters}")
    context_ids, letter_ids = None, []
    for letter in letters:
        context_ids, ids = encode_pair(tokenizer, prompt, delimiter + letter)
        if len(ids) != 1:
            raise ValueError(
                f"letter {letter!r} written as {delimiter + letter!r} after the prompt is {len(ids)} tokens "
                f"{ids} ({[tokenizer.decode([i]) for i in ids]}), not one: the letter format compares one next token "
                f"per letter. Single tokens here: {single_token_letters(tokenizer, delimiter)}")
        letter_ids.append(ids[0])
    T = model.config.context_length
    ids = torch.tensor([context_ids[-T:]])                                      # (1, <= T)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        next_logits = logits_of(model, ids.to(device))[0, -1].float().cpu()    # (V,) scores of the next token
    finally:
        model.train(was_training)
    return F.log_softmax(next_logits, dim=-1)[letter_ids]                      # (K,)


@dataclass
class LetterResult:
    """Letter-format scores: the chosen letter per item, and how often each letter was chosen."""

    items: list[MCItem]
    predictions: list[int]
    letters: tuple[str, ...]

    def accuracy(self) -> float:
        hits = [pred == item.answer for item, pred in zip(self.items, self.predictions) if item.answerable]
        if not hits:
            raise ValueError("no answerable items to score")
        return sum(hits) / len(hits)

    def letter_counts(self) -> dict[str, int]:
        """How often each letter was chosen: a model without a clue has a favourite position."""
        return {letter: self.predictions.count(i) for i, letter in enumerate(self.letters)}


def evaluate_letters(model, tokenizer, items: Sequence[MCItem], letters: Sequence[str] = LETTERS,
                     shots: Sequence[MCItem] = (), prefix: str = "", delimiter: str = " ") -> LetterResult:
    """Ask each item in the letter format (after the solved ``shots``), and pick the likeliest letter.

    A prompt longer than the model's context keeps its last ``context_length`` tokens, so the
    earliest shots are cut first (three StoryMC shots already overflow the course model's 128).
    """
    items, letters = list(items), tuple(letters)
    if not items:
        raise ValueError("items: expected at least one item, got none")
    examples = []
    for shot in shots:
        if not shot.question or not shot.answerable:
            raise ValueError("shots: each example needs a question and an answer")
        examples.append(letter_prompt(shot.question, shot.choices, letters, answer=shot.answer))
    predictions = []
    for i, item in enumerate(items):
        if not item.question:
            raise ValueError(f"items[{i}]: has no question for the letter format")
        prompt = prefix + "\n\n".join(examples + [letter_prompt(item.question, item.choices, letters)])
        predictions.append(int(letter_log_probs(model, tokenizer, prompt, letters[:len(item.choices)],
                                                delimiter).argmax()))
    return LetterResult(items=items, predictions=predictions, letters=letters)
