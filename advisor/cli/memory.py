"""``advisor memory``: parameters and GB needed to finetune or serve a model.

Why a command: "will it fit on our GPU?" is the first practical question about finetuning,
and it can be answered from a config.json (or a few dimensions) in milliseconds, before
anyone downloads weights. Figures are in GB = 1e9 bytes; see ``advisor.memory``.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
from typing import Any

from advisor.errors import AdvisorError

_DIM_OPTIONS = ("layers", "hidden", "heads", "kv_heads", "vocab")


def _calculator_defaults() -> dict[str, Any]:
    """The flags' defaults are the calculator's own, so `advisor memory` and a Python call
    of ``estimate_memory`` give the same figures for the same model."""
    from advisor.memory.gpu import estimate_memory

    return {n: p.default for n, p in inspect.signature(estimate_memory).parameters.items()}


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "memory",
        help="parameters and memory (GB) to finetune or serve a model",
        description="Parameters and memory (GB = 1e9 bytes) for full finetuning, LoRA or "
        "QLoRA, from a Hugging Face config.json, a model folder or a size with dimensions.",
    )
    model = p.add_argument_group("model (give --config, or --params-b with dimensions)")
    model.add_argument("--config", help="a config.json file or a local model folder")
    model.add_argument("--params-b", help="parameters in billions, e.g. 7 (alone: Llama-style)")
    model.add_argument("--layers", help="transformer blocks")
    model.add_argument("--hidden", help="hidden size")
    model.add_argument("--heads", help="attention (query) heads")
    model.add_argument("--kv-heads", help="key/value heads (grouped-query attention)")
    model.add_argument("--vocab", help="vocabulary size")
    model.add_argument("--intermediate", help="MLP width (default: Llama's 8/3 x hidden)")
    d = _calculator_defaults()
    p.add_argument(
        "--method", default=d["method"], help=f"full, lora or qlora (default {d['method']})"
    )
    p.add_argument(
        "--dtype",
        default=d["dtype"],
        help=f"fp32, tf32, fp16, bf16, int8, fp8, int4, nf4 (default {d['dtype']})",
    )
    p.add_argument(
        "--optimizer",
        default=d["optimizer"],
        help=f"sgd, momentum, adam, adamw (default {d['optimizer']})",
    )
    p.add_argument(
        "--optimizer-convention",
        default=d["optimizer_convention"],
        help="dtype: gradients and states in the training dtype (the chapter's); mixed: fp32 "
        "master copy and fp32 states (~16 bytes per trainable param with Adam) "
        f"(default {d['optimizer_convention']})",
    )
    p.add_argument(
        "--batch-size",
        default=str(d["batch_size"]),
        help=f"sequences per step (default {d['batch_size']})",
    )
    p.add_argument(
        "--seq-len", default=str(d["seq_len"]), help=f"tokens per sequence (default {d['seq_len']})"
    )
    p.add_argument(
        "--rank",
        "--lora-rank",
        dest="rank",
        default=str(d["lora_rank"]),
        help=f"LoRA rank (default {d['lora_rank']})",
    )
    p.add_argument(
        "--target-modules",
        help="comma-separated layer names, or all-linear (default: the q and v projections)",
    )
    p.add_argument("--gradient-checkpointing", action="store_true")
    p.add_argument("--gpu-memory-gb", help="GPU memory; the output then says whether it fits")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def _number(name: str, value: str | None, kind: type = int, minimum: float = 1) -> Any:
    """Parse an option ourselves so a bad value is a one-line AdvisorError."""
    if value is None:
        return None
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise AdvisorError(f"--{name} must be a number (not {value!r})") from None
    if not math.isfinite(number) or number < minimum:
        bound = "positive" if minimum > 0 else f">= {minimum:g}"
        raise AdvisorError(f"--{name} must be {bound} (not {value!r})")
    return number


def _shape(args: argparse.Namespace):
    from advisor.memory import shape_from_config, shape_from_dims, shape_from_params_b

    dims = {k: _number(k.replace("_", "-"), getattr(args, k)) for k in _DIM_OPTIONS}
    intermediate = _number("intermediate", args.intermediate)
    params_b = _number("params-b", args.params_b, float, minimum=1e-9)
    given = sorted(k for k, v in dims.items() if v is not None)
    if args.config:
        if params_b is not None or given or intermediate is not None:
            raise AdvisorError("give either --config or --params-b with dimensions, not both")
        return shape_from_config(args.config)
    if params_b is None and not given:
        raise AdvisorError(
            "no model given: use --config PATH (config.json or model folder) or --params-b "
            "with --layers --hidden --heads --kv-heads --vocab"
        )
    if not given and intermediate is None:
        return shape_from_params_b(params_b)
    missing = [f"--{k.replace('_', '-')}" for k in _DIM_OPTIONS if dims[k] is None]
    if missing:
        raise AdvisorError(f"missing {', '.join(missing)} (needed with the other dimensions)")
    return shape_from_dims(
        params_b,
        layers=dims["layers"],
        hidden=dims["hidden"],
        heads=dims["heads"],
        kv_heads=dims["kv_heads"],
        vocab=dims["vocab"],
        intermediate=intermediate,
    )


def build_report(args: argparse.Namespace) -> dict[str, Any]:
    """The JSON object ``--json`` prints: the estimate, the model and, given a GPU, the fit."""
    from advisor.memory import SAFETY_MARGIN, estimate_memory

    shape = _shape(args)
    targets = args.target_modules
    estimate = estimate_memory(
        shape,
        method=args.method,
        dtype=args.dtype,
        optimizer=args.optimizer,
        batch_size=_number("batch-size", args.batch_size),
        seq_len=_number("seq-len", args.seq_len),
        lora_rank=_number("rank", args.rank),
        target_modules=targets.split(",") if targets else None,
        gradient_checkpointing=args.gradient_checkpointing,
        optimizer_convention=args.optimizer_convention,
    )
    out = estimate.to_dict()
    out["model"] = {
        "model_type": shape.model_type,
        "source": shape.source,
        "layers": shape.num_layers,
        "hidden_size": shape.hidden_size,
        "heads": shape.num_heads,
        "kv_heads": shape.num_kv_heads,
        "head_dim": shape.head_dim,
        "intermediate_size": shape.intermediate_size,
        "vocab_size": shape.vocab_size,
        "tie_word_embeddings": shape.tie_word_embeddings,
    }
    gpu = _number("gpu-memory-gb", args.gpu_memory_gb, float, minimum=0)
    if gpu is not None:
        out["gpu_memory_gb"] = gpu
        out["safety_margin"] = SAFETY_MARGIN
        out["fits"] = estimate.fits(gpu)
        out["fits_inference"] = gpu > 0 and estimate.inference_gb * (1 + SAFETY_MARGIN) <= gpu
    return out


def format_text(report: dict[str, Any]) -> str:
    """A short table for people; ``--json`` is for scripts."""
    m = report["model"]
    total, trainable = report["total_params"], report["trainable_params"]
    what = report["method"]
    if report["lora_rank"] is not None:
        what += f", rank {report['lora_rank']} on {','.join(report['target_modules'])}"
    lines = [
        f"Model: {m['model_type']}, {total / 1e9:.2f}B parameters ({m['layers']} layers, "
        f"hidden {m['hidden_size']}, {m['heads']} heads / {m['kv_heads']} KV heads, "
        f"vocab {m['vocab_size']})  [{m['source']}]",
        f"Method: {what}; {report['dtype']}, {report['optimizer']}; batch "
        f"{report['batch_size']} x {report['seq_len']} tokens"
        + ("; gradient checkpointing" if report["gradient_checkpointing"] else ""),
        f"Trainable parameters: {trainable:,} ({100 * trainable / total:.3g}% of {total:,})",
        "",
        f"{'':24}{report['unit']:>16}",
    ]
    rows = [
        ("weights", "weights_gb"),
        ("gradients", "gradients_gb"),
        ("optimizer states", "optimizer_gb"),
        ("activations", "activations_gb"),
        ("total for training", "total_train_gb"),
        ("inference (weights x1.2)", "inference_gb"),
        ("KV cache (batch x seq)", "kv_cache_gb"),
    ]
    lines += [f"{label:<24}{report[key]:>16.3f}" for label, key in rows]
    if "fits" in report:
        gpu = report["gpu_memory_gb"]
        margin = f"{report['safety_margin']:.0%}"
        if gpu == 0:
            lines += ["", "GPU: none (0 GB): training needs an accelerator for a model this size."]
        else:
            verdict = "fits" if report["fits"] else "does NOT fit"
            serve = "fits" if report["fits_inference"] else "does NOT fit"
            lines += [
                "",
                f"GPU {gpu:g} GB ({margin} margin kept): training {verdict}; serving {serve}.",
            ]
    lines += ["", "Conventions:"] + [f"- {c}" for c in report["conventions"]]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    report = build_report(args)
    print(json.dumps(report, indent=2) if args.json else format_text(report))
    return 0
