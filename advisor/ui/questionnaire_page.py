"""Questionnaire page: the questions in workflow order, with a live recommendation.

Widgets are keyed ``q_<key>`` and seeded from the saved answers only when Streamlit has no
value for them (first visit, after a page switch or a refresh), so the saved file and the
widgets never fight. Only answered questions are saved (an untouched question is not an
answer, so it cannot make the recommendation confident); every change is validated with
``parse_answers`` and saved at once.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from advisor.decide.answers_file import loads_answered
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
    choice_label,
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
    """Put saved answers into widget state where Streamlit holds no value (or ``force``).

    An unanswered question shows as unanswered (no option picked, an empty number), never
    as its default: a default is not the user's answer.
    """
    for q in QUESTIONS:
        value = values.get(q.key)
        if q.type == "choices":
            for item in q.allowed:
                key = _widget_key(q, item)
                if force or key not in st.session_state:
                    st.session_state[key] = item in (value or ())
            continue
        key = _widget_key(q)
        if force or key not in st.session_state:
            if q.type == "text":
                value = value or ""
            elif q.type == "float" and value is not None:
                value = float(value)
            st.session_state[key] = value


def _read_widgets() -> dict[str, Any]:
    """Only the questions the user answered: unanswered ones are left out, not defaulted."""
    out: dict[str, Any] = {}
    for q in QUESTIONS:
        if q.type == "choices":
            picked = [i for i in q.allowed if st.session_state.get(_widget_key(q, i))]
            if picked:
                out[q.key] = picked
            continue
        value = st.session_state.get(_widget_key(q))
        if q.type == "text":
            value = (value or "").strip() or None
        if value is not None:
            out[q.key] = value
    return out


def _explain(q: Question) -> None:
    st.caption(f"{escape_md(q.help)}  \n**Why we ask:** {escape_md(q.principle)} *({q.source})*")


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _widget(q: Question) -> None:
    key = _widget_key(q)
    if q.type == "text":
        st.text_area(q.label, key=key, height=80, max_chars=10_000, placeholder=PLACEHOLDER)
    elif q.type == "bool":
        st.radio(q.label, (True, False), key=key, index=None, format_func=_yes_no, horizontal=True)
    elif q.type == "choice":
        st.radio(
            q.label,
            q.allowed,
            key=key,
            index=None,
            format_func=lambda v, k=q.key: choice_label(k, v),
            horizontal=True,
        )
    elif q.type == "int":
        st.number_input(
            q.label,
            key=key,
            value=None,
            min_value=int(q.minimum or 0),
            max_value=int(q.maximum),
            step=1,
            placeholder=f"not answered (default {q.default:,})",
        )
    elif q.type == "float":
        low = 1e-6 if q.exclusive_minimum else float(q.minimum or 0)  # "> 0" as a widget bound
        st.number_input(
            q.label,
            key=key,
            value=None,
            min_value=low,
            max_value=float(q.maximum),
            step=0.5,
            format="%g",
            placeholder=f"not answered (default {q.default:g})",
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
                        choice_label(q.key, item),
                        key=_widget_key(q, item),
                        help=FAILURE_HELP[item],
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
        loaded = loads_answered(uploaded.getvalue(), fmt=fmt, name=repr(uploaded.name))
    except AdvisorError as exc:
        st.session_state["q__load_error"] = str(exc)
        return
    st.session_state.pop("q__load_error", None)
    state.set_answered(loaded)
    _seed(loaded, force=True)
    st.session_state["q__load_ok"] = uploaded.name


def render() -> None:
    st.title("Questionnaire")
    st.write(
        "Answer in the order the chapter's workflow asks: prompting first, then how it "
        "fails, then knowledge, data, model and serving. The recommendation in the sidebar "
        "updates as you answer. Your answers are kept on this machine: a refresh or a new "
        "tab starts from your last answers."
    )
    with st.expander("Save or load answers", expanded=False):
        _load_file_panel()
        if err := st.session_state.get("q__load_error"):
            widgets.error(err)
        elif name := st.session_state.pop("q__load_ok", None):
            st.success(escape_md(f"Loaded answers from {name!r}."))
        st.download_button(
            "Save answers (JSON)",
            data=json.dumps(state.answered(), indent=2) + "\n",
            file_name="answers.json",
            mime="application/json",
            key="q__download",
            help="Only the questions you answered; a missing key takes its default.",
        )
        if st.button("Clear all answers", key="q__reset"):
            state.set_answered({})
            _seed({}, force=True)
            st.rerun()

    _seed(state.answered())
    by_group: dict[str, list[Question]] = {}
    for q in QUESTIONS:
        by_group.setdefault(q.group, []).append(q)
    for number, group in enumerate(GROUPS, start=1):
        with st.container(border=True):
            st.subheader(f"Step {number} of {len(GROUPS)} · {group}")
            for q in by_group.get(group, []):
                _widget(q)

    given = _read_widgets()
    try:
        current = parse_answers(given)
    except AdvisorError as exc:  # widgets bound their values; this is a safety net
        widgets.error(exc)
        given, current = state.answered(), state.answers()
    state.set_answered(given)
    with st.sidebar:
        live_recommendation(current, set(given))


def live_recommendation(current: Answers, answered: set[str]) -> None:
    """The sidebar: nothing confident before any answer; unanswered questions do not count."""
    st.subheader("Live recommendation")
    counted = answered - {"task"}  # the task is shown in the report; no rule reads it
    if not counted:
        st.info(
            "No recommendation yet: answer the questions, starting with how much prompting "
            "you have tried. Unanswered questions do not count as answers."
        )
        return
    st.caption(
        f"From your answers alone ({len(counted)} of {len(QUESTIONS) - 1} questions answered; "
        "the others take cautious defaults and cannot raise the confidence). The "
        "Recommendation page adds pilot evidence."
    )
    rec = recommend(current, answered=answered).to_dict()
    widgets.headline(rec)
    widgets.scores_table(rec)
    st.markdown("**Why**")
    widgets.reasons(rec, max_reasons=3)


assert set(FAILURES) == set(INFORMATION_FAILURES + BEHAVIOUR_FAILURES + COST_FAILURES)


if __name__ == "__main__":  # Streamlit runs this file as the page's script (app.py routes here)
    state.run_page(render)
