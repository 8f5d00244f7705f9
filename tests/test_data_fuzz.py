"""Fuzz the loaders: whatever a user's file holds, the only error is a DataError.

A traceback (KeyError, UnicodeDecodeError, csv.Error, RecursionError, ...) would reach the
user as a crash; a DataError reaches them as a one-line message saying what to fix.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor.data.load import load_examples, load_knowledge_base
from advisor.errors import DataError

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SUFFIXES = st.sampled_from([".csv", ".tsv", ".jsonl", ".json", ".txt", ""])
COLUMNS = st.sampled_from(["input", "output", "doc_id", "id", "text", "", "x", "in put"])

# Characters that break naive parsers: separators, quotes, line breaks, BOM, NUL, U+2028.
TRICKY = st.text(
    alphabet=st.sampled_from(list(",;\t\"'\n\r {}[]:\\ab1é\ufeff\x00\u2028\x85")), max_size=40
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(COLUMNS, inner, max_size=4),
    max_leaves=8,
)


def csv_like() -> st.SearchStrategy[str]:
    cell = TRICKY | st.text(max_size=10)
    row = st.lists(cell, min_size=0, max_size=5).map(",".join)
    header = st.lists(COLUMNS, min_size=0, max_size=5).map(",".join)
    return st.builds(lambda h, rows: "\n".join([h, *rows]), header, st.lists(row, max_size=8))


def jsonl_like() -> st.SearchStrategy[str]:
    good_line = st.dictionaries(COLUMNS, JSON_VALUES, max_size=5).map(json.dumps)
    any_line = JSON_VALUES.map(lambda v: json.dumps(v, allow_nan=True))
    line = good_line | any_line | TRICKY
    return st.lists(line, max_size=8).map("\n".join)


def load_both(path: Path) -> None:
    for load in (load_examples, load_knowledge_base):
        with contextlib.suppress(DataError):
            load(path)


def check(content: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"data{suffix}"
        path.write_bytes(content)
        load_both(path)
        # The same bytes as a document in a knowledge-base folder.
        docs = Path(folder) / "kb"
        docs.mkdir()
        (docs / "doc.md").write_bytes(content)
        load_both(docs)


@FUZZ
@given(content=st.binary(max_size=300), suffix=SUFFIXES)
def test_random_bytes_raise_only_data_errors(content, suffix):
    check(content, suffix)


@FUZZ
@given(content=st.text(max_size=300), suffix=SUFFIXES)
def test_random_text_raises_only_data_errors(content, suffix):
    check(content.encode("utf-8", "surrogatepass"), suffix)


@FUZZ
@given(content=csv_like(), suffix=st.sampled_from([".csv", ".tsv"]))
def test_csv_like_content_raises_only_data_errors(content, suffix):
    check(content.encode("utf-8"), suffix)


@FUZZ
@given(content=jsonl_like(), suffix=st.sampled_from([".jsonl", ".json", ".txt"]))
def test_jsonl_like_content_raises_only_data_errors(content, suffix):
    check(content.encode("utf-8"), suffix)


def test_deeply_nested_or_huge_json_is_a_data_error(tmp_path):
    deep = "[" * 100_000 + "]" * 100_000  # RecursionError inside json
    huge = '{"input": ' + "1" * 5000 + ', "output": "x"}'  # int over Python's digit limit
    for suffix in (".jsonl", ".json"):
        for content in (deep, huge):
            path = tmp_path / f"data{suffix}"
            path.write_text(content)
            try:
                load_examples(path)
            except DataError as exc:
                assert "JSON" in str(exc)
            else:
                raise AssertionError(f"{content[:20]}... loaded as {suffix}")
