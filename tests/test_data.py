"""Loading and validating pilot examples and knowledge bases (advisor.data.load)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from advisor.data.load import (
    Document,
    Example,
    check_doc_ids,
    load_examples,
    load_knowledge_base,
    normalize_text,
)
from advisor.errors import AdvisorError, DataError


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def jsonl(*rows: object) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


# --- happy paths -------------------------------------------------------------------------


def test_csv_examples_keep_text_line_numbers_and_optional_columns(tmp_path):
    path = write(
        tmp_path,
        "ex.csv",
        "input,output,doc_id\nWhat is RAG?,Retrieval plus generation,kb1\nSay hi,hi,\n",
    )
    loaded = load_examples(path)
    assert loaded.warnings == []
    assert loaded.examples == [
        Example("ex1", "What is RAG?", "Retrieval plus generation", "kb1", 2),
        Example("ex2", "Say hi", "hi", None, 3),
    ]
    assert len(loaded) == 2 and list(loaded) == loaded.examples


def test_quoted_newlines_crlf_and_blank_lines_keep_starting_line_numbers(tmp_path):
    text = 'input,output\r\n"first\r\nsecond",a\r\n\r\nthird,"b\r\nc"\r\n,,\r\nfourth,d\r\n'
    loaded = load_examples(write(tmp_path, "ex.csv", text))
    assert [(e.input, e.output, e.line) for e in loaded] == [
        ("first\r\nsecond", "a", 2),
        ("third", "b\r\nc", 5),
        ("fourth", "d", 8),
    ]


def test_utf8_bom_and_numbers_are_read_as_text(tmp_path):
    path = write(tmp_path, "ex.csv", b"\xef\xbb\xbfinput,output\n2+2,4\n")
    assert [(e.input, e.output) for e in load_examples(path)] == [("2+2", "4")]
    rows = jsonl({"input": 7, "output": 1.5}, {"input": "flag", "output": True})
    loaded = load_examples(write(tmp_path, "ex.jsonl", "\ufeff" + rows))
    assert [(e.input, e.output) for e in loaded] == [("7", "1.5"), ("flag", "true")]


def test_jsonl_with_ids_doc_ids_and_blank_lines(tmp_path):
    text = jsonl({"id": "q1", "input": "a", "output": "b", "doc_id": 12}) + "\n   \n"
    text += jsonl({"id": 2, "input": "c", "output": "d", "doc_id": None, "extra": {"x": 1}})
    loaded = load_examples(write(tmp_path, "ex.jsonl", text))
    assert loaded.examples == [
        Example("q1", "a", "b", "12", 1),
        Example("2", "c", "d", None, 4),
    ]


def test_json_list_tsv_and_sniffed_extension(tmp_path):
    listed = write(tmp_path, "ex.json", json.dumps([{"input": "a", "output": "b"}], indent=2))
    assert load_examples(listed).examples == [Example("ex1", "a", "b", None, None)]
    tsv = write(tmp_path, "ex.tsv", "input\toutput\na, b\tc\n")
    assert [(e.input, e.output) for e in load_examples(tsv)] == [("a, b", "c")]
    odd = write(tmp_path, "ex.data", jsonl({"input": "a", "output": "b"}))
    assert [e.input for e in load_examples(odd)] == ["a"]


def test_column_mapping_and_dataframe_source(tmp_path):
    path = write(tmp_path, "ex.csv", "question,answer,source\nq,a,d1\n")
    loaded = load_examples(path, input_col="question", output_col="answer", doc_id_col="source")
    assert loaded.examples == [Example("ex1", "q", "a", "d1", 2)]
    frame = pd.DataFrame({"q": ["x", "y"], "a": [1, 2], "doc_id": ["d1", None]})
    loaded = load_examples(frame, input_col="q", output_col="a")
    assert loaded.examples == [Example("ex1", "x", "1", "d1"), Example("ex2", "y", "2", None)]


def test_exact_duplicates_are_removed_with_a_warning(tmp_path):
    text = "input,output\nWhat is RAG?,Retrieval.\nwhat is  rag,retrieval\nother,x\n"
    loaded = load_examples(write(tmp_path, "ex.csv", text))
    assert [e.line for e in loaded] == [2, 4]
    assert len(loaded.warnings) == 1
    assert "duplicate" in loaded.warnings[0] and "line 3 (same as line 2)" in loaded.warnings[0]


def test_same_input_with_different_outputs_is_kept_and_warned(tmp_path):
    text = "input,output\nCapital of France?,Paris\nother,x\ncapital of france,Lyon\n"
    loaded = load_examples(write(tmp_path, "ex.csv", text))
    assert len(loaded) == 3
    assert len(loaded.warnings) == 1
    assert "different outputs" in loaded.warnings[0] and "line 2 and line 4" in loaded.warnings[0]


def test_normalize_text_ignores_case_space_and_punctuation_but_keeps_symbols():
    assert normalize_text("  What's   RAG?!\n") == normalize_text("what s rag")
    assert normalize_text("Ｆｕｌｌ width") == "full width"
    assert normalize_text("2+2") != normalize_text("2<2")
    assert normalize_text("...") == ""


# --- examples: every validation rule ----------------------------------------------------

CSV_HEADER = "input,output\n"
BAD_FILES = [
    # (file name, content, substrings the message must contain)
    ("ex.csv", b"", ["empty"]),
    ("ex.csv", b"  \n\n", ["empty"]),
    ("ex.csv", CSV_HEADER, ["no data rows"]),
    (
        "ex.csv",
        CSV_HEADER.encode() + b"ok,fine\ncaf\xe9,x\n",
        ["UTF-8", "line 3", "byte offset 24"],
    ),
    ("ex.csv", "input,output\nhi,there\n".encode("utf-16"), ["UTF-16", "UTF-8"]),
    ("ex.jsonl", jsonl({"input": "a", "output": "b"}) + '{"input": "a",\n', ["line 2", "JSON"]),
    ("ex.jsonl", jsonl({"input": "a", "output": "b"}, ["a", "b"]), ["line 2", "not an object"]),
    ("ex.jsonl", '{\n  "input": "a"\n}\n', ["line 1", ".json list"]),
    ("ex.json", '[{"input": "a", "output": "b"}, 3]', ["item 2", "not an object"]),
    ("ex.json", '[{"input": "a",\n "output": }]', ["not valid JSON", "line 2"]),
    ("ex.json", '{\n "input": "a",\n "output": "b"\n}', ["holds one JSON object", "list"]),
    ("ex.jsonl", jsonl({"input": "a", "output": {"k": 1}}), ["line 1", "'output'", "object"]),
    ("ex.jsonl", jsonl({"input": ["a"], "output": "b"}), ["line 1", "'input'", "list"]),
    ("ex.csv", "question,output\nq,a\n", ["'input'", "'question'", "--input-col"]),
    ("ex.csv", "input,Output\nq,a\n", ["'output'", "did you mean 'Output'", "--output-col"]),
    ("ex.jsonl", jsonl({"a": 1}), ["'input' and 'output'", "Columns found: 'a'"]),
    ("ex.csv", CSV_HEADER + "a,b\n ,c\nd,e\n", ["empty 'input'", "line 3"]),
    (
        "ex.csv",
        CSV_HEADER + "a,\nb,\nc,\nd,\ne,\nf,\ng,x\n",
        ["empty 'output'", "line 6 and 1 more"],
    ),
    (
        "ex.jsonl",
        jsonl({"input": "a", "output": "b"}, {"input": "c", "output": None}),
        ["empty 'output'", "line 2"],
    ),
    (
        "ex.jsonl",
        jsonl({"input": "a", "output": "b"}, {"input": "c"}),
        ["empty 'output'", "line 2"],
    ),
    ("ex.csv", CSV_HEADER + "a,b\nc\ne,f\n", ["line 3 has 1 fields", "header has 2"]),
    ("ex.csv", CSV_HEADER + "a,b\ne,f\nc,d,x\n", ["line 4 has 3 fields", "quote"]),
    ("ex.csv", CSV_HEADER + 'a,b\n"c,d\ne,f\n', ["line 3", "never closed"]),
    ("ex.csv", CSV_HEADER + '"c"x,d\n', ["line 2", "quot"]),
    ("ex.csv", "input;output\na;b\n", ["';'", "comma-separated"]),
    ("ex.csv", "input,output,input\na,b,c\n", ["'input' appears twice"]),
    ("ex.csv", "id,input,output\n1,a,b\n2,c,d\n1,e,f\n", ["unique", "'1' on line 2 and line 4"]),
    ("ex.csv", "id,input,output\n1,a,b\n,c,d\n", ["empty 'id'", "line 3"]),
    ("ex.xlsx", b"PK\x03\x04 binary", ["unknown file type '.xlsx'", ".csv", ".jsonl"]),
]


@pytest.mark.parametrize(("name", "content", "expected"), BAD_FILES)
def test_bad_example_files_say_what_to_fix(tmp_path, name, content, expected):
    with pytest.raises(DataError) as caught:
        load_examples(write(tmp_path, name, content))
    for fragment in expected:
        assert fragment in str(caught.value)


def test_missing_file_and_folder_are_data_errors(tmp_path):
    with pytest.raises(DataError, match="not found.*nope.csv"):
        load_examples(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="is a folder"):
        load_examples(tmp_path)


def test_file_over_max_bytes_names_the_limit(tmp_path):
    path = write(tmp_path, "ex.csv", CSV_HEADER + "a,b\n" * 50)
    with pytest.raises(DataError, match=r"limit of 100 bytes.*max_bytes"):
        load_examples(path, max_bytes=100)
    assert len(load_examples(path, max_bytes=10_000).examples) == 1  # 49 duplicates dropped


def test_too_many_rows_names_the_limit(tmp_path):
    path = write(tmp_path, "ex.csv", CSV_HEADER + "".join(f"q{i},a{i}\n" for i in range(11)))
    with pytest.raises(DataError, match=r"11 rows, over the limit of 10.*max_rows"):
        load_examples(path, max_rows=10)
    with pytest.raises(DataError, match="over the limit of 1"):
        load_examples(pd.DataFrame({"input": ["a", "b"], "output": ["c", "d"]}), max_rows=1)


def test_long_fields_beyond_the_csv_module_default_limit_load(tmp_path):
    long = "word " * 40_000  # 200 KB: over csv's 128 KiB default field limit
    loaded = load_examples(write(tmp_path, "ex.csv", f'{CSV_HEADER}"{long}",b\n'))
    assert loaded.examples[0].input == long


def test_bad_arguments_and_sources_are_data_errors(tmp_path):
    path = write(tmp_path, "ex.csv", CSV_HEADER + "a,b\n")
    with pytest.raises(DataError, match="different columns"):
        load_examples(path, input_col="x", output_col="x")
    with pytest.raises(DataError, match="max_bytes must be a positive"):
        load_examples(path, max_bytes=0)
    with pytest.raises(DataError, match="DataFrame"):
        load_examples(["not", "a", "frame"])  # type: ignore[arg-type]


def test_dataframe_problems_name_rows_and_columns():
    with pytest.raises(DataError, match=r"empty 'output' on row 1"):
        load_examples(pd.DataFrame({"input": ["a", "b"], "output": ["c", float("nan")]}))
    with pytest.raises(DataError, match=r"row 0: 'input' holds a list"):
        load_examples(pd.DataFrame({"input": [["a"]], "output": ["c"]}))
    with pytest.raises(DataError, match=r"row 1: 'output' holds a list"):
        load_examples(pd.DataFrame({"input": ["a", "b"], "output": ["c", np.arange(2)]}))
    with pytest.raises(DataError, match="duplicate column names: 'input'"):
        load_examples(pd.DataFrame([["a", "b", "c"]], columns=["input", "output", "input"]))
    with pytest.raises(DataError, match="no rows"):
        load_examples(pd.DataFrame({"input": [], "output": []}))


def test_data_error_is_an_advisor_error():
    assert issubclass(DataError, AdvisorError)


# --- knowledge base ----------------------------------------------------------------------


def test_knowledge_base_from_csv_and_jsonl(tmp_path):
    csv_kb = write(tmp_path, "kb.csv", 'id,text\nd1,"Line one\nline two"\n7,Seven\n')
    docs = load_knowledge_base(csv_kb)
    assert [(d.id, d.text) for d in docs] == [("d1", "Line one\nline two"), ("7", "Seven")]
    assert docs[1].source == f"{csv_kb}:4" and docs.warnings == []
    jsonl_kb = write(tmp_path, "kb.jsonl", jsonl({"id": "a", "text": "A", "title": "t"}))
    assert load_knowledge_base(jsonl_kb) == [Document("a", "A", f"{jsonl_kb}:1")]


def test_knowledge_base_folder_is_recursive_and_skips_hidden_and_other_files(tmp_path):
    write(tmp_path, "kb/faq.md", "# FAQ\nAnswers")
    write(tmp_path, "kb/sub/policy.txt", "Refunds within 30 days")
    write(tmp_path, "kb/.secret.txt", "hidden")
    write(tmp_path, "kb/.git/notes.txt", "hidden folder")
    write(tmp_path, "kb/image.png", b"\x89PNG")
    docs = load_knowledge_base(tmp_path / "kb")
    assert sorted(d.id for d in docs) == ["faq", "policy"]
    assert next(d for d in docs if d.id == "policy").source.endswith("sub/policy.txt")
    assert len(docs.warnings) == 1 and "image.png" in docs.warnings[0]


def test_empty_documents_are_skipped_with_a_warning(tmp_path):
    docs = load_knowledge_base(write(tmp_path, "kb.csv", "id,text\na,A\nb,\nc,C\n"))
    assert [d.id for d in docs] == ["a", "c"]
    assert "skipped 1" in docs.warnings[0] and "kb.csv:3" in docs.warnings[0]
    write(tmp_path, "kb/empty.md", "  \n")
    write(tmp_path, "kb/full.md", "text")
    docs = load_knowledge_base(tmp_path / "kb")
    assert [d.id for d in docs] == ["full"] and "empty.md" in docs.warnings[0]


BAD_KNOWLEDGE_BASES = [
    ({"kb.csv": "id,text\na,A\nb,B\na,C\n"}, "kb.csv", ["unique", "'a' on line 2 and line 4"]),
    ({"kb.csv": "id,body\na,A\n"}, "kb.csv", ["missing column 'text'", "'body'"]),
    ({"kb.csv": "id,text\n,A\n"}, "kb.csv", ["empty 'id'", "line 2"]),
    ({"kb.csv": "id,text\na,\n"}, "kb.csv", ["every knowledge-base document is empty"]),
    ({"kb.csv": "id,text\na,A,extra\n"}, "kb.csv", ["line 2 has 3 fields"]),
    ({"kb.jsonl": '{"id": "a", "text": "A"}\nnot json\n'}, "kb.jsonl", ["line 2", "JSON"]),
    ({"kb/a.md": "x", "kb/sub/a.txt": "y"}, "kb", ["unique", "'a'", "a.md", "a.txt"]),
    ({"kb/a.md": "fine", "kb/b.txt": b"ok\nbad \xff here"}, "kb", ["b.txt", "UTF-8", "line 2"]),
    ({"kb/notes.pdf": b"%PDF"}, "kb", ["no .txt or .md files", "notes.pdf"]),
    ({"kb/.hidden.md": "x"}, "kb", ["no .txt or .md files"]),
    ({"kb.txt": "plain text"}, "kb.txt", ["unknown file type '.txt'", "folder of .txt/.md"]),
    ({"kb/a.md": "  "}, "kb", ["every knowledge-base document is empty"]),
]


@pytest.mark.parametrize(("files", "target", "expected"), BAD_KNOWLEDGE_BASES)
def test_bad_knowledge_bases_say_what_to_fix(tmp_path, files, target, expected):
    for name, content in files.items():
        write(tmp_path, name, content)
    with pytest.raises(DataError) as caught:
        load_knowledge_base(tmp_path / target)
    for fragment in expected:
        assert fragment in str(caught.value)


def test_empty_or_missing_knowledge_base_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no .txt or .md files"):
        load_knowledge_base(tmp_path / "empty")
    with pytest.raises(DataError, match="knowledge base not found"):
        load_knowledge_base(tmp_path / "missing")


def test_knowledge_base_size_limit_covers_the_whole_folder(tmp_path):
    write(tmp_path, "kb/a.txt", "x" * 60)
    write(tmp_path, "kb/b.txt", "y" * 60)
    write(tmp_path, "kb.csv", "id,text\n" + "".join(f"d{i},t\n" for i in range(3)))
    with pytest.raises(DataError, match="3 rows, over the limit of 2.*max_documents"):
        load_knowledge_base(tmp_path / "kb.csv", max_documents=2)
    with pytest.raises(DataError, match=r"add up to 120 bytes, over the limit of 100"):
        load_knowledge_base(tmp_path / "kb", max_bytes=100)
    assert len(load_knowledge_base(tmp_path / "kb", max_bytes=120)) == 2


# --- doc ids -----------------------------------------------------------------------------


def test_check_doc_ids_lists_unknown_ids_with_lines():
    docs = [Document("kb1", "A", "kb.csv:2"), Document("kb2", "B", "kb.csv:3")]
    good = [Example("ex1", "q", "a", "kb1", 2), Example("ex2", "q2", "a", None, 3)]
    check_doc_ids(good, docs)  # no error
    bad = good + [Example("ex3", "q3", "a", "kb9", 4), Example("z", "q4", "a", "kb8", None)]
    with pytest.raises(DataError) as caught:
        check_doc_ids(bad, docs)
    message = str(caught.value)
    assert "2 example(s)" in message
    assert "'kb9' (line 4)" in message and "'kb8' (example z)" in message
    assert "'kb1'" in message  # shows what the known ids look like
    with pytest.raises(DataError, match="it is empty"):
        check_doc_ids(bad, [])
