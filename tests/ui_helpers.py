"""Shared helpers for the AppTest suites (tests/test_ui_*.py)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from advisor.ui import page_paths

APP = Path(__file__).resolve().parents[1] / "app.py"
PAGES = {
    "questionnaire": page_paths.QUESTIONNAIRE,
    "data": page_paths.DATA,
    "pilot": page_paths.PILOT,
    "report": page_paths.REPORT,
}


def new_app(token: str | None = None) -> AppTest:
    """A fresh browser session; with ``token`` it is a refresh of that session's URL."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    if token:
        at.query_params["s"] = token
    return at


def goto(at: AppTest, page: str) -> AppTest:
    at.switch_page(PAGES[page]).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(elements) -> list[str]:
    return [e.value for e in elements]
