"""Scoring one arm and assembling results.json from the finished arms of a run folder.

Why rebuild from the arm files every time: the arm files are the source of truth (written
once, atomically, when an arm finishes), so results.json can always be regenerated, and a
resumed run compares arms it ran today with arms it ran yesterday on the same test items.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from advisor.catalog import workflow_pairs
from advisor.models.hf import BUILTIN_MODEL
from advisor.models.loading import SMOKE_NOTICE
from advisor.pilot.context import PilotContext, PilotSettings, Prediction
from advisor.pilot.rundir import atomic_write_json, atomic_write_jsonl, read_json, read_jsonl

# Comparisons that answer the workflow's questions (framework §5), beyond "arm vs zero-shot":
# does few-shot help, is embedding retrieval worth it over BM25, does LoRA beat the best
# prompt, does adding RAG to LoRA (or LoRA to RAG) help.
WORKFLOW_PAIRS: tuple[tuple[str, str], ...] = workflow_pairs()
RETRIEVAL_CAP = 2000  # examples scored for recall; more adds time, not information


def estimate_vs_measured(estimate: Any, blocks: dict[str, Any]) -> dict[str, Any]:
    """Each finished arm's estimated and measured wall time and peak memory, side by side:
    the check on the estimate that the report shows (``measured / estimated``)."""
    estimate = estimate if isinstance(estimate, dict) else {}
    seconds = estimate.get("per_arm_seconds") or {}
    peaks = estimate.get("per_arm_peak_mb") or {}
    arms: dict[str, Any] = {}
    for arm, block in blocks.items():
        if block.get("status") != "ok" or arm not in seconds:
            continue
        arms[arm] = {
            "estimated_s": seconds[arm],
            "measured_s": block.get("seconds"),
            "estimated_peak_mb": peaks.get(arm),
            "measured_peak_mb": block.get("peak_memory_mb"),
        }
    est = sum(a["estimated_s"] for a in arms.values())
    got = sum(a["measured_s"] or 0.0 for a in arms.values())
    return {
        "calibrated": bool(estimate.get("calibrated")),
        "arms": arms,
        "estimated_s": round(est, 1),
        "measured_s": round(got, 1),
        "ratio": round(got / est, 3) if est > 0 and arms else None,
    }


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


def score_arm(
    ctx: PilotContext,
    arm: str,
    predictions: list[Prediction],
    predictions_path: Path | None = None,
) -> dict[str, Any]:
    """Per-item scores into the arm's predictions file (``arms/<arm>.predictions.jsonl``
    unless ``predictions_path`` says otherwise); summary block for results.json."""
    from advisor.evaluation.metrics import score_predictions, summarize

    outputs = [p.output if p.error is None else None for p in predictions]
    refs = [p.reference for p in predictions]
    scores = score_predictions(outputs, refs, embedder=ctx.embedder, format_spec=ctx.format_spec())
    rows = []
    for i, p in enumerate(predictions):
        row = p.to_dict()
        row["scores"] = {m: v[i] for m, v in scores.items()}
        rows.append(row)
    path = predictions_path or ctx.run_dir / "arms" / f"{arm}.predictions.jsonl"
    atomic_write_jsonl(path, rows)
    latencies = [p.latency_ms for p in predictions]
    return {
        "metrics": summarize(scores, seed=ctx.settings.seed),
        "latency_ms": {
            "p50": _percentile(latencies, 50),
            "p95": _percentile(latencies, 95),
            "mean": float(np.mean(latencies)) if latencies else 0.0,
        },
        "tokens": {
            "prompt_mean": float(np.mean([p.prompt_tokens for p in predictions])),
            "output_mean": float(np.mean([p.output_tokens for p in predictions])),
        },
        "n": len(predictions),
        "errors": sum(1 for p in predictions if p.error),
    }


def _per_item(run_dir: Path, arms: list[str], blocks: dict[str, dict]) -> dict[str, list[dict]]:
    out = {}
    for arm in arms:
        if blocks.get(arm, {}).get("status") == "ok":
            out[arm] = read_jsonl(run_dir / "arms" / f"{arm}.predictions.jsonl")
    return out


def _comparisons(per_item: dict[str, list[dict]], test_ids: list[str], seed: int):
    from advisor.evaluation.compare import compare_arms, default_pairs
    from advisor.evaluation.stats import mde_from_pairs, minimum_detectable_effect

    aligned: dict[str, dict[str, list[float]]] = {}
    for arm, rows in per_item.items():
        by_id = {str(r["example_id"]): r for r in rows}
        if not all(i in by_id for i in test_ids):
            continue  # an arm from another split cannot be paired item by item
        metrics = by_id[test_ids[0]]["scores"].keys() if test_ids else []
        aligned[arm] = {m: [float(by_id[i]["scores"][m]) for i in test_ids] for m in metrics}
    pairs = default_pairs(list(aligned)) + [
        p for p in WORKFLOW_PAIRS if p[0] in aligned and p[1] in aligned
    ]
    pairs = list(dict.fromkeys(pairs))
    comparisons = compare_arms(aligned, pairs=pairs, seed=seed) if len(aligned) > 1 else []
    n = len(test_ids)
    mde: dict[str, float] = {}
    metric_names = sorted({m for scores in aligned.values() for m in scores})
    for metric in metric_names:
        spreads = [
            mde_from_pairs(aligned[a][metric], aligned[b][metric])
            for a, b in pairs
            if metric in aligned[a] and metric in aligned[b] and n >= 2
        ]
        spreads = [s for s in spreads if s > 0]
        mde[metric] = float(np.median(spreads)) if spreads else minimum_detectable_effect(n)
    return comparisons, mde


def _retrieval(ctx: PilotContext, run_dir: Path) -> dict[str, Any] | None:
    """Recall@1/5 and MRR per retriever over every example with a doc_id (cached on disk)."""
    cached = read_json(run_dir / "retrieval.json")
    if cached is not None:
        return cached or None
    from advisor.retrieval import retrieval_metrics

    examples = [e for e in ctx.split.train + ctx.split.validation + ctx.split.test if e.doc_id][
        :RETRIEVAL_CAP
    ]
    if not ctx.documents or not examples:
        atomic_write_json(run_dir / "retrieval.json", {})
        return None
    block: dict[str, Any] = {}
    for kind in ("bm25", "faiss", "hybrid"):
        try:
            m = retrieval_metrics(
                ctx.retriever(kind), [e.input for e in examples], [str(e.doc_id) for e in examples]
            )
            block[kind] = {**m, "n": len(examples)}
        except Exception as exc:  # a retriever failing is reported, not fatal
            block[kind] = {"error": f"{type(exc).__name__}: {exc}"}
    atomic_write_json(run_dir / "retrieval.json", block)
    return block


def assemble_results(
    run_dir: Path,
    settings: PilotSettings,
    ctx: PilotContext,
    model_ref: str | None,
    meta: dict[str, Any],
    arms: list[str],
    final: bool = False,
) -> dict[str, Any]:
    from advisor.evaluation.failure_analysis import analyse_failures

    blocks: dict[str, dict[str, Any]] = {}
    for arm in arms:
        block = read_json(run_dir / "arms" / f"{arm}.json")
        blocks[arm] = block if block else {"status": "pending"}
    per_item = _per_item(run_dir, arms, blocks)
    test_ids = [e.id for e in ctx.split.test]
    comparisons, mde = _comparisons(per_item, test_ids, settings.seed)

    gold = {d.id: d.text for d in ctx.documents}
    failures = analyse_failures(per_item, gold)
    for arm, summary in failures.items():
        blocks[arm]["failures"] = {
            **summary["counts"],
            "share_information": summary["share_information"],
            "share_behaviour": summary["share_behaviour"],
        }

    # predictions.jsonl: every finished arm, in arm order (rebuilt, so resume never duplicates)
    atomic_write_jsonl(
        run_dir / "predictions.jsonl",
        [row for arm in arms for row in per_item.get(arm, [])],
    )
    smoke = model_ref == BUILTIN_MODEL
    primary = ctx.primary_metric()
    results: dict[str, Any] = {
        "model": model_ref,
        "model_source": meta.get("model_source"),
        "smoke": smoke,
        "seed": settings.seed,
        "config": settings.to_dict(),
        "primary_metric": primary.name,
        "task_kind": primary.task_kind,
        "primary_metric_reason": primary.why,
        "state": "finished" if final else "running",
        "data": meta.get("data", {}),
        "notes": meta.get("notes", []),
        "model_fallback": meta.get("model_fallback"),
        "runtime": meta.get("runtime"),
        "arms": blocks,
        "comparisons": comparisons,
        "mde": mde,
        "failure_analysis": {
            arm: {"labels": s["labels"], "counts": s["counts"]} for arm, s in failures.items()
        },
        "estimate": meta.get("estimate"),
        "timing": estimate_vs_measured(meta.get("estimate"), blocks),
        "budget": meta.get("budget"),
        "started_at": meta.get("started_at"),
        "finished_at": meta.get("finished_at"),
    }
    if smoke:
        results["smoke_notice"] = SMOKE_NOTICE
    if final or any(b.get("status") == "ok" for b in blocks.values()):
        retrieval = _retrieval(ctx, run_dir)
        if retrieval:
            results["retrieval"] = retrieval
    return results
