"""An app left open costs nothing: the server burns no CPU while nobody clicks.

Why: with Streamlit's default file watcher the server walked the whole project tree (a
.venv, runs/) in a loop and burnt a full core for over an hour with the page open, which
also made a pilot started from the app many times slower than from the CLI (issue 18).
The test starts the real server as ``streamlit run app.py`` does, loads pages in a browser
when one is installed (else fetches them over HTTP), then measures the server process's
CPU time over an idle stretch.
"""

from __future__ import annotations

import os
import time
import urllib.request

import pytest
from app_server import CHROMIUM, CHROMIUM_FLAGS, app_server, have_browser, inotify_watches

IDLE_S = float(os.environ.get("ADVISOR_IDLE_TEST_S", "20"))
MAX_IDLE_CPU_S = 1.0  # over the whole idle stretch; a watcher loop burns ~IDLE_S


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("idle")
    with app_server(tmp, {"ADVISOR_APP_EMBEDDER": "hashing"}) as s:
        yield s


def _idle_cpu(server, seconds: float) -> float:
    before = server.cpu_seconds()
    time.sleep(seconds)
    return server.cpu_seconds() - before


def test_the_project_config_turns_the_file_watcher_off():
    import tomllib

    from app_server import ROOT

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["fileWatcherType"] == "none"
    assert config["server"].get("runOnSave", False) is False


def test_an_open_page_leaves_the_server_idle(server):
    why_not = have_browser()
    if why_not:  # still a real check: the page and its static files over HTTP
        for path in ("/", "/_stcore/health", "/_stcore/host-config"):
            with urllib.request.urlopen(server.url + path, timeout=10) as r:
                r.read()
        time.sleep(2)
        used = _idle_cpu(server, IDLE_S)
        assert used < MAX_IDLE_CPU_S, f"{used:.2f} s CPU in {IDLE_S:.0f} s idle ({why_not})"
        return
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page()
        page.goto(server.url)
        expect(page.get_by_role("heading", name="Questionnaire")).to_be_visible(timeout=60_000)
        # a browser session is what starts Streamlit's watcher: with it, one inotify watch
        # per project folder (measured: 30 with fileWatcherType "auto")
        assert inotify_watches(server.pid) == 0, server.log()
        nav = page.get_by_test_id("stSidebarNav")
        nav.get_by_role("link", name="Pilot", exact=True).click()  # the page that polls
        expect(page.get_by_role("heading", name="Pilot", exact=True)).to_be_visible()
        page.wait_for_timeout(2000)  # let the last rerun settle
        used = _idle_cpu(server, IDLE_S)
        browser.close()
    assert used < MAX_IDLE_CPU_S, f"{used:.2f} s CPU in {IDLE_S:.0f} s idle; log:\n{server.log()}"
