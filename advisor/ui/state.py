"""Per-browser state the pages share: answers, chosen data, current run.

``session()`` must run first on every page: it finds (or makes) the token in the URL and
loads what this browser made before (see :mod:`advisor.ui.store` for why). Pages read and
change the returned dict and call ``save()``.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import streamlit as st

from advisor.decide.questionnaire import Answers, answers_to_dict, parse_answers
from advisor.errors import AdvisorError
from advisor.pilot.jobs import run_path, runs_root
from advisor.ui.store import (
    load_last_answers,
    load_session,
    new_token,
    save_last_answers,
    save_session,
    valid_token,
)

SESSION_KEY = "advisor_session"
TOKEN_KEY = "advisor_token"
QUERY_KEY = "s"
UPLOAD_LIMIT_ENV = "ADVISOR_MAX_UPLOAD_MB"  # overrides server.maxUploadSize for the checks
EMBEDDER_ENV = "ADVISOR_APP_EMBEDDER"  # the embedder the Pilot page pre-fills (tests: hashing)


def root() -> Path:
    return runs_root()


def session() -> dict[str, Any]:
    """This browser's saved state; the token is (re)written into the URL on every page."""
    token = st.session_state.get(TOKEN_KEY)
    if token is None:
        from_url = st.query_params.get(QUERY_KEY)
        token = from_url if valid_token(from_url) else new_token()
        st.session_state[TOKEN_KEY] = token
        try:
            st.session_state[SESSION_KEY] = load_session(root(), token)
        except OSError:
            st.session_state[SESSION_KEY] = {}
        if "answers" not in st.session_state[SESSION_KEY]:
            # a new tab: start from this user's last answers, not an empty questionnaire
            last = _valid_answers(load_last_answers())
            if last:
                st.session_state[SESSION_KEY]["answers"] = last
    if st.query_params.get(QUERY_KEY) != token:
        st.query_params[QUERY_KEY] = token  # page switches clear the query string
    return st.session_state[SESSION_KEY]


def save() -> None:
    try:
        save_session(root(), st.session_state[TOKEN_KEY], st.session_state[SESSION_KEY])
    except OSError as exc:
        msg = f"could not save this session to {root()} ({exc}); a refresh may lose it"
        st.warning(msg.replace("$", "\\$"))


def _valid_answers(raw: Any) -> dict[str, Any]:
    """The answered questions of a stored dict; {} when it does not validate."""
    if not isinstance(raw, dict):
        return {}
    try:
        parse_answers(raw)
    except AdvisorError:
        return {}
    return dict(raw)


def answered() -> dict[str, Any]:
    """Only the questions the user answered (what the questionnaire saves)."""
    return _valid_answers(session().get("answers"))


def answers() -> Answers:
    """The current answers (defaults for anything unanswered or unreadable)."""
    return parse_answers(answered())


def set_answered(value: dict[str, Any]) -> None:
    """Keep the answered questions: in the session, and as this user's last answers."""
    data = session()
    new = _valid_answers(value)
    if data.get("answers") != new:
        data["answers"] = new
        save()
        with contextlib.suppress(OSError):  # a convenience: the session file holds them too
            save_last_answers(new)


def set_answers(value: Answers) -> None:
    """Every question answered (e.g. loaded from a file that gives them all)."""
    set_answered(answers_to_dict(value))


def current_run() -> Path | None:
    """The run this browser last started or reopened, if its folder still exists."""
    run_id = session().get("run_id")
    if not run_id:
        return None
    try:
        path = run_path(run_id, root())
    except AdvisorError:
        return None
    return path if path.is_dir() else None


def set_run(run_id: str | None) -> None:
    session()["run_id"] = run_id
    save()


def upload_limit_bytes() -> int:
    """Uploads above this are refused with a message (the browser refuses them too)."""
    raw = os.environ.get(UPLOAD_LIMIT_ENV)
    try:
        mb = float(raw) if raw else float(st.get_option("server.maxUploadSize"))
    except (TypeError, ValueError):
        mb = 50.0
    return int(mb * 1024 * 1024)


def default_embedder() -> str:
    return os.environ.get(EMBEDDER_ENV, "")


def run_page(render: Any) -> None:
    """Every page: load the session, then render; a user mistake becomes a message."""
    session()
    try:
        render()
    except AdvisorError as exc:
        from advisor.ui.widgets import error

        error(exc)
