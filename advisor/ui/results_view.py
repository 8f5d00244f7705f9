"""A pilot's ``results.json`` as the plain rows and points the app draws. No Streamlit here.

Why through :mod:`advisor.schema`: the app reads run folders it did not write (older
versions, the CLI, a file edited by hand or cut short), and it must accept and refuse the
same files as the report and the decision. :func:`tidy` raises the reader's AdvisorError,
which names the field; the pages show it instead of the charts.
"""

from __future__ import annotations

from typing import Any

from advisor.report.formatting import ARM_LABELS, METRIC_LABELS, label, mean_ci
from advisor.report.pilot_data import ordered_metrics
from advisor.schema import ArmResult, LossPoint, PilotResults, parse_results


def metric_order(tidy_results: dict[str, Any]) -> list[str]:
    """The pilot's primary metric first, then the report's order."""
    present = {m for block in tidy_results["arms"].values() for m in block["metrics"]}
    return ordered_metrics(present, tidy_results.get("primary_metric"))


FINISHED = ("ok", "failed", "skipped")


def _curve(points: tuple[LossPoint, ...]) -> list[list[float]]:
    """Loss values as [x, loss] points: plain lists count epochs from 0."""
    return [[p.x if p.x is not None else float(i), p.loss] for i, p in enumerate(points)]


def _arm(arm: ArmResult) -> dict[str, Any]:
    train = arm.train
    return {
        "status": arm.status,
        "error": arm.error or None,
        "metrics": {m: {"mean": v.mean, "ci95": list(v.ci95)} for m, v in arm.metrics.items()},
        "latency_ms": dict(arm.latency_ms),
        "peak_memory_mb": arm.peak_memory_mb,
        "memory_added_mb": arm.memory_added_mb,
        "train": {
            "seconds": train.seconds,
            "train_loss": _curve(train.train_loss),
            "val_loss": _curve(train.val_loss),
        }
        if train is not None
        else None,
    }


def tidy(results: Any) -> dict[str, Any]:
    """Arms, comparisons and retrieval as plain values (AdvisorError when malformed)."""
    pilot = results if isinstance(results, PilotResults) else parse_results(results)
    comparisons = [
        {
            "a": c.a,
            "b": c.b,
            "metric": c.metric,
            "diff": c.diff,
            "ci95": list(c.ci95),
            "p_value": c.p_holm if c.p_holm is not None else c.p_value,
            "significant": c.significant,
        }
        for c in pilot.comparisons
    ]
    return {
        "arms": {name: _arm(arm) for name, arm in pilot.arms.items()},
        "comparisons": comparisons,
        "retrieval": {name: dict(values) for name, values in pilot.retrieval.items()},
        "smoke": pilot.smoke,
        "primary_metric": pilot.primary_metric,
    }


def arm_label(arm: str) -> str:
    return label(arm, ARM_LABELS)


def metric_label(metric: str) -> str:
    return label(metric, METRIC_LABELS)


def metric_rows(tidy_results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (finished arm, metric): mean and 95% CI."""
    rows = []
    order = metric_order(tidy_results)
    for arm, block in tidy_results["arms"].items():
        if block["status"] != "ok":
            continue
        for metric in order:
            if (value := block["metrics"].get(metric)) is None:
                continue
            lo, hi = value["ci95"]
            rows.append(
                {
                    "arm": arm_label(arm),
                    "metric": metric_label(metric),
                    "mean": value["mean"],
                    "ci_low": lo,
                    "ci_high": hi,
                }
            )
    return rows


def arms_table(tidy_results: dict[str, Any]) -> list[dict[str, Any]]:
    """A row per finished arm: status, each metric as 'mean [lo, hi]', latency, memory."""
    table = []
    for arm, block in tidy_results["arms"].items():
        if block["status"] not in FINISHED:
            continue  # not finished yet: the live panel shows its progress
        row: dict[str, Any] = {"arm": arm_label(arm), "status": block["status"]}
        for metric in metric_order(tidy_results):
            if value := block["metrics"].get(metric):
                row[metric_label(metric)] = mean_ci(value)
        row["latency p50 (ms)"] = _cell(block["latency_ms"].get("p50"), 1)
        row[MEMORY_ADDED] = _cell(block["memory_added_mb"], 0)
        row[PROCESS_PEAK] = _cell(block["peak_memory_mb"], 0)
        row["train (s)"] = _cell((block["train"] or {}).get("seconds"), 1)
        row["error"] = (block["error"] or "")[:200]
        table.append(row)
    # one set of columns for every row, blank where an arm has no value (a table would
    # print None there), and a column nobody filled is left out
    columns = list(dict.fromkeys(k for row in table for k in row))
    filled = [c for c in columns if any(row.get(c) not in (None, "") for row in table)]
    return [{c: row.get(c, "") for c in filled} for row in table]


MEMORY_ADDED = "memory added (MB)"  # over what the process held when the arm started
PROCESS_PEAK = "process peak (MB)"


def _cell(value: float | None, digits: int) -> str:
    """A number for a table cell; '' when missing (never None)."""
    if value is None:
        return ""
    return f"{value:.{digits}f}"
