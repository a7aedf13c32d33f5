"""Byte-pair encoding, one merge at a time: type a sentence, slide through the merges, watch the tokens.

``bpe_data(text, step, pattern)`` trains BPE on the sentence itself, ``step`` merges deep,
and returns what to draw: the tokens each pre-token piece is cut into, and the merge made at
that step. ``draw_bpe`` draws the sentence as a row of boxes, one per token:

* grey boxes are single bytes, coloured boxes are tokens made by merges (one colour per token);
* the token made by the merge of the current step has a thick red frame;
* pieces (from pre-tokenization) are separated by a gap: a merge never bridges a gap.

Choose "no pre-tokenization" to see what BPE learns without it: tokens that swallow the
spaces and punctuation around words ("at sat on the ", "s. the"), and in the end the whole
sentence as one token.

Training follows the library's rule (``course_lib.tokenization.bpe_trainer``): the most
frequent adjacent pair wins, ties go to the smallest pair of ids. It recounts every pair at
every step, which is fine for a sentence; the tests check that it learns the library's merges.
"""
from __future__ import annotations

import functools
import warnings
from collections import Counter
from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.colors as mcolors
import regex

from course_lib.tokenization.bpe_trainer import merge_pair
from course_lib.tokenization.pretokenization import resolve_pattern, split_pieces
from course_lib.widgets.explorer import Explorer

# "none" keeps the whole text as one piece: merges may then cross spaces and punctuation.
PATTERNS = {"gpt4": "gpt4", "gpt2": "gpt2", "none": r"[\s\S]+"}
MAX_CHARS = 400        # a longer text would not fit in the picture
MAX_STEPS = 200        # the slider's end; a sentence rarely allows more merges than this
LINE_WIDTH = 64        # characters per line of boxes (monospace)
MIN_LINES = 4          # the picture's height, in lines of boxes, unless the text needs more
# The sample has something for each choice of pieces to show: GPT-2 keeps " 1234" and "'" "S"
# whole and apart, GPT-4 cuts the number into "123" "4" after a lone space and keeps "'S" together.
SAMPLE = "the cat sat on the mat. the cats sat on the mats. then the hat sat on the cat. THE CAT'S HAT: 1234 pennies."


@dataclass
class BPEPicture:
    pieces: list[list[int]]       # for each pre-token piece, its token ids after `step` merges
    labels: dict[int, str]        # token id -> how its bytes are shown
    step: int                     # merges made so far
    max_steps: int                # merges this text allows in all (until every piece is one token)
    new_id: int | None            # the id made by the step-th merge (framed in red), None at step 0
    merge: tuple[int, int] | None  # the pair merged at this step
    merge_count: int              # how often that pair occurred when it was merged
    n_tokens: int
    n_bytes: int
    message: str
    n_pieces: int = 0             # pre-token pieces (the choice of pattern changes them)


def show_bytes(token: bytes) -> str:
    """A token's bytes as readable text: spaces as "␣", line breaks as "↵", tabs as "⇥", and
    bytes that are not a whole UTF-8 character (or that the font cannot draw) in hex, like <e6>."""
    # Bytes that are not part of a whole UTF-8 character (a token may hold half of one)
    # decode to the stand-ins U+DC80..U+DCFF ("surrogateescape"); they are shown in hex.
    text = token.decode("utf-8", errors="surrogateescape")
    shown = []
    for char in text:
        if char == " ":
            shown.append("␣")
        elif char == "\n":
            shown.append("↵")
        elif char == "\t":
            shown.append("⇥")
        elif "\udc80" <= char <= "\udcff":
            shown.append(f"<{ord(char) - 0xDC00:02x}>")
        elif not char.isprintable() or not _font_has(char):
            shown.append("".join(f"<{byte:02x}>" for byte in char.encode("utf-8")))
        else:
            shown.append(char)
    return "".join(shown)


@functools.lru_cache(maxsize=4096)
def _font_has(char: str) -> bool:
    """Whether matplotlib's monospace font has a glyph for ``char`` (CJK and emoji usually not)."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    font = FT2Font(font_manager.findfont("monospace"))
    return font.get_char_index(ord(char)) != 0


def bpe_data(text: str = SAMPLE, step: int = 0, pattern: str = "gpt4") -> BPEPicture:
    """The tokens of ``text`` after ``step`` merges learned from ``text`` itself.

    ``pattern``: "gpt4", "gpt2" (pre-tokenization regexes) or "none" (the whole text is one
    piece). ``step`` beyond the last possible merge shows the last one.
    """
    if pattern not in PATTERNS:
        raise ValueError(f"pattern: expected one of {sorted(PATTERNS)}, got {pattern!r}")
    if not isinstance(step, int) or step < 0:
        raise ValueError(f"step: expected an int >= 0, got {step!r}")
    if not text:
        return BPEPicture([], {}, 0, 0, None, None, 0, 0, 0, "type a sentence to see it tokenized")
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS]
    compiled = regex.compile(resolve_pattern(PATTERNS[pattern]))
    pieces = [list(piece.encode("utf-8")) for piece in split_pieces(compiled, text)]
    vocab = {byte: bytes([byte]) for byte in range(256)}

    # Train to the end (a sentence allows a few hundred merges at most) and keep the state
    # after `step` merges; a step beyond the last merge shows the last one.
    shown, merge, merge_count, new_id = pieces, None, 0, None
    max_steps = 0
    while True:
        counts = Counter(pair for piece in pieces for pair in zip(piece, piece[1:]))
        if not counts:
            break  # every piece is a single token: nothing left to merge
        best = min(counts, key=lambda pair: (-counts[pair], pair))  # highest count, then smallest pair
        token_id = 256 + max_steps
        vocab[token_id] = vocab[best[0]] + vocab[best[1]]
        pieces = [merge_pair(piece, best, token_id) for piece in pieces]
        max_steps += 1
        if max_steps <= step:
            shown, merge, merge_count, new_id = pieces, best, counts[best], token_id
    merges_made = min(step, max_steps)
    pieces = shown

    labels = {token_id: show_bytes(vocab[token_id]) for piece in pieces for token_id in piece}
    n_tokens, n_bytes = sum(map(len, pieces)), len(text.encode("utf-8"))
    if merge is None:
        message = f"step 0 of {max_steps}: {n_tokens} tokens, one per byte, in {len(pieces)} pieces"
    else:
        left, right, made = (_short(show_bytes(vocab[i])) for i in (*merge, new_id))
        message = (f"step {merges_made} of {max_steps}: '{left}' + '{right}' -> '{made}' "
                   f"(seen {merge_count}x)   |   {n_tokens} token{'s' * (n_tokens != 1)} for {n_bytes} bytes")
    return BPEPicture(pieces, labels, merges_made, max_steps, new_id, merge, merge_count, n_tokens, n_bytes,
                      message, len(pieces))


def _short(label: str, limit: int = 18) -> str:
    """A label cut to ``limit`` characters for the title (the boxes show it whole)."""
    return label if len(label) <= limit else label[: limit - 1] + "…"


def token_colour(token_id: int) -> str:
    """Light grey for single bytes; merged tokens cycle through a palette of soft colours."""
    if token_id < 256:
        return "#e6e6e6"
    palette = [mcolors.to_hex(c) for c in (
        "#a6cee3", "#b2df8a", "#fdbf6f", "#cab2d6", "#ffff99", "#fb9a99", "#8dd3c7", "#bebada",
        "#80b1d3", "#fccde5", "#ccebc5", "#ffed6f")]
    return palette[(token_id - 256) % len(palette)]


def layout(picture: BPEPicture, line_width: int = LINE_WIDTH) -> list[tuple[float, int, str, int]]:
    """Where each box goes: (x, line, label, token id), in characters and lines.

    A piece that fits on a line is never split across two; a longer piece (the whole text,
    without pre-tokenization) wraps between its tokens, and a token longer than a line wraps
    inside its label, drawn as several boxes of the same token.
    """
    x, line = 0.0, 0
    boxes = []
    for piece in picture.pieces:
        width = sum(len(picture.labels[i]) for i in piece)
        if x > 0 and x + width > line_width and width <= line_width:
            x, line = 0.0, line + 1  # start a new line rather than split the piece
        for token_id in piece:
            label = picture.labels[token_id]
            if x > 0 and x + len(label) > line_width:
                x, line = 0.0, line + 1
            while len(label) > line_width:  # longer than a whole line: wrap the label itself
                boxes.append((x, line, label[:line_width], token_id))
                label, x, line = label[line_width:], 0.0, line + 1
            boxes.append((x, line, label, token_id))
            x += len(label)
        x += 0.6  # the gap between pieces
    return boxes


def draw_bpe(ax, picture: BPEPicture) -> None:
    """The sentence as boxes, one per token, laid out in lines; a gap between pieces."""
    ax.set_axis_off()
    if not picture.pieces:
        ax.text(0.5, 0.5, picture.message, ha="center", va="center", color="tab:red")
        return
    boxes = layout(picture)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a glyph the font lacks only prints a warning
        for left, line, label, token_id in boxes:
            ax.add_patch(_box(left, -line * 1.5, len(label), token_id, token_id == picture.new_id))
            ax.text(left + len(label) / 2, -line * 1.5 + 0.5, label, ha="center", va="center",
                    family="monospace", fontsize=10)
    n_lines = max(line for _, line, _, _ in boxes) + 1
    ax.set_xlim(-0.5, LINE_WIDTH + 0.5)
    ax.set_ylim(-(max(n_lines, MIN_LINES) - 1) * 1.5 - 0.3, 1.2)  # at least MIN_LINES tall: boxes keep their size
    ax.set_title(picture.message, fontsize=10, loc="left")


def _box(left: float, bottom: float, width: float, token_id: int, new: bool):
    from matplotlib.patches import FancyBboxPatch

    return FancyBboxPatch((left + 0.05, bottom + 0.05), width - 0.1, 0.9, boxstyle="round,pad=0.02,rounding_size=0.15",
                          facecolor=token_colour(token_id), edgecolor="tab:red" if new else "0.45",
                          linewidth=2.5 if new else 0.6)


def bpe_explorer(text: str = SAMPLE, step: int = 0, pattern: str = "gpt4") -> Explorer:
    """A text box, a pre-tokenization choice and a merge slider (with a play button) above the boxes."""
    controls = {
        "text": widgets.Text(value=text, description="text", continuous_update=False,
                             layout=widgets.Layout(width="95%")),
        "pattern": widgets.Dropdown(options=[("GPT-4 pieces", "gpt4"), ("GPT-2 pieces", "gpt2"),
                                             ("no pre-tokenization", "none")],
                                    value=pattern, description="pieces"),
        "step": widgets.IntSlider(value=step, min=0, max=MAX_STEPS, description="merges"),
    }

    def fit_slider(_change=None):
        # The slider ends where the text runs out of merges.
        slider = controls["step"]
        slider.max = max(1, min(MAX_STEPS, bpe_data(controls["text"].value, 0, controls["pattern"].value).max_steps))

    fit_slider()
    controls["text"].observe(fit_slider, names="value")
    controls["pattern"].observe(fit_slider, names="value")
    explorer = Explorer(controls, bpe_data, draw_bpe, figsize=(9.0, 3.0),
                        margins=dict(left=0.01, right=0.99, bottom=0.02, top=0.9))  # no axes to label
    play = widgets.Play(value=controls["step"].value, min=0, max=controls["step"].max, interval=700,
                        description="play the merges")
    widgets.jslink((play, "value"), (controls["step"], "value"))
    widgets.jslink((play, "max"), (controls["step"], "max"))
    explorer.children = (widgets.HBox([play]), *explorer.children)
    return explorer
