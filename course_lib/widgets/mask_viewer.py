"""The loss-mask viewer: a chat transcript token by token, green where the loss trains, grey where not.

Type a prompt and a response; the viewer builds the transcript with the library's chat format
(``course_lib.finetuning.chat``) and colours every token by its mask value. A drop-down switches
between the right mask and the two mistakes lesson 05 measures:

* "response and <|end|>": the response and the end token trained, nothing else (right);
* "no mask": every token trained, the prompt and the role tokens too;
* "<|end|> masked like padding": the end token not trained, so the model never learns to stop.

``mask_tokens`` computes what to show (no widgets, testable), ``mask_html`` renders it, and
``mask_viewer`` puts them behind the controls.
"""
from __future__ import annotations

import html

import ipywidgets as widgets

from course_lib.finetuning.chat import build_chat_example, render_mask

RULES = ("response and <|end|>", "no mask", "<|end|> masked like padding")
TRAINED, NOT_TRAINED = "#b7e4b0", "#e3e3e3"   # green, grey


def mask_tokens(tokenizer, prompt: str, response: str, rule: str = RULES[0]) -> list[tuple[str, int]]:
    """Each token of the transcript as (readable text, mask value) under ``rule``."""
    if rule not in RULES:
        raise ValueError(f"rule: expected one of {RULES}, got {rule!r}")
    example = build_chat_example(tokenizer, prompt, response)
    tokens = render_mask(tokenizer, example)
    if rule == "no mask":
        return [(text, 1) for text, _ in tokens]
    if rule == "<|end|> masked like padding":
        return tokens[:-1] + [(tokens[-1][0], 0)]
    return tokens


def mask_html(tokens: list[tuple[str, int]]) -> str:
    """The tokens as coloured boxes (green: trained, grey: not) and a count of the trained ones."""
    boxes = "".join(
        f"<span title='mask {m}' style='background:{TRAINED if m else NOT_TRAINED};border:1px solid #999;"
        f"border-radius:3px;padding:1px 2px;margin:1px;display:inline-block;font-family:monospace'>"
        f"{html.escape(text)}</span>" for text, m in tokens)
    trained = sum(m for _, m in tokens)
    legend = (f"<div style='margin-top:6px'>{trained} of {len(tokens)} tokens trained: "
              f"<span style='background:{TRAINED};padding:0 4px'>trained</span> "
              f"<span style='background:{NOT_TRAINED};padding:0 4px'>not trained</span></div>")
    return f"<div style='line-height:1.9'>{boxes}</div>{legend}"


class MaskViewer(widgets.VBox):
    """Prompt and response boxes, a mask rule, and the coloured transcript, kept in step."""

    def __init__(self, tokenizer, prompt: str, response: str):
        self.tokenizer = tokenizer
        self.prompt = widgets.Text(value=prompt, description="prompt", layout=widgets.Layout(width="95%"))
        self.response = widgets.Textarea(value=response, description="response", layout=widgets.Layout(width="95%"))
        self.rule = widgets.Dropdown(options=RULES, value=RULES[0], description="mask")
        self.view = widgets.HTML()
        self.tokens: list[tuple[str, int]] = []
        super().__init__([self.prompt, self.response, self.rule, self.view])
        for control in (self.prompt, self.response, self.rule):
            control.observe(lambda _change: self.update(), names="value")
        self.update()

    def update(self) -> None:
        try:
            self.tokens = mask_tokens(self.tokenizer, self.prompt.value, self.response.value, self.rule.value)
        except (ValueError, TypeError) as error:  # e.g. an empty prompt: say so instead of failing
            self.tokens = []
            self.view.value = f"<div style='color:#a00'>{html.escape(str(error))}</div>"
            return
        self.view.value = mask_html(self.tokens)


def mask_viewer(tokenizer, prompt: str = "Write a story about a fox at the river.",
                response: str = "One day, Mia went to the river with a fox.") -> MaskViewer:
    """The viewer for ``tokenizer`` (one with the chat tokens, such as the pretrained model's)."""
    return MaskViewer(tokenizer, prompt, response)
