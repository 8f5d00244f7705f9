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

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from advisor.errors import AdvisorError
from advisor.model_shapes import (
    ModelShape,
    computed_params,
    count_params,
    default_targets,
    linear_layers,
    lora_trainable_params,
    shape_from_config,
    shape_from_dims,
    shape_from_params_b,
)

__all__ = ["DTYPE_BYTES", "GB", "OPTIMIZER_STATES", "FinetunePlan", "MemoryEstimate"]
__all__ += ["ModelShape", "count_params", "estimate_memory", "largest_model_that_fits"]
__all__ += ["lora_trainable_params", "plan_finetune", "shape_from_config", "shape_from_dims"]
__all__ += ["shape_from_params_b"]

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
FULL_FINETUNE_MIN_EXAMPLES = 10_000  # framework section 6: full wants tens of thousands
TYPICAL_GPU_GB = 24.0  # what a plan assumes when the team has no accelerator


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
        out = asdict(self)
        for key, value in out.items():
            if key.endswith("_gb"):
                out[key] = round(value, 6)
        out["target_modules"] = list(self.target_modules)
        out["conventions"] = list(self.conventions)
        return out


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
    quantized = sum(x.weight_params for x in linear_layers(shape) if not x.is_output_head)
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


# --------------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class FinetunePlan:
    """Which finetuning method fits, with starting hyperparameters (framework section 9)."""

    method: str | None  # "full", "lora", "qlora", or None when nothing fits
    rank: int  # LoRA rank (also given for full, for a later LoRA try)
    alpha: int  # 2 x rank: the update is scaled by alpha / rank
    target_modules: tuple[str, ...]
    learning_rate: float
    epochs: int
    train_memory_gb: float  # the chosen (or, with nothing fitting, the smallest) estimate
    fits: bool
    safety_margin: float
    gpu_memory_gb: float
    gradient_checkpointing: bool
    params_b: float
    labeled_examples: int
    note: str
    estimates: dict[str, MemoryEstimate] = field(default_factory=dict)  # per method tried
    largest_qlora_params_b: float | None = None  # when nothing fits: a size that would
    lora_dropout: float = 0.05
    optimizer_convention: str = "mixed"
    unit: str = UNIT

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "estimates"}
        out["target_modules"] = list(self.target_modules)
        out["train_memory_gb"] = round(self.train_memory_gb, 3)
        out["estimates"] = {name: est.to_dict() for name, est in self.estimates.items()}
        return out


def epochs_for(labeled_examples: int) -> int:
    """A few epochs for millions of examples, more for thousands (framework section 9)."""
    for threshold, epochs in ((1_000_000, 1), (100_000, 2), (10_000, 3), (1_000, 5)):
        if labeled_examples >= threshold:
            return epochs
    return 8


def _fitting_estimate(
    shape: ModelShape, method: str, budget_gb: float, **kwargs: Any
) -> MemoryEstimate:
    """Without gradient checkpointing if that fits, else with it (the smaller of the two)."""
    plain = estimate_memory(shape, method, gradient_checkpointing=False, **kwargs)
    if plain.fits(budget_gb):
        return plain
    return estimate_memory(shape, method, gradient_checkpointing=True, **kwargs)


def largest_model_that_fits(
    gpu_memory_gb: float,
    method: str = "qlora",
    seq_len: int = 512,
    batch_size: int = 1,
    upper_params_b: float = 1000.0,
) -> float | None:
    """Largest Llama-style size (billions, 2 significant digits) this method trains here.

    Sizes are tried upwards from 0.05B in 5% steps, stopping at the first that does not
    fit, so every size up to the answer fits too. LoRA settings: rank 16 on attention.
    """
    best, size = None, 0.05
    kwargs = dict(seq_len=seq_len, batch_size=batch_size, optimizer_convention="mixed")
    while size <= upper_params_b:
        shape = shape_from_params_b(size)
        targets = default_targets(shape, "attention")
        est = _fitting_estimate(
            shape, method, gpu_memory_gb, lora_rank=16, target_modules=targets, **kwargs
        )
        if not est.fits(gpu_memory_gb):
            break  # the first size that fails: every size below it fits
        best, size = size, size * 1.05
    if best is None:
        return None
    digits = 1 - math.floor(math.log10(best))
    return math.floor(best * 10**digits) / 10**digits


def plan_finetune(
    params_b: float,
    gpu_memory_gb: float,
    labeled_examples: int = 0,
    shape: ModelShape | None = None,
    seq_len: int = 512,
    batch_size: int = 1,
) -> FinetunePlan:
    """Full if it fits with margin and data is plentiful, else LoRA, else QLoRA, else none.

    Estimates use the mixed-precision convention (what training frameworks actually run),
    keep a 20% margin, and turn gradient checkpointing on only when needed to fit.
    ``shape`` (from a config) wins over ``params_b`` for the dimensions. With no
    accelerator (``gpu_memory_gb == 0``) the plan is made for a typical 24 GB GPU and
    ``fits`` is False.
    """
    if not isinstance(gpu_memory_gb, int | float) or not gpu_memory_gb >= 0:
        raise AdvisorError(f"gpu_memory_gb must be a number >= 0 (not {gpu_memory_gb!r})")
    if isinstance(labeled_examples, bool) or not isinstance(labeled_examples, int):
        raise AdvisorError(f"labeled_examples must be an integer (not {labeled_examples!r})")
    if labeled_examples < 0:
        raise AdvisorError(f"labeled_examples must be >= 0 (not {labeled_examples!r})")
    shape = shape or shape_from_params_b(params_b)
    params_b = count_params(shape) / 1e9
    no_gpu = gpu_memory_gb == 0
    budget = TYPICAL_GPU_GB if no_gpu else float(gpu_memory_gb)
    rank = 16 if labeled_examples >= 1_000 else 8
    targets = default_targets(shape, "attention")
    common = dict(seq_len=seq_len, batch_size=batch_size, optimizer_convention="mixed")
    lora_kw = dict(common, lora_rank=rank, target_modules=targets)
    estimates = {
        "full": _fitting_estimate(shape, "full", budget, **common),
        "lora": _fitting_estimate(shape, "lora", budget, **lora_kw),
        "qlora": _fitting_estimate(shape, "qlora", budget, **lora_kw),
    }
    fit = {name: est.fits(budget) for name, est in estimates.items()}
    enough_data = labeled_examples >= FULL_FINETUNE_MIN_EXAMPLES
    where = f"a typical {budget:g} GB GPU" if no_gpu else f"{budget:g} GB"
    need = {name: f"{est.total_train_gb:.1f} GB" for name, est in estimates.items()}
    margin = f"with a {SAFETY_MARGIN:.0%} margin"
    largest = None
    if fit["full"] and enough_data:
        method = "full"
        note = (
            f"Full finetuning fits in {where} {margin} ({need['full']}) and "
            f"{labeled_examples:,} labeled examples are enough for it."
        )
    elif fit["lora"]:
        method = "lora"
        note = f"LoRA fits in {where} {margin} ({need['lora']})."
        if fit["full"]:
            note += (
                f" Full finetuning would fit too, but {labeled_examples:,} examples are fewer "
                f"than the ~{FULL_FINETUNE_MIN_EXAMPLES:,} it wants; LoRA works with hundreds "
                "to a few thousand."
            )
        else:
            note += f" Full finetuning would need {need['full']}."
    elif fit["qlora"]:
        method = "qlora"
        note = (
            f"Only QLoRA fits in {where} {margin} ({need['qlora']}, 4-bit base); "
            f"16-bit LoRA would need {need['lora']}."
        )
    else:
        method = None
        largest = largest_model_that_fits(budget, "qlora", seq_len, batch_size, params_b)
        note = (
            f"Nothing fits in {where}: even QLoRA needs {need['qlora']} "
            f"({estimates['qlora'].total_train_gb * (1 + SAFETY_MARGIN):.1f} GB {margin})."
        )
        if largest is not None:
            note += (
                f" The largest model QLoRA could train here is about {largest:g}B parameters: "
                "pick a model of that size or smaller, or use a bigger GPU."
            )
        else:
            note += " Even a 0.05B model does not fit; use a bigger GPU."
    if no_gpu:
        note = (
            "No accelerator (gpu_memory_gb = 0): finetuning on CPU is impractical beyond tiny "
            f"models, so this plan assumes {where}. " + note
        )
    chosen = estimates[method or "qlora"]
    if chosen.gradient_checkpointing and method:
        note += " Needs gradient checkpointing."
    return FinetunePlan(
        method=method,
        rank=rank,
        alpha=2 * rank,
        target_modules=targets,
        learning_rate=2e-5 if method == "full" else 2e-4,
        epochs=epochs_for(labeled_examples),
        train_memory_gb=chosen.total_train_gb,
        fits=bool(method) and not no_gpu,
        safety_margin=SAFETY_MARGIN,
        gpu_memory_gb=float(gpu_memory_gb),
        gradient_checkpointing=chosen.gradient_checkpointing,
        params_b=params_b,
        labeled_examples=labeled_examples,
        note=note,
        estimates=estimates,
        largest_qlora_params_b=largest,
    )
