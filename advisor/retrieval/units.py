"""Scoring units: every chunk as a whole plus each of its sentences.

Why: a question is usually about one sentence (SQuAD's crowdworkers wrote most questions
from a single sentence), and a whole chunk's score dilutes that sentence among the others:
BM25 loses term proximity, and one embedding of 150 words averages several topics (and
all-MiniLM-L6-v2 was trained on inputs of at most 128 tokens). So each sentence is scored
too, and a chunk's score mixes its own with its best sentence's:
``sentence_weight * best sentence + (1 - sentence_weight) * whole chunk``. The chunk stays
what is returned (whole, for the prompt), and keeps part of the say so a question whose
words are spread over several sentences still finds it.

The weight, 0.6, was chosen on SQuAD-like proxies (``experiments/README.md``, "Retrieval on
a SQuAD-like proxy"): against whole chunks only it raised FAISS recall@5 by about 0.15 on
generated questions and 0.04 on hand-written ones, and BM25 by 0.01-0.02. Higher weights
help single-sentence questions a little more but hurt questions that combine sentences
(``tests/test_retrieval.py`` has such a corpus); 0 turns sentence units off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from advisor.errors import AdvisorError
from advisor.retrieval.chunking import Chunk, split_sentences

MIN_SENTENCE_WORDS = 6  # shorter fragments ("See below.") join the next sentence
SENTENCE_WEIGHT = 0.6  # share of the best sentence in a chunk's score (0 = whole chunk only)


@dataclass(frozen=True)
class Units:
    """Texts to score; the units of chunk i are ``texts[starts[i]:starts[i + 1]]``."""

    texts: list[str]
    starts: np.ndarray  # first unit of each chunk (int64, increasing, starts[0] == 0)
    weight: float = SENTENCE_WEIGHT  # share of the best unit; the rest is the chunk's own

    def pool(self, scores: np.ndarray) -> np.ndarray:
        """Unit scores (..., units) to chunk scores (..., chunks): ``weight`` x the best unit
        (the chunk counts as one of its units) + (1 - ``weight``) x the chunk's own score."""
        best = np.maximum.reduceat(scores, self.starts, axis=-1)
        if self.weight == 1:
            return best
        return self.weight * best + (1 - self.weight) * np.take(scores, self.starts, axis=-1)


def check_weight(weight: float) -> float:
    """``weight`` as a float, or an AdvisorError saying what is allowed."""
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight <= 1:
        raise AdvisorError(f"sentence_weight must be a number in [0, 1] (not {weight!r})")
    return float(weight)


def make_units(chunks: Sequence[Chunk], weight: float = SENTENCE_WEIGHT) -> Units:
    """Each chunk's text, then its sentences when it has more than one (none at weight 0,
    so turning sentence units off costs nothing)."""
    texts: list[str] = []
    starts: list[int] = []
    for chunk in chunks:
        starts.append(len(texts))
        texts.append(chunk.text)
        if weight > 0:
            parts = split_sentences(chunk.text, MIN_SENTENCE_WORDS)
            if len(parts) > 1:
                texts.extend(parts)
    return Units(texts, np.asarray(starts, dtype=np.int64), check_weight(weight))
