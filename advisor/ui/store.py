"""What a browser session has made, kept on disk so a refresh loses nothing.

Why a file and a token in the URL: Streamlit's session state lives in the server's memory
and a browser refresh starts a new, empty session. The app puts a random token in the
page's query string (``?s=...``); a refresh keeps the URL, so the new session finds the
token and reads back the answers, the chosen data and the current run from
``RUNS/_sessions/<token>.json``. The file is small JSON, written atomically on every
change. Tokens are generated here and checked against a strict pattern before they touch
a path.

The last questionnaire answers are also kept per user of this machine
(``$ADVISOR_CACHE/app/last_answers.json``, beside the model and embedding caches), so a
new tab, which has no token yet, starts from them instead of an empty questionnaire.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

from advisor.pilot.rundir import atomic_write_json, read_json

SESSIONS_DIR = "_sessions"
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def new_token() -> str:
    return secrets.token_urlsafe(18)


def valid_token(token: object) -> bool:
    return isinstance(token, str) and bool(TOKEN.match(token))


def _path(root: Path, token: str) -> Path:
    if not valid_token(token):
        raise ValueError(f"invalid session token {token!r}")
    return Path(root) / SESSIONS_DIR / f"{token}.json"


def load_session(root: Path, token: str) -> dict[str, Any]:
    """The saved session, or {} when there is none (or it cannot be read)."""
    data = read_json(_path(root, token))
    return data if isinstance(data, dict) else {}


def save_session(root: Path, token: str, data: dict[str, Any]) -> None:
    atomic_write_json(_path(root, token), data)


LAST_ANSWERS = ("app", "last_answers.json")


def last_answers_path() -> Path:
    from advisor.retrieval.embeddings import default_cache_dir

    return default_cache_dir().joinpath(*LAST_ANSWERS)


def load_last_answers() -> dict[str, Any]:
    """This machine user's last answers (only the questions they answered), or {}."""
    data = read_json(last_answers_path())
    return data if isinstance(data, dict) else {}


def save_last_answers(answers: dict[str, Any]) -> None:
    atomic_write_json(last_answers_path(), answers)
