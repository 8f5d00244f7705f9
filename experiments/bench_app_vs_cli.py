"""The same small pilot from the CLI and from the app (driven by Playwright): wall times.

Why: a pilot started from the app once took ~67 min where the CLI took under two (issue
18): the server's file watcher held a core and the pilot's spinning OpenMP threads fought
it. The app may be at most 10% slower than the CLI. This runs the same pilot both ways,
alternating (CLI, app, CLI, app, ...) so drifting machine load hits both alike:

- the real default model (SmolLM2-135M-Instruct, from the model cache; nothing fetched),
- the ``tiny`` sample (40 examples, 12 documents), 8 test items,
- arms zero_shot, bm25_rag and lora, the default embedder, LoRA and generation settings.

CLI time: the ``advisor pilot`` process from start to exit. App time: from the click on
"Start the pilot" to the page saying "Finished" (what a user waits, polling included);
the worker's own wall time (job.json to exit.json) is printed beside it. The settings of
the two runs are compared before any figure is printed: they must match.

    python experiments/bench_app_vs_cli.py               # 2 runs each way
    python experiments/bench_app_vs_cli.py --repeat 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT))

ARMS = ("zero_shot", "bm25_rag", "lora")
ARM_LABELS_TO_DROP = (
    "Few-shot prompting",
    "RAG (vector search)",
    "LoRA finetune + RAG",
    "Nearest neighbour (reference)",
)
TEST_ITEMS = 8
PATHS = ("data", "kb", "out", "format")  # differ by design (the app copies its inputs)


def _env(cache: Path) -> dict[str, str]:
    from advisor.models.cache import model_cache_dir

    return dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        ADVISOR_MODEL_CACHE=str(model_cache_dir()),
        ADVISOR_CACHE=str(cache),
        ADVISOR_OFFLINE="1",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
    )


def run_cli(out: Path, cache: Path) -> float:
    from advisor.data.samples import get_sample

    tiny = get_sample("tiny")
    cmd = [sys.executable, "-m", "advisor", "pilot", "--data", str(tiny.data)]
    cmd += ["--kb", str(tiny.kb), "--task", tiny.task, "--arms", ",".join(ARMS)]
    cmd += ["--test-size", str(TEST_ITEMS), "--out", str(out)]
    if tiny.format:
        cmd += ["--format", tiny.format]
    start = time.perf_counter()
    subprocess.run(cmd, env=_env(cache), check=True, capture_output=True)
    return time.perf_counter() - start


def run_app(server, browser) -> tuple[float, Path, float]:
    """One pilot through the browser; (seconds Start -> Finished, run folder, server CPU s)."""
    from playwright.sync_api import expect

    from advisor.pilot import jobs

    page = browser.new_page(viewport={"width": 1400, "height": 2200})
    page.set_default_timeout(60_000)
    page.goto(server.url)
    nav = page.get_by_test_id("stSidebarNav")
    nav.get_by_role("link", name="Data", exact=True).click()
    expect(page.get_by_text("40 examples and 12 knowledge-base document(s) ready")).to_be_visible()
    nav.get_by_role("link", name="Pilot", exact=True).click()
    expect(
        page.get_by_text("SmolLM2-135M-Instruct will run: it is on this machine")
    ).to_be_visible()
    for arm in ARM_LABELS_TO_DROP:
        page.get_by_role("button", name=f"Remove {arm}", exact=True).click()
        page.wait_for_timeout(400)
    box = page.get_by_label("Test set: fraction (<1) or count (>=1)", exact=True)
    box.fill(str(TEST_ITEMS))
    box.press("Enter")
    page.wait_for_timeout(1500)
    before = {r.run_id for r in jobs.list_runs(server.runs)}
    cpu = server.cpu_seconds()
    start = time.perf_counter()
    page.get_by_role("button", name="Start the pilot").click()
    expect(page.get_by_text("Finished. See the combined recommendation")).to_be_visible(
        timeout=3_600_000
    )
    seconds = time.perf_counter() - start
    cpu = server.cpu_seconds() - cpu
    page.close()
    (run,) = [r for r in jobs.list_runs(server.runs) if r.run_id not in before]
    return seconds, run.path, cpu


def _worker_seconds(run_dir: Path) -> float:
    job = json.loads((run_dir / "job.json").read_text())
    end = json.loads((run_dir / "exit.json").read_text())
    started = datetime.fromisoformat(job.get("started_at") or job["created_at"])
    return (datetime.fromisoformat(end["ended_at"]) - started).total_seconds()


def _settings(run_dir: Path) -> dict:
    settings = json.loads((run_dir / "settings.json").read_text())
    return {k: v for k, v in settings.items() if k not in PATHS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=2, help="pilots each way")
    args = parser.parse_args()
    from app_server import CHROMIUM, CHROMIUM_FLAGS, app_server, have_browser
    from playwright.sync_api import sync_playwright

    from advisor.models.cache import find_cached, model_cache_dir
    from advisor.models.hf import DEFAULT_MODEL

    if why := have_browser():
        raise SystemExit(why)
    if find_cached(DEFAULT_MODEL) is None:
        raise SystemExit("the default model is not in the model cache: advisor models pull")
    tmp = Path(tempfile.mkdtemp(prefix="bench-app-cli-"))
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    cli_s, app_s, worker_s, server_cpu, runs = [], [], [], [], []
    with (
        # the app gets its own advisor cache (answers, uploads) but the shared model cache
        app_server(
            tmp / "app", {"ADVISOR_OFFLINE": "1", "ADVISOR_MODEL_CACHE": str(model_cache_dir())}
        ) as server,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        for i in range(args.repeat):
            out = tmp / f"cli-{i}"
            cli_s.append(run_cli(out, tmp / "cli-cache"))
            print(f"cli  {i}: {cli_s[-1]:6.1f} s", flush=True)
            seconds, run_dir, cpu = run_app(server, browser)
            app_s.append(seconds)
            worker_s.append(_worker_seconds(run_dir))
            server_cpu.append(cpu)
            runs.append((out, run_dir))
            print(
                f"app  {i}: {seconds:6.1f} s (worker {worker_s[-1]:.1f} s, server CPU {cpu:.1f} s)",
                flush=True,
            )
        browser.close()
    load_after = Path("/proc/loadavg").read_text().split()[:3]
    for cli_dir, app_dir in runs:
        a, b = _settings(cli_dir), _settings(app_dir)
        differ = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        if differ:
            print(f"SETTINGS DIFFER between {cli_dir} and {app_dir}: {differ}")
    cli, app = statistics.median(cli_s), statistics.median(app_s)
    print(f"\nload average before {' '.join(load_before)}, after {' '.join(load_after)}")
    print("| run | CLI (s) | app, Start to Finished (s) | app worker (s) | server CPU (s) |")
    print("|---|---|---|---|---|")
    for i, (c, a, w, cpu) in enumerate(zip(cli_s, app_s, worker_s, server_cpu, strict=True)):
        print(f"| {i + 1} | {c:.1f} | {a:.1f} | {w:.1f} | {cpu:.1f} |")
    print(f"| median | {cli:.1f} | {app:.1f} | {statistics.median(worker_s):.1f} | |")
    print(f"\napp / CLI = {app / cli:.3f} (limit 1.10)")


if __name__ == "__main__":
    main()
