"""The pilot-evidence part of the report data, from ``results.json`` and ``predictions.jsonl``.

Why a separate step from rendering: every number the report prints is decided here, once,
so Markdown, HTML, PDF and JSON cannot disagree. results.json is read by
:mod:`advisor.schema`, the reader the decision and the app use too, so the report accepts
and refuses the same files they do; a block a pilot did not write becomes an empty
section.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from advisor.errors import AdvisorError
from advisor.report.formatting import ARM_LABELS, label
from advisor.schema import FAILURE_LABELS, ArmResult, Comparison, LossPoint, PilotResults

METRIC_ORDER = (
    "field_accuracy",
    "answer_containment",
    "exact_match",
    "token_f1",
    "rouge_l",
    "semantic_similarity",
    "format_valid",
)
# The metric charts and the summary lead with: graded overlap first, exact match last.
QUALITY_PREFERENCE = ("token_f1", "rouge_l", "semantic_similarity", "exact_match", "format_valid")
MAX_INPUT_CHARS = 500  # example inputs are cut here so one long document cannot swamp a page
MAX_OUTPUT_CHARS = 300


def as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def finite(value: Any) -> float | None:
    """A finite float or None: NaN/inf would make report.json invalid JSON."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _arm(a: ArmResult) -> dict[str, Any]:
    return {
        "arm": a.name,
        "label": label(a.name, ARM_LABELS),
        "status": a.status,
        # A failed or skipped arm's partial numbers stay in its table row but are kept out
        # of charts and of "best arm": they were not measured on the whole test set.
        "usable": a.usable,
        "error": a.error,
        "n": a.n,
        "metrics": {m: {"mean": v.mean, "ci95": list(v.ci95)} for m, v in a.metrics.items()},
        "latency_ms": _pick(a.latency_ms, ("p50", "p95", "mean")),
        "peak_memory_mb": a.peak_memory_mb,
        "memory_added_mb": a.memory_added_mb,
        "tokens": _pick(a.tokens, ("prompt_mean", "output_mean")),
    }


def _pick(values: Mapping[str, float], keys: Iterable[str]) -> dict[str, float]:
    return {k: values[k] for k in keys if k in values}


def _curve(points: tuple[LossPoint, ...]) -> list[list[float]]:
    """Loss points as [step, loss]; a plain list of losses counts steps from 1."""
    return [[p.x if p.x is not None else float(i + 1), p.loss] for i, p in enumerate(points)]


def _training(a: ArmResult) -> dict[str, Any] | None:
    train = a.train
    if train is None:
        return None
    train_curve, val_curve = _curve(train.train_loss), _curve(train.val_loss)
    plain_lists = all(p.x is None for p in train.val_loss)
    if train_curve and val_curve and plain_lists and len(val_curve) != len(train_curve):
        if len(val_curve) == len(train_curve) + 1:
            # One validation loss per epoch plus one before training (epoch 0).
            val_curve = [[float(i), y] for i, (_, y) in enumerate(val_curve)]
        else:
            # Validation logged less often than training: spread its points over the same
            # x range so both curves share one axis.
            scale = len(train_curve) / len(val_curve)
            val_curve = [[(i + 1) * scale, y] for i, (_, y) in enumerate(val_curve)]
    return {
        "arm": a.name,
        "label": label(a.name, ARM_LABELS),
        "seconds": train.seconds,
        "trainable_params": train.trainable_params,
        "final_loss": train.final_loss,
        "peak_memory_mb": train.peak_memory_mb,
        "train_loss": train_curve,
        "val_loss": val_curve,
    }


def _failures(a: ArmResult) -> dict[str, Any] | None:
    if not a.failures:
        return None
    counts = {key: a.failures.get(key, 0) for key in FAILURE_LABELS}
    return {"arm": a.name, "label": label(a.name, ARM_LABELS), **counts}


def _timing(results: dict) -> dict[str, Any] | None:
    """The estimate made before the run beside what each arm measured (results' timing)."""
    timing = as_dict(results.get("timing"))
    rows = []
    for name, raw in as_dict(timing.get("arms")).items():
        keys = ("estimated_s", "measured_s", "estimated_peak_mb", "measured_peak_mb")
        row = {k: finite(as_dict(raw).get(k)) for k in keys}
        rows.append({"arm": str(name), "label": label(str(name), ARM_LABELS), **row})
    if not rows:
        return None
    plan = as_dict(results.get("budget"))
    return {
        "calibrated": bool(timing.get("calibrated")),
        "arms": rows,
        "estimated_s": finite(timing.get("estimated_s")),
        "measured_s": finite(timing.get("measured_s")),
        "ratio": finite(timing.get("ratio")),
        "budget_s": finite(plan.get("budget_s")),
        "budget_cuts": [str(c) for c in plan.get("cuts") or [] if isinstance(c, str)],
    }


def _comparison(c: Comparison) -> dict[str, Any]:
    return {
        "a": c.a,
        "b": c.b,
        "metric": c.metric,
        "a_label": label(c.a, ARM_LABELS),
        "b_label": label(c.b, ARM_LABELS),
        "diff": c.diff,
        "ci95": list(c.ci95),
        "p_value": c.p_value,
        "p_holm": c.p_holm,
        "test": c.test,
        "n": c.n,
        "significant": c.significant,
    }


def ordered_metrics(present: Iterable[str], primary: str | None = None) -> list[str]:
    """The order tables show metrics in (report and app): the primary metric first, then
    METRIC_ORDER, then any other metric by name."""
    present = set(present)
    order = [m for m in METRIC_ORDER if m in present] + sorted(present - set(METRIC_ORDER))
    if primary in present:
        order = [primary] + [m for m in order if m != primary]
    return order


def _quality_metric(results: dict, arms: list[dict]) -> str | None:
    config = as_dict(results.get("config"))
    wanted = results.get("primary_metric") or config.get("primary_metric")
    present = {m for arm in arms for m in arm["metrics"]}
    if isinstance(wanted, str) and wanted in present:
        return wanted
    return next((m for m in QUALITY_PREFERENCE if m in present), min(present, default=None))


def load_predictions(path: str | Path) -> tuple[list[dict], int]:
    """Rows of ``predictions.jsonl`` and how many lines were unreadable (skipped, counted)."""
    rows, bad = [], 0
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise AdvisorError(f"cannot read predictions file {path}: {exc}") from exc
    for line in lines:
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            bad += 1
            continue
        if isinstance(row, dict) and "arm" in row and "example_id" in row:
            rows.append(row)
        else:
            bad += 1
    return rows, bad


def _cut(text: Any, limit: int) -> tuple[str, bool]:
    text = "" if text is None else str(text)
    return (text, False) if len(text) <= limit else (text[: limit - 1].rstrip() + "…", True)


def _same(a: str, b: str) -> bool:
    return " ".join(a.lower().split()) == " ".join(b.lower().split())


def select_examples(
    predictions: list[dict], arm_order: list[str], limit: int, metric: str | None = None
) -> list[dict]:
    """A few test items with every arm's output side by side.

    Items answered by the most arms come first (a fair side-by-side), ties in file order.
    """
    by_id: dict[str, dict[str, Any]] = {}
    for row in predictions:
        key = str(row.get("example_id"))
        item = by_id.setdefault(key, {"first": len(by_id), "rows": {}})
        item["rows"].setdefault(str(row.get("arm")), row)
    ranked = sorted(by_id.items(), key=lambda kv: (-len(kv[1]["rows"]), kv[1]["first"]))
    chosen = sorted(ranked[: max(limit, 0)], key=lambda kv: kv[1]["first"])
    order = {arm: i for i, arm in enumerate(arm_order)}
    examples = []
    for example_id, item in chosen:
        rows = item["rows"]
        first = next(iter(rows.values()))
        text, cut_in = _cut(first.get("input"), MAX_INPUT_CHARS)
        reference, cut_ref = _cut(first.get("reference"), MAX_OUTPUT_CHARS)
        outputs = []
        for arm in sorted(rows, key=lambda a: (order.get(a, len(order)), a)):
            out, cut_out = _cut(rows[arm].get("output"), MAX_OUTPUT_CHARS)
            error = rows[arm].get("error")
            outputs.append(
                {
                    "arm": arm,
                    "label": label(arm, ARM_LABELS),
                    "output": out,
                    "truncated": cut_out,
                    "error": None if error in (None, "") else str(error),
                    "matches_reference": _same(out, reference) and not cut_out and not cut_ref,
                    "score": finite(as_dict(rows[arm].get("scores")).get(metric))
                    if metric
                    else None,
                }
            )
        examples.append(
            {
                "example_id": example_id,
                "input": text,
                "input_truncated": cut_in,
                "reference": reference,
                "reference_truncated": cut_ref,
                "outputs": outputs,
            }
        )
    return examples


def build_pilot(pilot: PilotResults, predictions: list[dict] | None, max_examples: int) -> dict:
    """Everything the report shows about a pilot run, as plain JSON-ready values."""
    results = pilot.raw
    arms = [_arm(a) for a in pilot.arms.values()]
    present = {m for arm in arms for m in arm["metrics"]}
    quality = _quality_metric(results, arms)
    metrics = ordered_metrics(present, quality)

    best = None
    scored = [
        a
        for a in arms
        if a["usable"] and quality in a["metrics"] and a["arm"] != "nearest_neighbor"
    ]
    if scored:
        top = max(scored, key=lambda a: a["metrics"][quality]["mean"])
        tied = [
            a["arm"]
            for a in scored
            if a["metrics"][quality]["mean"] == top["metrics"][quality]["mean"]
        ]
        best = {
            "arm": top["arm"],
            "label": top["label"],
            "tied": tied if len(tied) > 1 else [],  # several arms share the top score
            "metric": quality,
            **top["metrics"][quality],
        }

    comparisons = [_comparison(c) for c in pilot.comparisons]
    retrieval = [{"retriever": name, **values} for name, values in pilot.retrieval.items()]
    retrieval_keys = sorted(
        {k for row in retrieval for k in row if k != "retriever"},
        key=lambda k: (k != "recall@1", k != "recall@5", k != "mrr", k),
    )

    return {
        "model": pilot.model,
        "seed": pilot.seed,
        "n_test": pilot.n_test,
        "data": dict(pilot.data.counts),
        "data_warnings": [*pilot.data.warnings, *pilot.notes],
        "quality_metric": quality,
        "quality_metric_reason": (
            pilot.primary_metric_reason if quality == pilot.primary_metric else None
        ),
        "model_source": pilot.model_source,
        "metrics": metrics,
        "arms": arms,
        "best_arm": best,
        "comparisons": [c for c in comparisons if c["significant"]],
        "n_comparisons": len(comparisons),
        "mde": dict(pilot.mde),
        "failures": [f for a in pilot.arms.values() if (f := _failures(a))],
        "training": [t for a in pilot.arms.values() if (t := _training(a))],
        "timing": _timing(results),
        "retrieval": retrieval,
        "retrieval_keys": retrieval_keys,
        "examples": select_examples(
            predictions or [], [a["arm"] for a in arms], max_examples, quality
        ),
    }
