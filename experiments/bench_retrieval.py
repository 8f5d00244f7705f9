"""Embedding, retrieval and the whole smoke pilot, each as the pilot runs them.

Every part here runs against an empty advisor cache of its own (``ADVISOR_CACHE`` pointed
at a temporary folder), so the first pass is a cold start a new user would see and the
cache-hit figure measures this run's second pass, not leftovers from earlier runs.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

from bench_common import sample_texts


@contextmanager
def fresh_cache():
    old = os.environ.get("ADVISOR_CACHE")
    with tempfile.TemporaryDirectory(prefix="advisor-bench-cache-") as folder:
        os.environ["ADVISOR_CACHE"] = folder
        try:
            yield folder
        finally:
            if old is None:
                os.environ.pop("ADVISOR_CACHE", None)
            else:
                os.environ["ADVISOR_CACHE"] = old


def _rate(fn: Callable[[], int], min_seconds: float) -> tuple[float, int]:
    """Items per second of ``fn`` (which returns how many it did), repeated to ``min_seconds``."""
    done, t0 = 0, time.perf_counter()
    while True:
        done += fn()
        elapsed = time.perf_counter() - t0
        if elapsed >= min_seconds:
            return done / elapsed, done


def _cached(embedder: Any, folder: str) -> Any:
    """The pilot's embedder is cached; the fake one (--tiny) is wrapped so the cache runs too."""
    from advisor.retrieval.embeddings import CachedEmbedder

    if isinstance(embedder, CachedEmbedder):
        return embedder
    return CachedEmbedder(embedder, os.path.join(folder, "embeddings"))


def retrieval_bench(sample: str, embedder_name: str | None, min_seconds: float = 1.0):
    """Embedder sentences/s (cold and cached), BM25 and FAISS queries/s, cache hit rate."""
    from advisor.retrieval import build_retriever, chunk_documents
    from advisor.retrieval.embeddings import CachedEmbedder, load_embedder

    _, examples, documents = sample_texts(sample)
    chunks = chunk_documents(documents, 200, 40)
    queries = [e.input for e in examples]
    texts = [c.text for c in chunks] + queries
    out: dict[str, Any] = {"sample": sample, "chunks": len(chunks), "queries": len(queries)}
    with fresh_cache() as folder:
        embedder = _cached(load_embedder(embedder_name), folder)
        out["embedder"] = embedder.name
        inner = embedder.inner if isinstance(embedder, CachedEmbedder) else embedder
        inner.encode(["warm-up: the model loads here, outside the timing"])
        t0 = time.perf_counter()
        embedder.encode(texts)
        cold = time.perf_counter() - t0
        out["embed_sentences"] = len(texts)
        out["embed_sentences_per_s"] = round(len(texts) / cold, 1)
        second = _cached(load_embedder(embedder_name), folder)  # as a new process would
        t0 = time.perf_counter()
        second.encode(texts)
        warm = time.perf_counter() - t0
        hits, misses = getattr(second, "hits", 0), getattr(second, "misses", len(texts))
        out["cached_sentences_per_s"] = round(len(texts) / warm, 1)
        out["cache_hit_rate"] = round(hits / max(1, hits + misses), 4)

        bm25 = build_retriever("bm25", chunks)
        qps, _ = _rate(lambda: len(bm25.search_batch(queries, 5)), min_seconds)
        out["bm25_queries_per_s"] = round(qps, 1)
        # FAISS as the pilot calls it: the query is embedded first (uncached encoder here,
        # so every query is really encoded), then searched; and the index search alone.
        faiss_r = build_retriever("faiss", chunks, embedder=embedder)
        faiss_r.embedder_ = inner
        qps, _ = _rate(lambda: len(faiss_r.search_batch(queries, 5)), min_seconds)
        out["faiss_queries_per_s"] = round(qps, 1)
        vectors = faiss_r._embed(queries)
        qps, _ = _rate(lambda: faiss_r.index_.search(vectors, 5)[0].shape[0], min_seconds)
        out["faiss_search_only_queries_per_s"] = round(qps, 1)
    return out


def pilot_bench(
    sample: str, embedder_name: str | None, arms: tuple[str, ...] = (), max_test: int | None = None
) -> dict[str, Any]:
    """The whole smoke pilot (built-in model, every arm the sample allows), cold cache."""
    from advisor.data.samples import get_sample
    from advisor.pilot.context import PilotSettings
    from advisor.pilot.runner import run_pilot

    s = get_sample(sample)
    with fresh_cache(), tempfile.TemporaryDirectory(prefix="advisor-bench-run-") as run_dir:
        settings = PilotSettings(
            data=str(s.data),
            kb=str(s.kb) if s.kb else None,
            model="builtin:tiny",
            task=s.task,
            format=s.format,
            embedder=embedder_name,
            arms=arms,
            max_test=max_test if max_test is not None else PilotSettings.max_test,
            out=run_dir,
        )
        t0 = time.perf_counter()
        results = run_pilot(settings)
        seconds = time.perf_counter() - t0
    arms_out = {
        name: {
            "status": block.get("status"),
            "seconds": block.get("seconds"),
            "train_seconds": (block.get("train") or {}).get("seconds"),
        }
        for name, block in results["arms"].items()
    }
    return {
        "sample": sample,
        "seconds": round(seconds, 2),
        "n_train": results["data"]["n_train"],
        "n_test": results["data"]["n_test"],
        "arms": arms_out,
        "all_ok": all(a["status"] == "ok" for a in arms_out.values()),
    }


def pilot_isolated(
    sample: str, embedder_name: str | None, arms: tuple[str, ...] = (), max_test: int | None = None
) -> dict[str, Any]:
    """``pilot_bench`` in a fresh interpreter, timed from process start: what a user running
    a first pilot waits for, Python and library imports included."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    args = json.dumps([sample, embedder_name, list(arms), max_test])
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--pilot", args],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"smoke pilot worker failed:\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["seconds_in_run_pilot"] = out["seconds"]
    out["seconds"] = round(seconds, 2)
    return out


if __name__ == "__main__":
    import json
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "--pilot":
        sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
        sample_, embedder_, arms_, max_test_ = json.loads(sys.argv[2])
        print(json.dumps(pilot_bench(sample_, embedder_, tuple(arms_), max_test_)))
    else:
        raise SystemExit("usage: bench_retrieval.py --pilot '[sample, embedder, arms, max_test]'")
