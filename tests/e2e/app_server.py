"""Start ``streamlit run app.py`` as a user would, for the browser tests and the benchmarks.

Why a module and not a fixture only: the idle-CPU test, the browser tests and
``experiments/bench_app_vs_cli.py`` all need the same real server process (its pid for CPU
time, its URL for the browser), started from the project root so it reads the project's
``.streamlit/config.toml`` exactly as ``streamlit run app.py`` does.
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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("ADVISOR_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# Headless chromium as root in a container: no sandbox, no GPU, no background traffic.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@dataclass
class AppServer:
    url: str
    proc: subprocess.Popen
    runs: Path
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far (all its threads)."""
        return cpu_seconds(self.pid)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process from /proc (fields 14 and 15), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may hold spaces
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def inotify_watches(pid: int) -> int:
    """How many inotify watches the process holds (a file watcher holds one per folder)."""
    count = 0
    for info in Path(f"/proc/{pid}/fdinfo").iterdir():
        with contextlib.suppress(OSError):
            count += sum(line.startswith("inotify wd:") for line in info.read_text().splitlines())
    return count


@contextlib.contextmanager
def app_server(tmp: Path, env: dict[str, str] | None = None) -> Iterator[AppServer]:
    """``streamlit run app.py`` on a free localhost port with its own runs folder."""
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    full_env = dict(
        os.environ,
        ADVISOR_RUNS=str(tmp / "runs"),
        ADVISOR_CACHE=str(tmp / "cache"),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
    )
    full_env.update(env or {})
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    log_path = tmp / "streamlit.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    server = AppServer(f"http://localhost:{port}", proc, tmp / "runs", log_path)
    try:
        deadline = time.monotonic() + 60
        while not _healthy(server.url):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("streamlit did not start:\n" + server.log())
            time.sleep(0.3)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.read() == b"ok"
    except OSError:
        return False


def have_browser() -> str | None:
    """None when playwright and chromium are both here, else why not."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed: pip install playwright"
    if not Path(CHROMIUM).is_file():
        return f"no chromium at {CHROMIUM}: apt-get install chromium"
    return None
