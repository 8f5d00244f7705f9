"""Build a retriever by name, and judge retrieval per document (recall@k, MRR)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from advisor.errors import AdvisorError
from advisor.retrieval.base import Hit, Retriever, check_k
from advisor.retrieval.bm25 import BM25Retriever
from advisor.retrieval.chunking import Chunk
from advisor.retrieval.dense import FaissRetriever
from advisor.retrieval.hybrid import HybridRetriever

RETRIEVER_KINDS = ("bm25", "faiss", "hybrid")
MRR_DEPTH = 10  # MRR counts the gold document only within the top 10 distinct documents


def build_retriever(
    kind: Literal["bm25", "faiss", "hybrid"], chunks: list[Chunk], embedder=None
) -> Retriever:
    """An indexed retriever of the given kind; ``embedder`` (default: ``load_embedder()``)
    is used by faiss and hybrid."""
    if kind == "bm25":
        retriever: Retriever = BM25Retriever()
    elif kind == "faiss":
        retriever = FaissRetriever(embedder)
    elif kind == "hybrid":
        retriever = HybridRetriever([BM25Retriever(), FaissRetriever(embedder)])
    else:
        raise AdvisorError(
            f"unknown retriever {kind!r}; choose one of: {', '.join(RETRIEVER_KINDS)}"
        )
    retriever.index(chunks)
    return retriever


def _collapse(hits: list[Hit], k: int) -> list[Hit]:
    """Keep each document's best chunk, re-ranked 1..k among distinct documents."""
    seen: set[str] = set()
    out: list[Hit] = []
    for hit in hits:
        if hit.doc_id not in seen:
            seen.add(hit.doc_id)
            out.append(Hit(hit.chunk_id, hit.doc_id, hit.text, hit.score, len(out) + 1))
            if len(out) == k:
                break
    return out


def search_documents(retriever: Retriever, queries: list[str], k: int = 5) -> list[list[Hit]]:
    """Top-k distinct documents per query, each represented by its best chunk.

    Searches deeper than k chunks, and deeper again for queries whose top chunks come from
    too few documents, until k documents are found or the retriever has no more hits.
    """
    check_k(k)
    queries = list(queries)
    total = len(getattr(retriever, "chunks_", None) or []) or None
    results: list[list[Hit]] = [[] for _ in queries]
    pending = list(range(len(queries)))
    depth = max(4 * k, 20)
    while pending:
        if total is not None:
            depth = min(depth, total)
        batch = retriever.search_batch([queries[i] for i in pending], depth)
        retry = []
        for i, hits in zip(pending, batch, strict=True):
            results[i] = _collapse(hits, k)
            exhausted = len(hits) < depth or (total is not None and depth >= total)
            if len(results[i]) < k and not exhausted:
                retry.append(i)
        pending = retry
        depth *= 4
    return results


def retrieval_metrics(
    retriever: Retriever,
    queries: list[str],
    gold_doc_ids: list[str],
    ks: Sequence[int] = (1, 5),
) -> dict[str, float]:
    """Document-level recall@k for each k, and MRR over the top 10 distinct documents.

    A query counts as found at k when its gold document is among the first k distinct
    documents retrieved (a document's chunks collapse to its best-ranked one). MRR is the
    mean of 1/rank of the gold document, counting 0 when it is not in the top 10.
    """
    queries, gold = list(queries), [str(g) for g in gold_doc_ids]
    if len(queries) != len(gold):
        raise AdvisorError(
            f"need one gold doc_id per query (got {len(queries)} queries, {len(gold)} doc_ids)"
        )
    if not queries:
        raise AdvisorError("retrieval metrics need at least one query with a gold doc_id")
    ks = [check_k(k, "each k in ks") for k in ks]
    documents = search_documents(retriever, queries, max([*ks, MRR_DEPTH]))
    ranks: list[int | None] = []
    for hits, doc_id in zip(documents, gold, strict=True):
        ranked = [h.doc_id for h in hits]
        ranks.append(ranked.index(doc_id) + 1 if doc_id in ranked else None)
    n = len(ranks)
    metrics = {f"recall@{k}": sum(r is not None and r <= k for r in ranks) / n for k in ks}
    metrics["mrr"] = sum(1.0 / r for r in ranks if r is not None and r <= MRR_DEPTH) / n
    return metrics
