"""A LoRA training step on a shared machine: does the thread pool collapse under contention?

Why: on a 2-core machine a pilot started from the app ran many times slower than from the
CLI while another process (the Streamlit server's file watcher) kept one core busy. OpenMP
threads that spin-wait at every barrier starve when a core is taken: a step that needs both
threads waits for the one that is not scheduled. Two fixes are possible, and this measures
which is better, with and without a CPU-bound neighbour:

- ``active``: the default (torch's OpenMP pool with as many threads as cores, spinning);
- ``passive``: ``OMP_WAIT_POLICY=PASSIVE`` (threads sleep at barriers instead of spinning;
  it must be set before torch is imported, so every setting runs in a fresh process);
- ``free``: as many threads as cores minus busy ones (here one thread beside one hog).

Each setting trains LoRA on the real default model (SmolLM2-135M-Instruct, from the model
cache; ``--tiny`` for the built-in model) for a few warm-up and then timed optimizer steps
on the tiny sample's pairs, and reports the median milliseconds per step.

    python experiments/bench_contention.py            # all settings, idle and contended
    python experiments/bench_contention.py --tiny     # seconds, for a quick check
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {
    "active": {"threads": None, "env": {}},
    "passive": {"threads": None, "env": {"OMP_WAIT_POLICY": "PASSIVE"}},
    "free": {"threads": 1, "env": {}},
}
HOG = "while True: pass"  # one busy core, like the watcher's loop


def _worker(args: argparse.Namespace) -> None:
    """In a fresh process: train LoRA for warm-up + timed steps, print ms per step as JSON."""
    from advisor.runtime import configure_threads

    configure_threads(args.threads)
    import torch

    from advisor.data.samples import get_sample
    from advisor.finetune.lora import LoraSettings, TrainPair, train_lora
    from advisor.models.hf import BUILTIN_MODEL, DEFAULT_MODEL, load_generator

    rows = [json.loads(line) for line in get_sample("tiny").data.read_text().splitlines()]
    texts = [t for r in rows for t in (r["input"], r["output"])]
    gen = load_generator(BUILTIN_MODEL if args.tiny else DEFAULT_MODEL, data_texts=texts)
    pairs = [TrainPair(gen.format_prompt("Answer briefly.", r["input"]), r["output"]) for r in rows]
    steps = args.warmup + args.steps
    stamps: list[float] = []
    settings = LoraSettings(
        rank=8, batch_size=8, max_steps=steps, epochs=100, max_seq_len=128, seed=0
    )
    train_lora(
        gen.model,
        gen.tokenizer,
        pairs,
        [],
        settings,
        progress=lambda *a: stamps.append(time.perf_counter()),
    )
    times = [b - a for a, b in zip(stamps, stamps[1:], strict=False)][args.warmup - 1 :]
    print(
        json.dumps(
            {
                "ms_per_step": 1000 * statistics.median(times),
                "threads": torch.get_num_threads(),
                "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
                "steps": len(times),
            }
        )
    )


def _run(setting: str, contended: bool, args: argparse.Namespace) -> dict:
    spec = SETTINGS[setting]
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    env.update(spec["env"], PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", ADVISOR_OFFLINE="1")
    cmd = [sys.executable, __file__, "--worker", "--steps", str(args.steps)]
    cmd += ["--warmup", str(args.warmup)] + (["--tiny"] if args.tiny else [])
    if spec["threads"]:
        cmd += ["--threads", str(spec["threads"])]
    hog = subprocess.Popen([sys.executable, "-c", HOG]) if contended else None
    try:
        start = time.perf_counter()
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - start
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result.update(setting=setting, contended=contended, wall_s=round(wall, 1))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--tiny", action="store_true", help="the built-in model (seconds)")
    parser.add_argument("--steps", type=int, default=8, help="timed optimizer steps")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2, help="runs per (setting, condition)")
    parser.add_argument("--only", help="comma-separated settings (default: all)")
    args = parser.parse_args()
    if args.worker:
        _worker(args)
        return
    chosen = args.only.split(",") if args.only else list(SETTINGS)
    print(f"# load before: {Path('/proc/loadavg').read_text().split()[:3]}", flush=True)
    rows = []
    for contended in (False, True):
        for setting in chosen:
            runs = [_run(setting, contended, args) for _ in range(args.repeat)]
            best = min(runs, key=lambda r: r["ms_per_step"])
            best["runs_ms"] = [round(r["ms_per_step"]) for r in runs]
            rows.append(best)
            print(json.dumps(best), flush=True)
    print(f"# load after: {Path('/proc/loadavg').read_text().split()[:3]}")
    print("\n| setting | threads | neighbour | ms per step (best of runs) | runs |")
    print("|---|---|---|---|---|")
    for r in rows:
        hog = "1 busy process" if r["contended"] else "none"
        runs = ", ".join(map(str, r["runs_ms"]))
        print(f"| {r['setting']} | {r['threads']} | {hog} | {r['ms_per_step']:.0f} | {runs} |")


if __name__ == "__main__":
    main()
