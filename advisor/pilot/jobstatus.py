"""What a pilot started from the app is doing: its arms' states, read from the run folder.

Why apart from :mod:`.jobs` (starting and cancelling workers): the app reads status many
times a minute and from any process (a refreshed tab, a second server), so this is plain
reading of ``job.json``, ``live.json``, ``exit.json`` and the arms' files, plus whether
the worker's pid is still alive; nothing here starts or signals a process.
"""

from __future__ import annotations

import os
import subprocess
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from advisor.pilot.jobfiles import (
    ENDED,
    EXIT_FILE,
    JOB_FILE,
    LIVE_FILE,
    LOG_FILE,
    RUN_ID,
    runs_root,
)
from advisor.pilot.rundir import read_json

_CHILDREN: dict[int, subprocess.Popen] = {}  # started here and not yet reaped


def watch_child(proc: subprocess.Popen) -> None:
    """Keep a started worker and wait for it in a daemon thread, so it is reaped the moment
    it exits.

    Why: the app only looks at a run while a page shows it, and once ``exit.json`` exists
    it never asks about the pid again; a worker nobody waits for stays a zombie
    (``<defunct>``) for as long as the server lives.
    """

    _CHILDREN[proc.pid] = proc

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
