"""Diagnosis rules: what fails, and where the team is in the workflow.

Framework sections 1 (what each approach changes), 4 (information vs behaviour failures:
finetuning is for form, RAG is for facts) and 5 (the order to try things). These decide
*which* approach fits; ``feasibility`` decides what it would take.
"""

from __future__ import annotations

from collections.abc import Iterator

from advisor.decide.citations import cite
from advisor.decide.evidence import PROMPTING_ARMS, Evidence
from advisor.decide.questionnaire import Answers
from advisor.decide.rules import RF, F, P, R, Reason, distillation_case, rule


@rule("complexity")
def complexity(a: Answers, ev: Evidence | None) -> Iterator[Reason]:
    yield Reason(
        "Each step up costs more: RAG adds a retriever, an index and latency; finetuning adds "
        "data, training, serving and maintenance. Prompting is always the starting point.",
        cite("approaches"),
        {P: 1.0, F: -0.5, RF: -1.0},
    )


@rule("workflow_order")
def workflow_order(a: Answers, ev: Evidence | None) -> Iterator[Reason]:
    keys = ("prompting_effort", "few_shot_tried")
    # A real pilot that scored prompts on held-out items IS systematic prompting (a fixed
    # prompt evaluated on a test set); its few-shot arm is few-shot prompting tried.
    piloted = ev is not None and ev.prompting_evaluated
    effort = "systematic" if piloted else a.prompting_effort
    few_shot = a.few_shot_tried or (ev is not None and ev.few_shot_evaluated)
    if piloted:
        keys = () if few_shot and not a.few_shot_tried else ("few_shot_tried",)
    if effort == "systematic" and few_shot:
        if piloted:
            yield Reason(
                f"{_pilot_prompting(ev)}: that is the systematic prompting, with examples, that "
                "the workflow asks for first, so what the pilot measured for RAG and finetuning "
                "may decide.",
                f"{cite('workflow')}; pilot: {ev.origin}",
                {P: -1.0} if a.failures else {},
                ("failures",) if a.failures else (),
            )
        elif a.failures:
            yield Reason(
                "Prompting was tried systematically, with few-shot examples, and still fails: "
                "moving past prompting is justified.",
                cite("workflow"),
                {P: -1.0},
                keys,
            )
        return
    missing = [_pilot_prompting(ev)] if piloted else []
    if effort != "systematic":
        missing.append(f"prompting effort is '{a.prompting_effort}', not systematic")
    if not few_shot:
        missing.append("few-shot examples were not tried")
    gain = {"none": 1.5, "basic": 0.75}.get(effort, 0.0)
    gain += 0.0 if few_shot else 0.75
    if distillation_case(a):
        # Quality is not the problem, so more prompt work is not the gate it usually is.
        tail = (
            "Finetuning may still come first here: the reason is cost at volume "
            "(distillation), not quality."
        )
        gain, holds = 0.0, ()
    else:
        tail = (
            "Finetuning waits until prompts are versioned, evaluated on a test set and given "
            "examples: many 'we need finetuning' cases are fixed there."
        )
        holds = (F, RF)
    yield Reason(
        f"Workflow order: {'; '.join(missing)}. {tail}",
        cite("workflow", "reasons_not_to_finetune"),
        {P: gain} if gain else {},
        keys,
        holds=holds,
    )


def _pilot_prompting(ev: Evidence) -> str:
    """'The pilot evaluated zero_shot, few_shot on 57 held-out examples (few_shot scored ...)'."""
    arms = ev.ok_arms(PROMPTING_ARMS)
    best = ev.best_of(PROMPTING_ARMS)
    score = ev.mean(best) if best else None
    measured = f" ({best} scored {score:.2f} {ev.metric})" if score is not None else ""
    held_out = f"{ev.n_test} held-out examples" if ev.n_test else "a held-out test set"
    return f"The pilot evaluated {' and '.join(arms)} prompts on {held_out}{measured}"


@rule("no_failures")
def no_failures(a: Answers, ev: Evidence | None) -> Iterator[Reason]:
    if a.failures or (ev is not None and ev.prompting_evaluated):
        return  # failures were reported, or the pilot measured how well prompting does
    if a.prompting_effort == "none":
        # nobody has looked yet: absence of failures is not evidence that prompting works
        yield Reason(
            "No failures reported, but prompting has not been evaluated yet: build a small "
            "evaluation set to find out what fails before choosing anything heavier.",
            cite("workflow"),
            {P: 0.5},
            ("failures", "prompting_effort"),
        )
        return
    yield Reason(
        "No failures reported: prompting works. Keep iterating on prompts and add every "
        "new failure to your evaluation set.",
        cite("workflow"),
        {P: 2.0},
        ("failures", "prompting_effort"),
    )


@rule("information_failures")
def information_failures(a: Answers, ev: Evidence | None) -> Iterator[Reason]:
    info = a.information_failures
    if info:
        extra = 0.5 * (len(info) - 1)
        yield Reason(
            f"Information failures ({', '.join(info)}): the model lacks facts, and RAG adds "
            "them at inference time. On knowledge-heavy tasks RAG beat unsupervised "
            "finetuning, and finetuning on top of RAG often did not help.",
            cite("info_vs_behaviour", "ovadia2024"),
            {R: 2.5 + extra, RF: 1.5 + extra, P: -1.0},
            ("failures",),
        )
    elif a.failures and not a.needs_citations and a.knowledge_change == "static":
        yield Reason(
            "No information failures, no citations, static knowledge: nothing for retrieval "
            "to fix. RAG adds facts, not form.",
            cite("info_vs_behaviour"),
            {R: -1.0},
            ("failures", "needs_citations", "knowledge_change"),
        )


@rule("behaviour_failures")
def behaviour_failures(a: Answers, ev: Evidence | None) -> Iterator[Reason]:
    behaviour = a.behaviour_failures
    if behaviour:
        extra = 0.5 * (len(behaviour) - 1)
        yield Reason(
            f"Behaviour failures ({', '.join(behaviour)}): the facts are there but the form, "
            "style, safety or skill is not. Finetuning is for form, RAG is for facts.",
            cite("info_vs_behaviour", "reasons_to_finetune"),
            {F: 2.5 + extra, RF: 1.5 + extra, P: -0.5},
            ("failures",),
        )
    elif a.failures and not distillation_case(a):
        yield Reason(
            "No behaviour failures: nothing for finetuning to fix. Finetuning is for form; "
            "finetuning facts in is weaker than retrieving them.",
            cite("info_vs_behaviour", "ovadia2024"),
            {F: -1.0},
            ("failures",),
        )


@rule("both_failure_kinds")
def both_failure_kinds(a: Answers, ev: Evidence | None) -> Iterator[Reason]:
    if a.information_failures and a.behaviour_failures:
        yield Reason(
            "Both kinds of failure: RAG for the missing facts, finetuning for the behaviour. "
            "Combine them, starting with the RAG part.",
            cite("info_vs_behaviour", "workflow"),
            {RF: 2.0},
            ("failures",),
        )


@rule("freshness")
def freshness(a: Answers, ev: Evidence | None) -> Iterator[Reason]:
    if a.knowledge_change != "static":
        d = 1.5 if a.knowledge_change == "daily" else 0.75
        yield Reason(
            f"The information changes {a.knowledge_change}: RAG picks up new documents without "
            "retraining, while facts finetuned into weights go stale and a prompted model "
            "never saw them.",
            cite("info_vs_behaviour"),
            {R: d, RF: d * 2 / 3, F: -d * 2 / 3, P: -d / 3},
            ("knowledge_change",),
        )


@rule("citations")
def citations(a: Answers, ev: Evidence | None) -> Iterator[Reason]:
    if a.needs_citations:
        # a requirement, not a failure: no prompt makes a model cite documents it never saw
        yield Reason(
            "Answers must cite sources: RAG knows which documents it retrieved; neither a "
            "prompted nor a finetuned model can say where a fact came from.",
            cite("info_vs_behaviour", "lewis2020"),
            {R: 2.0, RF: 1.5, F: -0.5, P: -1.0},
            ("needs_citations",),
        )


@rule("knowledge_source")
def knowledge_source(a: Answers, ev: Evidence | None) -> Iterator[Reason]:
    if not (a.information_failures or a.needs_citations or a.knowledge_change != "static"):
        return
    if a.knowledge_source:
        yield Reason(
            "Documents or a database hold the information: a retriever can start from them.",
            cite("workflow", "lewis2020"),
            {R: 0.5, RF: 0.5},
            ("knowledge_source",),
        )
    else:
        yield Reason(
            "RAG needs a knowledge source and none was reported: collect the documents or "
            "database that hold the missing facts first.",
            cite("approaches", "lewis2020"),
            {R: -1.0, RF: -1.0},
            ("knowledge_source",),
        )
