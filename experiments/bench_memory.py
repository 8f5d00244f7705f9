"""Memory prediction over a grid of runs: the calculators against measured peak RSS.

Why a grid: ``bench.py`` checks one shape (SmolLM2-135M at 4 x 128 tokens); a calculator
tuned to one point proves little. Each run here is the pilot's own LoRA loop in a fresh
process (``bench_training.run_isolated``), measured twice: with glibc's default allocator
(peak RSS, what a user sees) and with freed blocks returned to the OS
(``MALLOC_MMAP_THRESHOLD_``, RSS ~ live tensors). Both are compared with
``advisor.memory.cpu.estimate_cpu_training_peak`` (total, and total less its allocator
term) and with the chapter's ``advisor.memory.estimate_memory``.

    python experiments/bench_memory.py                      # the 12-run grid, ~15 min
    python experiments/bench_memory.py --runs SmolLM2-135M-Instruct:4x128:bf16 --json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

SMOL, QWEN = "SmolLM2-135M-Instruct", "Qwen2.5-0.5B-Instruct"
GRID = [f"{SMOL}:{s}:bf16" for s in ("1x128", "2x64", "4x128", "8x128", "8x256", "2x512")]
GRID += [f"{QWEN}:{s}:bf16" for s in ("1x128", "4x128", "8x256")]
GRID += [f"{SMOL}:{s}:fp32" for s in ("1x128", "4x128", "8x256")]
STEPS = 6  # as bench.py: fragmentation settles after the first step


def parse_run(text: str) -> dict[str, Any]:
    """``MODEL:BATCHxSEQ:PRECISION`` -> a training spec for ``bench_training``."""
    try:
        model, shape, precision = text.split(":")
        batch, seq = (int(x) for x in shape.lower().split("x"))
    except ValueError:
        raise SystemExit(f"bad run {text!r}: write MODEL:BATCHxSEQ:bf16|fp32") from None
    if precision not in ("bf16", "fp32"):
        raise SystemExit(f"bad precision {precision!r} in {text!r}: bf16 or fp32")
    spec = {"model": model, "sample": "facts", "batch_size": batch, "seq_len": seq}
    spec |= {"steps": STEPS, "rank": 8, "precision": precision}
    if precision == "fp32":
        spec["dtype"] = "float32"  # fp32 weights too, as on a CPU without native bf16
    return spec


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    from bench_common import load_config
    from bench_training import (
        LIVE_MEMORY_ENV,
        chapter_memory,
        predicted_memory,
        run_isolated,
    )

    rss = run_isolated("ours", spec)
    live = run_isolated("ours", spec, LIVE_MEMORY_ENV)
    config = load_config(spec["model"])
    est = predicted_memory(spec, config, rss)
    chapter = chapter_memory(spec, config, rss["model_dtype"]).total_train_gb * 1000
    predicted = est.total_gb * 1000
    predicted_live = predicted - est.allocator_gb * 1000
    measured, measured_live = rss["rss_delta_mb"], live["rss_delta_mb"]
    return {
        "run": f"{spec['model']}:{spec['batch_size']}x{spec['seq_len']}:{spec['precision']}",
        "widest_row": rss["max_len"],
        "padded": rss["padded"],
        "measured_rss_mb": measured,
        "predicted_mb": round(predicted, 1),
        "error": round((predicted - measured) / measured, 4),
        "measured_live_mb": measured_live,
        "predicted_live_mb": round(predicted_live, 1),
        "error_vs_live": round((predicted_live - measured_live) / measured_live, 4),
        "chapter_mb": round(chapter, 1),
        "chapter_error": round((chapter - measured) / measured, 4),
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| run | widest row | peak RSS MB | predicted | error | live MB | predicted live "
        "| error | chapter | chapter error |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['run']} | {r['widest_row']}{' (padded)' if r['padded'] else ''} "
            f"| {r['measured_rss_mb']:.0f} | {r['predicted_mb']:.0f} | {r['error']:+.3f} "
            f"| {r['measured_live_mb']:.0f} | {r['predicted_live_mb']:.0f} "
            f"| {r['error_vs_live']:+.3f} | {r['chapter_mb']:.0f} | {r['chapter_error']:+.3f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default=",".join(GRID), help="MODEL:BATCHxSEQ:PRECISION,...")
    parser.add_argument("--json", action="store_true", help="last stdout line: one JSON object")
    args = parser.parse_args(argv)
    rows = []
    for text in (r.strip() for r in args.runs.split(",") if r.strip()):
        rows.append(measure(parse_run(text)))
        print(f"[bench_memory] {json.dumps(rows[-1])}", file=sys.stderr, flush=True)
    errors = [abs(r["error"]) for r in rows]
    summary = {"runs": rows, "max_abs_error": max(errors), "within_0_2": max(errors) <= 0.2}
    print(table(rows))
    if args.json:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
