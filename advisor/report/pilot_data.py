"""The pilot-evidence part of the report data, from ``results.json`` and ``predictions.jsonl``.

Why a separate step from rendering: every number the report prints is decided here, once,
so Markdown, HTML, PDF and JSON cannot disagree. Results files may come from older or
hand-edited runs, so every field is read defensively: a missing block becomes an empty
section, never a crash.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from advisor.errors import AdvisorError
from advisor.report.formatting import ARM_LABELS, label

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


def _interval(value: Any) -> list[float] | None:
    if isinstance(value, list | tuple) and len(value) == 2:
        lo, hi = finite(value[0]), finite(value[1])
        if lo is not None and hi is not None:
            return [lo, hi]
    return None


def _metric_block(value: Any) -> dict | None:
    block = as_dict(value)
    mean = finite(block.get("mean"))
    return None if mean is None else {"mean": mean, "ci95": _interval(block.get("ci95"))}


def _numbers(block: Any, keys: Iterable[str]) -> dict[str, float]:
    block = as_dict(block)
    return {k: v for k in keys if (v := finite(block.get(k))) is not None}


def _arm(name: str, raw: Any) -> dict[str, Any]:
    raw = as_dict(raw)
    metrics = {}
    for metric, block in as_dict(raw.get("metrics")).items():
        if (parsed := _metric_block(block)) is not None:
            metrics[str(metric)] = parsed
    n = finite(raw.get("n"))
    status = str(raw.get("status") or ("ok" if metrics else "unknown"))
    return {
        "arm": name,
        "label": label(name, ARM_LABELS),
        "status": status,
        # A failed or skipped arm's partial numbers stay in its table row but are kept out
        # of charts and of "best arm": they were not measured on the whole test set.
        "usable": status not in ("failed", "skipped"),
        "error": None if raw.get("error") is None else str(raw.get("error")),
        "n": None if n is None else int(n),
        "metrics": metrics,
        "latency_ms": _numbers(raw.get("latency_ms"), ("p50", "p95", "mean")),
        "peak_memory_mb": finite(raw.get("peak_memory_mb")),
        "memory_added_mb": finite(raw.get("memory_added_mb")),
        "tokens": _numbers(raw.get("tokens"), ("prompt_mean", "output_mean")),
    }


def _curve(values: Any) -> list[list[float]]:
    """Loss points as [step, loss]; accepts plain lists or lists of {step|epoch, loss}."""
    points: list[list[float]] = []
    if not isinstance(values, list):
        return points
    for i, item in enumerate(values):
        if isinstance(item, Mapping):
            y = finite(item.get("loss"))
            x = finite(item.get("step", item.get("epoch", i + 1)))
        else:
            y, x = finite(item), float(i + 1)
        if x is not None and y is not None:
            points.append([x, y])
    return points


def _training(name: str, raw: Any) -> dict[str, Any] | None:
    train = as_dict(as_dict(raw).get("train"))
    if not train:
        return None
    train_curve, val_curve = _curve(train.get("train_loss")), _curve(train.get("val_loss"))
    plain_lists = all(not isinstance(v, Mapping) for v in (train.get("val_loss") or []))
    if train_curve and val_curve and plain_lists and len(val_curve) != len(train_curve):
        if len(val_curve) == len(train_curve) + 1:
            # One validation loss per epoch plus one before training (epoch 0).
            val_curve = [[float(i), y] for i, (_, y) in enumerate(val_curve)]
        else:
            # Validation logged less often than training: spread its points over the same
            # x range so both curves share one axis.
            scale = len(train_curve) / len(val_curve)
            val_curve = [[(i + 1) * scale, y] for i, (_, y) in enumerate(val_curve)]
    trainable = finite(train.get("trainable_params"))
    return {
        "arm": name,
        "label": label(name, ARM_LABELS),
        "seconds": finite(train.get("seconds")),
        "trainable_params": None if trainable is None else int(trainable),
        "final_loss": finite(train.get("final_loss")),
        "peak_memory_mb": finite(train.get("peak_memory_mb")),
        "train_loss": train_curve,
        "val_loss": val_curve,
    }


def _failures(name: str, raw: Any) -> dict[str, Any] | None:
    counts = as_dict(as_dict(raw).get("failures"))
    if not counts:
        return None
    row = {"arm": name, "label": label(name, ARM_LABELS)}
    for key in ("information", "behaviour", "correct", "other"):
        value = finite(counts.get(key))
        row[key] = 0 if value is None else int(value)
    return row


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


def _comparison(raw: Any) -> dict[str, Any] | None:
    c = as_dict(raw)
    a, b, metric = c.get("a"), c.get("b"), c.get("metric")
    if not (a and b and metric) or finite(c.get("diff")) is None:
        return None
    return {
        "a": str(a),
        "b": str(b),
        "metric": str(metric),
        "a_label": label(str(a), ARM_LABELS),
        "b_label": label(str(b), ARM_LABELS),
        "diff": finite(c.get("diff")),
        "ci95": _interval(c.get("ci95")),
        "p_value": finite(c.get("p_value")),
        "p_holm": finite(c.get("p_holm")),
        "test": None if c.get("test") is None else str(c.get("test")),
        "n": None if finite(c.get("n")) is None else int(c["n"]),
        "significant": bool(c.get("significant")),
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


def build_pilot(results: dict, predictions: list[dict] | None, max_examples: int) -> dict:
    """Everything the report shows about a pilot run, as plain JSON-ready values."""
    raw_arms = as_dict(results.get("arms"))
    arms = [_arm(str(name), raw) for name, raw in raw_arms.items()]
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

    comparisons = [c for c in map(_comparison, results.get("comparisons") or []) if c]
    data = as_dict(results.get("data"))
    n_test = finite(data.get("n_test"))
    if n_test is None:
        n_test = max((a["n"] for a in arms if a["n"] is not None), default=None)
    retrieval = []
    for name, block in as_dict(results.get("retrieval")).items():
        values = {k: v for k, raw in as_dict(block).items() if (v := finite(raw)) is not None}
        if values:
            retrieval.append({"retriever": str(name), **values})
    retrieval_keys = sorted(
        {k for row in retrieval for k in row if k != "retriever"},
        key=lambda k: (k != "recall@1", k != "recall@5", k != "mrr", k),
    )

    return {
        "model": None if results.get("model") is None else str(results.get("model")),
        "seed": results.get("seed") if finite(results.get("seed")) is not None else None,
        "n_test": None if n_test is None else int(n_test),
        "data": _numbers(
            data, ("n_examples", "n_train", "n_validation", "n_test", "n_documents", "n_chunks")
        ),
        "data_warnings": [
            str(w)
            for w in [*(data.get("warnings") or []), *(results.get("notes") or [])]
            if isinstance(w, str | int | float) and w
        ],
        "quality_metric": quality,
        "quality_metric_reason": (
            str(results["primary_metric_reason"])
            if quality == results.get("primary_metric")
            and isinstance(results.get("primary_metric_reason"), str)
            else None
        ),
        "model_source": None
        if results.get("model_source") is None
        else str(results.get("model_source")),
        "metrics": metrics,
        "arms": arms,
        "best_arm": best,
        "comparisons": [c for c in comparisons if c["significant"]],
        "n_comparisons": len(comparisons),
        "mde": {
            str(k): v
            for k, raw in as_dict(results.get("mde")).items()
            if (v := finite(raw)) is not None
        },
        "failures": [f for name, raw in raw_arms.items() if (f := _failures(str(name), raw))],
        "training": [t for name, raw in raw_arms.items() if (t := _training(str(name), raw))],
        "timing": _timing(results),
        "retrieval": retrieval,
        "retrieval_keys": retrieval_keys,
        "examples": select_examples(
            predictions or [], [a["arm"] for a in arms], max_examples, quality
        ),
    }
