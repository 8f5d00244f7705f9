"""Finetuning and eval formats read as pilot examples (advisor.data.formats + datafiles).

Every format has a fixture in tests/fixtures/formats/ that loads, and a malformed one whose
message names the bad rows and what a good row looks like.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from advisor.data.formats import detect_format, render_turns
from advisor.data.load import load_examples
from advisor.errors import DataError

FIXTURES = Path(__file__).parent / "fixtures" / "formats"
SYSTEM = "You are the support assistant of Acme Rail. Answer in one short sentence."


def write_jsonl(path: Path, *rows: object) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# --- each format's fixture loads, named back to the user ---------------------------------

GOOD = [
    # file, format, message start, examples, multi-turn examples
    ("openai_chat.jsonl", "openai_chat", "read as OpenAI chat JSONL: 5 conversations", 5, 1),
    ("alpaca.json", "alpaca", "read as Alpaca JSON: 4 examples", 4, 0),
    ("sharegpt.json", "sharegpt", "read as ShareGPT JSON: 3 conversations", 3, 1),
    ("trl_prompt_completion.jsonl", "trl", "read as TRL prompt-completion JSONL: 3", 3, 0),
    ("trl_conversational.jsonl", "trl", "read as TRL prompt-completion JSONL: 3", 3, 1),
    ("chat.parquet", "openai_chat", "read as OpenAI chat Parquet: 3 conversations", 3, 1),
    (
        "hf_dataset",
        "alpaca",
        "read as Alpaca Hugging Face datasets folder (splits train, test): 4 examples",
        4,
        0,
    ),
]


@pytest.mark.parametrize(("name", "fmt", "message", "n", "multi"), GOOD, ids=[g[0] for g in GOOD])
def test_each_format_fixture_is_detected_and_named(name, fmt, message, n, multi):
    loaded = load_examples(FIXTURES / name)
    assert loaded.format == fmt
    assert loaded.message.startswith(message)
    assert len(loaded) == n
    assert sum(1 for e in loaded if e.turns) == multi
    if multi:
        assert f"{multi} of them multi-turn" in loaded.message
    assert all(e.input.strip() and e.output.strip() for e in loaded)


BAD = [
    # file, what the message must name
    ("openai_chat_bad.jsonl", ["line 2 (the last turn must be the assistant's", "line 3 (turn 2"]),
    ("alpaca_bad.json", ['item 2 ("instruction" and "input" are both empty)', "item 3"]),
    ("sharegpt_bad.json", ["item 2 (the last turn", "item 3 (the first turn"]),
    ("trl_bad.jsonl", ["line 2 (prompt and completion must both", "line 3 (completion must"]),
    ("broken.parquet", ["is not a readable Parquet file", "re-export it"]),
    ("hf_dataset_broken", ["is not a readable Arrow file", "save_to_disk"]),
]


@pytest.mark.parametrize(("name", "needles"), BAD, ids=[b[0] for b in BAD])
def test_each_malformed_fixture_names_the_rows_and_the_fix(name, needles):
    with pytest.raises(DataError) as info:
        load_examples(FIXTURES / name)
    message = str(info.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message


# --- conversations -----------------------------------------------------------------------


def test_chat_output_is_the_last_assistant_turn_and_the_shared_system_prompt_the_task():
    loaded = load_examples(FIXTURES / "openai_chat.jsonl")
    assert loaded.task == SYSTEM
    assert "system prompt kept as the task" in loaded.message
    first, _, multi, parts, _ = loaded.examples
    assert (first.input, first.output, first.line) == (
        "When does the first train leave?",
        "The first train leaves at 5:40.",
        1,
    )
    assert first.system == SYSTEM and first.turns == ()
    assert parts.input == "Is there wifi on board?"  # OpenAI content parts joined
    assert multi.output == "Ask at Harbour station's lost-and-found desk."
    assert multi.input == (
        "User: I lost my ticket.\n\nAssistant: Which line were you on?\n\n"
        "User: The coast line, this morning."
    )
    assert multi.turns == (
        ("user", "I lost my ticket."),
        ("assistant", "Which line were you on?"),
        ("user", "The coast line, this morning."),
    )


def test_differing_system_prompts_start_each_input_instead_of_becoming_the_task(tmp_path):
    path = write_jsonl(
        tmp_path / "chat.jsonl",
        {
            "messages": [
                {"role": "system", "content": "Be terse."},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello"},
            ]
        },
        {"messages": [{"role": "user", "content": "Yo"}, {"role": "assistant", "content": "Hey"}]},
    )
    loaded = load_examples(path)
    assert loaded.task is None
    assert "1 different system prompts kept at the start of each input" in loaded.message
    assert loaded.examples[0].input == "System: Be terse.\n\nUser: Hi"
    assert loaded.examples[1].input == "Yo"


def test_consecutive_turns_by_one_speaker_are_merged_with_a_warning(tmp_path):
    path = write_jsonl(
        tmp_path / "chat.jsonl",
        {
            "messages": [
                {"role": "user", "content": "Part one."},
                {"role": "user", "content": "Two."},
                {"role": "assistant", "content": "Done"},
            ]
        },
    )
    loaded = load_examples(path)
    assert loaded.examples[0].input == "Part one.\n\nTwo."
    assert any("merged 1 consecutive turn" in w for w in loaded.warnings)


@pytest.mark.parametrize(
    ("messages", "needle"),
    [
        (
            [
                {"role": "user", "content": "q"},
                {"role": "tool", "content": "x"},
                {"role": "assistant", "content": "a"},
            ],
            "tool or function call",
        ),
        (
            [
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]},
                {"role": "assistant", "content": "a"},
            ],
            "image_url part; the pilot reads text only",
        ),
        ([{"role": "user"}, {"role": "assistant", "content": "a"}], "turn 1 has no content"),
        (
            [
                {"role": "user", "content": "q"},
                {"role": "assistant", "content": "a"},
                {"role": "system", "content": "late"},
                {"role": "assistant", "content": "b"},
            ],
            "system turn comes after",
        ),
        (
            [
                {"role": "user", "content": " "},
                {"role": "assistant", "content": "x"},
                {"role": "user", "content": "q"},
                {"role": "assistant", "content": "a"},
            ],
            "turn 1 is empty",
        ),
        ("not json", "is text that is not a JSON list"),
        ([], "must be a non-empty list"),
    ],
)
def test_broken_conversations_are_refused_with_the_line_and_reason(tmp_path, messages, needle):
    good = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    path = write_jsonl(tmp_path / "chat.jsonl", good, {"messages": messages})
    with pytest.raises(DataError, match="line 2") as info:
        load_examples(path)
    assert needle in str(info.value)


def test_an_empty_final_answer_gets_the_usual_empty_output_message(tmp_path):
    path = write_jsonl(
        tmp_path / "chat.jsonl",
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": ""}]},
    )
    with pytest.raises(DataError, match="empty 'output' on line 1"):
        load_examples(path)


def test_alpaca_joins_instruction_and_input_and_reads_history_as_turns(tmp_path):
    path = tmp_path / "alpaca.json"
    path.write_text(
        json.dumps(
            [
                {"instruction": "Translate.", "input": "cat", "output": "chat", "system": "FR"},
                {
                    "instruction": "And this?",
                    "input": "",
                    "output": "chien",
                    "system": "FR",
                    "history": [["Translate: cat", "chat"]],
                },
            ]
        )
    )
    loaded = load_examples(path)
    first, second = loaded.examples
    assert first.input == "Translate.\n\ncat" and loaded.task == "FR"
    assert second.turns == (
        ("user", "Translate: cat"),
        ("assistant", "chat"),
        ("user", "And this?"),
    )
    assert second.input == "User: Translate: cat\n\nAssistant: chat\n\nUser: And this?"


def test_chat_messages_stored_as_json_text_in_a_csv_are_read(tmp_path):
    messages = [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]
    pd.DataFrame({"messages": [json.dumps(messages)]}).to_csv(tmp_path / "c.csv", index=False)
    loaded = load_examples(tmp_path / "c.csv")
    assert (loaded.format, loaded.examples[0].input, loaded.examples[0].output) == (
        "openai_chat",
        "2+2?",
        "4",
    )
    assert loaded.examples[0].line == 2
    assert loaded.message.startswith("read as OpenAI chat CSV")


def test_a_dataframe_of_sharegpt_rows_is_read_too():
    frame = pd.DataFrame(
        {"conversations": [[{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hey"}]]}
    )
    loaded = load_examples(frame)
    assert loaded.format == "sharegpt"
    assert (loaded.examples[0].input, loaded.examples[0].output) == ("Hi", "Hey")


def test_plain_files_keep_working_and_say_how_they_were_read(tmp_path):
    (tmp_path / "p.csv").write_text("input,output\nq,a\n")
    loaded = load_examples(tmp_path / "p.csv")
    assert (loaded.format, loaded.message, loaded.task) == (
        "plain",
        "read as CSV: 1 examples",
        None,
    )


def test_explicit_column_mapping_beats_format_detection(tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl", {"prompt": "q", "completion": "a", "gold": "A"})
    assert load_examples(path).examples[0].output == "a"  # detected as TRL
    loaded = load_examples(path, input_col="prompt", output_col="gold")
    assert (loaded.format, loaded.examples[0].output) == ("plain", "A")


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (["instruction", "input", "output"], "alpaca"),
        (["input", "output", "messages"], "plain"),
        (["messages", "id"], "openai_chat"),
        (["conversations"], "sharegpt"),
        (["prompt", "completion"], "trl"),
        (["question", "answer"], "plain"),
    ],
)
def test_detect_format_reads_the_columns(columns, expected):
    assert detect_format(columns) == expected


def test_unknown_columns_list_the_recognised_formats(tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl", {"question": "q", "answer": "a"})
    with pytest.raises(DataError, match="recognised format: OpenAI chat"):
        load_examples(path)


def test_render_turns_marks_each_speaker():
    assert render_turns([("user", "Hi")]) == "Hi"
    assert render_turns([("user", "Hi")], "Be nice") == "System: Be nice\n\nUser: Hi"


# --- Parquet and datasets folders --------------------------------------------------------


def test_parquet_rows_are_numbered_and_limits_apply(tmp_path):
    frame = pd.DataFrame({"input": ["q1", "q2", None], "output": ["a1", "a2", "a3"]})
    frame.to_parquet(tmp_path / "p.parquet")
    with pytest.raises(DataError, match="empty 'input' on row 3"):
        load_examples(tmp_path / "p.parquet")
    frame.dropna().to_parquet(tmp_path / "ok.parquet")
    assert [e.input for e in load_examples(tmp_path / "ok.parquet")] == ["q1", "q2"]
    with pytest.raises(DataError, match=r"has 2 rows, over the limit of 1\."):
        load_examples(tmp_path / "ok.parquet", max_rows=1)
    with pytest.raises(DataError, match="larger than the limit"):
        load_examples(tmp_path / "ok.parquet", max_bytes=10)


def test_a_single_dataset_folder_and_a_split_of_a_dataset_dict_both_load(tmp_path):
    train = FIXTURES / "hf_dataset" / "train"
    loaded = load_examples(train)
    assert len(loaded) == 3 and loaded.message.startswith("read as Alpaca Hugging Face")
    whole = load_examples(FIXTURES / "hf_dataset")
    assert [e.output for e in whole][-1] == "poisson"  # the test split comes after train


def test_dataset_folder_problems_say_what_is_missing(tmp_path):
    with pytest.raises(DataError, match="not a Hugging Face datasets folder"):
        load_examples(tmp_path)
    broken = tmp_path / "ds"
    shutil.copytree(FIXTURES / "hf_dataset" / "train", broken)
    next(broken.glob("*.arrow")).unlink()
    with pytest.raises(DataError, match="are missing; copy the whole folder"):
        load_examples(broken)
    (broken / "state.json").write_text("{oops")
    with pytest.raises(DataError, match="state.json is not valid JSON"):
        load_examples(broken)


def test_bad_data_is_one_line_and_exit_code_2_from_the_cli(tmp_path, capsys):
    from advisor.cli import main

    code = main(
        [
            "pilot",
            "--data",
            str(FIXTURES / "openai_chat_bad.jsonl"),
            "--out",
            str(tmp_path / "r"),
            "--model",
            "builtin:tiny",
            "--arms",
            "nearest_neighbor",
            "--quiet",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("advisor: error: ") and err.count("\n") == 1
    assert "Traceback" not in err and "line 2" in err


# --- through the pilot -------------------------------------------------------------------


def _chat_file(tmp_path: Path, system: str, n: int = 24) -> Path:
    rows = [
        {
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": f"What is item {i}?"},
                {"role": "assistant", "content": f"Item {i} is a {'red' if i % 2 else 'blue'} box"},
            ]
        }
        for i in range(n)
    ]
    return write_jsonl(tmp_path / "chat.jsonl", *rows)


def test_the_pilot_records_the_format_and_takes_the_system_prompt_as_its_task(tmp_path):
    from advisor.pilot.context import PilotSettings
    from advisor.pilot.runner import run_pilot

    data = _chat_file(tmp_path, "Describe the item.")
    events = []
    settings = PilotSettings(
        data=str(data), out=str(tmp_path / "run"), arms=("nearest_neighbor",), embedder="hashing"
    )
    results = run_pilot(settings, progress=events.append)
    assert results["data"]["format"] == "openai_chat"
    assert results["data"]["format_message"].startswith("read as OpenAI chat JSONL: 24")
    saved = json.loads((tmp_path / "run" / "settings.json").read_text())
    assert saved["task"] == "Describe the item."
    assert {"arm": None, "stage": "data", "message": results["data"]["format_message"]} in events
    run_pilot(settings)  # resume: the same command compares equal with the saved settings
    given = PilotSettings(
        data=str(data),
        out=str(tmp_path / "run2"),
        arms=("nearest_neighbor",),
        embedder="hashing",
        task="My own task",
    )
    results = run_pilot(given)
    assert any("replaced by the task you gave" in w for w in results["data"]["warnings"])
    assert json.loads((tmp_path / "run2" / "settings.json").read_text())["task"] == "My own task"


def test_the_cli_prints_what_the_data_was_read_as(tmp_path, capsys):
    from advisor.cli import main

    data = _chat_file(tmp_path, "Describe the item.")
    code = main(
        [
            "pilot",
            "--data",
            str(data),
            "--out",
            str(tmp_path / "r"),
            "--arms",
            "nearest_neighbor",
            "--embedder",
            "hashing",
        ]
    )
    assert code == 0
    assert "  data: read as OpenAI chat JSONL: 24 conversations" in capsys.readouterr().err
