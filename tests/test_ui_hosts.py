"""The app refuses requests whose Host is not this machine (DNS rebinding), checked against
the real server started as users start it (``streamlit run app.py``) with a real client."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from advisor.ui.hosts import ALLOWED_HOSTS_ENV, allowed_hosts, host_allowed

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("host", "ok"),
    [
        ("localhost:8501", True),
        ("LOCALHOST", True),
        ("127.0.0.1:8501", True),
        ("[::1]:8501", True),
        ("localhost.:8501", True),
        ("app.example.com", True),  # listed in the environment below
        ("a.corp.example", True),  # *.corp.example
        ("evil.com:8501", False),
        ("localhost.evil.com", False),
        ("127.0.0.1.nip.io", False),
        ("corp.example", False),  # the wildcard is for sub-domains only
        ("localhost:99999", False),
        ("user@localhost", False),
        ("localhost/x", False),
        ("", False),
        (None, False),
    ],
)
def test_only_this_machine_and_listed_names_are_allowed(host, ok):
    env = {ALLOWED_HOSTS_ENV: " App.Example.com , *.corp.example ,"}
    assert host_allowed(host, allowed_hosts(env)) is ok


def get(port: int, path: str, host: str) -> tuple[int, str]:
    """(status, body) of ``GET path`` sent to the app with this Host header."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _websocket_status(port: int, host: str) -> str:
    """The status line the server answers a websocket handshake for ``host`` with."""
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /_stcore/stream HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Protocol: streamlit\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request.encode())
        return sock.recv(4096).decode("latin-1").split("\r\n", 1)[0]


@pytest.fixture(scope="module")
def app_port(tmp_path_factory):
    port = _free_port()
    runs = tmp_path_factory.mktemp("runs")
    env = {**os.environ, "ADVISOR_RUNS": str(runs), ALLOWED_HOSTS_ENV: "advisor.example.com"}
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    cmd += ["--server.headless", "true", "--browser.gatherUsageStats", "false"]
    log = runs / "streamlit.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if get(port, "/_stcore/health", f"localhost:{port}")[0] == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None:
                break
            time.sleep(0.3)
        else:
            pytest.fail(f"the app did not start: {log.read_text()[-2000:]}")
        if proc.poll() is not None:
            pytest.fail(f"the app stopped: {log.read_text()[-2000:]}")
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("path", ["/", "/_stcore/health", "/_stcore/host-config", "/media/x"])
def test_a_foreign_host_gets_nothing_over_http(app_port, path):
    status, body = get(app_port, path, f"evil.example:{app_port}")
    assert status == 403
    assert "not allowed" in body and "<html" not in body.lower()


def test_this_machine_and_listed_names_get_the_app(app_port):
    for host in (f"localhost:{app_port}", f"127.0.0.1:{app_port}", "advisor.example.com"):
        status, body = get(app_port, "/", host)
        assert status == 200 and "<html" in body.lower(), host


def test_a_foreign_host_cannot_open_the_websocket(app_port):
    """The DNS-rebinding shape: Host and Origin both the attacker's name."""
    assert _websocket_status(app_port, f"evil.example:{app_port}").split()[1] == "403"
    assert _websocket_status(app_port, f"localhost:{app_port}").split()[1] == "101"


@pytest.mark.parametrize("allowed", [False, True])
def test_the_pilot_page_offers_remote_code_only_when_the_environment_allows(
    allowed, tmp_path, monkeypatch
):
    from ui_helpers import goto, new_app

    from advisor.pilot.jobs import REMOTE_CODE_ENV

    monkeypatch.setenv("ADVISOR_RUNS", str(tmp_path / "runs"))
    if allowed:
        monkeypatch.setenv(REMOTE_CODE_ENV, "1")
    else:
        monkeypatch.delenv(REMOTE_CODE_ENV, raising=False)
    at = goto(new_app().run(), "data")
    at.selectbox(key="d__sample").set_value("tiny").run()
    at = goto(at, "pilot")
    assert at.button(key="p__start")  # the start form is shown
    offered = [c for c in at.checkbox if "trust_remote_code" in c.label]
    assert bool(offered) is allowed


def test_start_pilot_refuses_remote_code_unless_the_environment_allows(tmp_path, monkeypatch):
    from advisor.errors import AdvisorError
    from advisor.pilot.context import PilotSettings
    from advisor.pilot.jobs import REMOTE_CODE_ENV, start_pilot

    monkeypatch.delenv(REMOTE_CODE_ENV, raising=False)
    data = tmp_path / "ex.jsonl"
    data.write_text('{"input": "q", "output": "a"}\n')
    settings = PilotSettings(data=str(data), out="", trust_remote_code=True)
    with pytest.raises(AdvisorError, match=REMOTE_CODE_ENV):
        start_pilot(settings, tmp_path / "runs")
    assert not (tmp_path / "runs").exists()
