"""Report blocks for the evidence beyond the arms: the data curve, the seed spread, and the
comparison with another run.

Why here: the wording is written once, so Markdown, HTML and PDF say the same thing; the
numbers come from :mod:`advisor.report.evidence_data` (curve, spread) and from
:func:`advisor.pilot.compare_runs.compare_runs` (``data["run_comparison"]``).
"""

from __future__ import annotations

import json
from typing import Any

from advisor.report import evidence_charts  # noqa: F401  registers the charts named here
from advisor.report import formatting as fmt
from advisor.report.blocks import Block, bullets, heading, para, table

__all__ = ["comparison_blocks", "evidence_blocks"]

VERDICT_LABELS = {
    "rising": "still rising",
    "saturating": "levelling off",
    "flat": "flat",
    "unclear": "unclear",
    "falling": "falling",
}


def _curve(curve: dict[str, Any], ci_level: int) -> list[Block]:
    out = [heading("Data curve: how much data finetuning needs", 3)]
    out.append(
        para(
            "Each finetuning arm was also trained on nested subsets of its training data and "
            "scored on the same test items. A rising curve says more data should pay; a flat "
            "one says it will not. 50-100 good examples are enough to see whether "
            "finetuning helps at all: no gain there rarely turns into a gain with more data "
            "unless the data was bad."
        )
    )
    if curve["error"]:
        out.append(para(f"No data curve: {curve['error']}", muted=True))
    metric = curve["metric_label"]
    base = curve["baseline"]
    for arm in curve["arms"]:
        if not arm["points"]:
            why = arm.get("error") or arm["status"] or "its points did not finish"
            out.append(para(f"{arm['label']}: no curve ({why}).", muted=True))
            continue
        header = ["Training examples", f"{metric} ({ci_level}% CI)"]
        if base:
            header.append(f"vs {base['label']}")
        rows = []
        for p in arm["points"]:
            row = [fmt.integer(p["n_train"]), fmt.mean_ci(p)]
            if base:
                vs = p.get("vs_baseline")
                row.append(
                    f"{fmt.signed(vs['diff'])} {fmt.ci(vs['ci95'])}"
                    + (" significant" if vs["significant"] else "")
                    if vs
                    else "-"
                )
            rows.append(row)
        d = arm["doubling"]
        predicted = f"{fmt.num(d['predicted'])} {fmt.ci(d['predicted_ci95'])} (predicted)"
        rows.append([f"{fmt.integer(d['n_train'])} (doubled)", predicted] + ([""] if base else []))
        verdict = VERDICT_LABELS.get(arm["verdict"], arm["verdict"])
        out += [
            heading(f"{arm['label']}: {verdict}", 4),
            table(header, rows, [2, 2.4] + ([2.6] if base else [])),
            bullets([(s, None) for s in arm["summary"]]),
        ]
    if any(a["points"] for a in curve["arms"]):
        out.append(
            {
                "kind": "chart",
                "id": "data_curve",
                "title": f"Data curve ({metric})",
                "caption": f"Points: mean {metric} with {ci_level}% CIs at each training-set "
                "size (log scale). Dashed: the fitted curve; the hollow point is the "
                "prediction after doubling, with its interval. "
                + (f"Grey band: {base['label']}. " if base else "")
                + curve["note"],
            }
        )
    return out


def _spread(spread: dict[str, Any], ci_level: int) -> list[Block]:
    out = [heading("Seed spread: how much training noise moves the numbers", 3)]
    split = " and a redrawn train/validation split" if spread["vary_split"] else ""
    out.append(
        para(
            f"Each LoRA arm was run with seeds {', '.join(map(str, spread['seeds']))}{split}, "
            "on the same test items. The confidence interval covers which test items were "
            "drawn; the spread (max - min over seeds) covers training randomness. A "
            "difference smaller than the spread is not called significant."
        )
    )
    rows = []
    for arm in spread["arms"]:
        means = ", ".join(
            f"{r['seed']}: {fmt.num(r['mean'])}" if r["mean"] is not None else f"{r['seed']}: -"
            for r in arm["runs"]
        )
        rows.append(
            [
                arm["label"],
                means,
                fmt.num(arm["width"]) if arm["measured"] else "-",
                fmt.num(arm["sd"]) if arm["measured"] else "-",
                fmt.ci(arm["ci95"]) if arm["ci95"] else "-",
            ]
        )
    out.append(
        table(
            ["Arm", f"{spread['metric_label']} by seed", "Spread", "SD"]
            + [f"{ci_level}% CI (first run)"],
            rows,
            [2.4, 3.2, 1.2, 1, 2],
        )
    )
    if spread["within"]:
        items = []
        for c in spread["within"]:
            alone = (
                " (significant on the test items alone)" if c["significant_ignoring_seeds"] else ""
            )
            items.append(
                (
                    f"{c['a_label']} vs {c['b_label']} on "
                    f"{fmt.label(c['metric'], fmt.METRIC_LABELS)}: {fmt.signed(c['diff'])} is "
                    f"smaller than the seed spread {fmt.num(c['seed_spread'])}, so it is not "
                    f"called significant{alone}.",
                    None,
                )
            )
        out.append(bullets(items))
    if any(a["measured"] for a in spread["arms"]):
        out.append(
            {
                "kind": "chart",
                "id": "seed_spread",
                "title": f"Seed spread ({spread['metric_label']})",
                "caption": "Dots: the mean of each seed's run; bar: the first run's "
                f"{ci_level}% CI over test items. Dots spread wider than the bar mean training "
                "noise dominates.",
            }
        )
    return out


def evidence_blocks(data: dict) -> list[Block]:
    """The curve and spread sections (inside the pilot evidence), then the run comparison."""
    pilot = data.get("pilot") or {}
    out: list[Block] = []
    if pilot.get("data_curve"):
        out += _curve(pilot["data_curve"], data["ci_level"])
    if pilot.get("seed_spread"):
        out += _spread(pilot["seed_spread"], data["ci_level"])
    return out + comparison_blocks(data)


def _value(v: Any) -> str:
    text = json.dumps(v, ensure_ascii=False) if isinstance(v, str) else fmt.plain(v)
    return text if len(text) <= 60 else text[:59] + "…"


def comparison_blocks(data: dict) -> list[Block]:
    """``data["run_comparison"]`` (advisor report --compare RUN): run B minus run A."""
    cmp = data.get("run_comparison")
    if not cmp:
        return []
    ci_level = data["ci_level"]
    out = [
        heading("Comparison with another run"),
        para(
            f"Run A: {cmp['run_a']['path']} (model {cmp['run_a']['model']}); run B: "
            f"{cmp['run_b']['path']} (model {cmp['run_b']['model']}). Differences are B - A, "
            "paired on the test items both runs answered, with the same tests as inside a "
            "pilot."
        ),
    ]
    if cmp["settings_diff"]:
        out.append(
            bullets(
                [
                    (f"{d['key']}: {_value(d['a'])} -> {_value(d['b'])}", None)
                    for d in cmp["settings_diff"]
                ]
            )
        )
    else:
        out.append(para("The runs' settings are the same.", muted=True))
    for arm in cmp["arms"]:
        rows = []
        for c in arm["comparisons"]:
            m = arm["metrics"][c["metric"]]
            verdict = "yes" if c["significant"] else "no"
            if c.get("within_seed_spread"):
                verdict += " (within seed spread)"
            rows.append(
                [
                    fmt.label(c["metric"], fmt.METRIC_LABELS)
                    + (" (primary)" if c["metric"] == cmp.get("primary_metric") else ""),
                    fmt.mean_ci(m["a"]),
                    fmt.mean_ci(m["b"]),
                    f"{fmt.signed(c['diff'])} {fmt.ci(c['ci95'])}",
                    fmt.pvalue(c["p_value"]),
                    verdict,
                ]
            )
        left = arm["n_only_a"] + arm["n_only_b"]
        extra = f"; {left} item(s) only one run answered were left out" if left else ""
        out += [
            heading(f"{arm['label']}: {arm['n_shared']} shared test items{extra}", 3),
            table(
                ["Metric", "Run A", "Run B", f"B - A ({ci_level}% CI)", "p", "Significant"],
                rows,
                [2.4, 2, 2, 2.6, 1, 1.6],
            ),
        ]
    return out
