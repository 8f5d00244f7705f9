"""Pilot data: examples (input -> output pairs) and the knowledge base, checked on load.

Why so strict: a pilot's numbers are only as good as its data, and a user who gets a clear
"line 14: empty 'output'" fixes it in a minute, while a silently dropped row or a NaN read
as the text "nan" skews every arm. Every problem a user can fix is a ``DataError`` that
names the file, the line(s) and the fix; soft problems (duplicates, conflicting labels,
empty documents) become warnings that the pilot records in ``results.json``.

The types live in ``advisor.data.types``, splits in ``advisor.data.splits`` and leakage
checks in ``advisor.data.leakage``; ``advisor.data`` is the one place to import them from.
"""

from __future__ import annotations

import difflib
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.data.files import (
    Row,
    Table,
    as_text,
    check_path,
    listing,
    raise_hint,
    read_table,
    read_text,
    table_from_dataframe,
)
from advisor.data.formats import RECOGNISED, convert
from advisor.data.leakage import LeakageReport, LeakPair, find_leakage, normalize_text
from advisor.data.splits import split_examples
from advisor.data.types import Document, Example, ExampleSet, KnowledgeBase, Split
from advisor.errors import DataError, knob

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Document",
    "Example",
    "ExampleSet",
    "KnowledgeBase",
    "LeakPair",
    "LeakageReport",
    "Split",
    "check_doc_ids",
    "find_leakage",
    "load_examples",
    "load_knowledge_base",
    "normalize_text",
    "split_examples",
]

DEFAULT_MAX_BYTES = 50_000_000
# Text a spreadsheet or pandas writes for an empty cell: kept (a label may really be "None")
# but warned about, since a model scored against "NaN" measures nothing.
MISSING_PLACEHOLDERS = frozenset({"nan", "none", "null", "n/a", "na", "#n/a", "<na>"})
DOC_SUFFIXES = (".txt", ".md")


def load_examples(
    source: str | Path | pd.DataFrame,
    input_col: str = "input",
    output_col: str = "output",
    doc_id_col: str | None = "doc_id",
    id_col: str | None = "id",
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_rows: int = 100_000,
) -> ExampleSet:
    """Examples from a CSV/TSV/JSONL/JSON/Parquet file, a Hugging Face ``datasets`` folder
    or a DataFrame, validated and de-duplicated.

    Input/output columns, OpenAI chat, Alpaca, ShareGPT and TRL prompt-completion rows are
    recognised from the columns (:mod:`advisor.data.formats`); ``ExampleSet.message`` says
    which was read. ``doc_id`` and ``id`` columns are optional. Exact duplicates (same
    normalised input and output) are dropped with a warning; one input with different
    outputs is kept, warned about, and later kept in one split by ``split_examples``.
    """
    if input_col == output_col:
        raise DataError(f"input and output must be different columns (both are {input_col!r})")
    if isinstance(source, str | Path):
        path = check_path(source, "examples file")
        table, name = read_table(path, max_bytes, max_rows, "examples file"), str(path)
    else:
        table, name = table_from_dataframe(source, max_rows), "the DataFrame"
    read = convert(table, name, input_col, output_col)
    table = read.table
    maps = [k for k in (knob("input_col"), knob("output_col")) if k]
    _require(
        table,
        name,
        (input_col, output_col),
        (f"or map it with {' / '.join(maps)}" if maps else "in the file")
        + f", or use a recognised format: {RECOGNISED}",
    )

    def text(row: Row, column: str | None) -> str | None:
        """The cell as text, None when absent or blank."""
        value = as_text(row.values.get(column), column, row.where, name) if column else None
        return value if value is None or value.strip() else None

    empty: dict[str, list[str]] = {input_col: [], output_col: []}
    has_ids = id_col is not None and id_col in table.columns
    examples: list[Example] = []
    for number, row in enumerate(table.rows, start=1):
        pair = text(row, input_col), text(row, output_col)
        for column, value in zip((input_col, output_col), pair, strict=True):
            if value is None:
                empty[column].append(row.where)
        ex_id = (text(row, id_col) or "").strip() if has_ids else f"ex{number}"
        doc_id = text(row, doc_id_col)
        examples.append(
            Example(
                ex_id,
                pair[0] or "",
                pair[1] or "",
                doc_id and doc_id.strip(),
                row.line,
                read.turns[number - 1],
                read.systems[number - 1],
            )
        )
    for column, wheres in empty.items():
        if wheres:
            raise DataError(
                f"{name}: empty {column!r} on {listing(wheres)}. Every example needs both an "
                "input and an output: fill them in or delete those rows."
            )
    wheres = [row.where for row in table.rows]
    if has_ids:
        blank_fix = f"give every row an id, or drop the {id_col!r} column to number rows"
        _check_ids([ex.id for ex in examples], wheres, name, str(id_col), blank_fix)
    exset = _deduplicate(examples, wheres)
    placeholders = [
        f"{where} ({column} {value!r})"
        for ex, where in zip(examples, wheres, strict=True)
        for column, value in ((input_col, ex.input), (output_col, ex.output))
        if value.strip().lower() in MISSING_PLACEHOLDERS
    ]
    if placeholders:
        exset.warnings.append(
            f"{len(placeholders)} cell(s) hold a placeholder for a missing value, kept as "
            f"that text: {listing(placeholders)}. A spreadsheet may have written an empty "
            "cell this way: fill them in or delete those rows."
        )
    return ExampleSet(
        exset.examples,
        read.warnings + exset.warnings,
        read.format,
        read.message(len(exset.examples)),
        read.task,
        removed_duplicates=exset.removed_duplicates,
    )


def _require(table: Table, name: str, columns: tuple[str, ...], how: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if not missing:
        return
    found = ", ".join(repr(c) for c in table.columns) or "none"
    hints = []
    for column in missing:
        close = difflib.get_close_matches(column, table.columns, n=1, cutoff=0.6)
        close = close or [c for c in table.columns if c.lower() == column.lower()]
        guess = f" (did you mean {close[0]!r}?)" if close else ""
        hints.append(f"{column!r}{guess}")
    raise DataError(
        f"{name}: missing column {' and '.join(hints)}. Columns found: {found}. Rename the "
        f"column {how}."
    )


def _check_ids(
    ids: list[str], wheres: list[str], name: str, column: str, fix: str, twice_fix: str = ""
) -> None:
    """Ids must be present and unique: predictions, splits and doc_ids refer to them."""
    blank = [w for i, w in zip(ids, wheres, strict=True) if not i]
    if blank:
        raise DataError(f"{name}: empty {column!r} on {listing(blank)}; {fix}")
    first: dict[str, str] = {}
    twice: list[str] = []
    for ident, where in zip(ids, wheres, strict=True):
        if ident in first:
            twice.append(f"{ident!r} on {first[ident]} and {where}")
        first.setdefault(ident, where)
    if twice:
        raise DataError(f"{name}: ids must be unique, but {listing(twice)}.{twice_fix}")


def _deduplicate(examples: list[Example], wheres: list[str]) -> ExampleSet:
    kept: list[Example] = []
    seen: dict[tuple[str, str], str] = {}
    dropped: list[str] = []
    outputs: dict[str, dict[str, str]] = {}  # normalised input -> normalised output -> where
    for ex, where in zip(examples, wheres, strict=True):
        key = (normalize_text(ex.input), normalize_text(ex.output))
        if key in seen:
            dropped.append(f"{where} (same as {seen[key]})")
            continue
        seen[key] = where
        kept.append(ex)
        outputs.setdefault(key[0], {})[key[1]] = where
    warnings = []
    if dropped:
        warnings.append(
            f"removed {len(dropped)} duplicate example(s) with the same input and output as "
            f"an earlier row: {listing(dropped)}"
        )
    conflicts = [" and ".join(w.values()) for w in outputs.values() if len(w) > 1]
    if conflicts:
        warnings.append(
            f"{len(conflicts)} input(s) appear with different outputs: {listing(conflicts)}. "
            "Only one answer can match exactly; check these labels (they are kept in the "
            "same split)."
        )
    return ExampleSet(kept, warnings, removed_duplicates=len(dropped))


def load_knowledge_base(
    source: str | Path,
    max_bytes: int = DEFAULT_MAX_BYTES,
    id_col: str = "id",
    text_col: str = "text",
    max_documents: int = 100_000,
) -> KnowledgeBase:
    """Documents from a CSV/TSV/JSONL/JSON file with id and text, or a folder of .txt/.md.

    A folder is read recursively (documentation trees nest), skipping hidden files and
    folders, following no symlinked folders, and reading only regular files whose real
    path stays inside the folder (what is skipped is named in the warnings); the id is the
    file name without extension, so two files with the same name in different sub-folders
    are an error. Documents with
    empty text are skipped with a warning; duplicate ids are an error.
    """
    path = check_path(source, "knowledge base")
    if path.is_dir():
        documents, warnings = _read_folder(path, max_bytes, max_documents)
    else:
        table = read_table(path, max_bytes, max_documents, "knowledge-base file", "max_documents")
        name = str(path)
        _require(table, name, (id_col, text_col), "(a knowledge base needs 'id' and 'text')")
        documents, warnings = [], []
        for row in table.rows:
            doc_id = as_text(row.values.get(id_col), id_col, row.where, name) or ""
            text = as_text(row.values.get(text_col), text_col, row.where, name) or ""
            where = f"{name}:{row.line}" if row.line is not None else f"{name} {row.where}"
            documents.append(Document(doc_id.strip(), text, where))
        wheres = [r.where for r in table.rows]
        _check_ids([d.id for d in documents], wheres, name, id_col, "give every document an id")
    empty = [d for d in documents if not d.text.strip()]
    if empty:
        warnings.append(
            f"skipped {len(empty)} knowledge-base document(s) with no text: "
            f"{listing([d.source for d in empty])}"
        )
    kept = [d for d in documents if d.text.strip()]
    if not kept:
        raise DataError(f"{path}: every knowledge-base document is empty; add some text")
    return KnowledgeBase(kept, warnings)


def _read_folder(
    folder: Path, max_bytes: int, max_documents: int
) -> tuple[list[Document], list[str]]:
    files: list[Path] = []
    ignored: list[str] = []
    skipped: list[str] = []
    base = folder.resolve()
    for root, dirs, names in os.walk(folder):  # followlinks=False: no symlink loops
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for file_name in sorted(names):
            if file_name.startswith("."):
                continue
            target = Path(root) / file_name
            rel = str(target.relative_to(folder))
            if target.suffix.lower() not in DOC_SUFFIXES:
                ignored.append(rel)
            elif problem := _not_a_document(target, base):
                skipped.append(f"{rel} ({problem})")
            else:
                files.append(target)
    if not files:
        other = f" (it holds {len(ignored)} other file(s), e.g. {ignored[0]})" if ignored else ""
        if skipped:
            other = f" that can be read (skipped {listing(skipped)})"
        raise DataError(
            f"{folder}: no .txt or .md files found{other}. Put one document per .txt/.md "
            "file there, or give a CSV/JSONL file with 'id' and 'text' columns."
        )
    if len(files) > max_documents:
        raise DataError(
            f"{folder} holds {len(files):,} documents, over the limit of {max_documents:,}; "
            f"use a subset{raise_hint('max_documents')}"
        )
    total = sum(file.stat().st_size for file in files)
    if total > max_bytes:
        raise DataError(
            f"{folder}: the documents add up to {total:,} bytes, over the limit of "
            f"{max_bytes:,}; use a subset{raise_hint('max_bytes')}"
        )
    documents = [Document(f.stem, read_text(f, max_bytes, "document"), str(f)) for f in files]
    _check_ids(
        [d.id for d in documents],
        [d.source for d in documents],
        str(folder),
        "id",
        "rename the file",
        " A document's id is its file name without extension: rename one of each pair.",
    )
    warnings = []
    if ignored:
        warnings.append(
            f"ignored {len(ignored)} file(s) that are not .txt or .md: {listing(ignored)}"
        )
    if skipped:
        warnings.append(
            f"skipped {len(skipped)} file(s) that are not regular files inside {folder}: "
            f"{listing(skipped)}"
        )
    return documents, warnings


def _not_a_document(path: Path, base: Path) -> str | None:
    """Why a knowledge-base file is not read, or None: only regular files whose real path
    stays inside the folder (a link to /etc/passwd must not become a document that is
    retrieved and sent to an endpoint; a FIFO would block the loader forever)."""
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):  # a dangling link or a link loop
        return "a broken link"
    if not real.is_relative_to(base):
        return "a link to outside the folder"
    try:
        mode = real.stat().st_mode
    except OSError as exc:
        return f"unreadable: {exc.strerror}"
    if not stat.S_ISREG(mode):
        return "not a regular file"
    return None


def check_doc_ids(examples: Iterable[Example], documents: Iterable[Document]) -> None:
    """Every doc_id an example names must be a knowledge-base document id.

    Why before the pilot: a misspelt doc_id silently scores as a retrieval miss.
    """
    known = {d.id for d in documents}
    missing = [ex for ex in examples if ex.doc_id is not None and ex.doc_id not in known]
    if not missing:
        return
    where = [
        f"{ex.doc_id!r} ({f'line {ex.line}' if ex.line is not None else f'example {ex.id}'})"
        for ex in missing
    ]
    sample = ", ".join(repr(i) for i in sorted(known)[:3])
    have = f"its ids look like {sample}" if known else "it is empty"
    raise DataError(
        f"{len(missing)} example(s) name a doc_id that is not in the knowledge base: "
        f"{listing(where)}. The knowledge base has {len(known)} document(s) and {have}. "
        "Fix the doc_id values, or add the missing documents."
    )
