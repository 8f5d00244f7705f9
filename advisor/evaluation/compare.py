"""Arm against arm: the ``comparisons`` block of results.json.

Why apart from :mod:`advisor.evaluation.stats`: the tests there are pure statistics; this
module decides which pairs and metrics to test and which metrics are binary, which it reads
from the metric registry. Keeping it apart lets the registry use the statistics (bootstrap
intervals) without an import cycle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from advisor.evaluation.metrics import METRICS
from advisor.evaluation.stats import holm_adjust, paired_comparison

__all__ = ["compare_arms", "default_pairs"]


def default_pairs(arms: Sequence[str], baseline: str = "zero_shot") -> list[tuple[str, str]]:
    """Every arm against the baseline (``zero_shot`` if present, else the first arm).

    Why not all pairs: 7 arms x 5 metrics would be 105 tests, most of them uninteresting;
    the question a pilot answers is "does this approach beat plain prompting?".
    """
    arms = list(arms)
    if not arms:
        return []
    base = baseline if baseline in arms else arms[0]
    return [(arm, base) for arm in arms if arm != base]


def compare_arms(
    per_item: Mapping[str, Mapping[str, Sequence[float]]],
    pairs: Sequence[tuple[str, str]] | None = None,
    metrics: Sequence[str] | None = None,
    binary_metrics: Sequence[str] | None = None,
    n_resamples: int = 5000,
    seed: int = 0,
) -> list[dict]:
    """The ``comparisons`` entries of results.json.

    ``per_item[arm][metric]`` holds per-item scores in test-set order. Pairs default to
    ``default_pairs``; metrics to those both arms have; binary metrics to the registry's
    ``binary=True`` metrics. A pair naming an arm absent from ``per_item`` (a failed arm) or
    a metric one arm lacks is skipped: a failed arm is reported in its own block, not here.
    Each entry also carries ``p_holm``, the Holm-adjusted p-value over the whole list.
    """
    if binary_metrics is None:
        binary_metrics = [name for name, info in METRICS.items() if info.binary]
    binary_set = set(binary_metrics)
    if pairs is None:
        pairs = default_pairs(list(per_item))
    out: list[dict] = []
    for arm_a, arm_b in pairs:
        if arm_a not in per_item or arm_b not in per_item or arm_a == arm_b:
            continue
        scores_a, scores_b = per_item[arm_a], per_item[arm_b]
        names = list(metrics) if metrics is not None else list(scores_a)
        for metric in names:
            if metric not in scores_a or metric not in scores_b:
                continue
            if len(scores_a[metric]) == 0:
                continue
            res = paired_comparison(
                scores_a[metric],
                scores_b[metric],
                binary=metric in binary_set,
                n_resamples=n_resamples,
                seed=seed,
            )
            out.append(
                {
                    "a": arm_a,
                    "b": arm_b,
                    "metric": metric,
                    "diff": res.diff,
                    "ci95": [res.ci95[0], res.ci95[1]],
                    "p_value": res.p_value,
                    "test": res.test,
                    "n": res.n,
                    "significant": res.significant,
                }
            )
    for entry, p_holm in zip(out, holm_adjust([e["p_value"] for e in out]), strict=True):
        entry["p_holm"] = p_holm
    return out
