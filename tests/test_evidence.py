"""Pilot evidence: reading results.json strictly, and weighing it in the recommendation.

Results are written by hand here (the shape in docs/design.md), so these tests pin what the
decision does with a measurement, not what a pilot happens to measure.
"""

from __future__ import annotations

import copy
import json

import pytest

from advisor.decide.evidence import Comparison, evidence_from_results, load_evidence
from advisor.decide.questionnaire import parse_answers
from advisor.decide.recommend import recommend
from advisor.decide.rules import RF, RULES, F, P, R
from advisor.errors import AdvisorError
from advisor.models.loading import SMOKE_NOTE


def arm(mean, status="ok", failures=None, p50=10.0, train_seconds=None, error=None):
    block = {
        "status": status,
        "error": error,
        "metrics": {
            "token_f1": {"mean": mean, "ci95": [mean - 0.1, mean + 0.1]},
            "exact_match": {"mean": mean / 2, "ci95": [0.0, mean]},
        },
        "latency_ms": {"p50": p50, "p95": p50 * 2},
        "n": 40,
    }
    if failures:
        block["failures"] = failures
    if train_seconds is not None:
        block["train"] = {"seconds": train_seconds, "trainable_params": 1000, "final_loss": 1.0}
    return block


def cmp(a, b, diff, lo, hi, p, metric="token_f1", n=40):
    return {
        "a": a,
        "b": b,
        "metric": metric,
        "diff": diff,
        "ci95": [lo, hi],
        "p_value": p,
        "test": "paired_bootstrap",
        "n": n,
        "significant": p < 0.05 and (lo > 0 or hi < 0),
    }


def results(arms, comparisons=(), smoke=False, mde=None):
    return {
        "version": 1,
        "model": "builtin:tiny" if smoke else "Qwen/Qwen2.5-0.5B-Instruct",
        "smoke": smoke,
        "seed": 0,
        "arms": arms,
        "comparisons": list(comparisons),
        "mde": mde if mde is not None else {"token_f1": 0.12},
    }


RAG_WINS = results(
    {"zero_shot": arm(0.30), "few_shot": arm(0.40), "bm25_rag": arm(0.61, p50=30.0)},
    [
        cmp("bm25_rag", "zero_shot", 0.31, 0.2, 0.4, 0.001),
        cmp("bm25_rag", "few_shot", 0.21, 0.12, 0.30, 0.002),
    ],
)
RAG_WINS_CITE = "pilot: bm25_rag vs few_shot, token_f1 +0.21 [0.12, 0.30], p=0.002, n=40"


def team(**overrides):
    base = {
        "prompting_effort": "systematic",
        "few_shot_tried": True,
        "knowledge_source": True,
        "can_serve_custom_model": True,
        "labeled_examples": 500,
        "gpu_memory_gb": 24,
    }
    return parse_answers({**base, **overrides})


def fire(name, answers, res):
    return list(RULES[name](answers, evidence_from_results(res)))


# ------------------------------------------------------------------ loading


def test_load_from_dict_dir_and_file(tmp_path):
    (tmp_path / "results.json").write_text(json.dumps(RAG_WINS), encoding="utf-8")
    for source in (RAG_WINS, tmp_path, tmp_path / "results.json", str(tmp_path)):
        ev = load_evidence(source)
        assert set(ev.arms) == {"zero_shot", "few_shot", "bm25_rag"}
        assert ev.metric == "token_f1" and not ev.smoke and ev.weight == 1.0
        assert ev.best_of(("zero_shot", "few_shot")) == "few_shot"


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(AdvisorError, match="no pilot results"):
        load_evidence(tmp_path)
    (tmp_path / "results.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(AdvisorError, match="not valid JSON"):
        load_evidence(tmp_path)
    (tmp_path / "results.json").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(AdvisorError, match="cannot read"):
        load_evidence(tmp_path)


def _broken(path, value):
    res = copy.deepcopy(RAG_WINS)
    *parents, last = path
    target = res
    for key in parents:
        target = target[key]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return res


@pytest.mark.parametrize(
    ("path", "value", "fragment"),
    [
        (["arms"], KeyError, "no 'arms' block"),
        (["arms"], ["few_shot"], "arms must be an object"),
        (
            ["arms", "few_shot", "metrics", "token_f1", "mean"],
            "high",
            "arms.few_shot.metrics.token_f1.mean",
        ),
        (["arms", "few_shot", "metrics", "token_f1", "ci95"], [0.1], "ci95 must be [lo, hi]"),
        (["arms", "few_shot", "metrics", "token_f1", "ci95"], [0.5, 0.1], "lo > hi"),
        (["arms", "few_shot", "status"], 3, "arms.few_shot.status"),
        (
            ["arms", "few_shot", "failures"],
            {"information": -2},
            "arms.few_shot.failures.information",
        ),
        (["arms", "few_shot", "latency_ms"], {"p50": "fast"}, "latency_ms.p50"),
        (["comparisons"], {"a": "x"}, "comparisons must be a list"),
        (["comparisons", 0, "p_value"], 1.5, "comparisons[0].p_value"),
        (["comparisons", 0, "a"], None, "comparisons[0].a"),
        (["comparisons", 1, "diff"], True, "comparisons[1].diff"),
        (["smoke"], "yes", "smoke must be true or false"),
        (["mde", "token_f1"], "big", "mde.token_f1"),
    ],
)
def test_malformed_results_name_the_field(path, value, fragment):
    with pytest.raises(AdvisorError) as err:
        evidence_from_results(_broken(path, value), origin="run/results.json")
    assert fragment in str(err.value) and "run/results.json" in str(err.value)


def test_top_level_must_be_an_object():
    with pytest.raises(AdvisorError, match="must be an object"):
        evidence_from_results([1, 2])


@pytest.mark.parametrize(
    "failures",
    [
        {"information": 8, "behaviour": 2, "correct": 28, "other": 2, "share_information": 0.67},
        {"counts": {"information": 8, "behaviour": 2, "correct": 28, "other": 2}, "labels": {}},
    ],
)
def test_both_failure_block_shapes_are_read(failures):
    res = results({"few_shot": arm(0.4, failures=failures)})
    assert evidence_from_results(res).failure_counts("few_shot")["information"] == 8


# ------------------------------------------------------------------ significance and pairing


@pytest.mark.parametrize(
    ("diff", "ci", "p", "significant"),
    [
        (0.2, (0.1, 0.3), 0.01, True),
        (0.2, (-0.01, 0.4), 0.04, False),
        (0.2, (0.1, 0.3), 0.2, False),
        (-0.2, (-0.3, -0.1), 0.01, True),
    ],
)
def test_significance_needs_p_and_interval(diff, ci, p, significant):
    assert Comparison("a", "b", "token_f1", diff, ci, p).significant is significant


def test_comparisons_are_found_either_way_round_and_flipped():
    ev = evidence_from_results(RAG_WINS)
    back = ev.compare("few_shot", "bm25_rag")
    assert back.diff == pytest.approx(-0.21) and back.ci95 == pytest.approx((-0.30, -0.12))
    assert back.significant


def test_falls_back_to_another_prompting_arm_when_the_best_was_not_compared():
    res = copy.deepcopy(RAG_WINS)
    res["comparisons"] = res["comparisons"][:1]  # only bm25_rag vs zero_shot
    c, direct = evidence_from_results(res).versus_prompting("bm25_rag")
    assert c.b == "zero_shot" and not direct


def test_failed_arms_are_not_best():
    res = results({"few_shot": arm(0.4), "zero_shot": arm(0.9, status="failed", error="OOM")})
    assert evidence_from_results(res).best_of(("zero_shot", "few_shot")) == "few_shot"


# ------------------------------------------------------------------ the pilot rules, one by one

PILOT_RULES_TESTED = {
    "pilot_smoke",
    "pilot_versus_prompting",
    "pilot_lora_rag",
    "pilot_no_difference",
    "pilot_failure_mix",
    "pilot_arms_missing",
    "pilot_costs",
    "pilot_data_curve",  # its cases are in tests/test_curve_rules.py
}


def test_every_pilot_rule_is_tested_here():
    assert {n for n in RULES if n.startswith("pilot_")} == PILOT_RULES_TESTED


def test_rules_without_a_pilot_stay_silent():
    for name in PILOT_RULES_TESTED:
        assert list(RULES[name](team(), None)) == []


def test_rag_gain_over_the_best_prompting_arm_is_cited_and_weighed():
    (reason,) = fire("pilot_versus_prompting", team(), RAG_WINS)
    assert reason.source == RAG_WINS_CITE
    assert reason.effects == pytest.approx({R: 1.5 + 5 * 0.21, RF: (1.5 + 5 * 0.21) / 2})


def test_smoke_run_is_cited_with_zero_weight():
    res = {**RAG_WINS, "smoke": True, "model": "builtin:tiny"}
    (reason,) = fire("pilot_versus_prompting", team(), res)
    assert reason.effects == {} and SMOKE_NOTE in reason.text and reason.source == RAG_WINS_CITE
    (smoke,) = fire("pilot_smoke", team(), res)
    assert SMOKE_NOTE in smoke.text and "builtin:tiny" in smoke.source
    assert fire("pilot_smoke", team(), RAG_WINS) == []


def test_indirect_comparison_counts_half():
    res = copy.deepcopy(RAG_WINS)
    res["comparisons"] = res["comparisons"][:1]
    (reason,) = fire("pilot_versus_prompting", team(), res)
    assert reason.effects[R] == pytest.approx((1.5 + 1.5) / 2)  # diff 0.31 hits the cap
    assert "half weight" in reason.text


def test_lora_gain_and_a_significant_loss():
    res = results(
        {"few_shot": arm(0.4), "lora": arm(0.65), "bm25_rag": arm(0.3)},
        [
            cmp("lora", "few_shot", 0.25, 0.1, 0.4, 0.003),
            cmp("bm25_rag", "few_shot", -0.1, -0.2, -0.02, 0.01),
        ],
    )
    reasons = {r.source.split(",")[0]: r for r in fire("pilot_versus_prompting", team(), res)}
    assert reasons["pilot: lora vs few_shot"].effects == pytest.approx({F: 2.75, RF: 1.375})
    assert reasons["pilot: bm25_rag vs few_shot"].effects == pytest.approx({R: -1.0, RF: -0.5})
    assert "did worse than" in reasons["pilot: bm25_rag vs few_shot"].text


def _combined(lora_rag_vs_rag):
    return results(
        {"few_shot": arm(0.4), "bm25_rag": arm(0.6), "lora": arm(0.5), "lora_rag": arm(0.75)},
        [
            cmp("bm25_rag", "few_shot", 0.2, 0.1, 0.3, 0.001),
            cmp("lora", "few_shot", 0.05, -0.02, 0.12, 0.2),
            cmp("lora_rag", "bm25_rag", *lora_rag_vs_rag),
            cmp("lora_rag", "lora", 0.25, 0.15, 0.35, 0.001),
        ],
    )


def test_lora_rag_counts_only_when_it_beats_both_parts():
    (win,) = fire("pilot_lora_rag", team(), _combined((0.15, 0.05, 0.25, 0.004)))
    assert win.effects == pytest.approx({RF: 1.5 + 5 * 0.15})
    assert "lora_rag vs bm25_rag" in win.source and "lora_rag vs lora" in win.source
    (no_gain,) = fire("pilot_lora_rag", team(), _combined((0.01, -0.05, 0.07, 0.7)))
    assert no_gain.effects == {RF: -1.0} and "Ovadia et al. 2024" in no_gain.source


def test_no_significant_difference_is_said_with_the_detectable_effect():
    (reason,) = fire("pilot_no_difference", team(), _combined((0.15, 0.05, 0.25, 0.004)))
    assert reason.effects == {}
    assert "lora and few_shot" in reason.text and "0.12" in reason.text
    assert reason.source.startswith("pilot: lora vs few_shot, token_f1 +0.05")


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({"information": 12, "behaviour": 3, "other": 5}, {R: 0.75, RF: 0.25}),
        ({"information": 1, "behaviour": 9, "other": 0}, {F: 0.75, RF: 0.25}),
        ({"information": 2, "behaviour": 2, "other": 30}, None),
    ],
)
def test_failure_mix_of_the_best_prompting_arm(counts, expected):
    res = results({"few_shot": arm(0.4, failures=counts), "zero_shot": arm(0.2)})
    reasons = fire("pilot_failure_mix", team(), res)
    if expected is None:
        assert reasons == []
    else:
        (reason,) = reasons
        assert reason.effects == expected and "few_shot misses" in reason.source


def test_missing_and_failed_arms_are_reported():
    res = results({"few_shot": arm(0.4), "lora": arm(0.0, status="failed", error="CUDA OOM")})
    texts = [r.text for r in fire("pilot_arms_missing", team(), res)]
    assert any("ran no RAG arm" in t for t in texts)
    assert any("lora failed: CUDA OOM" in t for t in texts)
    assert all(r.effects == {} for r in fire("pilot_arms_missing", team(), res))


def test_costs_latency_and_training_time():
    res = results(
        {
            "few_shot": arm(0.4, p50=10.0),
            "bm25_rag": arm(0.5, p50=40.0),
            "lora": arm(0.5, train_seconds=95.0),
        }
    )
    calm = fire("pilot_costs", team(), res)
    assert [r.effects for r in calm] == [{}, {}]
    assert "4.0x" in calm[0].text and "95 s" in calm[1].text
    (slow, _) = fire("pilot_costs", team(failures=["too_slow_or_costly"]), res)
    assert slow.effects == {R: -0.5, RF: -0.5}


# ------------------------------------------------------------------ the pilot moves the decision


def _combined_rag_better():
    res = _combined((0.01, -0.05, 0.07, 0.7))
    res["comparisons"][0] = cmp("bm25_rag", "few_shot", 0.3, 0.2, 0.4, 0.001)
    res["arms"]["few_shot"]["failures"] = {"information": 12, "behaviour": 3, "other": 2}
    return res


def test_pilot_moves_rag_plus_finetune_to_rag():
    answers = team(failures=["hallucinated_facts", "wrong_style"])
    assert recommend(answers).primary == "rag+finetune"
    rec = recommend(answers, evidence_from_results(_combined_rag_better(), origin="runs/a"))
    assert rec.primary == "rag"
    sources = [r.source for r in rec.reasons]
    assert any(s.startswith("pilot: bm25_rag vs few_shot, token_f1 +0.30") for s in sources)
    assert rec.pilot == "runs/a" and rec.to_dict()["pilot"] == "runs/a"


def test_smoke_pilot_is_cited_but_changes_nothing():
    answers = team(failures=["hallucinated_facts", "wrong_style"])
    smoke = {**_combined_rag_better(), "smoke": True, "model": "builtin:tiny"}
    rec = recommend(answers, evidence_from_results(smoke))
    assert rec.primary == "rag+finetune"
    assert rec.scores == recommend(answers).scores
    assert any(SMOKE_NOTE in r.text for r in rec.reasons)
    assert any(r.source.startswith("pilot: bm25_rag vs few_shot") for r in rec.reasons)


def test_pilot_moves_prompting_to_finetune():
    answers = team(failures=["too_slow_or_costly"], queries_per_day=500)
    assert recommend(answers).primary == "prompting"
    res = results(
        {"few_shot": arm(0.4), "lora": arm(0.65)}, [cmp("lora", "few_shot", 0.25, 0.1, 0.4, 0.003)]
    )
    rec = recommend(answers, evidence_from_results(res))
    assert rec.primary == "finetune" and rec.finetune_plan["method"] == "lora"
    assert "Train the LoRA adapter" in rec.next_step


def test_a_pilot_without_prompting_arms_does_not_skip_the_workflow():
    answers = team(failures=["wrong_format"], prompting_effort="basic")
    res = results({"lora": arm(0.9), "nearest_neighbor": arm(0.2)})
    rec = recommend(answers, evidence_from_results(res))
    assert rec.primary == "prompting" and "finetune" in rec.held
    assert rec.ranking[1] == "finetune"
    assert P in rec.scores


def test_a_pilot_that_scored_the_prompts_is_the_systematic_prompting():
    """Issue 12: the pilot's prompting arms on held-out items are the workflow's first steps."""
    answers = team(failures=["wrong_format"], prompting_effort="basic")
    res = results(
        {"few_shot": arm(0.4), "lora": arm(0.9)}, [cmp("lora", "few_shot", 0.5, 0.4, 0.6, 0.0001)]
    )
    rec = recommend(answers, evidence_from_results(res))
    assert rec.primary == "finetune" and rec.held == {}
    text = next(r.text for r in rec.reasons if r.rule == "workflow_order")
    assert text.startswith("The pilot evaluated few_shot prompts")


def test_after_a_measured_bm25_gain_the_next_step_is_better_retrieval():
    answers = team(failures=["missing_knowledge"])
    assert "Add a BM25 retriever" in recommend(answers).next_step
    rec = recommend(answers, evidence_from_results(RAG_WINS))
    assert rec.primary == "rag" and "embedding-based or hybrid" in rec.next_step


# -- the pilot's primary metric, and a pilot standing in for the questionnaire ----------------


def _primary_results(rag_diff: float, lora_diff: float, n_examples: int = 240):
    """Token F1 says one thing, the primary metric another: the decision must read the latter."""
    arms = {}
    for name, mean in (("zero_shot", 0.2), ("few_shot", 0.3), ("bm25_rag", 0.3 + rag_diff)):
        block = arm(0.5)
        block["metrics"]["answer_containment"] = {"mean": mean, "ci95": [mean - 0.1, mean + 0.1]}
        arms[name] = block
    arms["lora"] = arm(0.5, train_seconds=60.0)
    arms["lora"]["metrics"]["answer_containment"] = {"mean": 0.3 + lora_diff, "ci95": [0, 1]}
    comparisons = [
        cmp(
            "bm25_rag",
            "few_shot",
            rag_diff,
            rag_diff - 0.1,
            rag_diff + 0.1,
            0.001,
            metric="answer_containment",
        ),
        cmp(
            "lora",
            "few_shot",
            lora_diff,
            lora_diff - 0.1,
            lora_diff + 0.1,
            0.001,
            metric="answer_containment",
        ),
        cmp("bm25_rag", "few_shot", 0.0, -0.1, 0.1, 0.9),  # token_f1: no difference
        cmp("lora", "few_shot", 0.0, -0.1, 0.1, 0.9),
    ]
    res = results(arms, comparisons)
    res["primary_metric"] = "answer_containment"
    res["data"] = {"n_examples": n_examples, "n_test": 48}
    return res


def test_decision_reads_the_pilots_primary_metric():
    ev = evidence_from_results(_primary_results(0.4, 0.0))
    assert ev.metric == "answer_containment"
    assert ev.compare("bm25_rag", "few_shot").diff == pytest.approx(0.4)
    del_primary = _primary_results(0.4, 0.0)
    del del_primary["primary_metric"]
    assert evidence_from_results(del_primary).metric == "token_f1"  # older runs


def test_an_unknown_primary_metric_falls_back_to_what_was_measured():
    res = _primary_results(0.4, 0.0)
    res["primary_metric"] = "not_measured"
    assert evidence_from_results(res).metric == "token_f1"


def test_pilot_counts_as_systematic_prompting_and_lifts_the_hold():
    answers = parse_answers({})  # nothing answered: prompting_effort 'none'
    without = recommend(answers)
    assert set(without.held) == {F, RF}
    ev = evidence_from_results(_primary_results(0.0, 0.4))
    rec = recommend(answers, ev)
    assert rec.held == {}
    reason = next(r for r in rec.reasons if r.rule == "workflow_order")
    assert "48 held-out examples" in reason.text and "systematic" in reason.text
    smoke = evidence_from_results({**_primary_results(0.0, 0.4), "smoke": True})
    assert set(recommend(answers, smoke).held) == {F, RF}  # a smoke run proves nothing


@pytest.mark.parametrize(
    ("rag_diff", "lora_diff", "primary"), [(0.4, 0.0, "rag"), (0.0, 0.4, "finetune")]
)
def test_without_answers_the_pilot_decides(rag_diff, lora_diff, primary):
    rec = recommend(parse_answers({}), evidence_from_results(_primary_results(rag_diff, lora_diff)))
    assert rec.primary == primary


def test_the_pilots_data_counts_as_labelled_examples():
    ev = evidence_from_results(_primary_results(0.0, 0.4, n_examples=240))
    (reason,) = RULES["finetune_data"](parse_answers({}), None)
    assert reason.effects[F] < 0  # 0 examples answered, no pilot
    piloted = [r for r in recommend(parse_answers({}), ev).reasons if r.rule == "finetune_data"]
    assert "240 labelled examples (the pilot's data file)" in piloted[0].text
    assert piloted[0].effects[F] > 0
    more = recommend(parse_answers({"labeled_examples": 5000}), ev).reasons
    assert "5,000 labelled examples:" in next(r.text for r in more if r.rule == "finetune_data")


def test_a_measurement_written_as_null_or_nan_is_not_measured_not_malformed():
    """The pilot writes NaN as null; the decision and the report read it the same way."""
    broken = _broken(["arms", "few_shot", "latency_ms"], {"p50": float("nan"), "p95": None})
    broken["arms"]["few_shot"]["metrics"]["rouge_l"] = {"mean": None, "ci95": None}
    evidence = evidence_from_results(broken)
    assert evidence.arms["few_shot"].latency_p50_ms is None
    assert "rouge_l" not in evidence.arms["few_shot"].metrics
