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

The worker is ``python -m advisor.pilot.worker RUN_DIR`` (:mod:`advisor.pilot.worker`); it reads
its settings from ``job.json``
(the full :class:`~advisor.pilot.context.PilotSettings`, so nothing is lost translating
them to command-line flags) and calls the same ``run_pilot`` as ``advisor pilot``.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from advisor.errors import AdvisorError
from advisor.pilot.context import PilotSettings
from advisor.pilot.rundir import atomic_write_json, read_json

RUNS_ENV = "ADVISOR_RUNS"  # where run folders go; default ./runs
DEFAULT_RUNS = "runs"
JOB_FILE, LIVE_FILE, EXIT_FILE, LOG_FILE = "job.json", "live.json", "exit.json", "pilot.log"
ENDED = ("finished", "failed", "cancelled")
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
LIVE_INTERVAL_S = 1.0  # the app polls every 3 s; writing more often only costs I/O

_CHILDREN: dict[int, subprocess.Popen] = {}  # started here and not yet reaped


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def runs_root(root: str | Path | None = None) -> Path:
    """The folder holding run folders: ``root``, else ``$ADVISOR_RUNS``, else ./runs."""
    chosen = root if root is not None else (os.environ.get(RUNS_ENV) or DEFAULT_RUNS)
    return Path(chosen).expanduser().resolve()


def new_run_id() -> str:
    """Time-ordered and unguessable enough that two tabs starting at once never collide."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def run_path(run_id: str, root: str | Path | None = None) -> Path:
    """The folder of a run id, refusing ids that could leave the runs root."""
    if not isinstance(run_id, str) or not RUN_ID.match(run_id) or run_id.startswith("_"):
        raise AdvisorError(f"not a run id: {run_id!r} (letters, digits, '-', '_' and '.')")
    base = runs_root(root)
    path = (base / run_id).resolve()
    if path.parent != base:
        raise AdvisorError(f"not a run id: {run_id!r}")
    return path


# -- starting --------------------------------------------------------------------------------


def _copy_input(source: str | Path, dest_dir: Path, stem: str) -> Path:
    """Copy an input into the run folder under a generated name (the suffix is kept)."""
    src = Path(source).expanduser().resolve()
    if not src.exists():
        raise AdvisorError(f"{stem} not found: {str(src)!r}; pick the data again")
    dest_dir.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        dest = dest_dir / stem
        shutil.copytree(src, dest, symlinks=False)
        return dest
    suffix = src.suffix.lower() if re.fullmatch(r"\.[a-z0-9]{1,8}", src.suffix.lower()) else ""
    dest = dest_dir / f"{stem}{suffix}"
    shutil.copyfile(src, dest)
    return dest


def planned_arms(settings: PilotSettings) -> list[str]:
    """The arms the pilot will run, in order (RAG arms only with a knowledge base)."""
    from advisor.pilot.runner import choose_arms

    return choose_arms(settings, bool(settings.kb))


def _project_root() -> Path:
    return Path(__file__).resolve().parents[1]


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
    run_dir = run_path(run_id or new_run_id(), root)
    if run_dir.exists():
        raise AdvisorError(f"run folder {run_dir} already exists; start a new run")
    arms = planned_arms(settings)  # an impossible arm choice fails here, not in the log
    run_dir.mkdir(parents=True)
    inputs = run_dir / "inputs"
    data = _copy_input(settings.data, inputs, "examples")
    kb = _copy_input(settings.kb, inputs, "kb") if settings.kb else None
    fmt = settings.format
    if fmt and Path(fmt).suffix.lower() == ".json" and Path(fmt).is_file():
        fmt = str(_copy_input(fmt, inputs, "format_schema"))
    settings = replace(settings, data=str(data), kb=str(kb) if kb else None, out=str(run_dir))
    settings = replace(settings, format=fmt)
    if answers is not None:
        atomic_write_json(run_dir / "answers.json", answers)
    job: dict[str, Any] = {
        "version": 1,
        "run_id": run_dir.name,
        "created_at": _now(),
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
    _CHILDREN[proc.pid] = proc
    _reap_when_done(proc)
    job["pid"] = proc.pid
    job["started_at"] = _now()
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


# -- status ----------------------------------------------------------------------------------


def _reap_when_done(proc: subprocess.Popen) -> None:
    """Wait for the worker in a daemon thread, so it is reaped the moment it exits.

    Why: the app only looks at a run while a page shows it, and once ``exit.json`` exists
    it never asks about the pid again; a worker nobody waits for stays a zombie
    (``<defunct>``) for as long as the server lives.
    """

    def wait() -> None:
        proc.wait()
        _CHILDREN.pop(proc.pid, None)

    threading.Thread(target=wait, name=f"reap-{proc.pid}", daemon=True).start()


def _reap(pid: int) -> None:
    proc = _CHILDREN.get(pid)
    if proc is not None and proc.poll() is not None:
        _CHILDREN.pop(pid, None)


def pid_alive(pid: Any) -> bool:
    """True while the worker process runs (a zombie, or a reused pid, counts as gone)."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    _reap(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path(f"/proc/{pid}")
    if proc.exists():
        try:
            stat = (proc / "stat").read_text()
            if stat[stat.rindex(")") + 2] == "Z":
                return False  # exited, not yet reaped
            cmdline = (proc / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            return False
        # empty: a process that is still starting (its new image not mapped yet); any other
        # program there means the worker is gone and its pid was reused
        if cmdline and b"advisor.pilot.worker" not in cmdline:
            return False
    return True


FINISHED_ARM = ("ok", "failed", "skipped")


@dataclass
class ArmState:
    name: str
    state: str  # waiting, running, ok, failed, skipped, not run
    stage: str | None = None  # start, train, generate
    done: int = 0
    total: int = 0
    loss: float | None = None
    error: str | None = None
    stage_fraction: float | None = None  # finer than done/total (token steps of a batch)
    train_share: float = 0.0  # the part of the arm's time spent training (estimated)

    @property
    def fraction(self) -> float:
        """This stage's progress, 0..1 (a training arm has two: training, then answering)."""
        if self.state in FINISHED_ARM:
            return 1.0
        if self.stage_fraction is not None:
            return max(0.0, min(1.0, self.stage_fraction))
        return min(1.0, self.done / self.total) if self.total else 0.0

    @property
    def arm_fraction(self) -> float:
        """The whole arm's progress: training counts for its estimated share of the time."""
        if self.state in FINISHED_ARM:
            return 1.0
        if self.stage == "train":
            return self.train_share * self.fraction
        if self.stage == "generate":
            return self.train_share + (1 - self.train_share) * self.fraction
        return 0.0


@dataclass
class JobStatus:
    run_dir: Path
    state: str  # running, finished, failed, cancelled, incomplete
    arms: list[ArmState] = field(default_factory=list)
    error: str | None = None
    pid: int | None = None
    created_at: str | None = None
    ended_at: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    results: dict[str, Any] | None = None
    model_message: str | None = None  # the latest model download / conversion step

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def run_id(self) -> str:
        return self.run_dir.name

    weights: dict[str, float] = field(default_factory=dict)  # arm -> estimated seconds
    train_shares: dict[str, float] = field(default_factory=dict)  # arm -> training's share
    data_name: str | None = None
    fallback: dict[str, Any] | None = None  # {"wanted", "used", "reason"}: another model ran

    @property
    def fraction(self) -> float:
        """Overall progress, each arm weighted by its estimated time (equal without one)."""
        if not self.arms:
            return 0.0
        weights = [max(self.weights.get(a.name, 0.0), 0.0) for a in self.arms]
        if sum(weights) <= 0:
            weights = [1.0] * len(self.arms)
        return sum(w * a.arm_fraction for w, a in zip(weights, self.arms, strict=True)) / sum(
            weights
        )

    @property
    def finished_arms(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.arms if a.state in FINISHED_ARM)


def _number(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok else None


def _running_arm(name: str, event: dict[str, Any], train_share: float) -> ArmState:
    return ArmState(
        name,
        "running",
        stage=event.get("stage") if isinstance(event.get("stage"), str) else None,
        done=int(_number(event.get("done")) or 0),
        total=int(_number(event.get("total")) or 0),
        loss=_number(event.get("loss")),
        stage_fraction=_number(event.get("fraction")),
        train_share=train_share,
    )


def _train_shares(job: dict[str, Any]) -> dict[str, float]:
    shares = {}
    raw = job.get("arm_seconds")
    for arm, est in (raw if isinstance(raw, dict) else {}).items():
        total, train = _number((est or {}).get("total")), _number((est or {}).get("train"))
        if total and train is not None and 0 <= train <= total:
            shares[str(arm)] = train / total
    return shares


def _weights(job: dict[str, Any]) -> dict[str, float]:
    raw = job.get("arm_seconds")
    out = {}
    for arm, est in (raw if isinstance(raw, dict) else {}).items():
        total = _number((est or {}).get("total")) if isinstance(est, dict) else None
        if total is not None:
            out[str(arm)] = total
    return out


def _arm_states(
    run_dir: Path, arms: list[str], live: dict, ended: bool, shares: dict[str, float] | None = None
) -> list[ArmState]:
    events = live.get("arms") if isinstance(live.get("arms"), dict) else {}
    shares = shares or {}
    out = []
    for name in arms:
        block = read_json(run_dir / "arms" / f"{name}.json")
        event = events.get(name) if isinstance(events.get(name), dict) else {}
        if isinstance(block, dict) and block.get("status") in FINISHED_ARM:
            out.append(ArmState(name, block["status"], error=block.get("error")))
        elif event and not ended:
            out.append(_running_arm(name, event, shares.get(name, 0.0)))
        else:
            out.append(ArmState(name, "not run" if ended else "waiting"))
    return out


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def job_status(run_dir: str | Path) -> JobStatus:
    """What a run is doing, from its files alone (any process, any session can ask)."""
    run_dir = Path(run_dir)
    job = read_json(run_dir / JOB_FILE)
    job = job if isinstance(job, dict) else {}
    end = read_json(run_dir / EXIT_FILE)
    end = end if isinstance(end, dict) else {}
    live = read_json(run_dir / LIVE_FILE)
    live = live if isinstance(live, dict) else {}
    results = read_json(run_dir / "results.json")
    results = results if isinstance(results, dict) else None
    settings = job.get("settings") or read_json(run_dir / "settings.json")
    error = None
    if end.get("state") in ENDED:
        state, error = end["state"], end.get("error")
    elif job:
        if pid_alive(job.get("pid")):
            state = "running"
        elif results and results.get("state") == "finished":
            state = "finished"
        elif job.get("cancel_requested"):
            state = "cancelled"
        elif job.get("pid") is None:
            state, error = "failed", "the pilot process did not start; see pilot.log"
        else:
            state = "failed"
            error = "the pilot process stopped without finishing (see pilot.log)"
    else:  # a run folder the CLI wrote
        progress = read_json(run_dir / "progress.json")
        progress = progress if isinstance(progress, dict) else {}
        finished = (results or {}).get("state") == "finished" or progress.get("state") == "finished"
        state = "finished" if finished else "incomplete"
    arms = job.get("arms")
    if not isinstance(arms, list):
        from_results = (results or {}).get("arms")
        arms = list(from_results) if isinstance(from_results, dict) else []
    return JobStatus(
        run_dir=run_dir,
        state=state,
        arms=_arm_states(run_dir, [str(a) for a in arms], live, state in ENDED, _train_shares(job)),
        error=error,
        pid=job.get("pid"),
        created_at=_text(job.get("created_at") or (results or {}).get("started_at")),
        ended_at=_text(end.get("ended_at") or (results or {}).get("finished_at")),
        settings=settings if isinstance(settings, dict) else {},
        results=results,
        model_message=_text(live.get("model")),
        weights=_weights(job),
        train_shares=_train_shares(job),
        data_name=_text(job.get("data_name")),
        fallback=_fallback(run_dir, results),
    )


def _fallback(run_dir: Path, results: dict[str, Any] | None) -> dict[str, Any] | None:
    """Why another model ran than the one asked for; known before the first arm finishes
    (``meta.json`` is written once the model has loaded)."""
    found = (results or {}).get("model_fallback")
    if found is None and results is None:
        meta = read_json(run_dir / "meta.json")
        found = meta.get("model_fallback") if isinstance(meta, dict) else None
    return found if isinstance(found, dict) else None


def quick_status(run_dir: str | Path, before: JobStatus) -> JobStatus:
    """A running pilot's progress from ``live.json`` (and ``exit.json``) alone.

    Why: the app polls a running pilot every second or two; :func:`job_status` reads every
    arm's file and the whole ``results.json`` each time. This reads the worker's one small
    progress file; ``before`` (a full status taken once) supplies the arms, pid and weights.
    An arm the worker reports finished shows as finished here; the page then re-reads
    everything once (its results, its error) with :func:`job_status`.
    """
    run_dir = Path(run_dir)
    end = read_json(run_dir / EXIT_FILE)
    end = end if isinstance(end, dict) else {}
    live = read_json(run_dir / LIVE_FILE)
    live = live if isinstance(live, dict) else {}
    events = live.get("arms") if isinstance(live.get("arms"), dict) else {}
    if end.get("state") in ENDED:
        state = str(end["state"])
    elif pid_alive(before.pid):
        state = "running"
    else:
        state = "stopped"  # died without a word: job_status works out what happened
    arms = []
    for old in before.arms:
        event = events.get(old.name) if isinstance(events.get(old.name), dict) else {}
        stage = event.get("stage")
        if old.state in FINISHED_ARM:
            arms.append(old)
        elif stage in FINISHED_ARM:
            message = event.get("message") if stage == "failed" else None
            arms.append(ArmState(old.name, str(stage), error=_text(message)))
        elif event and state == "running":
            arms.append(_running_arm(old.name, event, before.train_shares.get(old.name, 0.0)))
        else:
            arms.append(ArmState(old.name, "waiting" if state == "running" else "not run"))
    return replace(
        before,
        state=state,
        arms=arms,
        error=_text(end.get("error")) if end else before.error,
        model_message=_text(live.get("model")) or before.model_message,
    )


def log_tail(run_dir: str | Path, max_chars: int = 4000) -> str:
    """The end of pilot.log (where a failed run says why)."""
    path = Path(run_dir) / LOG_FILE
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - max_chars))
            return fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


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
    job["cancel_requested_at"] = _now()
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
            {"state": "cancelled", "error": None, "exit_code": -9, "ended_at": _now()},
        )
    return True


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # start_new_session: the group id is the worker's pid
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)


# -- past runs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    path: Path
    state: str
    created_at: str | None
    model: str | None
    arms_done: int
    arms_total: int
    smoke: bool
    data_file: str | None


def list_runs(root: str | Path | None = None) -> list[RunInfo]:
    """Run folders under the runs root, newest first (app- and CLI-made alike)."""
    base = runs_root(root)
    if not base.is_dir():
        return []
    found: list[RunInfo] = []
    for path in base.iterdir():
        if not path.is_dir() or path.name.startswith(("_", ".")) or not RUN_ID.match(path.name):
            continue
        if not any((path / f).exists() for f in (JOB_FILE, "results.json", "settings.json")):
            continue
        status = job_status(path)
        results = status.results or {}
        settings = status.settings
        found.append(
            RunInfo(
                run_id=path.name,
                path=path,
                state=status.state,
                created_at=status.created_at,
                model=_text(results.get("model")) or _text(settings.get("model")),
                arms_done=sum(a.state in ("ok", "failed", "skipped") for a in status.arms),
                arms_total=len(status.arms),
                smoke=bool(results.get("smoke")),
                data_file=status.data_name
                or (Path(str(settings.get("data"))).name if settings.get("data") else None),
            )
        )
    found.sort(key=lambda r: (r.created_at or "", r.run_id), reverse=True)
    return found
