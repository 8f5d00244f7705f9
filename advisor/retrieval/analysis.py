"""Text to BM25 terms: the choices here decide most of term-based retrieval quality."""

from __future__ import annotations

import functools
import re
import unicodedata
import warnings

# CJK scripts do not separate words with spaces: each ideograph / kana / hangul syllable is
# its own term so a query can match inside a sentence. Other scripts use letter/digit runs.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_TERM = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")


@functools.cache
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN_PLUS  # NLTK's list: includes question words

    return frozenset(STOPWORDS_EN_PLUS)


@functools.cache
def _stemmer():
    """Snowball English via PyStemmer, or None (with one warning) if it is not installed."""
    try:
        import Stemmer
    except ImportError:
        warnings.warn(
            "PyStemmer is not installed: BM25 runs without stemming (slightly lower recall). "
            "Fix: pip install PyStemmer",
            stacklevel=3,
        )
        return None
    return Stemmer.Stemmer("english")


def analyze(text: str, stem: bool = True) -> list[str]:
    """Terms for BM25: NFKC, lowercase, accents folded, word runs, no stopwords, stemmed.

    Why each step: case, accents and inflection ("Nations" / "nation", "café" / "cafe")
    differ between a question and the passage that answers it; stopwords ("what", "the")
    carry no topic and only add noise to short queries.
    """
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).lower())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    stop = _stopwords()
    terms = [t for t in _TERM.findall(folded) if t not in stop]
    stemmer = _stemmer() if stem else None
    return stemmer.stemWords(terms) if stemmer is not None and terms else terms
