"""Which finetuning method fits a GPU, and with what starting hyperparameters.

Why apart from the memory math: the math (``advisor.memory.gpu``) answers "how many GB
for this configuration?"; this module makes the decision the recommendation cites: full if
it fits with margin and the data is plentiful, else LoRA, else QLoRA, else the largest model
that would fit (framework sections 6-9). Every figure comes from ``estimate_memory``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from advisor.errors import AdvisorError
from advisor.memory.gpu import SAFETY_MARGIN, UNIT, MemoryEstimate, estimate_memory
from advisor.memory.params import count_params
from advisor.memory.shapes import ModelShape, default_targets, shape_from_params_b

__all__ = ["FULL_FINETUNE_MIN_EXAMPLES", "TYPICAL_GPU_GB", "FinetunePlan", "epochs_for"]
__all__ += ["largest_model_that_fits", "plan_finetune"]

FULL_FINETUNE_MIN_EXAMPLES = 10_000  # framework section 6: full wants tens of thousands
TYPICAL_GPU_GB = 24.0  # what a plan assumes when the team has no accelerator


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
