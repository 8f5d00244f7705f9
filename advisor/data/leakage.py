"""Train/test leakage: test inputs that (nearly) appear in the training data.

Why it matters: a test question the model saw in training measures memory, not skill, and
flatters every arm that sees the training set (few-shot, LoRA, nearest neighbour). Only
inputs are compared: two different questions may rightly share an answer.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from advisor.errors import DataError

if TYPE_CHECKING:
    from advisor.data.load import Example
    from advisor.retrieval.embeddings import Embedder


class _PunctuationToSpace(dict):
    """str.translate table, filled lazily: Unicode punctuation (category P*) -> a space.

    Symbols (+ - is punctuation, but + < = are not) are kept, so "2+2" and "2<2" stay
    different texts.
    """

    def __missing__(self, code: int) -> str | int:
        value: str | int = " " if unicodedata.category(chr(code)).startswith("P") else code
        self[code] = value
        return value


_PUNCTUATION = _PunctuationToSpace()


def normalize_text(text: str) -> str:
    """Text as compared for duplicates: NFKC, case-folded, punctuation out, spaces collapsed.

    Why: "What is RAG?" and "what is  RAG" are the same question to a model and to a reader.
    """
    text = unicodedata.normalize("NFKC", text).casefold().translate(_PUNCTUATION)
    return " ".join(text.split())


@dataclass(frozen=True)
class LeakPair:
    test_id: str
    train_id: str
    similarity: float  # 1.0 for exact duplicates, else embedding cosine
    kind: Literal["exact", "near"]


@dataclass(frozen=True)
class LeakageReport:
    pairs: list[LeakPair]  # at most one per test example: its closest training input
    n_test: int
    n_train: int
    threshold: float
    embedder: str | None  # None: near-duplicates were not looked for

    @property
    def exact(self) -> int:
        return sum(p.kind == "exact" for p in self.pairs)

    @property
    def near(self) -> int:
        return sum(p.kind == "near" for p in self.pairs)

    @property
    def leaked_fraction(self) -> float:
        return len(self.pairs) / self.n_test if self.n_test else 0.0

    def summary(self) -> str:
        how = (
            f"near-duplicates checked with {self.embedder} at cosine >= {self.threshold:g}"
            if self.embedder
            else "near-duplicates not checked (no embedder)"
        )
        if not self.pairs:
            return (
                f"No leakage: none of {self.n_test} test inputs appears among the "
                f"{self.n_train} training inputs (exact match after normalisation; {how})."
            )
        return (
            f"{len(self.pairs)} of {self.n_test} test inputs ({self.leaked_fraction:.1%}) "
            f"also appear in training: {self.exact} exact and {self.near} near duplicates "
            f"({how}). Scores on those examples measure memory; remove them from the "
            "training data or the test set."
        )

    def to_dict(self, max_pairs: int = 100) -> dict:
        """JSON-ready; pairs capped so results.json stays small when everything leaks."""
        return {
            "n_test": self.n_test,
            "n_train": self.n_train,
            "threshold": self.threshold,
            "embedder": self.embedder,
            "exact": self.exact,
            "near": self.near,
            "leaked_fraction": self.leaked_fraction,
            "pairs": [
                {
                    "test_id": p.test_id,
                    "train_id": p.train_id,
                    "similarity": p.similarity,
                    "kind": p.kind,
                }
                for p in self.pairs[:max_pairs]
            ],
            "pairs_truncated": len(self.pairs) > max_pairs,
            "summary": self.summary(),
        }


def find_leakage(
    train: Iterable[Example],
    test: Iterable[Example],
    embedder: Embedder | None = None,
    threshold: float = 0.95,
    batch_size: int = 256,
) -> LeakageReport:
    """Each test example whose input equals (normalised) or, with an embedder, nearly equals
    (cosine >= threshold) a training input, paired with its closest training example."""
    if isinstance(threshold, bool) or not 0 < threshold <= 1:
        raise DataError(f"threshold must be in (0, 1] (not {threshold!r})")
    train, test = list(train), list(test)
    first_by_key: dict[str, Example] = {}
    for ex in train:
        first_by_key.setdefault(normalize_text(ex.input), ex)
    found: dict[str, LeakPair] = {}
    for ex in test:
        match = first_by_key.get(normalize_text(ex.input))
        if match is not None:
            found[ex.id] = LeakPair(ex.id, match.id, 1.0, "exact")
    rest = [ex for ex in test if ex.id not in found]
    if embedder is not None and rest and first_by_key:
        for pair in _near_pairs(rest, list(first_by_key.values()), embedder, threshold, batch_size):
            found[pair.test_id] = pair
    pairs = [found[ex.id] for ex in test if ex.id in found]
    name = getattr(embedder, "name", type(embedder).__name__) if embedder is not None else None
    return LeakageReport(pairs, len(test), len(train), threshold, name)


def _near_pairs(
    test: Sequence[Example],
    train: Sequence[Example],
    embedder: Embedder,
    threshold: float,
    batch_size: int,
) -> list[LeakPair]:
    """Best training match per test input, scored in blocks so memory stays bounded."""
    import numpy as np

    train_vecs = np.asarray(embedder.encode([ex.input for ex in train]), dtype=np.float32)
    pairs = []
    for start in range(0, len(test), batch_size):
        block = test[start : start + batch_size]
        vecs = np.asarray(embedder.encode([ex.input for ex in block]), dtype=np.float32)
        sims = vecs @ train_vecs.T
        best = sims.argmax(axis=1)
        for row, ex in enumerate(block):
            score = float(sims[row, best[row]])
            if score >= threshold - 1e-6:  # float error must not hide an identical vector
                pairs.append(
                    LeakPair(ex.id, train[best[row]].id, round(min(score, 1.0), 4), "near")
                )
    return pairs
