"""Keep what the user uploads, under names we choose, and check it before a pilot.

Why content-addressed folders (``RUNS/_uploads/<sha256 prefix>/examples.csv``): an upload
must survive reruns, page switches and browser refreshes without being written twice, and
its file name must never come from the browser (no ``../``, no odd characters on disk).
Only the suffix is kept, and only from an allow-list, because the loaders read the format
from it. A knowledge base given as several files is merged into one generated
``kb.jsonl`` (id = file name without extension, as for a folder of ``.txt``/``.md``
files); the ids live inside the JSON, never in a path.

No Streamlit here: the pages call these functions and show the ``AdvisorError`` text.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from advisor.errors import DataError

# .zip: a Hugging Face datasets folder (save_to_disk) zipped, since a browser sends files
EXAMPLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json", ".parquet", ".zip")
KB_TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json")
KB_DOC_SUFFIXES = (".txt", ".md")
KB_SUFFIXES = KB_TABLE_SUFFIXES + KB_DOC_SUFFIXES
UPLOADS_DIR = "_uploads"
MAX_KB_FILES = 2_000
MAX_ZIP_MEMBERS = 1_000
MAX_ROWS = 100_000  # rows per examples file, as the loaders read it (shown by the uploader)
SPREADSHEET_ADVICE = (
    "open it in Excel (or LibreOffice, Numbers) and save it as 'CSV UTF-8 (comma "
    "delimited)', then upload the .csv"
)
# What a file really is, from its first bytes: the extension may say .csv all the same.
_SIGNATURES = (
    (b"PK\x03\x04", "a zip archive (an Excel .xlsx workbook is one)"),
    (b"\xd0\xcf\x11\xe0", "an old-style Excel (.xls) workbook"),
    (b"%PDF", "a PDF document"),
)
_SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".numbers")


def sniff_binary(name: str, content: bytes) -> None:
    """Refuse a spreadsheet, archive or PDF by its content, saying how to export a CSV."""
    for magic, what in _SIGNATURES:
        if content.startswith(magic):
            raise DataError(f"{name!r} is {what}, not a text table: {SPREADSHEET_ADVICE}")


def check_upload(name: str, size: int, allowed: tuple[str, ...], what: str, limit: int) -> str:
    """The file's lower-case suffix, or a DataError that says what is accepted."""
    suffix = Path(name or "").suffix.lower()
    if suffix not in allowed:
        advice = f"; {SPREADSHEET_ADVICE}" if suffix in _SPREADSHEET_SUFFIXES else ""
        raise DataError(
            f"{name!r} is not a supported {what}: use {', '.join(allowed)} "
            f"(the file type is read from the extension){advice}"
        )
    if size > limit:
        raise DataError(
            f"{name!r} is {size / 1e6:.1f} MB, over the upload limit of {limit / 1e6:.0f} MB; "
            "upload a smaller sample (a pilot needs hundreds of examples, not millions)"
        )
    if size == 0:
        raise DataError(f"{name!r} is empty; it needs a header line and at least one row")
    return suffix


def _folder(root: Path, *parts: bytes) -> Path:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    folder = root / UPLOADS_DIR / digest.hexdigest()[:24]
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _write(path: Path, content: bytes) -> Path:
    if not path.exists() or path.stat().st_size != len(content):
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(content)
        tmp.replace(path)
    return path


def save_examples(name: str, content: bytes, root: Path, limit: int) -> Path:
    """Store an uploaded examples file; returns its generated path.

    A ``.zip`` must hold a Hugging Face datasets folder (``save_to_disk``); it is unpacked
    next to the stored zip and the dataset folder inside is returned.

    Any other file is read as a table before it is kept: one that cannot be read (a spreadsheet,
    broken quoting, bad JSON, not UTF-8) is deleted again and refused with a message that
    names the uploaded file, never our stored copy.
    """
    suffix = check_upload(name, len(content), EXAMPLE_SUFFIXES, "examples file", limit)
    if suffix != ".zip":
        sniff_binary(name, content)
    path = _write(_folder(root, b"examples", content) / f"examples{suffix}", content)
    try:
        if suffix == ".zip":
            return _unzip_dataset(path, name, limit)
        read_columns(path)
    except DataError as exc:
        if suffix == ".zip":  # its folder is this upload's alone (named by its content)
            _remove_tree(path.parent)
        discard(path)
        raise DataError(shown_as(str(exc), {path: name})) from None
    return path


def _remove_tree(folder: Path) -> None:
    import shutil

    if folder.parent.name == UPLOADS_DIR:
        shutil.rmtree(folder, ignore_errors=True)


def discard(path: Path) -> None:
    """Delete a refused upload (and its folder, once empty): nothing rejected is kept."""
    path = Path(path)
    if path.is_file():
        path.unlink(missing_ok=True)
    folder = path.parent
    if folder.parent.name == UPLOADS_DIR:
        for leftover in folder.glob(".*.tmp"):
            leftover.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # not empty: another upload's file lives there
            folder.rmdir()


def shown_as(message: str, names: dict[Path, str]) -> str:
    """A message about stored copies, naming the files the user uploaded instead."""
    for path, name in names.items():
        for form in (str(path), str(Path(path).resolve())):
            message = message.replace(repr(form), repr(name)).replace(form, repr(name))
    return message


def _unzip_dataset(path: Path, name: str, limit: int) -> Path:
    """The datasets folder inside an uploaded zip; member names never leave ``dataset/``."""
    import shutil
    import zipfile
    from pathlib import PurePosixPath

    target = path.parent / "dataset"
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            if len(members) > MAX_ZIP_MEMBERS:
                raise DataError(f"{name!r} holds {len(members):,} files; a dataset needs a few")
            if sum(m.file_size for m in members) > 4 * limit:
                raise DataError(f"{name!r} unpacks to more than {4 * limit / 1e6:.0f} MB")
            if not target.is_dir():
                tmp = path.parent / ".dataset.tmp"
                shutil.rmtree(tmp, ignore_errors=True)
                tmp.mkdir(parents=True)
                for member in members:
                    parts = PurePosixPath(member.filename.replace("\\", "/")).parts
                    if not parts or member.filename.startswith("/") or ".." in parts:
                        raise DataError(f"{name!r} holds an unsafe path {member.filename!r}")
                    if parts[0] == "__MACOSX":
                        continue
                    dest = tmp.joinpath(*parts)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    dest.write_bytes(archive.read(member))
                tmp.replace(target)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{name!r} is not a readable zip file ({exc})") from None
    markers = ("dataset_dict.json", "state.json")
    found = sorted((p.parent for m in markers for p in target.rglob(m)), key=lambda p: len(p.parts))
    if not found:
        raise DataError(
            f"{name!r} holds no Hugging Face datasets folder (no state.json or "
            "dataset_dict.json): zip the folder written by save_to_disk, or upload a "
            ".jsonl/.csv/.parquet file"
        )
    return found[0]


def _doc_id(name: str) -> str:
    return Path(name.replace("\\", "/")).stem.strip()


def save_knowledge_base(files: list[tuple[str, bytes]], root: Path, limit: int) -> Path:
    """Store an uploaded knowledge base (one table file, or several files) as one file.

    One CSV/TSV/JSONL/JSON file is kept as it is. Several files, or ``.txt``/``.md``
    documents, become one ``kb.jsonl`` with ``id`` and ``text``.
    """
    from advisor.data.load import load_knowledge_base

    if not files:
        raise DataError("no knowledge-base file given")
    if len(files) > MAX_KB_FILES:
        raise DataError(f"{len(files):,} knowledge-base files: upload at most {MAX_KB_FILES:,}")
    total = sum(len(c) for _, c in files)
    if total > limit:
        raise DataError(
            f"the knowledge-base files add up to {total / 1e6:.1f} MB, over the upload "
            f"limit of {limit / 1e6:.0f} MB; upload fewer or smaller documents"
        )
    what = "knowledge-base file"
    suffixes = [check_upload(n, len(c), KB_SUFFIXES, what, limit) for n, c in files]
    for name, content in files:
        sniff_binary(name, content)
    if len(files) == 1 and suffixes[0] in KB_TABLE_SUFFIXES:
        name, content = files[0]
        path = _write(_folder(root, b"kb", content) / f"kb{suffixes[0]}", content)
        try:
            load_knowledge_base(path)
        except DataError as exc:
            discard(path)
            raise DataError(shown_as(str(exc), {path: name})) from None
        return path
    folder = _folder(root, b"kb-many", *(p for n, c in files for p in (n.encode(), c)))
    try:
        return _merge_kb(files, suffixes, folder)
    except DataError:
        for leftover in folder.iterdir():
            discard(leftover)
        discard(folder / "kb.jsonl")
        raise


def _merge_kb(files: list[tuple[str, bytes]], suffixes: list[str], folder: Path) -> Path:
    from advisor.data.load import load_knowledge_base

    documents: list[dict[str, str]] = []
    for index, ((name, content), suffix) in enumerate(zip(files, suffixes, strict=True)):
        if suffix in KB_DOC_SUFFIXES:
            try:
                text = content.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"{name!r} is not valid UTF-8 (byte offset {exc.start}); re-save it as UTF-8"
                ) from None
            documents.append({"id": _doc_id(name), "text": text, "source": name})
            continue
        part = _write(folder / f"part{index:04d}{suffix}", content)
        try:
            loaded = load_knowledge_base(part)
        except DataError as exc:  # name the file the user knows, not our generated one
            raise DataError(shown_as(str(exc), {part: name})) from None
        documents.extend({"id": d.id, "text": d.text, "source": name} for d in loaded)
    seen: dict[str, str] = {}
    for doc in documents:
        if doc["id"] in seen:
            raise DataError(
                f"two knowledge-base documents have the id {doc['id']!r} ({seen[doc['id']]!r} "
                f"and {doc['source']!r}); a document's id is its file name without extension "
                "or its 'id' column: rename one"
            )
        seen[doc["id"]] = doc["source"]
    lines = "".join(
        json.dumps({"id": d["id"], "text": d["text"]}, ensure_ascii=False) + "\n" for d in documents
    )
    return _write(folder / "kb.jsonl", lines.encode("utf-8"))


def read_columns(path: str | Path) -> list[str]:
    """Column names of an examples file (for mapping); DataError if it cannot be read."""
    return detect_examples(path)[0]


def detect_examples(path: str | Path) -> tuple[list[str], str]:
    """The file's columns and the format they mark (``advisor.data.formats.FORMATS`` key).

    A chat, Alpaca, ShareGPT or TRL file needs no column mapping: the page says what it
    was read as instead.
    """
    from advisor.data.files import check_path, read_table
    from advisor.data.formats import detect_format
    from advisor.data.load import DEFAULT_MAX_BYTES

    what = "examples file"
    table = read_table(check_path(path, what), DEFAULT_MAX_BYTES, MAX_ROWS, what)
    return list(table.columns), detect_format(table.columns)


@dataclass
class DataCheck:
    """Everything the Data page shows about the chosen files, errors included."""

    examples: list = field(default_factory=list)
    documents: list = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    format_message: str = ""  # "read as OpenAI chat JSONL: 412 conversations, ..."
    task: str | None = None  # the system prompt every conversation shares, if any
    leakage: str | None = None  # one-line summary
    leaked: int = 0
    n_train: int = 0
    n_test: int = 0
    removed_duplicates: int = 0  # exact repeats dropped on loading

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.examples)


def check_data(
    examples_path: str | Path,
    kb_path: str | Path | None,
    input_col: str = "input",
    output_col: str = "output",
    doc_id_col: str | None = "doc_id",
    test_size: float = 0.2,
    seed: int = 0,
) -> DataCheck:
    """Load and check examples and knowledge base the way the pilot will.

    Each problem lands in ``errors`` (its message says how to fix it, naming the app's
    controls) instead of stopping at the first, so a user sees every fix at once. Leakage
    uses exact matches and the fast hashing embedder; the pilot repeats it with the real
    embedder.
    """
    from advisor.errors import knob_names
    from advisor.pilot.jobs import APP_KNOBS

    with knob_names(APP_KNOBS):
        return _check_data(
            examples_path, kb_path, input_col, output_col, doc_id_col, test_size, seed
        )


def _check_data(
    examples_path: str | Path,
    kb_path: str | Path | None,
    input_col: str,
    output_col: str,
    doc_id_col: str | None,
    test_size: float,
    seed: int,
) -> DataCheck:
    from advisor.data.load import check_doc_ids, find_leakage, load_examples, load_knowledge_base
    from advisor.errors import AdvisorError
    from advisor.retrieval.embeddings import HashingEmbedder

    out = DataCheck()
    try:
        exset = load_examples(examples_path, input_col, output_col, doc_id_col or None)
        out.examples, out.warnings = list(exset.examples), list(exset.warnings)
        out.format_message, out.task = exset.message, exset.task
        out.removed_duplicates = exset.removed_duplicates
    except AdvisorError as exc:
        out.errors.append(str(exc))
    if kb_path:
        try:
            kb = load_knowledge_base(kb_path)
            out.documents = list(kb)
            out.warnings.extend(kb.warnings)
        except AdvisorError as exc:
            out.errors.append(f"knowledge base: {exc}")
    if out.examples and out.documents:
        try:
            check_doc_ids(out.examples, out.documents)
        except AdvisorError as exc:
            out.errors.append(str(exc))
    if out.examples:
        from advisor.data.load import split_examples

        try:
            split = split_examples(out.examples, test_size=test_size, seed=seed)
            out.n_train, out.n_test = len(split.train), len(split.test)
            report = find_leakage(split.train, split.test, embedder=HashingEmbedder())
            out.leakage, out.leaked = report.summary(), report.exact + report.near
        except AdvisorError as exc:
            removed = f" ({out.removed_duplicates} duplicate rows were removed on loading.)"
            out.errors.append(str(exc) + (removed if out.removed_duplicates else ""))
    return out
