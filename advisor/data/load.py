"""Pilot data: examples (input -> output pairs) and the knowledge base, checked on load.

Why so strict: a pilot's numbers are only as good as its data, and a user who gets a clear
"line 14: empty 'output'" fixes it in a minute, while a silently dropped row or a NaN read
as the text "nan" skews every arm. Every problem a user can fix is a ``DataError`` that
names the file, the line(s) and the fix; soft problems (duplicates, conflicting labels,
empty documents) become warnings that the pilot records in ``results.json``.

Splits live in ``advisor.data.splits`` and leakage checks in ``advisor.data.leakage``; both are
re-exported here, so ``from advisor.data.load import split_examples`` works.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.data.files import (
    Row,
    Table,
    as_text,
    check_path,
    listing,
    read_table,
    read_text,
    table_from_dataframe,
)
from advisor.data.leakage import LeakageReport, LeakPair, find_leakage, normalize_text
from advisor.data.splits import Split, split_examples
from advisor.errors import DataError

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
DOC_SUFFIXES = (".txt", ".md")


@dataclass(frozen=True)
class Example:
    id: str  # from the id column, else "ex<row number>" (1-based, in file order)
    input: str
    output: str
    doc_id: str | None = None  # knowledge-base document holding the answer, if known
    line: int | None = None  # source line the row starts on (None for DataFrames/.json lists)


@dataclass(frozen=True)
class Document:
    id: str
    text: str
    source: str  # "kb.csv:12" or "docs/faq.md": where to go to fix it


@dataclass(frozen=True)
class ExampleSet:
    examples: list[Example]
    warnings: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.examples)

    def __iter__(self) -> Iterator[Example]:
        return iter(self.examples)


class KnowledgeBase(list[Document]):
    """A list of documents that also carries the load warnings (e.g. skipped empty files)."""

    def __init__(self, documents: Iterable[Document] = (), warnings: list[str] | None = None):
        super().__init__(documents)
        self.warnings: list[str] = list(warnings or [])


def load_examples(
    source: str | Path | pd.DataFrame,
    input_col: str = "input",
    output_col: str = "output",
    doc_id_col: str | None = "doc_id",
    id_col: str | None = "id",
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_rows: int = 100_000,
) -> ExampleSet:
    """Examples from a CSV/TSV/JSONL/JSON file or a DataFrame, validated and de-duplicated.

    ``doc_id`` and ``id`` columns are optional. Exact duplicates (same normalised input and
    output) are dropped with a warning; one input with different outputs is kept, warned
    about, and later kept in one split by ``split_examples``.
    """
    if input_col == output_col:
        raise DataError(f"input and output must be different columns (both are {input_col!r})")
    if isinstance(source, str | Path):
        path = check_path(source, "examples file")
        table, name = read_table(path, max_bytes, max_rows, "examples file"), str(path)
    else:
        table, name = table_from_dataframe(source, max_rows), "the DataFrame"
    _require(
        table,
        name,
        (input_col, output_col),
        "or map it with --input-col / --output-col (input_col=... / output_col=... in Python)",
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
            Example(ex_id, pair[0] or "", pair[1] or "", doc_id and doc_id.strip(), row.line)
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
    return _deduplicate(examples, wheres)


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
    return ExampleSet(kept, warnings)


def load_knowledge_base(
    source: str | Path,
    max_bytes: int = DEFAULT_MAX_BYTES,
    id_col: str = "id",
    text_col: str = "text",
    max_documents: int = 100_000,
) -> KnowledgeBase:
    """Documents from a CSV/TSV/JSONL/JSON file with id and text, or a folder of .txt/.md.

    A folder is read recursively (documentation trees nest), skipping hidden files and
    folders and following no symlinked folders; the id is the file name without extension,
    so two files with the same name in different sub-folders are an error. Documents with
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
    for root, dirs, names in os.walk(folder):  # followlinks=False: no symlink loops
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for file_name in sorted(names):
            if file_name.startswith("."):
                continue
            target = Path(root) / file_name
            if target.suffix.lower() in DOC_SUFFIXES:
                files.append(target)
            else:
                ignored.append(str(target.relative_to(folder)))
    if not files:
        other = f" (it holds {len(ignored)} other file(s), e.g. {ignored[0]})" if ignored else ""
        raise DataError(
            f"{folder}: no .txt or .md files found{other}. Put one document per .txt/.md "
            "file there, or give a CSV/JSONL file with 'id' and 'text' columns."
        )
    if len(files) > max_documents:
        raise DataError(
            f"{folder} holds {len(files):,} documents, over the limit of {max_documents:,}; "
            "use a subset or raise max_documents=..."
        )
    total = sum(file.stat().st_size for file in files)
    if total > max_bytes:
        raise DataError(
            f"{folder}: the documents add up to {total:,} bytes, over the limit of "
            f"{max_bytes:,}; use a subset, or raise the limit with max_bytes=..."
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
    return documents, warnings


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
