"""Cost projection: hand-computed per-query costs and break-even points."""

from __future__ import annotations

import json

import pytest

from advisor.decide.costs import (
    DEFAULT_QUERIES_PER_DAY,
    Prices,
    PricesError,
    TokenEstimates,
    break_even,
    load_prices,
    project_costs,
)
from advisor.errors import AdvisorError

# Round numbers so every expected value below can be checked by hand.
PRICES = Prices(
    base_input_per_1m=1.0,
    base_output_per_1m=2.0,
    finetuned_input_per_1m=0.5,
    finetuned_output_per_1m=1.0,
    training_per_1m=10.0,
    training_tokens=1_000_000,
)
MEASURED = {
    "few_shot": {"prompt_mean": 1000, "output_mean": 100},
    "lora": {"prompt_mean": 200, "output_mean": 100},
}


def _option(costs: dict, name: str) -> dict:
    return next(o for o in costs["options"] if o["option"] == name)


def _row(costs: dict, option: str, versus: str) -> dict:
    return next(b for b in costs["break_even"] if b["option"] == option and b["versus"] == versus)


def test_cost_per_query_from_measured_tokens():
    costs = project_costs(PRICES, queries_per_day=100, measured=MEASURED)
    few, ft = _option(costs, "few_shot"), _option(costs, "finetune")
    # few-shot: (1000 x 1.0 + 100 x 2.0) / 1e6 = 0.0012; finetuned: (200 x 0.5 + 100 x 1.0) / 1e6
    assert few["cost_per_query"] == pytest.approx(0.0012)
    assert ft["cost_per_query"] == pytest.approx(0.0002)
    assert few["cost_per_1k"] == pytest.approx(1.2)
    assert few["cost_per_month"] == pytest.approx(0.0012 * 100 * 30)
    assert few["tokens_source"] == "measured" and few["source_arm"] == "few_shot"


def test_break_even_hand_computed():
    costs = project_costs(PRICES, queries_per_day=100, measured=MEASURED)
    assert costs["finetune_one_off"]["cost"] == pytest.approx(10.0)  # 1M tokens x 10 per 1M
    row = _row(costs, "finetune", "few_shot")
    # saves 0.001 per query x 100 queries/day = 0.1/day; 10 / 0.1 = 100 days = 10,000 queries
    assert not row["never"]
    assert row["days"] == pytest.approx(100.0)
    assert row["queries"] == pytest.approx(10_000.0)


def test_hosting_fee_delays_or_prevents_break_even():
    half = Prices(**{**PRICES.__dict__, "finetuned_hosting_per_month": 1.5})  # 0.05 per day
    row = _row(project_costs(half, 100, MEASURED), "finetune", "few_shot")
    assert row["days"] == pytest.approx(10.0 / (0.1 - 0.05))
    full = Prices(**{**PRICES.__dict__, "finetuned_hosting_per_month": 3.0})  # eats the saving
    row = _row(project_costs(full, 100, MEASURED), "finetune", "few_shot")
    assert row["never"] and row["days"] is None
    assert "hosting" in row["why"]
    assert _option(project_costs(full, 100, MEASURED), "finetune")["cost_per_month"] == (
        pytest.approx(0.0002 * 100 * 30 + 3.0)
    )


def test_never_when_finetuned_is_not_cheaper_or_no_traffic():
    pricey = Prices(**{**PRICES.__dict__, "finetuned_input_per_1m": 50.0})
    row = _row(project_costs(pricey, 100, MEASURED), "finetune", "few_shot")
    assert row["never"] and "not cheaper" in row["why"]
    row = _row(project_costs(PRICES, 0, MEASURED), "finetune", "few_shot")
    assert row["never"] and row["why"] == "no traffic"


def test_break_even_function_directly():
    result = break_even(one_off=30.0, cost_other=0.004, cost_finetuned=0.001, queries_per_day=1000)
    assert result["days"] == pytest.approx(10.0)  # 3 per day saved
    assert break_even(0.0, 0.002, 0.001, 10)["days"] == 0.0


def test_estimates_when_nothing_measured():
    est = TokenEstimates(
        prompt_tokens=200,
        output_tokens=50,
        few_shot_examples=4,
        tokens_per_example=100,
        retrieved_passages=3,
        tokens_per_passage=150,
    )
    costs = project_costs(PRICES, 10, measured=None, estimates=est)
    prompts = {o["option"]: o["prompt_tokens"] for o in costs["options"]}
    # few-shot adds examples, RAG adds context, a finetuned model needs neither
    assert prompts == {
        "zero_shot": 200,
        "few_shot": 600,
        "rag": 650,
        "finetune": 200,
        "rag+finetune": 650,
    }
    assert all(o["tokens_source"] == "estimate" for o in costs["options"])


def test_measured_zero_shot_is_the_base_of_estimates():
    est = TokenEstimates(few_shot_examples=2, tokens_per_example=100)
    costs = project_costs(PRICES, 10, {"zero_shot": {"prompt_mean": 80, "output_mean": 30}}, est)
    few = _option(costs, "few_shot")
    assert (few["prompt_tokens"], few["output_tokens"]) == (280, 30)
    assert few["tokens_source"] == "estimate"


def test_training_cost_by_tokens_and_by_gpu_hours():
    by_tokens = Prices(training_per_1m=4.0)
    est = TokenEstimates(prompt_tokens=150, output_tokens=50)
    one = project_costs(by_tokens, 10, None, est, n_train_examples=500, epochs=2)[
        "finetune_one_off"
    ]
    assert one["training_tokens"] == 500 * 200 * 2
    assert one["cost"] == pytest.approx(200_000 / 1e6 * 4.0)
    by_gpu = Prices(gpu_hours=10, gpu_hour_rate=2.5, one_off_extra=5.0)
    one = project_costs(by_gpu, 10)["finetune_one_off"]
    assert one["method"] == "gpu_hours" and one["cost"] == pytest.approx(30.0)


def test_missing_traffic_is_assumed_and_flagged():
    costs = project_costs()
    assert costs["queries_per_day"] == DEFAULT_QUERIES_PER_DAY
    assert costs["queries_per_day_assumed"] is True
    assert project_costs(queries_per_day=10)["queries_per_day_assumed"] is False


@pytest.mark.parametrize(
    "bad",
    [{"base_input_per_1m": -1}, {"gpu_hours": "ten"}, {"training_per_1m": True}, {"currency": ""}],
)
def test_bad_prices_are_user_errors(bad):
    with pytest.raises(AdvisorError):
        Prices(**bad)


def test_load_prices_json_and_yaml(tmp_path):
    (tmp_path / "p.json").write_text(json.dumps({"base_input_per_1m": 3, "currency": "EUR"}))
    assert load_prices(tmp_path / "p.json") == Prices(base_input_per_1m=3, currency="EUR")
    (tmp_path / "p.yaml").write_text("gpu_hours: 4\ngpu_hour_rate: 1.5\n")
    assert load_prices(tmp_path / "p.yaml").gpu_hours == 4


def test_load_prices_errors_name_the_problem(tmp_path):
    (tmp_path / "unknown.json").write_text('{"input_price": 1}')
    with pytest.raises(PricesError, match="input_price.*allowed: currency, base_input_per_1m"):
        load_prices(tmp_path / "unknown.json")
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(PricesError, match="not valid JSON/YAML"):
        load_prices(tmp_path / "broken.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(PricesError, match="must hold an object"):
        load_prices(tmp_path / "list.json")
    with pytest.raises(PricesError, match="cannot read"):
        load_prices(tmp_path / "missing.json")
