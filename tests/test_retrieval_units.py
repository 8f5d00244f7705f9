"""Sentence units (each chunk plus its sentences) and confidence-weighted hybrid fusion."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor.errors import AdvisorError
from advisor.retrieval import (
    BM25Retriever,
    FaissRetriever,
    Hit,
    HybridRetriever,
    chunk_documents,
)
from advisor.retrieval.chunking import split_sentences
from advisor.retrieval.hybrid import confidence
from advisor.retrieval.units import SENTENCE_WEIGHT, Units, make_units


def doc(doc_id: str, text: str) -> SimpleNamespace:
    return SimpleNamespace(id=doc_id, text=text)


def n_words(text: str) -> int:
    return len(text.split())


# --- sentence splitting -----------------------------------------------------------------


def test_sentences_are_exact_slices_and_abbreviations_do_not_end_them():
    text = (
        "Pipes carry bytes between two processes. See below. A pipe has a read end and a "
        "write end, e.g. the first one. Data written to one end is read at the other end."
    )
    assert split_sentences(text) == [
        "Pipes carry bytes between two processes.",
        "See below. A pipe has a read end and a write end, e.g. the first one.",
        "Data written to one end is read at the other end.",
    ]


def test_short_tail_joins_the_last_sentence_and_tiny_texts_stay_whole():
    assert split_sentences("One two three four five six seven. Ok then.") == [
        "One two three four five six seven. Ok then."
    ]
    assert split_sentences("Hi. There.") == ["Hi. There."]
    assert split_sentences("  ") == []
    assert split_sentences("no full stop at all here") == ["no full stop at all here"]


@settings(max_examples=150, deadline=None)
@given(
    text=st.lists(
        st.sampled_from(["word", "Word", "end.", "End!", "why?", "e.g.", "\n", "  ", "東京。"]),
        max_size=80,
    ).map(" ".join),
    min_words=st.integers(1, 8),
)
def test_sentence_invariants(text, min_words):
    parts = split_sentences(text, min_words)
    words = re.findall(r"\S+", text)
    assert bool(parts) == bool(words)
    assert [w for p in parts for w in p.split()] == words  # in order, nothing lost or doubled
    position = 0
    for part in parts:
        position = text.index(part, position) + len(part)  # exact slices, in order
    if len(parts) > 1:
        assert all(n_words(p) >= min_words for p in parts)


# --- units and pooling ------------------------------------------------------------------


def test_units_are_each_chunk_then_its_sentences():
    chunks = chunk_documents(
        [
            doc("a", "The first sentence has enough words. The second one has enough too."),
            doc("b", "A single sentence only, nothing else here."),
        ]
    )
    units = make_units(chunks)
    assert units.texts == [
        chunks[0].text,
        "The first sentence has enough words.",
        "The second one has enough too.",
        chunks[1].text,  # one sentence: the chunk alone, not twice
    ]
    assert units.starts.tolist() == [0, 3]
    assert make_units(chunks, 0).texts == [c.text for c in chunks]  # weight 0: no sentences


def test_pool_mixes_the_best_unit_with_the_chunk_by_weight():
    units = Units(["c0", "s0a", "s0b", "c1"], np.array([0, 3]), weight=0.6)
    scores = np.array([[0.2, 0.9, 0.5, 0.4], [0.7, 0.1, 0.3, 0.8]], dtype=np.float32)
    # chunk 0: best unit 0.9 (a sentence), own score 0.2; chunk 1 is its only unit
    expected = [[0.6 * 0.9 + 0.4 * 0.2, 0.4], [0.6 * 0.7 + 0.4 * 0.7, 0.8]]
    assert units.pool(scores) == pytest.approx(np.array(expected), rel=1e-6)
    assert pytest.approx(0.6) == SENTENCE_WEIGHT


@pytest.mark.parametrize("make", [BM25Retriever, lambda **kw: FaissRetriever("hashing", **kw)])
@pytest.mark.parametrize("bad", [-0.1, 1.5, True, "high", None])
def test_sentence_weight_is_validated(make, bad):
    with pytest.raises(AdvisorError, match=r"sentence_weight must be a number in \[0, 1\]"):
        make(sentence_weight=bad)


FILLER = "Unrelated words about cooking rice and baking bread fill this sentence."


def test_bm25_prefers_the_chunk_whose_sentence_holds_every_query_term():
    # The same words in both chunks (so whole-chunk BM25 ties); only where they sit differs.
    tail = "echo foxtrot golf hotel."
    spread = doc(
        "spread", f"Glacier lakes alpha bravo charlie delta. {FILLER} Turquoise water {tail}"
    )
    together = doc(
        "together", f"Glacier lakes turquoise water alpha bravo. {FILLER} Charlie delta {tail}"
    )
    chunks = chunk_documents([spread, together])
    query = "glacier lakes turquoise water"
    whole = BM25Retriever(sentence_weight=0)
    whole.index(chunks)
    scores = whole.score_batch([query])[0]
    assert scores[0] == pytest.approx(scores[1])  # a whole-chunk score cannot tell them apart
    mixed = BM25Retriever()
    mixed.index(chunks)
    assert mixed.search(query, k=1)[0].doc_id == "together"


def test_faiss_scores_follow_the_pooling_formula(fake_embedder):
    text = "Otters eat sea urchins every day. Kelp forests grow where otters live."
    chunks = chunk_documents([doc("otters", text), doc("rome", "Rome was founded in 753 BC.")])
    query = "what do otters eat"
    r = FaissRetriever(fake_embedder)
    r.index(chunks)
    vectors = fake_embedder.encode([query, text, *split_sentences(text)])
    cosines = vectors[1:] @ vectors[0]
    expected = SENTENCE_WEIGHT * cosines.max() + (1 - SENTENCE_WEIGHT) * cosines[0]
    assert r.score_batch([query])[0][0] == pytest.approx(expected, abs=1e-5)
    [hit] = r.search(query, k=1)
    assert hit.chunk_id == "otters#0" and hit.text == text  # the whole chunk comes back
    assert hit.score == pytest.approx(expected, abs=1e-5)


def test_faiss_search_is_the_top_of_its_scores(fake_embedder):
    docs = [
        doc(f"d{i}", f"Topic {i} sentence one here. Another line about item {i}.")
        for i in range(30)
    ]
    chunks = chunk_documents(docs)
    r = FaissRetriever(fake_embedder)
    r.index(chunks)
    queries = ["item 7", "topic 12 sentence", "another line"]
    scores = r.score_batch(queries)
    for row, hits in zip(scores, r.search_batch(queries, k=4), strict=True):
        order = np.lexsort((np.arange(len(row)), -row))[:4]
        assert [h.chunk_id for h in hits] == [chunks[i].chunk_id for i in order]


# --- confidence-weighted fusion ---------------------------------------------------------


class ScoredRetriever:
    """Fixed scores per chunk (the same for every query); exposes score_batch like ours."""

    def __init__(self, name: str, scores: list[float]):
        self.name = name
        self.scores = np.asarray(scores, dtype=np.float32)

    def index(self, chunks):
        self.chunks_ = list(chunks)

    def score_batch(self, queries):
        return np.tile(self.scores, (len(queries), 1))

    def search_batch(self, queries, k=5):
        order = np.argsort(-self.scores, kind="stable")[:k]
        hits = [
            Hit(self.chunks_[i].chunk_id, self.chunks_[i].doc_id, "", float(self.scores[i]), r)
            for r, i in enumerate(order, 1)
        ]
        return [hits for _ in queries]

    def search(self, query, k=5):
        return self.search_batch([query], k)[0]


def _ten_chunks():
    return chunk_documents([doc(f"d{i}", f"text {i}") for i in range(10)])


def test_confidence_is_the_z_score_of_the_best_score():
    rows = np.array([[1.0, 2.0, 3.0, 10.0], [5.0, 5.0, 5.0, 5.0]])
    expected = (10 - rows[0].mean()) / rows[0].std()
    assert confidence(rows)[:, 0] == pytest.approx([expected, 0.0])


def test_adaptive_fusion_matches_its_formula():
    a = [3, 0, 0, 10, 0, 0, 0, 0, 0, 0]  # sure: d3 far ahead
    b = [0.52, 0.50, 0.49, 0.40, 0.48, 0.47, 0.46, 0.45, 0.44, 0.43]  # guessing: all alike
    hybrid = HybridRetriever([ScoredRetriever("a", a), ScoredRetriever("b", b)], weights=[1, 2])
    hybrid.index(_ten_chunks())

    def part(s):
        s = np.asarray(s, dtype=np.float64)
        return (s - s.min()) / (s.max() - s.min()) * (s.max() - s.mean()) / s.std()

    expected = (1 * part(a) + 2 * part(b)) / 3
    hits = hybrid.search("q", k=10)
    assert [h.score for h in hits] == pytest.approx(sorted(expected, reverse=True), rel=1e-5)


def test_a_confident_retriever_outweighs_a_guessing_one():
    a = [3, 0, 0, 10, 0, 0, 0, 0, 0, 0]
    b = [0.52, 0.50, 0.49, 0.40, 0.48, 0.47, 0.46, 0.45, 0.44, 0.43]
    chunks = _ten_chunks()
    adaptive = HybridRetriever([ScoredRetriever("a", a), ScoredRetriever("b", b)])
    adaptive.index(chunks)
    plain = HybridRetriever([ScoredRetriever("a", a), ScoredRetriever("b", b)], adaptive=False)
    plain.index(chunks)
    assert plain.search("q", k=1)[0].doc_id == "d0"  # b's flat top wins on [0, 1] scales
    assert adaptive.search("q", k=1)[0].doc_id == "d3"  # a's clear winner wins


def test_a_retriever_with_no_opinion_leaves_the_other_in_charge():
    a = [0, 0, 5, 1, 0, 0, 0, 0, 0, 0]
    hybrid = HybridRetriever([ScoredRetriever("a", a), ScoredRetriever("flat", [0.3] * 10)])
    hybrid.index(_ten_chunks())
    assert [h.doc_id for h in hybrid.search("q", k=2)] == ["d2", "d3"]
