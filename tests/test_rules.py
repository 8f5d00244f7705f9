"""Each answer rule on its own: what it says, what it moves, what it blocks or holds.

The pilot rules are tested with hand-written results in tests/test_evidence.py.
"""

from __future__ import annotations

import pytest

from advisor.decide.citations import SOURCES, cite
from advisor.decide.questionnaire import parse_answers
from advisor.decide.rules import RF, RULES, F, P, R, Reason, rule, run_rules


def A(**kw):
    return parse_answers(kw)


def fire(name: str, answers) -> list[Reason]:
    return list(RULES[name](answers, None))


def one(name: str, answers) -> Reason:
    reasons = fire(name, answers)
    assert len(reasons) == 1, reasons
    return reasons[0]


SYSTEMATIC = {"prompting_effort": "systematic", "few_shot_tried": True}
DISTIL = {"failures": ["too_slow_or_costly"], "can_distill": True, "queries_per_day": 20_000}
FT_OK = {"can_serve_custom_model": True, "gpu_memory_gb": 24.0}
FT = (F, RF)

# (rule, answers, expected effects (exact), expected blocks, expected holds, text fragment)
# effects None = the rule must stay silent for these answers.
UNIT = [
    ("complexity", {}, {P: 1.0, F: -0.5, RF: -1.0}, (), (), "starting point"),
    ("workflow_order", {}, {P: 2.25}, (), FT, "not systematic"),
    (
        "workflow_order",
        {"prompting_effort": "basic", "few_shot_tried": True},
        {P: 0.75},
        (),
        FT,
        "'basic'",
    ),
    (
        "workflow_order",
        {**SYSTEMATIC, "failures": ["wrong_format"]},
        {P: -1.0},
        (),
        (),
        "moving past prompting",
    ),
    ("workflow_order", SYSTEMATIC, None, (), (), ""),
    ("workflow_order", DISTIL, {}, (), (), "distillation"),
    ("no_failures", {"prompting_effort": "basic"}, {P: 2.0}, (), (), "Keep iterating"),
    ("no_failures", {}, {P: 0.5}, (), (), "not been evaluated"),
    ("no_failures", {"failures": ["wrong_style"]}, None, (), (), ""),
    (
        "information_failures",
        {"failures": ["missing_knowledge", "outdated_knowledge"]},
        {R: 3.0, RF: 2.0, P: -1.0},
        (),
        (),
        "missing_knowledge, outdated_knowledge",
    ),
    (
        "information_failures",
        {"failures": ["wrong_format"]},
        {R: -1.0},
        (),
        (),
        "nothing for retrieval",
    ),
    (
        "information_failures",
        {"failures": ["wrong_format"], "needs_citations": True},
        None,
        (),
        (),
        "",
    ),
    ("information_failures", {}, None, (), (), ""),
    (
        "behaviour_failures",
        {"failures": ["wrong_format", "wrong_style", "unsafe_output"]},
        {F: 3.5, RF: 2.5, P: -0.5},
        (),
        (),
        "form",
    ),
    (
        "behaviour_failures",
        {"failures": ["missing_knowledge"]},
        {F: -1.0},
        (),
        (),
        "nothing for finetuning",
    ),
    ("behaviour_failures", DISTIL, None, (), (), ""),
    (
        "both_failure_kinds",
        {"failures": ["hallucinated_facts", "ignores_instructions"]},
        {RF: 2.0},
        (),
        (),
        "Combine",
    ),
    ("both_failure_kinds", {"failures": ["hallucinated_facts"]}, None, (), (), ""),
    (
        "freshness",
        {"knowledge_change": "daily"},
        {R: 1.5, RF: 1.0, F: -1.0, P: -0.5},
        (),
        (),
        "daily",
    ),
    (
        "freshness",
        {"knowledge_change": "monthly"},
        {R: 0.75, RF: 0.5, F: -0.5, P: -0.25},
        (),
        (),
        "monthly",
    ),
    ("freshness", {}, None, (), (), ""),
    (
        "citations",
        {"needs_citations": True},
        {R: 2.0, RF: 1.5, F: -0.5, P: -1.0},
        (),
        (),
        "cite sources",
    ),
    ("citations", {}, None, (), (), ""),
    (
        "knowledge_source",
        {"failures": ["missing_knowledge"]},
        {R: -1.0, RF: -1.0},
        (),
        (),
        "collect the documents",
    ),
    (
        "knowledge_source",
        {"failures": ["missing_knowledge"], "knowledge_source": True},
        {R: 0.5, RF: 0.5},
        (),
        (),
        "retriever",
    ),
    ("knowledge_source", {"failures": ["wrong_format"]}, None, (), (), ""),
    ("finetune_data", {"labeled_examples": 10}, {F: -1.5, RF: -1.5}, (), (), "even to test"),
    (
        "finetune_data",
        {"labeled_examples": 10, "can_distill": True},
        {F: -0.5, RF: -0.5},
        (),
        (),
        "distillation",
    ),
    ("finetune_data", {"labeled_examples": 60}, {}, (), (), "enough to test"),
    ("finetune_data", {"labeled_examples": 800}, {F: 0.5, RF: 0.5}, (), (), "LoRA"),
    ("finetune_data", {"labeled_examples": 40_000}, {F: 0.75, RF: 0.75}, (), (), "full finetuning"),
    (
        "ml_expertise",
        {"ml_expertise": "none"},
        {F: -1.5, RF: -1.5, R: -0.25},
        (),
        (),
        "No ML expertise",
    ),
    ("ml_expertise", {"ml_expertise": "strong"}, {F: 0.5, RF: 0.5}, (), (), "Strong"),
    ("ml_expertise", {}, None, (), (), ""),
    ("model_access", {"model_access": "api_only"}, {}, FT, (), "API-only"),
    ("model_access", {"model_access": "api_only", **DISTIL}, {}, (), (), "smaller open-weights"),
    ("model_access", {"model_access": "api_finetune"}, {}, (), (), "provider"),
    ("model_access", {}, None, (), (), ""),
    ("serving", {"can_serve_custom_model": False}, {}, FT, (), "cannot serve"),
    ("serving", {}, None, (), (), ""),  # the default: serving is possible
    ("multi_task", {"multi_task": True}, {F: -0.5, RF: -0.5}, (), (), "adapter per task"),
    ("multi_task", {}, None, (), (), ""),
    ("cost_at_volume", DISTIL, {F: 3.0}, (), (), "60x smaller"),
    (
        "cost_at_volume",
        {"failures": ["too_slow_or_costly"]},
        {P: 0.5, R: -0.5, RF: -0.5},
        (),
        (),
        "no stronger model",
    ),
    ("cost_at_volume", {}, None, (), (), ""),
    ("memory_fit", FT_OK, {}, (), (), "LoRA of a 7B model fits in 24 GB"),
    ("memory_fit", {**FT_OK, "gpu_memory_gb": 0.0}, {F: -0.5, RF: -0.5}, (), (), "No accelerator"),
    (
        "memory_fit",
        {**FT_OK, "gpu_memory_gb": 8.0, "model_params_b": 70.0},
        {F: -1.0, RF: -1.0},
        (),
        (),
        "Nothing fits",
    ),
    # cannot serve: no plan to make
    ("memory_fit", {"gpu_memory_gb": 24.0, "can_serve_custom_model": False}, None, (), (), ""),
    ("memory_fit", {**FT_OK, "model_access": "api_finetune"}, None, (), (), ""),
]


@pytest.mark.parametrize(
    ("name", "answers", "effects", "blocks", "holds", "fragment"),
    UNIT,
    ids=[f"{u[0]}-{i}" for i, u in enumerate(UNIT)],
)
def test_rule(name, answers, effects, blocks, holds, fragment):
    reasons = fire(name, A(**answers))
    if effects is None:
        assert reasons == []
        return
    r = one(name, A(**answers))
    assert r.effects == pytest.approx(effects)
    assert r.blocks == blocks and r.holds == holds
    assert fragment in r.text
    assert r.source  # every reason cites something
    assert set(r.answers) <= {f for f in A().__dataclass_fields__}


def test_every_answer_rule_has_unit_cases():
    answer_rules = {n for n in RULES if not n.startswith("pilot_")}
    assert answer_rules == {u[0] for u in UNIT}


def test_rules_are_conditional():
    """A rule that always fires says nothing about the team; only the baseline (complexity)
    and the data count (every count is informative) speak for every team."""
    silent = {u[0] for u in UNIT if u[2] is None}
    always = {"complexity", "finetune_data"}
    assert {n for n in RULES if not n.startswith("pilot_")} - silent == always


def test_run_rules_names_each_reason_after_its_rule():
    reasons = run_rules(A(failures=["wrong_format"]))
    assert reasons and all(r.rule in RULES for r in reasons)
    order = list(RULES)
    assert [order.index(r.rule) for r in reasons] == sorted(order.index(r.rule) for r in reasons)


def test_registering_a_name_twice_fails():
    with pytest.raises(ValueError, match="twice"):
        rule("complexity")(lambda a, ev: [])


def test_cite_joins_chapter_sections_then_papers():
    text = cite("info_vs_behaviour", "workflow", "ovadia2024")
    assert text.count("AI Engineering") == 1
    assert "§4" in text and "§5" in text and text.endswith('in LLMs"')
    with pytest.raises(KeyError, match="nope"):
        cite("nope")
    assert all(s.citation for s in SOURCES.values())
