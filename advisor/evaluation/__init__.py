"""Scoring answers and judging differences: metrics, formats, statistics, failure analysis.

Private modules behind this face: ``metrics`` (the metric registry and the metrics),
``formats`` (JSON / JSON schema / regex output formats), ``json_fields`` (field-by-field
JSON comparison), ``stats`` (bootstrap intervals, paired tests, detectable effects),
``compare`` (the arm-against-arm comparisons of results.json), ``primary_metric`` (which
metric a pilot leads with) and ``failure_analysis`` (information vs behaviour misses).
"""

from __future__ import annotations

from advisor.evaluation.compare import compare_arms, default_pairs
from advisor.evaluation.failure_analysis import analyse_failures, classify_miss
from advisor.evaluation.formats import FormatSpec
from advisor.evaluation.metrics import METRICS, MetricInfo, register_metric, score_predictions
from advisor.evaluation.primary_metric import PrimaryMetric, choose_primary_metric
from advisor.evaluation.stats import (
    bootstrap_ci,
    mcnemar,
    minimum_detectable_effect,
    paired_comparison,
)

__all__ = [
    "METRICS",
    "FormatSpec",
    "MetricInfo",
    "PrimaryMetric",
    "analyse_failures",
    "bootstrap_ci",
    "choose_primary_metric",
    "classify_miss",
    "compare_arms",
    "default_pairs",
    "mcnemar",
    "minimum_detectable_effect",
    "paired_comparison",
    "register_metric",
    "score_predictions",
]
