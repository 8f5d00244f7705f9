"""Term-based (BM25), embedding-based (FAISS) and hybrid retrieval behind one protocol.

Why three: the framework's workflow starts RAG with simple term-based retrieval (BM25),
then tries embedding search and a hybrid when information failures remain; the pilot
measures each on the user's own data so the recommendation can say which one is enough.

All retrievers work on chunks (``advisor.retrieval.chunking``) and return chunk-level ``Hit``s.
Retrieval quality is judged per *document* (``search_documents``, ``retrieval_metrics``)
because the pilot's gold labels name documents, not chunks.

Layout: ``base`` (Hit, protocol, shared checks), ``analysis`` (BM25 terms), ``units``
(each chunk plus its sentences, pooled back to a chunk score), one module per retriever,
``evaluate`` (building by name, document-level search and metrics).
"""

from __future__ import annotations

from advisor.retrieval.analysis import analyze
from advisor.retrieval.base import Hit, Retriever
from advisor.retrieval.bm25 import BM25Retriever
from advisor.retrieval.chunking import Chunk, chunk_documents
from advisor.retrieval.dense import FaissRetriever
from advisor.retrieval.evaluate import (
    MRR_DEPTH,
    RETRIEVER_KINDS,
    build_retriever,
    retrieval_metrics,
    search_documents,
)
from advisor.retrieval.hybrid import HybridRetriever

__all__ = [
    "MRR_DEPTH",
    "RETRIEVER_KINDS",
    "BM25Retriever",
    "Chunk",
    "FaissRetriever",
    "Hit",
    "HybridRetriever",
    "Retriever",
    "analyze",
    "build_retriever",
    "chunk_documents",
    "retrieval_metrics",
    "search_documents",
]
