"""Parameter and memory math, in one place to import from (full, LoRA and QLoRA).

Why a facade: callers ask one question, "can we finetune this here, and how?", and should
not need to know how the answer is built. The work is split by responsibility, each part
importing only the ones before it, so there is no import cycle:

- ``advisor.memory.params``: parameter counts and LoRA sizes (exact vs transformers/peft);
- ``advisor.memory.shapes``: a ``ModelShape`` from a config.json, dimensions or a size;
- ``advisor.memory.gpu``: GB for training and serving, and the conventions behind
  every figure (GB = 1e9 bytes; read its docstring before quoting a number);
- ``advisor.memory.cpu``: the peak resident memory of the pilot's own LoRA loop on a CPU,
  measured against real runs (the chapter's figure is for planning a GPU run);
- ``advisor.memory.plan``: which method fits a GPU, with starting hyperparameters.

Every name below is the same object as in its home module.
"""

from __future__ import annotations

from advisor.memory.cpu import CpuTrainingPeak, estimate_cpu_training_peak
from advisor.memory.gpu import (
    CONVENTIONS,
    DTYPE_BYTES,
    GB,
    INFERENCE_OVERHEAD,
    METHODS,
    NF4_BYTES,
    OPTIMIZER_STATES,
    SAFETY_MARGIN,
    UNIT,
    MemoryEstimate,
    activation_bytes,
    estimate_memory,
    kv_cache_bytes,
    normalize_dtype,
)
from advisor.memory.params import (
    computed_params,
    count_params,
    linear_layers,
    lora_trainable_params,
)
from advisor.memory.plan import (
    FULL_FINETUNE_MIN_EXAMPLES,
    TYPICAL_GPU_GB,
    FinetunePlan,
    epochs_for,
    largest_model_that_fits,
    plan_finetune,
)
from advisor.memory.shapes import (
    ModelShape,
    default_targets,
    shape_from_config,
    shape_from_dims,
    shape_from_params_b,
)

__all__ = [
    "CONVENTIONS",
    "DTYPE_BYTES",
    "FULL_FINETUNE_MIN_EXAMPLES",
    "GB",
    "INFERENCE_OVERHEAD",
    "METHODS",
    "NF4_BYTES",
    "OPTIMIZER_STATES",
    "SAFETY_MARGIN",
    "TYPICAL_GPU_GB",
    "UNIT",
    "CpuTrainingPeak",
    "FinetunePlan",
    "MemoryEstimate",
    "ModelShape",
    "activation_bytes",
    "computed_params",
    "count_params",
    "default_targets",
    "epochs_for",
    "estimate_cpu_training_peak",
    "estimate_memory",
    "kv_cache_bytes",
    "largest_model_that_fits",
    "linear_layers",
    "lora_trainable_params",
    "normalize_dtype",
    "plan_finetune",
    "shape_from_config",
    "shape_from_dims",
    "shape_from_params_b",
]
