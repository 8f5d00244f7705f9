"""LLaMA-Factory: one YAML (``llamafactory-cli train llamafactory.yaml``) and alpaca data.

Keys follow LLaMA-Factory's documented examples (``model_name_or_path``, ``stage: sft``,
``finetuning_type``, ``lora_rank``, ``lora_target``, ``dataset`` + ``dataset_dir`` holding
``dataset_info.json``, ``template``, ``cutoff_len``...). ``template`` must match the model's
chat format; it is guessed from the model name and the README says to check it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from advisor.finetune.export.dataset import DATASET_NAME, TrainingData, write_alpaca
from advisor.finetune.export.spec import TrainingSpec
from advisor.pilot.rundir import atomic_write_text

CONFIG = "llamafactory.yaml"
RUN = "pip install llamafactory && llamafactory-cli train llamafactory.yaml"

# (substring of the lower-cased model id, LLaMA-Factory template); first match wins
_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("llama-3", "llama3"),
    ("llama3", "llama3"),
    ("llama-2", "llama2"),
    ("qwen3", "qwen3"),
    ("qwen", "qwen"),
    ("mistral", "mistral"),
    ("mixtral", "mistral"),
    ("gemma-3", "gemma3"),
    ("gemma3", "gemma3"),
    ("gemma-2", "gemma2"),
    ("gemma", "gemma"),
    ("phi-4", "phi4"),
    ("phi-3", "phi"),
    ("phi3", "phi"),
)

_HEADER = (
    "# LLaMA-Factory config written by `advisor export` from a finetune plan.\n"
    "# Run: llamafactory-cli train llamafactory.yaml   (multi-GPU: FORCE_TORCHRUN=1 "
    "llamafactory-cli train ...;\n# DeepSpeed: add `deepspeed: ds_z2_config.json`)\n"
)


def guess_template(model: str) -> str:
    """LLaMA-Factory's chat template for a model id; ``default`` when unknown."""
    name = model.lower()
    return next((tpl for key, tpl in _TEMPLATES if key in name), "default")


def config_dict(spec: TrainingSpec, has_eval: bool) -> dict[str, Any]:
    cfg: dict[str, Any] = {"model_name_or_path": spec.model}
    if spec.method == "qlora":
        cfg.update(quantization_bit=4, quantization_method="bnb")
    cfg.update(stage="sft", do_train=True, finetuning_type="lora" if spec.uses_lora else "full")
    if spec.uses_lora:
        cfg.update(
            lora_rank=spec.rank,
            lora_alpha=spec.alpha,
            lora_dropout=spec.dropout,
            lora_target=",".join(spec.target_modules),
        )
    cfg.update(
        dataset=f"{DATASET_NAME}_train",
        dataset_dir="data",
        template=guess_template(spec.model),
        cutoff_len=spec.seq_len,
        train_on_prompt=spec.train_on_prompt,
        overwrite_cache=True,
        output_dir=f"outputs/advisor-{spec.method}",
        logging_steps=10,
        save_strategy="epoch",
        plot_loss=True,
        overwrite_output_dir=True,
        report_to="none",
        per_device_train_batch_size=spec.micro_batch_size,
        gradient_accumulation_steps=spec.grad_accum,
        learning_rate=spec.learning_rate,
        num_train_epochs=float(spec.epochs),
        lr_scheduler_type="cosine",
        warmup_ratio=spec.warmup_ratio,
        bf16=spec.bf16,
        seed=spec.seed,
    )
    if not spec.gradient_checkpointing:
        cfg["disable_gradient_checkpointing"] = True  # LLaMA-Factory checkpoints by default
    if has_eval:
        cfg.update(
            eval_dataset=f"{DATASET_NAME}_eval",
            per_device_eval_batch_size=spec.micro_batch_size,
            eval_strategy="epoch",
        )
    return cfg


def write(spec: TrainingSpec, data: TrainingData, folder: Path) -> list[Path]:
    import yaml

    cfg = config_dict(spec, bool(data.eval))
    path = folder / CONFIG
    body = yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True, default_flow_style=False)
    atomic_write_text(path, _HEADER + body)
    return [path, *write_alpaca(folder / "data", data, spec.system_prompt)]
