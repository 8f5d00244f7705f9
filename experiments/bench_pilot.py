"""The whole pilot, as a user runs it: wall time and peak memory per arm, and the estimate.

``python experiments/bench_pilot.py --sample facts [--budget 5m] [--json]`` runs
``advisor pilot`` on a bundled sample with the real default model in a fresh process (as
``advisor demo`` would, same task and format), then reports:
- the wall time of the whole command and the process's peak resident memory (the kernel's
  ``ru_maxrss`` of the child, so nothing the bench itself holds is counted);
- each arm's measured seconds and peak memory beside the estimate the pilot printed before
  its arms ran (``results.json`` ``timing``), and the ratio measured / estimated;
- the primary metric and exact match per arm, so a speed change can be checked for a
  quality change in the same run;
- with ``--budget``, the plan and how far the wall time landed from the budget.
The machine's load is recorded before and after: a busy machine only ever slows a run down.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def pilot_command(
    sample: str, out: Path, budget: str | None, extra: list[str], data: str | None = None
) -> list[str]:
    """``advisor pilot`` on a bundled sample, or on ``data`` (a folder holding
    examples.jsonl, and kb.jsonl and task.txt when it has them)."""
    from advisor.data.samples import Sample, get_sample

    if data:
        folder = Path(data)
        kb, task = folder / "kb.jsonl", folder / "task.txt"
        s = Sample(
            folder.name,
            "",
            folder / "examples.jsonl",
            kb if kb.is_file() else None,
            task.read_text().strip() if task.is_file() else "",
            None,
        )
    else:
        s = get_sample(sample)
    cmd = [sys.executable, "-m", "advisor", "pilot", "--data", str(s.data), "--out", str(out)]
    if s.kb:
        cmd += ["--kb", str(s.kb)]
    if s.task:
        cmd += ["--task", s.task]
    if s.format:
        cmd += ["--format", s.format]
    if budget:
        cmd += ["--budget", budget]
    return cmd + ["--quiet", *extra]


def summarize(results: dict, wall_s: float, peak_mb: float, budget_s: float | None) -> dict:
    primary = results.get("primary_metric")
    arms = {}
    for arm, block in results.get("arms", {}).items():
        metrics = block.get("metrics", {})
        timing = results.get("timing", {}).get("arms", {}).get(arm, {})
        arms[arm] = {
            "status": block.get("status"),
            "seconds": block.get("seconds"),
            "estimated_s": timing.get("estimated_s"),
            "peak_memory_mb": block.get("peak_memory_mb"),
            "estimated_peak_mb": timing.get("estimated_peak_mb"),
            "train_seconds": (block.get("train") or {}).get("seconds"),
            "train_tokens": (block.get("train") or {}).get("tokens"),
            primary: metrics.get(primary),
            "exact_match": metrics.get("exact_match"),
        }
    estimate = results.get("estimate") or {}
    out = {
        "wall_s": round(wall_s, 1),
        "peak_rss_mb": round(peak_mb, 1),
        "estimated_s": estimate.get("seconds"),
        "estimated_peak_mb": estimate.get("peak_memory_mb"),
        "estimate_calibrated": estimate.get("calibrated"),
        "wall_vs_estimate": round(wall_s / estimate["seconds"], 3)
        if estimate.get("seconds")
        else None,
        "peak_vs_estimate": round(peak_mb / estimate["peak_memory_mb"], 3)
        if estimate.get("peak_memory_mb")
        else None,
        "primary_metric": primary,
        "n_test": (results.get("data") or {}).get("n_test"),
        "model": results.get("model"),
        "smoke": results.get("smoke"),
        "arms": arms,
        "budget": results.get("budget"),
    }
    if budget_s:
        out["wall_vs_budget"] = round(wall_s / budget_s, 3)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", default="facts", help="facts, form or tiny (default facts)")
    parser.add_argument(
        "--data", help="a folder with examples.jsonl (+ kb.jsonl, task.txt) instead of a sample"
    )
    parser.add_argument("--budget", help="pass --budget to the pilot (e.g. 3m)")
    parser.add_argument("--out", help="run folder (default: a new temporary folder)")
    parser.add_argument("--json", action="store_true", help="last stdout line: one JSON object")
    parser.add_argument("extra", nargs="*", help="more `advisor pilot` flags, after --")
    args = parser.parse_args(argv)
    from advisor.pilot.budget import parse_budget

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="bench-pilot-")) / "run"
    cmd = pilot_command(args.sample, out, args.budget, args.extra, args.data)
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    # ru_maxrss is in KiB on Linux; MB (1e6 bytes) like every other figure and the estimate
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / 1e6
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
        return done.returncode
    results = json.loads((out / "results.json").read_text())
    summary = summarize(results, wall, peak_mb, parse_budget(args.budget))
    summary.update(
        sample=args.data or args.sample,
        run_dir=str(out),
        load_avg_1m_before=round(load_before, 2),
        load_avg_1m_after=round(os.getloadavg()[0], 2),
        cores=os.cpu_count(),
    )
    if args.json:
        print(json.dumps(summary))
    else:
        print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
