"""LoRA finetuning for the pilot's ``lora`` and ``lora_rag`` arms, and export to real trainers.

Private modules behind this face: ``settings`` (LoraSettings, TrainPair: no torch),
``batches`` (padded, loss-weighted batches), ``lora`` (the training loop and adapters) and
``export/`` (TRL, Axolotl and LLaMA-Factory set-ups from a finetuning plan).
"""

from __future__ import annotations

from advisor.finetune.lora import TrainResult, load_adapter, resolve_target_modules, train_lora
from advisor.finetune.settings import PRECISIONS, LoraSettings, TrainPair

__all__ = [
    "PRECISIONS",
    "LoraSettings",
    "TrainPair",
    "TrainResult",
    "load_adapter",
    "resolve_target_modules",
    "train_lora",
]
