"""The framework as small named rules: answers (+ pilot evidence) -> cited score effects.

The rules live in three modules, registered in this order:
- ``diagnosis``: what fails and the workflow (framework sections 1, 4, 5);
- ``feasibility``: what finetuning would take: data, team, model access, serving, memory
  (sections 2, 3, 6, 7);
- ``pilot``: what a pilot measured (significant differences, failure mix, costs).

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

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from advisor.decide.evidence import Evidence
from advisor.decide.questionnaire import Answers

if TYPE_CHECKING:
    from advisor.memory import FinetunePlan

P, R, F, RF = "prompting", "rag", "finetune", "rag+finetune"
APPROACHES: tuple[str, ...] = (P, R, F, RF)  # also the tie-break order: simplest first
METHOD_LABELS = {"full": "Full finetuning", "lora": "LoRA", "qlora": "QLoRA"}
HIGH_VOLUME = 10_000  # queries a day from which a distilled smaller model usually pays off


@dataclass(frozen=True)
class Reason:
    text: str  # one or two sentences, in the product's words
    source: str  # the principle, paper or pilot measurement it rests on
    effects: dict[str, float] = field(default_factory=dict)  # approach -> score points
    answers: tuple[str, ...] = ()  # the answer keys that triggered it
    blocks: tuple[str, ...] = ()  # approaches made unavailable
    holds: tuple[str, ...] = ()  # approaches that may not be primary yet
    rule: str = ""  # filled in by the registry

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "source": self.source,
            "rule": self.rule,
            "effects": dict(self.effects),
            "answers": list(self.answers),
            "blocks": list(self.blocks),
            "holds": list(self.holds),
        }


RuleFn = Callable[[Answers, Evidence | None], Iterable[Reason]]
RULES: dict[str, RuleFn] = {}


def rule(name: str) -> Callable[[RuleFn], RuleFn]:
    """Register a rule under ``name``; registration order is evaluation and display order."""

    def register(fn: RuleFn) -> RuleFn:
        if name in RULES:
            raise ValueError(f"rule {name!r} is registered twice")
        RULES[name] = fn
        return fn

    return register


def run_rules(answers: Answers, evidence: Evidence | None = None) -> list[Reason]:
    return [replace(r, rule=name) for name, fn in RULES.items() for r in fn(answers, evidence)]


# ------------------------------------------------------------------ shared conditions


def distillation_case(a: Answers) -> bool:
    """Finetuning for cost at volume: the one reason that may skip the prompting steps."""
    return "too_slow_or_costly" in a.failures and a.can_distill and a.queries_per_day >= HIGH_VOLUME


def finetune_possible(a: Answers) -> bool:
    api_only_blocks = a.model_access == "api_only" and not distillation_case(a)
    return a.can_serve_custom_model and not api_only_blocks


def trains_locally(a: Answers) -> bool:
    """The team trains the weights itself (a provider's finetuning API needs no memory plan)."""
    return finetune_possible(a) and a.model_access != "api_finetune"


def finetune_plan_for(a: Answers) -> FinetunePlan:
    """The memory-aware method and hyperparameters for this team (the memory rule and the
    recommendation's plan ask for the same one, so it is cached)."""
    return _plan(a.model_params_b, a.gpu_memory_gb, a.labeled_examples)


@lru_cache(maxsize=256)
def _plan(params_b: float, gpu_memory_gb: float, labeled_examples: int) -> FinetunePlan:
    from advisor.memory import plan_finetune

    return plan_finetune(params_b, gpu_memory_gb, labeled_examples=labeled_examples)


# Registration order is display order: diagnosis, then feasibility, then the pilot.
from advisor.decide.rules import diagnosis, feasibility, pilot  # noqa: E402, F401
