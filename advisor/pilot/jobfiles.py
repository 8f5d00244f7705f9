"""Where the app's runs live and what a job folder holds: names, ids, inputs copied in.

Why apart from :mod:`.jobs` (starting, watching and cancelling workers): these are the
plain rules of the run folders, used by the jobs, the worker and the app alike, with no
process handling.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

from advisor.errors import AdvisorError

RUNS_ENV = "ADVISOR_RUNS"  # where run folders go; default ./runs
# The app never lets a model repository run its own code unless the person who started it
# set this to 1: a browser tab (or a page that reached it) must not be able to opt in.
REMOTE_CODE_ENV = "ADVISOR_APP_TRUST_REMOTE_CODE"
DEFAULT_RUNS = "runs"
JOB_FILE, LIVE_FILE, EXIT_FILE, LOG_FILE = "job.json", "live.json", "exit.json", "pilot.log"
ENDED = ("finished", "failed", "cancelled")
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
LIVE_INTERVAL_S = 1.0  # the app polls every 3 s; writing more often only costs I/O


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def runs_root(root: str | Path | None = None) -> Path:
    """The folder holding run folders: ``root``, else ``$ADVISOR_RUNS``, else ./runs."""
    chosen = root if root is not None else (os.environ.get(RUNS_ENV) or DEFAULT_RUNS)
    return Path(chosen).expanduser().resolve()


# How messages name settings in the app (advisor.errors.knob): its controls' labels; a
# setting the app has no control for is left out of the hint.
APP_KNOBS: dict[str, str] = {
    "input_col": "the 'Input column' choice on the Data page",
    "output_col": "the 'Output column' choice on the Data page",
    "doc_id_col": "the 'Document id column' choice on the Data page",
    "test_size": "'Test set' on the Pilot page",
    "max_test": "'At most this many test items' on the Pilot page",
    "seed": "'Seed' on the Pilot page",
    "few_shot_k": "'Few-shot examples' on the Pilot page",
    "retrieval_k": "'Passages per RAG prompt' on the Pilot page",
    "batch_size": "'Generation batch' on the Pilot page",
    "format": "'Required output format' on the Data page",
}


def remote_code_allowed() -> bool:
    """Whether the app may offer trust_remote_code (``$ADVISOR_APP_TRUST_REMOTE_CODE=1``)."""
    return os.environ.get(REMOTE_CODE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


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


def copy_input(source: str | Path, dest_dir: Path, stem: str) -> Path:
    """Copy an input into the run folder under a generated name (the suffix is kept)."""
    src = Path(source).expanduser().resolve()
    if not src.exists():
        raise AdvisorError(f"{stem} not found: {str(src)!r}; pick the data again")
    dest_dir.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        dest = dest_dir / stem
        # links stay links (the loader reads none that leave the folder) and pipes, devices
        # and sockets stay behind: a copy must not read what the loader would refuse
        shutil.copytree(src, dest, symlinks=True, ignore=special_files)
        return dest
    suffix = src.suffix.lower() if re.fullmatch(r"\.[a-z0-9]{1,8}", src.suffix.lower()) else ""
    dest = dest_dir / f"{stem}{suffix}"
    shutil.copyfile(src, dest)
    return dest


def special_files(folder: str, names: list[str]) -> list[str]:
    """Entries of ``folder`` that are neither regular files, folders nor links."""
    import stat

    skip = []
    for name in names:
        try:
            mode = os.lstat(os.path.join(folder, name)).st_mode
        except OSError:
            skip.append(name)
            continue
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
            skip.append(name)
    return skip
