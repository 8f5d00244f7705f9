"""The recommendation as the report shows it: options in rank order, each with the reasons
and the answers that moved it.

Why apart from :mod:`.build`: this reads one ``Recommendation.to_dict()`` defensively (a
JSON file from an older release, a hand-edited one) into plain rows the renderers print;
the rest of the report (pilot, costs, summary) does not depend on how.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from advisor.report import formatting as fmt
from advisor.report.pilot_data import as_dict, finite


def _targets(reason: Mapping, contributions: Mapping[str, list]) -> dict[str, float | None]:
    """Which options a reason moved: from its ``effects`` and from rules named in contributions."""
    found: dict[str, float | None] = {}
    effects = reason.get("effects")
    if isinstance(effects, Mapping):
        for k, v in effects.items():
            if finite(v) != 0:
                found[str(k)] = finite(v)
    elif isinstance(effects, list | tuple):
        found.update({str(k): None for k in effects})
    elif isinstance(effects, str):
        found[effects] = None
    for key in ("blocks", "holds"):  # hard constraints and workflow holds move options too
        for approach in reason.get(key) or []:
            found.setdefault(str(approach), None)
    rule = reason.get("rule")
    for approach, items in contributions.items():
        for item in items:
            if rule and item["rule"] == rule and approach not in found:
                found[approach] = item["delta"]
    return found


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _ranking(rec: Mapping, scores: dict[str, float]) -> list[str]:
    order: list[str] = []
    for item in rec.get("ranking") or []:
        name = item if isinstance(item, str) else as_dict(item).get("approach")
        if isinstance(name, str) and name not in order:
            order.append(name)
    rest = sorted((a for a in scores if a not in order), key=lambda a: -scores[a])
    return order + rest


def build_recommendation(
    rec: Mapping, answers: Mapping | None, answered: set[str] | None = None
) -> dict[str, Any]:
    answers = answers or {}
    scores = {
        str(k): v for k, raw in as_dict(rec.get("scores")).items() if (v := finite(raw)) is not None
    }
    contributions: dict[str, list[dict]] = {}
    for approach, items in as_dict(rec.get("contributions")).items():
        rows = []
        for item in items if isinstance(items, list) else []:
            item = as_dict(item)
            keys = [str(k) for k in item.get("answers") or []]
            rows.append(
                {
                    "rule": str(item.get("rule", "")),
                    "delta": finite(item.get("delta")),
                    "answers": [
                        {
                            "key": k,
                            "value": answers.get(k),
                            "answered": answered is None or k in answered,
                        }
                        for k in keys
                    ],
                }
            )
        contributions[str(approach)] = rows

    reasons = []
    for raw in rec.get("reasons") or []:
        raw = as_dict(raw)
        if not raw.get("text"):
            continue
        targets = _targets(raw, contributions)
        reasons.append(
            {
                "text": str(raw["text"]),
                "source": str(raw.get("source") or ""),
                "rule": None if raw.get("rule") is None else str(raw["rule"]),
                "targets": [{"approach": a, "delta": d} for a, d in targets.items()],
            }
        )

    ranking = _ranking(rec, scores)
    for approach in contributions:
        if approach not in ranking:
            ranking.append(approach)
    primary = str(rec.get("primary") or (ranking[0] if ranking else ""))
    options = []
    for rank, approach in enumerate(ranking, start=1):
        linked = [
            {"text": r["text"], "source": r["source"], "delta": t["delta"]}
            for r in reasons
            for t in r["targets"]
            if t["approach"] == approach
        ]
        options.append(
            {
                "approach": approach,
                "label": fmt.label(approach, fmt.APPROACH_LABELS),
                "rank": rank,
                "score": scores.get(approach),
                "is_primary": approach == primary,
                "reasons": linked,
                "contributions": contributions.get(approach, []),
                "unavailable": _text(as_dict(rec.get("unavailable")).get(approach)),
                "held": _text(as_dict(rec.get("held")).get(approach)),
            }
        )
    conf = rec.get("confidence")
    if finite(conf) is not None:
        conf_text = f"{conf:.0%}" if 0 <= conf <= 1 else f"{conf:g}"
    else:
        conf_text = None if conf is None else str(conf)
    return {
        "primary": primary,
        "primary_label": fmt.label(primary, fmt.APPROACH_LABELS),
        "confidence": finite(conf) if finite(conf) is not None else conf_text,
        "confidence_text": conf_text,
        "next_step": str(rec.get("next_step") or ""),
        "options": options,
        "reasons": reasons,
        "general_reasons": [r for r in reasons if not r["targets"]],
    }
