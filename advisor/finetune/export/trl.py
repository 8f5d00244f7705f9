"""Hugging Face TRL + peft: one ``train_trl.py`` that runs under ``accelerate launch``.

Why a script rather than a TRL CLI config: it shows every choice in plain Python a user can
edit, and ``accelerate launch`` runs the same file on one GPU, many (DDP), DeepSpeed or FSDP.
Every value sits in one ``CONFIG`` dict literal at the top (written with ``repr``, so user
text cannot inject code); the code below it is fixed.

Loss on the answer only (the pilot's default, prompt_loss_weight 0): the messages are split
into TRL's conversational prompt-completion form, which SFTTrainer trains on the completion
only. With ``train_on_prompt`` the whole conversation is trained on.
"""

from __future__ import annotations

from pathlib import Path

from advisor.finetune.export.dataset import TrainingData, write_messages_jsonl
from advisor.finetune.export.spec import TrainingSpec
from advisor.pilot.rundir import atomic_write_text

SCRIPT = "train_trl.py"

_CODE = '''"""Finetune with Hugging Face TRL + peft, written by `advisor export` from a plan.

Install:  pip install "trl>=0.20" peft datasets accelerate   (+ bitsandbytes for qlora)
Run:      accelerate launch train_trl.py
          (accelerate config / --config_file picks one GPU, DDP, DeepSpeed or FSDP)
Data:     data/train.jsonl (+ data/eval.jsonl), chat "messages" per line.
"""

from pathlib import Path

CONFIG = __CONFIG__

HERE = Path(__file__).resolve().parent


def load_split(name):
    """The chat examples; prompt-completion form unless training on the prompt too."""
    from datasets import load_dataset

    path = HERE / "data" / f"{name}.jsonl"
    if not path.exists():
        return None
    data = load_dataset("json", data_files=str(path), split="train")
    if CONFIG["train_on_prompt"]:
        return data  # conversational language modeling: loss on every token
    return data.map(
        lambda row: {"prompt": row["messages"][:-1], "completion": row["messages"][-1:]},
        remove_columns=["messages"],
    )


def load_model():
    import torch
    import transformers
    from transformers import AutoModelForCausalLM

    major, minor = (int(p) for p in transformers.__version__.split(".")[:2])
    dtype_key = "dtype" if (major, minor) >= (4, 56) else "torch_dtype"
    kwargs = {dtype_key: torch.bfloat16 if CONFIG["bf16"] else torch.float32}
    if CONFIG["method"] == "qlora":
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16,
        )
    model = AutoModelForCausalLM.from_pretrained(CONFIG["model"], **kwargs)
    if CONFIG["method"] == "qlora":
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=CONFIG["gradient_checkpointing"]
        )
    return model


def main():
    from transformers import AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    tokenizer = AutoTokenizer.from_pretrained(CONFIG["model"])
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    peft_config = None
    if CONFIG["method"] in ("lora", "qlora"):
        from peft import LoraConfig

        peft_config = LoraConfig(
            r=CONFIG["lora_r"],
            lora_alpha=CONFIG["lora_alpha"],
            lora_dropout=CONFIG["lora_dropout"],
            target_modules=list(CONFIG["target_modules"]),
            task_type="CAUSAL_LM",
        )
    train, evaluation = load_split("train"), load_split("eval")
    args = SFTConfig(
        output_dir=str(HERE / CONFIG["output_dir"]),
        num_train_epochs=CONFIG["epochs"],
        per_device_train_batch_size=CONFIG["micro_batch_size"],
        gradient_accumulation_steps=CONFIG["gradient_accumulation_steps"],
        learning_rate=CONFIG["learning_rate"],
        lr_scheduler_type="cosine",
        warmup_ratio=CONFIG["warmup_ratio"],
        max_length=CONFIG["seq_len"],
        bf16=CONFIG["bf16"],
        gradient_checkpointing=CONFIG["gradient_checkpointing"],
        logging_steps=10,
        save_strategy="epoch",
        eval_strategy="epoch" if evaluation is not None else "no",
        seed=CONFIG["seed"],
        report_to="none",
    )
    trainer = SFTTrainer(
        model=load_model(),
        args=args,
        train_dataset=train,
        eval_dataset=evaluation,
        processing_class=tokenizer,
        peft_config=peft_config,
    )
    trainer.train()
    trainer.save_model(args.output_dir)  # the adapter (LoRA) or the full model


if __name__ == "__main__":
    main()
'''


def config_dict(spec: TrainingSpec) -> dict[str, object]:
    return {
        "model": spec.model,
        "method": spec.method,
        "lora_r": spec.rank,
        "lora_alpha": spec.alpha,
        "lora_dropout": spec.dropout,
        "target_modules": list(spec.target_modules),
        "learning_rate": spec.learning_rate,
        "epochs": spec.epochs,
        "micro_batch_size": spec.micro_batch_size,
        "gradient_accumulation_steps": spec.grad_accum,
        "seq_len": spec.seq_len,
        "warmup_ratio": spec.warmup_ratio,
        "bf16": spec.bf16,
        "gradient_checkpointing": spec.gradient_checkpointing,
        "train_on_prompt": spec.train_on_prompt,
        "seed": spec.seed,
        "output_dir": f"outputs/advisor-{spec.method}",
    }


def render_script(spec: TrainingSpec) -> str:
    """The script with CONFIG as a dict literal: ``repr`` quotes every user string."""
    items = "".join(f"    {k!r}: {v!r},\n" for k, v in config_dict(spec).items())
    return _CODE.replace("__CONFIG__", "{\n" + items + "}")


def write(spec: TrainingSpec, data: TrainingData, folder: Path) -> list[Path]:
    script = folder / SCRIPT
    atomic_write_text(script, render_script(spec))
    paths = [
        script,
        write_messages_jsonl(folder / "data" / "train.jsonl", data.train, spec.system_prompt),
    ]
    if data.eval:
        paths.append(
            write_messages_jsonl(folder / "data" / "eval.jsonl", data.eval, spec.system_prompt)
        )
    return paths


RUN = "pip install 'trl>=0.20' peft datasets accelerate && accelerate launch train_trl.py"
