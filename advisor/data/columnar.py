"""Parquet files and Hugging Face ``datasets`` folders (``save_to_disk``), read with pyarrow.

Why apart from the text readers: these formats have no lines (rows are "row N", 1-based in
file order), hold nested values (chat messages arrive as lists and dicts) and need pyarrow,
which only these readers import.
"""

from __future__ import annotations

import json
from pathlib import Path

from advisor.data.rows import ACCEPTED_FORMATS, Row, Table, listing
from advisor.errors import DataError


def _pyarrow(path: Path):
    try:
        import pyarrow as pa
    except ImportError:  # a dependency of the app's streamlit, so normally present
        raise DataError(
            f"reading {path.name} needs pyarrow: pip install pyarrow (or save the data as "
            "JSONL or CSV)"
        ) from None
    return pa


def _arrow_rows(table, start: int, prefix: str = "") -> list[Row]:
    """Rows of a pyarrow Table as Python values ('row N', 1-based across the whole file)."""
    return [
        Row(f"{prefix}row {start + i}", None, values) for i, values in enumerate(table.to_pylist())
    ]


def _check_size(path: Path, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise DataError(
            f"{path} is larger than the limit of {max_bytes:,} bytes ({max_bytes / 1e6:g} MB). "
            "Use a smaller sample, or raise the limit with max_bytes=..."
        )


def read_parquet(path: Path, max_bytes: int, what: str = "file") -> Table:
    """A Parquet file's rows; nested columns (chat messages) arrive as lists and dicts."""
    pa = _pyarrow(path)
    import pyarrow.parquet as pq

    _check_size(path, path.stat().st_size, max_bytes)
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        detail = str(exc).splitlines()[0].replace(f"'{path}'", "").replace(str(path), "")
        raise DataError(
            f"{path} is not a readable Parquet file ({detail.strip()}); re-export it (e.g. "
            f"DataFrame.to_parquet) or give the {what} as JSONL or CSV"
        ) from None
    return Table(_arrow_rows(table, 1), list(table.column_names), kind="parquet")


def _read_json_file(path: Path, folder: Path) -> dict:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(
            f"{folder}: {path.name} is not valid JSON ({exc}); save the dataset again with "
            "save_to_disk"
        ) from None
    if not isinstance(value, dict):
        raise DataError(f"{folder}: {path.name} must hold a JSON object; save the dataset again")
    return value


def _read_split(folder: Path, max_bytes: int, prefix: str, start: int):
    """One ``Dataset.save_to_disk`` folder: state.json names its Arrow stream files."""
    pa = _pyarrow(folder)
    state = _read_json_file(folder / "state.json", folder)
    files = [f.get("filename") for f in state.get("_data_files") or [] if isinstance(f, dict)]
    if not files or not all(isinstance(f, str) and "/" not in f for f in files):
        raise DataError(
            f"{folder}: state.json lists no data files (_data_files); save the dataset again "
            "with save_to_disk"
        )
    paths = [folder / f for f in files]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise DataError(
            f"{folder}: data file(s) {listing(missing)} named in state.json are missing; copy "
            "the whole folder written by save_to_disk"
        )
    _check_size(folder, sum(p.stat().st_size for p in paths), max_bytes)
    tables = []
    for arrow in paths:
        try:
            with pa.memory_map(str(arrow)) as source:
                try:
                    tables.append(pa.ipc.open_stream(source).read_all())
                except pa.ArrowInvalid:  # the random-access file format, if a tool wrote it
                    source.seek(0)
                    tables.append(pa.ipc.open_file(source).read_all())
        except (pa.ArrowException, OSError) as exc:
            raise DataError(
                f"{folder}: {arrow.name} is not a readable Arrow file "
                f"({str(exc).splitlines()[0]}); save the dataset again with save_to_disk"
            ) from None
    try:
        table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    except pa.ArrowException as exc:
        raise DataError(f"{folder}: its data files do not share one schema ({exc})") from None
    return _arrow_rows(table, start, prefix), list(table.column_names)


def read_datasets_folder(folder: Path, max_bytes: int, what: str = "file") -> Table:
    """A Hugging Face ``datasets`` folder written by ``save_to_disk`` (a Dataset, or a
    DatasetDict whose splits are all read: the pilot makes its own split)."""
    if (folder / "dataset_dict.json").is_file():
        info = _read_json_file(folder / "dataset_dict.json", folder)
        splits = info.get("splits")
        if (
            not isinstance(splits, list)
            or not splits
            or not all(
                isinstance(s, str) and s and "/" not in s and s not in (".", "..") for s in splits
            )
        ):
            raise DataError(f"{folder}: dataset_dict.json lists no splits; save it again")
        rows: list[Row] = []
        columns: dict[str, None] = {}
        for split in splits:
            part, cols = _read_split(folder / split, max_bytes, f"{split} ", 1)
            rows += part
            columns.update(dict.fromkeys(cols))
        detail = f"split{'s' if len(splits) > 1 else ''} {', '.join(splits)}"
        return Table(rows, list(columns), kind="hf_folder", detail=detail)
    if (folder / "state.json").is_file():
        rows, columns = _read_split(folder, max_bytes, "", 1)
        return Table(rows, columns, kind="hf_folder")
    raise DataError(
        f"{folder} is a folder but not a Hugging Face datasets folder (no state.json or "
        f"dataset_dict.json from save_to_disk); the {what} must be one file: "
        f"{ACCEPTED_FORMATS}"
    )
