"""Questionnaire page: the questions in workflow order, with a live recommendation.

Widgets are keyed ``q_<key>`` and seeded from the saved answers only when Streamlit has no
value for them (first visit, after a page switch or a refresh), so the saved file and the
widgets never fight. Every change is validated with ``parse_answers`` and saved at once.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from advisor.decide.answers_file import loads_answers
from advisor.decide.questionnaire import (
    BEHAVIOUR_FAILURES,
    COST_FAILURES,
    FAILURE_HELP,
    FAILURES,
    GROUPS,
    INFORMATION_FAILURES,
    QUESTIONS,
    Answers,
    Question,
    answers_to_dict,
    parse_answers,
)
from advisor.decide.recommend import recommend
from advisor.errors import AdvisorError
from advisor.ui import state, widgets
from advisor.ui.widgets import escape_md

PREFIX = "q_"
PLACEHOLDER = "e.g. answer customer questions about our return policy"
LOADED_KEY = "q__loaded_file"  # id of the answers file already applied


def _widget_key(q: Question, item: str | None = None) -> str:
    return f"{PREFIX}{q.key}" + (f"__{item}" if item else "")


def _seed(values: dict[str, Any], force: bool = False) -> None:
    """Put saved answers into widget state where Streamlit holds no value (or ``force``)."""
    for q in QUESTIONS:
        value = values.get(q.key, q.default)
        if q.type == "choices":
            for item in q.allowed:
                key = _widget_key(q, item)
                if force or key not in st.session_state:
                    st.session_state[key] = item in (value or ())
            continue
        key = _widget_key(q)
        if force or key not in st.session_state:
            st.session_state[key] = float(value) if q.type == "float" else value


def _read_widgets() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for q in QUESTIONS:
        if q.type == "choices":
            out[q.key] = [i for i in q.allowed if st.session_state.get(_widget_key(q, i))]
        else:
            out[q.key] = st.session_state.get(_widget_key(q), q.default)
    return out


def _explain(q: Question) -> None:
    st.caption(f"{escape_md(q.help)}  \n**Why we ask:** {escape_md(q.principle)} *({q.source})*")


def _widget(q: Question) -> None:
    key = _widget_key(q)
    if q.type == "text":
        st.text_area(q.label, key=key, height=80, max_chars=10_000, placeholder=PLACEHOLDER)
    elif q.type == "bool":
        st.toggle(q.label, key=key)
    elif q.type == "choice":
        st.radio(q.label, q.allowed, key=key, horizontal=True)
    elif q.type == "int":
        st.number_input(
            q.label, key=key, min_value=int(q.minimum or 0), max_value=int(q.maximum), step=1
        )
    elif q.type == "float":
        low = 1e-6 if q.exclusive_minimum else float(q.minimum or 0)  # "> 0" as a widget bound
        st.number_input(
            q.label, key=key, min_value=low, max_value=float(q.maximum), step=0.5, format="%g"
        )
    elif q.type == "choices":
        st.markdown(f"**{q.label}**")
        kinds = (
            ("Information failures (facts)", INFORMATION_FAILURES),
            ("Behaviour failures (form)", BEHAVIOUR_FAILURES),
            ("Cost", COST_FAILURES),
        )
        cols = st.columns(len(kinds))
        for col, (title, items) in zip(cols, kinds, strict=True):
            with col:
                st.caption(title)
                for item in items:
                    st.checkbox(
                        item.replace("_", " "), key=_widget_key(q, item), help=FAILURE_HELP[item]
                    )
    _explain(q)


def _load_file_panel() -> None:
    """Load answers from a JSON/YAML file; applied once per uploaded file."""
    uploaded = st.file_uploader("Load answers (.json, .yaml or .yml)", key="q__upload")
    if uploaded is None:
        return
    file_id = getattr(uploaded, "file_id", None) or f"{uploaded.name}:{uploaded.size}"
    if st.session_state.get(LOADED_KEY) == file_id:
        return
    st.session_state[LOADED_KEY] = file_id
    try:
        if uploaded.size > 1_000_000:
            raise AdvisorError(
                f"{uploaded.name!r} is {uploaded.size:,} bytes; an answers file is a few "
                "hundred bytes: is this the right file?"
            )
        suffix = uploaded.name.rsplit(".", 1)[-1].lower() if "." in uploaded.name else ""
        if suffix not in ("json", "yaml", "yml"):
            raise AdvisorError(
                f"{uploaded.name!r} is not an answers file: use .json, .yaml or .yml "
                "(save one with the button below)"
            )
        fmt = "json" if suffix == "json" else "yaml"
        loaded = loads_answers(uploaded.getvalue(), fmt=fmt, name=repr(uploaded.name))
    except AdvisorError as exc:
        st.session_state["q__load_error"] = str(exc)
        return
    st.session_state.pop("q__load_error", None)
    state.set_answers(loaded)
    _seed(answers_to_dict(loaded), force=True)
    st.session_state["q__load_ok"] = uploaded.name


def render() -> None:
    st.title("Questionnaire")
    st.write(
        "Answer in the order the chapter's workflow asks: prompting first, then how it "
        "fails, then knowledge, data, model and serving. The recommendation on the left "
        "updates as you answer; your answers are saved as you go."
    )
    with st.expander("Save or load answers", expanded=False):
        _load_file_panel()
        if err := st.session_state.get("q__load_error"):
            widgets.error(err)
        elif name := st.session_state.pop("q__load_ok", None):
            st.success(escape_md(f"Loaded answers from {name!r}."))
        saved = state.answers()
        st.download_button(
            "Save answers (JSON)",
            data=json.dumps(answers_to_dict(saved), indent=2) + "\n",
            file_name="answers.json",
            mime="application/json",
            key="q__download",
        )
        if st.button("Reset to defaults", key="q__reset"):
            state.set_answers(Answers())
            _seed(answers_to_dict(Answers()), force=True)
            st.rerun()

    _seed(answers_to_dict(state.answers()))
    by_group: dict[str, list[Question]] = {}
    for q in QUESTIONS:
        by_group.setdefault(q.group, []).append(q)
    for number, group in enumerate(GROUPS, start=1):
        with st.container(border=True):
            st.subheader(f"Step {number} of {len(GROUPS)} · {group}")
            for q in by_group.get(group, []):
                _widget(q)

    try:
        current = parse_answers(_read_widgets())
    except AdvisorError as exc:  # widgets bound their values; this is a safety net
        widgets.error(exc)
        current = state.answers()
    state.set_answers(current)
    with st.sidebar:
        st.subheader("Live recommendation")
        st.caption("From your answers alone; the Recommendation page adds pilot evidence.")
        rec = recommend(current).to_dict()
        widgets.headline(rec)
        widgets.scores_table(rec)
        st.markdown("**Why**")
        widgets.reasons(rec, max_reasons=3)


assert set(FAILURES) == set(INFORMATION_FAILURES + BEHAVIOUR_FAILURES + COST_FAILURES)
