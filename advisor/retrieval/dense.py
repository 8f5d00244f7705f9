"""Embedding retrieval: exact cosine search with faiss over a sentence embedder."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from advisor.errors import AdvisorError
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

if TYPE_CHECKING:
    from advisor.retrieval.embeddings import Embedder


class FaissRetriever(IndexedRetriever):
    """Exact cosine search with faiss over L2-normalised embeddings.

    Exact search is the right choice at pilot scale (thousands of chunks): nothing to train
    and no recall lost to approximation. ``embedder=None`` means ``load_embedder()``: the
    bundled all-MiniLM-L6-v2 behind the on-disk embedding cache, so re-runs re-encode only
    new text; a string is a sentence-transformers model id or folder for ``load_embedder``.
    Always returns min(k, chunks) hits for a query with words.

    Each sentence of a chunk gets its own vector as well, and a chunk's score mixes its own
    cosine with its best sentence's (``sentence_weight``, see ``advisor.retrieval.units``):
    a short question sits closer to the one sentence it asks about than to the average of a
    whole chunk. So scores are exact inner products with every unit vector
    (``faiss.pairwise_distances``), pooled per chunk; ``index_`` (an ``IndexFlatIP`` over
    the same unit vectors) is kept for direct nearest-vector search.
    """

    _CELLS = 4_000_000  # query x vector similarities held at once (16 MB of float32)

    def __init__(
        self, embedder: Embedder | str | None = None, sentence_weight: float = SENTENCE_WEIGHT
    ) -> None:
        self.name = "faiss"
        self.embedder = embedder  # an Embedder, a model id / folder for load_embedder, or None
        self.sentence_weight = check_weight(sentence_weight)  # 0 = embed whole chunks only
        self.chunks_: list[Chunk] | None = None

    def _embed(self, texts: list[str]) -> np.ndarray:
        vectors = np.asarray(self.embedder_.encode(texts), dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(texts) or vectors.shape[1] == 0:
            raise AdvisorError(
                f"embedder {getattr(self.embedder_, 'name', '?')!r} returned shape "
                f"{vectors.shape} for {len(texts)} texts; it must return one row per text"
            )
        # Normalise again: the protocol promises unit rows, a custom embedder may not.
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return np.ascontiguousarray(vectors / norms)

    def index(self, chunks: list[Chunk]) -> None:
        import faiss

        from advisor.runtime import cpu_count

        chunks = check_chunks(chunks, self.name)
        if self.embedder is None or isinstance(self.embedder, str):
            from advisor.retrieval.embeddings import load_embedder

            self.embedder_ = load_embedder(self.embedder)
        else:
            self.embedder_ = self.embedder
        faiss.omp_set_num_threads(cpu_count())
        units = make_units(chunks, self.sentence_weight)
        vectors = self._embed(units.texts)
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        self.index_ = index
        self.vectors_ = vectors
        self.units_ = units
        self.chunks_ = chunks

    def _query_vectors(self, queries: list[str]) -> tuple[list[int], np.ndarray | None]:
        live = [i for i, q in enumerate(queries) if has_words(q)]
        return live, (self._embed([queries[i] for i in live]) if live else None)

    def _pooled(self, vectors: np.ndarray) -> np.ndarray:
        """Chunk scores (rows of ``vectors``, chunks) from unit cosines, in bounded blocks."""
        import faiss

        out = np.empty((len(vectors), len(self.units_.starts)), dtype=np.float32)
        block = max(1, self._CELLS // len(self.vectors_))
        for start in range(0, len(vectors), block):
            # exact inner products (= cosines of unit rows) for every unit, then pooled
            sims = faiss.pairwise_distances(
                vectors[start : start + block], self.vectors_, faiss.METRIC_INNER_PRODUCT
            )
            out[start : start + block] = self.units_.pool(np.asarray(sims, dtype=np.float32))
        return out

    def score_batch(self, queries: list[str]) -> np.ndarray:
        """Every chunk's score per query, shape (queries, chunks): cosine with the chunk,
        mixed with its best sentence's (``sentence_weight``); zeros for no-word queries."""
        chunks = self.require_index()
        out = np.zeros((len(queries), len(chunks)), dtype=np.float32)
        live, vectors = self._query_vectors(queries)
        if vectors is not None:
            out[live] = self._pooled(vectors)
        return out

    def search_batch(self, queries: list[str], k: int = 5) -> list[list[Hit]]:
        chunks = self.require_index()
        check_k(k)
        results: list[list[Hit]] = [[] for _ in queries]
        live, vectors = self._query_vectors(queries)
        if vectors is None:
            return results
        scores = self._pooled(vectors)
        for row, i in enumerate(live):
            top = top_k(scores[row], k)
            results[i] = make_hits(chunks, top, scores[row][top])
        return results
