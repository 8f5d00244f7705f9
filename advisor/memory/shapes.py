"""Model shapes: the few numbers that decide parameter counts, LoRA sizes and memory.

Why a shape and not the model: the advisor must answer "will this fit?" before anyone
downloads gigabytes, so everything is computed from a Hugging Face ``config.json`` (or a
handful of dimensions, or a size alone) with arithmetic alone. This module reads those
inputs into a ``ModelShape`` and knows each family's layout and LoRA target names; the
counting itself (parameters, LoRA sizes, exact against transformers and peft) lives in
``advisor.memory.params`` and is re-exported here for callers that import it from this module.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from advisor.errors import AdvisorError
from advisor.memory.params import (
    LinearLayer,
    computed_params,
    count_params,
    linear_layers,
    lora_trainable_params,
    non_linear_params,
    resolve_targets,
)

__all__ = ["ATTENTION_TARGETS", "QV_TARGETS", "REFERENCE_SHAPES", "SUPPORTED_MODEL_TYPES"]
__all__ += ["Family", "LinearLayer", "ModelShape", "computed_params", "count_params"]
__all__ += ["default_targets", "linear_layers", "lora_trainable_params", "non_linear_params"]
__all__ += ["resolve_targets", "shape_from_config", "shape_from_dims", "shape_from_params_b"]

Family = Literal["llama", "gpt2", "bert"]

# model_type -> (layout family, attention q/k/v bias, o bias, norms per layer, q/k norm, tied)
# The last column is the config class's default for tie_word_embeddings, used when a
# config.json leaves it out (as Gemma's do).
_LLAMA_LIKE: dict[str, tuple[bool, bool, int, bool, bool]] = {
    "llama": (False, False, 2, False, False),
    "mistral": (False, False, 2, False, False),
    "qwen2": (True, False, 2, False, False),
    "qwen3": (False, False, 2, True, False),
    "gemma": (False, False, 2, False, True),
    "gemma2": (False, False, 4, False, True),
}
SUPPORTED_MODEL_TYPES: tuple[str, ...] = tuple(sorted([*_LLAMA_LIKE, "gpt2", "bert"]))

# The attention projections per layout: LoRA's default targets ("all attention matrices
# tends to beat a larger rank on fewer", framework section 8) and the classic q+v minimum.
ATTENTION_TARGETS: dict[str, tuple[str, ...]] = {
    "llama": ("q_proj", "k_proj", "v_proj", "o_proj"),
    "gpt2": ("c_attn", "attn.c_proj"),
    "bert": ("query", "key", "value", "attention.output.dense"),
}
QV_TARGETS: dict[str, tuple[str, ...]] = {
    "llama": ("q_proj", "v_proj"),
    "gpt2": ("c_attn",),  # GPT-2 fuses q, k and v into one matrix
    "bert": ("query", "value"),
}


def _positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise AdvisorError(f"{name} must be a positive integer (not {value!r})")


_DIM_FIELDS = ("vocab_size", "hidden_size", "num_layers", "num_heads", "num_kv_heads")
_DIM_FIELDS += ("head_dim", "intermediate_size", "max_position_embeddings")
# GPT-2 and BERT: biases everywhere, a plain (not gated) MLP and LayerNorm.
_CLASSIC = dict(
    attention_bias=True, attention_out_bias=True, mlp_bias=True, gated_mlp=False, norm="layernorm"
)


@dataclass(frozen=True)
class ModelShape:
    """What memory math needs to know about a transformer, nothing more."""

    model_type: str  # Hugging Face model_type ("llama", "qwen2", ...), shown to users
    vocab_size: int  # rows of the embedding matrix (and of the LM head)
    hidden_size: int  # width of the residual stream
    num_layers: int  # transformer blocks
    num_heads: int  # query heads
    num_kv_heads: int  # key/value heads (< num_heads with grouped-query attention)
    head_dim: int  # width of one head; not always hidden_size / num_heads (Gemma, Qwen3)
    intermediate_size: int  # MLP inner width
    tie_word_embeddings: bool  # LM head shares the embedding matrix (counted once)
    max_position_embeddings: int  # context length; learned position tables (GPT-2, BERT)
    family: Family = "llama"  # module layout: llama-like, GPT-2 (Conv1D) or BERT encoder
    attention_bias: bool = False  # biases on q, k, v (Qwen2)
    attention_out_bias: bool = False  # bias on the attention output projection
    mlp_bias: bool = False  # biases on MLP linears
    gated_mlp: bool = True  # SwiGLU-style gate_proj * up_proj -> down_proj (3 matrices)
    norm: Literal["rmsnorm", "layernorm"] = "rmsnorm"  # LayerNorm also has a bias vector
    norms_per_layer: int = 2  # Gemma2 adds pre/post feed-forward norms (4)
    qk_norm: bool = False  # per-head RMSNorm on queries and keys (Qwen3)
    type_vocab_size: int = 0  # BERT segment embeddings
    pooler: bool = False  # BERT pooler (dense + tanh) on the [CLS] token
    stated_params: int | None = None  # a user-stated total wins over the count from dims
    source: str = ""  # where the shape came from, for reports

    def __post_init__(self) -> None:
        for name in _DIM_FIELDS:
            _positive(name, getattr(self, name))
        if self.family not in ATTENTION_TARGETS:
            raise AdvisorError(f"family must be one of llama, gpt2, bert (not {self.family!r})")
        if self.num_heads % self.num_kv_heads:
            raise AdvisorError(
                f"num_heads ({self.num_heads}) must be a multiple of num_kv_heads "
                f"({self.num_kv_heads})"
            )
        if self.stated_params is not None and self.stated_params <= 0:
            raise AdvisorError(f"stated_params must be positive (not {self.stated_params!r})")

    @property
    def is_causal_lm(self) -> bool:
        """Decoders have an LM head, logits and a KV cache; the BERT encoder has none."""
        return self.family != "bert"


def default_targets(shape: ModelShape, which: Literal["qv", "attention"] = "qv") -> tuple[str, ...]:
    """Family-appropriate names: q+v (the classic minimum) or all attention matrices."""
    table = QV_TARGETS if which == "qv" else ATTENTION_TARGETS
    return table[shape.family]


# ---------------------------------------------------------------------------- from config


def _read_config(config: Mapping[str, Any] | str | Path) -> tuple[dict[str, Any], str]:
    if isinstance(config, Mapping):
        return dict(config), "config dict"
    path = Path(config).expanduser()
    if path.is_dir():
        path = path / "config.json"
    if not path.is_file():
        raise AdvisorError(
            f"model config not found: {path} "
            "(give a config.json file or a model folder holding one)"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AdvisorError(f"cannot read {path} as JSON ({exc}); check the file") from None
    if not isinstance(data, dict):
        raise AdvisorError(f"{path} must hold a JSON object, not {type(data).__name__}")
    return data, str(path)


def _get(cfg: Mapping[str, Any], where: str, *keys: str, default: Any = None) -> Any:
    """First present key; a missing core dimension is an error, not a silent guess."""
    for key in keys:
        if cfg.get(key) is not None:
            value = cfg[key]
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            return value
    if default is None:
        raise AdvisorError(f"{where} has no {keys[0]!r}; is it a complete config.json?")
    return default


def _check_heads(where: str, hidden: Any, heads: Any, need_multiple: bool = True) -> None:
    _positive("hidden_size", hidden)
    _positive("num_attention_heads", heads)
    if need_multiple and hidden % heads:
        raise AdvisorError(
            f"{where}: hidden_size ({hidden}) is not a multiple of num_attention_heads "
            f"({heads}) and no head_dim is given"
        )


def shape_from_config(config: Mapping[str, Any] | str | Path) -> ModelShape:
    """A shape from a config dict, a config.json path or a local model folder."""
    cfg, where = _read_config(config)
    model_type = str(cfg.get("model_type", "")).lower()
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise AdvisorError(
            f"model_type {cfg.get('model_type')!r} in {where} is not supported; "
            f"supported: {', '.join(SUPPORTED_MODEL_TYPES)} "
            "(or give --params-b with --layers --hidden --heads --kv-heads --vocab)"
        )

    def g(*keys: str, default: Any = None) -> Any:
        return _get(cfg, where, *keys, default=default)

    if model_type == "gpt2":
        hidden = g("n_embd", "hidden_size")
        heads = g("n_head", "num_attention_heads")
        _check_heads(where, hidden, heads)
        return ModelShape(
            model_type="gpt2",
            family="gpt2",
            vocab_size=g("vocab_size"),
            hidden_size=hidden,
            num_layers=g("n_layer", "num_hidden_layers"),
            num_heads=heads,
            num_kv_heads=heads,
            head_dim=hidden // heads,
            intermediate_size=g("n_inner", default=4 * hidden),
            tie_word_embeddings=bool(cfg.get("tie_word_embeddings", True)),
            max_position_embeddings=g("n_positions", "max_position_embeddings"),
            **_CLASSIC,
            source=where,
        )
    if model_type == "bert":
        hidden, heads = g("hidden_size"), g("num_attention_heads")
        _check_heads(where, hidden, heads)
        return ModelShape(
            model_type="bert",
            family="bert",
            vocab_size=g("vocab_size"),
            hidden_size=hidden,
            num_layers=g("num_hidden_layers"),
            num_heads=heads,
            num_kv_heads=heads,
            head_dim=hidden // heads,
            intermediate_size=g("intermediate_size"),
            tie_word_embeddings=False,
            max_position_embeddings=g("max_position_embeddings", default=512),
            **_CLASSIC,
            type_vocab_size=g("type_vocab_size", default=2),
            pooler=True,
            source=where,
        )
    qkv_bias, o_bias, norms, qk_norm, tied_default = _LLAMA_LIKE[model_type]
    hidden, heads = g("hidden_size"), g("num_attention_heads")
    _check_heads(where, hidden, heads, need_multiple=cfg.get("head_dim") is None)
    if model_type in ("llama", "mistral", "qwen3") and cfg.get("attention_bias"):
        qkv_bias = o_bias = True  # these configs put one flag on q, k, v and o
    return ModelShape(
        model_type=model_type,
        family="llama",
        vocab_size=g("vocab_size"),
        hidden_size=hidden,
        num_layers=g("num_hidden_layers"),
        num_heads=heads,
        num_kv_heads=g("num_key_value_heads", default=heads),
        head_dim=g("head_dim", default=hidden // heads),
        intermediate_size=g("intermediate_size"),
        tie_word_embeddings=bool(cfg.get("tie_word_embeddings", tied_default)),
        max_position_embeddings=g("max_position_embeddings", default=2048),
        attention_bias=qkv_bias,
        attention_out_bias=o_bias,
        mlp_bias=bool(cfg.get("mlp_bias", False)),
        norms_per_layer=norms,
        qk_norm=qk_norm,
        source=where,
    )


# ------------------------------------------------------------------------- from dimensions


def _llama_intermediate(hidden: int) -> int:
    """SwiGLU width that keeps the MLP at ~8h^2 params: 8h/3 rounded up to 256 (Llama)."""
    return 256 * math.ceil(8 * hidden / 3 / 256)


def shape_from_dims(
    params_b: float | None = None,
    *,
    layers: int,
    hidden: int,
    heads: int,
    kv_heads: int | None = None,
    vocab: int,
    intermediate: int | None = None,
    head_dim: int | None = None,
    tie_word_embeddings: bool = False,
    max_position_embeddings: int = 4096,
    model_type: str = "llama",
    source: str = "dimensions",
) -> ModelShape:
    """A Llama-style shape from dimensions; ``params_b`` (billions) overrides the count."""
    for name, value in (("layers", layers), ("hidden", hidden), ("heads", heads), ("vocab", vocab)):
        _positive(name, value)
    if head_dim is None:
        if hidden % heads:
            raise AdvisorError(f"hidden ({hidden}) must be a multiple of heads ({heads})")
        head_dim = hidden // heads
    stated = None
    if params_b is not None:
        if not (isinstance(params_b, int | float) and math.isfinite(params_b) and params_b > 0):
            raise AdvisorError(f"params_b must be a positive number of billions (not {params_b!r})")
        stated = round(params_b * 1e9)
    return ModelShape(
        model_type=model_type,
        vocab_size=vocab,
        hidden_size=hidden,
        num_layers=layers,
        num_heads=heads,
        num_kv_heads=heads if kv_heads is None else kv_heads,
        head_dim=head_dim,
        intermediate_size=intermediate or _llama_intermediate(hidden),
        tie_word_embeddings=tie_word_embeddings,
        max_position_embeddings=max_position_embeddings,
        stated_params=stated,
        source=source,
    )


# Published shapes of Llama-style models, small to large: (name, layers, hidden, heads,
# kv_heads, intermediate, vocab, tied). A stated size borrows the nearest one's dimensions,
# which only matter for activations, the KV cache, LoRA sizes and the part of the weights
# QLoRA leaves in 16-bit. From 1B up they are modern GQA models with 128-152k vocabularies,
# so the estimate grows smoothly with the size instead of jumping between vocabularies.
_Row = tuple[str, int, int, int, int, int, int, bool]
REFERENCE_SHAPES: tuple[_Row, ...] = (
    ("SmolLM2-135M", 30, 576, 9, 3, 1536, 49152, True),
    ("SmolLM2-360M", 32, 960, 15, 5, 2560, 49152, True),
    ("Llama-3.2-1B", 16, 2048, 32, 8, 8192, 128256, True),
    ("Llama-3.2-3B", 28, 3072, 24, 8, 8192, 128256, True),
    ("Llama-3.1-8B", 32, 4096, 32, 8, 14336, 128256, False),
    ("Qwen2.5-14B", 48, 5120, 40, 8, 13824, 152064, False),
    ("Qwen2.5-32B", 64, 5120, 40, 8, 27648, 152064, False),
    ("Llama-3.1-70B", 80, 8192, 64, 8, 28672, 128256, False),
    ("Llama-3.1-405B", 126, 16384, 128, 8, 53248, 128256, False),
)


def _reference_shape(row: _Row, params_b: float) -> ModelShape:
    name, layers, hidden, heads, kv, inter, vocab, tied = row
    return shape_from_dims(
        params_b,
        layers=layers,
        hidden=hidden,
        heads=heads,
        kv_heads=kv,
        vocab=vocab,
        intermediate=inter,
        tie_word_embeddings=tied,
        source=f"{params_b:g}B stated; dimensions of {name}",
    )


@lru_cache(maxsize=len(REFERENCE_SHAPES))
def _reference_params(row: _Row) -> int:
    """A reference shape's own count: fixed, and asked for on every size a planner tries."""
    return computed_params(_reference_shape(row, 1.0))


def shape_from_params_b(params_b: float) -> ModelShape:
    """A plausible Llama-style shape for a size alone ("7B"), with that exact total."""
    if not (isinstance(params_b, int | float) and math.isfinite(params_b) and params_b > 0):
        raise AdvisorError(f"params_b must be a positive number of billions (not {params_b!r})")
    best: _Row | None = None
    best_gap = math.inf
    for row in REFERENCE_SHAPES:  # the nearest in log size; the first wins a tie
        gap = abs(math.log(_reference_params(row) / (params_b * 1e9)))
        if gap < best_gap:
            best, best_gap = row, gap
    assert best is not None
    return _reference_shape(best, params_b)
