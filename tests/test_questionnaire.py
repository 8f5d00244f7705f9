"""The questionnaire: every contract key, documented defaults, strict checks, safe loading."""

from __future__ import annotations

import contextlib
import dataclasses
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor.decide.questionnaire import (
    GROUPS,
    KEYS,
    MAX_FILE_BYTES,
    QUESTIONS,
    Answers,
    answers_to_dict,
    load_answers,
    loads_answers,
    parse_answers,
)
from advisor.errors import AnswersError

# The table in contract.md, in its order: the questionnaire must accept exactly these keys.
CONTRACT_KEYS = {
    "task", "prompting_effort", "few_shot_tried", "failures", "knowledge_source",
    "knowledge_change", "needs_citations", "labeled_examples", "can_distill", "model_access",
    "model_params_b", "gpu_memory_gb", "ml_expertise", "can_serve_custom_model",
    "queries_per_day", "multi_task",
}  # fmt: skip


def test_questions_cover_exactly_the_contract_keys():
    assert set(KEYS) == CONTRACT_KEYS
    assert {f.name for f in dataclasses.fields(Answers)} == CONTRACT_KEYS
    assert len(KEYS) == len(set(KEYS))


@pytest.mark.parametrize("question", QUESTIONS, ids=lambda q: q.key)
def test_every_question_is_documented(question):
    assert question.label.endswith("?")
    assert question.help and question.principle
    assert "AI Engineering" in question.source or "et al." in question.source
    assert question.group in GROUPS
    # the default itself passes the question's own check
    assert question.check(question.default) == question.default


def test_groups_follow_the_workflow_order():
    order = [GROUPS.index(q.group) for q in QUESTIONS]
    assert order == sorted(order), "QUESTIONS must be listed group by group, in workflow order"


def test_defaults_are_the_documented_typical_team():
    a = Answers()
    assert (a.prompting_effort, a.few_shot_tried, a.failures) == ("none", False, ())
    assert (a.model_access, a.model_params_b, a.gpu_memory_gb) == ("open_weights", 7.0, 0.0)
    assert (a.can_serve_custom_model, a.labeled_examples, a.queries_per_day) == (True, 0, 1000)


def test_round_trip_through_a_dict_and_json():
    a = parse_answers(
        {"failures": ["wrong_format", "missing_knowledge"], "labeled_examples": 300,
         "model_params_b": 13, "gpu_memory_gb": 24, "task": "extract invoices"}
    )  # fmt: skip
    assert a.failures == ("wrong_format", "missing_knowledge")
    assert isinstance(a.model_params_b, float) and a.model_params_b == 13.0
    assert parse_answers(json.loads(json.dumps(answers_to_dict(a)))) == a
    assert a.information_failures == ("missing_knowledge",)
    assert a.behaviour_failures == ("wrong_format",)


def test_integral_float_is_accepted_for_counts():
    assert parse_answers({"queries_per_day": 1e5}).queries_per_day == 100_000


def test_answers_dataclass_validates_direct_construction():
    with pytest.raises(AnswersError, match="ml_expertise"):
        Answers(ml_expertise="expert")


BAD_DOCUMENTS = [
    # (document, substrings the message must contain)
    ({"failure": ["wrong_format"]},
     ["unknown key 'failure'", "did you mean 'failures'", "multi_task"]),
    ({"few_shot_tried": "yes"}, ["few_shot_tried", "true or false", "'yes'"]),
    ({"needs_citations": 1}, ["needs_citations", "true or false"]),
    ({"labeled_examples": True}, ["labeled_examples", "whole number"]),
    ({"labeled_examples": 12.5}, ["labeled_examples", "whole number"]),
    ({"labeled_examples": -1}, ["labeled_examples", ">= 0"]),
    ({"labeled_examples": "200"}, ["labeled_examples", "'200'"]),
    ({"model_params_b": 0}, ["model_params_b", "> 0"]),
    ({"model_params_b": float("nan")}, ["model_params_b"]),
    ({"gpu_memory_gb": float("inf")}, ["gpu_memory_gb"]),
    ({"gpu_memory_gb": -4}, ["gpu_memory_gb", ">= 0"]),
    ({"prompting_effort": "sytematic"},
     ["prompting_effort", "none, basic, systematic", "did you mean 'systematic'"]),
    ({"model_access": "closed"}, ["model_access", "api_only, api_finetune, open_weights"]),
    ({"knowledge_change": False}, ["knowledge_change", "static, monthly, daily"]),
    ({"failures": "wrong_format"}, ["failures", "must be a list"]),
    ({"failures": ["wrong_format", "wrong_format"]}, ["failures", "'wrong_format' twice"]),
    ({"failures": ["bad_vibes"]}, ["failures", "'bad_vibes'", "too_slow_or_costly"]),
    ({"failures": [["nested"]]}, ["failures", "unknown item"]),
    ({"task": 42}, ["task", "text"]),
    ({"task": "x" * 20_000}, ["task", "too long"]),
    ({1: True}, ["keys must be text"]),
    ({"labeled_examples": 10**5000}, ["labeled_examples", "too large to show"]),
]  # fmt: skip


@pytest.mark.parametrize("document, expected", BAD_DOCUMENTS)
def test_bad_answers_name_the_key_and_what_is_allowed(document, expected):
    with pytest.raises(AnswersError) as err:
        parse_answers(document)
    for fragment in expected:
        assert fragment in str(err.value)


@pytest.mark.parametrize("top", [[1, 2], "text", 3, None])
def test_top_level_must_be_a_mapping(top):
    with pytest.raises(AnswersError, match="mapping"):
        parse_answers(top)


# ------------------------------------------------------------------ files


@pytest.mark.parametrize(
    "name, text",
    [
        ("a.json", '{"failures": ["wrong_style"], "few_shot_tried": true}'),
        ("a.yaml", "failures: [wrong_style]\nfew_shot_tried: true\n"),
        ("a.yml", "failures:\n  - wrong_style\nfew_shot_tried: yes  # YAML 1.1: unquoted yes\n"),
        ("answers.txt", '{"failures": ["wrong_style"], "few_shot_tried": true}'),
        ("answers", "failures: [wrong_style]\nfew_shot_tried: true\n"),
    ],
)
def test_load_json_and_yaml_files(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    a = load_answers(path)
    assert a.failures == ("wrong_style",) and a.few_shot_tried is True


BAD_FILES = [
    ("empty.yaml", b"", "is empty"),
    ("blank.json", b"  \n\t\n", "is empty"),
    ("comments.yaml", b"# nothing here\n", "holds no answers"),
    ("bad.json", b'{"failures": [wrong_format]}', "not valid JSON"),
    ("bad.yaml", b"failures: [wrong_format\nfew_shot_tried: true\n", "not valid YAML"),
    ("tabs.yaml", b"failures:\n\t- wrong_format\n", "not valid YAML"),
    ("list.yaml", b"- wrong_format\n- missing_knowledge\n", "mapping"),
    ("latin1.yaml", "task: caf\xe9\n".encode("latin-1"), "not UTF-8"),
    ("quoted.yaml", b'few_shot_tried: "yes"\n', "few_shot_tried"),
    ("python.yaml", b"task: !!python/object:os.system ls\n", "not valid YAML"),
    ("bigint.yaml", b"labeled_examples: " + b"9" * 5000 + b"\n", "YAML"),
    ("bigint.json", b'{"labeled_examples": ' + b"9" * 5000 + b"}", "JSON"),
    ("deep.json", b"[" * 100_000, "JSON"),
]


@pytest.mark.parametrize("name, content, expected", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_files_raise_answers_error(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(AnswersError, match=expected):
        load_answers(path)


def test_missing_directory_and_huge_files(tmp_path):
    with pytest.raises(AnswersError, match="does not exist"):
        load_answers(tmp_path / "nope.yaml")
    with pytest.raises(AnswersError, match="not a file"):
        load_answers(tmp_path)
    huge = tmp_path / "huge.json"
    huge.write_bytes(b"{" + b" " * MAX_FILE_BYTES + b"}")
    with pytest.raises(AnswersError, match="right file"):
        load_answers(huge)


def test_self_referencing_yaml_gives_a_short_message():
    with pytest.raises(AnswersError) as err:
        loads_answers("failures: &a [*a]\n", fmt="yaml")
    assert len(str(err.value)) < 500


# ------------------------------------------------------------------ property: only AnswersError

_junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _valid(q) -> st.SearchStrategy:
    """Values a question accepts (and near misses at its bounds)."""
    if q.type == "bool":
        return st.booleans()
    if q.type == "choice":
        return st.sampled_from(q.allowed)
    if q.type == "choices":
        return st.lists(st.sampled_from(q.allowed), max_size=4)
    if q.type == "text":
        return st.text(max_size=30)
    if q.type == "int":
        return st.integers(min_value=-2, max_value=10**13)
    return st.floats(min_value=-1, max_value=2e5) | st.just(float("nan"))


_documents = st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=12), _junk, max_size=6) | (
    st.fixed_dictionaries({}, optional={q.key: _valid(q) | _junk for q in QUESTIONS})
)


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(_documents)
def test_random_documents_raise_only_answers_error(document):
    try:
        answers = parse_answers(document)
    except AnswersError as exc:
        assert str(exc)
    else:
        assert set(document) <= set(KEYS)
        assert parse_answers(answers_to_dict(answers)) == answers


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(lambda t: t.encode("utf-8")))
def test_random_bytes_into_the_loaders_raise_only_answers_error(blob):
    for fmt in ("yaml", "json", None):
        with contextlib.suppress(AnswersError):
            loads_answers(blob, fmt=fmt)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.text(alphabet="{}[]:,-&*!|>'\"#\n -_.0123456789abcdefnotruyslx\t?%@`", max_size=80))
def test_yaml_shaped_text_raises_only_answers_error(text):
    with contextlib.suppress(AnswersError):
        loads_answers(text, fmt="yaml")
