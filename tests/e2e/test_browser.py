"""The app in a real browser: answer the questionnaire, run a small pilot, download the HTML
report, and check that a browser refresh during a pilot neither stops nor loses it.

Needs Debian's chromium (``apt-get install chromium``) and the ``playwright`` package
(``pip install playwright``; its own browser download is never used: we point it at
/usr/bin/chromium). Skipped with a reason when either is missing. Screenshots of every
page go to ``$ADVISOR_E2E_SCREENSHOTS`` (default tests/e2e/screenshots, git-ignored).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("ADVISOR_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(os.environ.get("ADVISOR_E2E_SCREENSHOTS") or Path(__file__).parent / "screenshots")
VIEWPORT = {"width": 1400, "height": 2200}  # tall: Streamlit scrolls inside the page
PILOT_TIMEOUT_MS = 150_000

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed: pip install playwright"
)
if not Path(CHROMIUM).is_file():
    pytest.skip(f"no chromium at {CHROMIUM}: apt-get install chromium", allow_module_level=True)
expect = playwright_api.expect


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``streamlit run app.py`` on a free localhost port, with its own runs folder."""
    tmp = tmp_path_factory.mktemp("e2e")
    port = _free_port()
    env = dict(
        os.environ,
        ADVISOR_RUNS=str(tmp / "runs"),
        ADVISOR_CACHE=str(tmp / "cache"),
        ADVISOR_APP_EMBEDDER="hashing",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
    )
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    log = open(tmp / "streamlit.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://localhost:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read() == b"ok":
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("streamlit did not start:\n" + (tmp / "streamlit.log").read_text())
        time.sleep(0.3)
    yield {"url": url, "runs": tmp / "runs"}
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(500)  # let charts finish drawing
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def _shot_at(page, locator, name: str) -> None:
    """Scroll ``locator`` to the top of Streamlit's scrolling area, then take the shot."""
    locator.evaluate("el => el.scrollIntoView({block: 'start'})")
    _shot(page, name)


def _nav(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    expect(page.get_by_role("heading", name=title, exact=True).first).to_be_visible()


def _fill(page, label: str, value: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter")
    page.wait_for_timeout(800)  # the rerun this triggers


def _prepare_pilot(page, server, max_steps: str | None) -> None:
    """Pick the sample on the Data page, then set the pilot up on the built-in model."""
    _nav(page, "Data")
    expect(page.get_by_text("40 examples and 12 knowledge-base document(s) ready")).to_be_visible()
    _nav(page, "Pilot")
    page.get_by_text("Built-in tiny model (offline smoke test)").click()
    expect(page.get_by_text("0.4M-parameter model")).to_be_visible()  # TinySpec: 379,200
    _fill(page, "Test set: fraction (<1) or count (>=1)", "8")
    if max_steps:
        page.get_by_text("LoRA settings (used by the finetuning arms)").click()
        _fill(page, "Max steps (0 = no cap)", max_steps)


def test_questionnaire_pilot_and_html_report(server, page):
    page.goto(server["url"])
    expect(page.get_by_role("heading", name="Questionnaire")).to_be_visible()
    recommended = page.get_by_test_id("stSidebar").get_by_test_id("stMetricValue")
    expect(recommended).to_have_text("Prompting")
    page.get_by_label("What should the model do?").fill("Answer questions about the Serrowen isles")
    page.get_by_text("systematic", exact=True).click()
    page.get_by_text("Have you put worked examples in the prompt?").click()
    page.get_by_text("missing knowledge", exact=True).click()
    page.get_by_text("outdated knowledge", exact=True).click()
    page.get_by_text("Do documents or a database hold the needed facts?").click()
    page.get_by_text("daily", exact=True).click()
    expect(recommended).to_have_text("RAG")
    _shot(page, "1_questionnaire")

    _prepare_pilot(page, server, max_steps="4")
    _shot(page, "3_pilot_form")
    page.get_by_role("button", name="Start the pilot").click()
    expect(page.get_by_text("Current run")).to_be_visible()
    expect(page.get_by_text("arms finished")).to_be_visible()
    # best effort: a mid-run view with some arms done (a fast run may skip past it)
    with contextlib.suppress(AssertionError):
        expect(page.get_by_text("Results so far")).to_be_visible(timeout=60_000)
    _shot(page, "4_pilot_running")
    expect(page.get_by_text("Finished. See the combined recommendation")).to_be_visible(
        timeout=PILOT_TIMEOUT_MS
    )
    expect(page.get_by_text("Smoke run: built-in tiny model.").first).to_be_visible()
    _shot(page, "5_pilot_finished")

    _nav(page, "Data")
    _shot(page, "2_data")
    _nav(page, "Recommendation and report")
    download = page.get_by_role("button", name="Download HTML")
    expect(download).to_be_visible(timeout=60_000)
    evidence = page.get_by_text("Pilot evidence", exact=True)
    expect(evidence).to_be_visible()
    _shot(page, "6_report")
    _shot_at(page, evidence, "6b_report_charts")
    tabs = page.get_by_role("tablist")
    page.get_by_role("tab", name="Paired comparisons").click()
    expect(page.get_by_text("Metric", exact=True)).to_be_visible()
    _shot_at(page, tabs, "6c_report_comparisons")
    page.get_by_role("tab", name="LoRA loss").click()
    _shot_at(page, tabs, "6d_report_loss")
    with page.expect_download() as info:
        download.click()
    path = info.value.path()
    html = Path(path).read_text(encoding="utf-8")
    assert info.value.suggested_filename == "report.html"
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "Serrowen" in html and "LoRA" in html and "smoke" in html.lower()


def test_refreshing_during_a_pilot_neither_stops_nor_loses_it(server, page):
    from advisor.pilot import jobs

    page.goto(server["url"])
    expect(page.get_by_role("heading", name="Questionnaire")).to_be_visible()
    before = {r.run_id for r in jobs.list_runs(server["runs"])}
    _prepare_pilot(page, server, max_steps=None)
    page.get_by_role("button", name="Start the pilot").click()
    expect(page.get_by_text("Current run")).to_be_visible()
    (run,) = [r for r in jobs.list_runs(server["runs"]) if r.run_id not in before]
    expect(page.get_by_text(run.run_id).first).to_be_visible()

    page.reload()
    expect(page.get_by_role("heading", name="Pilot", exact=True)).to_be_visible()
    expect(page.get_by_text(run.run_id).first).to_be_visible()
    assert jobs.job_status(run.path).running, jobs.log_tail(run.path)
    # the refreshed page keeps following the same pilot as it makes progress
    expect(page.get_by_text("Zero-shot prompting: ok")).to_be_visible(timeout=PILOT_TIMEOUT_MS)
    assert jobs.job_status(run.path).running, jobs.log_tail(run.path)
    _shot(page, "7_pilot_after_refresh")

    page.get_by_role("button", name="Cancel this pilot").click()
    expect(page.get_by_text("Cancelled.")).to_be_visible(timeout=30_000)
    status = jobs.job_status(run.path)
    assert status.state == "cancelled"
    assert {a.name: a.state for a in status.arms}["zero_shot"] == "ok"  # finished arms kept
    _shot(page, "8_pilot_cancelled")
