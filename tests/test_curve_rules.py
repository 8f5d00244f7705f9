"""The decision reads the data curve and the seed spread (hand-made results.json blocks)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from advisor.decide.evidence import evidence_from_results
from advisor.decide.questionnaire import parse_answers
from advisor.decide.recommend import recommend
from advisor.decide.rules import RF, RULES, F
from advisor.errors import AdvisorError
from advisor.evaluation.data_curve import analyse_curve
from advisor.evaluation.seed_spread import apply_seed_spread, seed_spread


def sig(z: float) -> float:
    return float(1.0 / (1.0 + np.exp(-z)))


RISING = [sig(-1.0), sig(0.0), sig(0.5)]  # log-odds a=-1, b=1, r=0.5 (see test_data_curve)


def items(mean: float, n: int = 40) -> np.ndarray:
    return mean + 0.1 * np.where(np.arange(n) % 2 == 0, 1.0, -1.0)


def arm(mean: float) -> dict:
    return {"status": "ok", "metrics": {"field_accuracy": {"mean": mean, "ci95": [0, 1]}}}


def pilot(curve_means, baseline=0.5, smoke=False, comparisons=()) -> dict:
    curve = analyse_curve([42, 84, 168], [items(m) for m in curve_means], baseline=items(baseline))
    curve["status"] = "ok"
    return {
        "model": "builtin:tiny" if smoke else "HuggingFaceTB/SmolLM2-135M-Instruct",
        "smoke": smoke,
        "primary_metric": "field_accuracy",
        "arms": {"few_shot": arm(baseline), "lora": arm(curve_means[-1])},
        "comparisons": list(comparisons),
        "data": {"n_examples": 240, "n_train": 168, "n_test": 40},
        "data_curve": {
            "metric": "field_accuracy",
            "baseline": {"arm": "few_shot", "mean": baseline, "ci95": [0.4, 0.6]},
            "arms": {"lora": curve},
        },
    }


def fire(results: dict):
    return list(RULES["pilot_data_curve"](parse_answers({}), evidence_from_results(results)))


def test_a_rising_curve_argues_for_more_data_with_a_target():
    res = pilot(RISING, comparisons=[comparison(diff=0.1, lo=0.05, hi=0.15)])
    (reason,) = fire(res)
    assert reason.effects == {F: 0.5, RF: 0.25}
    assert "collecting more data for finetuning should pay" in reason.text
    assert "aim at about 672 training examples" in reason.text
    assert "It beat few_shot from 168 examples on." in reason.text  # 0.27, 0.50 vs 0.50: no
    assert "doubling to 336 examples would likely give 0.68" in reason.text
    assert reason.source.startswith("pilot: data curve lora, field_accuracy 0.27/0.50/0.62")
    assert "§6 how much data" in reason.source
    rec = recommend(parse_answers({}), evidence_from_results(res))
    assert any(r.rule == "pilot_data_curve" for r in rec.reasons)
    assert rec.primary == "finetune"  # lora beat few_shot
    assert "up to about 672" in rec.next_step


def test_a_flat_curve_without_a_gain_at_50_examples_argues_against_finetuning():
    (reason,) = fire(pilot([0.5, 0.5, 0.5], baseline=0.5))
    assert reason.effects == {F: -1.0, RF: -0.5}
    assert "50-100 good examples are enough to see whether finetuning helps" in reason.text
    assert "unlikely to pay" in reason.text


def test_a_flat_curve_that_already_beats_prompting_says_train_on_what_you_have():
    (reason,) = fire(pilot([0.8, 0.8, 0.8], baseline=0.5))
    assert reason.effects == {}
    assert "already beat few_shot at 84 examples" in reason.text  # the first point >= 50


def test_a_falling_curve_points_at_the_data():
    (reason,) = fire(pilot([0.7, 0.6, 0.5]))
    assert reason.effects[F] < 0 and "check the data's quality" in reason.text


def test_a_smoke_curve_is_cited_with_zero_weight():
    (reason,) = fire(pilot(RISING, smoke=True))
    assert reason.effects == {} and "zero weight" in reason.text


def test_no_curve_no_reason():
    res = pilot(RISING)
    del res["data_curve"]
    assert fire(res) == []


def test_a_malformed_curve_names_the_field():
    res = pilot(RISING)
    res["data_curve"]["arms"]["lora"]["doubling"]["predicted"] = "high"
    with pytest.raises(AdvisorError, match=r"data_curve\.arms\.lora\.doubling\.predicted"):
        evidence_from_results(res)


# ------------------------------------------------------------------ seed spread


def comparison(diff=0.04, lo=0.02, hi=0.06, p=0.001):
    return {
        "a": "lora",
        "b": "few_shot",
        "metric": "field_accuracy",
        "diff": diff,
        "ci95": [lo, hi],
        "p_value": p,
        "n": 40,
        "significant": True,
    }


def test_spread_is_the_range_of_the_means_over_seeds():
    s = seed_spread({0: {"f": 0.80}, 1: {"f": 0.85}, 2: {"f": 0.78}})
    m = s["metrics"]["f"]
    assert s["seeds"] == [0, 1, 2]
    assert m["width"] == pytest.approx(0.07) and m["min"] == 0.78 and m["max"] == 0.85
    assert m["sd"] == pytest.approx(np.std([0.80, 0.85, 0.78], ddof=1))


def test_a_difference_smaller_than_the_seed_spread_is_not_significant():
    spreads = {"lora": seed_spread({0: {"field_accuracy": 0.80}, 1: {"field_accuracy": 0.85}})}
    small, large = comparison(diff=0.04), comparison(diff=0.10, lo=0.05, hi=0.15)
    apply_seed_spread([small, large], spreads)
    assert small["seed_spread"] == pytest.approx(0.05)
    assert small["within_seed_spread"] and not small["significant"]
    assert small["significant_ignoring_seeds"]  # the paired test alone called it
    assert large["significant"] and not large["within_seed_spread"]


def test_both_arms_spreads_add_up():
    spreads = {
        "lora": seed_spread({0: {"field_accuracy": 0.80}, 1: {"field_accuracy": 0.82}}),
        "few_shot": seed_spread({0: {"field_accuracy": 0.50}, 1: {"field_accuracy": 0.53}}),
    }
    (c,) = apply_seed_spread([comparison(diff=0.04)], spreads)
    assert c["seed_spread"] == pytest.approx(0.05) and not c["significant"]


def test_the_decision_does_not_count_a_gap_inside_the_seed_spread():
    res = pilot([0.8, 0.8, 0.8], baseline=0.5)
    del res["data_curve"]
    within = {**comparison(diff=0.04), "seed_spread": 0.05, "significant": False}
    res["comparisons"] = [within]
    ev = evidence_from_results(res)
    assert not ev.compare("lora", "few_shot").significant
    assert list(RULES["pilot_versus_prompting"](parse_answers({}), ev)) == []
    (reason,) = RULES["pilot_no_difference"](parse_answers({}), ev)
    assert "smaller than the seed spread (0.05)" in reason.text
    assert "seed spread 0.05" in reason.source
    outside = copy.deepcopy(res)
    outside["comparisons"] = [{**comparison(diff=0.04), "seed_spread": 0.03}]
    (gain,) = RULES["pilot_versus_prompting"](parse_answers({}), evidence_from_results(outside))
    assert gain.effects[F] > 0
