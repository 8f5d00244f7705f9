"""Uploads are stored under generated names, several knowledge-base files merge into one,
and every problem is a DataError that says what to do; session files need a valid token."""

from __future__ import annotations

import json

import pytest

from advisor.data.load import load_knowledge_base
from advisor.errors import DataError
from advisor.ui.store import load_session, new_token, save_session, valid_token
from advisor.ui.uploads import (
    UPLOADS_DIR,
    check_data,
    check_upload,
    read_columns,
    save_examples,
    save_knowledge_base,
)

LIMIT = 1_000_000


def test_examples_are_stored_under_a_generated_name_once(tmp_path):
    content = b"input,output\nq,a\n"
    path = save_examples("../../etc/passwd.csv", content, tmp_path, LIMIT)
    assert path.name == "examples.csv"
    assert path.is_relative_to(tmp_path / UPLOADS_DIR)
    assert path.read_bytes() == content
    assert save_examples("other name.CSV", content, tmp_path, LIMIT) == path  # same bytes
    assert save_examples("x.csv", content + b"r,s\n", tmp_path, LIMIT) != path


@pytest.mark.parametrize(
    ("name", "size", "message"),
    [
        ("data.xlsx", 10, "not a supported examples file"),
        ("noext", 10, "not a supported examples file"),
        ("data.csv", LIMIT + 1, "over the upload limit"),
        ("data.csv", 0, "is empty"),
    ],
)
def test_check_upload_explains_the_problem(name, size, message):
    with pytest.raises(DataError, match=message):
        check_upload(name, size, (".csv", ".jsonl"), "examples file", LIMIT)


def test_several_kb_files_merge_into_one_jsonl_with_file_name_ids(tmp_path):
    table = b'{"id": "faq", "text": "from a table"}\n'
    files = [("docs/intro.md", b"# Intro"), ("guide.txt", b"text"), ("more.jsonl", table)]
    path = save_knowledge_base(files, tmp_path, LIMIT)
    assert path.name == "kb.jsonl"
    docs = load_knowledge_base(path)
    assert [(d.id, d.text) for d in docs] == [
        ("intro", "# Intro"),
        ("guide", "text"),
        ("faq", "from a table"),
    ]
    single = save_knowledge_base([("my kb.csv", b"id,text\na,b\n")], tmp_path, LIMIT)
    assert single.name == "kb.csv"


def test_kb_problems_name_the_users_file(tmp_path):
    with pytest.raises(DataError, match="'a' .*'a.txt'.*'a.md'"):
        save_knowledge_base([("a.txt", b"x"), ("a.md", b"y")], tmp_path, LIMIT)
    with pytest.raises(DataError, match="'broken.jsonl'"):
        save_knowledge_base([("ok.txt", b"x"), ("broken.jsonl", b"{nope\n")], tmp_path, LIMIT)
    with pytest.raises(DataError, match="not valid UTF-8"):
        save_knowledge_base([("bad.txt", b"\xff\xfe\xfd"), ("b.txt", b"x")], tmp_path, LIMIT)
    with pytest.raises(DataError, match="add up to"):
        save_knowledge_base([("a.txt", b"x" * 600), ("b.txt", b"y" * 600)], tmp_path, 1000)
    with pytest.raises(DataError, match="not a supported knowledge-base file"):
        save_knowledge_base([("a.pdf", b"%PDF")], tmp_path, LIMIT)


def test_check_data_collects_every_problem(tmp_path):
    examples = tmp_path / "ex.jsonl"
    rows = [
        {"input": f"q{i}", "output": f"a{i}", "doc_id": "d9" if i == 3 else "d1"} for i in range(20)
    ]
    rows.append(rows[0])  # a duplicate: a warning, not an error
    examples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    kb = tmp_path / "kb.jsonl"
    kb.write_text('{"id": "d1", "text": "one"}\n{"id": "d2", "text": ""}\n')
    check = check_data(examples, kb)
    assert not check.ok
    assert any("'d9'" in e for e in check.errors)  # unknown doc_id, with the fix
    assert any("duplicate" in w for w in check.warnings)
    assert any("no text" in w for w in check.warnings)  # empty document skipped
    assert check.n_test > 0 and check.leakage and check.leaked == 0
    assert read_columns(examples) == ["input", "output", "doc_id"]
    fine = check_data(examples, None)
    assert fine.ok and len(fine.examples) == 20


def test_session_files_need_a_valid_token(tmp_path):
    token = new_token()
    assert valid_token(token) and not valid_token("../x") and not valid_token("short")
    assert load_session(tmp_path, token) == {}
    save_session(tmp_path, token, {"answers": {"task": "x"}})
    assert load_session(tmp_path, token) == {"answers": {"task": "x"}}
    with pytest.raises(ValueError):
        save_session(tmp_path, "../../evil-token-xxxxxxxx", {})


def _zip(members: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_zipped_datasets_folder_is_unpacked_and_its_folder_returned(tmp_path):
    from pathlib import Path

    from advisor.data.load import load_examples

    folder = Path(__file__).parent / "fixtures" / "formats" / "hf_dataset"
    members = {
        f"export/{p.relative_to(folder).as_posix()}": p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file()
    }
    content = _zip(members)  # once: a zip's bytes hold the time it was written
    path = save_examples("ds.zip", content, tmp_path, LIMIT)
    assert path.is_dir() and (path / "dataset_dict.json").is_file()
    assert path.is_relative_to(tmp_path / UPLOADS_DIR)
    assert len(load_examples(path)) == 4
    assert save_examples("again.zip", content, tmp_path, LIMIT) == path


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"../evil/state.json": b"{}"}, "unsafe path"),
        ({"/abs/state.json": b"{}"}, "unsafe path"),
        ({"notes.txt": b"hi"}, "holds no Hugging Face datasets folder"),
    ],
)
def test_unsafe_or_datasetless_zips_are_refused(tmp_path, members, message):
    with pytest.raises(DataError, match=message):
        save_examples("ds.zip", _zip(members), tmp_path, LIMIT)
    assert not (tmp_path.parent / "evil").exists()
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]  # the refused zip is gone


def test_a_broken_zip_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="not a readable zip file"):
        save_examples("ds.zip", b"PK\x03\x04 broken", tmp_path, LIMIT)


def test_check_data_names_the_format_and_the_task(tmp_path):
    from pathlib import Path

    fixture = Path(__file__).parent / "fixtures" / "formats" / "openai_chat.jsonl"
    check = check_data(fixture, None, test_size=0.4)
    assert check.format_message.startswith("read as OpenAI chat JSONL: 5 conversations")
    assert check.task and check.task.startswith("You are the support assistant")


@pytest.mark.parametrize(
    ("name", "content", "what"),
    [
        ("sheet.xlsx", b"PK\x03\x04rest", "not a supported examples file"),
        ("export.csv", b"PK\x03\x04rest", "zip archive"),
        ("old.csv", b"\xd0\xcf\x11\xe0rest", "old-style Excel"),
        ("paper.jsonl", b"%PDF-1.7", "PDF"),
    ],
)
def test_spreadsheets_are_refused_with_the_export_advice(tmp_path, name, content, what):
    with pytest.raises(DataError, match=what) as info:
        save_examples(name, content, tmp_path, LIMIT)
    assert "CSV UTF-8" in str(info.value) or "PDF" in what
    assert not list(tmp_path.rglob("*.*"))  # nothing stored


def test_an_unreadable_upload_is_deleted_and_named_as_uploaded(tmp_path):
    with pytest.raises(DataError) as info:
        save_examples("my data.csv", b'input,output\n"unclosed,x\n', tmp_path, LIMIT)
    assert "'my data.csv'" in str(info.value) and str(tmp_path) not in str(info.value)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]
    assert not list((tmp_path / UPLOADS_DIR).iterdir())  # its folder went too
    with pytest.raises(DataError, match="'broken.jsonl'"):
        save_knowledge_base([("broken.jsonl", b"{nope\n")], tmp_path, LIMIT)
    with pytest.raises(DataError):
        save_knowledge_base([("ok.txt", b"x"), ("broken.jsonl", b"{nope\n")], tmp_path, LIMIT)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_data_messages_name_the_apps_controls_not_python_parameters(tmp_path):
    from advisor.data.load import load_examples
    from advisor.data.splits import split_examples
    from advisor.errors import knob_names
    from advisor.pilot.jobfiles import APP_KNOBS
    from advisor.ui.texts import app_data_message

    stored = tmp_path / "_uploads" / "abc" / "examples.csv"
    stored.parent.mkdir(parents=True)
    stored.write_text("question,answer\nq,a\n")
    with pytest.raises(DataError) as info:
        load_examples(stored)
    shown = app_data_message(str(info.value), {stored: "team data.csv"})
    assert "'team data.csv'" in shown and str(stored) not in shown
    assert "in Python" not in shown and "--input-col" not in shown
    assert "'Input column'" in shown
    examples = load_examples(_few_examples(tmp_path)).examples
    with pytest.raises(DataError) as info, knob_names(APP_KNOBS):  # as the app calls it
        split_examples(examples[:3], test_size=0.2, validation_size=0.1)
    shown = app_data_message(str(info.value))
    assert "validation_size" not in shown and "test_size" not in shown
    assert "'Test set' on the Pilot page" in shown


def _few_examples(folder):
    path = folder / "few.jsonl"
    path.write_text(
        "".join(json.dumps({"input": f"q{i}", "output": f"a{i}"}) + "\n" for i in range(3))
    )
    return path
