"""Hybrid retrieval: fuse term-based and embedding-based rankings into one.

Why score fusion by default, not reciprocal rank fusion (RRF): RRF throws away how
*confident* each retriever is. When one retriever is clearly better on a data set (BM25 on
questions that repeat a passage's rare names, embeddings on paraphrases), RRF lets the
weaker one's near-misses outvote the stronger one's clear winner, and the hybrid can end up
below the best single retriever. On our synthetic benchmarks (fictional-town corpora, clean
and misspelt questions, 21 variants) equal-weight RRF fell below the better input's
recall@5 on 6, min-max score fusion on none. Min-max fusion ("relative score fusion")
rescales each retriever's scores for a query to [0, 1] over the whole index and adds them,
so a clear margin in either input survives. RRF (Cormack et al. 2009, k_rrf = 60) stays
available as ``fusion="rrf"``.

Why each input is also scaled by its ``confidence`` for the query (``adaptive=True``): how
good a retriever is differs per question, not only per data set. A retriever whose best
chunk stands far above the rest (a high z-score) knows the answer; one that scores many
chunks alike is guessing, and its [0, 1] rescaling would otherwise spread that guess over
the whole scale. On SQuAD-like proxies (``experiments/README.md``, "Retrieval on a
SQuAD-like proxy") the gain was small (about one point of recall@1 on generated questions,
within noise on hand-written ones) and recall@5 never dropped; z-score fusion did no
better, RRF was worst everywhere. ``adaptive=False`` gives plain min-max fusion.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from advisor.errors import AdvisorError
from advisor.retrieval.base import (
    Hit,
    IndexedRetriever,
    Retriever,
    check_chunks,
    check_k,
    has_words,
    make_hits,
    top_k,
)
from advisor.retrieval.chunking import Chunk

FUSIONS = ("score", "rrf")
_CELLS = 4_000_000  # query x chunk scores held at once per input (16 MB of float32)


def confidence(scores: np.ndarray, high: np.ndarray | None = None) -> np.ndarray:
    """How far each row's best score stands out: its z-score within the row, shape (rows, 1).

    A retriever that is sure of a query puts one chunk far above the rest (large z); one that
    is guessing scores many chunks alike (small z), and 0 when all scores are equal.
    """
    high = scores.max(axis=1, keepdims=True) if high is None else high
    std = scores.std(axis=1, keepdims=True)
    return np.where(
        std > 0, (high - scores.mean(axis=1, keepdims=True)) / np.where(std > 0, std, 1), 0
    )


class HybridRetriever(IndexedRetriever):
    """Several retrievers (usually BM25 + FAISS) over the same chunks, fused per query.

    Results are deduplicated by chunk: each chunk appears once, with its fused score.
    """

    def __init__(
        self,
        retrievers: Sequence[Retriever],
        k_rrf: int = 60,
        fusion: Literal["score", "rrf"] = "score",
        weights: Sequence[float] | None = None,
        depth: int = 50,
        adaptive: bool = True,
    ) -> None:
        if not retrievers:
            raise AdvisorError("HybridRetriever needs at least one retriever (e.g. bm25 and faiss)")
        if fusion not in FUSIONS:
            raise AdvisorError(f"fusion must be one of {', '.join(FUSIONS)} (not {fusion!r})")
        if isinstance(k_rrf, bool) or not isinstance(k_rrf, int) or k_rrf < 0:
            raise AdvisorError(f"k_rrf must be a non-negative integer (not {k_rrf!r})")
        weights = [1.0] * len(retrievers) if weights is None else [float(w) for w in weights]
        if len(weights) != len(retrievers) or min(weights) < 0 or sum(weights) <= 0:
            raise AdvisorError(
                f"weights must be one non-negative number per retriever, not all zero "
                f"(got {weights!r} for {len(retrievers)} retrievers)"
            )
        self.retrievers = list(retrievers)
        self.name = "hybrid"
        self.k_rrf = k_rrf  # RRF only: larger values flatten the advantage of top ranks
        self.fusion = fusion
        self.weights = weights  # relative say of each retriever in the fused score
        self.depth = check_k(depth, "depth")  # RRF only: hits taken from each retriever
        self.adaptive = adaptive  # score fusion only: scale each input by its confidence()
        self.chunks_: list[Chunk] | None = None

    def index(self, chunks: list[Chunk]) -> None:
        chunks = check_chunks(chunks, self.name)
        for retriever in self.retrievers:
            retriever.index(chunks)
        self.position_ = {c.chunk_id: i for i, c in enumerate(chunks)}
        self.chunks_ = chunks

    def search_batch(self, queries: list[str], k: int = 5) -> list[list[Hit]]:
        self.require_index()
        check_k(k)
        queries = list(queries)
        if self.fusion == "rrf":
            return self._rrf(queries, k)
        block = max(1, _CELLS // len(self.chunks_ or [1]))
        results: list[list[Hit]] = []
        for start in range(0, len(queries), block):
            results.extend(self._score_fusion(queries[start : start + block], k))
        return results

    # -- score fusion ----------------------------------------------------------------------

    def _scores(self, retriever: Retriever, queries: list[str]) -> np.ndarray:
        """Every chunk's score from one retriever; uses its ``score_batch`` when it has one."""
        chunks = self.require_index()
        if hasattr(retriever, "score_batch"):
            return np.asarray(retriever.score_batch(queries), dtype=np.float32)
        # Generic retriever: a full-depth search; chunks it leaves out get its lowest score.
        out = np.zeros((len(queries), len(chunks)), dtype=np.float32)
        for row, hits in enumerate(retriever.search_batch(queries, len(chunks))):
            if hits:
                out[row] = min(h.score for h in hits)
                for hit in hits:
                    out[row, self.position_[hit.chunk_id]] = hit.score
        return out

    def _score_fusion(self, queries: list[str], k: int) -> list[list[Hit]]:
        chunks = self.require_index()
        fused = np.zeros((len(queries), len(chunks)), dtype=np.float32)
        for retriever, weight in zip(self.retrievers, self.weights, strict=True):
            scores = self._scores(retriever, queries)
            low = scores.min(axis=1, keepdims=True)
            high = scores.max(axis=1, keepdims=True)
            span = high - low
            # A retriever that scores every chunk alike for a query has no opinion on it.
            part = np.where(span > 0, (scores - low) / np.where(span > 0, span, 1), 0)
            if self.adaptive:
                part *= confidence(scores, high)
            fused += weight * part
        fused /= sum(self.weights)
        results = []
        for query, row in zip(queries, fused, strict=True):
            if not has_words(query) or not row.any():
                results.append([])
                continue
            top = top_k(row, k)
            results.append(make_hits(chunks, top, row[top]))
        return results

    # -- reciprocal rank fusion ------------------------------------------------------------

    def _rrf(self, queries: list[str], k: int) -> list[list[Hit]]:
        chunks = self.require_index()
        depth = max(k, self.depth)
        ranked = [r.search_batch(queries, depth) for r in self.retrievers]
        results = []
        for q, query in enumerate(queries):
            fused: dict[int, float] = {}
            for hits, weight in zip(ranked, self.weights, strict=True):
                for hit in hits[q]:
                    i = self.position_[hit.chunk_id]
                    fused[i] = fused.get(i, 0.0) + weight / (self.k_rrf + hit.rank)
            if not has_words(query):
                fused = {}
            best = sorted(fused, key=lambda i: (-fused[i], i))[:k]
            results.append(make_hits(chunks, best, [fused[i] for i in best]))
        return results
