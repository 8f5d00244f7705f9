"""Read CSV, TSV, JSONL and JSON files into rows that remember where they came from.

Why not ``pandas.read_csv``: pandas fills short rows with NaN, forgets line numbers and
raises a dozen exception types. Users fix data files by line number, so this reader keeps
the line each row starts on, and turns every problem into a ``DataError`` that names the
file, the line and the fix. ``advisor.data.load`` builds examples and documents from these rows.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

from advisor.errors import DataError

ACCEPTED_FORMATS = ".csv, .tsv, .jsonl (one JSON object per line) or .json (a list of objects)"
_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}
_UTF8_BOM = b"\xef\xbb\xbf"
_SHOW = 5  # how many offending lines a message lists before "and N more"


@dataclass(frozen=True)
class Row:
    where: str  # "line 5", "item 3" or "row 3": how messages point at this row
    line: int | None  # first source line, when the format has lines
    values: dict[str, object]


@dataclass(frozen=True)
class Table:
    rows: list[Row]
    columns: list[str]  # every column seen, in order of first appearance


def listing(items: list[str], limit: int = _SHOW) -> str:
    """'a, b and c' with at most ``limit`` items named, so messages stay one readable line."""
    shown = items[:limit]
    rest = len(items) - len(shown)
    if rest:
        return f"{', '.join(shown)} and {rest} more"
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


def as_text(value: object, column: str, where: str, name: str) -> str | None:
    """A cell as text: numbers are fine (labels are often numeric), nested data is not."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list | tuple | set | bytes):
        kind = "an object" if isinstance(value, dict) else "a list"
        raise DataError(
            f"{name}: {where}: {column!r} holds {kind}, but it must be text or a number. "
            "To keep structured data, store it as a string (e.g. json.dumps(value))."
        )
    return str(value)


def check_path(source: str | Path, what: str) -> Path:
    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(f"{what} not found: {str(path)!r}. Check the path and spelling.")
    return path


def read_text(path: Path, max_bytes: int, what: str = "file") -> str:
    """The file as text: size-capped, BOM dropped, non-UTF-8 reported by line and byte."""
    if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes <= 0:
        raise DataError(f"max_bytes must be a positive whole number (not {max_bytes!r})")
    if path.is_dir():
        raise DataError(f"{path} is a folder; the {what} must be one file: {ACCEPTED_FORMATS}")
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)  # never more: a huge or endless file stays cheap
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        raise DataError(
            f"{path} is larger than the limit of {max_bytes:,} bytes "
            f"({max_bytes / 1e6:g} MB). Use a smaller sample, or raise the limit with "
            "max_bytes=... if the machine has the memory for it."
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError(f"{path} is UTF-16 encoded; re-save it as UTF-8 (e.g. 'CSV UTF-8').")
    data = data.removeprefix(_UTF8_BOM)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"{path} is not valid UTF-8: line {line}, byte offset {exc.start} "
            f"(byte 0x{data[exc.start]:02x}). Re-save the file as UTF-8 (in Excel: "
            "'CSV UTF-8'; or: iconv -f latin1 -t utf-8 in.csv > out.csv)."
        ) from None


def read_table(
    path: Path, max_bytes: int, max_rows: int, what: str = "file", rows_param: str = "max_rows"
) -> Table:
    """Rows of a data file; the format comes from the extension (content for unknown ones)."""
    text = read_text(path, max_bytes, what)
    if not text.strip():
        raise DataError(f"{path} is empty; it needs a header line and at least one row")
    kind = _SUFFIXES.get(path.suffix.lower())
    if kind is None:
        start = text.lstrip()[:1]
        kind = {"{": "jsonl", "[": "json"}.get(start)
        if kind is None:
            folder = ", or a folder of .txt/.md files" if "knowledge" in what else ""
            raise DataError(
                f"{path}: unknown file type {path.suffix or '(no extension)'!r}; "
                f"use {ACCEPTED_FORMATS}{folder}"
            )
    name = str(path)
    if kind == "json" and text.lstrip().startswith("["):
        table = parse_json_list(text, name)
    elif kind == "json":
        table = _parse_json_lines_or_object(text, name)
    elif kind == "jsonl":
        table = parse_jsonl(text, name)
    else:
        table = parse_csv(text, name, delimiter="\t" if kind == "tsv" else ",")
    if not table.rows:
        raise DataError(f"{name} has no data rows; add at least one row below the header")
    if len(table.rows) > max_rows:
        raise DataError(
            f"{name} has {len(table.rows):,} rows, over the limit of {max_rows:,}. "
            f"Use a sample (a pilot needs hundreds, not millions), or raise {rows_param}=..."
        )
    return table


def parse_csv(text: str, name: str, delimiter: str = ",") -> Table:
    """CSV with a header line; quoted newlines allowed; every row must have the header's width.

    The reader is strict about quotes so an unclosed quote cannot silently swallow the rest
    of the file into one cell.
    """
    # A long document can exceed csv's 128 KiB default field limit; the file is already
    # capped by max_bytes, so allow a field as long as the file (the limit only loosens).
    if csv.field_size_limit() < len(text) + 1:
        csv.field_size_limit(min(len(text) + 1, sys.maxsize))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    rows: list[Row] = []
    bad: list[str] = []
    end = 0  # last physical line consumed so far
    while True:
        start = end + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise DataError(_quote_problem(name, start, reader.line_num, str(exc))) from None
        end = reader.line_num
        if not any(f.strip() for f in fields):
            continue  # blank line or a spreadsheet's empty trailing row
        if header is None:
            header = [f.strip() for f in fields]
            _check_header(header, name, delimiter)
            continue
        if len(fields) != len(header):
            span = f"line {start}" if end == start else f"lines {start}-{end}"
            bad.append(f"{span} has {len(fields)} fields")
            continue
        rows.append(Row(f"line {start}", start, dict(zip(header, fields, strict=True))))
    if bad:
        raise DataError(
            f"{name}: the header has {len(header or [])} fields but {listing(bad)}. "
            "Every row needs one value per column: quote values that contain the separator "
            'or a line break ("a, b"), and fill or remove the rows that are short.'
        )
    return Table(rows, [h for h in header or [] if h])


def _quote_problem(name: str, start: int, at: int, detail: str) -> str:
    if "end of data" in detail:
        return (
            f"{name}: a quote opened in the row starting on line {start} is never closed. "
            'Close it, or write a literal quote inside a quoted value as "".'
        )
    return (
        f"{name}: line {at}: bad quoting ({detail}). A value that starts with a quote must "
        'end with one; write a literal quote inside it as "".'
    )


def _check_header(header: list[str], name: str, delimiter: str) -> None:
    seen: set[str] = set()
    for column in header:
        if column and column in seen:
            raise DataError(f"{name}: column {column!r} appears twice in the header (line 1)")
        seen.add(column)
    if len(header) == 1 and delimiter == "," and (";" in header[0] or "\t" in header[0]):
        sep = "';'" if ";" in header[0] else "tabs"
        raise DataError(
            f"{name}: the header {header[0]!r} seems to use {sep} as separator; save the file "
            "as comma-separated CSV (or give tab-separated data a .tsv extension)"
        )


def parse_jsonl(text: str, name: str) -> Table:
    """One JSON object per line; blank lines are skipped."""
    rows: list[Row] = []
    columns: dict[str, None] = {}
    # split("\n"), not splitlines(): JSON strings may hold U+2028 and friends verbatim.
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        try:
            value = json.loads(line)
        except (ValueError, RecursionError) as exc:
            detail = (
                f" ({exc.msg}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
            )
            hint = " A pretty-printed file must be a .json list." if line in ("{", "[") else ""
            raise DataError(
                f"{name}: line {number} is not valid JSON{detail}. Each line must be one "
                f'complete object, like {{"input": "...", "output": "..."}}.{hint}'
            ) from None
        rows.append(_object_row(value, f"line {number}", number, name))
        columns.update(dict.fromkeys(rows[-1].values))
    return Table(rows, list(columns))


def _parse_json_lines_or_object(text: str, name: str) -> Table:
    """A .json file not holding a list: JSON lines, or a single object we can name."""
    try:
        return parse_jsonl(text, name)
    except DataError:
        try:
            whole = json.loads(text)
        except (ValueError, RecursionError):
            whole = None
        if isinstance(whole, dict):
            raise DataError(
                f"{name} holds one JSON object; give a list of objects ([{{...}}, {{...}}]) "
                "or one object per line (.jsonl)"
            ) from None
        raise


def parse_json_list(text: str, name: str) -> Table:
    """A JSON list of objects (rows are 'item N'; there are no useful line numbers)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{name} is not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except (ValueError, RecursionError) as exc:
        raise DataError(f"{name} is not valid JSON: {exc}") from None
    if not isinstance(value, list):
        raise DataError(f"{name} must hold a list of objects ([{{...}}, ...]); use .jsonl instead")
    rows = [_object_row(item, f"item {i}", None, name) for i, item in enumerate(value, 1)]
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row.values))
    return Table(rows, list(columns))


_JSON_KINDS = {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}
_JSON_KINDS[type(None)] = "null"


def _object_row(value: object, where: str, line: int | None, name: str) -> Row:
    if not isinstance(value, dict):
        kind = _JSON_KINDS.get(type(value), type(value).__name__)
        raise DataError(
            f"{name}: {where} holds a JSON {kind}, not an object; each row must look like "
            '{"input": "...", "output": "..."}'
        )
    return Row(where, line, value)


def table_from_dataframe(frame: object, max_rows: int) -> Table:
    """A pandas DataFrame as rows ('row <index>'), with pandas' missing values as None."""
    import numpy as np
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise DataError(
            f"cannot load examples from a {type(frame).__name__}; give a file path "
            f"({ACCEPTED_FORMATS}) or a pandas DataFrame"
        )
    columns = [str(c) for c in frame.columns]
    if len(set(columns)) != len(columns):
        twice = sorted({repr(c) for c in columns if columns.count(c) > 1})
        raise DataError(f"the DataFrame has duplicate column names: {listing(twice)}")
    if len(frame) > max_rows:
        raise DataError(
            f"the DataFrame has {len(frame):,} rows, over the limit of {max_rows:,}; "
            "use a sample or raise max_rows=..."
        )
    if frame.empty:
        raise DataError("the DataFrame has no rows")

    def cell(value: object) -> object:
        if pd.api.types.is_scalar(value) and pd.isna(value):
            return None
        if isinstance(value, np.ndarray):
            return value.tolist()  # reported as a list, like any nested cell
        return value.item() if isinstance(value, np.generic) else value

    rows = [
        Row(f"row {label}", None, {c: cell(v) for c, v in zip(columns, values, strict=True)})
        for label, values in zip(frame.index, frame.itertuples(index=False), strict=True)
    ]
    return Table(rows, columns)
