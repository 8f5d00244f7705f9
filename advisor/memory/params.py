"""Parameter counts and LoRA sizes from a model shape, by arithmetic alone.

Why apart from the shapes: counting is pure arithmetic over a ``ModelShape`` that planners
repeat hundreds of times while searching sizes, so it is cached here on the dimensions;
reading configs and guessing shapes (``advisor.memory.shapes``) happens once per question.

The counts are exact: they equal ``sum(p.numel() for p in model.parameters())`` of the
model transformers builds from the same config (tests check this on the meta device):

- Decoder families (llama, mistral, qwen2, qwen3, gemma, gemma2, gpt2) are counted as their
  ``...ForCausalLM`` model, i.e. with the LM head; a head tied to the input embeddings is
  one tensor and is counted once.
- BERT is counted as ``BertModel``: embeddings, encoder and pooler, no task head.

LoRA sizes follow peft: a target name matches a linear layer whose full name equals it or
ends with ``"." + name``; ``"all-linear"`` means every linear layer except the output head.
Each adapted layer (d_in x d_out) adds ``rank * (d_in + d_out)`` trainable parameters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING

from advisor.errors import AdvisorError

if TYPE_CHECKING:  # only for annotations: model_shapes imports this module at run time
    from advisor.memory.shapes import ModelShape

__all__ = ["LinearLayer", "computed_params", "count_params", "linear_layers"]
__all__ += ["lora_trainable_params", "non_linear_params", "quantizable_params"]
__all__ += ["resolve_targets"]

_ALL_LINEAR = ("all-linear", "all_linear")


@dataclass(frozen=True)
class LinearLayer:
    """One weight matrix, named as in the transformers model so peft's matching applies."""

    name: str
    in_features: int
    out_features: int
    bias: bool
    is_output_head: bool = False  # excluded from "all-linear" (peft) and from 4-bit quantizing
    shared_weight: bool = False  # tied head: its weight is the embedding matrix

    @property
    def weight_params(self) -> int:
        return 0 if self.shared_weight else self.in_features * self.out_features

    @property
    def params(self) -> int:
        return self.weight_params + (self.out_features if self.bias else 0)


def _dims(shape: ModelShape) -> ModelShape:
    """The cache key: a stated size and the source change no layer, so they are dropped."""
    return replace(shape, stated_params=None, source="")


def linear_layers(shape: ModelShape) -> tuple[LinearLayer, ...]:
    """Every linear layer with its full module name (about 7 x layers entries)."""
    # Cached on the dimensions alone: planners re-ask for the same few shapes many times.
    return _linear_layers(_dims(shape))


@lru_cache(maxsize=64)
def _linear_layers(s: ModelShape) -> tuple[LinearLayer, ...]:
    q, kv = s.num_heads * s.head_dim, s.num_kv_heads * s.head_dim
    h, i = s.hidden_size, s.intermediate_size
    out: list[LinearLayer] = []
    for n in range(s.num_layers):
        if s.family == "llama":
            p = f"model.layers.{n}."
            out += [
                LinearLayer(p + "self_attn.q_proj", h, q, s.attention_bias),
                LinearLayer(p + "self_attn.k_proj", h, kv, s.attention_bias),
                LinearLayer(p + "self_attn.v_proj", h, kv, s.attention_bias),
                LinearLayer(p + "self_attn.o_proj", q, h, s.attention_out_bias),
            ]
            if s.gated_mlp:
                out.append(LinearLayer(p + "mlp.gate_proj", h, i, s.mlp_bias))
            out += [
                LinearLayer(p + "mlp.up_proj", h, i, s.mlp_bias),
                LinearLayer(p + "mlp.down_proj", i, h, s.mlp_bias),
            ]
        elif s.family == "gpt2":
            p = f"transformer.h.{n}."
            out += [
                LinearLayer(p + "attn.c_attn", h, 3 * h, True),
                LinearLayer(p + "attn.c_proj", h, h, True),
                LinearLayer(p + "mlp.c_fc", h, i, True),
                LinearLayer(p + "mlp.c_proj", i, h, True),
            ]
        else:  # bert
            p = f"encoder.layer.{n}."
            out += [
                LinearLayer(p + "attention.self.query", h, h, True),
                LinearLayer(p + "attention.self.key", h, h, True),
                LinearLayer(p + "attention.self.value", h, h, True),
                LinearLayer(p + "attention.output.dense", h, h, True),
                LinearLayer(p + "intermediate.dense", h, i, True),
                LinearLayer(p + "output.dense", i, h, True),
            ]
    if s.pooler:
        out.append(LinearLayer("pooler.dense", h, h, True))
    if s.is_causal_lm:
        tied = s.tie_word_embeddings
        out.append(LinearLayer("lm_head", h, s.vocab_size, False, True, tied))
    return tuple(out)


def non_linear_params(shape: ModelShape) -> int:
    """Embeddings, position tables and norm weights: kept in 16-bit even under QLoRA."""
    s = shape
    h = s.hidden_size
    norm = 2 * h if s.norm == "layernorm" else h  # LayerNorm has weight and bias
    total = s.vocab_size * h
    if s.family == "llama":
        per_layer = s.norms_per_layer * norm + (2 * s.head_dim if s.qk_norm else 0)
        return total + s.num_layers * per_layer + norm
    if s.family == "gpt2":
        return total + s.max_position_embeddings * h + s.num_layers * 2 * norm + norm
    # BERT: word + position + segment embeddings, embedding LayerNorm, 2 norms per layer
    total += s.max_position_embeddings * h + s.type_vocab_size * h + norm
    return total + s.num_layers * 2 * norm


def computed_params(shape: ModelShape) -> int:
    """Exact count from the dimensions, ignoring any stated size."""
    return _computed_params(_dims(shape))


@lru_cache(maxsize=64)
def _computed_params(s: ModelShape) -> int:
    # Summing ~1000 layers is the planners' hot spot: cache the total, not just the list.
    return non_linear_params(s) + sum(layer.params for layer in _linear_layers(s))


def count_params(shape: ModelShape) -> int:
    """Total parameters; a size the user stated ("13B") wins over the dims' estimate."""
    if shape.stated_params is not None:
        return shape.stated_params
    return computed_params(shape)


def quantizable_params(shape: ModelShape) -> int:
    """Weights QLoRA stores in 4-bit: every linear matrix except the output head (dims only)."""
    return _quantizable_params(_dims(shape))


@lru_cache(maxsize=64)
def _quantizable_params(s: ModelShape) -> int:
    return sum(x.weight_params for x in _linear_layers(s) if not x.is_output_head)


def resolve_targets(shape: ModelShape, target_modules: str | Iterable[str]) -> list[LinearLayer]:
    """The linear layers peft would adapt for these target names (every name must match)."""
    if isinstance(target_modules, str):
        if target_modules.strip().lower() in _ALL_LINEAR:
            return list(_resolve_targets(_dims(shape), None))
        target_modules = target_modules.split(",")
    targets = tuple(t.strip() for t in target_modules if t and t.strip())
    if not targets:
        raise AdvisorError("target_modules is empty: name at least one layer, or all-linear")
    return list(_resolve_targets(_dims(shape), targets))


@lru_cache(maxsize=256)
def _resolve_targets(s: ModelShape, targets: tuple[str, ...] | None) -> tuple[LinearLayer, ...]:
    """``targets=None`` is all-linear. Cached: planners ask the same question per size."""
    layers = _linear_layers(s)
    if targets is None:
        return tuple(layer for layer in layers if not layer.is_output_head)
    chosen: dict[str, LinearLayer] = {}  # by name: a layer matched twice is adapted once
    for target in targets:
        hits = [x for x in layers if x.name == target or x.name.endswith("." + target)]
        if not hits:
            known = sorted({x.name.rsplit(".", 1)[-1] for x in layers})
            raise AdvisorError(
                f"target module {target!r} matches no layer of this {s.model_type} model; "
                f"use one of {', '.join(known)} or all-linear"
            )
        chosen.update((x.name, x) for x in hits)
    return tuple(chosen.values())


def lora_trainable_params(
    shape: ModelShape, rank: int, target_modules: str | Iterable[str] = "all-linear"
) -> int:
    """Parameters LoRA trains: rank x (d_in + d_out) per adapted matrix (Hu et al. 2021)."""
    if isinstance(rank, bool) or not isinstance(rank, int) or rank <= 0:
        raise AdvisorError(f"rank must be a positive integer (not {rank!r})")
    layers = resolve_targets(shape, target_modules)
    return sum(rank * (x.in_features + x.out_features) for x in layers)
