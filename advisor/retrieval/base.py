"""What every retriever shares: the ``Hit`` type, the protocol, and argument checks."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from advisor.errors import AdvisorError, DataError
from advisor.retrieval.chunking import Chunk

# A query with no letter or digit (empty, blank, "?!") has nothing to search for: every
# retriever answers it with no hits instead of an error or arbitrary neighbours.
_HAS_WORD = re.compile(r"[^\W_]")


def has_words(query: str) -> bool:
    return isinstance(query, str) and _HAS_WORD.search(query) is not None


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk; ``rank`` starts at 1 and follows descending ``score``."""

    chunk_id: str
    doc_id: str
    text: str
    score: float  # comparable only within one retriever's results for one query
    rank: int


@runtime_checkable
class Retriever(Protocol):
    """Index chunks once, then answer queries with the best chunks first."""

    name: str

    def index(self, chunks: list[Chunk]) -> None: ...

    def search(self, query: str, k: int = 5) -> list[Hit]: ...

    def search_batch(self, queries: list[str], k: int = 5) -> list[list[Hit]]: ...


def check_k(k: int, name: str = "k") -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k <= 0:
        raise AdvisorError(f"{name} must be a positive integer (not {k!r})")
    return k


def check_chunks(chunks: list[Chunk], who: str) -> list[Chunk]:
    chunks = list(chunks)
    if not chunks:
        raise DataError(
            f"{who}: nothing to index; the knowledge base is empty or has no text. "
            "Add documents with non-empty 'text'."
        )
    ids = [c.chunk_id for c in chunks]
    if len(set(ids)) != len(ids):
        raise DataError(f"{who}: chunk ids must be unique; build chunks with chunk_documents()")
    return chunks


def make_hits(chunks: list[Chunk], order: Sequence[int], scores: Sequence[float]) -> list[Hit]:
    return [
        Hit(chunks[i].chunk_id, chunks[i].doc_id, chunks[i].text, float(s), r)
        for r, (i, s) in enumerate(zip(order, scores, strict=True), start=1)
    ]


def top_k(scores: np.ndarray, k: int, positive_only: bool = False) -> np.ndarray:
    """Indices of the k best scores, best first; ties go to the earlier chunk."""
    candidates = np.flatnonzero(scores > 0) if positive_only else np.arange(scores.size)
    if candidates.size > k:
        cut = np.partition(scores[candidates], candidates.size - k)[candidates.size - k]
        candidates = candidates[scores[candidates] >= cut]
    order = np.lexsort((candidates, -scores[candidates]))
    return candidates[order][:k]


class IndexedRetriever:
    """Mixin: ``search`` via ``search_batch``, and a clear error before ``index``."""

    name: str
    chunks_: list[Chunk] | None = None

    def require_index(self) -> list[Chunk]:
        if self.chunks_ is None:
            raise AdvisorError(f"{self.name} retriever: call index(chunks) before searching")
        return self.chunks_

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """Best chunks for one query; a query with no words returns no hits."""
        return self.search_batch([query], k)[0]

    def search_batch(self, queries: list[str], k: int = 5) -> list[list[Hit]]:
        raise NotImplementedError
