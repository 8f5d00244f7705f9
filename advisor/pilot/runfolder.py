"""Whether a pilot may write into a folder, and whether the arms it holds may be reused.

Why: a re-run into the same folder keeps the arms it finished (resume). That is honest only
when those arms were made from the same inputs with the same settings, and inputs are
compared by *content*: a data file edited in place keeps its path. So ``settings.json``
records a SHA-256 of the data file, the knowledge base, the format schema file and the
model next to the settings, and a re-run that differs in any of them is refused, naming
what changed, unless ``force`` asks to start over. And a pilot must never write over files
it did not make: a non-empty folder is used only when it is a run folder of ours.

What marks a run folder of ours: one of the files a pilot (or the app) writes, holding
what we write there: ``settings.json`` (the pilot's settings), ``results.json`` (its
``arms``), ``meta.json`` (``started_at``), ``job.json`` (the app's job with ``settings``)
or an ``arms/<arm>.json`` block (``status``). Hidden files (``.DS_Store``, our own
``.x.tmp`` files) do not make a folder non-empty.

How the model is fingerprinted: a model folder's small files (config, tokenizer, manifest;
under 64 MiB) are hashed whole, and each larger weight file by its name, size and its first
and last 4 MiB. Hashing gigabytes of weights on every run would cost more than the check
is worth, and an edited or replaced weight file changes its size or its ends in practice.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advisor.errors import AdvisorError, knob
from advisor.pilot.rundir import read_json

SMALL_FILE = 64 * 1024 * 1024  # hashed whole below this size
SAMPLE = 4 * 1024 * 1024  # bytes hashed at each end of a larger file

# Settings that change where a run reports or how it reaches an endpoint, not its numbers,
# and the input paths, which are compared by content (``inputs``) instead.
RESUME_FREE = (
    "data_curve",  # the data curve and the seed repeats add evidence beside the arms
    "seeds",
    "seed_split",
    "budget_s",  # what a budget changes (test size, epochs, arms) is compared on its own
    "arms",
    "out",
    "mlflow",
    "api_key_env",
    "api_concurrency",
    "api_timeout_s",
    "data",
    "kb",
    "max_rows",
    "max_documents",
    "max_bytes",
)
# What starting over removes: every file a pilot writes, never anything else. settings.json
# is not removed but replaced, first by a marker that matches no run (so a start-over
# killed half-way neither looks foreign nor lets a leftover arm be resumed), then by the
# new run's settings.
PILOT_FILES = (
    "arms",
    "adapters",
    "results.json",
    "predictions.jsonl",
    "retrieval.json",
    "split.json",
    "meta.json",
    "progress.json",
)
STARTING_OVER = "starting_over"  # the marker's key in settings.json
INPUT_LABELS = {
    "data": "the data file",
    "kb": "the knowledge base",
    "format": "the format schema file",
    "model": "the model",
}


# -- fingerprints ----------------------------------------------------------------------------


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _file_digest(path: Path, digest: Any) -> None:
    """Feed a file into ``digest``: whole when small, else its size and both ends."""
    size = path.stat().st_size
    digest.update(f"{size}\x00".encode())
    with open(path, "rb") as fh:
        if size <= SMALL_FILE:
            while block := fh.read(1 << 20):
                digest.update(block)
            return
        digest.update(fh.read(SAMPLE))
        fh.seek(size - SAMPLE)
        digest.update(fh.read(SAMPLE))


def folder_fingerprint(folder: str | Path) -> str:
    """A model folder's fingerprint (see the module docstring for what is hashed)."""
    root = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if any(part.startswith(".") for part in rel.split("/")):
            continue  # hub caches keep lock and temp files there
        digest.update(f"{rel}\x00".encode())
        _file_digest(path, digest)
    return digest.hexdigest()


def documents_fingerprint(documents: Iterable[Any]) -> str:
    """The knowledge base as read (id and text of every document), whatever its layout."""
    digest = hashlib.sha256()
    for doc in sorted(documents, key=lambda d: d.id):
        digest.update(json.dumps([doc.id, doc.text], ensure_ascii=False).encode())
    return digest.hexdigest()


def format_file(fmt: str | None) -> Path | None:
    """The JSON Schema file ``--format`` names, if it names one."""
    if fmt and fmt.strip().lower().endswith(".json") and not fmt.strip().startswith("{"):
        return Path(fmt.strip()).expanduser()
    return None


def input_fingerprints(settings: Any, documents: list[Any]) -> dict[str, str | None]:
    """SHA-256 of the data file, the knowledge base and the format schema file."""
    schema = format_file(settings.format)
    return {
        "data": sha256_file(Path(settings.data).expanduser()),
        "kb": documents_fingerprint(documents) if settings.kb else None,
        "format": sha256_file(schema) if schema is not None else None,
    }


def model_fingerprint(ref: str) -> str:
    """What identifies the weights ``ref`` loads on this machine (no download, no loading).

    The built-in model is fixed by the code and the data (hashed apart). A folder or a
    ``.gguf`` file is hashed; a hub id by the folder it resolves to in the project cache or
    the Hugging Face cache; one found in neither is named by its id alone.
    """
    from advisor.models.loading import BUILTIN_MODEL

    if ref == BUILTIN_MODEL:
        return "builtin:tiny"
    path = Path(ref).expanduser()
    if path.is_file():
        digest = hashlib.sha256()
        _file_digest(path, digest)
        return digest.hexdigest()
    if path.is_dir():
        return folder_fingerprint(path)
    from advisor.models.cache import find_cached
    from advisor.models.sources import hf_cache_folder

    cached = find_cached(ref)
    folder = cached.path if cached is not None else hf_cache_folder(ref)
    return folder_fingerprint(folder) if folder else f"hub id {ref} (not on this machine)"


# -- the folder ------------------------------------------------------------------------------


def _entries(run_dir: Path) -> list[Path]:
    return [p for p in run_dir.iterdir() if not p.name.startswith(".")]


def _is_dict_with(path: Path, key: str) -> bool:
    data = read_json(path)
    return isinstance(data, dict) and key in data


def finished_arms(run_dir: Path) -> list[str]:
    """Arms whose block says they finished: what a resume would reuse."""
    folder = run_dir / "arms"
    if not folder.is_dir():
        return []
    done = []
    for path in sorted(folder.glob("*.json")):
        block = read_json(path)
        if isinstance(block, dict) and block.get("status") == "ok":
            done.append(path.stem)
    return done


def is_run_folder(run_dir: Path) -> bool:
    """True when a file of ours marks the folder (module docstring)."""
    arms = run_dir / "arms"
    return (
        _is_dict_with(run_dir / "settings.json", "data")
        or _is_dict_with(run_dir / "results.json", "arms")
        or _is_dict_with(run_dir / "meta.json", "started_at")
        or _is_dict_with(run_dir / "job.json", "settings")
        or (arms.is_dir() and any(_is_dict_with(p, "status") for p in arms.glob("*.json")))
    )


@dataclass
class ResumePlan:
    """What the pilot does with its ``--out`` folder once the run is accepted."""

    run_dir: Path
    restart: bool = False  # remove the pilot's files first (force, or nothing to keep)
    finished: list[str] = field(default_factory=list)  # arms a resume keeps
    stored: dict[str, Any] = field(default_factory=dict)  # the folder's settings.json
    why_restart: str = ""


def _force_hint() -> str:
    force = knob("force")
    return f", or pass {force} to start over in it" if force else ""


def check_out_folder(out: str) -> Path:
    """The run folder path, refusing an empty name or a file."""
    if not isinstance(out, str) or not out.strip():
        raise AdvisorError(
            f"the run folder is empty: give {knob('out') or 'out'} a folder name, e.g. runs/pilot1"
        )
    run_dir = Path(out).expanduser()
    if run_dir.exists() and not run_dir.is_dir():
        raise AdvisorError(f"{run_dir} is a file, not a folder: give the run a folder of its own")
    return run_dir


def plan_resume(
    out: str, settings: dict[str, Any], inputs: dict[str, Any], force: bool = False
) -> ResumePlan:
    """Decide, before anything is written, whether and how the pilot may use ``out``.

    ``settings`` is ``PilotSettings.to_dict()``; ``inputs`` the fingerprints known so far
    (the model's is checked later with :func:`check_model`). Raises AdvisorError naming
    what is wrong and what to do.
    """
    run_dir = check_out_folder(out)
    plan = ResumePlan(run_dir)
    if not run_dir.exists():
        return plan
    try:
        if not _entries(run_dir):
            return plan
    except OSError as exc:
        raise AdvisorError(f"cannot read the run folder {run_dir}: {exc.strerror}") from None
    if not is_run_folder(run_dir):
        raise AdvisorError(
            f"{run_dir} is not empty and is not a pilot run folder (no settings.json, "
            "results.json or meta.json of ours): give a new or empty folder, so that no file "
            "of yours is overwritten"
        )
    plan.finished = finished_arms(run_dir)
    old = read_json(run_dir / "settings.json")
    has_settings = (run_dir / "settings.json").exists()
    if not isinstance(old, dict):
        if not has_settings and not (run_dir / "arms").exists():
            return plan  # an app run folder before its pilot started: nothing to reuse
        what = "is unreadable" if has_settings else "is missing"
        return _restart_or_refuse(
            plan,
            force,
            f"its settings.json {what}, so nothing tells what its arms were made with",
        )
    plan.stored = old
    if old.get(STARTING_OVER):
        return _restart_or_refuse(plan, force, "an earlier start-over was interrupted")
    changes = _changed_settings(old, settings) + _changed_inputs(old.get("inputs"), inputs)
    if force:
        return _restart(plan, "--force")
    if changes:
        return _restart_or_refuse(plan, force, "; ".join(changes))
    return plan


def check_model(plan: ResumePlan, model: str | None, force: bool = False) -> None:
    """The model part of the resume check, once the model is resolved (it may be fetched)."""
    if plan.restart or not plan.stored:
        return
    old = (plan.stored.get("inputs") or {}).get("model")
    if old != model:
        why = f"the model changed (was {_short(old)}, now {_short(model)})"
        _restart_or_refuse(plan, force, why)


def _short(value: Any) -> str:
    if value is None:
        return "none"
    text = str(value)
    return text[:12] if len(text) == 64 and all(c in "0123456789abcdef" for c in text) else text


def _restart(plan: ResumePlan, why: str) -> ResumePlan:
    plan.restart, plan.why_restart = True, why
    return plan


def _restart_or_refuse(plan: ResumePlan, force: bool, why: str) -> ResumePlan:
    """Nothing finished to lose (or ``force``): start over. Else refuse, saying why."""
    if force or not plan.finished:
        return _restart(plan, why)
    arms = ", ".join(plan.finished)
    raise AdvisorError(
        f"{plan.run_dir} holds finished arms ({arms}) of a pilot that cannot be resumed: "
        f"{why}; use a new run folder{_force_hint()}"
    )


def _changed_settings(old: dict[str, Any], mine: dict[str, Any]) -> list[str]:
    from dataclasses import MISSING

    from advisor.pilot.context import PilotSettings

    fields = PilotSettings.__dataclass_fields__
    differs = []
    for key, value in mine.items():
        if key in RESUME_FREE or key == "inputs":
            continue
        if key == "format" and format_file(value) and format_file(old.get(key)):
            continue  # a schema file: compared by content (inputs)
        if key in old:
            before = old[key]
        elif key in fields and fields[key].default is not MISSING:
            before = fields[key].default  # a setting added since: the run had its default
        else:
            continue
        if before != value:
            differs.append(key)
    return [f"other settings ({', '.join(sorted(differs))})"] if differs else []


def _changed_inputs(old: Any, new: dict[str, Any]) -> list[str]:
    if not isinstance(old, dict):
        return [
            "it records no content hashes of its inputs (made by an older advisor), so "
            "they cannot be checked"
        ]
    changed = []
    for key, value in new.items():
        if old.get(key) != value:
            changed.append(f"{INPUT_LABELS.get(key, key)} changed")
    return changed


def start_over(run_dir: Path) -> None:
    """Remove what a pilot wrote in ``run_dir`` (PILOT_FILES), nothing else; settings.json
    becomes a marker that no run resumes from until the new settings replace it."""
    from advisor.pilot.rundir import atomic_write_json

    try:
        atomic_write_json(
            run_dir / "settings.json", {"data": None, "out": str(run_dir), STARTING_OVER: True}
        )
    except OSError as exc:
        raise AdvisorError(f"cannot start over in {run_dir}: {exc.strerror}") from None
    for name in PILOT_FILES:
        path = run_dir / name
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
        except OSError as exc:
            raise AdvisorError(f"cannot start over in {run_dir}: {path}: {exc.strerror}") from None
