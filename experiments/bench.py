"""Performance benchmark: the pilot's parts against naive peers and the machine's limit.

Run ``python experiments/bench.py --quick --json`` (a few minutes on 2 cores) or without
``--quick`` for the full run (adds Qwen2.5-0.5B). ``--tiny`` runs every section on toy
sizes in seconds; it exists for the test suite and proves nothing about speed.

Each ratio is taken side by side in one run, on models with the exact configuration of
real small models (``configs/*.json``) and random weights. Progress goes to stderr; with
``--json`` the last stdout line is one JSON object (flat headline keys + ``details``).
See experiments/README.md for what each figure compares and the measured table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench_* helpers
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # advisor, from a checkout
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SECTIONS = ("peak", "generation", "training", "retrieval", "pilot")

# name -> (target, comparison) for the goals of issue 7
GOALS = {
    "generation_speedup": (3.0, ">="),
    "lora_vs_trainer": (1.0, ">="),
    "lora_vs_trainer_rag": (1.3, ">="),  # issue 13: RAG-length prompts
    "lora_mfu": (0.3, ">="),
    "abs_memory_prediction_error": (0.2, "<="),
    "smoke_pilot_seconds": (180.0, "<"),
}

MODES: dict[str, dict[str, Any]] = {
    "tiny": {
        "peak_n": 256,
        "peak_seconds": 0.2,
        "gen_models": ["tiny"],
        "gen_new_tokens": 4,
        "gen_repeats": 1,
        "train_models": ["tiny"],
        "train": {"batch_size": 2, "seq_len": 64, "steps": 3, "rank": 4},
        "train_rag": {"batch_size": 2, "seq_len": 96, "steps": 3, "rank": 4},
        "train_repeats": 1,
        "isolated": False,
        "embedder": "hashing",
        "retrieval_seconds": 0.05,
        "pilot_sample": "tiny",
        "pilot_arms": ("zero_shot", "bm25_rag", "nearest_neighbor"),
        "pilot_max_test": 4,
    },
    "quick": {
        "peak_n": 2048,
        "peak_seconds": 3.0,
        "gen_models": ["SmolLM2-135M-Instruct"],
        "gen_new_tokens": 32,
        "gen_repeats": 2,
        "train_models": ["SmolLM2-135M-Instruct"],
        "train": {"batch_size": 4, "seq_len": 128, "steps": 6, "rank": 8},
        # three retrieved passages and a question: lora_rag's untrimmed prompts (issue 13)
        "train_rag": {"batch_size": 8, "seq_len": 448, "steps": 4, "rank": 8},
        "train_repeats": 2,
        "isolated": True,
        "embedder": None,
        "retrieval_seconds": 1.0,
        "pilot_sample": "facts",
        "pilot_arms": (),
        "pilot_max_test": None,
    },
    "full": {
        "peak_n": 4096,
        "peak_seconds": 6.0,
        "gen_models": ["SmolLM2-135M-Instruct", "Qwen2.5-0.5B-Instruct"],
        "gen_new_tokens": 64,
        "gen_repeats": 2,
        "train_models": ["SmolLM2-135M-Instruct", "Qwen2.5-0.5B-Instruct"],
        "train": {"batch_size": 8, "seq_len": 256, "steps": 6, "rank": 8},
        "train_rag": {"batch_size": 8, "seq_len": 448, "steps": 4, "rank": 8},
        "train_repeats": 2,
        "isolated": True,
        "embedder": None,
        "retrieval_seconds": 3.0,
        "pilot_sample": "facts",
        "pilot_arms": (),
        "pilot_max_test": None,
    },
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(
    mode: str, sections: tuple[str, ...], sample: str, precision: str | None, quiet_s: float = 0.0
) -> dict:
    from bench_common import (
        Contention,
        bench_tokenizer,
        bf16_matmul_supported,
        machine,
        matmul_peak,
        wait_quiet,
    )

    from advisor.runtime import configure_threads

    configure_threads()
    m = MODES[mode]
    details: dict[str, Any] = {"mode": mode, "machine": machine(), "conditions": {}}
    flat: dict[str, Any] = {}
    t_start = time.perf_counter()

    @contextmanager
    def section(name: str, what: str):
        """Wait for a quiet CPU if asked, then record how contended it was throughout."""
        conditions = wait_quiet(quiet_s)
        log(what)
        with Contention() as probe:
            yield
        conditions["cpu_contention"] = probe.share  # share of time something waited
        details["conditions"][name] = conditions

    peaks = {"float32": float("nan"), "bfloat16": float("nan")}
    if "peak" in sections or "training" in sections:
        with section("peak", "matmul peak (fp32, bf16)"):
            peaks["float32"] = matmul_peak("float32", m["peak_n"], m["peak_seconds"])
            if bf16_matmul_supported() or mode == "tiny":
                peaks["bfloat16"] = matmul_peak("bfloat16", m["peak_n"], m["peak_seconds"])
        flat["matmul_peak_gflops_fp32"] = round(peaks["float32"] / 1e9, 1)
        flat["matmul_peak_gflops_bf16"] = round(peaks["bfloat16"] / 1e9, 1)

    tokenizer = bench_tokenizer(sample) if {"generation", "training"} & set(sections) else None
    if "generation" in sections:
        from bench_generation import generation_bench

        details["generation"] = []
        for name in m["gen_models"]:
            with section(f"generation:{name}", f"generation: {name}, batch 16 vs one by one"):
                details["generation"].append(
                    generation_bench(
                        name,
                        tokenizer,
                        sample,
                        new_tokens=m["gen_new_tokens"],
                        repeats=m["gen_repeats"],
                    )
                )
        g = details["generation"][0]
        flat["generation_tokens_per_s_batched"] = g["batched_tokens_per_s"]
        flat["generation_tokens_per_s_per_example"] = g["per_example_tokens_per_s"]
        flat["generation_speedup"] = g["speedup"]

    if "training" in sections:
        from bench_training import training_bench

        details["training"] = []
        for name in m["train_models"]:
            spec = {"model": name, "sample": sample, **m["train"]}
            if precision:
                spec["precision"] = precision
            with section(f"training:{name}", f"training: {name}, ours vs Trainer+peft"):
                details["training"].append(
                    training_bench(spec, peaks, isolated=m["isolated"], repeats=m["train_repeats"])
                )
        t = details["training"][0]
        flat["lora_tokens_per_s"] = t["ours_tokens_per_s"]
        flat["trainer_tokens_per_s"] = t["trainer_tokens_per_s"]
        flat["lora_vs_trainer"] = t["lora_vs_trainer"]
        flat["lora_vs_trainer_steady"] = t["lora_vs_trainer_steady"]
        flat["lora_mfu"] = t["mfu"]
        flat["lora_mfu_end_to_end"] = t["mfu_end_to_end"]
        flat["memory_predicted_mb"] = t["memory"]["predicted_total_train_mb"]
        flat["memory_measured_mb"] = t["memory"]["measured_rss_delta_mb"]
        flat["memory_prediction_error"] = t["memory"]["error"]
        flat["memory_chapter_error"] = t["memory"]["chapter_error"]
        flat["memory_prediction_error_vs_live"] = t["memory"]["error_vs_live"]
        name = m["train_models"][0]
        spec = {"model": name, "sample": sample, **m["train_rag"]}
        if precision:
            spec["precision"] = precision
        with section(f"training_rag:{name}", f"training: {name}, RAG-length prompts"):
            rag = training_bench(spec, peaks, isolated=m["isolated"], repeats=m["train_repeats"])
        details["training_rag"] = rag
        flat["lora_tokens_per_s_rag"] = rag["ours_tokens_per_s"]
        flat["trainer_tokens_per_s_rag"] = rag["trainer_tokens_per_s"]
        flat["lora_vs_trainer_rag"] = rag["lora_vs_trainer"]
        flat["lora_mfu_rag"] = rag["mfu"]

    if "retrieval" in sections:
        from bench_retrieval import retrieval_bench

        with section("retrieval", "retrieval and embedding"):
            r = retrieval_bench(sample, m["embedder"], m["retrieval_seconds"])
        details["retrieval"] = r
        flat["embed_sentences_per_s"] = r["embed_sentences_per_s"]
        flat["bm25_queries_per_s"] = r["bm25_queries_per_s"]
        flat["faiss_queries_per_s"] = r["faiss_queries_per_s"]
        flat["embedding_cache_hit_rate"] = r["cache_hit_rate"]

    if "pilot" in sections:
        from bench_retrieval import pilot_bench, pilot_isolated

        run_pilot_bench = pilot_isolated if m["isolated"] else pilot_bench
        with section("pilot", f"smoke pilot on sample {m['pilot_sample']!r}"):
            p = run_pilot_bench(
                m["pilot_sample"], m["embedder"], m["pilot_arms"], m["pilot_max_test"]
            )
        details["pilot"] = p
        flat["smoke_pilot_seconds"] = p["seconds"]
        flat["smoke_pilot_all_ok"] = p["all_ok"]

    details["machine"]["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    flat["max_cpu_contention"] = max(
        (c["cpu_contention"] or 0.0 for c in details["conditions"].values()), default=None
    )
    flat["bench_seconds"] = round(time.perf_counter() - t_start, 1)
    flat["goals"] = goals(flat)
    return {**flat, "details": details}


def goals(flat: dict[str, Any]) -> dict[str, Any]:
    values = dict(flat)
    if "memory_prediction_error" in flat:
        values["abs_memory_prediction_error"] = abs(flat["memory_prediction_error"])
    out = {}
    for key, (target, op) in GOALS.items():
        if key not in values:
            continue
        v = values[key]
        met = v >= target if op == ">=" else (v <= target if op == "<=" else v < target)
        out[key] = {"value": v, "target": f"{op} {target:g}", "met": bool(met)}
    return out


def table(result: dict[str, Any]) -> str:
    rows = [(k, v) for k, v in result.items() if k not in ("details", "goals")]
    width = max(len(k) for k, _ in rows)
    lines = [f"{k.ljust(width)}  {v}" for k, v in rows]
    for key, g in result.get("goals", {}).items():
        lines.append(
            f"goal {key}: {g['value']} (target {g['target']}) {'MET' if g['met'] else 'NOT MET'}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="SmolLM2-135M only; a few minutes")
    size.add_argument("--tiny", action="store_true", help="toy sizes, seconds (tests only)")
    parser.add_argument("--json", action="store_true", help="last stdout line: one JSON object")
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections (default all: {','.join(SECTIONS)})",
    )
    parser.add_argument(
        "--sample",
        default=None,
        help="bundled sample for prompts and training data (default facts)",
    )
    parser.add_argument(
        "--precision",
        choices=("fp32", "bf16", "auto"),
        default=None,
        help="LoRA precision for both trainers (default: LoraSettings')",
    )
    parser.add_argument("--out", default=None, help="also write the JSON result to this file")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each section wait up to SECONDS for a quiet CPU "
        "(shared machines); the pressure seen is recorded either way",
    )
    args = parser.parse_args(argv)
    mode = "tiny" if args.tiny else "quick" if args.quick else "full"
    sections = tuple(s.strip() for s in args.only.split(",") if s.strip())
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {unknown}; choose from {', '.join(SECTIONS)}")
    sample = args.sample or ("tiny" if mode == "tiny" else "facts")
    result = run(mode, sections, sample, args.precision, args.wait_quiet)
    text = json.dumps(result, default=str)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2, default=str) + "\n")
    if args.json:
        print(table(result), file=sys.stderr)
        print(text)
    else:
        print(table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
