"""Which metric a pilot leads with, chosen from the kind of task its references show.

Why one metric leads: the decision rules, the report's first chart and the app's first
table must agree on what "better" means, and the right measure depends on the task. A short
factual answer is right when it contains the reference (a real model answers in sentences);
a JSON answer is as good as the share of its fields that are right; free text is judged by
its overlap with the reference. The kind is read from the training references (test
outputs stay unseen), and the user can override it (``--primary-metric``).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from advisor.evaluation.json_fields import references_are_objects

TaskKind = Literal["json", "short_answer", "free_text"]
SHORT_ANSWER_WORDS = 5  # a median reference this short is a name, a number, a date, a label

_WHY = {
    "json": (
        "field_accuracy",
        "the reference outputs are JSON objects: the share of fields right is what a "
        "program reading the output gets, where exact match calls one wrong field a total miss",
    ),
    "short_answer": (
        "answer_containment",
        "the reference outputs are short answers (a median of {words} words): an answer is "
        "right when it contains the reference, whatever sentence a model wraps it in",
    ),
    "free_text": (
        "rouge_l",
        "the reference outputs are free text (a median of {words} words): ROUGE-L rewards "
        "the reference's content in its order (Lin 2004)",
    ),
}


def answer_style_hint(references: Sequence[str]) -> str | None:
    """One sentence that asks for answers shaped like the references, for every arm alike.

    Why: a small instruct model left to itself answers "The festival is held in July." or
    wraps JSON in prose; saying how long a good answer is costs nothing and is the same for
    every arm, so the comparison still measures the approaches, not the wording.
    """
    if not references:
        return None
    kind = task_kind(references)
    if kind == "json":
        return "Reply with the JSON object only, on one line, with no text before or after it."
    words = sorted(len(r.split()) for r in references)
    if kind == "short_answer":
        longest = max(3, words[min(len(words) - 1, int(0.9 * len(words)))])
        return f"Reply with the answer alone, in at most {longest} words, not a sentence."
    return f"Reply in about {round(_median_words(references))} words."


@dataclass(frozen=True)
class PrimaryMetric:
    name: str  # a key of advisor.evaluation.metrics.METRICS
    task_kind: str  # json, short_answer, free_text, or "chosen" when the user set it
    why: str  # one sentence for the report

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "task_kind": self.task_kind, "why": self.why}


def task_kind(references: Sequence[str]) -> TaskKind:
    if references_are_objects(references):
        return "json"
    if _median_words(references) <= SHORT_ANSWER_WORDS:
        return "short_answer"
    return "free_text"


def _median_words(references: Sequence[str]) -> float:
    return statistics.median(len(r.split()) for r in references) if references else 0.0


def choose_primary_metric(references: Sequence[str], override: str | None = None) -> PrimaryMetric:
    """The metric to lead with for these references, or the user's ``override``."""
    if override:
        return PrimaryMetric(override, "chosen", f"{override} was chosen with --primary-metric")
    kind = task_kind(references)
    name, why = _WHY[kind]
    return PrimaryMetric(name, kind, why.format(words=f"{_median_words(references):g}"))
