"""The background pilot process started by :func:`advisor.pilot.jobs.start_pilot`.

Why its own module: the app imports :mod:`advisor.pilot.jobs` to start, watch and cancel pilots;
only the worker process needs the code that runs one, turns SIGTERM into a clean cancel and
keeps ``live.json`` current. ``python -m advisor.pilot.worker RUN_DIR``.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import time
from pathlib import Path
from typing import Any

from advisor.errors import AdvisorError
from advisor.pilot.context import PilotSettings
from advisor.pilot.jobs import EXIT_FILE, JOB_FILE, LIVE_FILE, LIVE_INTERVAL_S, _now
from advisor.pilot.rundir import atomic_write_json, read_json


class Cancelled(BaseException):
    """Raised in the worker on SIGTERM; BaseException so an arm's ``except Exception``
    (one failing arm must not stop the pilot) does not swallow the cancel."""


class LiveWriter:
    """Progress callback for ``run_pilot`` that keeps ``live.json`` current (throttled)."""

    def __init__(self, run_dir: Path, interval_s: float = LIVE_INTERVAL_S) -> None:
        self.path = Path(run_dir) / LIVE_FILE
        self.interval_s = interval_s
        self.state: dict[str, Any] = {"arms": {}, "at": _now()}
        self._last = 0.0

    def __call__(self, event: dict[str, Any]) -> None:
        arm = event.get("arm")
        if event.get("stage") == "model":  # the model is being fetched or converted
            self.state["model"], self.state["at"] = str(event.get("message") or ""), _now()
            self.flush()
            return
        if not arm:
            return
        keep = {k: v for k, v in event.items() if isinstance(v, str | int | float | type(None))}
        self.state["arms"][str(arm)] = keep
        self.state["arm"], self.state["at"] = arm, _now()
        stage_change = event.get("stage") not in ("generate", "train")
        if stage_change or time.monotonic() - self._last >= self.interval_s:
            self.flush()

    def flush(self) -> None:
        self._last = time.monotonic()
        with contextlib.suppress(OSError):  # progress is a convenience: never stop the pilot
            atomic_write_json(self.path, self.state)


def _on_sigterm(signum: int, frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one cancel is enough
    raise Cancelled()


def run_worker(run_dir: str | Path) -> int:
    """The background process: run the pilot of ``RUN_DIR/job.json``, record how it ended."""
    run_dir = Path(run_dir)
    signal.signal(signal.SIGTERM, _on_sigterm)
    state, error, code = "failed", None, 1
    live = LiveWriter(run_dir)
    try:
        job = read_json(run_dir / JOB_FILE)
        if not isinstance(job, dict) or not isinstance(job.get("settings"), dict):
            raise AdvisorError(f"{run_dir / JOB_FILE} is missing or unreadable")
        from advisor.pilot.runner import run_pilot

        run_pilot(PilotSettings.from_dict(job["settings"]), progress=live)
        state, code = "finished", 0
    except Cancelled:
        state, code = "cancelled", 143
        print("pilot cancelled", flush=True)
    except AdvisorError as exc:
        state, error, code = "failed", str(exc), 2
        print(f"advisor: error: {exc}", flush=True)
    except Exception as exc:  # a bug: keep the traceback in the log, a line in the app
        import traceback

        traceback.print_exc()
        error = f"{type(exc).__name__}: {exc}"
    finally:
        live.flush()
        atomic_write_json(
            run_dir / EXIT_FILE,
            {"state": state, "error": error, "exit_code": code, "ended_at": _now()},
        )
    return code


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python -m advisor.pilot.worker RUN_DIR", file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(run_worker(sys.argv[1]))
