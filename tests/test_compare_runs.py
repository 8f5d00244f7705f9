"""``advisor compare``: two runs paired on their shared test items (hand-made run folders)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from advisor.cli import main
from advisor.errors import AdvisorError
from advisor.pilot.compare_runs import compare_runs


def write_run(folder: Path, arm: str, rows: list[dict], **results) -> Path:
    """A run folder as the pilot writes it: results.json and the arm's per-item scores."""
    (folder / "arms").mkdir(parents=True, exist_ok=True)
    body = {
        "model": "HuggingFaceTB/SmolLM2-135M-Instruct",
        "smoke": False,
        "primary_metric": "token_f1",
        "config": {"task": "Answer.", "seed": 0, "data": "ex.jsonl"},
        "arms": {arm: {"status": "ok", "metrics": {}}},
        **results,
    }
    (folder / "results.json").write_text(json.dumps(body))
    lines = "".join(json.dumps({"arm": arm, **r}) + "\n" for r in rows)
    (folder / "arms" / f"{arm}.predictions.jsonl").write_text(lines)
    return folder


def rows(f1: list[float], em: list[float], ids=None, inputs=None) -> list[dict]:
    ids = ids or [f"q{i}" for i in range(len(f1))]
    inputs = inputs or [f"question {i}" for i in ids]
    return [
        {
            "example_id": i,
            "input": x,
            "reference": f"answer {i}",
            "output": "...",
            "scores": {"token_f1": f, "exact_match": e},
        }
        for i, x, f, e in zip(ids, inputs, f1, em, strict=True)
    ]


A_F1 = [0.2, 0.5, 0.5, 0.8, 0.1, 0.4]
B_F1 = [0.6, 0.5, 0.9, 0.8, 0.3, 0.4]  # differences 0.4, 0, 0.4, 0, 0.2, 0
A_EM = [0, 0, 1, 1, 0, 0]
B_EM = [1, 1, 1, 1, 1, 0]  # three items only B got right, none only A


@pytest.fixture
def two_runs(tmp_path):
    a = write_run(tmp_path / "a", "few_shot", rows(A_F1, A_EM))
    b = write_run(
        tmp_path / "b",
        "few_shot",
        rows(B_F1, B_EM),
        config={"task": "Answer in one word.", "seed": 0, "data": "ex.jsonl"},
    )
    return a, b


def test_the_paired_test_matches_the_hand_computed_case(two_runs):
    cmp = compare_runs(*two_runs)
    (arm,) = cmp["arms"]
    assert arm["arm_a"] == arm["arm_b"] == "few_shot" and arm["n_shared"] == 6
    by = {c["metric"]: c for c in arm["comparisons"]}
    f1 = by["token_f1"]
    # mean difference 1.0 / 6; three non-zero differences, all positive: of the 2^3 sign
    # patterns only all-plus and all-minus reach |sum| 1.0, so the exact p is 2/8
    assert f1["diff"] == pytest.approx(1.0 / 6)
    assert f1["test"] == "permutation_exact" and f1["p_value"] == pytest.approx(0.25)
    assert f1["n"] == 6 and not f1["significant"]
    # exact match: McNemar on 3 discordant pairs, all for B: p = 2 x (1/2)^3 = 0.25
    em = by["exact_match"]
    assert em["diff"] == pytest.approx(0.5)
    assert em["test"] == "mcnemar_exact" and em["p_value"] == pytest.approx(0.25)
    assert arm["metrics"]["token_f1"]["a"]["mean"] == pytest.approx(sum(A_F1) / 6)
    assert arm["metrics"]["token_f1"]["b"]["mean"] == pytest.approx(sum(B_F1) / 6)
    # Holm over the two tests: 2 x 0.25 for both
    assert [c["p_holm"] for c in arm["comparisons"]] == pytest.approx([0.5, 0.5])
    assert cmp["settings_diff"] == [{"key": "task", "a": "Answer.", "b": "Answer in one word."}]


def test_a_consistent_gain_over_ten_items_is_significant(tmp_path):
    a = write_run(tmp_path / "a", "lora", rows([0.5] * 10, [0] * 10))
    b = write_run(tmp_path / "b", "lora", rows([0.7] * 10, [1] * 10))
    by = {c["metric"]: c for c in compare_runs(a, b)["arms"][0]["comparisons"]}
    # ten discordant pairs, all for B: exact McNemar p = 2 / 2^10
    assert by["exact_match"]["p_value"] == pytest.approx(2 / 1024)
    assert by["exact_match"]["significant"] and by["token_f1"]["significant"]


def test_only_the_shared_items_are_paired(tmp_path):
    a = write_run(tmp_path / "a", "few_shot", rows(A_F1, A_EM))
    b = write_run(
        tmp_path / "b",
        "few_shot",
        rows(B_F1[:4] + [0.9], B_EM[:4] + [1], ids=["q0", "q1", "q2", "q3", "q9"]),
    )
    (arm,) = compare_runs(a, b)["arms"]
    assert (arm["n_shared"], arm["n_only_a"], arm["n_only_b"]) == (4, 2, 1)
    f1 = next(c for c in arm["comparisons"] if c["metric"] == "token_f1")
    assert f1["diff"] == pytest.approx((0.4 + 0 + 0.4 + 0) / 4)


def test_runs_that_share_no_items_are_refused(tmp_path):
    a = write_run(tmp_path / "a", "few_shot", rows(A_F1, A_EM))
    b = write_run(tmp_path / "b", "few_shot", rows(B_F1, B_EM, ids=[f"z{i}" for i in range(6)]))
    with pytest.raises(AdvisorError, match="share no test items"):
        compare_runs(a, b)


def test_runs_whose_shared_items_differ_are_refused(tmp_path):
    a = write_run(tmp_path / "a", "few_shot", rows(A_F1, A_EM))
    other = [f"question q{i}" for i in range(6)]
    other[3] = "a different question"
    b = write_run(tmp_path / "b", "few_shot", rows(B_F1, B_EM, inputs=other))
    with pytest.raises(
        AdvisorError, match=r"1 of 6 shared test items differ .* id 'q3': the input"
    ):
        compare_runs(a, b)


def test_the_seed_spread_of_a_run_is_honoured(tmp_path):
    spread = {
        "metric": "token_f1",
        "arms": {"few_shot": {"metrics": {"token_f1": {"width": 0.2}}}},
    }
    a = write_run(tmp_path / "a", "few_shot", rows([0.5] * 10, [0] * 10))
    b = write_run(tmp_path / "b", "few_shot", rows([0.6] * 10, [0] * 10), seed_spread=spread)
    f1 = next(c for c in compare_runs(a, b)["arms"][0]["comparisons"] if c["metric"] == "token_f1")
    assert f1["significant_ignoring_seeds"] and f1["within_seed_spread"]
    assert f1["seed_spread"] == pytest.approx(0.2) and not f1["significant"]


def test_cli_text_and_json(two_runs, capsys):
    a, b = two_runs
    assert main(["compare", str(a), str(b)]) == 0
    text = capsys.readouterr().out
    assert "task: 'Answer.' -> 'Answer in one word.'" in text
    assert "Few-shot prompting: 6 shared test items" in text
    assert "token_f1 *" in text and "+0.17" in text
    assert main(["compare", str(a), str(b), "--json", "--arm", "few_shot"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["arms"][0]["comparisons"][0]["n"] == 6


@pytest.mark.parametrize(
    ("make_b", "extra", "message"),
    [
        ("missing", [], "is not a folder"),
        ("empty", [], "has no results.json"),
        ("ok", ["--arm", "lora"], "arm 'lora' has no finished per-item scores in RUN_A"),
        ("other_ids", [], "share no test items"),
    ],
)
def test_cli_refusals_are_one_line_with_exit_2(tmp_path, capsys, make_b, extra, message):
    a = write_run(tmp_path / "a", "few_shot", rows(A_F1, A_EM))
    b = tmp_path / "b"
    if make_b == "empty":
        b.mkdir()
    elif make_b == "ok":
        write_run(b, "few_shot", rows(B_F1, B_EM))
    elif make_b == "other_ids":
        write_run(b, "few_shot", rows(B_F1, B_EM, ids=[f"z{i}" for i in range(6)]))
    assert main(["compare", str(a), str(b), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_two_real_pilots_that_differ_only_in_the_prompt(tmp_path, capsys):
    """Built-in model, the same data and split, two task instructions: a paired test."""
    data = tmp_path / "ex.jsonl"
    data.write_text(
        "".join(
            json.dumps({"input": f"What is {i} plus {i}?", "output": str(2 * i)}) + "\n"
            for i in range(30)
        )
    )
    base = ["pilot", "--data", str(data), "--model", "builtin:tiny", "--arms", "zero_shot"]
    base += ["--embedder", "hashing", "--test-size", "8", "--max-new-tokens", "8", "--quiet"]
    assert main([*base, "--task", "Add the numbers.", "--out", str(tmp_path / "a")]) == 0
    assert main([*base, "--task", "Reply with the sum only.", "--out", str(tmp_path / "b")]) == 0
    capsys.readouterr()
    cmp = compare_runs(tmp_path / "a", tmp_path / "b")
    assert [d["key"] for d in cmp["settings_diff"]] == ["task"]
    (arm,) = cmp["arms"]
    assert arm["arm_a"] == "zero_shot" and arm["n_shared"] == 8
    f1 = next(c for c in arm["comparisons"] if c["metric"] == "token_f1")
    assert f1["n"] == 8 and 0.0 <= f1["p_value"] <= 1.0 and "p_holm" in f1
    assert f1["test"] in ("permutation_exact", "permutation_monte_carlo")
