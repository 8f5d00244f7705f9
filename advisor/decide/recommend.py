"""Combine the rules into one recommendation: scores, a primary approach, the next step.

How scores combine (kept simple so a reader can redo it by hand):
1. every approach starts at 0 and each reason adds its ``effects``;
2. an approach a reason ``blocks`` (API-only model, nothing to serve it with) is set to
   ``UNAVAILABLE``: a hard constraint is not a preference and no other answer outweighs it;
3. an approach a reason ``holds`` (finetuning before prompting was done systematically) is
   capped ``HOLD_MARGIN`` below the best approach that is free to win: it may rank second,
   never first;
4. ties go to the simpler approach (prompting < RAG < finetuning < both).
Every change to a score, including the caps, is recorded in ``contributions`` so the report
can show which answers moved which score.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any

from advisor.decide.evidence import FINETUNE_ARMS, Evidence
from advisor.decide.questionnaire import Answers
from advisor.decide.rules import (
    APPROACHES,
    METHOD_LABELS,
    RF,
    RULES,
    F,
    P,
    R,
    Reason,
    distillation_case,
    finetune_plan_for,
    run_rules,
    trains_locally,
)
from advisor.decide.rules.pilot_curve import curve_next_step

UNAVAILABLE = -10.0  # score of an approach a hard constraint rules out
HOLD_MARGIN = 0.5  # how far below the best free approach a held one is capped
CONFIDENCE = ((2.0, "high"), (0.75, "medium"))  # margin between the top two -> label
CONFIDENCE_ORDER = ("low", "medium", "high")

__all__ = ["APPROACHES", "Contribution", "Reason", "Recommendation", "recommend"]


@dataclass(frozen=True)
class Contribution:
    rule: str  # the rule that moved the score
    delta: float  # points added (negative: removed)
    answers: tuple[str, ...]  # the answer keys behind it

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "delta": self.delta, "answers": list(self.answers)}


@dataclass(frozen=True)
class Recommendation:
    primary: str  # one of APPROACHES
    scores: dict[str, float]  # approach -> points, higher = more suitable
    next_step: str  # one concrete action
    reasons: list[Reason]
    finetune_plan: dict[str, Any] | None  # FinetunePlan.to_dict(); None if nothing fits
    contributions: dict[str, list[Contribution]]
    confidence: str  # "low", "medium" or "high": the margin between the top two
    ranking: list[str]  # approaches, best first
    unavailable: dict[str, str]  # approach -> why a hard constraint rules it out
    held: dict[str, str]  # approach -> why it must wait (workflow order)
    pilot: str | None = None  # where the weighed evidence came from

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON object (primary, scores, next_step, reasons, finetune_plan)
        plus ranking, confidence, contributions, unavailable, held and pilot."""
        return {
            "primary": self.primary,
            "scores": dict(self.scores),
            "next_step": self.next_step,
            "reasons": [r.to_dict() for r in self.reasons],
            "finetune_plan": self.finetune_plan,
            "ranking": list(self.ranking),
            "confidence": self.confidence,
            "contributions": {a: [c.to_dict() for c in cs] for a, cs in self.contributions.items()},
            "unavailable": dict(self.unavailable),
            "held": dict(self.held),
            "pilot": self.pilot,
        }


def recommend(
    answers: Answers, evidence: Evidence | None = None, *, answered: Collection[str] | None = None
) -> Recommendation:
    """Run every rule, combine the effects, and turn the winner into a next step.

    ``answered`` names the questions the user really answered (the app knows; an answers
    file gives every key it holds). A question left at its default does not count as an
    answer: points that rest only on unanswered questions cannot raise the confidence.
    ``None`` counts every answer (the contract's ``advisor recommend``).
    """
    reasons = run_rules(answers, evidence)
    scores = dict.fromkeys(APPROACHES, 0.0)
    contributions: dict[str, list[Contribution]] = {a: [] for a in APPROACHES}

    def move(approach: str, delta: float, reason: Reason) -> None:
        scores[approach] = round(scores[approach] + delta, 3)
        contributions[approach].append(Contribution(reason.rule, round(delta, 3), reason.answers))

    for reason in reasons:
        for approach, delta in reason.effects.items():
            move(approach, delta, reason)
    blocked = _first_reason(reasons, "blocks")
    for approach, reason in blocked.items():
        move(approach, UNAVAILABLE - scores[approach], reason)
    held = {a: r for a, r in _first_reason(reasons, "holds").items() if a not in blocked}
    free = [scores[a] for a in APPROACHES if a not in blocked and a not in held]
    ceiling = max(free or scores.values()) - HOLD_MARGIN
    for approach, reason in held.items():
        if scores[approach] > ceiling:
            move(approach, ceiling - scores[approach], reason)

    ranking = sorted(APPROACHES, key=lambda a: (-scores[a], APPROACHES.index(a)))
    primary = ranking[0]
    margin = scores[ranking[0]] - scores[ranking[1]]
    confidence = _confidence(margin)
    if answered is not None:
        confidence = min(
            confidence,
            _confidence(_answered_margin(primary, contributions, set(answered))),
            key=CONFIDENCE_ORDER.index,
        )
    plan = None
    if {F, RF} & set(ranking[:2]) and trains_locally(answers):
        plan = finetune_plan_for(answers).to_dict()
    return Recommendation(
        primary=primary,
        scores=scores,
        next_step=_next_step(answers, primary, blocked, plan, evidence),
        reasons=_for_primary_first(reasons, primary),
        # the contract's plan always names a method; "nothing fits" is said by the
        # memory_fit reason and the next step instead
        finetune_plan=plan if plan and plan.get("method") else None,
        contributions=contributions,
        confidence=confidence,
        ranking=ranking,
        unavailable={a: r.text for a, r in blocked.items()},
        held={a: r.text for a, r in held.items()},
        pilot=evidence.origin if evidence is not None else None,
    )


def _for_primary_first(reasons: list[Reason], primary: str) -> list[Reason]:
    """Reasons that favour the recommendation first, those that favour another option last
    (each group in rule order): a RAG recommendation must not open with the case for
    prompting. A reason's stance is its points for the primary minus its best for another.
    """

    def stance(r: Reason) -> float:
        others = [r.effects.get(a, 0.0) for a in APPROACHES if a != primary]
        return r.effects.get(primary, 0.0) - max(others)

    return sorted(reasons, key=lambda r: -((stance(r) > 0) - (stance(r) < 0)))


def _confidence(margin: float) -> str:
    return next((label for floor, label in CONFIDENCE if margin >= floor), "low")


def _answered_margin(
    primary: str, contributions: dict[str, list[Contribution]], answered: set[str]
) -> float:
    """The primary's lead counting only points from answered questions and the pilot's
    measurements; priors that rest on no answer (e.g. "simpler first") do not count."""
    measured = {name for name, fn in RULES.items() if fn.__module__ == "advisor.decide.rules.pilot"}

    def counts(c: Contribution) -> bool:
        return (bool(c.answers) and set(c.answers) <= answered) or c.rule in measured

    counted = {a: sum(c.delta for c in items if counts(c)) for a, items in contributions.items()}
    rivals = [v for a, v in counted.items() if a != primary]
    return counted[primary] - max(rivals) if rivals else 0.0


def _first_reason(reasons: list[Reason], attr: str) -> dict[str, Reason]:
    """approach -> the first reason that blocks (or holds) it."""
    found: dict[str, Reason] = {}
    for reason in reasons:
        for approach in getattr(reason, attr):
            found.setdefault(approach, reason)
    return found


def _beat_prompting(ev: Evidence, arms: tuple[str, ...]) -> bool:
    """Did one of ``arms`` significantly beat the best prompting arm in the pilot?"""
    for arm in arms:
        c = ev.versus_prompting(arm)[0]
        if c is not None and c.significant and c.diff > 0:
            return True
    return False


_PILOT = "advisor pilot --data EXAMPLES --out RUN_DIR --arms"
_PILOT_KB = "advisor pilot --data EXAMPLES --kb DOCS --out RUN_DIR --arms"


def _next_step(
    a: Answers,
    primary: str,
    blocked: dict[str, Reason],
    plan: dict[str, Any] | None,
    ev: Evidence | None,
) -> str:
    """One concrete action, following the workflow: the earliest unfinished step first.

    What a real pilot already did counts as done: it scored prompts on held-out items
    (systematic prompting, few-shot when it ran that arm), and a step never asks to run
    arms the pilot has just measured.
    """
    if ev is not None and ev.prompting_evaluated:
        a = replace(
            a,
            prompting_effort="systematic",
            few_shot_tried=a.few_shot_tried or ev.few_shot_evaluated,
        )
    if a.prompting_effort == "none" and not distillation_case(a):
        then = {
            P: "then fix the failures it shows one prompt version at a time",
            R: "then add a BM25 retriever over your documents",
            F: "then add few-shot examples before any training",
            RF: "then add a BM25 retriever before any training",
        }[primary]
        if primary == P and a.behaviour_failures:
            then = "then add few-shot examples that show exactly the output you want"
        return (
            "Version your prompts and build a 50-example evaluation set before anything "
            f"else; {then}."
        )
    if primary == P:
        return _next_prompting_step(a, blocked)
    if primary in (R, RF) and not a.knowledge_source:
        return (
            "Collect the documents or records that hold the missing facts into a knowledge "
            "base (CSV or JSONL with id and text, or a folder of .txt/.md files)."
        )
    if primary == R:
        if _already_ran(ev, ("bm25_rag", "faiss_rag")):
            assert ev is not None
            best = ev.best_of(("bm25_rag", "faiss_rag")) or "bm25_rag"
            kind = "BM25" if best == "bm25_rag" else "embedding-based (vector)"
            return (
                f"Build {kind} retrieval over your documents into your application (it scored "
                "best of the retrievers your pilot measured), and add every answer it gets "
                "wrong to your evaluation set to fix retrieval misses one by one."
            )
        if ev is not None and not ev.smoke and _beat_prompting(ev, ("bm25_rag",)):
            return (
                "Keep BM25 retrieval and try embedding-based or hybrid retrieval for the "
                f"remaining information failures: `{_PILOT_KB} bm25_rag,faiss_rag`."
            )
        if _already_ran(ev, ("bm25_rag",)):
            assert ev is not None
            items = f"{ev.n_test} test items" if ev.n_test else "its test items"
            return (
                f"Your pilot measured BM25 retrieval, but on {items} it did not beat "
                "prompting beyond chance: run it again on more examples (100 or more test "
                "items) with the retrievers side by side: "
                f"`{_PILOT_KB} few_shot,bm25_rag,faiss_rag`."
            )
        return (
            "Add a BM25 retriever over your documents and measure it against your best "
            f"prompt: `{_PILOT_KB} few_shot,bm25_rag,faiss_rag`."
        )
    if primary == RF:
        if _already_ran(ev, ("bm25_rag", "lora", "lora_rag")):
            return (
                "Build the RAG part into your application first (a BM25 retriever over your "
                "documents), then train the LoRA adapter on all your examples and check the "
                "combination against RAG alone on a held-out set before serving it."
            )
        return (
            "Start with the RAG part (a BM25 retriever over your documents), then test "
            f"whether finetuning adds to it: `{_PILOT_KB} few_shot,bm25_rag,lora,lora_rag`."
        )
    return _next_finetune_step(a, plan, ev)


def _already_ran(ev: Evidence | None, arms: tuple[str, ...]) -> bool:
    """A real pilot measured every one of ``arms``: a next step must not ask for them."""
    return ev is not None and not ev.smoke and all(ev.ok_arms((arm,)) for arm in arms)


def _next_prompting_step(a: Answers, blocked: dict[str, Reason]) -> str:
    if not a.few_shot_tried:
        return (
            "Add 5-10 worked (input, output) examples to your prompt (few-shot) and re-run "
            "your evaluation set."
        )
    if a.prompting_effort != "systematic":
        return (
            "Make prompting systematic: version every prompt and score each version on a "
            "fixed 50-example evaluation set before trying anything heavier."
        )
    if not a.failures:
        return (
            "Keep iterating on prompts: add every new failure to your evaluation set and "
            "re-run it on each prompt version."
        )
    if "too_slow_or_costly" in a.failures and not distillation_case(a):
        return (
            "Cut cost within prompting first: shorten the prompt, cache repeated calls and "
            "try a smaller prompted model on your evaluation set."
        )
    if F in blocked and a.behaviour_failures:
        return (
            "Finetuning is ruled out as things stand, so attack the behaviour failures with "
            "stricter instructions, output schemas and more examples; to finetune later, "
            "move to a model and a setup you can finetune and serve."
        )
    return (
        "Work through the failing cases of your evaluation set with prompt changes, one "
        "versioned change at a time."
    )


def _next_finetune_step(a: Answers, plan: dict[str, Any] | None, ev: Evidence | None) -> str:
    if (step := curve_next_step(ev)) is not None:  # a rising data curve: collect data first
        return step
    n = a.labeled_examples
    pilot = f"`{_PILOT} few_shot,lora`"
    if n < 50 and a.can_distill:
        return (
            "Have your strongest model write outputs for 100 or more real inputs, review "
            f"them, then test finetuning on that set: {pilot}."
        )
    if n < 50:
        return (
            "Collect 50-100 good (input, output) examples: enough to test whether finetuning "
            "helps at all."
        )
    if a.model_access == "api_finetune":
        return (
            f"Run a small finetuning job on your provider's API with your {n:,} examples and "
            "compare it with your best prompt on the evaluation set."
        )
    method = METHOD_LABELS.get(str((plan or {}).get("method")), "QLoRA")
    if plan is not None and a.gpu_memory_gb == 0:
        # the GPU must hold the estimate plus the plan's safety margin
        need = math.ceil(plan["train_memory_gb"] * (1 + plan.get("safety_margin", 0.2)))
        return (
            f"Get a GPU with at least {need} GB for {method}, then run {pilot} on your "
            f"{n:,} examples."
        )
    if plan is not None and not plan.get("fits"):
        smaller = plan.get("largest_qlora_params_b")
        size = f"a model of about {smaller:g}B or smaller" if smaller else "a smaller model"
        return f"Pick {size} or a larger GPU so training fits, then run {pilot}."
    if ev is not None and not ev.smoke and _beat_prompting(ev, FINETUNE_ARMS):
        return (
            f"Train the {method} adapter on all {n:,} examples and re-check it against your "
            "best prompt on a held-out set before serving it."
        )
    if distillation_case(a):
        return (
            "Distil: have your strongest model label your real inputs, finetune the "
            f"{a.model_params_b:g}B model on them with {method}, and check it on your "
            f"evaluation set: {pilot}."
        )
    if (plan or {}).get("method") == "full":
        return (
            f"Test finetuning with a LoRA pilot on your {n:,} examples before a full "
            f"finetuning run: {pilot}."
        )
    rank = (plan or {}).get("rank")
    detail = f" ({method}, rank {rank})" if rank else ""
    if _already_ran(ev, ("few_shot", "lora")):  # the pilot has just compared them
        return (
            f"Your pilot compared LoRA with few-shot prompting without a clear win: grow the "
            f"held-out set before training on all {n:,} examples{detail}, so a real "
            "difference can show."
        )
    return f"Test finetuning on your {n:,} examples{detail} against your best prompt: {pilot}."
