"""Run against run: a paired comparison of two pilots on the test items they share.

Why: the question after a pilot is usually "did my change help?": a new prompt, a new
model, more data. Two run folders hold per-item scores; where they answered the same items
(same id, same input, same reference), the per-item differences cancel item difficulty, so
the same paired tests and bootstrap intervals as inside a pilot apply
(:func:`advisor.evaluation.compare.compare_arms`). Differences are run B minus run A.

Refused, with the reason, when the runs share no items or when a shared id holds another
input or reference (the runs are then on different data, and pairing would mislead). When
either run measured a seed spread for an arm, a difference smaller than it is not called
significant, as inside a pilot.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from advisor.catalog import arm_label
from advisor.errors import AdvisorError
from advisor.evaluation.compare import compare_arms
from advisor.evaluation.seed_spread import apply_seed_spread
from advisor.evaluation.stats import bootstrap_ci
from advisor.pilot.rundir import read_jsonl

__all__ = ["compare_runs", "load_run"]

# Settings that do not change what a run measures; left out of "what differs".
_QUIET_SETTINGS = {"out", "mlflow", "api_key_env", "api_concurrency", "api_timeout_s", "arms"}
_QUIET_SETTINGS |= {"data_curve", "seeds", "seed_split"}  # evidence next to the arms
_SHOWN_CHARS = 80


def load_run(run_dir: str | Path, name: str) -> dict[str, Any]:
    """A run folder's results.json and per-item rows by arm; AdvisorError naming the folder."""
    path = Path(run_dir)
    if not path.is_dir():
        raise AdvisorError(f"{name} {path} is not a folder: pass a folder `advisor pilot` wrote")
    try:
        results = json.loads((path / "results.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AdvisorError(
            f"{name} {path} has no results.json: pass a folder `advisor pilot --out` wrote"
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise AdvisorError(f"{name} {path}/results.json cannot be read ({exc})") from None
    if not isinstance(results, dict) or not isinstance(results.get("arms"), dict):
        raise AdvisorError(f"{name} {path}/results.json holds no arms: not a pilot's results")
    rows: dict[str, dict[str, dict]] = {}
    for arm, block in results["arms"].items():
        if not isinstance(block, dict) or block.get("status") != "ok":
            continue
        found = read_jsonl(path / "arms" / f"{arm}.predictions.jsonl")
        if not found:
            found = [r for r in read_jsonl(path / "predictions.jsonl") if r.get("arm") == arm]
        items = {
            str(r["example_id"]): r
            for r in found
            if isinstance(r, dict) and "example_id" in r and isinstance(r.get("scores"), dict)
        }
        if items:
            rows[arm] = items
    if not rows:
        raise AdvisorError(
            f"{name} {path} has no per-item scores (arms/*.predictions.jsonl or "
            "predictions.jsonl): re-run the pilot into it"
        )
    return {"path": str(path), "results": results, "rows": rows}


def _arm_pairs(run_a: dict, run_b: dict, arm: str | None) -> list[tuple[str, str]]:
    have_a, have_b = list(run_a["rows"]), list(run_b["rows"])
    if arm:
        a_name, _, b_name = arm.partition(":")
        b_name = b_name or a_name
        for name, have, which in ((a_name, have_a, "RUN_A"), (b_name, have_b, "RUN_B")):
            if name not in have:
                raise AdvisorError(
                    f"arm {name!r} has no finished per-item scores in {which} "
                    f"(it has: {', '.join(have)}); use --arm ARM or --arm ARM_A:ARM_B"
                )
        return [(a_name, b_name)]
    common = [a for a in have_a if a in have_b]
    if not common:
        raise AdvisorError(
            f"the runs have no finished arm in common (RUN_A: {', '.join(have_a)}; RUN_B: "
            f"{', '.join(have_b)}): pick one from each with --arm ARM_A:ARM_B"
        )
    return [(a, a) for a in common]


def _shorten(text: Any) -> str:
    text = str(text)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def _shared_items(rows_a: dict, rows_b: dict, where: str) -> list[str]:
    """Ids both runs answered, in run A's order; refuses when none or when they differ."""
    shared = [i for i in rows_a if i in rows_b]
    if not shared:
        raise AdvisorError(
            f"the runs share no test items for {where} (RUN_A has {len(rows_a)}, RUN_B "
            f"{len(rows_b)}, no id in common): compare runs of the same data and split"
        )
    differ = []
    for i in shared:
        for field in ("input", "reference"):
            if str(rows_a[i].get(field)) != str(rows_b[i].get(field)):
                differ.append((i, field))
                break
    if differ:
        i, field = differ[0]
        raise AdvisorError(
            f"{len(differ)} of {len(shared)} shared test items differ between the runs for "
            f"{where} (e.g. id {i!r}: the {field} is {_shorten(rows_a[i].get(field))!r} in "
            f"RUN_A, {_shorten(rows_b[i].get(field))!r} in RUN_B): the runs are not on the "
            "same data, so a paired test would mislead"
        )
    return shared


def _flat(config: Any) -> dict[str, Any]:
    """Settings one level deep (``lora.learning_rate``), so a diff names the knob."""
    out: dict[str, Any] = {}
    for key, value in (config if isinstance(config, dict) else {}).items():
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


def _settings_diff(a: dict, b: dict) -> list[dict[str, Any]]:
    ca, cb = _flat(a.get("config")), _flat(b.get("config"))
    out = []
    for key in sorted(set(ca) | set(cb)):
        if key in _QUIET_SETTINGS or ca.get(key) == cb.get(key):
            continue
        out.append({"key": key, "a": ca.get(key), "b": cb.get(key)})
    if a.get("model") != b.get("model") and not any(d["key"] == "model" for d in out):
        out.append({"key": "model", "a": a.get("model"), "b": b.get("model")})
    return out


def _spreads(results: dict, arm: str, key: str) -> dict[str, Any]:
    block = ((results.get("seed_spread") or {}).get("arms") or {}).get(arm)
    return {key: block} if isinstance(block, dict) and "metrics" in block else {}


def compare_runs(
    run_a: str | Path, run_b: str | Path, arm: str | None = None, seed: int = 0
) -> dict[str, Any]:
    """The run comparison block (CLI ``--json``, the report's section, the app)."""
    a, b = load_run(run_a, "RUN_A"), load_run(run_b, "RUN_B")
    primary = a["results"].get("primary_metric") or b["results"].get("primary_metric")
    per_item: dict[str, dict[str, list[float]]] = {}
    pairs, arms_out, spreads = [], [], {}
    for arm_a, arm_b in _arm_pairs(a, b, arm):
        where = arm_a if arm_a == arm_b else f"{arm_a} vs {arm_b}"
        rows_a, rows_b = a["rows"][arm_a], b["rows"][arm_b]
        ids = _shared_items(rows_a, rows_b, where)
        metrics = [m for m in rows_a[ids[0]]["scores"] if m in rows_b[ids[0]]["scores"]]
        key_a, key_b = f"A:{arm_a}", f"B:{arm_b}"
        try:
            per_item[key_a] = {m: [float(rows_a[i]["scores"][m]) for i in ids] for m in metrics}
            per_item[key_b] = {m: [float(rows_b[i]["scores"][m]) for i in ids] for m in metrics}
        except (KeyError, TypeError, ValueError):
            raise AdvisorError(
                f"the per-item scores of {where} are incomplete in one run: re-run that pilot"
            ) from None
        pairs.append((key_b, key_a))
        spreads.update(_spreads(a["results"], arm_a, key_a))
        spreads.update(_spreads(b["results"], arm_b, key_b))
        means = {}
        for m in metrics:
            means[m] = {}
            for side, key in (("a", key_a), ("b", key_b)):
                values = per_item[key][m]
                lo, hi = bootstrap_ci(values, seed=seed)
                means[m][side] = {"mean": sum(values) / len(values), "ci95": [lo, hi]}
        arms_out.append(
            {
                "arm_a": arm_a,
                "arm_b": arm_b,
                "label": arm_label(arm_a)
                if arm_a == arm_b
                else f"{arm_label(arm_a)} vs {arm_label(arm_b)}",
                "n_shared": len(ids),
                "n_only_a": len(rows_a) - len(ids),
                "n_only_b": len(rows_b) - len(ids),
                "metrics": means,
                "comparisons": [],
            }
        )
    comparisons = apply_seed_spread(compare_arms(per_item, pairs=pairs, seed=seed), spreads)
    for c in comparisons:
        entry = {k: v for k, v in c.items() if k not in ("a", "b")}
        for block in arms_out:
            if (f"B:{block['arm_b']}", f"A:{block['arm_a']}") == (c["a"], c["b"]):
                block["comparisons"].append(entry)
    return {
        "run_a": {"path": a["path"], "model": a["results"].get("model")},
        "run_b": {"path": b["path"], "model": b["results"].get("model")},
        "direction": "B - A: positive means run B scored higher",
        "primary_metric": primary,
        "smoke": bool(a["results"].get("smoke") or b["results"].get("smoke")),
        "settings_diff": _settings_diff(a["results"], b["results"]),
        "arms": arms_out,
    }
