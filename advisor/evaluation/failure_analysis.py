"""Information vs behaviour: why did a prompting arm miss?

The chapter's central rule (framework §4) is to look at *why* the model fails: missing or
wrong facts call for RAG, malformed or off-style output for finetuning. This module turns a
pilot's per-item scores into that evidence, one label per miss:

- ``behaviour``: the output breaks the required format, is empty, or its length is far from
  the reference's (instructions or style ignored), whatever its facts;
- ``information``: the output is well-formed but wrong, and the answer was available to
  retrieval: a RAG arm got this item right, or the reference answer is written in the
  knowledge-base document the example points to;
- ``other``: a miss neither test explains (reasoning, ambiguity, a weak model).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from advisor.data.load import normalize_text

PROMPTING_ARMS = ("zero_shot", "few_shot")
RAG_ARMS = ("bm25_rag", "faiss_rag", "lora_rag")
LABELS = ("correct", "behaviour", "information", "other")


@dataclass(frozen=True)
class FailureThresholds:
    correct_f1: float = 0.8  # token F1 at or above this counts as right
    length_ratio: float = 3.0  # output this many times longer/shorter than reference = style off

    def __post_init__(self) -> None:
        if not 0.0 < self.correct_f1 <= 1.0:
            raise ValueError(f"correct_f1 must be in (0, 1] (not {self.correct_f1!r})")
        if self.length_ratio <= 1.0:
            raise ValueError(f"length_ratio must be > 1 (not {self.length_ratio!r})")


def _is_correct(scores: Mapping[str, float], t: FailureThresholds) -> bool:
    return scores.get("exact_match", 0.0) >= 1.0 or scores.get("token_f1", 0.0) >= t.correct_f1


def classify_miss(
    output: str,
    reference: str,
    scores: Mapping[str, float],
    rag_correct: bool,
    gold_text: str | None,
    t: FailureThresholds = FailureThresholds(),
) -> str:
    """One label from LABELS for one prediction (see the module docstring for the order)."""
    if _is_correct(scores, t):
        return "correct"
    out_words = len(output.split())
    ref_words = max(1, len(reference.split()))
    if "format_valid" in scores and scores["format_valid"] < 1.0:
        return "behaviour"
    if out_words == 0 or out_words > t.length_ratio * ref_words + 3:
        return "behaviour"
    if out_words * t.length_ratio < ref_words:
        return "behaviour"
    if rag_correct:
        return "information"
    if (
        gold_text
        and normalize_text(reference)
        and normalize_text(reference) in normalize_text(gold_text)
    ):
        return "information"
    return "other"


def analyse_failures(
    per_item: Mapping[str, Sequence[Mapping[str, object]]],
    gold_texts: Mapping[str, str] | None = None,
    t: FailureThresholds = FailureThresholds(),
) -> dict[str, dict[str, object]]:
    """Label every prediction of the prompting arms and count labels per arm.

    ``per_item[arm]`` is a list of dicts with ``example_id``, ``output``, ``reference``,
    ``scores`` (metric -> value) and optionally ``doc_id``; ``gold_texts`` maps doc_id to the
    document text. Returns ``{arm: {"counts": {...}, "labels": {example_id: label},
    "share_information": float, "share_behaviour": float}}``.
    """
    gold_texts = gold_texts or {}
    rag_right: set[str] = set()
    for arm in RAG_ARMS:
        for item in per_item.get(arm, ()):
            if _is_correct(item.get("scores", {}), t):  # type: ignore[arg-type]
                rag_right.add(str(item["example_id"]))
    summary: dict[str, dict[str, object]] = {}
    for arm in PROMPTING_ARMS:
        items = per_item.get(arm)
        if not items:
            continue
        labels: dict[str, str] = {}
        for item in items:
            ex_id = str(item["example_id"])
            doc_id = item.get("doc_id")
            labels[ex_id] = classify_miss(
                str(item.get("output") or ""),
                str(item.get("reference") or ""),
                item.get("scores", {}),  # type: ignore[arg-type]
                ex_id in rag_right,
                gold_texts.get(str(doc_id)) if doc_id else None,
                t,
            )
        counts = Counter(labels.values())
        misses = sum(counts[k] for k in ("behaviour", "information", "other"))
        summary[arm] = {
            "counts": {k: counts.get(k, 0) for k in LABELS},
            "misses": misses,
            "share_information": counts["information"] / misses if misses else 0.0,
            "share_behaviour": counts["behaviour"] / misses if misses else 0.0,
            "labels": labels,
        }
    return summary
