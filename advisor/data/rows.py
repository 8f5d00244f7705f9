"""The rows a data file is read into: where each came from, and what container held it.

Why a module of their own: the text readers (:mod:`.files`) and the Parquet / datasets-folder
readers (:mod:`.columnar`) both build them, and neither should import the other for that.
"""

from __future__ import annotations

from dataclasses import dataclass

ACCEPTED_FORMATS = (
    ".csv, .tsv, .jsonl (one JSON object per line), .json (a list of objects), .parquet, "
    "or a Hugging Face datasets folder (saved with save_to_disk)"
)

SHOW = 5  # how many offending lines a message lists before "and N more"

# How a message names the container: "read as OpenAI chat JSONL"
CONTAINER_LABELS = {
    "csv": "CSV",
    "tsv": "TSV",
    "jsonl": "JSONL",
    "json": "JSON",
    "parquet": "Parquet",
    "hf_folder": "Hugging Face datasets folder",
    "dataframe": "DataFrame",
}


@dataclass(frozen=True)
class Row:
    where: str  # "line 5", "item 3" or "row 3": how messages point at this row
    line: int | None  # first source line, when the format has lines
    values: dict[str, object]


@dataclass(frozen=True)
class Table:
    rows: list[Row]
    columns: list[str]  # every column seen, in order of first appearance
    kind: str = ""  # container read: a key of CONTAINER_LABELS ("" when unknown)
    detail: str = ""  # e.g. the splits of a datasets folder, for messages

    @property
    def label(self) -> str:
        """'JSONL', 'Parquet', 'Hugging Face datasets folder (splits train, test)'..."""
        text = CONTAINER_LABELS.get(self.kind, self.kind or "file")
        return f"{text} ({self.detail})" if self.detail else text


def listing(items: list[str], limit: int = SHOW) -> str:
    """'a, b and c' with at most ``limit`` items named, so messages stay one readable line."""
    shown = items[:limit]
    rest = len(items) - len(shown)
    if rest:
        return f"{', '.join(shown)} and {rest} more"
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"
