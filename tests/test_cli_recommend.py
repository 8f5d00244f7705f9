"""`advisor recommend`: one JSON object with --json, readable text otherwise, exit 2 with a
one-line message naming the key for bad answers."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from advisor.cli import main

GOOD_YAML = """\
task: answer support questions from our wiki
prompting_effort: systematic
few_shot_tried: true
failures: [missing_knowledge, wrong_format]
knowledge_source: true
knowledge_change: monthly
labeled_examples: 400
can_serve_custom_model: true
gpu_memory_gb: 24
"""

RESULTS = {
    "model": "Qwen/Qwen2.5-0.5B-Instruct",
    "smoke": False,
    "arms": {
        "few_shot": {"status": "ok", "metrics": {"token_f1": {"mean": 0.4, "ci95": [0.3, 0.5]}}},
        "bm25_rag": {"status": "ok", "metrics": {"token_f1": {"mean": 0.6, "ci95": [0.5, 0.7]}}},
    },
    "comparisons": [
        {"a": "bm25_rag", "b": "few_shot", "metric": "token_f1", "diff": 0.2,
         "ci95": [0.1, 0.3], "p_value": 0.001, "n": 40},
    ],
}  # fmt: skip


def run(argv, capsys):
    code = main(["recommend", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def answers_file(tmp_path):
    path = tmp_path / "answers.yaml"
    path.write_text(GOOD_YAML, encoding="utf-8")
    return path


def test_json_prints_exactly_one_contract_object(answers_file, capsys):
    code, out, err = run(["--answers", str(answers_file), "--json"], capsys)
    assert code == 0 and err == ""
    data = json.loads(out)  # the whole stdout is one JSON document
    assert data["primary"] == "rag+finetune"
    assert set(data["scores"]) == {"prompting", "rag", "finetune", "rag+finetune"}
    assert data["next_step"] and all({"text", "source"} <= set(r) for r in data["reasons"])
    assert data["finetune_plan"]["method"] in ("full", "lora", "qlora")
    assert data["answers"]["labeled_examples"] == 400
    assert data["answers_from"] == str(answers_file)


def test_text_output_is_readable(answers_file, capsys):
    code, out, _ = run(["--answers", str(answers_file)], capsys)
    assert code == 0
    assert out.startswith("Recommendation: RAG + finetuning")
    for part in ("Scores (higher = more suitable):", "Next step:", "Why:", "Finetuning plan:"):
        assert part in out
    assert "Ovadia et al. 2024" in out


def test_without_answers_says_it_uses_defaults(capsys):
    code, out, _ = run([], capsys)
    assert code == 0 and "documented defaults" in out and "Recommendation: Prompting" in out
    code, out, err = run(["--json"], capsys)
    assert json.loads(out)["primary"] == "prompting" and "documented defaults" in err


def test_pilot_is_weighed_and_cited(tmp_path, answers_file, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "results.json").write_text(json.dumps(RESULTS), encoding="utf-8")
    code, out, _ = run(["--answers", str(answers_file), "--pilot", str(run_dir), "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["pilot"] == str(run_dir / "results.json")
    cited = [r for r in data["reasons"] if r["source"].startswith("pilot: bm25_rag vs few_shot")]
    assert cited and cited[0]["effects"]["rag"] > 0


def test_pilot_folder_answers_are_used_when_no_answers_given(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "results.json").write_text(json.dumps(RESULTS), encoding="utf-8")
    (run_dir / "answers.json").write_text(json.dumps({"failures": ["missing_knowledge"]}))
    code, out, err = run(["--pilot", str(run_dir), "--json"], capsys)
    assert code == 0 and err == ""
    assert json.loads(out)["answers_from"] == str(run_dir / "answers.json")


def test_answers_from_stdin(monkeypatch, capsys):
    stdin = io.TextIOWrapper(io.BytesIO(b'{"failures": ["wrong_style"]}'), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)
    code, out, _ = run(["--answers", "-", "--json"], capsys)
    assert code == 0 and json.loads(out)["answers"]["failures"] == ["wrong_style"]


BAD = [
    ("unknown-key", "a.yaml", "failure: [wrong_format]\n", ["unknown key 'failure'", "failures"]),
    ("bad-value", "a.yaml", "prompting_effort: lots\n", ["prompting_effort", "none, basic"]),
    ("wrong-type", "a.json", '{"few_shot_tried": "yes"}', ["few_shot_tried", "true or false"]),
    ("int-as-bool", "a.json", '{"labeled_examples": true}', ["labeled_examples"]),
    ("bad-failure", "a.yaml", "failures: [wrong_format, vibes]\n", ["failures", "'vibes'"]),
    ("malformed-yaml", "a.yaml", "failures: [wrong_format\n", ["not valid YAML", "line"]),
    ("malformed-json", "a.json", '{"failures": [}', ["not valid JSON", "line 1"]),
    ("empty", "a.yaml", "", ["is empty"]),
    ("top-level-list", "a.json", "[1, 2]", ["mapping", "allowed keys"]),
]


@pytest.mark.parametrize(
    ("name", "content", "expected"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_bad_answers_exit_2_with_a_one_line_message(tmp_path, capsys, name, content, expected):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    code, out, err = run(["--answers", str(path), "--json"], capsys)
    assert code == 2 and out == ""
    assert err.startswith("advisor: error: ") and err.count("\n") == 1
    for fragment in expected:
        assert fragment in err


def test_missing_files_and_broken_pilot_exit_2(tmp_path, answers_file, capsys):
    code, _, err = run(["--answers", str(tmp_path / "nope.yaml")], capsys)
    assert code == 2 and "does not exist" in err
    code, _, err = run(["--answers", str(answers_file), "--pilot", str(tmp_path)], capsys)
    assert code == 2 and "no pilot results" in err
    (tmp_path / "results.json").write_text('{"arms": {"lora": {"metrics": {"token_f1": 3}}}}')
    code, _, err = run(["--answers", str(answers_file), "--pilot", str(tmp_path)], capsys)
    assert code == 2 and "arms.lora.metrics.token_f1" in err


def test_console_entry_point_prints_json(tmp_path, answers_file):
    proc = subprocess.run(
        [sys.executable, "-m", "advisor", "recommend", "--answers", str(answers_file), "--json"],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["primary"] == "rag+finetune"
