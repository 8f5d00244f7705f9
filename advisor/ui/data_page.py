"""Data page: pick a bundled sample or upload examples and a knowledge base, then check them.

What the user chose is saved in the session as paths to stored copies (see
:mod:`advisor.ui.uploads`), so it survives refreshes; the Pilot page copies those files
into the run folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from advisor.data.samples import SAMPLE_NAMES, get_sample
from advisor.errors import AdvisorError
from advisor.ui import page_paths, state, widgets
from advisor.ui.texts import app_data_message, leakage_text
from advisor.ui.uploads import (
    EXAMPLE_SUFFIXES,
    KB_SUFFIXES,
    MAX_ROWS,
    DataCheck,
    check_data,
    detect_examples,
    save_examples,
    save_knowledge_base,
)
from advisor.ui.widgets import escape_md

NONE = "(none)"
REFUSED_KEY = "d__refused"  # upload id -> why it was refused


def _sample_choice(data: dict[str, Any]) -> None:
    names = list(SAMPLE_NAMES)
    current = data.get("sample") if data.get("sample") in names else names[-1]
    name = st.selectbox(
        "Sample",
        names,
        index=names.index(current),
        format_func=lambda n: f"{n}: {get_sample(n).description}",
        key="d__sample",
    )
    sample = get_sample(name)
    if data.get("source") != "sample" or data.get("sample") != name:
        data.clear()
        data.update(
            source="sample",
            sample=name,
            examples=str(sample.data),
            examples_name=sample.data.name,
            kb=str(sample.kb) if sample.kb else None,
            kb_names=[sample.kb.name] if sample.kb else [],
            input_col="input",
            output_col="output",
            doc_id_col="doc_id",
            task=sample.task,
            format=sample.format,
        )
        state.save()


def _refused(upload: Any) -> str | None:
    """The message a refused upload got, kept so a rerun does not store and read it again."""
    refused = st.session_state.get(REFUSED_KEY) or {}
    return refused.get(_upload_id(upload))


def _upload_id(upload: Any) -> str:
    return str(getattr(upload, "file_id", None) or f"{upload.name}:{upload.size}")


def _refuse(upload: Any, message: str) -> None:
    st.session_state.setdefault(REFUSED_KEY, {})[_upload_id(upload)] = message


def _upload_choice(data: dict[str, Any]) -> None:
    limit = state.upload_limit_bytes()
    if data.get("source") != "upload":
        data.clear()
        data.update(source="upload", task="", format=None)
    examples = st.file_uploader(
        "Examples: one row per (input, output) pair",
        key="d__examples",
        help=f"{', '.join(EXAMPLE_SUFFIXES)}: CSV/TSV with a header line, JSONL (one JSON "
        "object per line), a JSON list of objects or Parquet, with input/output columns or "
        "in OpenAI chat, Alpaca, ShareGPT or TRL prompt-completion form (detected); a "
        "Hugging Face datasets folder (save_to_disk) as a .zip.",
    )
    st.caption(
        f"Up to {MAX_ROWS:,} rows and {limit / 1024 / 1024:.0f} MB per file; "
        f"{', '.join(EXAMPLE_SUFFIXES)} with a header line. From Excel: save as "
        "'CSV UTF-8' first."
    )
    if examples is not None and (message := _refused(examples)):
        widgets.error(message)
    elif examples is not None:
        try:
            path = save_examples(examples.name, examples.getvalue(), state.root(), limit)
        except AdvisorError as exc:  # refused, and its stored copy already deleted
            _refuse(examples, app_data_message(str(exc)))
            widgets.error(_refused(examples))
        else:
            if data.get("examples") != str(path):
                data.update(examples=str(path), examples_name=examples.name)
                data.pop("input_col", None)
                if data.pop("task_from", None):  # the old file's system prompt
                    data.pop("task", None)
                state.save()
    kb_files = st.file_uploader(
        "Knowledge base (optional): one table with id and text, or several .txt/.md files",
        accept_multiple_files=True,
        key="d__kb",
        help=f"{', '.join(KB_SUFFIXES)}. Needed for the RAG arms. A .txt/.md file's id is its "
        "name without extension.",
    )
    if kb_files:
        try:
            files = [(f.name, f.getvalue()) for f in kb_files]
            path = save_knowledge_base(files, state.root(), limit)
        except AdvisorError as exc:
            widgets.error(app_data_message(str(exc)))
        else:
            if data.get("kb") != str(path):
                data.update(kb=str(path), kb_names=[f.name for f in kb_files])
                state.save()
    elif data.get("kb") and st.button("Remove the knowledge base", key="d__kb_clear"):
        data.update(kb=None, kb_names=[])
        state.save()
        st.rerun()


DATA_WIDGETS = ("d__in", "d__out", "d__doc", "d__task", "d__format")


def _forget_widgets_of_other_data(data: dict[str, Any]) -> None:
    """New files or another sample: the mapping and task widgets start from the new data.

    Why: a widget keeps its value across reruns, so without this the old file's column
    choice or the previous sample's task would be written over the new data's.
    """
    ident = f"{data.get('sample')}|{data.get('examples')}|{data.get('kb')}"
    if st.session_state.get("d__ident") != ident:
        for key in DATA_WIDGETS:
            st.session_state.pop(key, None)
        st.session_state["d__ident"] = ident


def _column_mapping(data: dict[str, Any]) -> bool:
    """Pick input/output/doc_id columns; False when the file cannot be read."""
    try:
        columns, fmt = detect_examples(data["examples"])
    except AdvisorError as exc:
        widgets.error(app_data_message(str(exc), _shown_names(data)))
        return False
    if fmt != "plain":  # chat, Alpaca, ShareGPT, TRL: the reader knows the fields
        chosen = {"input_col": "input", "output_col": "output", "doc_id_col": "doc_id"}
        if any(data.get(k) != v for k, v in chosen.items()):
            data.update(chosen)
            state.save()
        return True

    def guess(saved: str | None, wanted: str) -> int | None:
        """The saved or conventional column; None (the user must pick) rather than a guess."""
        for name in (saved, wanted):
            if name in columns:
                return columns.index(name)
        return None

    c1, c2, c3 = st.columns(3)
    input_col = c1.selectbox(
        "Input column",
        columns,
        index=guess(data.get("input_col"), "input"),
        key="d__in",
        placeholder="choose a column",
    )
    output_col = c2.selectbox(
        "Output column",
        columns,
        index=guess(data.get("output_col"), "output"),
        key="d__out",
        placeholder="choose a column",
    )
    doc_opts = [NONE, *columns]
    saved_doc = data.get("doc_id_col", "doc_id")
    doc_col = c3.selectbox(
        "Document id column (optional)",
        doc_opts,
        index=doc_opts.index(saved_doc) if saved_doc in doc_opts else 0,
        key="d__doc",
        help="Names the knowledge-base document that holds the answer: enables recall@k.",
    )
    if input_col is None or output_col is None:
        found = escape_md(", ".join(repr(c) for c in columns))
        st.info(
            f"This file has no 'input'/'output' columns (it has {found}): choose which "
            "column holds the inputs and which the desired outputs."
        )
        return False
    chosen = {"input_col": input_col, "output_col": output_col, "doc_id_col": doc_col}
    if doc_col == NONE:
        chosen["doc_id_col"] = None
    if any(data.get(k) != v for k, v in chosen.items()):
        data.update(chosen)
        state.save()
    return True


def _task_fields(data: dict[str, Any]) -> None:
    task = st.text_input(
        "Task instruction every arm gets",
        value=data.get("task") or "",
        key="d__task",
        placeholder="e.g. Answer the question with a short answer, no explanation.",
    )
    fmt = st.text_input(
        "Required output format (optional): json or regex:PATTERN",
        value=data.get("format") or "",
        key="d__format",
        help="Adds the format_valid metric. Samples may point to a bundled JSON Schema.",
    )
    fmt = fmt.strip() or None
    if task != (data.get("task") or "") or fmt != data.get("format"):
        data.update(task=task, format=fmt)
        state.save()


@st.cache_data(max_entries=16, show_spinner="Checking the data…")
def _cached_check(
    examples: str, kb: str | None, cols: tuple[str, str, str | None], stamp: tuple[float, ...]
) -> DataCheck:
    """``check_data`` once per (files, columns, file times): reruns must stay instant."""
    return check_data(examples, kb, *cols)


def _stamp(*paths: str | None) -> tuple[float, ...]:
    return tuple(Path(p).stat().st_mtime if p and Path(p).exists() else 0.0 for p in paths)


def _run_check(data: dict[str, Any]) -> DataCheck:
    cols = (data.get("input_col") or "input", data.get("output_col") or "output")
    kb = data.get("kb")
    check = _cached_check(
        data["examples"], kb, (*cols, data.get("doc_id_col")), _stamp(data["examples"], kb)
    )
    if check.task and not data.get("task") and data.get("task_from") != data["examples"]:
        # the conversations' shared system prompt is the task (once: the user may clear it)
        data.update(task=check.task, task_from=data["examples"])
        state.save()
    return check


def _show_check(data: dict[str, Any], check: DataCheck) -> None:
    if check.format_message:
        st.info(escape_md(check.format_message[0].upper() + check.format_message[1:] + "."))
    st.subheader("Checks")
    names = _shown_names(data)
    for message in check.errors:
        widgets.error(app_data_message(message, names))
    for message in check.warnings:
        st.warning(escape_md(app_data_message(message, names)))
    if check.leakage:
        show = st.warning if check.leaked else st.info
        embedder = (state.session().get("pilot_form") or {}).get("p__embedder")
        show(escape_md(leakage_text(check.leakage, embedder or state.default_embedder())))
    if check.ok:
        kb = f" and {len(check.documents)} knowledge-base document(s)" if check.documents else ""
        st.success(
            f"{len(check.examples)} examples{kb} ready. A default split holds out "
            f"{check.n_test} for testing and trains on {check.n_train}."
        )
    data["checked_ok"] = check.ok
    if check.examples:
        st.subheader("Preview")
        rows = [
            {"id": e.id, "input": e.input, "output": e.output, "doc_id": e.doc_id}
            for e in check.examples[:20]
        ]
        st.dataframe(rows, hide_index=True, width="stretch")
    if check.documents:
        with st.expander(f"Knowledge base: {len(check.documents)} document(s)"):
            st.dataframe(
                [{"id": d.id, "text": d.text[:300]} for d in check.documents[:20]],
                hide_index=True,
                width="stretch",
            )


def _shown_names(data: dict[str, Any]) -> dict[Path, str]:
    """Stored copies -> the names the user knows them by (for messages)."""
    names: dict[Path, str] = {}
    if data.get("examples") and data.get("examples_name"):
        names[Path(data["examples"])] = str(data["examples_name"])
    kb_names = data.get("kb_names") or []
    if data.get("kb") and len(kb_names) == 1:
        names[Path(data["kb"])] = str(kb_names[0])
    return names


def render() -> None:
    st.title("Data")
    st.write(
        "The pilot compares prompting, RAG and finetuning on **your** examples: "
        "(input, desired output) pairs, plus the documents RAG may retrieve from."
    )
    data = state.session().setdefault("data", {})
    options = ["Use a bundled sample", "Upload my own files"]
    source = st.radio(
        "Data source",
        options,
        index=1 if data.get("source") == "upload" else 0,
        horizontal=True,
        key="d__source",
    )
    if source == options[0]:
        _sample_choice(data)
    else:
        _upload_choice(data)
    if not data.get("examples"):
        st.info(
            "No examples yet: upload a CSV, JSONL, Parquet or chat-format file, or pick a "
            "bundled sample."
        )
        return
    names = ", ".join(data.get("kb_names") or []) or "none"
    shown = escape_md(f"Examples: {data.get('examples_name')} · knowledge base: {names}")
    st.caption(shown)
    if not Path(data["examples"]).exists():
        st.error("The stored copy of the examples is gone; upload the file again.")
        return
    _forget_widgets_of_other_data(data)
    if _column_mapping(data):
        check = _run_check(data)
        _task_fields(data)
        _show_check(data, check)
        if data.get("checked_ok"):
            st.page_link(page_paths.PILOT, label="Next: run a pilot", icon=":material/play_arrow:")


if __name__ == "__main__":  # Streamlit runs this file as the page's script (app.py routes here)
    state.run_page(render)
