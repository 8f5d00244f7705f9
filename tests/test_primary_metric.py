"""Metrics a real model's answers need, the primary metric by task kind, and the prompt hints."""

from __future__ import annotations

import pytest

from advisor.evaluation.json_fields import normalize_value, parse_object
from advisor.evaluation.metrics import answer_containment, field_accuracy, score_predictions
from advisor.evaluation.primary_metric import answer_style_hint, choose_primary_metric, task_kind
from advisor.pilot.prompts import clean_answer, system_message


@pytest.mark.parametrize(
    ("prediction", "reference", "expected"),
    [
        ("The Bell Regatta is celebrated in July.", "July", 1.0),
        ("About 42,150 people live there.", "42,150", 1.0),
        ("Julyish", "July", 0.0),  # whole words only
        ("Saltmere", "Saltmere Cove", 0.0),  # the whole reference must be there
        ("It was founded by the Cove at Saltmere", "Saltmere Cove", 0.0),  # in order
        ("", "", 1.0),
        ("anything", "", 0.0),
    ],
)
def test_answer_containment(prediction, reference, expected):
    assert answer_containment(prediction, reference) == expected


def test_field_accuracy_hand_computed():
    ref = '{"name": "Ada Voss", "item": "gloves", "quantity": 3, "priority": "high"}'
    # name right (case), item wrong, quantity right ("3" vs 3), priority missing: 2 of 4
    pred = 'Here it is: {"name": "ada voss", "item": "boots", "quantity": "3"}'
    assert field_accuracy(pred, ref) == pytest.approx(0.5)
    assert field_accuracy(ref, ref) == 1.0
    assert field_accuracy("no json here", ref) == 0.0
    assert field_accuracy('```json\n{"name": "Ada Voss"}\n```', ref) == pytest.approx(0.25)


def test_field_accuracy_normalises_types_not_meanings():
    assert normalize_value("42,150") == normalize_value(42150)
    assert normalize_value(" TRUE ") is True
    assert normalize_value("1,2,3") == "1,2,3"  # not a number with thousands separators
    assert normalize_value("2024-03-05") == "2024-03-05"
    assert parse_object("[1, 2]") is None


def test_field_accuracy_runs_only_on_json_references():
    refs = ['{"a": 1, "b": 2}', '{"a": 3, "b": 4}']
    scores = score_predictions(['{"a": 1, "b": 0}', "{}"], refs)
    assert scores["field_accuracy"] == [0.5, 0.0]
    assert "field_accuracy" not in score_predictions(["x", "y"], ['{"a": 1}', "plain"])


@pytest.mark.parametrize(
    ("references", "kind", "metric"),
    [
        (['{"a": 1}', '{"a": 2}'], "json", "field_accuracy"),
        (["July", "42,150", "Saltmere Cove"], "short_answer", "answer_containment"),
        (
            ["a long answer of many words that goes on and on for a while"] * 3,
            "free_text",
            "rouge_l",
        ),
    ],
)
def test_primary_metric_follows_the_task_kind(references, kind, metric):
    assert task_kind(references) == kind
    chosen = choose_primary_metric(references)
    assert (chosen.name, chosen.task_kind) == (metric, kind)
    assert chosen.why


def test_primary_metric_override_wins():
    chosen = choose_primary_metric(["July"], override="exact_match")
    assert (chosen.name, chosen.task_kind) == ("exact_match", "chosen")


def test_style_hint_asks_for_answers_shaped_like_the_references():
    assert "at most 3 words" in answer_style_hint(["July", "95", "Saltmere Cove"])
    assert "JSON object only" in answer_style_hint(['{"a": 1}'])
    assert "about 12 words" in answer_style_hint(
        ["one two three four five six seven eight nine ten eleven twelve"]
    )
    assert answer_style_hint([]) is None
    system = system_message("Do the task.", "Answer with JSON.", "Reply briefly.")
    assert system.splitlines() == ["Do the task.", "Answer with JSON.", "Reply briefly."]


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Output: July", "July"),
        ("July\nInput: What is next?\nOutput: May", "July"),
        ('{"a": 1}', '{"a": 1}'),
        ("Answer:  42", "42"),
        ("The output: is fine", "The output: is fine"),
    ],
)
def test_clean_answer_drops_only_our_prompt_scaffolding(raw, clean):
    assert clean_answer(raw) == clean


def test_app_tables_lead_with_the_primary_metric():
    from advisor.ui.results_view import arms_table, metric_rows, tidy

    block = {
        "status": "ok",
        "metrics": {
            m: {"mean": 0.5, "ci95": [0.4, 0.6]}
            for m in ("exact_match", "token_f1", "answer_containment")
        },
    }
    results = {"arms": {"zero_shot": block}, "primary_metric": "answer_containment"}
    row = arms_table(tidy(results))[0]
    assert list(row)[2] == "Answer contained"  # after arm and status
    assert metric_rows(tidy(results))[0]["metric"] == "Answer contained"
