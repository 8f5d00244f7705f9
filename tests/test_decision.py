"""The decision engine end to end: answers -> primary, plan, next step, cited reasons.

The table below is the framework as test cases; each id names the section it protects
(s2 reasons to finetune, s3 reasons not to, s4 information vs behaviour, s5 workflow,
s6 data, s7 memory).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor.decide.questionnaire import QUESTIONS, Answers, parse_answers
from advisor.decide.recommend import HOLD_MARGIN, UNAVAILABLE, Recommendation, recommend
from advisor.decide.rules import APPROACHES, distillation_case


def team(**overrides) -> Answers:
    """A team that did its prompting homework and could finetune: only the overrides vary."""
    base = {
        "prompting_effort": "systematic",
        "few_shot_tried": True,
        "knowledge_source": True,
        "can_serve_custom_model": True,
        "labeled_examples": 500,
        "gpu_memory_gb": 24,
        "model_params_b": 7,
    }
    return parse_answers({**base, **overrides})


def _distil(**overrides) -> Answers:
    doc = {"failures": ["too_slow_or_costly"], "can_distill": True, "queries_per_day": 100_000,
           "can_serve_custom_model": True, "gpu_memory_gb": 24, "model_params_b": 1,
           "prompting_effort": "basic", "few_shot_tried": True}  # fmt: skip
    return parse_answers({**doc, **overrides})


# (id naming the framework section, answers, expected primary, checks)
# checks: "plan" -> expected finetune_plan method (None = no plan), "source"/"rule" -> some
# reason must carry it, "step" -> substring of next_step, "unavailable"/"held" -> approaches.
CASES = [
    ("s5-defaults-start-with-prompting", Answers(), "prompting",
     {"plan": None, "step": "50-example evaluation set", "held": {"finetune"}}),
    ("s4-citations-over-daily-docs-rag-even-before-prompting",
     Answers(needs_citations=True, knowledge_change="daily", knowledge_source=True), "rag",
     {"rule": "citations"}),
    ("s5-no-failures-keep-iterating", team(failures=[]), "prompting",
     {"step": "Keep iterating", "rule": "no_failures"}),
    ("s4-missing-knowledge-rag", team(failures=["missing_knowledge"]), "rag",
     {"source": "Ovadia et al. 2024", "step": "BM25"}),
    ("s4-outdated-daily-rag", team(failures=["outdated_knowledge"], knowledge_change="daily"),
     "rag", {"rule": "freshness"}),
    ("s4-hallucinations-with-citations-rag",
     team(failures=["hallucinated_facts"], needs_citations=True), "rag",
     {"source": "Lewis et al. 2020"}),
    ("s4-rag-without-documents-collects-them-first",
     team(failures=["missing_knowledge"], knowledge_source=False), "rag",
     {"step": "Collect the documents"}),
    ("s4-wrong-format-finetune-lora", team(failures=["wrong_format"]), "finetune",
     {"plan": "lora", "source": "Hu et al. 2021", "step": "advisor pilot"}),
    ("s2-weak-domain-skill-qlora-on-8gb", team(failures=["weak_domain_skill"], gpu_memory_gb=8),
     "finetune", {"plan": "qlora", "source": "Dettmers et al. 2023"}),
    ("s2-safety-and-instructions-finetune",
     team(failures=["unsafe_output", "ignores_instructions"]), "finetune", {"plan": "lora"}),
    ("s4-both-kinds-rag-plus-finetune", team(failures=["missing_knowledge", "wrong_style"]),
     "rag+finetune", {"plan": "lora", "rule": "both_failure_kinds", "step": "lora_rag"}),
    ("s5-basic-prompting-holds-finetune",
     team(failures=["wrong_format"], prompting_effort="basic"), "prompting",
     {"held": {"finetune", "rag+finetune"}, "step": "systematic"}),
    ("s5-few-shot-first", team(failures=["wrong_format"], few_shot_tried=False), "prompting",
     {"held": {"finetune"}, "step": "few-shot"}),
    ("s3-api-only-blocks-finetune", team(failures=["wrong_format"], model_access="api_only"),
     "prompting", {"unavailable": {"finetune", "rag+finetune"}, "plan": None}),
    ("s3-cannot-serve-blocks-finetune",
     team(failures=["wrong_format", "missing_knowledge"], can_serve_custom_model=False), "rag",
     {"unavailable": {"finetune", "rag+finetune"}, "plan": None}),
    ("s3-provider-finetuning-api-no-local-plan",
     team(failures=["wrong_format"], model_access="api_finetune"), "finetune",
     {"plan": None, "step": "provider's API"}),
    ("s2-distillation-at-volume-skips-the-wait", _distil(labeled_examples=0), "finetune",
     {"plan": "lora", "rule": "cost_at_volume", "step": "strongest model"}),
    ("s2-distillation-from-an-api-only-model", _distil(model_access="api_only"), "finetune",
     {"plan": "lora", "step": "strongest model"}),
    ("s2-slow-without-a-teacher-stays-prompting",
     team(failures=["too_slow_or_costly"], queries_per_day=500), "prompting",
     {"step": "cache", "rule": "cost_at_volume"}),
    ("s6-too-few-examples-collect-data", team(failures=["wrong_format"], labeled_examples=10),
     "finetune", {"step": "Collect 50-100"}),
    ("s6-tens-of-thousands-full-finetuning",
     team(failures=["wrong_format"], labeled_examples=50_000, gpu_memory_gb=200,
          model_params_b=1), "finetune", {"plan": "full"}),
    ("s3-no-expertise-no-data-stays-prompting",
     team(failures=["wrong_style"], ml_expertise="none", labeled_examples=10), "prompting",
     {"rule": "ml_expertise"}),
    ("s7-no-accelerator-plan-says-rent-one", team(failures=["wrong_format"], gpu_memory_gb=0),
     "finetune", {"plan": "lora", "step": "Get a GPU", "rule": "memory_fit"}),
    ("s7-nothing-fits-pick-smaller-model",
     team(failures=["wrong_format"], model_params_b=70, gpu_memory_gb=8), "finetune",
     {"plan": None, "step": "Pick a model", "source": "memory math"}),
    ("s3-multi-task-one-adapter-per-task", team(failures=["wrong_format"], multi_task=True),
     "finetune", {"rule": "multi_task"}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("answers", "primary", "checks"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_framework_table(answers, primary, checks):
    rec = recommend(answers)
    assert rec.primary == primary, (rec.scores, [r.rule for r in rec.reasons])
    if "plan" in checks:
        method = checks["plan"]
        if method is None:  # the contract's plan always names a method, or is null
            assert rec.finetune_plan is None
        else:
            assert rec.finetune_plan is not None and rec.finetune_plan["method"] == method
    if "source" in checks:
        assert any(checks["source"] in r.source for r in rec.reasons)
    if "rule" in checks:
        assert checks["rule"] in {r.rule for r in rec.reasons}
    if "step" in checks:
        assert checks["step"] in rec.next_step
    for approach in checks.get("unavailable", ()):
        assert approach in rec.unavailable and rec.scores[approach] == UNAVAILABLE
    for approach in checks.get("held", ()):
        assert approach in rec.held
        assert rec.scores[approach] <= rec.scores[rec.primary] - HOLD_MARGIN


def test_table_has_at_least_fifteen_cases_and_every_primary():
    assert len(CASES) >= 15
    assert {c[2] for c in CASES} == set(APPROACHES)


# ------------------------------------------------------------------ combination mechanics


def test_contributions_add_up_to_the_scores():
    rec = recommend(team(failures=["wrong_format"], prompting_effort="basic"))
    for approach in APPROACHES:
        total = sum(c.delta for c in rec.contributions[approach])
        assert total == pytest.approx(rec.scores[approach], abs=1e-6)
    # the hold shows up as a contribution of the rule that holds
    assert any(c.rule == "workflow_order" and c.delta < 0 for c in rec.contributions["finetune"])


def test_hold_caps_below_the_best_free_approach_but_keeps_it_second():
    rec = recommend(team(failures=["wrong_format"], few_shot_tried=False))
    assert rec.ranking[:2] == ["prompting", "finetune"]
    assert rec.scores["finetune"] == pytest.approx(rec.scores["prompting"] - HOLD_MARGIN)


def test_block_beats_any_preference():
    strong = team(failures=["wrong_format", "wrong_style", "unsafe_output"], ml_expertise="strong",
                  labeled_examples=100_000, model_access="api_only")  # fmt: skip
    rec = recommend(strong)
    assert rec.scores["finetune"] == UNAVAILABLE
    assert "API-only" in rec.unavailable["finetune"]


def test_ties_go_to_the_simpler_approach():
    rec = recommend(Answers(can_serve_custom_model=True))
    ordered = sorted(rec.scores.items(), key=lambda kv: (-kv[1], APPROACHES.index(kv[0])))
    assert rec.ranking == [a for a, _ in ordered]


def test_to_dict_is_the_contract_json():
    rec = recommend(team(failures=["missing_knowledge", "wrong_format"]))
    out = json.loads(json.dumps(rec.to_dict()))
    assert out["primary"] in APPROACHES
    assert set(out["scores"]) == set(APPROACHES)
    assert all(isinstance(v, int | float) for v in out["scores"].values())
    assert isinstance(out["next_step"], str) and out["next_step"].endswith(".")
    assert all({"text", "source", "rule", "effects"} <= set(r) for r in out["reasons"])
    plan = out["finetune_plan"]
    assert {
        "method",
        "rank",
        "target_modules",
        "learning_rate",
        "epochs",
        "train_memory_gb",
    } <= set(plan)
    assert out["confidence"] in ("low", "medium", "high")
    assert out["ranking"][0] == out["primary"]
    assert set(out["contributions"]) == set(APPROACHES)


@pytest.mark.parametrize(
    "answers, expected",
    [(Answers(), "high"), (team(failures=["wrong_format"], few_shot_tried=False), "low")],
)
def test_confidence_follows_the_margin(answers, expected):
    assert recommend(answers).confidence == expected


# ------------------------------------------------------------------ properties over all answers


def _strategy(q):
    if q.type == "bool":
        return st.booleans()
    if q.type == "choice":
        return st.sampled_from(q.allowed)
    if q.type == "choices":
        return st.lists(st.sampled_from(q.allowed), unique=True, max_size=4)
    if q.type == "text":
        return st.just("")
    if q.key == "labeled_examples":
        return st.sampled_from([0, 10, 60, 500, 20_000])
    if q.key == "queries_per_day":
        return st.sampled_from([0, 1000, 50_000])
    if q.key == "model_params_b":
        return st.sampled_from([0.5, 7.0, 70.0])
    return st.sampled_from([0.0, 8.0, 24.0, 80.0])  # gpu_memory_gb


ANSWERS = st.fixed_dictionaries({q.key: _strategy(q) for q in QUESTIONS}).map(parse_answers)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(ANSWERS)
def test_invariants_hold_for_any_answers(answers):
    rec: Recommendation = recommend(answers)
    assert rec.primary in APPROACHES and rec.primary == rec.ranking[0]
    assert rec.primary not in rec.unavailable and rec.primary not in rec.held
    assert rec.reasons and all(r.source and r.text and r.rule for r in rec.reasons)
    # the workflow: no finetuning first before systematic few-shot prompting, except to distil
    if rec.primary in ("finetune", "rag+finetune"):
        done = answers.prompting_effort == "systematic" and answers.few_shot_tried
        assert done or distillation_case(answers)
    # hard constraints
    if answers.model_access == "api_only" and not distillation_case(answers):
        assert rec.scores["finetune"] == rec.scores["rag+finetune"] == UNAVAILABLE
    if not answers.can_serve_custom_model:
        assert rec.finetune_plan is None and "finetune" in rec.unavailable
    if rec.finetune_plan is not None:
        assert {"finetune", "rag+finetune"} & set(rec.ranking[:2])
        assert rec.finetune_plan["method"] in ("full", "lora", "qlora")
    json.dumps(rec.to_dict())
