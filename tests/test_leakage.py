"""Train/test leakage checks: exact and near-duplicate inputs (advisor.data.leakage)."""

from __future__ import annotations

import json

import pytest

from advisor.data.load import Example, find_leakage
from advisor.errors import DataError

TRAIN = [
    Example("t1", "How do I reset my password for the billing portal?", "Use the reset link"),
    Example("t2", "What are the opening hours of the Berlin office?", "9 to 5"),
    Example("t3", "Which plan includes single sign-on?", "Enterprise"),
]


def test_exact_duplicates_after_normalisation_are_found_without_an_embedder():
    test = [
        Example("q1", "which PLAN includes single sign on", "Enterprise"),
        Example("q2", "Can I pay by invoice?", "Yes"),
    ]
    report = find_leakage(TRAIN, test)
    assert [(p.test_id, p.train_id, p.similarity, p.kind) for p in report.pairs] == [
        ("q1", "t3", 1.0, "exact")
    ]
    assert (report.exact, report.near, report.leaked_fraction) == (1, 0, 0.5)
    assert report.embedder is None and "not checked" in report.summary()


def test_planted_near_duplicate_is_found_with_the_embedder(fake_embedder):
    test = [
        Example("q1", "How do I reset my password for the billing portal please", "link"),
        Example("q2", "Can I pay by invoice?", "Yes"),
        Example("q3", "Where is the Berlin office?", "Mitte"),
    ]
    report = find_leakage(TRAIN, test, embedder=fake_embedder, threshold=0.9)
    assert [(p.test_id, p.train_id, p.kind) for p in report.pairs] == [("q1", "t1", "near")]
    assert 0.9 <= report.pairs[0].similarity < 1.0
    assert report.embedder == fake_embedder.name
    # The same pair is not leakage at a stricter threshold.
    assert find_leakage(TRAIN, test, embedder=fake_embedder, threshold=0.99).pairs == []


def test_exact_match_wins_over_near_and_each_test_example_appears_once(fake_embedder):
    test = [Example("q1", "What are the opening hours of the Berlin office", "9-5")]
    report = find_leakage(TRAIN + TRAIN, test, embedder=fake_embedder, threshold=0.5)
    assert [(p.train_id, p.kind) for p in report.pairs] == [("t2", "exact")]


def test_clean_split_reports_no_leakage(fake_embedder):
    test = [Example("q1", "Can I pay by invoice?", "Yes")]
    report = find_leakage(TRAIN, test, embedder=fake_embedder)
    assert report.pairs == [] and report.leaked_fraction == 0.0
    assert report.summary().startswith("No leakage")
    assert find_leakage([], [], embedder=fake_embedder).leaked_fraction == 0.0


def test_summary_and_to_dict_describe_the_pairs(fake_embedder):
    test = [Example(f"q{i}", "Which plan includes single sign-on?", "E") for i in range(5)]
    report = find_leakage(TRAIN, test, embedder=fake_embedder)
    assert "5 of 5 test inputs (100.0%)" in report.summary()
    record = report.to_dict(max_pairs=2)
    json.dumps(record)  # JSON-ready
    assert record["exact"] == 5 and record["pairs_truncated"] is True
    assert record["pairs"][0] == {
        "test_id": "q0",
        "train_id": "t3",
        "similarity": 1.0,
        "kind": "exact",
    }
    assert len(record["pairs"]) == 2


def test_blocks_give_the_same_answer_as_one_pass(fake_embedder):
    test = [Example(f"q{i}", f"{TRAIN[i % 3].input} now", "x") for i in range(7)]
    one = find_leakage(TRAIN, test, embedder=fake_embedder, threshold=0.8)
    blocked = find_leakage(TRAIN, test, embedder=fake_embedder, threshold=0.8, batch_size=2)
    assert one.pairs == blocked.pairs and len(one.pairs) == 7


@pytest.mark.parametrize("threshold", [0, -0.5, 1.5, True])
def test_bad_threshold_is_a_data_error(threshold):
    with pytest.raises(DataError, match="threshold must be in"):
        find_leakage(TRAIN, TRAIN, threshold=threshold)
