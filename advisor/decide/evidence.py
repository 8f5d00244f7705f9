"""What the decision rules need from a pilot's results.json: questions, not nested JSON.

Why a view over :mod:`advisor.schema` (the one checked reader of results.json): the rules
should ask "did a RAG arm beat the best prompting arm, significantly?" rather than walk the
file, and a broken results.json fails in the reader with a message naming the field, not
as a ``KeyError`` deep inside a rule. A smoke run (the built-in tiny model) is read and
cited but carries zero weight: it tests the pipeline, not the decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advisor.catalog import arms_of_kind
from advisor.decide.curve_evidence import CurveEvidence, curves_from_results
from advisor.schema import ArmResult, Comparison, PilotResults, parse_results, read_results

PROMPTING_ARMS = arms_of_kind("prompting")
RAG_ARMS = arms_of_kind("rag")
FINETUNE_ARMS = arms_of_kind("finetune")
COMBINED_ARMS = arms_of_kind("rag+finetune")
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


@dataclass(frozen=True)
class Evidence:
    """The rules' questions over one checked :class:`~advisor.schema.PilotResults`.

    Why it holds the pilot rather than copies of its fields: the schema is the one place
    that says what a pilot recorded; a second list of the same fields drifts from it.
    """

    pilot: PilotResults
    curves: dict[str, CurveEvidence] = field(default_factory=dict)  # data curve by arm

    @property
    def arms(self) -> Mapping[str, ArmResult]:
        return self.pilot.arms

    @property
    def comparisons(self) -> tuple[Comparison, ...]:
        return self.pilot.comparisons

    @property
    def mde(self) -> Mapping[str, float]:
        """The minimum detectable effect per metric at the pilot's test size."""
        return self.pilot.mde

    @property
    def smoke(self) -> bool:
        return self.pilot.smoke

    @property
    def model(self) -> str:
        return self.pilot.model or "unknown"

    @property
    def origin(self) -> str:
        """Where the results were read from, for messages."""
        return self.pilot.origin

    @property
    def primary_metric(self) -> str | None:
        return self.pilot.primary_metric

    @property
    def primary_metric_reason(self) -> str | None:
        return self.pilot.primary_metric_reason

    @property
    def n_examples(self) -> int | None:
        """Labelled examples the pilot was given."""
        return self.pilot.data.get("n_examples")

    @property
    def n_test(self) -> int | None:
        """Held-out items every arm answered."""
        return self.pilot.n_test

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


def evidence_from_results(results: Any, origin: str = "results") -> Evidence:
    """Check a decoded results.json (:func:`advisor.schema.parse_results`) and keep what
    the rules need."""
    return evidence_from(parse_results(results, origin))


def evidence_from(pilot: PilotResults) -> Evidence:
    """The decision's view of an already read pilot."""
    return Evidence(pilot=pilot, curves=curves_from_results(pilot.raw, pilot.origin))


def load_evidence(run_dir_or_results: Path | str | Mapping[str, Any]) -> Evidence:
    """Read a pilot: a run folder, its results.json, or the already-decoded dict."""
    if isinstance(run_dir_or_results, Mapping):
        return evidence_from_results(run_dir_or_results)
    return evidence_from(read_results(run_dir_or_results))
