"""Prompt pieces: the training-context trim that keeps lora_rag's prompts short."""

from __future__ import annotations

import json

import pytest

from advisor.pilot.context import PilotSettings
from advisor.pilot.prompts import Context, trim_contexts
from advisor.pilot.runner import run_pilot
from tests.test_pilot import settings, write_toy

HARBOUR = Context(
    "c1",
    "The harbour of Tarn opened in 1821. It was built by fishermen from the north coast. "
    "Trade grew quickly after the war with the mainland.",
)
MOUNTAIN = Context(
    "c2",
    "Mount Vell is the highest peak of the islands. Its summit reaches 2,310 metres above "
    "the sea. Snow covers it from November to April.",
)


def test_the_answer_sentence_is_kept_and_the_rest_dropped_within_the_budget():
    kept = trim_contexts([HARBOUR, MOUNTAIN], "When did the harbour of Tarn open?", "1821", 8)
    assert kept == [Context("c1", "The harbour of Tarn opened in 1821.")]


def test_the_answer_outweighs_question_words_shared_with_another_sentence():
    question = "How high is the summit of the highest peak, Mount Vell?"
    kept = trim_contexts([HARBOUR, MOUNTAIN], question, "2,310 metres", 12)
    assert [c.text for c in kept] == ["Its summit reaches 2,310 metres above the sea."]


def test_sentences_keep_their_passage_and_order_and_the_best_is_kept_whatever_its_length():
    kept = trim_contexts([MOUNTAIN, HARBOUR], "Tarn harbour trade war Mount Vell", None, 40)
    assert [c.chunk_id for c in kept] == ["c2", "c1"]  # retrieval order, not score order
    first = trim_contexts([HARBOUR], "fishermen north coast", None, 1)
    assert first == [Context("c1", "It was built by fishermen from the north coast.")]


def test_the_setting_must_be_positive_or_none():
    with pytest.raises(ValueError, match="train_context_words must be positive or None"):
        PilotSettings(data="x", out="y", train_context_words=0)


@pytest.mark.slow
def test_lora_rag_trains_on_fewer_tokens_and_tests_on_whole_passages(tmp_path):
    data, kb = write_toy(tmp_path / "data")
    runs = {}
    for words in (None, 8):
        out = tmp_path / f"run-{words}"
        runs[words] = run_pilot(
            settings(data, kb, out, arms=("lora_rag",), train_context_words=words)
        )
        runs[words]["predictions"] = [
            json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()
        ]
    whole, trimmed = runs[None], runs[8]
    assert (
        trimmed["arms"]["lora_rag"]["train"]["tokens"]
        < whole["arms"]["lora_rag"]["train"]["tokens"]
    )
    # test prompts are the same whole retrieved passages either way
    assert [p["prompt_tokens"] for p in trimmed["predictions"]] == [
        p["prompt_tokens"] for p in whole["predictions"]
    ]
