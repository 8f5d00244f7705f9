"""Memory math for finetuning and serving: full, LoRA and QLoRA, from a model's shape.

Why: "can we finetune this on our GPU?" decides between full finetuning, LoRA, QLoRA or not
at all, and it can be answered with arithmetic before anything is downloaded. The formulas
follow the finetuning chapter of Chip Huyen's *AI Engineering* (framework section 7) and the
papers behind it; every figure says which convention it uses.

Unit: GB = 1e9 bytes (not GiB). Conventions:

- Bytes per value: fp32 4, tf32 4 (stored as fp32), fp16/bf16 2, int8/fp8 1, int4/nf4 0.5.
- Training = weights + gradients + optimizer states + activations. Gradients: one value per
  *trainable* parameter. Optimizer states per trainable parameter: sgd 0, momentum 1,
  adam/adamw 2.
- ``optimizer_convention="dtype"`` (default, the chapter's): gradients and optimizer states
  are stored in the training dtype, so 13B all trainable with Adam at 16 bits needs
  13e9 x 3 x 2 bytes = 78 GB on top of 26 GB of weights.
  ``"mixed"``: mixed-precision training as frameworks usually run it: an fp32 master copy
  (4 bytes, unless the dtype is already 32-bit) plus fp32 optimizer states (4 bytes each),
  on top of the dtype's weights and gradients: 2 + 2 + 4 + 8 = 16 bytes per trainable
  parameter for Adam at 16 bits.
- Trainable values (full weights, LoRA adapters, their gradients and states) need a float
  type: with an 8- or 4-bit ``dtype``, LoRA adapters are kept in bf16, and full
  finetuning is refused.
- QLoRA (Dettmers et al. 2023): every linear weight except the output head is frozen in
  4-bit NF4 with double quantization (blocks of 64 with 8-bit scales, themselves scaled
  in fp32 per 256 blocks: 4.127 bits per weight); embeddings, norms, biases and the output
  head stay in the compute dtype; adapters train in the compute dtype (16-bit by default).
- Activations (Korthikanti et al. 2022, "Reducing Activation Recomputation in Large
  Transformer Models"): per layer seq x batch x hidden x (34 + 5 x heads x seq / hidden)
  bytes at 16 bits, scaled for fp32. It assumes no FlashAttention and counts dropout masks,
  so it is an upper-end figure. Gradient checkpointing keeps only each layer's 16-bit input
  (2 x seq x batch x hidden bytes) plus one layer's full activations while it is
  recomputed. Decoders add the logits in fp32 for the loss: seq x batch x vocab x 4 bytes.
  LoRA still stores activations: gradients flow back through the frozen layers.
- Inference = weights x 1.2 (the chapter's rule: ~20% for activations and KV cache).
  The KV cache for the stated batch and sequence length is reported separately:
  2 x layers x kv_heads x head_dim x bytes x batch x seq (0 for the BERT encoder).
- Not counted: the CUDA context and allocator fragmentation (~0.5-2 GB); plans keep a
  20% safety margin for them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from advisor.errors import AdvisorError
from advisor.memory.params import (
    computed_params,
    count_params,
    lora_trainable_params,
    quantizable_params,
)
from advisor.memory.shapes import ModelShape, default_targets

__all__ = ["CONVENTIONS", "DTYPE_BYTES", "GB", "INFERENCE_OVERHEAD", "METHODS", "NF4_BYTES"]
__all__ += ["OPTIMIZER_STATES", "SAFETY_MARGIN", "UNIT", "MemoryEstimate", "activation_bytes"]
__all__ += ["estimate_memory", "kv_cache_bytes", "normalize_dtype", "rounded_gb"]

GB = 1e9  # bytes per GB, as in every figure the advisor prints
UNIT = "GB (1e9 bytes)"
DTYPE_BYTES: dict[str, float] = {
    "fp32": 4.0,
    "tf32": 4.0,
    "fp16": 2.0,
    "bf16": 2.0,
    "int8": 1.0,
    "fp8": 1.0,
    "int4": 0.5,
    "nf4": 0.5,
}
_DTYPE_ALIASES = {"float32": "fp32", "float16": "fp16", "half": "fp16", "bfloat16": "bf16"}
OPTIMIZER_STATES: dict[str, int] = {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}
METHODS = ("full", "lora", "qlora")
CONVENTIONS = ("dtype", "mixed")
INFERENCE_OVERHEAD = 1.2  # the chapter's rule of thumb for serving
NF4_BYTES = (4 + 8 / 64 + 32 / (64 * 256)) / 8  # 4-bit weight + double-quantized scales
SAFETY_MARGIN = 0.2  # headroom for CUDA context, fragmentation and estimate error


@dataclass(frozen=True)
class MemoryEstimate:
    """One method's memory bill, in GB (1e9 bytes), with the conventions it assumed."""

    method: str
    dtype: str
    optimizer: str
    optimizer_convention: str
    batch_size: int
    seq_len: int
    lora_rank: int | None  # None for full finetuning
    target_modules: tuple[str, ...]  # empty for full finetuning
    gradient_checkpointing: bool
    weights_gb: float  # all weights held during training (base + adapters)
    gradients_gb: float
    optimizer_gb: float  # optimizer states (and the fp32 master copy under "mixed")
    activations_gb: float
    total_train_gb: float
    inference_gb: float  # weights x 1.2
    kv_cache_gb: float  # for batch_size x seq_len, reported beside inference_gb
    trainable_params: int
    total_params: int  # the base model's parameters (adapters not included)
    model_type: str
    conventions: tuple[str, ...]
    unit: str = UNIT

    def fits(self, gpu_memory_gb: float, margin: float = SAFETY_MARGIN) -> bool:
        """Training fits when total x (1 + margin) is within the GPU's memory."""
        return gpu_memory_gb > 0 and self.total_train_gb * (1 + margin) <= gpu_memory_gb

    def to_dict(self) -> dict[str, Any]:
        out = rounded_gb(asdict(self))
        out["target_modules"] = list(self.target_modules)
        out["conventions"] = list(self.conventions)
        return out


def rounded_gb(fields: dict[str, Any]) -> dict[str, Any]:
    """Every ``*_gb`` figure to 6 decimals (1 kB): what the JSON outputs print."""
    return {k: round(v, 6) if k.endswith("_gb") else v for k, v in fields.items()}


def normalize_dtype(dtype: str) -> str:
    key = _DTYPE_ALIASES.get(str(dtype).lower(), str(dtype).lower())
    if key not in DTYPE_BYTES:
        raise AdvisorError(f"dtype must be one of {', '.join(DTYPE_BYTES)} (not {dtype!r})")
    return key


def _check_choice(name: str, value: str, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    key = str(value).lower()
    if key not in allowed:
        raise AdvisorError(f"{name} must be one of {', '.join(allowed)} (not {value!r})")
    return key


def _check_count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise AdvisorError(f"{name} must be a positive integer (not {value!r})")
    return value


def activation_bytes(
    shape: ModelShape, batch_size: int, seq_len: int, value_bytes: float, checkpointing: bool
) -> float:
    """Korthikanti et al. 2022 per-layer activations; see the module docstring."""
    s, b, h = seq_len, batch_size, shape.hidden_size
    scale = value_bytes / 2  # the paper's constants are for 16-bit activations
    per_layer = s * b * h * (34 + 5 * shape.num_heads * s / h) * scale
    if checkpointing:
        layers = shape.num_layers * 2 * s * b * h * scale + per_layer
    else:
        layers = shape.num_layers * per_layer
    logits = s * b * shape.vocab_size * 4 if shape.is_causal_lm else 0
    return layers + logits


def kv_cache_bytes(shape: ModelShape, batch_size: int, seq_len: int, value_bytes: float) -> float:
    """Keys and values of every layer for every token served (decoders only)."""
    if not shape.is_causal_lm:
        return 0.0
    per_token = 2 * shape.num_layers * shape.num_kv_heads * shape.head_dim * value_bytes
    return per_token * batch_size * seq_len


def _qlora_base_bytes(shape: ModelShape, compute_bytes: float) -> float:
    """NF4 for the linear weights (not the head), compute dtype for everything else."""
    computed = computed_params(shape)
    quantized = quantizable_params(shape)
    total = count_params(shape)
    if total != computed:  # a stated size: keep the dims' split between the two parts
        quantized = quantized * total / computed
    return quantized * NF4_BYTES + (total - quantized) * compute_bytes


def estimate_memory(
    shape: ModelShape,
    method: str = "lora",
    dtype: str = "bf16",
    optimizer: str = "adam",
    batch_size: int = 1,
    seq_len: int = 512,
    lora_rank: int = 8,
    target_modules: str | Iterable[str] | None = None,
    gradient_checkpointing: bool = False,
    optimizer_convention: str = "dtype",
) -> MemoryEstimate:
    """Training and serving memory for one configuration.

    ``target_modules=None`` means the family's q+v projections (``q_proj, v_proj`` for
    Llama-style models, ``c_attn`` for GPT-2, ``query, value`` for BERT).
    """
    method = _check_choice("method", method, METHODS)
    dtype = normalize_dtype(dtype)
    optimizer = _check_choice("optimizer", optimizer, OPTIMIZER_STATES)
    convention = _check_choice("optimizer_convention", optimizer_convention, CONVENTIONS)
    _check_count("batch_size", batch_size)
    _check_count("seq_len", seq_len)
    base_bytes = DTYPE_BYTES[dtype]
    train_dtype = dtype if base_bytes >= 2 else "bf16"
    tb = DTYPE_BYTES[train_dtype]
    total = count_params(shape)
    notes: list[str] = []

    if method == "full":
        if base_bytes < 2:
            raise AdvisorError(
                f"full finetuning updates every weight, which needs fp32, tf32, fp16 or bf16 "
                f"(not {dtype}); for a quantized base use method qlora"
            )
        trainable, rank, targets = total, None, ()
        weights = total * base_bytes
    else:
        _check_count("lora_rank", lora_rank)
        if target_modules is None:
            target_modules = default_targets(shape)
        if isinstance(target_modules, str):
            target_modules = [t.strip() for t in target_modules.split(",") if t.strip()]
        targets = tuple(target_modules)
        spec = "all-linear" if targets in (("all-linear",), ("all_linear",)) else targets
        trainable = lora_trainable_params(shape, lora_rank, spec)
        rank = lora_rank
        if method == "lora":
            base = total * base_bytes
            notes.append(f"LoRA: frozen base in {dtype}; adapters train in {train_dtype}.")
        else:
            base = _qlora_base_bytes(shape, tb)
            notes.append(
                f"QLoRA: linear weights (not the output head) in NF4 with double quantization "
                f"({NF4_BYTES * 8:.3f} bits each); embeddings, norms and head in {train_dtype}; "
                f"adapters train in {train_dtype}."
            )
        weights = base + trainable * tb

    states = OPTIMIZER_STATES[optimizer]
    gradients = trainable * tb
    if convention == "dtype":
        optimizer_bytes = trainable * states * tb
        notes.append(
            f"Gradients and {optimizer} states ({states} per trainable parameter) stored in "
            f"{train_dtype} ({tb:g} bytes each), the chapter's convention."
        )
    else:
        master = 4 if tb < 4 else 0
        optimizer_bytes = trainable * (master + 4 * states)
        notes.append(
            f"Mixed precision: {train_dtype} gradients, plus per trainable parameter an fp32 "
            f"master copy ({master} bytes) and {states} fp32 {optimizer} states "
            f"({4 * states} bytes): {tb * 2 + master + 4 * states:g} bytes per trainable "
            "parameter with the weight."
        )
    activations = activation_bytes(shape, batch_size, seq_len, tb, gradient_checkpointing)
    notes.append(
        "Activations: Korthikanti et al. 2022 per-layer formula"
        + (" with gradient checkpointing (layer inputs only)." if gradient_checkpointing else ".")
        + (" Includes fp32 logits for the loss." if shape.is_causal_lm else "")
    )
    kv = kv_cache_bytes(shape, batch_size, seq_len, tb)
    notes.append(
        f"Inference = weights x {INFERENCE_OVERHEAD} (the chapter's rule); KV cache for "
        f"batch {batch_size} x {seq_len} tokens shown separately"
        + (" and larger than the rule's 20% allowance." if kv > 0.2 * weights else ".")
    )
    if shape.stated_params is not None:
        implied = computed_params(shape)
        if abs(implied - total) > 0.1 * total:
            notes.append(
                f"Parameter count is the stated {total / 1e9:.2f}B; the dimensions "
                f"({shape.source}) imply {implied / 1e9:.2f}B and only set activations, "
                "KV cache and LoRA sizes."
            )
    return MemoryEstimate(
        method=method,
        dtype=dtype,
        optimizer=optimizer,
        optimizer_convention=convention,
        batch_size=batch_size,
        seq_len=seq_len,
        lora_rank=rank,
        target_modules=targets,
        gradient_checkpointing=bool(gradient_checkpointing),
        weights_gb=weights / GB,
        gradients_gb=gradients / GB,
        optimizer_gb=optimizer_bytes / GB,
        activations_gb=activations / GB,
        total_train_gb=(weights + gradients + optimizer_bytes + activations) / GB,
        inference_gb=weights * INFERENCE_OVERHEAD / GB,
        kv_cache_gb=kv / GB,
        trainable_params=int(trainable),
        total_params=int(total),
        model_type=shape.model_type,
        conventions=tuple(notes),
    )
