"""Metrics against hand-computed values; the registry's conformance over every metric."""

from __future__ import annotations

import itertools
import json
import random

import numpy as np
import pytest

from advisor.errors import AdvisorError
from advisor.evaluation.metrics import (
    METRICS,
    FormatSpec,
    _lcs_length,
    exact_match,
    format_valid,
    normalize_answer,
    register_metric,
    rouge_l,
    score_predictions,
    semantic_similarity,
    summarize,
    token_f1,
)

# ---------------------------------------------------------------- normalisation, exact match


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Cat!", "cat"),
        ("  an   apple, a day ", "apple day"),
        ("Theory of a Thing", "theory of thing"),  # "the" inside a word stays
        ("U.S.A.", "usa"),
        ("Tab\tand\nnewline", "tab and newline"),
        ("the a an", ""),
    ],
)
def test_normalize_answer_follows_squad(text, expected):
    assert normalize_answer(text) == expected


@pytest.mark.parametrize(
    ("prediction", "reference", "expected"),
    [
        ("The Eiffel Tower.", "eiffel tower", 1.0),
        ("an answer", "Answer", 1.0),
        ("Paris", "Paris, France", 0.0),
        ("theater", "ater", 0.0),
        ("1,000", "1000", 1.0),  # punctuation goes, as in SQuAD
    ],
)
def test_exact_match_after_normalisation(prediction, reference, expected):
    assert exact_match(prediction, reference) == expected


# ---------------------------------------------------------------- token F1


def test_token_f1_worked_example():
    # pred "the cat sat on the mat" -> [cat, sat, on, mat]            (4 tokens)
    # ref  "a cat sat on a red mat" -> [cat, sat, on, red, mat]       (5 tokens)
    # common = 4; precision = 4/4 = 1; recall = 4/5 = 0.8
    # F1 = 2 * 1 * 0.8 / (1 + 0.8) = 1.6 / 1.8 = 8/9
    assert token_f1("the cat sat on the mat", "a cat sat on a red mat") == pytest.approx(8 / 9)


def test_token_f1_counts_repeated_tokens_once_per_match():
    # pred [cat, cat, dog], ref [cat, dog, dog, bird]
    # common = min(2,1) cat + min(1,2) dog = 2; P = 2/3, R = 2/4
    # F1 = 2 * (2/3) * (1/2) / (2/3 + 1/2) = (2/3) / (7/6) = 4/7
    assert token_f1("cat cat dog", "cat dog dog bird") == pytest.approx(4 / 7)


def test_token_f1_empty_cases():
    assert token_f1("The.", "a") == 1.0  # both normalise to nothing
    assert token_f1("", "cat") == 0.0
    assert token_f1("cat", "") == 0.0
    assert token_f1("dog", "cat") == 0.0


# ---------------------------------------------------------------- ROUGE-L


def test_rouge_l_worked_example():
    # pred: the cat was found under the bed   (7 tokens)
    # ref:  the cat was under the bed         (6 tokens)
    # LCS = "the cat was under the bed" = 6; P = 6/7, R = 6/6 = 1
    # F = 2 * (6/7) * 1 / (6/7 + 1) = (12/7) / (13/7) = 12/13
    assert rouge_l("The cat was found under the bed", "the cat was under the bed") == (
        pytest.approx(12 / 13)
    )


def test_rouge_l_rewards_order_unlike_token_f1():
    # pred [w, x, y, z], ref [x, w, z, y]: LCS length 2 (e.g. "w z"); P = R = 2/4 -> F = 0.5
    assert rouge_l("w x y z", "x w z y") == pytest.approx(0.5)
    assert token_f1("w x y z", "x w z y") == pytest.approx(1.0)


def test_rouge_l_empty_cases():
    assert rouge_l("", "") == 1.0
    assert rouge_l("...", "cat") == 0.0
    assert rouge_l("dog", "cat") == 0.0


def _lcs_brute(a, b):
    for size in range(min(len(a), len(b)), 0, -1):
        subs = set(itertools.combinations(b, size))
        if any(c in subs for c in itertools.combinations(a, size)):
            return size
    return 0


def test_lcs_matches_brute_force_reference():
    rng = random.Random(0)
    for _ in range(200):
        a = [rng.choice("abc") for _ in range(rng.randint(0, 7))]
        b = [rng.choice("abc") for _ in range(rng.randint(0, 7))]
        assert _lcs_length(a, b) == _lcs_brute(a, b), (a, b)


# ---------------------------------------------------------------- semantic similarity


def test_semantic_similarity_identical_strings_score_one(fake_embedder):
    texts = ["the capital of France is Paris", "42"]
    assert semantic_similarity(texts, texts, fake_embedder) == pytest.approx([1.0, 1.0])


def test_semantic_similarity_orders_related_above_unrelated(fake_embedder):
    ref = "the capital of France is Paris"
    close, far = semantic_similarity(
        ["Paris is the capital of France", "bananas grow in tropical climates"],
        [ref, ref],
        fake_embedder,
    )
    assert 0.0 <= far < close <= 1.0


class _FixedEmbedder:
    """Vectors chosen by hand; counts calls so the batch contract is checked."""

    name = "fixed"

    def __init__(self, table):
        self.table = table
        self.calls = 0

    def encode(self, texts):
        self.calls += 1
        return np.array([self.table[t] for t in texts], dtype=np.float32)


def test_semantic_similarity_cosine_clipped_and_batched():
    emb = _FixedEmbedder({"p": [1, 0], "q": [-1, 0], "r": [0.6, 0.8], "s": [3, 4]})
    # cos(p, r) = 0.6; cos(q, p) = -1 -> clipped to 0; cos(s, r) = (1.8 + 3.2) / 5 = 1.0
    scores = semantic_similarity(["p", "q", "s"], ["r", "p", "r"], emb)
    assert scores == pytest.approx([0.6, 0.0, 1.0])
    assert emb.calls == 1
    assert semantic_similarity([], [], emb) == []


# ---------------------------------------------------------------- format validity

SCHEMA = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string"}},
}


@pytest.mark.parametrize(
    ("spec", "text", "expected"),
    [
        (FormatSpec("json"), '{"a": 1}', 1.0),
        (FormatSpec("json"), "  [1, 2]\n", 1.0),  # surrounding whitespace is fine
        (FormatSpec("json"), '```json\n{"a": 1}\n```', 0.0),  # strict: no Markdown fence
        (FormatSpec("json"), 'Here it is: {"a": 1}', 0.0),
        (FormatSpec("json"), '{"a": 1', 0.0),
        (FormatSpec("json"), "NaN", 0.0),  # not JSON, although Python's parser allows it
        (FormatSpec("json"), "[" * 100_000, 0.0),  # deep nesting fails, does not crash
        (FormatSpec("json_schema", schema=SCHEMA), '{"name": "Ada"}', 1.0),
        (FormatSpec("json_schema", schema=SCHEMA), '{"name": 3}', 0.0),
        (FormatSpec("json_schema", schema=SCHEMA), "{}", 0.0),
        (FormatSpec("json_schema", schema=SCHEMA), "name: Ada", 0.0),
        (FormatSpec("regex", pattern=r"[A-Z]{3}-\d+"), "ABC-123", 1.0),
        (FormatSpec("regex", pattern=r"[A-Z]{3}-\d+"), " ABC-12\n", 1.0),
        (FormatSpec("regex", pattern=r"[A-Z]{3}-\d+"), "ABC-123 extra", 0.0),  # fullmatch
        (FormatSpec("regex", pattern=r"[A-Z]{3}-\d+"), "abc-123", 0.0),
    ],
)
def test_format_valid(spec, text, expected):
    assert format_valid(text, "ignored", spec) == expected


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"kind": "xml"}, "must be one of"),
        ({"kind": "regex"}, "needs a pattern"),
        ({"kind": "regex", "pattern": "(["}, "invalid"),
        ({"kind": "json_schema"}, "needs a schema"),
        ({"kind": "json_schema", "schema": {"type": "objekt"}}, "invalid"),
        ({"kind": "json_schema", "schema": {"properties": {"x": {"minLength": -1}}}}, "x"),
        ({"kind": "json", "pattern": "x"}, "takes no pattern"),
        ({"kind": "json", "schema": {}}, "takes no schema"),
    ],
)
def test_format_spec_rejects_bad_user_input(kwargs, needle):
    with pytest.raises(AdvisorError, match=needle):
        FormatSpec(**kwargs)


def test_format_spec_from_user_forms(tmp_path):
    assert FormatSpec.from_user("json") == FormatSpec("json")
    assert FormatSpec.from_user(" JSON ").kind == "json"
    spec = FormatSpec.from_user("regex:^a+ $")
    assert spec == FormatSpec("regex", pattern="^a+ $")
    assert FormatSpec.from_user(SCHEMA) == FormatSpec("json_schema", schema=SCHEMA)
    assert FormatSpec.from_user(json.dumps(SCHEMA)).schema == SCHEMA
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(SCHEMA), encoding="utf-8")
    from_file = FormatSpec.from_user(str(path))
    assert from_file.kind == "json_schema" and from_file.schema == SCHEMA
    assert FormatSpec.from_user(path) == from_file
    for original in (FormatSpec("json"), spec, from_file):  # to_dict round-trips
        assert FormatSpec.from_user(json.loads(json.dumps(original.to_dict()))) == original


def test_format_spec_prompt_hint_names_the_format():
    assert "JSON" in FormatSpec("json").prompt_hint()
    assert '"required":["name"]' in FormatSpec("json_schema", schema=SCHEMA).prompt_hint()
    assert r"[A-Z]{3}-\d+" in FormatSpec("regex", pattern=r"[A-Z]{3}-\d+").prompt_hint()


def test_format_spec_copies_the_schema():
    schema = {"type": "object"}
    spec = FormatSpec("json_schema", schema=schema)
    schema["type"] = "string"
    assert format_valid("{}", "", spec) == 1.0


@pytest.mark.parametrize("name", ["missing.json", "broken.json", "list.json", "yaml", "{oops"])
def test_format_spec_from_user_errors(tmp_path, name):
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "list.json").write_text("[1, 2]", encoding="utf-8")
    value = str(tmp_path / name) if name.endswith(".json") else name
    with pytest.raises(AdvisorError):
        FormatSpec.from_user(value)


# ---------------------------------------------------------------- registry and scoring


def test_registry_flags():
    assert {"exact_match", "token_f1", "rouge_l", "semantic_similarity", "format_valid"} <= set(
        METRICS
    )
    assert {n for n, m in METRICS.items() if m.binary} >= {"exact_match", "format_valid"}
    assert not METRICS["token_f1"].binary
    assert METRICS["semantic_similarity"].batch
    assert METRICS["semantic_similarity"].needs == ("embedder",)
    assert all(m.higher_is_better and m.description for m in METRICS.values())


def test_register_metric_refuses_duplicates_and_unknown_needs():
    with pytest.raises(ValueError, match="already registered"):
        register_metric("exact_match")(lambda p, r: 0.0)
    with pytest.raises(ValueError, match="unknown metric needs"):
        register_metric("new_metric", needs=("gpu",))


@pytest.mark.parametrize("name", sorted(METRICS))
def test_every_metric_scores_in_unit_interval_and_perfect_answers_high(name, fake_embedder):
    refs = ["Paris", "the cat sat on the mat", '{"a": 1}', ""]
    preds = ["paris.", "a dog stood", '{"a": 1}', "something"]
    spec = FormatSpec("json")
    same = score_predictions(refs, refs, [name], embedder=fake_embedder, format_spec=spec)[name]
    mixed = score_predictions(preds, refs, [name], embedder=fake_embedder, format_spec=spec)[name]
    assert len(same) == len(mixed) == len(refs)
    assert all(0.0 <= v <= 1.0 for v in same + mixed)
    if name != "format_valid":  # format ignores the reference
        assert same[:3] == pytest.approx([1.0, 1.0, 1.0])
    if METRICS[name].binary:
        assert set(same + mixed) <= {0.0, 1.0}


def test_score_predictions_picks_metrics_by_available_resources(fake_embedder):
    preds, refs = ["The cat.", "bananas are yellow"], ["cat", "cat"]
    plain = score_predictions(preds, refs)
    assert set(plain) == {"exact_match", "token_f1", "rouge_l", "answer_containment"}
    assert plain["exact_match"] == [1.0, 0.0]
    assert plain["token_f1"] == [1.0, 0.0]
    with_all = score_predictions(preds, refs, embedder=fake_embedder, format_spec="regex:.*cat.*")
    # field_accuracy applies only when every reference is a JSON object
    assert set(with_all) == set(METRICS) - {"field_accuracy"}
    assert with_all["format_valid"] == [1.0, 0.0]
    assert with_all["semantic_similarity"][0] > with_all["semantic_similarity"][1]


def test_score_predictions_errors():
    with pytest.raises(AdvisorError, match="needs an embedder"):
        score_predictions(["a"], ["a"], ["semantic_similarity"])
    with pytest.raises(AdvisorError, match="needs a format"):
        score_predictions(["a"], ["a"], ["format_valid"])
    with pytest.raises(AdvisorError, match="unknown metric.*allowed"):
        score_predictions(["a"], ["a"], ["bleu"])
    with pytest.raises(ValueError, match="length"):
        score_predictions(["a", "b"], ["a"])


def test_failed_generation_scores_as_a_miss():
    scores = score_predictions([None], ["cat"], ["exact_match", "token_f1", "rouge_l"])
    assert scores == {"exact_match": [0.0], "token_f1": [0.0], "rouge_l": [0.0]}


def test_summarize_mean_ci_and_n():
    scores = {"exact_match": [1.0, 0.0, 1.0, 1.0], "token_f1": [0.5, 0.25, 0.75, 1.0]}
    out = summarize(scores, seed=3)
    assert out["exact_match"]["mean"] == pytest.approx(0.75)
    assert out["token_f1"]["mean"] == pytest.approx(0.625)  # 2.5 / 4
    for name, block in out.items():
        lo, hi = block["ci95"]
        assert lo <= block["mean"] <= hi
        assert block["n"] == 4
        assert min(scores[name]) <= lo and hi <= max(scores[name])
    assert summarize(scores, seed=3) == out  # seeded: reproducible
    json.dumps(out)  # results.json must be able to hold it
    with pytest.raises(AdvisorError, match="empty"):
        summarize({"exact_match": []})
