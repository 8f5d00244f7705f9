"""The data types every part of the pilot shares: examples, documents and one split.

Why a module of their own: loading, splitting, leakage checks, the arms and the metrics all
pass these around; with the types apart, none of those modules has to import another just
to name what it receives.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

__all__ = ["Document", "Example", "ExampleSet", "KnowledgeBase", "Split"]


@dataclass(frozen=True)
class Example:
    id: str  # from the id column, else "ex<row number>" (1-based, in file order)
    input: str
    output: str
    doc_id: str | None = None  # knowledge-base document holding the answer, if known
    line: int | None = None  # source line the row starts on (None for DataFrames/.json lists)
    # A conversation's input turns ((role, text), ending with the user's) when it had more
    # than one: ``input`` is their transcript; the exports write the turns back as turns.
    turns: tuple[tuple[str, str], ...] = ()
    system: str | None = None  # the row's own system prompt (chat formats), if any


@dataclass(frozen=True)
class Document:
    id: str
    text: str
    source: str  # "kb.csv:12" or "docs/faq.md": where to go to fix it


@dataclass(frozen=True)
class ExampleSet:
    examples: list[Example]
    warnings: list[str] = field(default_factory=list)
    format: str = "plain"  # advisor.data.formats.FORMATS key the file was read as
    message: str = ""  # "read as OpenAI chat JSONL: 412 conversations, ..." for the user
    task: str | None = None  # the system prompt every conversation shared, if any
    removed_duplicates: int = 0  # rows dropped as exact repeats of an earlier row

    def __len__(self) -> int:
        return len(self.examples)

    def __iter__(self) -> Iterator[Example]:
        return iter(self.examples)


class KnowledgeBase(list[Document]):
    """A list of documents that also carries the load warnings (e.g. skipped empty files)."""

    def __init__(self, documents: Iterable[Document] = (), warnings: list[str] | None = None):
        super().__init__(documents)
        self.warnings: list[str] = list(warnings or [])


@dataclass(frozen=True)
class Split:
    train: list[Example]
    validation: list[Example]  # empty when validation_size == 0
    test: list[Example]
    seed: int

    def to_dict(self) -> dict:
        """The ids per split and the seed: what ``split.json`` in a run folder holds."""
        return {
            "seed": self.seed,
            "train": [ex.id for ex in self.train],
            "validation": [ex.id for ex in self.validation],
            "test": [ex.id for ex in self.test],
        }
