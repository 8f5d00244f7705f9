"""Time budgets and measured estimates: the plan's cuts, its refusals, and what is recorded."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from advisor.errors import AdvisorError
from advisor.evaluation.stats import minimum_detectable_effect
from advisor.pilot.budget import DROP_ORDER, MIN_TEST, parse_budget, plan_budget
from advisor.pilot.calibrate import ARM_OVERHEAD_S, ArmWork, Rates, arm_extra_mb, arm_seconds
from advisor.pilot.results import estimate_vs_measured
from tests.test_pilot import write_toy

RATES = Rates(
    prefill_s_per_token=0.001,
    decode_s_per_step=0.05,
    train_s_per_token=0.002,
    model_load_s=1.0,
    probe_s=3.0,
)
ALL = ["zero_shot", "few_shot", "bm25_rag", "faiss_rag", "lora", "lora_rag", "nearest_neighbor"]
WORK = {
    "zero_shot": ArmWork(50, 8),
    "few_shot": ArmWork(250, 8),
    "bm25_rag": ArmWork(400, 8),
    "faiss_rag": ArmWork(400, 8),
    "lora": ArmWork(50, 8, train_tokens=3 * 200 * 60, validation_tokens=4 * 20 * 60),
    "lora_rag": ArmWork(400, 8, train_tokens=3 * 200 * 150, validation_tokens=4 * 20 * 150),
}


@pytest.mark.parametrize(
    ("text", "seconds"), [("5m", 300), ("300s", 300), ("1.5h", 5400), ("90", 90), (" 2 min ", 120)]
)
def test_budgets_read_as_durations(text, seconds):
    assert parse_budget(text) == seconds


@pytest.mark.parametrize("text", ["five minutes", "-3m", "0", "5d", "nan"])
def test_a_bad_budget_names_the_flag_and_the_form(text):
    with pytest.raises(AdvisorError, match="--budget"):
        parse_budget(text)


def test_arm_seconds_by_hand():
    # 100 items x 400 tokens x 1 ms + 7 batches x 8 steps x 50 ms, + overhead
    assert arm_seconds(WORK["bm25_rag"], RATES, 100, 16) == pytest.approx(
        40.0 + 2.8 + ARM_OVERHEAD_S
    )
    lora = WORK["lora"]
    train = 1.0 + 0.002 * (lora.train_tokens + 0.35 * lora.validation_tokens)
    assert arm_seconds(lora, RATES, 100, 16) == pytest.approx(5.0 + 2.8 + train + ARM_OVERHEAD_S)


def test_arm_memory_by_hand():
    """Generation: the probe's MB per prompt token x a batch of the widest prompts; a
    training arm: the larger of its training peak and its answers beside a weights copy."""
    rates = Rates(**{**RATES.__dict__, "generation_mb_per_token": 0.05})
    rag = ArmWork(400, 8, widest_prompt_tokens=492)
    assert arm_extra_mb(rag, rates, 16) == pytest.approx(0.05 * 16 * 500)  # 400 MB
    lora = ArmWork(50, 8, train_tokens=1000, widest_train_tokens=120, widest_prompt_tokens=92)
    assert arm_extra_mb(lora, rates, 16, training_mb=1800, weights_mb=270) == 1800
    assert arm_extra_mb(lora, rates, 16, training_mb=100, weights_mb=270) == pytest.approx(
        270 + 0.05 * 16 * 100
    )
    assert arm_extra_mb(rag, RATES, 16) == 0.0  # an older estimate without the rate


def plan(budget, n_test=100, spent=0.0):
    return plan_budget(budget, WORK, RATES, ALL, n_test, 3, 16, spent)


def test_a_generous_budget_cuts_nothing():
    p = plan(10_000)
    assert p.fits and p.cuts == [] and p.arms == ALL and p.max_test == 100 and p.epochs == 3


def test_cuts_come_in_order_epochs_then_test_items_then_arms():
    full = plan(10_000).planned_s
    p = plan(full - 5)
    assert p.fits and p.cuts == ["LoRA epochs 3 to 2"] and p.arms == ALL
    tighter = plan(full * 0.5)
    assert tighter.fits and tighter.arms == ALL and tighter.planned_s <= full * 0.5
    assert [c.split(" to ")[0] for c in tighter.cuts] == ["LoRA epochs 3", "test items 100"]
    assert tighter.epochs < 3 and MIN_TEST < tighter.max_test < 100


def _fills(p, budget, n_test=100, spent=0.0):
    """Nothing the plan cut could come back: one more test item or epoch breaks the budget."""
    more_items = plan_budget(budget, WORK, RATES, p.arms, n_test, 3, 16, spent)
    assert more_items.max_test == p.max_test and more_items.epochs == p.epochs
    if p.max_test < n_test:
        assert _cost(p, p.max_test + 1, p.epochs, spent) > budget
    if p.epochs < 3 and any(WORK.get(a) and WORK[a].train_tokens for a in p.arms):
        assert _cost(p, p.max_test, p.epochs + 1, spent) > budget


def _cost(p, n, epochs, spent):
    from advisor.pilot.budget import SETUP_S, per_arm_seconds

    return spent + SETUP_S + sum(per_arm_seconds(WORK, RATES, p.arms, n, epochs, 3, 16).values())


@pytest.mark.parametrize("budget", [40, 60, 90, 180, 300])
def test_a_plan_gives_back_what_its_whole_step_cuts_left_unused(budget):
    """Issue 13: a 3-minute facts pilot planned 123 s once lora_rag was dropped."""
    p = plan(budget)
    assert p.fits and p.planned_s <= budget
    _fills(p, budget)


def test_a_tight_budget_drops_the_costliest_evidence_first_and_keeps_the_baseline():
    p = plan(60)
    assert p.fits and p.planned_s <= 60 and MIN_TEST <= p.max_test < 60 and p.epochs == 1
    assert p.arms == ["zero_shot", "bm25_rag", "lora", "nearest_neighbor"]
    tighter = plan(30)
    assert "lora" not in tighter.arms and tighter.fits
    assert not any(c.startswith("LoRA epochs") for c in tighter.cuts)  # no LoRA arm is left
    assert "zero_shot" in p.arms and "nearest_neighbor" in p.arms
    assert p.dropped == [a for a in DROP_ORDER if a in p.dropped]  # in the drop order
    assert p.dropped[0] == "lora_rag"
    assert p.mde == pytest.approx(minimum_detectable_effect(p.max_test), abs=1e-3)
    assert f"~{p.mde:.2f}" in p.describe()


def test_a_budget_below_the_smallest_pilot_is_refused_with_the_arms_that_fit():
    # zero_shot on 30 items (4.3 s) + nearest_neighbor (2 s) + 5 s of results > 15 - 5 spent
    p = plan(15, spent=5)
    assert not p.fits and p.fits_alone == ["zero_shot", "nearest_neighbor"]
    assert "cannot hold the smallest useful pilot" in p.describe()
    nothing = plan(4, spent=5)
    assert not nothing.fits and nothing.fits_alone == [] and "none" in nothing.describe()


def test_time_already_spent_counts_against_the_budget():
    free, spent = plan(100, spent=0), plan(100, spent=30)
    assert spent.planned_s - 30 < free.planned_s  # the arms get only what is left
    assert (len(spent.arms), spent.max_test) < (len(free.arms), free.max_test)
    assert not plan(60, spent=55).fits


def test_estimate_and_measurement_side_by_side():
    estimate = {
        "calibrated": True,
        "per_arm_seconds": {"a": 10.0, "b": 30.0},
        "per_arm_peak_mb": {"a": 900},
    }
    blocks = {
        "a": {"status": "ok", "seconds": 12.0, "peak_memory_mb": 1000.0},
        "b": {"status": "ok", "seconds": 18.0, "peak_memory_mb": 1100.0},
        "c": {"status": "failed"},
    }
    timing = estimate_vs_measured(estimate, blocks)
    assert timing["arms"]["a"] == {
        "estimated_s": 10.0,
        "measured_s": 12.0,
        "estimated_peak_mb": 900,
        "measured_peak_mb": 1000.0,
    }
    assert set(timing["arms"]) == {"a", "b"}
    assert timing["estimated_s"] == 40.0 and timing["measured_s"] == 30.0
    assert timing["ratio"] == 0.75 and timing["calibrated"] is True
    assert estimate_vs_measured(None, blocks)["ratio"] is None


def _pilot(tmp_path, out, *extra):
    data, kb = write_toy(tmp_path / "data")
    cmd = [sys.executable, "-m", "advisor", "pilot", "--data", str(data), "--kb", str(kb)]
    cmd += ["--model", "builtin:tiny", "--embedder", "hashing", "--test-size", "8"]
    cmd += ["--lora-epochs", "2", "--out", str(out), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_a_budget_run_plans_records_and_resumes_its_plan(tmp_path):
    out = tmp_path / "run"
    first = _pilot(tmp_path, out, "--budget", "10m", "--arms", "zero_shot,lora,nearest_neighbor")
    assert first.returncode == 0, first.stderr[-2000:]
    assert "Budget 10.0 min" in first.stderr and "measured on this machine" in first.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["estimate"]["calibrated"] is True
    assert results["budget"]["fits"] is True and results["budget"]["arms"]
    assert set(results["timing"]["arms"]) == set(results["arms"])
    for row in results["timing"]["arms"].values():
        assert row["estimated_s"] > 0 and row["measured_s"] >= 0
    again = _pilot(tmp_path, out, "--budget", "10m", "--arms", "zero_shot,lora,nearest_neighbor")
    assert again.returncode == 0, again.stderr[-2000:]
    assert "already finished (resumed)" in again.stderr and "Budget" not in again.stderr


@pytest.mark.slow
def test_an_impossible_budget_exits_2_with_one_line_and_writes_no_settings(tmp_path):
    out = tmp_path / "run"
    done = _pilot(tmp_path, out, "--budget", "1s")
    assert done.returncode == 2
    assert "cannot hold the smallest useful pilot" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (out / "settings.json").exists()
    retry = _pilot(tmp_path, out, "--budget", "10m", "--arms", "zero_shot")
    assert retry.returncode == 0, retry.stderr[-2000:]


def test_the_report_shows_the_estimate_beside_the_measurement():
    from advisor.report.build import build_report_data
    from advisor.report.markdown import render_markdown
    from tests.report_helpers import make_results

    results = make_results()
    results["timing"] = estimate_vs_measured(
        {"calibrated": True, "per_arm_seconds": {"zero_shot": 40.0}, "per_arm_peak_mb": {}},
        {"zero_shot": {"status": "ok", "seconds": 30.0, "peak_memory_mb": 812.0}},
    )
    results["budget"] = {"budget_s": 300.0, "cuts": ["test items 100 to 60"]}
    md = render_markdown(build_report_data(None, results, None))
    section = md[md.index("Time and memory: estimated vs measured") :]
    assert "measured on this machine" in section and "0.75" in section
    assert "| Zero-shot prompting | 40.0 | 30.0 |" in section
    assert "Time budget 300 s; the plan cut test items 100 to 60." in section


def test_an_arm_trains_at_its_own_measured_rate():
    """Short sequences cost more per token than RAG-length ones: each arm is probed."""
    lora = WORK["lora"]
    own = ArmWork(**{**lora.__dict__, "train_s_per_token": 0.004})
    delta = arm_seconds(own, RATES, 100, 16) - arm_seconds(lora, RATES, 100, 16)
    tokens = lora.train_tokens + 0.35 * lora.validation_tokens
    assert delta == pytest.approx((0.004 - RATES.train_s_per_token) * tokens)


def _estimate(epochs: int) -> dict:
    from dataclasses import asdict

    work = {**WORK, "lora": ArmWork(**{**WORK["lora"].__dict__, "train_s_per_token": 0.0026})}
    return {
        "calibrated": True,
        "rates": asdict(RATES),
        "work": {a: asdict(w) for a, w in work.items()},
        "per_arm_peak_mb": {a: 1000.0 for a in ALL},
        "lora_epochs": epochs,
    }


def test_the_planned_estimate_scales_the_epochs_it_was_counted_at():
    """The runner passes settings already cut to the plan; the estimate still knows it
    counted 3 epochs (a 3-minute facts run printed 138 s for a 1-epoch lora arm of 84 s)."""
    from dataclasses import replace

    from advisor.finetune.settings import LoraSettings
    from advisor.pilot.budget import BudgetPlan, planned_estimate
    from advisor.pilot.context import PilotSettings

    p = BudgetPlan(180, 150, ["zero_shot", "lora"], 100, 1, True)
    planned = PilotSettings(data="d", out="o", lora=LoraSettings(epochs=1))
    one = planned_estimate(_estimate(3), p, planned)["per_arm_seconds"]["lora"]
    three = planned_estimate(_estimate(3), replace(p, epochs=3), planned)["per_arm_seconds"]
    w = ArmWork(**_estimate(3)["work"]["lora"])
    expected = arm_seconds(
        replace(w, train_tokens=w.train_tokens / 3, validation_tokens=w.validation_tokens / 2),
        RATES,
        100,
        16,
    )
    assert one == pytest.approx(expected, abs=0.1) and one < three["lora"]


def test_the_planned_peak_keeps_the_probes_own_peak():
    """The probe trains every arm briefly before the plan; a 3-minute facts run that
    dropped lora_rag peaked at the probe's 3.7 GB while its arms stayed under 2.8 GB."""
    from advisor.finetune.settings import LoraSettings
    from advisor.pilot.budget import BudgetPlan, planned_estimate
    from advisor.pilot.context import PilotSettings

    p = BudgetPlan(180, 150, ["zero_shot", "lora"], 100, 1, True, dropped=["lora_rag"])
    settings = PilotSettings(data="d", out="o", lora=LoraSettings(epochs=1))
    estimate = {**_estimate(3), "per_arm_peak_mb": {"zero_shot": 1000.0, "lora": 2700.0}}
    assert planned_estimate(estimate, p, settings)["peak_memory_mb"] == 2700.0
    estimate["probe_peak_mb"] = 3700.0
    assert planned_estimate(estimate, p, settings)["peak_memory_mb"] == 3700.0
