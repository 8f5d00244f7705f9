"""A pilot's ``results.json`` reduced to the well-formed numbers the app draws.

Why a tidy copy: the app reads run folders it did not write (older versions, the CLI, a
file edited by hand or cut short). The recommendation validates results itself
(``advisor.decide.evidence`` raises an AdvisorError); tables and charts must instead show whatever
is usable and skip the rest, never raise. No Streamlit here.
"""

from __future__ import annotations

import math
from typing import Any

from advisor.report.formatting import ARM_LABELS, METRIC_LABELS, label, mean_ci
from advisor.report.pilot_data import ordered_metrics


def metric_order(tidy_results: dict[str, Any]) -> list[str]:
    """The pilot's primary metric first, then the report's order."""
    present = {m for block in tidy_results["arms"].values() for m in block["metrics"]}
    return ordered_metrics(present, tidy_results.get("primary_metric"))


FINISHED = ("ok", "failed", "skipped")


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def num(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def _pair(value: Any, fallback: float) -> list[float]:
    if isinstance(value, list | tuple) and len(value) >= 2:
        lo, hi = num(value[0]), num(value[1])
        if lo is not None and hi is not None:
            return [lo, hi]
    return [fallback, fallback]


def _curve(value: Any) -> list[list[float]]:
    """Loss values as [x, loss] points: plain lists count epochs from 0."""
    points = []
    for i, item in enumerate(value if isinstance(value, list) else []):
        if isinstance(item, list | tuple) and len(item) >= 2:
            x, y = num(item[0]), num(item[1])
        else:
            x, y = float(i), num(item)
        if x is not None and y is not None:
            points.append([x, y])
    return points


def _arm(block: dict[str, Any]) -> dict[str, Any]:
    metrics = {}
    for name, raw in _d(block.get("metrics")).items():
        mean = num(_d(raw).get("mean"))
        if mean is not None:
            metrics[str(name)] = {"mean": mean, "ci95": _pair(_d(raw).get("ci95"), mean)}
    train = _d(block.get("train"))
    return {
        "status": str(block.get("status") or "unknown"),
        "error": str(block["error"]) if block.get("error") else None,
        "metrics": metrics,
        "latency_ms": {
            str(k): v
            for k, raw in _d(block.get("latency_ms")).items()
            if (v := num(raw)) is not None
        },
        "peak_memory_mb": num(block.get("peak_memory_mb")),
        "memory_added_mb": num(block.get("memory_added_mb")),
        "train": {
            "seconds": num(train.get("seconds")),
            "train_loss": _curve(train.get("train_loss")),
            "val_loss": _curve(train.get("val_loss")),
        }
        if train
        else None,
    }


def tidy(results: Any) -> dict[str, Any]:
    """Arms, comparisons and retrieval with every malformed piece dropped."""
    results = _d(results)
    comparisons = []
    for raw in results.get("comparisons") if isinstance(results.get("comparisons"), list) else []:
        c, diff = _d(raw), num(_d(raw).get("diff"))
        if diff is None or not c.get("a") or not c.get("b"):
            continue
        comparisons.append(
            {
                "a": str(c["a"]),
                "b": str(c["b"]),
                "metric": str(c.get("metric") or "?"),
                "diff": diff,
                "ci95": _pair(c.get("ci95"), diff),
                "p_value": num(c.get("p_holm", c.get("p_value"))),
                "significant": bool(c.get("significant")),
            }
        )
    retrieval = {}
    for name, raw in _d(results.get("retrieval")).items():
        values = {str(k): v for k, r in _d(raw).items() if (v := num(r)) is not None}
        if values:
            retrieval[str(name)] = values
    arms = {str(k): _arm(v) for k, v in _d(results.get("arms")).items() if isinstance(v, dict)}
    return {
        "arms": arms,
        "comparisons": comparisons,
        "retrieval": retrieval,
        "smoke": results.get("smoke") is True,
        "primary_metric": results.get("primary_metric")
        if isinstance(results.get("primary_metric"), str)
        else None,
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
