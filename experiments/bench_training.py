"""LoRA training: the pilot's ``train_lora`` vs Hugging Face ``Trainer`` + peft, and memory.

Both trainers get the same random-weight model (same seed), the same training pairs (the
pilot's RAG-style prompts with responses; prompt tokens carry no loss in either), LoRA rank
and alpha on the same attention projections, the same dropout, batch size, sequence length
(prompts cut from the left to fit, as the pilot does), optimizer (AdamW), learning-rate
schedule, gradient clipping and number of optimizer steps. The Trainer gets its best
length handling (``train_sampling_strategy="group_by_length"``) so that padding is not
what decides the comparison.

Each trainer runs in a fresh Python process (``--worker``): the peak resident set of one
run must not be inflated or hidden by memory the other left behind in the allocator, and
the memory prediction is compared with that clean figure.

Timing is end to end, as a user waits for it: from a loaded base model to a trained
adapter (peft wrapping, tokenization, optimizer setup and every step). Tokens are the real
(non-padding) tokens of the batches processed.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from bench_common import (
    ATTENTION,
    bench_tokenizer,
    build_model,
    load_config,
    match_special_ids,
    param_count,
    rag_prompts,
    rss_mb,
)


def _settings(spec: dict[str, Any]) -> Any:
    from advisor.finetune.lora import LoraSettings

    return LoraSettings(
        rank=spec["rank"],
        precision=spec.get("precision") or "auto",
        alpha=2 * spec["rank"],
        target_modules=ATTENTION,
        batch_size=spec["batch_size"],
        max_seq_len=spec["seq_len"],
        max_steps=spec["steps"],
        epochs=1,
    )


def _pairs(generator: Any, spec: dict[str, Any]) -> list[Any]:
    from advisor.finetune.lora import TrainPair

    n = spec["batch_size"] * spec["steps"]  # exactly one epoch of `steps` batches
    return [TrainPair(p, r) for p, r in rag_prompts(generator, spec["sample"], n, offset=16)]


def _run_ours(model: Any, tokenizer: Any, pairs: list[Any], spec: dict[str, Any], stamps):
    from advisor.finetune.lora import train_lora

    def progress(step: int, total: int, info: dict[str, float]) -> None:
        stamps.append(time.perf_counter())

    peft_model, result = train_lora(model, tokenizer, pairs, [], _settings(spec), progress=progress)
    return result.tokens, result.steps, result.final_loss, result.trainable_params


def _run_trainer(model: Any, tokenizer: Any, pairs: list[Any], spec: dict[str, Any], stamps):
    from peft import LoraConfig, get_peft_model
    from transformers import DataCollatorForSeq2Seq, Trainer, TrainerCallback, TrainingArguments

    class Stamp(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            stamps.append(time.perf_counter())

    from advisor.finetune.lora import _encode  # the very token ids our loop trains on

    settings = _settings(spec)
    rows = []
    for pair in pairs:
        ids, weights = _encode(tokenizer, pair, settings)
        labels = [t if w > 0 else -100 for t, w in zip(ids, weights, strict=True)]
        rows.append({"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels})
    peft_model = get_peft_model(
        model,
        LoraConfig(
            r=settings.rank,
            lora_alpha=settings.alpha,
            lora_dropout=settings.dropout,
            target_modules=list(ATTENTION),
            bias="none",
            task_type="CAUSAL_LM",
        ),
    )
    pad = DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100)
    seen = {"tokens": 0}

    def collate(features):
        batch = pad(features)
        seen["tokens"] += int(batch["attention_mask"].sum())
        return batch

    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=out,
            per_device_train_batch_size=settings.batch_size,
            max_steps=settings.max_steps,
            learning_rate=settings.learning_rate,
            lr_scheduler_type="linear",
            warmup_steps=max(1, int(settings.max_steps * settings.warmup_ratio)),
            weight_decay=settings.weight_decay,
            max_grad_norm=1.0,
            optim="adamw_torch",
            logging_strategy="no",
            save_strategy="no",
            report_to="none",
            use_cpu=True,
            bf16=spec.get("precision") == "bf16",
            disable_tqdm=True,
            dataloader_pin_memory=False,
            train_sampling_strategy="group_by_length",
            remove_unused_columns=False,
            seed=0,
        )
        trainer = Trainer(
            model=peft_model,
            args=args,
            train_dataset=rows,
            data_collator=collate,
            callbacks=[Stamp()],
        )
        with contextlib.redirect_stdout(sys.stderr):  # it prints a metrics dict; stdout is ours
            output = trainer.train()
    trainable = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    return seen["tokens"], output.global_step, float(output.training_loss), trainable


def run_worker(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    """One training run; RSS is measured from before the model exists to the run's peak."""
    from advisor.runtime import configure_threads

    configure_threads()
    import peft  # noqa: F401 - every heavy import happens before the RSS baseline
    import torch
    import transformers  # noqa: F401
    from transformers import Trainer  # noqa: F401

    from advisor.models.hf import HFGenerator
    from advisor.resources import PeakMemory

    warnings.filterwarnings("ignore")
    tokenizer = bench_tokenizer(spec["sample"])
    config = load_config(spec["model"], vocab_size=len(tokenizer))
    rss0 = rss_mb()
    model = build_model(config, seed=0, dtype=spec.get("dtype"))
    match_special_ids(model, tokenizer)
    generator = HFGenerator(model, tokenizer, spec["model"])
    pairs = _pairs(generator, spec)
    with torch.inference_mode():  # warm the forward kernels; both trainers get the same
        model(input_ids=torch.ones((1, 16), dtype=torch.long))
    rss_model = rss_mb()
    from advisor.finetune.batches import _encode

    encoded = [_encode(tokenizer, pair, _settings(spec)) for pair in pairs]
    lengths = [len(ids) for ids, _ in encoded]
    run = _run_ours if kind == "ours" else _run_trainer
    stamps: list[float] = []
    with PeakMemory(interval_s=0.005) as pm:
        t0 = time.perf_counter()
        tokens, steps, loss, trainable = run(model, tokenizer, pairs, spec, stamps)
        seconds = time.perf_counter() - t0
    # steady state: steps after the first (kernel set-up, peft wrapping, tokenization are
    # in the first interval); exact when every example fills seq_len, as the bench's do
    per_step = spec["batch_size"] * spec["seq_len"]
    steady = None
    if tokens == steps * per_step and len(stamps) >= 3:
        steady = round((len(stamps) - 1) * per_step / (stamps[-1] - stamps[0]), 2)
    return {
        "kind": kind,
        "model_dtype": str(model.dtype).removeprefix("torch."),
        "tokens": tokens,
        "steps": steps,
        "seconds": round(seconds, 3),
        "tokens_per_s": round(tokens / seconds, 2),
        "steady_tokens_per_s": steady,
        "final_loss": round(loss, 4),
        "trainable_params": int(trainable),
        "rss_before_model_mb": round(rss0, 1),
        "rss_model_loaded_mb": round(rss_model, 1),
        "rss_peak_mb": round(pm.peak_mb, 1),
        "rss_delta_mb": round(pm.peak_mb - rss0, 1),
        # what sets the peak: the widest row, the positions that get logits, padding
        "max_len": max(lengths),
        "max_loss_positions": max(sum(1 for x in w if x > 0) for _, w in encoded) + 1,
        "padded": len(set(lengths)) > 1,
    }


# glibc keeps freed heap memory for reuse, so peak RSS = live tensors + what the allocator
# retained. Forcing large blocks to mmap (returned to the OS on free) makes RSS track the
# live tensors: twice as slow, so only used for the memory diagnostic, never for timing.
LIVE_MEMORY_ENV = {"MALLOC_MMAP_THRESHOLD_": "131072"}


def run_isolated(kind: str, spec: dict[str, Any], env: dict[str, str] | None = None):
    """``run_worker`` in a fresh interpreter; its last stdout line is the JSON result."""
    import os

    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, json.dumps(spec)]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, check=False, env={**os.environ, **(env or {})}
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} training worker failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def predicted_memory(spec: dict[str, Any], config: Any, run: dict[str, Any]) -> Any:
    """The calculator's peak for this run (``advisor.memory.cpu``): weights in the dtype
    the model was loaded in, the precision the loop trained in, its widest batch, the
    positions that got logits, padding as it was."""
    from advisor.memory import shape_from_config
    from advisor.memory.cpu import estimate_cpu_training_peak

    return estimate_cpu_training_peak(
        shape_from_config(config.to_dict()),
        batch_size=spec["batch_size"],
        seq_len=run["max_len"],
        weight_dtype="bf16" if run["model_dtype"] == "bfloat16" else "fp32",
        compute=spec["precision"],
        lora_rank=spec["rank"],
        target_modules=list(ATTENTION),
        logit_positions=run["max_loss_positions"],
        gradient_checkpointing=bool(spec.get("gradient_checkpointing")),
        padded=run["padded"],
    )


def chapter_memory(spec: dict[str, Any], config: Any, dtype: str) -> Any:
    """The chapter's figure (``estimate_memory``) for the same run, for comparison: weights
    and AdamW states in the model's dtype, Korthikanti activations, full fp32 logits."""
    from advisor.memory import estimate_memory, shape_from_config

    return estimate_memory(
        shape_from_config(config.to_dict()),
        method="lora",
        dtype="bf16" if dtype == "bfloat16" else "fp32",
        optimizer="adamw",
        batch_size=spec["batch_size"],
        seq_len=spec["seq_len"],
        lora_rank=spec["rank"],
        target_modules=list(ATTENTION),
        gradient_checkpointing=False,
        optimizer_convention="dtype",
    )


def _best(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key)]
    return max(values) if values else None


def training_bench(
    spec: dict[str, Any], peaks: dict[str, float], isolated: bool = True, repeats: int = 1
) -> dict[str, Any]:
    """Ours vs Trainer (alternating, best of ``repeats``: a busy machine only ever slows a
    run down), MFU against the measured matmul peak, and the memory prediction."""
    from advisor.finetune.lora import resolve_precision

    # both trainers at the precision ours would pick here ("auto": bf16 on native-bf16 CPUs)
    spec = {**spec, "precision": resolve_precision(spec.get("precision") or "auto")}
    run = run_isolated if isolated else run_worker
    ours_runs, their_runs = [], []
    for _ in range(repeats):
        ours_runs.append(run("ours", spec))
        their_runs.append(run("trainer", spec))
    live = run_isolated("ours", spec, LIVE_MEMORY_ENV) if isolated else None
    ours_tps, their_tps = _best(ours_runs, "tokens_per_s"), _best(their_runs, "tokens_per_s")
    ours_steady = _best(ours_runs, "steady_tokens_per_s")
    their_steady = _best(their_runs, "steady_tokens_per_s")

    tokenizer = bench_tokenizer(spec["sample"])
    config = load_config(spec["model"], vocab_size=len(tokenizer))
    n = param_count(spec["model"], config)
    head = config.vocab_size * config.hidden_size  # output-head matmul parameters
    flops_per_token = 4 * n  # forward 2N + backward through activations 2N (frozen base)
    if spec.get("gradient_checkpointing"):
        flops_per_token += 2 * n  # the forward is recomputed during backward
    peak_key = "bfloat16" if spec["precision"] == "bf16" else "float32"
    mfu_tps = ours_steady or ours_tps  # MFU is a steady-state figure; e2e reported beside it
    dtype = ours_runs[0]["model_dtype"]
    estimate = predicted_memory(spec, config, ours_runs[0])
    predicted_mb = estimate.total_gb * 1000
    chapter_mb = chapter_memory(spec, config, dtype).total_train_gb * 1000
    measured_mb = ours_runs[0]["rss_delta_mb"]  # deterministic to a few MB; the first run
    return {
        "model": spec["model"],
        "params": n,
        "spec": spec,
        "repeats": repeats,
        "ours": ours_runs,
        "trainer": their_runs,
        "ours_tokens_per_s": ours_tps,
        "trainer_tokens_per_s": their_tps,
        "lora_vs_trainer": round(ours_tps / their_tps, 3),
        "ours_steady_tokens_per_s": ours_steady,
        "trainer_steady_tokens_per_s": their_steady,
        "lora_vs_trainer_steady": (
            round(ours_steady / their_steady, 3) if ours_steady and their_steady else None
        ),
        "flops_per_token": flops_per_token,
        "achieved_flops": round(mfu_tps * flops_per_token, 1),
        "mfu_peak_dtype": peak_key,
        "mfu": round(mfu_tps * flops_per_token / peaks[peak_key], 4),
        "mfu_end_to_end": round(ours_tps * flops_per_token / peaks[peak_key], 4),
        "mfu_vs_fp32_peak": round(mfu_tps * flops_per_token / peaks["float32"], 4),
        "head_params": head,
        # ours runs the output head on response positions only; this lower bound credits
        # no head FLOPs at all
        "mfu_without_head": round(mfu_tps * (flops_per_token - 4 * head) / peaks[peak_key], 4),
        "memory": {
            "predicted_total_train_mb": round(predicted_mb, 1),
            "predicted_parts_mb": {
                k: round(getattr(estimate, f"{k}_gb") * 1000, 1)
                for k in ("weights", "adapters", "activations", "logits", "allocator", "setup")
            },
            "predicted_for": {
                "batch_size": estimate.batch_size,
                "seq_len": estimate.seq_len,
                "logit_positions": estimate.logit_positions,
                "padded": ours_runs[0]["padded"],
                "weight_dtype": estimate.weight_dtype,
                "compute": estimate.compute,
            },
            "dtype_convention": dtype,
            "measured_rss_delta_mb": measured_mb,
            "measured_rss_model_mb": round(
                ours_runs[0]["rss_model_loaded_mb"] - ours_runs[0]["rss_before_model_mb"], 1
            ),
            "error": round((predicted_mb - measured_mb) / measured_mb, 4),
            # the chapter's bill (advisor.memory.estimate_memory) against the same run
            "chapter_total_train_mb": round(chapter_mb, 1),
            "chapter_error": round((chapter_mb - measured_mb) / measured_mb, 4),
            # the same run with the allocator returning freed blocks: RSS ~ live tensors,
            # against the prediction without its allocator term
            "measured_live_delta_mb": live["rss_delta_mb"] if live else None,
            "error_vs_live": (
                round(
                    (predicted_mb - estimate.allocator_gb * 1000 - live["rss_delta_mb"])
                    / live["rss_delta_mb"],
                    4,
                )
                if live
                else None
            ),
        },
    }


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        print(json.dumps(run_worker(sys.argv[2], json.loads(sys.argv[3]))))
    else:
        raise SystemExit("usage: bench_training.py --worker ours|trainer SPEC_JSON")
