"""Okapi BM25 over analysed terms (the bm25s library does the sparse scoring)."""

from __future__ import annotations

import numpy as np

from advisor.errors import AdvisorError
from advisor.retrieval.analysis import analyze
from advisor.retrieval.base import (
    Hit,
    IndexedRetriever,
    check_chunks,
    check_k,
    has_words,
    make_hits,
    top_k,
)
from advisor.retrieval.chunking import Chunk
from advisor.retrieval.units import SENTENCE_WEIGHT, check_weight, make_units


class BM25Retriever(IndexedRetriever):
    """Term-based retrieval: the framework's first step when prompting lacks information.

    Only chunks sharing at least one term with the query are returned, so a query may get
    fewer than k hits (none when it shares no term with the knowledge base). Each sentence of a
    chunk is scored too and mixed into the chunk's score (``sentence_weight``, see
    ``advisor.retrieval.units``), so query terms that occur close together count for more.
    """

    def __init__(
        self,
        k1: float = 1.5,
        b: float = 0.75,
        stem: bool = True,
        sentence_weight: float = SENTENCE_WEIGHT,
    ) -> None:
        if not k1 >= 0 or not 0 <= b <= 1:
            raise AdvisorError(f"BM25 needs k1 >= 0 and 0 <= b <= 1 (not k1={k1!r}, b={b!r})")
        self.name = "bm25"
        self.k1 = k1  # term-frequency saturation; 1.2-2.0 is the usual range
        self.b = b  # document-length normalisation; 0.75 is the standard default
        self.stem = stem  # Snowball stemming: "founded" matches "founder", "nations" "nation"
        self.sentence_weight = check_weight(sentence_weight)  # 0 = score whole chunks only
        self.chunks_: list[Chunk] | None = None

    def index(self, chunks: list[Chunk]) -> None:
        import bm25s

        chunks = check_chunks(chunks, self.name)
        model = bm25s.BM25(k1=self.k1, b=self.b, method="lucene")
        units = make_units(chunks, self.sentence_weight)
        model.index([analyze(t, self.stem) for t in units.texts], show_progress=False)
        self.model_ = model
        self.units_ = units
        self.chunks_ = chunks

    def _term_ids(self, query: str) -> list[int]:
        vocab = self.model_.vocab_dict
        if not has_words(query):
            return []
        return [vocab[t] for t in analyze(query, self.stem) if t in vocab]

    def _scores(self, query: str) -> np.ndarray | None:
        ids = self._term_ids(query)
        if not ids:
            return None
        return self.units_.pool(np.asarray(self.model_.get_scores_from_ids(ids), np.float32))

    def score_batch(self, queries: list[str]) -> np.ndarray:
        """BM25 score of every chunk for every query, shape (queries, chunks); 0 = no match."""
        chunks = self.require_index()
        out = np.zeros((len(queries), len(chunks)), dtype=np.float32)
        for row, query in enumerate(queries):
            scores = self._scores(query)
            if scores is not None:
                out[row] = scores
        return out

    def search_batch(self, queries: list[str], k: int = 5) -> list[list[Hit]]:
        chunks = self.require_index()
        check_k(k)
        results = []
        for query in queries:  # one row at a time: memory stays O(chunks), not O(queries x chunks)
            scores = self._scores(query)
            top = top_k(scores, k, positive_only=True) if scores is not None else []
            results.append(make_hits(chunks, top, scores[top]) if len(top) else [])
        return results
