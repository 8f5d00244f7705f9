"""Data exports (chat JSONL, Alpaca, ShareGPT) and the OpenAI chat format checker.

The checker is tested on its own first (it must catch each broken rule), then every chat
file the export writes must pass it, multi-turn conversations must come out as turns, and
the Alpaca/ShareGPT files must be the ones dataset_info.json and the configs point at.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from advisor.errors import AdvisorError
from advisor.finetune.export import chat_problems, check_chat_jsonl, export_training_setup
from advisor.memory import plan_finetune

FIXTURES = Path(__file__).parent / "fixtures" / "formats"
GOOD = {
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello", "weight": 0},
        {"role": "user", "content": "Bye"},
        {"role": "assistant", "content": "Bye!"},
    ]
}


def msgs(*turns: tuple[str, object]) -> dict:
    return {"messages": [{"role": r, "content": c} for r, c in turns]}


def test_a_valid_conversation_has_no_problems():
    assert chat_problems(GOOD) == []
    assert chat_problems(msgs(("user", "q"), ("assistant", "a"))) == []


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ([1, 2], "is not a JSON object"),
        ({"messages": []}, '"messages" must be a non-empty list'),
        ({"messages": "hi"}, '"messages" must be a non-empty list'),
        ({**GOOD, "prompt": "x"}, "unknown key 'prompt'"),
        (msgs(("user", "q"), ("bot", "a")), "message 2 has role 'bot'"),
        (msgs(("user", "q"), ("assistant", "")), "message 2 has empty or non-text content"),
        (msgs(("user", "  "), ("assistant", "a")), "message 1 has empty or non-text content"),
        (msgs(("user", ["q"]), ("assistant", "a")), "message 1 has empty or non-text content"),
        (msgs(("user", "q"), ("user", "q2"), ("assistant", "a")), "both user: turns must alt"),
        (msgs(("assistant", "hi"), ("user", "q"), ("assistant", "a")), "the user must speak"),
        (msgs(("user", "q"), ("system", "s"), ("assistant", "a")), "system message after"),
        (msgs(("user", "q"), ("assistant", "a"), ("user", "q2")), "last message must be the"),
        (
            {
                "messages": [
                    {"role": "user", "content": "q", "weight": 1},
                    {"role": "assistant", "content": "a"},
                ]
            },
            "weight must be 0 or 1, on assistant messages only",
        ),  # fmt: skip
        (
            {
                "messages": [
                    {"role": "user", "content": "q", "extra": 1},
                    {"role": "assistant", "content": "a"},
                ]
            },
            "message 1 has unknown key 'extra'",
        ),  # fmt: skip
    ],
)
def test_each_broken_rule_is_named(record, problem):
    assert any(problem in p for p in chat_problems(record)), chat_problems(record)


def test_check_chat_jsonl_names_the_bad_lines(tmp_path):
    path = tmp_path / "c.jsonl"
    lines = [GOOD, msgs(("user", "q")), "oops", GOOD]
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    with pytest.raises(AdvisorError) as info:
        check_chat_jsonl(path)
    message = str(info.value)
    assert "line 2 (the last message must be the assistant's)" in message
    assert "line 3 (not valid JSON)" in message and "line 1" not in message
    path.write_text(json.dumps(GOOD) + "\n\n" + json.dumps(GOOD) + "\n")
    assert check_chat_jsonl(path) == 2
    path.write_text("\n")
    with pytest.raises(AdvisorError, match="holds no chat examples"):
        check_chat_jsonl(path)


# --- the data exports --------------------------------------------------------------------


@pytest.fixture
def chat_export(tmp_path):
    out = tmp_path / "out"
    paths = export_training_setup(
        None, "chat_jsonl,alpaca,sharegpt", out, data_path=FIXTURES / "openai_chat.jsonl"
    )
    return out, paths


def test_chat_jsonl_passes_openais_rules_and_keeps_every_turn(chat_export):
    out, paths = chat_export
    assert check_chat_jsonl(out / "chat_jsonl" / "train.jsonl") == 5
    rows = [json.loads(x) for x in (out / "chat_jsonl" / "train.jsonl").read_text().splitlines()]
    source = [json.loads(x) for x in (FIXTURES / "openai_chat.jsonl").read_text().splitlines()]
    for row, original in zip(rows, source, strict=True):
        expected = [
            {"role": m["role"], "content": m["content"] if isinstance(m["content"], str)
             else "".join(p["text"] for p in m["content"])}
            for m in original["messages"]
        ]  # fmt: skip
        assert row["messages"] == expected  # the data round-trips, multi-turn included
    readme = (out / "chat_jsonl" / "README.md").read_text()
    assert "read as OpenAI chat JSONL" in readme and "fine-tuning" in readme


def test_alpaca_keeps_earlier_turns_as_history_and_is_registered(chat_export):
    out, _ = chat_export
    info = json.loads((out / "alpaca" / "dataset_info.json").read_text())
    entry = info["advisor_train"]
    assert entry["formatting"] == "alpaca" and entry["columns"]["history"] == "history"
    rows = json.loads((out / "alpaca" / entry["file_name"]).read_text())
    multi = rows[2]
    assert multi["instruction"] == "The coast line, this morning."
    assert multi["history"] == [["I lost my ticket.", "Which line were you on?"]]
    assert rows[0]["history"] == [] and rows[0]["system"].startswith("You are the support")


def test_sharegpt_alternates_and_is_registered_with_its_tags(chat_export):
    out, _ = chat_export
    info = json.loads((out / "sharegpt" / "dataset_info.json").read_text())
    entry = info["advisor_train"]
    assert entry["formatting"] == "sharegpt" and entry["columns"] == {"messages": "conversations"}
    assert entry["tags"]["user_tag"] == "human" and entry["tags"]["assistant_tag"] == "gpt"
    rows = json.loads((out / "sharegpt" / entry["file_name"]).read_text())
    for row in rows:
        speakers = [t["from"] for t in row["conversations"]]
        assert speakers[0] == "system" and speakers[-1] == "gpt"
        assert all(a != b for a, b in zip(speakers[1:], speakers[2:], strict=False))
    assert [t["from"] for t in rows[2]["conversations"]] == [
        "system", "human", "gpt", "human", "gpt"
    ]  # fmt: skip


def test_a_runs_split_gives_train_and_validation_files_without_test_items(tmp_path):
    from advisor.pilot.context import PilotSettings
    from advisor.pilot.runner import run_pilot

    rows = [{"input": f"q{i}", "output": f"a{i}"} for i in range(20)]
    (tmp_path / "ex.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    run_pilot(
        PilotSettings(
            data=str(tmp_path / "ex.jsonl"),
            out=str(tmp_path / "run"),
            arms=("nearest_neighbor",),
            embedder="hashing",
            task="Answer.",
        )
    )
    split = json.loads((tmp_path / "run" / "split.json").read_text())
    export_training_setup(None, "chat_jsonl,sharegpt", tmp_path / "o", run_dir=tmp_path / "run")
    train = check_chat_jsonl(tmp_path / "o/chat_jsonl/train.jsonl")
    val = check_chat_jsonl(tmp_path / "o/chat_jsonl/validation.jsonl")
    assert (train, val) == (len(split["train"]), len(split["validation"]))
    users = {
        json.loads(line)["messages"][1]["content"]
        for name in ("train", "validation")
        for line in (tmp_path / f"o/chat_jsonl/{name}.jsonl").read_text().splitlines()
    }
    test_inputs = {f"q{int(i.removeprefix('ex')) - 1}" for i in split["test"]}
    assert not users & test_inputs
    first = json.loads((tmp_path / "o/chat_jsonl/train.jsonl").read_text().splitlines()[0])
    assert first["messages"][0] == {"role": "system", "content": "Answer."}
    info = json.loads((tmp_path / "o/sharegpt/dataset_info.json").read_text())
    assert info["advisor_eval"]["file_name"] == "validation.json"


def test_training_configs_point_at_the_multi_turn_files(tmp_path):
    plan = plan_finetune(7, 24, 500).to_dict()
    out = tmp_path / "out"
    export_training_setup(
        plan, "trl,axolotl,llamafactory", out, FIXTURES / "openai_chat.jsonl", "org/model"
    )
    assert check_chat_jsonl(out / "trl" / "data" / "train.jsonl") == 5
    ax = yaml.safe_load((out / "axolotl" / "axolotl.yaml").read_text())
    shared = json.loads((out / "axolotl" / ax["datasets"][0]["path"]).read_text())
    assert len(shared[2]["conversations"]) == 5  # system, 3 input turns, the answer
    assert shared[2]["conversations"][0]["value"].startswith("You are the support assistant")
    lf = yaml.safe_load((out / "llamafactory" / "llamafactory.yaml").read_text())
    info = json.loads((out / "llamafactory" / lf["dataset_dir"] / "dataset_info.json").read_text())
    rows = json.loads(
        (out / "llamafactory" / "data" / info[lf["dataset"]]["file_name"]).read_text()
    )
    assert rows[2]["history"] == [["I lost my ticket.", "Which line were you on?"]]


def test_data_from_a_parquet_file_or_datasets_folder_exports_too(tmp_path):
    export_training_setup(None, "chat_jsonl", tmp_path / "p", data_path=FIXTURES / "chat.parquet")
    assert check_chat_jsonl(tmp_path / "p/chat_jsonl/train.jsonl") == 3
    export_training_setup(None, "alpaca", tmp_path / "h", data_path=FIXTURES / "hf_dataset")
    rows = json.loads((tmp_path / "h/alpaca/train.json").read_text())
    assert [r["output"] for r in rows] == ["chat", "chien", "oiseau", "poisson"]


def test_the_writer_refuses_a_chat_file_that_would_break_the_rules(tmp_path):
    from advisor.finetune.export.dataset import Pair, write_messages_jsonl

    with pytest.raises(AdvisorError, match="example 2 .*empty or non-text content"):
        write_messages_jsonl(tmp_path / "x.jsonl", [Pair("q", "a"), Pair("q", " ")], "")
    assert not (tmp_path / "x.jsonl").exists()


def test_what_each_export_needs_is_said(tmp_path, capsys):
    from advisor.cli import main

    with pytest.raises(AdvisorError, match="need a finetune plan: pass --plan"):
        export_training_setup(None, "axolotl", tmp_path, data_path=FIXTURES / "alpaca.json")
    with pytest.raises(AdvisorError, match="unknown export format.*choose from .*promptfoo"):
        export_training_setup(None, "csv", tmp_path)
    assert main(["export", "--out", str(tmp_path)]) == 2
    assert "nothing to export" in capsys.readouterr().err
    code = main(
        ["export", "--data", str(FIXTURES / "sharegpt.json"), "--format", "chat_jsonl",
         "--out", str(tmp_path / "o")]
    )  # fmt: skip
    assert code == 0 and check_chat_jsonl(tmp_path / "o/chat_jsonl/train.jsonl") == 3


def test_differing_system_prompts_are_exported_per_example_not_as_input_text(tmp_path):
    rows = [
        {"messages": [{"role": "system", "content": "Be terse."},
                      {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}]},
        {"messages": [{"role": "system", "content": "Be formal."},
                      {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hey"}]},
    ]  # fmt: skip
    (tmp_path / "c.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    export_training_setup(None, "chat_jsonl", tmp_path / "o", data_path=tmp_path / "c.jsonl")
    out = [json.loads(x) for x in (tmp_path / "o/chat_jsonl/train.jsonl").read_text().splitlines()]
    assert [r["messages"] for r in out] == [r["messages"] for r in rows]
