"""What the decision rules need from a pilot's results.json, read once and checked.

Why a separate, small view of the results: the rules should ask questions ("did a RAG arm
beat the best prompting arm, significantly?") rather than walk nested JSON, and a broken
results.json should fail here with a message naming the field, not as a ``KeyError`` deep
inside a rule.

Significance is decided here, the same way ``advisor.evaluation.stats`` does it: p < 0.05 *and* the
95% interval excludes 0. A smoke run (the built-in tiny model) is read and cited but
carries zero weight: it tests the pipeline, not the decision.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advisor.errors import AdvisorError

PROMPTING_ARMS = ("zero_shot", "few_shot")
RAG_ARMS = ("bm25_rag", "faiss_rag")
FINETUNE_ARMS = ("lora",)
COMBINED_ARMS = ("lora_rag",)
# The metric the decision reads when results.json names no primary metric (older runs):
# the first one measured; token F1 credits partial answers, so it moves before exact match.
METRIC_PREFERENCE = (
    "token_f1",
    "exact_match",
    "answer_containment",
    "field_accuracy",
    "rouge_l",
    "semantic_similarity",
    "format_valid",
)
FAILURE_LABELS = (
    "information",
    "behaviour",
    "correct",
    "other",
)  # advisor.evaluation.failure_analysis.LABELS
ALPHA = 0.05
MAX_RESULTS_BYTES = 200_000_000
SMOKE_NOTE = "smoke run on the built-in tiny model: tests the pipeline, not the decision"


@dataclass(frozen=True)
class MetricValue:
    mean: float
    ci95: tuple[float, float]


@dataclass(frozen=True)
class ArmEvidence:
    name: str
    status: str  # "ok", "failed", "skipped" or "pending" (a pilot still running)
    error: str | None = None
    metrics: dict[str, MetricValue] = field(default_factory=dict)
    n: int | None = None
    latency_p50_ms: float | None = None
    failures: dict[str, int] = field(default_factory=dict)  # information/behaviour/... counts
    train_seconds: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True)
class Comparison:
    a: str
    b: str
    metric: str
    diff: float  # mean(a - b): positive means a scored higher
    ci95: tuple[float, float]
    p_value: float
    n: int | None = None

    @property
    def significant(self) -> bool:
        lo, hi = self.ci95
        return self.p_value < ALPHA and (lo > 0.0 or hi < 0.0)

    def flipped(self) -> Comparison:
        lo, hi = self.ci95
        return Comparison(self.b, self.a, self.metric, -self.diff, (-hi, -lo), self.p_value, self.n)

    def cite(self) -> str:
        """The citation a reason carries, e.g. 'pilot: bm25_rag vs few_shot, token_f1 +0.21
        [0.12, 0.30], p=0.002, n=40'."""
        lo, hi = self.ci95
        n = f", n={self.n}" if self.n is not None else ""
        return (
            f"pilot: {self.a} vs {self.b}, {self.metric} {self.diff:+.2f} "
            f"[{lo:.2f}, {hi:.2f}], p={self.p_value:.3g}{n}"
        )


@dataclass(frozen=True)
class Evidence:
    arms: dict[str, ArmEvidence]
    comparisons: tuple[Comparison, ...] = ()
    mde: dict[str, float] = field(default_factory=dict)  # minimum detectable effect per metric
    smoke: bool = False
    model: str = "unknown"
    origin: str = "results"  # where it was read from, for messages
    primary_metric: str | None = None  # the metric the pilot leads with (results.json)
    primary_metric_reason: str | None = None
    n_examples: int | None = None  # labelled examples the pilot was given
    n_test: int | None = None  # held-out items every arm answered

    @property
    def weight(self) -> float:
        """How much the pilot counts: nothing for a smoke run."""
        return 0.0 if self.smoke else 1.0

    @property
    def metric(self) -> str:
        """The decision metric: the pilot's primary metric, else the first one measured."""
        measured = {c.metric for c in self.comparisons}
        for arm in self.arms.values():
            measured.update(arm.metrics)
        if self.primary_metric in measured:
            return self.primary_metric
        return next((m for m in METRIC_PREFERENCE if m in measured), "token_f1")

    @property
    def prompting_evaluated(self) -> bool:
        """A real model's prompts were scored on held-out items: the systematic prompting
        (a fixed prompt evaluated on a test set) the workflow asks for before anything
        heavier. A smoke run shows nothing of the kind."""
        return not self.smoke and bool(self.ok_arms(PROMPTING_ARMS))

    @property
    def few_shot_evaluated(self) -> bool:
        return not self.smoke and bool(self.ok_arms(("few_shot",)))

    def ok_arms(self, names: tuple[str, ...]) -> list[str]:
        return [n for n in names if n in self.arms and self.arms[n].ok]

    def mean(self, arm: str) -> float | None:
        value = self.arms[arm].metrics.get(self.metric) if arm in self.arms else None
        return value.mean if value else None

    def best_of(self, names: tuple[str, ...]) -> str | None:
        """The ok arm among ``names`` with the highest mean on the decision metric."""
        scored = [(self.mean(n), n) for n in self.ok_arms(names) if self.mean(n) is not None]
        return max(scored)[1] if scored else None

    def compare(self, a: str, b: str) -> Comparison | None:
        """The paired comparison of ``a`` against ``b`` on the decision metric, either way."""
        for c in self.comparisons:
            if c.metric != self.metric:
                continue
            if (c.a, c.b) == (a, b):
                return c
            if (c.a, c.b) == (b, a):
                return c.flipped()
        return None

    def versus_prompting(self, arm: str) -> tuple[Comparison | None, bool]:
        """``arm`` against the best prompting arm; the flag says the comparison is direct.

        The pilot may compare every arm with zero_shot only. When few_shot is the better
        baseline and was not compared directly, fall back to the comparison that exists and
        say so (the caller weighs it less).
        """
        best = self.best_of(PROMPTING_ARMS)
        if best is None:
            return None, False
        direct = self.compare(arm, best)
        if direct is not None:
            return direct, True
        for other in self.ok_arms(PROMPTING_ARMS):
            indirect = self.compare(arm, other)
            if indirect is not None:
                return indirect, False
        return None, False

    def failure_counts(self, arm: str) -> dict[str, int]:
        return dict(self.arms[arm].failures) if arm in self.arms else {}


def _fail(origin: str, where: str, problem: str) -> AdvisorError:
    return AdvisorError(f"{origin}: {where} {problem}; re-run `advisor pilot` to rewrite it")


def _number(value: Any, origin: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(origin, where, f"must be a finite number (got {str(value)[:40]!r})")
    return float(value)


def _interval(value: Any, origin: str, where: str) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise _fail(origin, where, f"must be [lo, hi] (got {str(value)[:40]!r})")
    lo, hi = (_number(v, origin, where) for v in value)
    if lo > hi:
        raise _fail(origin, where, f"has lo > hi ({lo} > {hi})")
    return lo, hi


def _mapping(value: Any, origin: str, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(origin, where, f"must be an object (got {type(value).__name__})")
    return value


def _optional_int(value: Any, origin: str, where: str) -> int | None:
    if value is None:
        return None
    number = _number(value, origin, where)
    if number < 0 or not number.is_integer():
        raise _fail(origin, where, f"must be a whole number >= 0 (got {value!r})")
    return int(number)


def _arm(name: str, block: Any, origin: str) -> ArmEvidence:
    where = f"arms.{name}"
    block = _mapping(block, origin, where)
    status = block.get("status", "ok")
    if not isinstance(status, str):
        raise _fail(origin, f"{where}.status", f"must be a word such as ok or failed ({status!r})")
    metrics = {}
    for metric, value in _mapping(block.get("metrics", {}), origin, f"{where}.metrics").items():
        at = f"{where}.metrics.{metric}"
        value = _mapping(value, origin, at)
        mean = _number(value.get("mean"), origin, f"{at}.mean")
        ci = _interval(value.get("ci95", [mean, mean]), origin, f"{at}.ci95")
        metrics[str(metric)] = MetricValue(mean, ci)
    latency = block.get("latency_ms") or {}
    p50 = _mapping(latency, origin, f"{where}.latency_ms").get("p50")
    failures = _mapping(block.get("failures") or {}, origin, f"{where}.failures")
    if isinstance(failures.get("counts"), Mapping):  # the full analyse_failures() block
        failures = failures["counts"]
    counts = {
        k: _optional_int(failures[k], origin, f"{where}.failures.{k}") or 0
        for k in FAILURE_LABELS
        if k in failures
    }
    train = _mapping(block.get("train") or {}, origin, f"{where}.train")
    seconds = train.get("seconds")
    error = block.get("error")
    return ArmEvidence(
        name=name,
        status=status,
        error=None if error is None else str(error),
        metrics=metrics,
        n=_optional_int(block.get("n"), origin, f"{where}.n"),
        latency_p50_ms=None if p50 is None else _number(p50, origin, f"{where}.latency_ms.p50"),
        failures=counts,
        train_seconds=None if seconds is None else _number(seconds, origin, f"{where}.train"),
    )


def _comparison(i: int, entry: Any, origin: str) -> Comparison:
    where = f"comparisons[{i}]"
    entry = _mapping(entry, origin, where)
    for key in ("a", "b", "metric"):
        if not isinstance(entry.get(key), str):
            raise _fail(origin, f"{where}.{key}", "must be a name")
    p = _number(entry.get("p_value"), origin, f"{where}.p_value")
    if not 0.0 <= p <= 1.0:
        raise _fail(origin, f"{where}.p_value", f"must be between 0 and 1 (got {p})")
    return Comparison(
        a=entry["a"],
        b=entry["b"],
        metric=entry["metric"],
        diff=_number(entry.get("diff"), origin, f"{where}.diff"),
        ci95=_interval(entry.get("ci95"), origin, f"{where}.ci95"),
        p_value=p,
        n=_optional_int(entry.get("n"), origin, f"{where}.n"),
    )


def evidence_from_results(results: Any, origin: str = "results") -> Evidence:
    """Check a decoded results.json and keep what the rules need."""
    results = _mapping(results, origin, "the top level")
    if "arms" not in results:
        raise _fail(origin, "the top level", "has no 'arms' block")
    arms_block = _mapping(results["arms"], origin, "arms")
    arms = {str(name): _arm(str(name), block, origin) for name, block in arms_block.items()}
    comparisons = results.get("comparisons") or []
    if not isinstance(comparisons, list):
        raise _fail(origin, "comparisons", "must be a list")
    smoke = results.get("smoke", False)
    if not isinstance(smoke, bool):
        raise _fail(origin, "smoke", f"must be true or false (got {smoke!r})")
    mde = _mapping(results.get("mde") or {}, origin, "mde")
    data = _mapping(results.get("data") or {}, origin, "data")
    primary = results.get("primary_metric")
    if primary is not None and not isinstance(primary, str):
        raise _fail(origin, "primary_metric", f"must be a metric name (got {primary!r})")
    reason = results.get("primary_metric_reason")
    return Evidence(
        arms=arms,
        comparisons=tuple(_comparison(i, c, origin) for i, c in enumerate(comparisons)),
        mde={str(k): _number(v, origin, f"mde.{k}") for k, v in mde.items()},
        smoke=smoke,
        model=str(results.get("model", "unknown")),
        origin=origin,
        primary_metric=primary,
        primary_metric_reason=reason if isinstance(reason, str) else None,
        n_examples=_optional_int(data.get("n_examples"), origin, "data.n_examples"),
        n_test=_optional_int(data.get("n_test"), origin, "data.n_test"),
    )


def load_evidence(run_dir_or_results: Path | str | Mapping[str, Any]) -> Evidence:
    """Read a pilot: a run folder, its results.json, or the already-decoded dict."""
    if isinstance(run_dir_or_results, Mapping):
        return evidence_from_results(run_dir_or_results)
    path = Path(run_dir_or_results)
    if path.is_dir():
        path = path / "results.json"
    try:
        if path.stat().st_size > MAX_RESULTS_BYTES:
            raise AdvisorError(f"{path} is larger than {MAX_RESULTS_BYTES:,} bytes: not a pilot")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AdvisorError(
            f"no pilot results at {path}: run `advisor pilot --data FILE --out RUN_DIR` first"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AdvisorError(f"cannot read pilot results {path}: {exc}") from None
    try:
        results = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise AdvisorError(f"{path} is not valid JSON ({exc}); re-run `advisor pilot`") from None
    return evidence_from_results(results, origin=str(path))
