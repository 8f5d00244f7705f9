"""Background pilots: they start in their own process, report progress from files alone
(so any session can read them), survive the starter going away, and cancel cleanly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from advisor.data.samples import get_sample
from advisor.errors import AdvisorError
from advisor.finetune.settings import LoraSettings
from advisor.pilot import jobs, jobstatus
from advisor.pilot import worker as jobworker
from advisor.pilot.context import PilotSettings

TINY = get_sample("tiny")


def _settings(**kw) -> PilotSettings:
    base = dict(
        data=str(TINY.data),
        kb=None,
        out="ignored",
        model="builtin:tiny",
        embedder="hashing",
        test_size=6,
        arms=("nearest_neighbor",),
    )
    base.update(kw)
    return PilotSettings(**base)


def _wait(run_dir: Path, until, timeout: float = 90.0) -> jobs.JobStatus:
    deadline = time.monotonic() + timeout
    while True:
        status = jobs.job_status(run_dir)
        if until(status):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; last status {status}; log:\n{jobs.log_tail(run_dir)}")
        time.sleep(0.3)


def test_background_pilot_finishes_and_any_reader_sees_it(tmp_path):
    run_dir = jobs.start_pilot(_settings(), tmp_path, answers={"task": "t"})
    assert run_dir.parent == tmp_path.resolve()
    job = json.loads((run_dir / "job.json").read_text())
    assert jobs.pid_alive(job["pid"])
    # inputs are copied under generated names; the settings point at the copies
    assert job["settings"]["data"] == str(run_dir / "inputs" / "examples.jsonl")
    assert (run_dir / "inputs" / "examples.jsonl").read_bytes() == TINY.data.read_bytes()
    assert json.loads((run_dir / "answers.json").read_text()) == {"task": "t"}

    status = _wait(run_dir, lambda s: not s.running)
    assert status.state == "finished", jobs.log_tail(run_dir)
    assert [(a.name, a.state) for a in status.arms] == [("nearest_neighbor", "ok")]
    assert status.results["arms"]["nearest_neighbor"]["status"] == "ok"
    assert json.loads((run_dir / "exit.json").read_text())["state"] == "finished"

    # a different process (a refreshed page, a second tab) reads the same state from files
    code = (
        "import sys; from advisor.pilot.jobs import job_status; "
        "s = job_status(sys.argv[1]); print(s.state, [a.state for a in s.arms])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(run_dir)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "finished ['ok']"
    runs = jobs.list_runs(tmp_path)
    assert [r.run_id for r in runs] == [run_dir.name]
    assert runs[0].smoke is False and runs[0].arms_done == 1 and runs[0].state == "finished"


def _proc_state(pid: int) -> str | None:
    """The process's state letter from /proc (Z = zombie), None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2]


def test_a_finished_worker_is_reaped_without_anyone_asking(tmp_path):
    run_dir = jobs.start_pilot(_settings(), tmp_path)
    pid = json.loads((run_dir / "job.json").read_text())["pid"]
    deadline = time.monotonic() + 90
    while not (run_dir / "exit.json").exists():  # files only: no status call reaps it
        assert time.monotonic() < deadline, jobs.log_tail(run_dir)
        time.sleep(0.2)
    while _proc_state(pid) not in (None, "Z") and time.monotonic() < deadline:
        time.sleep(0.1)  # the worker writes exit.json just before it exits
    time.sleep(1.0)  # a reaper gets a moment; a zombie stays
    assert _proc_state(pid) is None, f"worker {pid} left as state {_proc_state(pid)!r}"
    assert pid not in jobstatus._CHILDREN


def test_cancel_stops_the_process_group_and_keeps_finished_arms(tmp_path):
    lora = LoraSettings(epochs=50, max_steps=100_000, batch_size=1, learning_rate=1e-3)
    settings = _settings(arms=("zero_shot", "lora"), lora=lora, validation_size=0.0)
    run_dir = jobs.start_pilot(settings, tmp_path)
    status = _wait(
        run_dir,
        lambda s: not s.running or any(a.name == "lora" and a.state == "running" for a in s.arms),
    )
    assert status.running, jobs.log_tail(run_dir)
    pid = status.pid
    assert jobs.cancel(run_dir, grace_s=20.0) is True
    assert not jobs.pid_alive(pid)
    status = jobs.job_status(run_dir)
    assert status.state == "cancelled"
    states = {a.name: a.state for a in status.arms}
    assert states == {"zero_shot": "ok", "lora": "not run"}
    # the worker itself recorded the cancel (SIGTERM was handled, not a hard kill)
    assert json.loads((run_dir / "exit.json").read_text())["exit_code"] == 143
    assert jobs.cancel(run_dir) is False  # nothing left to cancel


def test_start_refuses_bad_arms_before_creating_anything(tmp_path):
    with pytest.raises(AdvisorError, match="need a knowledge base"):
        jobs.start_pilot(_settings(arms=("bm25_rag",)), tmp_path)
    with pytest.raises(AdvisorError, match="unknown arm"):
        jobs.start_pilot(_settings(arms=("nope",)), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_failing_pilot_reports_its_message(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q", "answer": "a"}\n' * 20)
    run_dir = jobs.start_pilot(_settings(data=str(bad)), tmp_path / "runs")
    status = _wait(run_dir, lambda s: not s.running)
    assert status.state == "failed"
    assert "missing column" in status.error and "input" in status.error
    assert "missing column" in jobs.log_tail(run_dir)


def test_run_ids_cannot_leave_the_runs_root(tmp_path):
    for bad in ("../x", "a/b", "", "_sessions", ".hidden", "x" * 200, 5):
        with pytest.raises(AdvisorError):
            jobs.run_path(bad, tmp_path)
    assert jobs.run_path("20250101-000000-abc", tmp_path) == tmp_path.resolve() / (
        "20250101-000000-abc"
    )


def test_runs_root_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(jobs.RUNS_ENV, str(tmp_path / "elsewhere"))
    assert jobs.runs_root() == (tmp_path / "elsewhere").resolve()
    monkeypatch.delenv(jobs.RUNS_ENV)
    assert jobs.runs_root() == (Path.cwd() / "runs").resolve()


def _fake_run(root: Path, name: str, job: dict | None = None, **files: dict) -> Path:
    run = root / name
    run.mkdir(parents=True)
    if job is not None:
        (run / "job.json").write_text(json.dumps(job))
    for fname, content in files.items():
        (run / fname.replace("__", ".")).write_text(json.dumps(content))
    return run


def test_a_dead_worker_is_failed_not_running(tmp_path):
    # our own pid is alive but is not an advisor worker: a reused pid must not look running
    run = _fake_run(tmp_path, "r1", {"pid": os.getpid(), "arms": ["zero_shot"], "settings": {}})
    status = jobs.job_status(run)
    assert status.state == "failed" and "stopped without finishing" in status.error
    assert [a.state for a in status.arms] == ["not run"]
    job = {"pid": 999_999_999, "arms": [], "settings": {}, "cancel_requested": True}
    assert jobs.job_status(_fake_run(tmp_path, "r2", job)).state == "cancelled"


def test_cli_made_run_folders_are_listed_and_sessions_are_not(tmp_path):
    results = {
        "state": "finished",
        "smoke": True,
        "model": "builtin:tiny",
        "started_at": "2025-01-01T00:00:00+00:00",
        "arms": {"zero_shot": {"status": "ok"}, "lora": {"status": "failed", "error": "x"}},
    }
    _fake_run(tmp_path, "cli-run", results__json=results, settings__json={"data": "/d/ex.csv"})
    (tmp_path / "_sessions").mkdir()
    (tmp_path / "_sessions" / "results.json").write_text("{}")
    (tmp_path / "empty").mkdir()
    runs = jobs.list_runs(tmp_path)
    assert [r.run_id for r in runs] == ["cli-run"]
    run = runs[0]
    assert (run.state, run.smoke, run.model, run.data_file) == (
        "finished",
        True,
        "builtin:tiny",
        "ex.csv",
    )
    # arm states come from results when there is no job file
    status = jobs.job_status(run.path)
    assert {a.name: a.state for a in status.arms} == {"zero_shot": "not run", "lora": "not run"}


def test_live_writer_keeps_the_latest_event_per_arm_and_throttles(tmp_path):
    writer = jobworker.LiveWriter(tmp_path, interval_s=3600)
    writer({"arm": "zero_shot", "stage": "start", "done": 0, "total": 4})
    writer({"arm": "zero_shot", "stage": "generate", "done": 2, "total": 4})
    on_disk = json.loads((tmp_path / "live.json").read_text())
    assert on_disk["arms"]["zero_shot"]["stage"] == "start"  # the generate event was throttled
    writer({"arm": "zero_shot", "stage": "ok", "done": 1, "total": 1})
    writer({"arm": "lora", "stage": "train", "done": 3, "total": 10, "loss": 1.5, "x": [1]})
    writer.flush()
    on_disk = json.loads((tmp_path / "live.json").read_text())
    assert on_disk["arms"]["zero_shot"]["stage"] == "ok"
    assert on_disk["arms"]["lora"] == {
        "arm": "lora",
        "stage": "train",
        "done": 3,
        "total": 10,
        "loss": 1.5,
    }
    # job_status turns a live event of an unfinished arm into progress
    (tmp_path / "job.json").write_text(json.dumps({"pid": None, "arms": ["lora"]}))
    (tmp_path / "exit.json").unlink(missing_ok=True)
    arms = jobstatus._arm_states(tmp_path, ["lora"], on_disk, ended=False)
    assert (arms[0].state, arms[0].done, arms[0].total, arms[0].loss) == ("running", 3, 10, 1.5)
    assert arms[0].fraction == pytest.approx(0.3)


def test_quick_status_reads_live_json_alone_and_weighs_arms_by_their_time(tmp_path):
    """The app's poll: one small file, and a bar that moves with the real work."""
    run = _fake_run(
        tmp_path,
        "r1",
        {
            "pid": os.getpid(),
            "arms": ["nearest_neighbor", "lora"],
            "arm_seconds": {
                "nearest_neighbor": {"total": 3.0, "train": 0.0},
                "lora": {"total": 297.0, "train": 240.0},
            },
            "settings": {},
            "data_name": "sample 'tiny'",
        },
    )
    before = jobs.job_status(run)
    assert before.data_name == "sample 'tiny'"
    live = {
        "arms": {
            "nearest_neighbor": {"arm": "nearest_neighbor", "stage": "ok", "done": 1, "total": 1},
            "lora": {"arm": "lora", "stage": "generate", "done": 0, "total": 8, "fraction": 0.5},
        }
    }
    (run / "live.json").write_text(json.dumps(live))
    worker = subprocess.Popen(  # stands in for a live worker (pid_alive checks its cmdline)
        [sys.executable, "-c", "import time; time.sleep(60)", "advisor.pilot.worker"]
    )
    try:
        for _ in range(100):  # until the new process image shows its command line
            if Path(f"/proc/{worker.pid}/cmdline").read_bytes():
                break
            time.sleep(0.05)
        read: list[str] = []
        real_read = jobstatus.read_json
        jobstatus.read_json = lambda path: read.append(Path(path).name) or real_read(path)
        try:
            quick = jobs.quick_status(run, replace(before, state="running", pid=worker.pid))
        finally:
            jobstatus.read_json = real_read
    finally:
        worker.kill()
        worker.wait()
    assert quick.state == "running"
    assert sorted(read) == ["exit.json", "live.json"]  # no arm files, no results.json
    assert quick.finished_arms == ("nearest_neighbor",)
    lora = quick.arms[1]
    assert (lora.state, lora.stage, lora.fraction) == ("running", "generate", 0.5)
    # lora trained (240 of 297 s) and is half way through answering: 268.5 of its 297 s
    assert lora.arm_fraction == pytest.approx((240 + 0.5 * 57) / 297)
    assert quick.fraction == pytest.approx((3 + 240 + 0.5 * 57) / 300)
    # the worker is gone without an exit.json: the poll says so, job_status works out why
    assert jobs.quick_status(run, replace(before, pid=worker.pid)).state == "stopped"
    (run / "exit.json").write_text(json.dumps({"state": "finished"}))
    assert jobs.quick_status(run, before).state == "finished"


def test_an_app_run_is_listed_by_the_users_name_for_its_data(tmp_path):
    run_dir = jobs.start_pilot(_settings(), tmp_path, data_name="sample 'tiny'")
    _wait(run_dir, lambda s: not s.running)
    (run,) = jobs.list_runs(tmp_path)
    assert run.data_file == "sample 'tiny'"  # not the copy's name, examples.jsonl
    job = json.loads((run_dir / "job.json").read_text())
    assert set(job["arm_seconds"]) == {"nearest_neighbor"}
    # the worker ran with the CLI's thread settings (advisor.runtime.configure_threads)
    runtime = json.loads((run_dir / "results.json").read_text())["runtime"]
    from advisor.runtime import cpu_count

    assert runtime["torch_threads"] == cpu_count()
    assert runtime["omp_wait_policy"] == "PASSIVE"


def test_openmp_threads_wait_passively_unless_the_user_says_otherwise():
    """Spinning OpenMP threads collapsed a LoRA step ~9x on a shared 2-core machine."""
    code = "import os, advisor, torch; print(os.environ.get('OMP_WAIT_POLICY'))"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "PASSIVE", out.stderr
    env["OMP_WAIT_POLICY"] = "ACTIVE"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "ACTIVE", out.stderr
