"""The numbers that define a transformer, checked once so the model never has to.

A ``GPTConfig`` says how wide and deep the model is and which variant of each part to use.
Every choice the course compares in a lesson is a field here:

- ``positions``: "learned" (GPT-2), "sinusoidal" (the original transformer), "rope" (rotary,
  LLaMA) or "none".
- ``norm``: "layernorm" (GPT-2) or "rmsnorm" (LLaMA).
- ``feedforward``: "gelu" (GPT-2's MLP), "swiglu" (LLaMA) or "moe" (a mixture of experts).
- ``causal``: True for a GPT (each token sees only the past), False for an encoder (BERT-style).
"""
from __future__ import annotations

from dataclasses import dataclass

POSITIONS = ("learned", "sinusoidal", "rope", "none")
NORMS = ("layernorm", "rmsnorm")
FEEDFORWARDS = ("gelu", "swiglu", "moe")
GELU_APPROXIMATIONS = ("tanh", "none")


@dataclass
class GPTConfig:
    vocab_size: int = 256
    context_length: int = 128       # the most tokens the model reads at once
    n_layers: int = 4
    n_heads: int = 4
    d_model: int = 128              # the width: features per token
    d_ff: int | None = None         # hidden size of the feed-forward; None picks the usual size
    dropout: float = 0.0
    bias: bool = True               # biases in the linear layers and norms
    positions: str = "learned"
    norm: str = "layernorm"
    norm_eps: float = 1e-5
    feedforward: str = "gelu"
    gelu_approximation: str = "none"  # exact GELU; GPT-2 used "tanh" (load_gpt2 sets it)
    n_experts: int = 4              # only for feedforward="moe"
    expert_top_k: int = 1           # experts each token is sent to (1 is Switch-style routing)
    moe_aux_loss_weight: float = 0.01
    tie_weights: bool = True        # the output layer reuses the token embedding matrix
    causal: bool = True
    fused_attention: bool = True    # torch's scaled_dot_product_attention kernel, else written out
    rope_base: float = 10000.0

    def __post_init__(self) -> None:
        for name in ("vocab_size", "context_length", "n_layers", "n_heads", "d_model"):
            _check_positive_int(getattr(self, name), name)
        if self.d_model % self.n_heads != 0:
            raise ValueError(
                f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}: every head "
                f"gets d_model / n_heads features, so pick n_heads among the divisors of {self.d_model}"
            )
        if self.d_ff is not None:
            _check_positive_int(self.d_ff, "d_ff")
        if not (isinstance(self.dropout, (int, float)) and 0.0 <= self.dropout < 1.0):
            raise ValueError(f"dropout: expected a probability in [0, 1), got {self.dropout!r}")
        _check_choice(self.positions, "positions", POSITIONS)
        _check_choice(self.norm, "norm", NORMS)
        _check_choice(self.feedforward, "feedforward", FEEDFORWARDS)
        _check_choice(self.gelu_approximation, "gelu_approximation", GELU_APPROXIMATIONS)
        if self.positions == "rope" and self.head_dim % 2 != 0:
            raise ValueError(
                f"rotary positions rotate pairs of features, so the head size must be even; "
                f"got d_model / n_heads = {self.d_model} / {self.n_heads} = {self.head_dim}"
            )
        if self.feedforward == "moe":
            _check_positive_int(self.n_experts, "n_experts")
            _check_positive_int(self.expert_top_k, "expert_top_k")
            if self.expert_top_k > self.n_experts:
                raise ValueError(
                    f"expert_top_k={self.expert_top_k} is larger than n_experts={self.n_experts}: "
                    f"a token cannot be sent to more experts than there are"
                )

    @property
    def head_dim(self) -> int:
        """Features per attention head."""
        return self.d_model // self.n_heads

    @property
    def hidden_size(self) -> int:
        """The feed-forward's hidden size: ``d_ff`` if given, else the usual choice.

        GELU MLP: 4 * d_model (GPT-2). SwiGLU has three matrices instead of two, so LLaMA
        shrinks the hidden size to about 2/3 of that (rounded up to a multiple of 8) to keep
        the parameter count close to the GELU MLP's.
        """
        if self.d_ff is not None:
            return self.d_ff
        if self.feedforward == "swiglu":
            return 8 * ((8 * self.d_model // 3 + 7) // 8)
        return 4 * self.d_model


def _check_positive_int(value, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: expected a positive int, got {value!r}")


def _check_choice(value, name: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name}: expected one of {', '.join(map(repr, choices))}, got {value!r}")
