"""Evidence beyond the arms: the data curve and the seed repeats of the LoRA arms.

Why here and not as arms: both retrain an arm that already ran (on a subset of its training
data, or with another seed) and answer the same test items, so their numbers are paired
with every arm's. They run after the arms, only when asked for (``--data-curve``,
``--seeds N``), and each variant is written to its own file the moment it finishes
(``curve/<arm>-n<size>.json``, ``seeds/<arm>-seed<s>.json``, each with a predictions file),
so a resumed pilot skips the finished ones exactly as it skips finished arms.

``results.json`` gains ``data_curve`` and ``seed_spread`` blocks (built here from those
files by ``add_extra_evidence``), and comparisons with a repeated arm are checked against
the seed spread (:mod:`advisor.evaluation.seed_spread`).
"""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path
from typing import Any

from advisor.catalog import CATALOG, arms_of_kind
from advisor.data.types import Example, Split
from advisor.errors import AdvisorError
from advisor.evaluation.data_curve import analyse_curve, curve_sizes, describe_curve
from advisor.evaluation.seed_spread import apply_seed_spread, seed_spread
from advisor.pilot.context import PilotContext, PilotSettings
from advisor.pilot.rundir import atomic_write_json, read_json, read_jsonl
from advisor.resources import PeakMemory

__all__ = [
    "CURVE_DIR",
    "SEEDS_DIR",
    "add_extra_evidence",
    "check_extra_runs",
    "curve_plan",
    "extra_seeds",
    "run_extra_runs",
    "training_arms",
]

CURVE_DIR = "curve"
SEEDS_DIR = "seeds"
CURVE_NOTE = (
    "Each point is one training run on a nested subset of the training split, scored on the "
    "same test items; intervals cover which test items were drawn, not training randomness."
)


def training_arms(arms: list[str]) -> list[str]:
    """The chosen arms that train an adapter (the ones the curve and the seeds repeat)."""
    return [a for a in arms if a in CATALOG and CATALOG[a].trains]


def extra_seeds(settings: PilotSettings) -> list[int]:
    """The LoRA seeds of the repeats (the arm itself ran with ``settings.lora.seed``)."""
    return [settings.lora.seed + i for i in range(1, settings.seeds)]


def curve_plan(settings: PilotSettings, n_train: int) -> list[int]:
    """Training-set sizes of the curve (raises AdvisorError when the split is too small)."""
    return curve_sizes(n_train, settings.data_curve) if settings.data_curve else []


def check_extra_runs(settings: PilotSettings, split: Split, arms: list[str]) -> None:
    """Refuse before any arm runs when the curve or the seeds cannot be measured."""
    if not settings.data_curve and settings.seeds <= 1:
        return
    if not training_arms(arms):
        what = "--data-curve" if settings.data_curve else "--seeds"
        raise AdvisorError(
            f"{what} retrains the LoRA arms, and none was chosen: add lora (or lora_rag) to --arms"
        )
    curve_plan(settings, len(split.train))


def _nested_order(train: list[Example], seed: int) -> list[Example]:
    """One shuffled order of the training split: each curve subset is a prefix of it, so
    the smaller sets are nested in the larger ones."""
    order = list(train)
    random.Random(seed).shuffle(order)
    return order


def _resplit(split: Split, seed: int) -> tuple[list[Example], list[Example]]:
    """Train and validation redrawn from their union with ``seed``, sizes kept; the test
    set is never touched, so the repeat stays paired with every arm."""
    pool = list(split.train) + list(split.validation)
    random.Random(seed).shuffle(pool)
    n_val = len(split.validation)
    return pool[n_val:], pool[:n_val]


def _variant(
    ctx: PilotContext,
    arm: str,
    path: Path,
    label: str,
    *,
    train: list[Example],
    validation: list[Example],
    seed: int,
) -> dict[str, Any]:
    """Train ``arm`` on ``train`` with ``seed``, answer the test items, write ``path``."""
    from advisor.pilot.arms import train_and_answer
    from advisor.pilot.results import score_arm

    done = read_json(path)
    if done and done.get("status") == "ok":
        ctx.emit(arm=label, stage="skipped", done=1, total=1, message="finished earlier")
        return done
    ctx.emit(arm=label, stage="start", done=0, total=len(ctx.split.test))
    facts = {"arm": arm, "n_train": len(train), "seed": seed}
    try:
        with PeakMemory() as pm:
            out = train_and_answer(
                ctx,
                arm,
                ctx.split.test,
                train=train,
                validation=validation,
                lora=replace(ctx.settings.lora, seed=seed),
                keep_adapter=False,
                progress_name=label,
            )
        preds_path = path.with_name(path.stem + ".predictions.jsonl")
        block = score_arm(ctx, arm, out.predictions, predictions_path=preds_path)
        block.update(
            facts,
            status="ok",
            error=None,
            seconds=round(pm.seconds, 3),
            peak_memory_mb=round(pm.peak_mb, 1),
            train=out.train,
        )
    except Exception as exc:  # a failed variant is recorded, like a failed arm
        block = {**facts, "status": "failed", "error": f"{type(exc).__name__}: {exc}"}
    atomic_write_json(path, block)
    ctx.emit(arm=label, stage=block["status"], done=1, total=1, message=block.get("error"))
    return block


def run_extra_runs(ctx: PilotContext, arms: list[str]) -> None:
    """The curve points and seed repeats of every finished training arm (opt-in)."""
    s, split = ctx.settings, ctx.split
    for arm in training_arms(arms):
        finished = read_json(ctx.run_dir / "arms" / f"{arm}.json")
        if not finished or finished.get("status") != "ok":
            continue  # the arm itself failed: its block says why; nothing to vary
        order = _nested_order(split.train, s.seed)
        for n in curve_plan(s, len(split.train)):
            if n == len(split.train):
                continue  # the whole training split is the arm itself
            _variant(
                ctx,
                arm,
                ctx.run_dir / CURVE_DIR / f"{arm}-n{n}.json",
                f"{arm} on {n} examples",
                train=order[:n],
                validation=split.validation,
                seed=s.lora.seed,
            )
        for i, seed in enumerate(extra_seeds(s), start=1):
            train, validation = (
                _resplit(split, s.seed + i) if s.seed_split else (split.train, split.validation)
            )
            _variant(
                ctx,
                arm,
                ctx.run_dir / SEEDS_DIR / f"{arm}-seed{seed}.json",
                f"{arm} seed {seed}",
                train=train,
                validation=validation,
                seed=seed,
            )


# ----------------------------------------------------------------- results.json blocks


def _scores(path: Path, test_ids: list[str], metric: str) -> list[float] | None:
    """Per-item ``metric`` in test order, or None when the file misses an item."""
    by_id = {str(r.get("example_id")): r for r in read_jsonl(path)}
    try:
        return [float(by_id[i]["scores"][metric]) for i in test_ids]
    except (KeyError, TypeError, ValueError):
        return None


def _best_prompting(results: dict[str, Any], metric: str) -> str | None:
    scored = [
        (b["metrics"][metric]["mean"], a)
        for a in arms_of_kind("prompting")
        if (b := results["arms"].get(a) or {}).get("status") == "ok" and metric in b["metrics"]
    ]
    return max(scored)[1] if scored else None


def _curve_block(
    run_dir: Path, settings: PilotSettings, results: dict, test_ids: list[str], metric: str
) -> dict[str, Any]:
    from advisor.evaluation.metrics import METRICS

    n_train = int(results["data"].get("n_train") or 0)
    sizes = curve_plan(settings, n_train)
    base_arm = _best_prompting(results, metric)
    baseline = (
        _scores(run_dir / "arms" / f"{base_arm}.predictions.jsonl", test_ids, metric)
        if base_arm
        else None
    )
    block: dict[str, Any] = {
        "metric": metric,
        "fractions": list(settings.data_curve),
        "sizes": sizes,
        "baseline": None,
        "arms": {},
        "note": CURVE_NOTE,
    }
    if base_arm and baseline is not None:
        mean = results["arms"][base_arm]["metrics"][metric]
        block["baseline"] = {"arm": base_arm, "mean": mean["mean"], "ci95": mean["ci95"]}
    binary = METRICS[metric].binary if metric in METRICS else False
    for arm in training_arms(list(results["arms"])):
        if results["arms"][arm].get("status") != "ok":
            continue
        found, missing = {}, []
        for n in sizes:
            path = (
                run_dir / "arms" / f"{arm}.predictions.jsonl"
                if n == n_train
                else run_dir / CURVE_DIR / f"{arm}-n{n}.predictions.jsonl"
            )
            scores = _scores(path, test_ids, metric)
            if scores is None:
                missing.append(n)
            else:
                found[n] = scores
        if len(found) < 3:
            failed = [
                f"{n}: {b.get('error')}"
                for n in missing
                if (b := read_json(run_dir / CURVE_DIR / f"{arm}-n{n}.json"))
                and b.get("status") == "failed"
            ]
            block["arms"][arm] = {
                "status": "failed" if failed else "pending",
                "error": "; ".join(failed) or None,
                "missing": missing,
            }
            continue
        curve = analyse_curve(
            list(found),
            list(found.values()),
            binary=binary,
            baseline=baseline,
            seed=settings.seed,
        )
        curve["status"] = "ok" if not missing else "partial"
        curve["missing"] = missing
        curve["summary"] = describe_curve(curve, metric, arm)
        block["arms"][arm] = curve
    return block


def _spread_block(run_dir: Path, settings: PilotSettings, results: dict, metric: str):
    spreads: dict[str, Any] = {}
    for arm in training_arms(list(results["arms"])):
        first = results["arms"][arm]
        if first.get("status") != "ok":
            continue
        runs = [
            {
                "seed": settings.lora.seed,
                "status": "ok",
                "metrics": {m: v["mean"] for m, v in first["metrics"].items()},
            }
        ]
        for seed in extra_seeds(settings):
            b = read_json(run_dir / SEEDS_DIR / f"{arm}-seed{seed}.json") or {"status": "pending"}
            runs.append(
                {
                    "seed": seed,
                    "status": b.get("status", "pending"),
                    "error": b.get("error"),
                    "metrics": {m: v["mean"] for m, v in (b.get("metrics") or {}).items()},
                }
            )
        ok = {r["seed"]: r["metrics"] for r in runs if r["status"] == "ok"}
        spreads[arm] = {"runs": runs, "ci95": first["metrics"][metric]["ci95"]}
        if len(ok) >= 2:  # one finished run has no spread yet
            spreads[arm].update(seed_spread(ok))
    return {
        "seeds": [settings.lora.seed, *extra_seeds(settings)],
        "vary_split": settings.seed_split,
        "metric": metric,
        "arms": spreads,
        "note": "The spread is the range (max - min) of an arm's mean over the seeds; a "
        "difference smaller than the spread of its arms is not called significant.",
    }


def add_extra_evidence(
    results: dict[str, Any], run_dir: Path, settings: PilotSettings, test_ids: list[str]
) -> None:
    """Add ``data_curve`` / ``seed_spread`` to results (in place); check the comparisons
    against the seed spread. Nothing happens when neither was asked for."""
    metric = results.get("primary_metric")
    if not metric:
        return
    if settings.data_curve:
        try:
            results["data_curve"] = _curve_block(run_dir, settings, results, test_ids, metric)
        except AdvisorError as exc:  # e.g. a split too small: checked before the run too
            results["data_curve"] = {"metric": metric, "error": str(exc), "arms": {}}
    if settings.seeds > 1:
        spread = _spread_block(run_dir, settings, results, metric)
        results["seed_spread"] = spread
        measured = {a: b for a, b in spread["arms"].items() if "metrics" in b}
        apply_seed_spread(results.get("comparisons") or [], measured)
