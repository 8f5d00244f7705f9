"""Measure document-level retrieval (recall@1/@5, MRR) on the SQuAD-like proxies.

Why: the pilot reports retrieval recall for bm25, faiss and hybrid with the library's
defaults; this script checks those defaults, and the alternatives we considered (chunk
sizes, sentence units, fusion methods and weights, BM25 k1/b), on the proxies that
``retrieval_proxy.py`` builds from text already on this machine. Metrics come from
``advisor.retrieval.retrieval_metrics``, exactly what the pilot reports. The embedder is the
real all-MiniLM-L6-v2 behind the on-disk cache (``load_embedder()``), so a re-run encodes
nothing new.

    python experiments/retrieval_eval.py [--proxy-dir DIR] [--only NAME,...] [--json FILE]

Experiments: ``defaults`` (as the pilot builds them, per proxy), ``before_after``,
``chunking``, ``sentences`` (sentence weight), ``fusion``, ``bm25`` (k1, b) and
``multisentence`` (the synthetic corpus of ``tests/test_retrieval.py``, fake embedder).
Prints one Markdown table per experiment (the tables in ``experiments/README.md``); rows
pool the questions of every proxy at one question level (``squad``, ``hard``, ``hand``).
Generates the proxies first when ``--proxy-dir`` holds none.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout without installing

from advisor.retrieval import (  # noqa: E402
    BM25Retriever,
    FaissRetriever,
    HybridRetriever,
    build_retriever,
    chunk_documents,
    retrieval_metrics,
)
from advisor.retrieval.base import has_words, make_hits, top_k  # noqa: E402

KINDS = ("bm25", "faiss", "hybrid")
LEVELS = ("squad", "hard", "hand")


def _load_sibling(name: str):
    spec = importlib.util.spec_from_file_location(f"_eval_{name}", HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None, name
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class MemoEmbedder:
    """Keeps vectors in memory across configurations (the disk cache still persists them)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self.memo: dict[str, np.ndarray] = {}

    def encode(self, texts: list[str]) -> np.ndarray:
        missing = sorted({t for t in texts if t not in self.memo})
        if missing:
            for text, vec in zip(missing, self.inner.encode(missing), strict=True):
                self.memo[text] = vec
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self.memo[t] for t in texts])


class Proxy(SimpleNamespace):
    name: str
    level: str
    docs: list
    queries: list[str]
    gold: list[str]


def load_proxy(folder: Path) -> Proxy:
    kb = [json.loads(line) for line in (folder / "kb.jsonl").read_text("utf-8").splitlines()]
    data = [json.loads(line) for line in (folder / "data.jsonl").read_text("utf-8").splitlines()]
    return Proxy(
        name=folder.name,
        level=folder.name.rsplit("-", 1)[1],
        docs=[SimpleNamespace(id=r["id"], text=r["text"]) for r in kb],
        queries=[d["input"] for d in data],
        gold=[d["doc_id"] for d in data],
    )


# --- fusion variants we compared against the library's min-max score fusion -------------


def _normalise(scores: np.ndarray, how: str) -> np.ndarray:
    if how == "zscore":
        mean, std = scores.mean(axis=1, keepdims=True), scores.std(axis=1, keepdims=True)
        return np.where(std > 0, (scores - mean) / np.where(std > 0, std, 1), 0)
    n = min(int(how.removeprefix("top")), scores.shape[1])  # min-max over the top n only
    low = -np.partition(-scores, n - 1, axis=1)[:, n - 1 : n]
    span = scores.max(axis=1, keepdims=True) - low
    return np.clip(np.where(span > 0, (scores - low) / np.where(span > 0, span, 1), 0), 0, None)


class NormHybrid(HybridRetriever):
    """Score fusion with another per-query normalisation (``zscore`` or ``top<N>``)."""

    def __init__(self, retrievers, norm: str = "zscore", **kwargs) -> None:
        super().__init__(retrievers, **kwargs)
        self.norm = norm

    def _score_fusion(self, queries, k):
        chunks = self.require_index()
        fused = np.zeros((len(queries), len(chunks)), dtype=np.float32)
        for retriever, weight in zip(self.retrievers, self.weights, strict=True):
            fused += weight * _normalise(self._scores(retriever, queries), self.norm)
        out = []
        for query, row in zip(queries, fused, strict=True):
            top = top_k(row, k) if has_words(query) and row.any() else []
            out.append(make_hits(chunks, top, row[top]) if len(top) else [])
        return out


# --- running and reporting ---------------------------------------------------------------

Factory = Callable[[object, list], object]  # (embedder, chunks) -> indexed retriever


def indexed(retriever, chunks):
    retriever.index(chunks)
    return retriever


def run(proxies: list[Proxy], chunking: tuple[int, int], factories: dict[str, Factory], emb):
    """metrics[proxy name][retriever label] for every proxy."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for p in proxies:
        chunks = chunk_documents(p.docs, *chunking)
        out[p.name] = {}
        for label, factory in factories.items():
            retriever = factory(emb, chunks)
            out[p.name][label] = retrieval_metrics(retriever, p.queries, p.gold)
    return out


def pooled(proxies: list[Proxy], results, level: str, label: str) -> dict[str, float]:
    """Metrics over every question of one level (proxies weighted by their question count)."""
    chosen = [p for p in proxies if p.level == level]
    n = sum(len(p.queries) for p in chosen)
    total: dict[str, float] = defaultdict(float)
    for p in chosen:
        for key, value in results[p.name][label].items():
            total[key] += value * len(p.queries) / n
    return dict(total) | {"n": n}


def fmt(m: dict[str, float]) -> str:
    return f"{m['recall@1']:.3f} / {m['recall@5']:.3f} / {m['mrr']:.3f}"


def table(title: str, header: list[str], rows: list[list[str]]) -> str:
    lines = [f"\n#### {title}\n", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def triple(sentence_weight: float | None = None, **hybrid_kwargs) -> dict[str, Factory]:
    """bm25, faiss and their hybrid, with library defaults unless overridden."""
    kw = {} if sentence_weight is None else {"sentence_weight": sentence_weight}
    return {
        "bm25": lambda emb, chunks: indexed(BM25Retriever(**kw), chunks),
        "faiss": lambda emb, chunks: indexed(FaissRetriever(emb, **kw), chunks),
        "hybrid": lambda emb, chunks: indexed(
            HybridRetriever([BM25Retriever(**kw), FaissRetriever(emb, **kw)], **hybrid_kwargs),
            chunks,
        ),
    }


def sweep(proxies, emb, title, label_name, configs) -> tuple[str, dict]:
    """One row per (configuration, level): R@1 / R@5 / MRR of bm25, faiss and hybrid."""
    rows, raw = [], {}
    levels = [lv for lv in LEVELS if any(p.level == lv for p in proxies)]
    for label, (chunking, factories) in configs.items():
        results = run(proxies, chunking, factories, emb)
        raw[label] = results
        for level in levels:
            cells = [fmt(pooled(proxies, results, level, k)) for k in factories]
            n = pooled(proxies, results, level, next(iter(factories)))["n"]
            rows.append([label, f"{level} ({n})", *cells])
    head = [
        label_name,
        "questions",
        *(f"{k} R@1 / R@5 / MRR" for k in next(iter(configs.values()))[1]),
    ]
    return table(title, head, rows), raw


# --- experiments -------------------------------------------------------------------------


def exp_defaults(proxies, emb, chunking):
    # exactly what the pilot builds: build_retriever(kind, chunks, embedder)
    factories = {k: (lambda emb, chunks, k=k: build_retriever(k, chunks, emb)) for k in KINDS}
    results = run(proxies, chunking, factories, emb)
    rows = [[p.name, str(len(p.docs)), str(len(p.queries))]
            + [fmt(results[p.name][k]) for k in KINDS] for p in proxies]  # fmt: skip
    for level in LEVELS:
        if any(p.level == level for p in proxies):
            n = pooled(proxies, results, level, "bm25")["n"]
            rows.append([f"**all {level}**", "", str(n)]
                        + [fmt(pooled(proxies, results, level, k)) for k in KINDS])  # fmt: skip
    head = ["proxy", "paragraphs", "questions", *(f"{k} R@1 / R@5 / MRR" for k in KINDS)]
    return table(f"Library defaults (chunks {chunking[0]}/{chunking[1]})", head, rows), results


def exp_before_after(proxies, emb, chunking):
    configs = {
        "before: whole chunks, plain min-max": (chunking, triple(0.0, adaptive=False)),
        "after: + sentence units, confidence fusion": (chunking, triple()),
    }
    return sweep(proxies, emb, "Before and after this change", "defaults", configs)


def exp_chunking(proxies, emb, chunking):
    sizes = [(60, 15), (100, 20), (150, 30), (200, 40)]
    configs = {f"{w}/{o}": ((w, o), triple()) for w, o in sizes}
    for w, o in (sizes[0], sizes[2]):  # without sentence units, for comparison
        configs[f"{w}/{o}, whole chunks only"] = ((w, o), triple(0.0))
    return sweep(proxies, emb, "Chunk size (words/overlap)", "chunks", configs)


def exp_multisentence(proxies, emb, chunking):
    """The synthetic corpus of tests/test_retrieval.py (half its questions combine facts from
    different sentences) with the fake embedder: how far the sentence weight can go."""
    path = HERE.parent / "tests" / "test_retrieval.py"
    spec = importlib.util.spec_from_file_location("_eval_corpus", path)
    assert spec is not None and spec.loader is not None
    corpus = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(corpus)
    from advisor.retrieval.embeddings import HashingEmbedder

    docs, questions = corpus.squad_like()
    chunks = chunk_documents(docs)
    fake = HashingEmbedder(256)
    rows, raw = [], {}
    for weight in (0.0, 0.5, 0.6, 0.7, 1.0):
        for label in ("clean", "misspelt"):
            queries = [corpus.with_typos(q) if label == "misspelt" else q for q, _ in questions]
            gold = [d for _, d in questions]
            factories = triple(weight)
            res = {
                k: retrieval_metrics(f(fake, chunks), queries, gold) for k, f in factories.items()
            }
            raw[f"{weight} {label}"] = res
            rows.append([f"{weight}", label, *(f"{res[k]['recall@5']:.3f}" for k in KINDS)])
    head = ["weight", "questions", "bm25 R@5", "faiss R@5 (fake embedder)", "hybrid R@5"]
    return table("Multi-sentence synthetic corpus (120 questions)", head, rows), raw


def exp_sentences(proxies, emb, chunking):
    configs = {f"{w}": (chunking, triple(w)) for w in (0.0, 0.3, 0.5, 0.6, 0.7, 1.0)}
    return sweep(proxies, emb, "Sentence units (share of the best sentence)", "weight", configs)


def exp_fusion(proxies, emb, chunking):
    def hybrid(**kwargs):
        cls = NormHybrid if "norm" in kwargs else HybridRetriever
        return {
            "hybrid": lambda emb, chunks: indexed(
                cls([BM25Retriever(), FaissRetriever(emb)], **kwargs), chunks
            )
        }

    configs = {
        "confidence x min-max 1:1 (default)": (chunking, hybrid()),
        "min-max 1:1 (previous default)": (chunking, hybrid(adaptive=False)),
        "confidence x min-max bm25 2:1": (chunking, hybrid(weights=[2, 1])),
        "confidence x min-max faiss 1:2": (chunking, hybrid(weights=[1, 2])),
        "z-score 1:1": (chunking, hybrid(norm="zscore")),
        "min-max over top 20": (chunking, hybrid(norm="top20")),
        "rrf k=60": (chunking, hybrid(fusion="rrf")),
        "rrf k=10": (chunking, hybrid(fusion="rrf", k_rrf=10)),
    }
    return sweep(proxies, emb, "Hybrid fusion", "fusion", configs)


def exp_bm25(proxies, emb, chunking):
    configs = {
        f"k1={k1} b={b}": (
            chunking,
            {"bm25": lambda emb, chunks, k1=k1, b=b: indexed(BM25Retriever(k1=k1, b=b), chunks)},
        )
        for k1 in (0.9, 1.2, 1.5, 2.0)
        for b in (0.4, 0.75, 0.9)
    }
    return sweep(proxies, emb, "BM25 k1 / b", "bm25", configs)


EXPERIMENTS = {
    "defaults": exp_defaults,
    "before_after": exp_before_after,
    "chunking": exp_chunking,
    "sentences": exp_sentences,
    "fusion": exp_fusion,
    "bm25": exp_bm25,
    "multisentence": exp_multisentence,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    proxy = _load_sibling("retrieval_proxy")
    parser.add_argument("--proxy-dir", type=Path, default=proxy.DEFAULT_OUT)
    parser.add_argument("--only", default=",".join(EXPERIMENTS))
    parser.add_argument("--chunk", default="150,30", help="chunking for the other experiments")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if not any(args.proxy_dir.glob("*/data.jsonl")):
        proxy.generate(args.proxy_dir)
    folders = sorted(p.parent for p in args.proxy_dir.glob("*/data.jsonl"))
    proxies = [load_proxy(f) for f in folders]
    from advisor.retrieval.embeddings import load_embedder

    emb = MemoEmbedder(load_embedder())
    chunking = tuple(int(x) for x in args.chunk.split(","))
    results = {}
    for name in args.only.split(","):
        start = time.perf_counter()
        text, raw = EXPERIMENTS[name](proxies, emb, chunking)
        print(text, f"\n\n({name}: {time.perf_counter() - start:.0f} s)", flush=True)
        results[name] = raw
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n", "utf-8")


if __name__ == "__main__":
    main()
