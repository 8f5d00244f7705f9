"""The SQuAD-like retrieval proxy generator (``experiments/retrieval_proxy.py``)."""

from __future__ import annotations

import importlib.util
import random
import re
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "retrieval_proxy.py"


@pytest.fixture(scope="module")
def proxy():
    spec = importlib.util.spec_from_file_location("retrieval_proxy_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


SENTENCE = (
    "Since Linux 2.6.11, the pipe capacity is 16 pages in a system with a page size of 4096 "
    "bytes, and the capacity can be queried with the fcntl operations."
)


def words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"\w+", text)}


@pytest.mark.parametrize("level", ["plain", "squad", "hard"])
def test_questions_are_seeded_and_never_contain_their_answer(proxy, level):
    pq = proxy.pq
    made = [pq.make_question(SENTENCE, "", pq.LEVELS[level], random.Random(s)) for s in range(40)]
    again = [pq.make_question(SENTENCE, "", pq.LEVELS[level], random.Random(s)) for s in range(40)]
    assert made == again
    made = [m for m in made if m is not None]
    assert len(made) >= 10  # a span in a two-word clause gives no question
    for question, answer in made:
        assert question.endswith("?")
        assert answer in SENTENCE
        content = {w for w in words(answer) if pq.is_content(w)}
        assert not content & words(question), (question, answer)


def test_plain_questions_keep_more_of_the_sentence_than_hard_ones(proxy):
    pq = proxy.pq
    sentence_words = words(SENTENCE)

    def overlap(level):
        shares = []
        for seed in range(60):
            made = pq.make_question(SENTENCE, "", pq.LEVELS[level], random.Random(seed))
            if made:
                q = [w for w in words(made[0]) if pq.is_content(w)]
                shares.append(sum(w in sentence_words for w in q) / len(q))
        return sum(shares) / len(shares)

    assert overlap("plain") > 0.9  # all but the wh-phrase ("what number") is the sentence's
    assert overlap("hard") < overlap("squad") < overlap("plain")


def test_a_sentence_without_an_answer_span_gives_no_question(proxy):
    pq = proxy.pq
    assert (
        pq.make_question(
            "It is what it is and so it was.", "", pq.LEVELS["squad"], random.Random(0)
        )
        is None
    )


def test_difficulty_is_validated(proxy):
    with pytest.raises(ValueError, match=r"synonym must be a probability in \[0, 1\] \(not 2\)"):
        proxy.pq.Difficulty("x", 2, 0, 0, 0, 0, 0, (1, 2))
    with pytest.raises(ValueError, match="side must be"):
        proxy.pq.Difficulty("x", 0, 0, 0, 0, 0, 0, (3, 2))


def test_paragraphs_never_span_a_section_break(proxy):
    block = "word " * 30 + "end."
    out = proxy.merge_blocks([block, None, block, block, None, "tiny."], random.Random(0))
    assert len(out) >= 2
    assert all(25 <= len(p.split()) <= 450 for p in out)
    assert len(out[0].split()) == 31  # the first section had one block


def _articles(proxy, n=6, paragraphs=5):
    sentence = "The {} of the valley was built by the {} guild in {} and still stands today."
    things = ["bridge", "mill", "tower", "chapel", "market", "harbour", "school", "library"]
    rng = random.Random(1)
    return [
        proxy.Article(
            f"a{a}",
            f"valley {a}",
            tuple(
                " ".join(
                    sentence.format(
                        rng.choice(things), rng.choice(things), 1500 + rng.randrange(400)
                    )
                    for _ in range(4)
                )
                for _ in range(paragraphs)
            ),
        )
        for a in range(n)
    ]


def test_build_proxy_keeps_whole_articles_and_links_every_question(proxy):
    articles = _articles(proxy)
    kb, data = proxy.build_proxy(articles, "squad", 40, 22, seed=0, prefix="t")
    assert len(kb) == 20  # whole articles of 5 paragraphs until the cap of 22
    ids = {r["id"] for r in kb}
    assert len(data) == 40 and {d["doc_id"] for d in data} <= ids
    per_paragraph = {i: sum(d["doc_id"] == i for d in data) for i in ids}
    assert max(per_paragraph.values()) <= 4
    assert proxy.build_proxy(articles, "squad", 40, 22, seed=0, prefix="t") == (kb, data)
    assert proxy.build_proxy(articles, "hard", 40, 22, seed=0, prefix="t")[0] == kb  # same kb


def test_every_handwritten_question_finds_exactly_one_paragraph(proxy):
    kb, data = proxy.build_proxy(
        proxy.pydoc_articles(random.Random("0-pydoc-paragraphs")), "hand", 0, 500, 0, "pydoc"
    )
    lines = [
        ln for ln in proxy.HANDWRITTEN.read_text("utf-8").splitlines() if ln.startswith("pydoc\t")
    ]
    assert len(data) == len(lines) == 40
    text = {r["id"]: r["text"] for r in kb}
    assert all(d["output"] in text[d["doc_id"]] for d in data)


def test_generate_writes_pilot_ready_folders(proxy, tmp_path):
    import json

    [folder] = proxy.generate(tmp_path, n_questions=30, levels=("squad",), sources=("pydoc",))
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["questions"] == 30 and meta["paragraphs"] > 100
    rows = [json.loads(x) for x in (folder / "data.jsonl").read_text().splitlines()]
    assert set(rows[0]) == {"id", "input", "output", "doc_id"}
    kb_ids = {json.loads(x)["id"] for x in (folder / "kb.jsonl").read_text().splitlines()}
    assert {r["doc_id"] for r in rows} <= kb_ids
