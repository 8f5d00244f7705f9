"""Chunking, BM25 / FAISS / hybrid retrieval and document-level retrieval metrics."""

from __future__ import annotations

import random
import re
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor.errors import AdvisorError, DataError
from advisor.retrieval import (
    MRR_DEPTH,
    BM25Retriever,
    Chunk,
    FaissRetriever,
    Hit,
    HybridRetriever,
    Retriever,
    analyze,
    build_retriever,
    chunk_documents,
    retrieval_metrics,
    search_documents,
)

KINDS = ("bm25", "faiss", "hybrid")


def doc(doc_id: str, text: str) -> SimpleNamespace:
    return SimpleNamespace(id=doc_id, text=text)


def words(text: str) -> list[str]:
    return re.findall(r"\S+", text)


# --- a synthetic SQuAD-like corpus ------------------------------------------------------

_ONSETS = [
    "b",
    "d",
    "f",
    "g",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "z",
    "br",
    "dr",
    "kr",
    "tr",
    "sk",
    "st",
]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ou"]
_CODAS = ["", "n", "r", "l", "s", "th", "k"]
_TRADES = [
    "amber", "salted kelp", "copper wire", "wool blankets", "glass beads", "pickled herring",
    "clay pipes", "hemp rope", "heather honey", "roofing slate", "pine timber", "pear cider",
]  # fmt: skip
_FESTIVALS = ["Lantern Regatta", "Harvest Fair", "Winter Choir", "Kite Week", "Salt March"]
_SEASONS = ["spring", "summer", "autumn", "winter"]
_ROLES = [
    ("merchant", "trader"), ("monk", "friar"), ("shipwright", "boat builder"),
    ("miner", "quarryman"), ("general", "military commander"), ("weaver", "textile maker"),
]  # fmt: skip


def _name(rng: random.Random, used: set[str]) -> str:
    while True:
        n = rng.choice([2, 3])
        parts = [rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(n)]
        word = "".join(parts).capitalize()
        if word not in used:
            used.add(word)
            return word


def squad_like(n_docs: int = 60, seed: int = 0):
    """Paragraphs about fictional towns that share a vocabulary, two questions each.

    One question names the town but paraphrases the rest ("established" for "founded",
    "boat builder" for "shipwright"); the other never names it and must combine attributes
    that each appear in several paragraphs, in other inflections ("exports" / "export").
    """
    rng = random.Random(seed)
    used: set[str] = set()
    docs, questions = [], []
    for i in range(n_docs):
        town, region = _name(rng, used), _name(rng, used)
        founder = f"{_name(rng, used)} {_name(rng, used)}"
        trade, trade2 = rng.sample(_TRADES, 2)
        festival, season = rng.choice(_FESTIVALS), rng.choice(_SEASONS)
        role, role_paraphrase = rng.choice(_ROLES)
        tail = [
            f"Today about {rng.randint(2, 90) * 1000:,} people live there.",
            f"The economy of the town depends on the export of {trade} and {trade2}.",
            f"Every {season} it holds the {festival}, which draws visitors from the region.",
        ]
        rng.shuffle(tail)
        text = " ".join(
            [
                f"{town} is a town in the province of {region}.",
                f"It was founded in {rng.randint(1200, 1899)} by the {role} {founder}, "
                "who built the first harbour walls.",
                *tail,
            ]
        )
        doc_id = f"town-{i:03d}"
        docs.append(doc(doc_id, text))
        questions.append((f"Which {role_paraphrase} established {town}, and when?", doc_id))
        questions.append(
            (f"Which town exports {trade} and celebrates the {festival} in {season}?", doc_id)
        )
    return docs, questions


def with_typos(question: str) -> str:
    """Swap two inner letters of every capitalised word: BM25 loses the names, n-grams don't."""
    out = []
    for word in question.split():
        if word[0].isupper() and len(word) > 4:
            i = len(word) // 2
            word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        out.append(word)
    return " ".join(out)


@pytest.fixture(scope="module")
def corpus():
    docs, questions = squad_like()
    return chunk_documents(docs), [q for q, _ in questions], [d for _, d in questions]


SMALL = [
    doc("cats", "The cat sat on the mat. Cats purr when they are happy."),
    doc("dogs", "Dogs bark at the postman and run in the park."),
    doc("tokyo", "東京は日本の首都です。 The Café in Zürich serves crème brûlée."),
    doc("rivers", "The Nile is the longest river in Africa; the Amazon carries the most water."),
]


# --- chunking ---------------------------------------------------------------------------


def test_short_document_is_one_chunk_that_maps_back():
    text = "  Short text with spaces around.  "
    [chunk] = chunk_documents([doc("a", text)])
    assert chunk == Chunk("a#0", "a", "Short text with spaces around.", 2, 32)
    assert text[chunk.start : chunk.end] == chunk.text


def test_long_document_is_cut_into_overlapping_windows():
    text = " ".join(f"w{i}" for i in range(100))  # no sentence ends: plain word windows
    chunks = chunk_documents([doc("long", text)], max_words=30, overlap_words=10)
    assert [c.chunk_id for c in chunks] == [f"long#{i}" for i in range(len(chunks))]
    assert [words(c.text)[0] for c in chunks] == ["w0", "w20", "w40", "w60", "w80"]
    assert words(chunks[-1].text)[-1] == "w99"
    for c in chunks:
        assert len(words(c.text)) <= 30
        assert text[c.start : c.end] == c.text


def test_cuts_prefer_sentence_ends_and_next_chunk_starts_a_sentence():
    sentences = [f"Sentence {i} has exactly seven words here." for i in range(12)]
    text = " ".join(sentences)
    chunks = chunk_documents([doc("d", text)], max_words=25, overlap_words=8)
    assert len(chunks) > 2
    for c in chunks:
        assert c.text.endswith("."), c.text
        assert c.text.startswith("Sentence"), c.text
        assert len(words(c.text)) <= 25


def test_cuts_prefer_paragraph_breaks_over_sentence_ends():
    para1 = " ".join(["One short sentence here."] * 4)  # 16 words
    para2 = " ".join(["Another sentence follows on."] * 4)
    chunks = chunk_documents([doc("d", f"{para1}\n\n{para2}")], max_words=24, overlap_words=4)
    assert chunks[0].text == para1


def test_overlap_zero_partitions_the_words():
    text = " ".join(f"w{i}" for i in range(55))
    chunks = chunk_documents([doc("d", text)], max_words=10, overlap_words=0)
    assert [w for c in chunks for w in words(c.text)] == words(text)


@settings(max_examples=150, deadline=None)
@given(
    text=st.lists(
        st.sampled_from(list("ab. \n!?") + ["\n\n", "ü", "東", "😀", "\u0301", "\t", "ab."]),
        max_size=300,
    ).map("".join),
    max_words=st.integers(1, 30),
    overlap_fraction=st.floats(0, 0.99),
)
def test_chunking_invariants(text, max_words, overlap_fraction):
    overlap = min(int(max_words * overlap_fraction), max_words - 1)
    chunks = chunk_documents([doc("d", text)], max_words=max_words, overlap_words=overlap)
    all_words = list(re.finditer(r"\S+", text))
    assert bool(chunks) == bool(all_words)
    covered = set()
    for i, c in enumerate(chunks):
        assert c.chunk_id == f"d#{i}" and c.doc_id == "d"
        assert text[c.start : c.end] == c.text
        assert 1 <= len(words(c.text)) <= max_words
        covered |= {m.start() for m in all_words if c.start <= m.start() < c.end}
    assert covered == {m.start() for m in all_words}  # every word lands in some chunk
    for prev, nxt in zip(chunks, chunks[1:], strict=False):
        assert nxt.start > prev.start
        shared = [m for m in all_words if nxt.start <= m.start() < prev.end]
        assert len(shared) <= overlap


@pytest.mark.parametrize(
    ("max_words", "overlap", "message"),
    [
        (0, 0, "max_words must be a positive integer (not 0)"),
        (True, 0, "max_words must be a positive integer"),
        (10, -1, "overlap_words must be a non-negative integer (not -1)"),
        (10, 10, "overlap_words must be smaller than max_words"),
        (10, 2.5, "overlap_words must be a non-negative integer"),
    ],
)
def test_bad_chunk_sizes_say_what_is_allowed(max_words, overlap, message):
    with pytest.raises(AdvisorError, match=re.escape(message)):
        chunk_documents([doc("a", "text")], max_words=max_words, overlap_words=overlap)


def test_bad_documents_are_data_errors():
    with pytest.raises(DataError, match="appears more than once"):
        chunk_documents([doc("a", "x"), doc("a", "y")])
    with pytest.raises(DataError, match="no 'id' and 'text'"):
        chunk_documents([{"id": "a", "text": "dicts are not documents"}])
    with pytest.raises(DataError, match="text must be a string"):
        chunk_documents([doc("a", None)])


def test_empty_documents_yield_no_chunks_and_ids_follow_documents():
    chunks = chunk_documents([doc("empty", "  \n "), doc(7, "numeric id")])
    assert [(c.chunk_id, c.doc_id) for c in chunks] == [("7#0", "7")]


def test_unicode_chunks_map_back_exactly():
    text = "Ça va? 東京は日本の首都です。 naïve cafe\u0301 😀 " * 20
    chunks = chunk_documents([doc("u", text)], max_words=12, overlap_words=3)
    assert len(chunks) > 1
    assert all(text[c.start : c.end] == c.text for c in chunks)


# --- analysis ---------------------------------------------------------------------------


def test_analyze_normalises_case_punctuation_stopwords_and_accents():
    assert analyze("What is THE Café's, ... naïve!?", stem=False) == ["cafe", "naive"]
    assert analyze("?! ... --") == []
    assert analyze("") == []
    assert analyze("東京", stem=False) == ["東", "京"]


def test_analyze_stems_inflections():
    pytest.importorskip("Stemmer")
    assert analyze("exports") == analyze("export")
    assert analyze("Nations founded") == analyze("nation founding")


# --- every retriever (one conformance suite) --------------------------------------------


@pytest.fixture
def small_chunks():
    return chunk_documents(SMALL)


@pytest.mark.parametrize("kind", KINDS)
def test_retriever_conformance(kind, small_chunks, fake_embedder):
    r = build_retriever(kind, small_chunks, embedder=fake_embedder)
    assert isinstance(r, Retriever) and r.name == kind
    by_id = {c.chunk_id: c for c in small_chunks}
    for query in ["", "   ", "?!", "...", "-- //"]:
        assert r.search(query) == []
    hits = r.search("cat on the mat", k=50)  # k larger than the corpus
    assert 1 <= len(hits) <= len(small_chunks)
    assert len({h.chunk_id for h in hits}) == len(hits)
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:], strict=False))
    assert hits[0].doc_id == "cats"
    for h in hits:
        assert (h.doc_id, h.text) == (by_id[h.chunk_id].doc_id, by_id[h.chunk_id].text)
    batch = r.search_batch(["cat on the mat", "", "longest river"], k=2)
    single = r.search("cat on the mat", k=2)
    assert [h.chunk_id for h in batch[0]] == [h.chunk_id for h in single]
    assert [h.score for h in batch[0]] == pytest.approx([h.score for h in single], rel=1e-5)
    assert batch[1] == []
    assert batch[2][0].doc_id == "rivers"
    assert r.search("cafe zurich", k=1)[0].doc_id == "tokyo"  # accents, unicode
    assert r.search("日本の首都", k=1)[0].doc_id == "tokyo"
    for bad_k in (0, -1, 1.5):
        with pytest.raises(AdvisorError, match="k must be a positive integer"):
            r.search("cat", k=bad_k)


@pytest.mark.parametrize(
    "make",
    [BM25Retriever, lambda: FaissRetriever(SimpleNamespace(name="x", encode=None))],
)
def test_search_before_index_and_empty_index_are_clear_errors(make):
    r = make()
    with pytest.raises(AdvisorError, match=r"call index\(chunks\) before searching"):
        r.search("cat")
    with pytest.raises(DataError, match="nothing to index"):
        r.index([])


def test_bm25_returns_only_chunks_sharing_a_term(small_chunks):
    r = build_retriever("bm25", small_chunks)
    assert [h.doc_id for h in r.search("postman", k=10)] == ["dogs"]
    assert r.search("zebra xylophone", k=10) == []


def test_faiss_uses_the_given_embedder_and_machine_threads(small_chunks, fake_embedder):
    import faiss

    from advisor.runtime import cpu_count

    r = FaissRetriever(fake_embedder)
    r.index(small_chunks)
    assert r.embedder_ is fake_embedder
    assert faiss.omp_get_max_threads() == cpu_count()
    assert len(r.search("anything at all", k=50)) == len(small_chunks)


def test_faiss_rejects_an_embedder_with_the_wrong_shape(small_chunks):
    import numpy as np

    bad = SimpleNamespace(name="bad", encode=lambda texts: np.ones((1, 4)))
    with pytest.raises(AdvisorError, match="one row per text"):
        FaissRetriever(bad).index(small_chunks)


def test_build_retriever_names_the_allowed_kinds(small_chunks):
    with pytest.raises(AdvisorError, match="choose one of: bm25, faiss, hybrid"):
        build_retriever("tfidf", small_chunks)  # type: ignore[arg-type]


# --- hybrid fusion ----------------------------------------------------------------------


class FixedRetriever:
    """Returns a fixed ranking of chunk ids (scores descending) for every query."""

    def __init__(self, name: str, ranking: list[str], scores: list[float] | None = None):
        self.name = name
        self.ranking = ranking
        self.scores = scores or [float(len(ranking) - i) for i in range(len(ranking))]

    def index(self, chunks):
        self.chunks_ = list(chunks)
        self.by_id = {c.chunk_id: c for c in chunks}

    def search(self, query, k=5):
        return self.search_batch([query], k)[0]

    def search_batch(self, queries, k=5):
        def hits():
            top = list(zip(self.ranking, self.scores, strict=True))[:k]
            return [
                Hit(c, self.by_id[c].doc_id, self.by_id[c].text, s, r)
                for r, (c, s) in enumerate(top, 1)
            ]

        return [hits() for _ in queries]


def _chunks(n: int) -> list[Chunk]:
    return chunk_documents([doc(f"d{i}", f"text {i}") for i in range(n)])


def test_rrf_matches_the_formula_and_deduplicates_chunks():
    a = FixedRetriever("a", ["d0#0", "d1#0", "d2#0"])
    b = FixedRetriever("b", ["d2#0", "d3#0", "d0#0"])
    hybrid = HybridRetriever([a, b], k_rrf=60, fusion="rrf")
    hybrid.index(_chunks(4))
    hits = hybrid.search("q", k=10)
    expected = {
        "d0#0": 1 / 61 + 1 / 63,
        "d2#0": 1 / 63 + 1 / 61,
        "d1#0": 1 / 62,
        "d3#0": 1 / 62,
    }
    assert [h.chunk_id for h in hits] == ["d0#0", "d2#0", "d1#0", "d3#0"]  # ties: corpus order
    assert [h.score for h in hits] == pytest.approx([expected[h.chunk_id] for h in hits])


def test_score_fusion_keeps_a_confident_winner():
    # a is sure about d3 (far ahead of the rest); b finds d0-d3 about equally related
    # (cosines 0.45-0.52) and the other chunks unrelated (0.1), like a real embedder.
    rest = [f"d{i}#0" for i in range(4, 10)]
    a = FixedRetriever("a", ["d3#0", "d0#0", "d1#0", "d2#0", *rest], [10, 1, 0.9, 0.8] + [0.1] * 6)
    b = FixedRetriever(
        "b", ["d0#0", "d1#0", "d2#0", "d3#0", *rest], [0.52, 0.51, 0.5, 0.45] + [0.1] * 6
    )
    chunks = _chunks(10)
    score = HybridRetriever([a, b])
    score.index(chunks)
    rrf = HybridRetriever([a, b], fusion="rrf")
    rrf.index(chunks)
    assert score.search("q", k=1)[0].chunk_id == "d3#0"
    assert rrf.search("q", k=1)[0].chunk_id == "d0#0"  # why score fusion is the default


def test_hybrid_settings_are_validated():
    a = FixedRetriever("a", [])
    with pytest.raises(AdvisorError, match="at least one retriever"):
        HybridRetriever([])
    with pytest.raises(AdvisorError, match="fusion must be one of score, rrf"):
        HybridRetriever([a], fusion="max")  # type: ignore[arg-type]
    with pytest.raises(AdvisorError, match="one non-negative number per retriever"):
        HybridRetriever([a], weights=[1.0, 2.0])
    with pytest.raises(AdvisorError, match="k_rrf must be a non-negative integer"):
        HybridRetriever([a], k_rrf=-1)


# --- document-level search and metrics -------------------------------------------------


def test_search_documents_collapses_chunks_of_one_document():
    long_doc = doc("long", " ".join(["apple orchard harvest."] * 120))  # many matching chunks
    others = [doc(f"d{i}", f"apple number {i} in a basket.") for i in range(6)]
    chunks = chunk_documents([long_doc, *others], max_words=20, overlap_words=5)
    assert sum(c.doc_id == "long" for c in chunks) > 10
    r = build_retriever("bm25", chunks)
    [hits] = search_documents(r, ["apple orchard"], k=5)
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert hits[0].doc_id == "long"
    assert len({h.doc_id for h in hits}) == 5


def test_retrieval_metrics_are_document_level_with_mrr_cut_at_10():
    chunks = chunk_documents([doc(f"d{i}", f"text {i} " * 30) for i in range(12)], 20, 5)
    # chunk order: d0#0, d0#1, d1#0, d1#1, ... so d0 fills two chunk ranks, one document rank
    ranking = [c.chunk_id for c in chunks]
    r = FixedRetriever("fixed", ranking, [float(-i) for i in range(len(ranking))])
    r.index(chunks)
    metrics = retrieval_metrics(r, ["q"] * 4, ["d0", "d1", "d5", "d11"], ks=(1, 5))
    # document ranks: d0 -> 1, d1 -> 2, d5 -> 6 (not in top 5), d11 -> 12 (beyond MRR's 10)
    assert MRR_DEPTH == 10
    assert metrics == pytest.approx(
        {"recall@1": 1 / 4, "recall@5": 2 / 4, "mrr": (1 + 1 / 2 + 1 / 6 + 0) / 4}
    )


def test_retrieval_metrics_reject_bad_input(small_chunks):
    r = build_retriever("bm25", small_chunks)
    with pytest.raises(AdvisorError, match="one gold doc_id per query"):
        retrieval_metrics(r, ["a", "b"], ["cats"])
    with pytest.raises(AdvisorError, match="at least one query"):
        retrieval_metrics(r, [], [])
    with pytest.raises(AdvisorError, match="each k in ks must be a positive integer"):
        retrieval_metrics(r, ["cat"], ["cats"], ks=(0,))


# --- quality on a SQuAD-like corpus -----------------------------------------------------


def test_bm25_recall_on_squad_like_corpus(corpus):
    chunks, queries, gold = corpus
    metrics = retrieval_metrics(build_retriever("bm25", chunks), queries, gold)
    assert metrics["recall@5"] >= 0.9
    assert metrics["recall@1"] <= metrics["recall@5"]
    assert 0 < metrics["mrr"] <= 1


@pytest.mark.parametrize("typos", [False, True], ids=["clean", "typos"])
def test_hybrid_is_not_worse_than_the_best_single_retriever(corpus, fake_embedder, typos):
    chunks, queries, gold = corpus
    if typos:  # names misspelt: BM25 falls behind the n-gram embedder; fusion must follow
        queries = [with_typos(q) for q in queries]
    recall = {
        kind: retrieval_metrics(build_retriever(kind, chunks, fake_embedder), queries, gold)[
            "recall@5"
        ]
        for kind in KINDS
    }
    assert recall["hybrid"] >= max(recall["bm25"], recall["faiss"]), recall
    if typos:
        assert recall["hybrid"] > max(recall["bm25"], recall["faiss"]), recall


# --- the real embedder (slow: loads all-MiniLM-L6-v2 once) ------------------------------

PASSAGES = {
    "photo-1": "Photosynthesis is the process by which green plants, algae and some bacteria convert light energy into chemical energy. The light-dependent reactions take place in the thylakoid membranes of the chloroplast, where chlorophyll absorbs mostly blue and red light. Water molecules are split during these reactions, releasing oxygen as a by-product.",  # noqa: E501
    "photo-2": "The Calvin cycle, also called the light-independent reactions, occurs in the stroma of the chloroplast. It uses ATP and NADPH produced earlier to fix carbon dioxide into three-carbon sugars. The enzyme RuBisCO catalyses the first step, and it is thought to be the most abundant protein on Earth.",  # noqa: E501
    "photo-3": "CAM plants, including cacti and pineapples, open their stomata at night rather than during the day. They store carbon dioxide as malic acid in vacuoles and release it for the Calvin cycle when the sun is up. Keeping stomata closed in daylight lets them conserve water in deserts.",  # noqa: E501
    "rome-1": "The Roman Republic was founded in 509 BC after the overthrow of the last king, Tarquinius Superbus. Power was shared between two consuls elected every year and the Senate, an advisory body of aristocrats. The republic lasted nearly five centuries before civil wars brought it to an end.",  # noqa: E501
    "rome-2": "Julius Caesar crossed the Rubicon river with his legion in 49 BC, defying the Senate and starting a civil war against Pompey. After defeating his rivals he was appointed dictator for life, but he was assassinated on the Ides of March in 44 BC by a group of senators led by Brutus and Cassius.",  # noqa: E501
    "rome-3": "Augustus, Caesar's adopted heir, became the first Roman emperor in 27 BC. His reign began a long period of relative peace known as the Pax Romana, which lasted about two hundred years. He reformed taxation, built roads and created a standing professional army.",  # noqa: E501
    "comp-1": "ENIAC, completed in 1945 at the University of Pennsylvania, was one of the first electronic general-purpose computers. It used about 18,000 vacuum tubes, weighed roughly 27 tonnes and was programmed by setting switches and plugging cables, a task largely carried out by six women programmers.",  # noqa: E501
    "comp-2": "The transistor was invented at Bell Labs in 1947 by John Bardeen, Walter Brattain and William Shockley. Smaller, cheaper and more reliable than vacuum tubes, transistors made it possible to build compact computers, and the three inventors shared the Nobel Prize in Physics in 1956.",  # noqa: E501
    "comp-3": "Tim Berners-Lee proposed the World Wide Web in 1989 while working at CERN near Geneva. He wrote the first web browser and server and defined HTML, HTTP and URLs. The web was made available to the public in 1991 and CERN released the technology royalty-free in 1993.",  # noqa: E501
    "sport-1": "The modern Olympic Games were revived by Pierre de Coubertin, and the first edition was held in Athens in 1896. Around 240 athletes from 14 nations competed in events such as athletics, cycling, fencing and swimming. Only men took part in that first modern edition.",  # noqa: E501
    "sport-2": "The first FIFA World Cup took place in Uruguay in 1930. Thirteen teams entered, and the host nation beat Argentina 4-2 in the final in Montevideo. Uruguay had been chosen partly because it was the reigning Olympic football champion and was celebrating the centenary of its constitution.",  # noqa: E501
    "sport-3": "The Winter Olympics were first held in Chamonix, France, in 1924. Events included bobsleigh, figure skating, ice hockey, ski jumping and speed skating. Norway and Finland dominated the medal table, and the games were retroactively recognised as the first Winter Olympics by the IOC.",  # noqa: E501
}  # fmt: skip
QUESTIONS = [
    ("Which organelle membranes host the reactions that need sunlight?", "photo-1"),
    ("What gas is released when water is split during photosynthesis?", "photo-1"),
    ("Which catalyst could be the commonest protein in the world?", "photo-2"),
    ("In what part of the chloroplast does the Calvin cycle take place?", "photo-2"),
    ("Why do desert succulents keep their pores shut in daytime?", "photo-3"),
    ("As what acid do CAM plants store carbon dioxide?", "photo-3"),
    ("Which monarch was expelled before the republic began?", "rome-1"),
    ("How many consuls were elected each year?", "rome-1"),
    ("Which river did Caesar cross in 49 BC?", "rome-2"),
    ("On what date was the dictator murdered?", "rome-2"),
    ("What was the era of calm under Caesar's adopted son called?", "rome-3"),
    ("Who was the first emperor of Rome?", "rome-3"),
    ("How heavy was the 1945 electronic computer in Pennsylvania?", "comp-1"),
    ("Who did most of the programming by flipping switches and wiring cables?", "comp-1"),
    ("Where was the transistor invented?", "comp-2"),
    ("Which three physicists shared a Nobel prize for a device that replaced valves?", "comp-2"),
    ("Which markup language did the creator of the web define?", "comp-3"),
    ("When did the public get access to the World Wide Web?", "comp-3"),
    ("Who revived the Olympic Games?", "sport-1"),
    ("Were women allowed to compete in Athens in 1896?", "sport-1"),
    ("Which team lost the first football world championship final?", "sport-2"),
    ("What anniversary was the South American host celebrating in 1930?", "sport-2"),
    ("Where were the first Winter Olympics held?", "sport-3"),
    ("Which countries won the most medals in the French Alps in 1924?", "sport-3"),
]


@pytest.mark.slow
def test_minilm_retrieval_and_embedding_cache():
    from advisor.retrieval.embeddings import CachedEmbedder, load_embedder

    chunks = chunk_documents([doc(k, v) for k, v in PASSAGES.items()])
    queries, gold = [q for q, _ in QUESTIONS], [d for _, d in QUESTIONS]

    first = load_embedder()
    assert isinstance(first, CachedEmbedder)
    faiss_metrics = retrieval_metrics(build_retriever("faiss", chunks, first), queries, gold)
    assert faiss_metrics["recall@5"] >= 0.9
    assert faiss_metrics["recall@1"] >= 0.75
    assert first.misses > 0

    # A fresh embedder (as in a re-run) must find every vector on disk, not load the model.
    second = load_embedder()
    again = retrieval_metrics(build_retriever("faiss", chunks, second), queries, gold)
    assert again == faiss_metrics
    assert second.hits > 0 and second.misses == 0
    assert second.inner._model is None

    bm25_recall = retrieval_metrics(build_retriever("bm25", chunks), queries, gold)["recall@5"]
    hybrid = retrieval_metrics(build_retriever("hybrid", chunks, second), queries, gold)
    assert hybrid["recall@5"] >= max(bm25_recall, faiss_metrics["recall@5"])
