"""Seeded, grouped train/validation/test splits (advisor.data.splits via advisor.data.load)."""

from __future__ import annotations

import random

import pytest

from advisor.data.load import Example, split_examples
from advisor.data.splits import MIN_TEST, MIN_TRAIN, MIN_VALIDATION
from advisor.errors import DataError


def make(n: int, prefix: str = "question") -> list[Example]:
    return [Example(f"ex{i}", f"{prefix} number {i}", f"answer {i}") for i in range(n)]


def ids(examples: list[Example]) -> list[str]:
    return [ex.id for ex in examples]


def test_fractions_give_the_requested_sizes_and_partition_the_examples():
    examples = make(100)
    split = split_examples(examples, test_size=0.2, validation_size=0.1, seed=0)
    assert (len(split.train), len(split.validation), len(split.test)) == (70, 10, 20)
    together = ids(split.train) + ids(split.validation) + ids(split.test)
    assert sorted(together) == sorted(ids(examples))


def test_counts_and_no_validation_set():
    split = split_examples(make(40), test_size=12, validation_size=0)
    assert (len(split.train), len(split.validation), len(split.test)) == (28, 0, 12)
    split = split_examples(make(40), test_size=12.0, validation_size=3.0)  # as JSON holds them
    assert (len(split.train), len(split.validation), len(split.test)) == (25, 3, 12)


def test_same_seed_same_split_whatever_the_row_order():
    examples = make(60)
    first = split_examples(examples, seed=3)
    shuffled = examples[:]
    random.Random(1).shuffle(shuffled)
    again = split_examples(shuffled, seed=3)
    for part in ("train", "validation", "test"):
        assert set(ids(getattr(first, part))) == set(ids(getattr(again, part)))
    assert split_examples(examples, seed=3) == first
    assert set(ids(split_examples(examples, seed=4).test)) != set(ids(first.test))


def test_small_fractions_are_raised_to_the_documented_minimums():
    split = split_examples(make(10), test_size=0.1, validation_size=0.05)
    assert len(split.test) == MIN_TEST
    assert len(split.validation) == MIN_VALIDATION
    assert len(split.train) == 10 - MIN_TEST - MIN_VALIDATION >= MIN_TRAIN


def test_examples_sharing_a_normalised_input_stay_in_one_split():
    examples = make(40)
    repeats = [
        Example("r1", "What is RAG?", "retrieval"),
        Example("r2", "what is rag", "Retrieval augmented generation"),
        Example("r3", "WHAT   is RAG!", "retrieval"),
    ]
    for seed in range(10):
        split = split_examples(examples + repeats, seed=seed)
        homes = [
            part
            for part in ("train", "validation", "test")
            if {"r1", "r2", "r3"} & set(ids(getattr(split, part)))
        ]
        assert len(homes) == 1
        assert {"r1", "r2", "r3"} <= set(ids(getattr(split, homes[0])))


def test_too_few_examples_says_how_many_are_needed():
    need = MIN_TRAIN + MIN_VALIDATION + MIN_TEST
    with pytest.raises(DataError, match=rf"need at least {need} examples.*got {need - 1}"):
        split_examples(make(need - 1))
    split_examples(make(need))  # exactly enough works
    with pytest.raises(DataError, match=r"need at least 7 examples.*got 6"):
        split_examples(make(6), validation_size=0)
    with pytest.raises(DataError, match=r"need at least 32 examples.*got 31"):
        split_examples(make(31), test_size=20, validation_size=10)
    with pytest.raises(DataError, match=r"need at least 8 examples.*got 7"):
        split_examples(make(7), test_size=0.5, validation_size=0.4)


@pytest.mark.parametrize("n", range(8, 60))
def test_rounding_never_starves_training_once_the_minimum_is_met(n):
    split = split_examples(make(n), test_size=0.5, validation_size=0.4)
    assert len(split.train) >= MIN_TRAIN
    assert len(split.validation) >= MIN_VALIDATION and len(split.test) >= MIN_TEST
    assert len(split.train) + len(split.validation) + len(split.test) == n


def test_groups_too_large_to_split_are_explained():
    same = [Example(f"ex{i}", "the same question", f"answer {i}") for i in range(20)]
    with pytest.raises(DataError, match=r"only 1 distinct inputs.*20 times"):
        split_examples(same)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"test_size": 0.0}, "test_size must be a fraction between 0 and 1 or a whole"),
        ({"test_size": 1.5}, "test_size must be a fraction between 0 and 1 or a whole"),
        ({"test_size": -3}, "test_size as a count"),
        ({"test_size": True}, "test_size must be"),
        ({"test_size": "0.2"}, "test_size must be"),
        ({"validation_size": -0.1}, "validation_size must be a fraction"),
        ({"test_size": 0.6, "validation_size": 0.4}, "leaves nothing for training"),
        ({"test_size": 3}, "test_size=3 is below the minimum of 5"),
        ({"validation_size": 1, "min_validation": 2}, "lower min_validation"),
        ({"min_train": 0}, "min_train must be a whole number >= 1"),
        ({"min_validation": -1}, "min_validation must be a whole number >= 0"),
    ],
)
def test_bad_split_settings_are_data_errors(kwargs, message):
    with pytest.raises(DataError, match=message):
        split_examples(make(100), **kwargs)


def test_to_dict_lists_ids_per_split_and_the_seed():
    split = split_examples(make(20), seed=7)
    record = split.to_dict()
    assert record["seed"] == 7
    assert record["test"] == ids(split.test)
    assert sorted(record["train"] + record["validation"] + record["test"]) == sorted(ids(make(20)))
