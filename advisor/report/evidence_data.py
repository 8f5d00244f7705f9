"""The data curve and the seed spread in the report data, from ``results.json``.

Why apart from :mod:`advisor.report.pilot_data`: both blocks are opt-in (``--data-curve``,
``--seeds``) and have their own shape. As there, every field is read defensively: a
missing or malformed block becomes an empty section, never a crash, and every number a
chart draws is in this data (so report.json holds it).
"""

from __future__ import annotations

from typing import Any

from advisor.evaluation.data_curve import describe_curve
from advisor.report.formatting import ARM_LABELS, METRIC_LABELS, label
from advisor.report.pilot_data import as_dict, finite

__all__ = ["evidence_data"]


def _ci(value: Any) -> list[float] | None:
    if isinstance(value, list | tuple) and len(value) == 2:
        lo, hi = finite(value[0]), finite(value[1])
        if lo is not None and hi is not None:
            return [lo, hi]
    return None


def _point(raw: Any) -> dict[str, Any] | None:
    p = as_dict(raw)
    n, mean, ci = finite(p.get("n_train")), finite(p.get("mean")), _ci(p.get("ci95"))
    if n is None or mean is None or ci is None:
        return None
    out: dict[str, Any] = {"n_train": int(n), "mean": mean, "ci95": ci}
    vs = as_dict(p.get("vs_baseline"))
    if finite(vs.get("diff")) is not None and _ci(vs.get("ci95")):
        out["vs_baseline"] = {
            "diff": finite(vs.get("diff")),
            "ci95": _ci(vs.get("ci95")),
            "p_value": finite(vs.get("p_value")),
            "significant": vs.get("significant") is True,
        }
    return out


def _curve_arm(name: str, raw: Any, metric: str) -> dict[str, Any]:
    c = as_dict(raw)
    base = {"arm": name, "label": label(name, ARM_LABELS), "status": str(c.get("status") or "")}
    points = [p for p in map(_point, c.get("points") or []) if p]
    fit, dbl = as_dict(c.get("fit")), as_dict(c.get("doubling"))
    ftl = as_dict(c.get("first_to_last"))
    numbers = [finite(fit.get(k)) for k in ("a", "b", "r")]
    numbers += [finite(dbl.get(k)) for k in ("n_train", "predicted", "gain")]
    numbers += [finite(ftl.get(k)) for k in ("diff", "p_value", "from", "to")]
    cis = [_ci(dbl.get("predicted_ci95")), _ci(dbl.get("gain_ci95")), _ci(ftl.get("ci95"))]
    if len(points) < 3 or None in numbers or None in cis or not c.get("verdict"):
        return {**base, "error": None if c.get("error") is None else str(c["error"]), "points": []}
    curve = {
        "points": points,
        "n_test": int(finite(c.get("n_test")) or 0),
        "fit": {k: finite(fit.get(k)) for k in ("a", "b", "r")}
        | {"meaning": str(fit.get("meaning") or ""), "scale": str(fit.get("scale") or "")},
        "first_to_last": {
            "from": int(ftl["from"]),
            "to": int(ftl["to"]),
            "diff": finite(ftl["diff"]),
            "ci95": _ci(ftl["ci95"]),
            "p_value": finite(ftl["p_value"]),
            "significant": ftl.get("significant") is True,
        },
        "doubling": {
            "n_train": int(dbl["n_train"]),
            "predicted": finite(dbl["predicted"]),
            "predicted_ci95": _ci(dbl["predicted_ci95"]),
            "gain": finite(dbl["gain"]),
            "gain_ci95": _ci(dbl["gain_ci95"]),
        },
        "verdict": str(c["verdict"]),
        "aim_examples": None if finite(c.get("aim_examples")) is None else int(c["aim_examples"]),
        "aim_capped": c.get("aim_capped") is True,
    }
    try:
        summary = describe_curve(curve, label(metric, METRIC_LABELS), base["label"])
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        summary = []
    return {**base, "error": None, **curve, "summary": summary}


def _data_curve(raw: Any) -> dict[str, Any] | None:
    block = as_dict(raw)
    if not block:
        return None
    metric = str(block.get("metric") or "")
    base = as_dict(block.get("baseline"))
    baseline = None
    if base.get("arm") and finite(base.get("mean")) is not None:
        baseline = {
            "arm": str(base["arm"]),
            "label": label(str(base["arm"]), ARM_LABELS),
            "mean": finite(base["mean"]),
            "ci95": _ci(base.get("ci95")),
        }
    return {
        "metric": metric,
        "metric_label": label(metric, METRIC_LABELS),
        "baseline": baseline,
        "error": None if block.get("error") is None else str(block["error"]),
        "note": str(block.get("note") or ""),
        "arms": [_curve_arm(str(n), c, metric) for n, c in as_dict(block.get("arms")).items()],
    }


def _seed_spread(raw: Any, comparisons: Any) -> dict[str, Any] | None:
    block = as_dict(raw)
    if not block:
        return None
    metric = str(block.get("metric") or "")
    arms = []
    for name, arm in as_dict(block.get("arms")).items():
        arm = as_dict(arm)
        m = as_dict(as_dict(arm.get("metrics")).get(metric))
        runs = []
        for run in arm.get("runs") or []:
            run = as_dict(run)
            mean = finite(as_dict(run.get("metrics")).get(metric))
            if finite(run.get("seed")) is not None:
                status = str(run.get("status"))
                runs.append({"seed": int(run["seed"]), "status": status, "mean": mean})
        values = {k: finite(m.get(k)) for k in ("mean", "sd", "min", "max", "width")}
        arms.append(
            {
                "arm": str(name),
                "label": label(str(name), ARM_LABELS),
                "runs": runs,
                "ci95": _ci(arm.get("ci95")),
                "measured": None not in values.values(),
                **values,
            }
        )
    within = []
    for c in comparisons if isinstance(comparisons, list) else []:
        c = as_dict(c)
        if (
            c.get("within_seed_spread") is True
            and c.get("metric") == metric  # the decision's metric; results.json has the rest
            and finite(c.get("diff")) is not None
        ):
            within.append(
                {
                    "a_label": label(str(c.get("a")), ARM_LABELS),
                    "b_label": label(str(c.get("b")), ARM_LABELS),
                    "metric": str(c.get("metric")),
                    "diff": finite(c.get("diff")),
                    "seed_spread": finite(c.get("seed_spread")),
                    "significant_ignoring_seeds": c.get("significant_ignoring_seeds") is True,
                }
            )
    return {
        "metric": metric,
        "metric_label": label(metric, METRIC_LABELS),
        "seeds": [int(s) for s in block.get("seeds") or [] if finite(s) is not None],
        "vary_split": block.get("vary_split") is True,
        "note": str(block.get("note") or ""),
        "arms": arms,
        "within": within,
    }


def evidence_data(results: dict[str, Any]) -> dict[str, Any]:
    """``{"data_curve": ..., "seed_spread": ...}`` for the report's pilot data (None = absent)."""
    return {
        "data_curve": _data_curve(results.get("data_curve")),
        "seed_spread": _seed_spread(results.get("seed_spread"), results.get("comparisons")),
    }
