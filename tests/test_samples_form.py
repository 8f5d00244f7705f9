"""The form sample: supply requests -> strict one-line JSON, and its house style guide.

Checks what ``form/README.md`` promises independently of the generator: every output valid
against the schema and recoverable from its request, and a knowledge base (the team's style
guide and catalogue) that covers every catalogue item and rule the requests use, so the RAG
arms have something real to retrieve.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter

import jsonschema
import pytest
from sample_helpers import read_jsonl

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]  # fmt: skip
NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                "ten", "eleven", "twelve"]  # fmt: skip
# The priority rule as form/README.md states it, written out independently of the generator.
HIGH_CUES = (
    "urgent",
    "asap",
    "as soon as possible",
    "immediately",
    "high priority",
    "top priority",
)
LOW_CUES = ("no rush", "no hurry", "low priority", "can wait", "whenever")


def _mentions(text: str, phrase: str) -> bool:
    """Whole-word, case-insensitive: "March" is not mentioned by "Lowenmarch"."""
    return re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text, re.IGNORECASE) is not None


# --- form examples ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def form(generated) -> tuple[dict, list[dict]]:
    schema = json.loads((generated / "form" / "schema.json").read_text(encoding="utf-8"))
    return schema, read_jsonl(generated / "form" / "examples.jsonl")


def test_every_form_output_is_canonical_json_valid_against_the_schema(form):
    schema, examples = form
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert len(examples) >= 200
    for row in examples:
        assert list(row) == ["id", "input", "output"]
        value = json.loads(row["output"])
        assert not list(validator.iter_errors(value)), row
        assert list(value) == schema["required"], row  # fixed key order
        assert row["output"] == json.dumps(value, ensure_ascii=False), row  # one line, no escapes
    assert any(not row["output"].isascii() for row in examples)  # UTF-8 names survive as text


@pytest.mark.parametrize(
    "change",
    [
        {"colour": "red"},
        {"quantity": "3"},
        {"quantity": 0},
        {"date": "03/04/2025"},
        {"date": "2025-13-01"},
        {"priority": "urgent"},
    ],
)
def test_schema_rejects_outputs_that_break_the_format(form, change):
    schema, examples = form
    value = {**json.loads(examples[0]["output"]), **change}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(value, schema)


def test_schema_requires_every_key(form):
    schema, examples = form
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == set(schema["properties"])
    value = json.loads(examples[0]["output"])
    del value["date"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(value, schema)


def _date_mention(text: str, day: dt.date) -> str | None:
    month = MONTHS[day.month - 1]
    suffix = "th" if 11 <= day.day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day.day % 10, "th")
    year = day.year
    forms = [day.isoformat(), f"{month} {day.day}, {year}", f"{day.day} {month} {year}",
             f"{month[:3]} {day.day}, {year}", f"{day.day}{suffix} of {month} {year}"]  # fmt: skip
    return next((f for f in forms if f.lower() in text.lower()), None)


def _priority(text: str) -> str:
    text = text.lower()
    high, low = any(c in text for c in HIGH_CUES), any(c in text for c in LOW_CUES)
    assert not (high and low), f"both high and low cues in {text!r}"
    return "high" if high else "low" if low else "normal"


def test_every_form_field_is_recoverable_from_the_input(form):
    _, examples = form
    for row in examples:
        text, value = row["input"], json.loads(row["output"])
        assert value["name"] in text, row
        day = dt.date.fromisoformat(value["date"])
        mention = _date_mention(text, day)
        assert mention, row
        rest = re.sub(re.escape(mention), " ", text, flags=re.IGNORECASE)
        start = rest.lower().find(value["item"].lower())
        assert start >= 0, row
        near = rest[max(0, start - 20) : start + len(value["item"]) + 16]
        quantity = value["quantity"]
        word = NUMBER_WORDS[quantity] if quantity < len(NUMBER_WORDS) else None
        assert re.search(rf"(?<!\d){quantity}(?!\d)", near) or (
            word and re.search(rf"\b{word}\b", near, re.IGNORECASE)
        ), row
        assert _priority(text) == value["priority"], row


def test_form_inputs_vary_in_the_ways_the_readme_promises(form):
    _, examples = form
    values = [json.loads(row["output"]) for row in examples]
    texts = [row["input"] for row in examples]
    iso = [v["date"] in t for v, t in zip(values, texts, strict=True)]
    assert 0 < sum(iso) < len(texts) / 2  # most dates are written out in words
    assert min(Counter(v["priority"] for v in values).values()) >= 30
    misspelt = "pls cuold ned delivr deliverd thx reqest woud runing oder regrads dedline ofice"
    typos = [any(w in misspelt.split() for w in re.findall(r"\w+", t.lower())) for t in texts]
    assert sum(typos) >= 20
    in_words = [
        v["quantity"] <= 12 and re.search(rf"\b{NUMBER_WORDS[v['quantity']]}\b", t.lower())
        for v, t in zip(values, texts, strict=True)
    ]
    assert sum(bool(x) for x in in_words) >= 20
    assert sum(v["item"] not in t for v, t in zip(values, texts, strict=True)) >= 20  # casing
    assert len({t.split()[0] for t in texts}) >= 10  # openings differ: varied order


def test_no_number_word_but_the_quantity_appears_in_a_request(form):
    """A stray number word ("no rush on this one") would make the quantity ambiguous."""
    _, examples = form
    pattern = re.compile(rf"\b({'|'.join(NUMBER_WORDS)})\b", re.IGNORECASE)
    for row in examples:
        quantity = json.loads(row["output"])["quantity"]
        words = {w.lower() for w in pattern.findall(row["input"])}
        allowed = {NUMBER_WORDS[quantity]} if quantity < len(NUMBER_WORDS) else set()
        assert words <= allowed, row


# --- the form knowledge base: the team's style guide and catalogue --------------------------
CATALOGUE_HEAD = re.compile(r"^Catalogue item: (.+?) \(")


@pytest.fixture(scope="module")
def form_kb(generated) -> dict[str, str]:
    docs = read_jsonl(generated / "form" / "kb.jsonl")
    assert all(list(doc) == ["id", "text"] for doc in docs)
    kb = {d["id"]: d["text"] for d in docs}
    assert len(kb) == len(docs), "duplicate ids"
    return kb


def _catalogue(form_kb: dict[str, str]) -> dict[str, str]:
    """Canonical item name -> its catalogue document id."""
    items: dict[str, str] = {}
    for doc_id, text in form_kb.items():
        if doc_id.startswith("catalogue-"):
            head = CATALOGUE_HEAD.match(text)
            assert head, doc_id
            assert head[1] not in items, f"two catalogue entries for {head[1]!r}"
            items[head[1]] = doc_id
    return items


def test_form_kb_is_a_style_guide_of_short_single_paragraphs(form_kb):
    assert 20 <= len(form_kb) <= 40
    for doc_id, text in form_kb.items():
        assert re.fullmatch(r"(catalogue|style)-[a-z0-9-]+", doc_id), doc_id
        assert 40 <= len(text.split()) <= 150, doc_id
        assert "\n" not in text and text == text.strip(), doc_id
    rules = {"style-output-format", "style-name", "style-item", "style-quantity",
             "style-date-output", "style-date-reading", "style-priority-high",
             "style-priority-low", "style-priority-normal"}  # fmt: skip
    assert rules <= set(form_kb)


def test_every_catalogue_item_used_in_outputs_has_its_catalogue_document(form, form_kb):
    _, examples = form
    used = {json.loads(row["output"])["item"] for row in examples}
    catalogue = _catalogue(form_kb)
    assert used == set(catalogue)  # no item without an entry, no entry never requested
    for item, doc_id in catalogue.items():
        text = form_kb[doc_id]
        assert doc_id == "catalogue-" + re.sub(r"[^a-z0-9]+", "-", item.lower()).strip("-")
        assert f'"{item}"' in text and f'"{item}s"' in text, doc_id  # canonical and plural


def test_other_names_in_the_catalogue_point_to_one_item_only(form_kb):
    catalogue = _catalogue(form_kb)
    seen: dict[str, str] = {}
    for item, doc_id in catalogue.items():
        sentence = re.search(r"Requesters also call it (.+?); all of these", form_kb[doc_id])
        assert sentence, doc_id
        names = re.findall(r'"([^"]+)"', sentence[1])
        assert names, doc_id
        for name in names:
            assert name.lower() not in seen, f"{name!r} names {seen.get(name.lower())} and {item}"
            seen[name.lower()] = item
            others = [o for o in catalogue if o != item and _mentions(name, o)]
            assert not others, f"{name!r} (for {item}) contains the item name {others}"


def test_priority_rules_list_exactly_the_cues_the_requests_use(form_kb):
    high, low = form_kb["style-priority-high"].lower(), form_kb["style-priority-low"].lower()
    assert all(cue in high for cue in HIGH_CUES)
    assert all(cue in low for cue in LOW_CUES)
    assert not any(cue in high for cue in LOW_CUES)
    assert not any(cue in low for cue in HIGH_CUES)
    normal = form_kb["style-priority-normal"]
    assert '"normal"' in normal and "Standard priority" in normal


def test_date_rules_cover_every_date_style_of_the_requests(form_kb):
    reading = form_kb["style-date-reading"]
    iso = re.search(r"\b\d{4}-\d{2}-\d{2}\b", reading)
    assert iso, reading
    day = dt.date.fromisoformat(iso[0])
    month = MONTHS[day.month - 1]
    for written in (
        f"{month} {day.day}, {day.year}",
        f"{day.day} {month} {day.year}",
        f"{month[:3]} {day.day}, {day.year}",
        f"{day.strftime('%A')}, {month} {day.day}, {day.year}",
        day.strftime("%d/%m/%Y"),
    ):
        assert written in reading, written
    assert _date_mention(reading.replace(iso[0], ""), day)  # the ordinal form, e.g. "19th of"
    output = form_kb["style-date-output"]
    assert "YYYY-MM-DD" in output
    assert all(f"{m} " in output and f"= {i:02d}" in output for i, m in enumerate(MONTHS, 1))


def test_name_rule_lists_the_accented_names_the_requests_use(form, form_kb):
    _, examples = form
    parts = {p for row in examples for p in json.loads(row["output"])["name"].split()}
    accented = {p for p in parts if not p.isascii()}
    assert accented and all(p in form_kb["style-name"] for p in accented)


def test_records_in_the_style_guide_are_valid_and_follow_its_own_rules(form, form_kb):
    schema, _ = form
    validator = jsonschema.Draft202012Validator(schema)
    guide = form_kb["style-output-format"] + " " + form_kb["style-worked-examples"]
    records = re.findall(r"\{[^{}]*\}", guide)
    assert len(records) >= 3
    for record in records:
        value = json.loads(record)
        assert not list(validator.iter_errors(value)), record
        assert list(value) == schema["required"] and record == json.dumps(value, ensure_ascii=False)
    # Each worked example's record is recoverable from its request, like the sample's rows.
    pairs = re.findall(r'Request: "(.+?)" Record: (\{[^{}]*\})', form_kb["style-worked-examples"])
    assert len(pairs) >= 2
    for request, record in pairs:
        value = json.loads(record)
        assert value["name"] in request and value["item"].lower() in request.lower()
        assert _date_mention(request, dt.date.fromisoformat(value["date"]))
        assert _priority(request) == value["priority"]


def test_style_guide_gives_no_example_answer_away(form, form_kb):
    _, examples = form
    text = " ".join(form_kb.values())
    assert not [row["id"] for row in examples if row["output"] in text]
    names = {json.loads(row["output"])["name"] for row in examples}
    assert not [n for n in names if n in text]


def test_term_based_retrieval_brings_the_item_entry_into_the_prompt(form, form_kb):
    """With the pilot's own BM25, the item's catalogue entry is among the top hits."""
    from advisor.data.load import Document
    from advisor.retrieval import BM25Retriever, chunk_documents

    _, examples = form
    catalogue = _catalogue(form_kb)
    retriever = BM25Retriever()
    retriever.index(chunk_documents([Document(i, t, i) for i, t in form_kb.items()]))
    hits = retriever.search_batch([row["input"] for row in examples], k=5)
    gold = [catalogue[json.loads(row["output"])["item"]] for row in examples]
    found = [[h.doc_id for h in row_hits] for row_hits in hits]
    assert sum(g in f[:3] for g, f in zip(gold, found, strict=True)) / len(gold) >= 0.8
    assert sum(g in f for g, f in zip(gold, found, strict=True)) / len(gold) >= 0.95
