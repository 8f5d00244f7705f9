"""The decision: questionnaire answers (+ pilot evidence) -> a ranked, cited recommendation.

Private modules behind this face: ``questionnaire`` (the answers schema, defaults and
checks), ``rules/`` (the framework as small named rules), ``recommend`` (scores, primary
approach, next step), ``evidence`` (what the rules read from a pilot's results),
``citations`` (the principle or paper behind every reason) and ``costs`` (running cost per
option). Nothing here imports torch.
"""

from __future__ import annotations

from advisor.decide.answers_file import load_answers, loads_answers
from advisor.decide.citations import SOURCES, cite
from advisor.decide.evidence import Evidence, evidence_from_results, load_evidence
from advisor.decide.questionnaire import QUESTIONS, Answers, answers_to_dict, parse_answers
from advisor.decide.recommend import Recommendation, recommend

__all__ = [
    "QUESTIONS",
    "SOURCES",
    "Answers",
    "Evidence",
    "Recommendation",
    "answers_to_dict",
    "cite",
    "evidence_from_results",
    "load_answers",
    "load_evidence",
    "loads_answers",
    "parse_answers",
    "recommend",
]
