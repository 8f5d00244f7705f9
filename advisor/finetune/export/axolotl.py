"""Axolotl: one YAML (``axolotl train axolotl.yaml``) and chat-messages JSONL.

Keys follow Axolotl's documented config (``base_model``, ``datasets`` with
``type: chat_template``, ``adapter``, ``lora_*``, ``sequence_len``, ``micro_batch_size``,
``gradient_accumulation_steps``, ``num_epochs``, ``optimizer``, ``lr_scheduler``...).
The tokenizer's own chat template formats the data (ChatML when it has none), and only the
assistant turn is trained on unless the pilot trained on prompts too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from advisor.finetune.export.dataset import TrainingData, write_messages_jsonl
from advisor.finetune.export.spec import TrainingSpec
from advisor.pilot.rundir import atomic_write_text

CONFIG = "axolotl.yaml"
RUN = "pip install axolotl && axolotl train axolotl.yaml"

_HEADER = (
    "# Axolotl config written by `advisor export` from a finetune plan.\n"
    "# Run: axolotl train axolotl.yaml   (multi-GPU: accelerate launch -m axolotl.cli.train "
    "axolotl.yaml;\n# DeepSpeed: add `deepspeed: deepspeed_configs/zero2.json`)\n"
)


def _dataset(path: str, roles: list[str], eval_split: bool = False) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "path": path,
        "ds_type": "json",
        "type": "chat_template",
        "field_messages": "messages",
        "message_property_mappings": {"role": "role", "content": "content"},
        "roles_to_train": roles,
        "train_on_eos": "turn",
    }
    if eval_split:
        entry["split"] = "train"  # a local JSON file's only split is called "train"
    return entry


def config_dict(spec: TrainingSpec, has_eval: bool) -> dict[str, Any]:
    roles = ["user", "assistant"] if spec.train_on_prompt else ["assistant"]
    cfg: dict[str, Any] = {
        "base_model": spec.model,
        "load_in_8bit": False,
        "load_in_4bit": spec.method == "qlora",
        "strict": False,
        "chat_template": "tokenizer_default_fallback_chatml",
        "datasets": [_dataset("data/train.jsonl", roles)],
    }
    if has_eval:
        cfg["test_datasets"] = [_dataset("data/eval.jsonl", roles, eval_split=True)]
    cfg["val_set_size"] = 0.0
    cfg["dataset_prepared_path"] = "last_run_prepared"
    cfg["output_dir"] = f"./outputs/advisor-{spec.method}"
    if spec.uses_lora:
        cfg.update(
            adapter=spec.method,
            lora_r=spec.rank,
            lora_alpha=spec.alpha,
            lora_dropout=spec.dropout,
            lora_target_modules=list(spec.target_modules),
        )
    cfg.update(
        sequence_len=spec.seq_len,
        sample_packing=False,
        micro_batch_size=spec.micro_batch_size,
        gradient_accumulation_steps=spec.grad_accum,
        num_epochs=spec.epochs,
        optimizer="paged_adamw_8bit" if spec.method == "qlora" else "adamw_torch",
        lr_scheduler="cosine",
        learning_rate=spec.learning_rate,
        warmup_ratio=spec.warmup_ratio,
        train_on_inputs=spec.train_on_prompt,
        bf16="auto" if spec.bf16 else False,
        tf32=False,
        gradient_checkpointing=spec.gradient_checkpointing,
        logging_steps=10,
        saves_per_epoch=1,
        seed=spec.seed,
    )
    if has_eval:
        cfg["evals_per_epoch"] = 1
    return cfg


def write(spec: TrainingSpec, data: TrainingData, folder: Path) -> list[Path]:
    import yaml

    cfg = config_dict(spec, bool(data.eval))
    path = folder / CONFIG
    body = yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True, default_flow_style=False)
    atomic_write_text(path, _HEADER + body)
    paths = [
        path,
        write_messages_jsonl(folder / "data" / "train.jsonl", data.train, spec.system_prompt),
    ]
    if data.eval:
        paths.append(
            write_messages_jsonl(folder / "data" / "eval.jsonl", data.eval, spec.system_prompt)
        )
    return paths
