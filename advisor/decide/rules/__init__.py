"""The framework as small named rules: answers (+ pilot evidence) -> cited score effects.

The rules live in four modules, registered in this order:
- ``diagnosis``: what fails and the workflow (framework sections 1, 4, 5);
- ``feasibility``: what finetuning would take: data, team, model access, serving, memory
  (sections 2, 3, 6, 7);
- ``pilot``: what a pilot measured (significant differences, failure mix, costs);
- ``pilot_curve``: what the pilot's data curve says about collecting more data.

Why rules and not one big function: each rule is one sentence of the chapter, testable on
its own, and every point a score gains or loses can be traced to the rule and the answers
that moved it (the report shows exactly that). Rules run in registry order; the order is
the order reasons are shown.

A rule yields ``Reason``s. A reason can
- move scores (``effects``: approach -> points, higher = more suitable),
- make an approach unavailable (``blocks``: a hard constraint such as an API-only model),
- hold an approach back (``holds``: it may not be the primary recommendation yet, because
  the workflow says to finish prompting first).
"""

from __future__ import annotations

# Registration order is display order: diagnosis, then feasibility, then the pilot (its
# data curve last).
from advisor.decide.rules import diagnosis, feasibility, pilot, pilot_curve  # noqa: E402, F401, I001
from advisor.decide.rules.base import (
    APPROACHES,
    HIGH_VOLUME,
    METHOD_LABELS,
    RF,
    RULES,
    F,
    P,
    R,
    Reason,
    RuleFn,
    distillation_case,
    finetune_plan_for,
    finetune_possible,
    rule,
    run_rules,
    trains_locally,
)

__all__ = [
    "APPROACHES",
    "HIGH_VOLUME",
    "METHOD_LABELS",
    "RULES",
    "F",
    "P",
    "R",
    "RF",
    "Reason",
    "RuleFn",
    "distillation_case",
    "finetune_plan_for",
    "finetune_possible",
    "rule",
    "run_rules",
    "trains_locally",
]
