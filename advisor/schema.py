"""results.json, read once: the typed view that the decision, the report, the app and the
MLflow logging all use.

Why one reader: each of them used to walk the nested JSON with its own tolerant helpers, so
a file with, say, a NaN latency was refused by ``advisor recommend --pilot``, drawn by the
app and skipped by the report. Here a results.json is either well formed (every number
finite, every interval ``[lo, hi]`` with ``lo <= hi``, every count whole) or refused with a
message that names the field. A measurement the pilot left out or wrote as ``null`` (it
writes a NaN so) is ``None``, and a metric without a mean is left out: nothing was
measured. Blocks only some pilots write (``timing``, ``budget``, ``data_curve``,
``seed_spread``) are read by the modules that own them, from :attr:`PilotResults.raw`.

Significance is decided here, the same way :mod:`advisor.evaluation.stats` does it: p < 0.05
*and* the 95% interval excludes 0, and (with ``--seeds``) the gap is larger than what the
training seed alone moves it by.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advisor.errors import AdvisorError
from advisor.fields import FieldReader

ALPHA = 0.05
MAX_RESULTS_BYTES = 200_000_000
FAILURE_LABELS = ("information", "behaviour", "correct", "other")  # failure_analysis.LABELS
DATA_COUNTS = ("n_examples", "n_train", "n_validation", "n_test", "n_documents", "n_chunks")

__all__ = [
    "ALPHA",
    "ArmResult",
    "Comparison",
    "DataSummary",
    "LossPoint",
    "MetricValue",
    "PilotResults",
    "TrainResult",
    "parse_results",
    "read_results",
]


@dataclass(frozen=True)
class MetricValue:
    mean: float
    ci95: tuple[float, float]


@dataclass(frozen=True)
class LossPoint:
    x: float | None  # the step or epoch the file gives; None for a plain list of losses
    loss: float


@dataclass(frozen=True)
class TrainResult:
    seconds: float | None = None
    trainable_params: int | None = None
    final_loss: float | None = None
    peak_memory_mb: float | None = None
    train_loss: tuple[LossPoint, ...] = ()
    val_loss: tuple[LossPoint, ...] = ()


@dataclass(frozen=True)
class ArmResult:
    name: str
    status: str  # "ok", "failed", "skipped" or "pending" (a pilot still running)
    error: str | None = None
    metrics: dict[str, MetricValue] = field(default_factory=dict)
    n: int | None = None
    seconds: float | None = None
    latency_ms: dict[str, float] = field(default_factory=dict)  # p50, p95, mean
    peak_memory_mb: float | None = None  # the whole process's peak while the arm ran
    memory_added_mb: float | None = None  # over what the process held when the arm started
    tokens: dict[str, float] = field(default_factory=dict)  # prompt_mean, output_mean
    usage: dict[str, float] = field(default_factory=dict)  # an API provider's token counts
    failures: dict[str, int] = field(default_factory=dict)  # information/behaviour/... counts
    train: TrainResult | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def usable(self) -> bool:
        """Measured on the whole test set: a failed or skipped arm's partial numbers are
        shown in its row but kept out of charts and of "best arm"."""
        return self.status not in ("failed", "skipped")

    @property
    def latency_p50_ms(self) -> float | None:
        return self.latency_ms.get("p50")

    @property
    def train_seconds(self) -> float | None:
        return self.train.seconds if self.train is not None else None


@dataclass(frozen=True)
class Comparison:
    a: str
    b: str
    metric: str
    diff: float  # mean(a - b): positive means a scored higher
    ci95: tuple[float, float]
    p_value: float
    n: int | None = None
    seed_spread: float | None = None  # range of the arms' means over seeds (--seeds)
    p_holm: float | None = None  # Holm-adjusted over the pilot's comparisons (shown only)
    test: str | None = None  # how p was computed (exact permutation, McNemar, ...)

    @property
    def within_seed_spread(self) -> bool:
        """The gap is smaller than what changing the training seed alone moves it by."""
        return self.seed_spread is not None and abs(self.diff) < self.seed_spread

    @property
    def significant(self) -> bool:
        lo, hi = self.ci95
        return self.p_value < ALPHA and (lo > 0.0 or hi < 0.0) and not self.within_seed_spread

    def flipped(self) -> Comparison:
        lo, hi = self.ci95
        return Comparison(
            self.b, self.a, self.metric, -self.diff, (-hi, -lo), self.p_value, self.n,
            self.seed_spread, self.p_holm, self.test,
        )  # fmt: skip

    def cite(self) -> str:
        """The citation a reason carries, e.g. 'pilot: bm25_rag vs few_shot, token_f1 +0.21
        [0.12, 0.30], p=0.002, n=40'."""
        lo, hi = self.ci95
        n = f", n={self.n}" if self.n is not None else ""
        if self.seed_spread is not None:
            n += f", seed spread {self.seed_spread:.2f}"
        return (
            f"pilot: {self.a} vs {self.b}, {self.metric} {self.diff:+.2f} "
            f"[{lo:.2f}, {hi:.2f}], p={self.p_value:.3g}{n}"
        )


@dataclass(frozen=True)
class DataSummary:
    counts: dict[str, int] = field(default_factory=dict)  # DATA_COUNTS that the file gives
    warnings: tuple[str, ...] = ()

    def get(self, key: str) -> int | None:
        return self.counts.get(key)


@dataclass(frozen=True)
class PilotResults:
    arms: dict[str, ArmResult]
    comparisons: tuple[Comparison, ...] = ()
    mde: dict[str, float] = field(default_factory=dict)  # minimum detectable effect per metric
    smoke: bool = False
    model: str | None = None
    model_source: str | None = None
    seed: int | None = None
    primary_metric: str | None = None
    primary_metric_reason: str | None = None
    data: DataSummary = field(default_factory=DataSummary)
    notes: tuple[str, ...] = ()
    retrieval: dict[str, dict[str, float]] = field(default_factory=dict)  # retriever -> stats
    origin: str = "results"  # where it was read from, for messages
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)  # the decoded file

    @property
    def n_test(self) -> int | None:
        """Held-out items every arm answered (older files: the largest arm's n)."""
        found = self.data.get("n_test")
        if found is None:
            found = max((a.n for a in self.arms.values() if a.n is not None), default=None)
        return found


def _losses(r: FieldReader, value: Any, where: str) -> tuple[LossPoint, ...]:
    """Loss values: a plain list, [x, loss] pairs, or {step|epoch, loss} objects."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise r.fail(where, "must be a list of losses")
    points = []
    for i, item in enumerate(value):
        at = f"{where}[{i}]"
        if isinstance(item, Mapping):
            x, loss = r.measured(item.get("step", item.get("epoch")), at), item.get("loss")
        elif isinstance(item, list | tuple) and len(item) == 2:
            x, loss = r.number(item[0], at), item[1]
        else:
            x, loss = None, item
        if (y := r.measured(loss, at)) is not None:  # a diverged step (NaN) leaves a gap
            points.append(LossPoint(x, y))
    return tuple(points)


def _train(r: FieldReader, value: Any, where: str) -> TrainResult | None:
    block = r.optional_mapping(value, where)
    if not block:
        return None
    return TrainResult(
        seconds=r.measured(block.get("seconds"), f"{where}.seconds"),
        trainable_params=r.count(block.get("trainable_params"), f"{where}.trainable_params"),
        final_loss=r.measured(block.get("final_loss"), f"{where}.final_loss"),
        peak_memory_mb=r.measured(block.get("peak_memory_mb"), f"{where}.peak_memory_mb"),
        train_loss=_losses(r, block.get("train_loss"), f"{where}.train_loss"),
        val_loss=_losses(r, block.get("val_loss"), f"{where}.val_loss"),
    )


def _arm(r: FieldReader, name: str, value: Any) -> ArmResult:
    where = f"arms.{name}"
    block = r.mapping(value, where)
    status = block.get("status", "ok")
    if not isinstance(status, str) or not status:
        raise r.fail(f"{where}.status", f"must be a word such as ok or failed ({status!r})")
    metrics = {}
    for metric, raw in r.optional_mapping(block.get("metrics"), f"{where}.metrics").items():
        at = f"{where}.metrics.{metric}"
        raw = r.mapping(raw, at)
        mean = r.measured(raw.get("mean"), f"{at}.mean")
        if mean is None:  # written as null: the metric could not be computed for this arm
            continue
        ci = raw.get("ci95")
        metrics[str(metric)] = MetricValue(
            mean, (mean, mean) if ci is None else r.interval(ci, f"{at}.ci95")
        )
    failures = r.optional_mapping(block.get("failures"), f"{where}.failures")
    if isinstance(failures.get("counts"), Mapping):  # the full analyse_failures() block
        failures = failures["counts"]
    counts = {
        k: r.count(failures[k], f"{where}.failures.{k}") or 0
        for k in FAILURE_LABELS
        if k in failures
    }
    return ArmResult(
        name=name,
        status=status,
        error=None if block.get("error") is None else str(block["error"]),
        metrics=metrics,
        n=r.count(block.get("n"), f"{where}.n"),
        seconds=r.measured(block.get("seconds"), f"{where}.seconds"),
        latency_ms=r.numbers(block.get("latency_ms"), f"{where}.latency_ms"),
        peak_memory_mb=r.measured(block.get("peak_memory_mb"), f"{where}.peak_memory_mb"),
        memory_added_mb=r.measured(block.get("memory_added_mb"), f"{where}.memory_added_mb"),
        tokens=r.numbers(block.get("tokens"), f"{where}.tokens"),
        usage=r.numbers(block.get("usage"), f"{where}.usage"),
        failures=counts,
        train=_train(r, block.get("train"), f"{where}.train"),
    )


def _comparison(r: FieldReader, i: int, value: Any) -> Comparison:
    where = f"comparisons[{i}]"
    entry = r.mapping(value, where)
    for key in ("a", "b", "metric"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise r.fail(f"{where}.{key}", "must be a name")
    p = r.number(entry.get("p_value"), f"{where}.p_value")
    if not 0.0 <= p <= 1.0:
        raise r.fail(f"{where}.p_value", f"must be between 0 and 1 (got {p})")
    return Comparison(
        a=entry["a"],
        b=entry["b"],
        metric=entry["metric"],
        diff=r.number(entry.get("diff"), f"{where}.diff"),
        ci95=r.interval(entry.get("ci95"), f"{where}.ci95"),
        p_value=p,
        n=r.count(entry.get("n"), f"{where}.n"),
        seed_spread=r.measured(entry.get("seed_spread"), f"{where}.seed_spread"),
        p_holm=r.measured(entry.get("p_holm"), f"{where}.p_holm"),
        test=None if entry.get("test") is None else str(entry["test"]),
    )


def _data(r: FieldReader, value: Any, notes: Any) -> tuple[DataSummary, tuple[str, ...]]:
    data = r.optional_mapping(value, "data")
    counts = {k: n for k in DATA_COUNTS if (n := r.count(data.get(k), f"data.{k}")) is not None}
    warnings = data.get("warnings") or []
    if not isinstance(warnings, list):
        raise r.fail("data.warnings", "must be a list of texts")
    notes = notes or []
    if not isinstance(notes, list):
        raise r.fail("notes", "must be a list of texts")
    keep = tuple(str(w) for w in warnings if isinstance(w, str | int | float) and w != "")
    return DataSummary(counts, keep), tuple(str(n) for n in notes if isinstance(n, str) and n)


def parse_results(results: Any, origin: str = "results") -> PilotResults:
    """Check a decoded results.json and return its typed view (AdvisorError naming the
    field when it is not well formed)."""
    r = FieldReader(origin)
    top = r.mapping(results, "the top level")
    if "arms" not in top:
        raise r.fail("the top level", "has no 'arms' block")
    arms = {str(n): _arm(r, str(n), b) for n, b in r.mapping(top["arms"], "arms").items()}
    comparisons = top.get("comparisons") or []
    if not isinstance(comparisons, list):
        raise r.fail("comparisons", "must be a list")
    smoke = top.get("smoke", False)
    if not isinstance(smoke, bool):
        raise r.fail("smoke", f"must be true or false (got {smoke!r})")
    primary = top.get("primary_metric")
    if primary is not None and not isinstance(primary, str):
        raise r.fail("primary_metric", f"must be a metric name (got {primary!r})")
    reason = top.get("primary_metric_reason")
    retrieval = {
        str(name): r.numbers(block, f"retrieval.{name}")
        for name, block in r.optional_mapping(top.get("retrieval"), "retrieval").items()
    }
    data, notes = _data(r, top.get("data"), top.get("notes"))
    seed = top.get("seed")
    model = top.get("model")
    mde = r.optional_mapping(top.get("mde"), "mde")
    return PilotResults(
        arms=arms,
        comparisons=tuple(_comparison(r, i, c) for i, c in enumerate(comparisons)),
        mde={str(k): v for k, raw in mde.items() if (v := r.measured(raw, f"mde.{k}")) is not None},
        smoke=smoke,
        model=None if model is None else str(model),
        model_source=None if top.get("model_source") is None else str(top["model_source"]),
        seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
        primary_metric=primary,
        primary_metric_reason=reason if isinstance(reason, str) else None,
        data=data,
        notes=notes,
        retrieval={k: v for k, v in retrieval.items() if v},
        origin=origin,
        raw=top,
    )


def read_results(run_dir_or_file: str | Path) -> PilotResults:
    """Read a run folder's results.json (or the file itself), checked."""
    path = Path(run_dir_or_file)
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
        raise AdvisorError(
            f"cannot read pilot results {path}: not valid JSON ({exc}); re-run `advisor pilot`"
        ) from None
    return parse_results(results, origin=str(path))
