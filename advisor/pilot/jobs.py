"""Pilots as background processes that the app can leave and come back to.

Why a separate process and not a thread: Streamlit reruns the page script on every click,
and a browser refresh starts a brand-new session; a pilot that lives in either dies with
it or is lost to the new session. A process in its own session (process group) outlives
both, writes everything into its run folder, and any later page, browser tab or CLI call
can tell what it is doing from the files alone.

Who writes what in ``RUN_DIR`` (one writer per file, every write atomic):

- ``job.json``: the app (``start_pilot``/``cancel``): settings, planned arms, pid.
- ``live.json``: the worker: the latest progress event per arm (stage, done, total, loss).
- ``exit.json``: the worker, once, when it stops: finished / failed / cancelled.
- ``pilot.log``: the worker's stdout and stderr.
- everything else (``results.json``, ``arms/<arm>.json``, ``progress.json``...):
  :func:`advisor.pilot.runner.run_pilot`, exactly as the CLI writes it.

Reading what a job is doing is :mod:`advisor.pilot.jobstatus` (re-exported here: this is
the app's one door to its background pilots). The worker is ``python -m
advisor.pilot.worker RUN_DIR``; it reads its settings from ``job.json`` (the full
:class:`~advisor.pilot.context.PilotSettings`, so nothing is lost translating them to
command-line flags) and calls the same ``run_pilot`` as ``advisor pilot``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from advisor.errors import AdvisorError
from advisor.pilot.context import PilotSettings
from advisor.pilot.jobfiles import (
    APP_KNOBS,  # noqa: F401
    DEFAULT_RUNS,  # noqa: F401
    ENDED,  # noqa: F401
    EXIT_FILE,  # noqa: F401
    JOB_FILE,  # noqa: F401
    LIVE_FILE,  # noqa: F401
    LIVE_INTERVAL_S,  # noqa: F401
    LOG_FILE,  # noqa: F401
    REMOTE_CODE_ENV,  # noqa: F401
    RUN_ID,  # noqa: F401
    RUNS_ENV,  # noqa: F401
    copy_input,  # noqa: F401
    new_run_id,  # noqa: F401
    now_iso,  # noqa: F401
    remote_code_allowed,  # noqa: F401
    run_path,  # noqa: F401
    runs_root,  # noqa: F401
)
from advisor.pilot.jobstatus import (
    FINISHED_ARM,  # noqa: F401
    ArmState,  # noqa: F401
    JobStatus,  # noqa: F401
    RunInfo,  # noqa: F401
    job_status,  # noqa: F401
    list_runs,  # noqa: F401
    log_tail,  # noqa: F401
    pid_alive,
    quick_status,  # noqa: F401
    watch_child,
)
from advisor.pilot.rundir import atomic_write_json, read_json


def planned_arms(settings: PilotSettings) -> list[str]:
    """The arms the pilot will run, in order (RAG arms only with a knowledge base)."""
    from advisor.pilot.prepare import choose_arms

    return choose_arms(settings, bool(settings.kb))


def _project_root() -> Path:
    return Path(__file__).resolve().parents[2]


def start_pilot(
    settings: PilotSettings,
    root: str | Path | None = None,
    *,
    answers: dict[str, Any] | None = None,
    run_id: str | None = None,
    env: dict[str, str] | None = None,
    data_name: str | None = None,
) -> Path:
    """Start a pilot in its own process group; returns the new run folder at once.

    The inputs are copied into ``RUN_DIR/inputs`` under generated names, so the run folder
    holds everything needed to understand or resume it, whatever happens to the uploads.
    ``answers`` (questionnaire answers as a dict) are kept as ``answers.json`` for the
    report. ``settings.out`` is ignored: the run folder is always a new one under ``root``.
    ``data_name`` is what the user knows the data as (a sample's name, an upload's file
    name): the copy in the run folder is always ``examples.<suffix>``.
    """
    if settings.trust_remote_code and not remote_code_allowed():
        raise AdvisorError(
            "the app does not let a model repository run its own code: restart it with "
            f"{REMOTE_CODE_ENV}=1 if you trust the model's author, or use the CLI's "
            "--trust-remote-code"
        )
    run_dir = run_path(run_id or new_run_id(), root)
    if run_dir.exists():
        raise AdvisorError(f"run folder {run_dir} already exists; start a new run")
    arms = planned_arms(settings)  # an impossible arm choice fails here, not in the log
    run_dir.mkdir(parents=True)
    inputs = run_dir / "inputs"
    data = copy_input(settings.data, inputs, "examples")
    kb = copy_input(settings.kb, inputs, "kb") if settings.kb else None
    fmt = settings.format
    if fmt and Path(fmt).suffix.lower() == ".json" and Path(fmt).is_file():
        fmt = str(copy_input(fmt, inputs, "format_schema"))
    settings = replace(settings, data=str(data), kb=str(kb) if kb else None, out=str(run_dir))
    settings = replace(settings, format=fmt)
    if answers is not None:
        atomic_write_json(run_dir / "answers.json", answers)
    job: dict[str, Any] = {
        "version": 1,
        "run_id": run_dir.name,
        "created_at": now_iso(),
        "settings": settings.to_dict(),
        "arms": arms,
        "arm_seconds": _arm_seconds(settings, arms),
        "data_name": data_name or Path(str(settings.data)).name,
        "pid": None,
        "cancel_requested": False,
    }
    atomic_write_json(run_dir / JOB_FILE, job)
    child_env = dict(os.environ if env is None else env)
    path = child_env.get("PYTHONPATH", "")
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_project_root()), path) if p)
    child_env.setdefault("PYTHONUNBUFFERED", "1")
    with open(run_dir / LOG_FILE, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "advisor.pilot.worker", str(run_dir)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: survives the app, cancellable as one
            env=child_env,  # and our cwd: a relative --model folder means what it meant here
        )
    watch_child(proc)
    job["pid"] = proc.pid
    job["started_at"] = now_iso()
    atomic_write_json(run_dir / JOB_FILE, job)
    return run_dir


def _arm_seconds(settings: PilotSettings, arms: list[str]) -> dict[str, dict[str, float]]:
    """Estimated seconds per arm (total and training), to weigh the overall progress bar:
    a LoRA arm takes minutes where the nearest-neighbour reference takes a second."""
    try:
        from advisor.pilot.estimate import estimate_pilot

        est = estimate_pilot(settings)
    except Exception:  # an estimate must never stop a pilot from starting
        return {}
    return {
        a: {
            "total": float(est.per_arm_seconds.get(a, 0.0)),
            "train": float(est.per_arm_train_seconds.get(a, 0.0)),
        }
        for a in arms
    }


def cancel(run_dir: str | Path, grace_s: float = 10.0) -> bool:
    """Stop a running pilot: SIGTERM to its process group, SIGKILL after ``grace_s``.

    Finished arms stay in the run folder (the pilot writes each arm as it finishes).
    Returns False when there was nothing running to cancel.
    """
    run_dir = Path(run_dir)
    job = read_json(run_dir / JOB_FILE)
    if not isinstance(job, dict) or not pid_alive(job.get("pid")):
        return False
    job["cancel_requested"] = True
    job["cancel_requested_at"] = now_iso()
    atomic_write_json(run_dir / JOB_FILE, job)
    pid = int(job["pid"])
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    _signal_group(pid, signal.SIGKILL)
    for _ in range(50):
        if not pid_alive(pid):
            break
        time.sleep(0.1)
    if not (run_dir / EXIT_FILE).exists():
        atomic_write_json(
            run_dir / EXIT_FILE,
            {"state": "cancelled", "error": None, "exit_code": -9, "ended_at": now_iso()},
        )
    return True


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # start_new_session: the group id is the worker's pid
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)
