"""Embedding retrieval: exact cosine search with faiss over a sentence embedder."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from advisor.chunking import Chunk
from advisor.errors import AdvisorError
from advisor.retrieval.base import (
    Hit,
    IndexedRetriever,
    check_chunks,
    check_k,
    has_words,
    make_hits,
)

if TYPE_CHECKING:
    from advisor.embeddings import Embedder


class FaissRetriever(IndexedRetriever):
    """Exact cosine search (faiss ``IndexFlatIP`` over L2-normalised embeddings).

    Exact search is the right choice at pilot scale (thousands of chunks): nothing to train
    and no recall lost to approximation. ``embedder=None`` means ``load_embedder()``: the
    bundled all-MiniLM-L6-v2 behind the on-disk embedding cache, so re-runs re-encode only
    new text; a string is a sentence-transformers model id or folder for ``load_embedder``.
    Always returns min(k, chunks) hits for a query with words.
    """

    def __init__(self, embedder: Embedder | str | None = None) -> None:
        self.name = "faiss"
        self.embedder = embedder  # an Embedder, a model id / folder for load_embedder, or None
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
            from advisor.embeddings import load_embedder

            self.embedder_ = load_embedder(self.embedder)
        else:
            self.embedder_ = self.embedder
        faiss.omp_set_num_threads(cpu_count())
        vectors = self._embed([c.text for c in chunks])
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        self.index_ = index
        self.vectors_ = vectors
        self.chunks_ = chunks

    def _query_vectors(self, queries: list[str]) -> tuple[list[int], np.ndarray | None]:
        live = [i for i, q in enumerate(queries) if has_words(q)]
        return live, (self._embed([queries[i] for i in live]) if live else None)

    def score_batch(self, queries: list[str]) -> np.ndarray:
        """Cosine of every chunk per query, shape (queries, chunks); zeros for no-word queries."""
        self.require_index()
        out = np.zeros((len(queries), len(self.vectors_)), dtype=np.float32)
        live, vectors = self._query_vectors(queries)
        if vectors is not None:
            out[live] = vectors @ self.vectors_.T
        return out

    def search_batch(self, queries: list[str], k: int = 5) -> list[list[Hit]]:
        chunks = self.require_index()
        check_k(k)
        results: list[list[Hit]] = [[] for _ in queries]
        live, vectors = self._query_vectors(queries)
        if vectors is None:
            return results
        scores, ids = self.index_.search(vectors, min(k, len(chunks)))
        for row, i in enumerate(live):
            keep = ids[row] >= 0
            results[i] = make_hits(chunks, ids[row][keep].tolist(), scores[row][keep].tolist())
        return results
