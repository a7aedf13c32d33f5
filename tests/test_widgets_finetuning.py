"""Lesson 05's widgets, headless: the mask viewer colours exactly the trained tokens under each rule
and follows its text boxes; the LoRA explorer shows the singular values of (alpha / r) B A of the
chosen adapter (at most r of them above zero), counts r (in + out), and redraws once per change."""
import matplotlib

matplotlib.use("Agg")  # no display needed: the explorer renders to PNG bytes

import math

import numpy as np
import pytest
import torch

from course_lib.finetuning import LoRALinear, build_chat_example
from course_lib.pretrained import load_pretrained
from course_lib.widgets.lora_explorer import lora_data, lora_explorer
from course_lib.widgets.mask_viewer import NOT_TRAINED, RULES, TRAINED, mask_html, mask_tokens, mask_viewer

PNG = b"\x89PNG\r\n\x1a\n"
PROMPT, RESPONSE = "Write a story about a fox at the river.", "One day, Mia went to the river with a fox."


@pytest.fixture(scope="module")
def tokenizer():
    return load_pretrained()[1]


# ----- the mask viewer ---------------------------------------------------------------------------
def test_the_right_rule_shows_the_library_mask_token_by_token(tokenizer):
    example = build_chat_example(tokenizer, PROMPT, RESPONSE)
    tokens = mask_tokens(tokenizer, PROMPT, RESPONSE, RULES[0])
    assert [m for _, m in tokens] == example.mask
    assert "".join(text for text, _ in tokens).replace("␣", " ") == tokenizer.decode(example.ids)
    assert tokens[0] == ("<|user|>", 0) and tokens[-1] == ("<|end|>", 1)
    n_response = len(tokenizer.encode(RESPONSE, allowed_special=False))
    assert sum(m for _, m in tokens) == n_response + 1          # the response and <|end|>


def test_the_mistaken_rules(tokenizer):
    right = mask_tokens(tokenizer, PROMPT, RESPONSE, RULES[0])
    no_mask = mask_tokens(tokenizer, PROMPT, RESPONSE, "no mask")
    end_masked = mask_tokens(tokenizer, PROMPT, RESPONSE, "<|end|> masked like padding")
    assert all(m == 1 for _, m in no_mask) and [t for t, _ in no_mask] == [t for t, _ in right]
    assert end_masked[:-1] == right[:-1] and end_masked[-1] == ("<|end|>", 0)
    with pytest.raises(ValueError, match="rule"):
        mask_tokens(tokenizer, PROMPT, RESPONSE, "everything")


def test_the_html_colours_each_token_by_its_mask():
    html = mask_html([("<|user|>", 0), ("Hi", 0), ("<b>", 1)])
    assert html.count(f"background:{TRAINED};border") == 1 and html.count(f"background:{NOT_TRAINED};border") == 2
    assert ">&lt;b&gt;</span>" in html and "<b>" not in html          # token text is escaped, not markup
    assert "1 of 3 tokens trained" in html


def test_the_viewer_follows_its_controls(tokenizer):
    viewer = mask_viewer(tokenizer, PROMPT, RESPONSE)
    assert viewer.tokens == mask_tokens(tokenizer, PROMPT, RESPONSE)
    first = viewer.view.value
    viewer.response.value = "Yes."
    assert viewer.tokens == mask_tokens(tokenizer, PROMPT, "Yes.") and viewer.view.value != first
    assert f"{len(tokenizer.encode('Yes.')) + 1} of {len(viewer.tokens)} tokens trained" in viewer.view.value
    viewer.rule.value = "no mask"
    assert all(m == 1 for _, m in viewer.tokens)
    viewer.prompt.value = ""                                    # an empty prompt is refused, and said so
    assert viewer.tokens == [] and "prompt" in viewer.view.value


# ----- the LoRA explorer -------------------------------------------------------------------------
def trained_adapters(ranks=(2, 8), shape=(12, 30), seed=0):
    """LoRA layers on one Linear(30 -> 12), with A and B set as if trained (B no longer zero)."""
    torch.manual_seed(seed)
    base = torch.nn.Linear(shape[1], shape[0])
    adapters = {}
    for r in ranks:
        layer = LoRALinear(torch.nn.Linear(shape[1], shape[0]), r, alpha=2 * r)
        layer.base.load_state_dict(base.state_dict())
        with torch.no_grad():
            layer.B.normal_()
        adapters[r] = layer
    return adapters


def test_the_singular_values_are_those_of_the_scaled_update():
    adapters = trained_adapters()
    full = torch.randn(12, 30)
    for r, alpha in [(2, 4.0), (8, 16.0), (8, 3.0)]:
        picture = lora_data(adapters, r, alpha, full_update=full, n_layers=5)
        layer = adapters[r]
        delta = (alpha / r) * layer.B.detach().numpy().astype(np.float64) @ layer.A.detach().numpy().astype(np.float64)
        assert np.allclose(picture.singular_values, np.linalg.svd(delta, compute_uv=False), rtol=1e-9, atol=1e-12)
        assert picture.numerical_rank == r                     # (out, r) @ (r, in) has rank r
        assert picture.scale == pytest.approx(alpha / r)
        assert np.allclose(picture.full_singular_values, np.linalg.svd(full.double().numpy(), compute_uv=False))
        assert list(picture.trainable) == [2 * 42, 8 * 42] and picture.full_weights == 360
        assert f"{r * 42:,} trainable numbers" in picture.message
    # alpha rescales a trained update: all singular values in proportion
    at_16, at_32 = lora_data(adapters, 8, 16.0), lora_data(adapters, 8, 32.0)
    assert np.allclose(at_32.singular_values, 2 * at_16.singular_values)


def test_an_untrained_adapter_has_no_update():
    layer = LoRALinear(torch.nn.Linear(10, 6), 4, alpha=8)     # B = 0
    picture = lora_data({4: layer}, 4, 8.0)
    assert picture.numerical_rank == 0 and np.all(picture.singular_values == 0)


def test_explorer_redraws_once_per_change_and_the_readout_follows():
    adapters = trained_adapters()
    explorer = lora_explorer(adapters, full_update=torch.randn(12, 30), layer_name="proj", n_layers=3)
    assert set(explorer.controls) == {"rank", "alpha"} and explorer.image.value[:8] == PNG
    assert explorer.data.rank == 8 and explorer.controls["alpha"].value == pytest.approx(16.0)
    seen = []
    explorer.image.observe(lambda change: seen.append(1), names="value")
    explorer.controls["rank"].value = 2
    assert len(seen) == 1 and explorer.data.rank == 2 and explorer.data.numerical_rank == 2
    assert "84 trainable numbers" in explorer.readout.value and f"{84 * 3:,}" in explorer.readout.value
    ax_values, ax_count = explorer.figure.axes
    bars = [patch.get_height() for patch in ax_values.patches]
    assert np.allclose(bars[:2], explorer.data.singular_values[:2])
    explorer.controls["alpha"].value = 8.0
    assert len(seen) == 2 and explorer.data.scale == pytest.approx(8.0 / 2)
    assert "2 times the trained one" in explorer.readout.value


def test_bad_input_is_refused():
    adapters = trained_adapters()
    with pytest.raises(ValueError, match="trained ranks"):
        lora_data(adapters, 3, 1.0)
    with pytest.raises(ValueError, match="alpha"):
        lora_data(adapters, 2, 0.0)
    with pytest.raises(ValueError, match="full_update"):
        lora_data(adapters, 2, 1.0, full_update=torch.zeros(30, 12))
    with pytest.raises(ValueError, match="adapters"):
        lora_data({}, 2, 1.0)
    mixed = {2: adapters[2], 4: LoRALinear(torch.nn.Linear(5, 5), 4, 1.0)}
    with pytest.raises(ValueError, match="one layer shape"):
        lora_data(mixed, 2, 1.0)
    assert math.isfinite(lora_data(adapters, 2, 1.0).scale)
