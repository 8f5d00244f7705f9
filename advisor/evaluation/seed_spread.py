"""Seed spread: how much a trained arm's score moves when only its random seed changes.

Why: a LoRA run's score depends on the adapter's random start and the order it saw the
examples in (and, with ``--seed-split``, on which examples landed in training). The
bootstrap interval of one run covers which test items were drawn, not that. Repeating the
run with other seeds shows the training noise; a difference between two arms that is
smaller than it is not a finding, however small its p-value.

The spread of an arm on a metric is the range (max - min) of its means over the seeds. A
comparison's spread is the sum of its two arms' spreads (an arm run once, such as a
deterministic prompting arm, contributes 0): the gap between the two could move by that
much from seeds alone. A comparison whose ``|diff|`` is below it is not significant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["MAX_SEEDS", "apply_seed_spread", "check_seeds", "seed_spread", "spread_of"]

MAX_SEEDS = 10  # each seed is a full LoRA run; past ten the spread is known well enough


def check_seeds(seeds: int) -> None:
    if isinstance(seeds, bool) or not isinstance(seeds, int) or not 1 <= seeds <= MAX_SEEDS:
        raise ValueError(
            f"seeds must be a whole number from 1 (no repeats) to {MAX_SEEDS} (not {seeds!r})"
        )


def seed_spread(means_by_seed: Mapping[int, Mapping[str, float]]) -> dict[str, Any]:
    """Per metric: the means by seed, their mean, SD (ddof 1), min, max and ``width``."""
    seeds = sorted(means_by_seed)
    metrics: dict[str, Any] = {}
    names = sorted({m for s in seeds for m in means_by_seed[s]})
    for name in names:
        values = [float(means_by_seed[s][name]) for s in seeds if name in means_by_seed[s]]
        if not values:
            continue
        arr = np.asarray(values)
        metrics[name] = {
            "means": values,
            "mean": float(arr.mean()),
            "sd": float(arr.std(ddof=1)) if arr.size > 1 else 0.0,
            "min": float(arr.min()),
            "max": float(arr.max()),
            "width": float(arr.max() - arr.min()),
        }
    return {"seeds": seeds, "metrics": metrics}


def spread_of(spreads: Mapping[str, Mapping[str, Any]], arms: Sequence[str], metric: str) -> float:
    """The seed spread of a comparison between ``arms`` on ``metric`` (sum of widths)."""
    total = 0.0
    for arm in arms:
        block = (spreads.get(arm) or {}).get("metrics", {}).get(metric)
        if block:
            total += float(block["width"])
    return total


def apply_seed_spread(
    comparisons: list[dict[str, Any]], spreads: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Mark comparisons against the seed spread, in place (and return them).

    Each comparison with a repeated arm gains ``seed_spread`` and ``within_seed_spread``;
    when ``|diff|`` is smaller than the spread, ``significant`` becomes False and
    ``significant_ignoring_seeds`` keeps what the paired test alone said.
    """
    for c in comparisons:
        if c.get("a") not in spreads and c.get("b") not in spreads:
            continue
        spread = spread_of(spreads, (c["a"], c["b"]), c["metric"])
        within = abs(float(c["diff"])) < spread
        c["seed_spread"] = spread
        c["within_seed_spread"] = within
        c["significant_ignoring_seeds"] = bool(c.get("significant"))
        if within:
            c["significant"] = False
    return comparisons
