"""Split knowledge-base documents into overlapping, retrievable chunks.

Why chunk at all: retrievers score a whole unit of text, and a long document mixes many
topics, so its one score drowns the passage a question needs; an LLM prompt also has room
for a few passages, not whole files. Why overlap: a fact that straddles a cut still appears
whole in one of the two chunks. Why cut at sentence or paragraph ends when one is close:
a chunk that starts and stops mid-sentence reads badly in a prompt and embeds worse.

Every chunk is an exact slice of its document (``doc.text[chunk.start:chunk.end] ==
chunk.text``), so a hit can always be traced back and highlighted in the source.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from advisor.errors import AdvisorError, DataError

_WORD = re.compile(r"\S+")
# A word ends a sentence when it ends in . ! ? (or CJK full stops), maybe followed by
# closing quotes or brackets.
_SENTENCE_END = re.compile(r"[.!?\u3002\uff01\uff1f][\"'\u2019\u201d)\]]*$")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n")


@dataclass(frozen=True)
class Chunk:
    """One retrievable passage; ``start``/``end`` are character offsets in the document."""

    chunk_id: str  # f"{doc_id}#{i}": stable across runs for the same text and settings
    doc_id: str  # the knowledge-base document it came from (retrieval metrics use this)
    text: str  # exactly document.text[start:end]
    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ValueError(
                f"chunk offsets must satisfy 0 <= start <= end (not {self.start!r}, {self.end!r})"
            )


def _check_sizes(max_words: int, overlap_words: int) -> None:
    if isinstance(max_words, bool) or not isinstance(max_words, int) or max_words <= 0:
        raise AdvisorError(f"max_words must be a positive integer (not {max_words!r})")
    if isinstance(overlap_words, bool) or not isinstance(overlap_words, int) or overlap_words < 0:
        raise AdvisorError(f"overlap_words must be a non-negative integer (not {overlap_words!r})")
    if overlap_words >= max_words:
        raise AdvisorError(
            f"overlap_words must be smaller than max_words (not {overlap_words!r} >= "
            f"{max_words!r}); e.g. max_words=200, overlap_words=40"
        )


def _document_fields(doc: object, position: int) -> tuple[str, str]:
    try:
        doc_id, text = doc.id, doc.text  # type: ignore[attr-defined]
    except AttributeError as exc:
        raise DataError(
            f"knowledge-base entry {position} has no 'id' and 'text' (got {type(doc).__name__}); "
            "every document needs both"
        ) from exc
    if not isinstance(text, str):
        raise DataError(f"document {doc_id!r}: text must be a string (not {type(text).__name__})")
    doc_id = str(doc_id)
    if not doc_id.strip():
        raise DataError(
            f"knowledge-base entry {position} has an empty id; give every document an id"
        )
    return doc_id, text


def _cut_point(words: list[re.Match[str]], text: str, start: int, limit: int, earliest: int) -> int:
    """Index one past the last word of the chunk starting at ``start``.

    Prefers the last paragraph break, then the last sentence end, in ``[earliest, limit)``;
    otherwise cuts hard at ``limit`` (the word budget).
    """
    sentence_cut = None
    for i in range(limit - 1, max(earliest, start + 1) - 2, -1):
        gap = (words[i].end(), words[i + 1].start()) if i + 1 < len(words) else None
        if gap and _PARAGRAPH_BREAK.search(text, *gap):
            return i + 1
        if sentence_cut is None and _SENTENCE_END.search(words[i].group()):
            sentence_cut = i + 1
    return sentence_cut or limit


def _next_start(words: list[re.Match[str]], end: int, overlap: int) -> int:
    """Where the next chunk begins: ``overlap`` words back, snapped to a sentence start.

    Snapping moves the start forward (never back), so the overlap never exceeds
    ``overlap_words``; with no sentence start in the overlap it stays a plain word overlap.
    """
    start = end - overlap
    for i in range(start, end):
        if i == 0 or _SENTENCE_END.search(words[i - 1].group()):
            return i
    return start


def _split(text: str, max_words: int, overlap_words: int) -> list[tuple[int, int]]:
    words = list(_WORD.finditer(text))
    if not words:
        return []
    spans: list[tuple[int, int]] = []
    start = 0
    # A cut is never earlier than this many words into a chunk: chunks stay reasonably
    # full and the next start (end - overlap) always moves forward.
    min_words = max(overlap_words + 1, max_words // 2)
    while True:
        limit = min(start + max_words, len(words))
        if limit == len(words):
            end = limit
        else:
            end = _cut_point(words, text, start, limit, start + min_words)
        spans.append((words[start].start(), words[end - 1].end()))
        if end == len(words):
            return spans
        start = _next_start(words, end, overlap_words)


def split_sentences(text: str, min_words: int = 6) -> list[str]:
    """The sentences of ``text`` (exact slices), none shorter than ``min_words`` words.

    Why: retrievers also score each sentence of a chunk (``advisor.retrieval.units``),
    because a question is usually about one sentence and a whole chunk's score dilutes it.
    A fragment shorter than ``min_words`` ("See below.", the "e.g." of an abbreviation) is
    joined to the next sentence, or to the previous one at the end of the text, so no unit is
    too short to carry its topic.
    """
    words = list(_WORD.finditer(text))
    # a full stop before a lowercase word is an abbreviation ("e.g. this"), not an end
    ends = [
        i + 1
        for i, w in enumerate(words)
        if _SENTENCE_END.search(w.group())
        and (i + 1 == len(words) or not words[i + 1].group()[0].islower())
    ]
    if not ends or ends[-1] != len(words):
        ends.append(len(words))  # the text's last words, with or without a full stop
    spans: list[list[int]] = []  # [first word, one past the last word]
    start = 0
    for end in ends:
        if end - start >= min_words:
            spans.append([start, end])
            start = end
    if start < len(words):  # a short tail joins the last sentence (or is the only one)
        if spans:
            spans[-1][1] = len(words)
        else:
            spans.append([start, len(words)])
    return [text[words[a].start() : words[b - 1].end()] for a, b in spans]


def chunk_documents(
    documents: Iterable[object], max_words: int = 200, overlap_words: int = 40
) -> list[Chunk]:
    """Cut each document (anything with ``.id`` and ``.text``) into chunks of <= max_words.

    Words are whitespace-separated runs, so this works for any language that uses spaces;
    a document with no words yields no chunks. Duplicate document ids are an error because
    chunk ids (and retrieval metrics) would become ambiguous.
    """
    _check_sizes(max_words, overlap_words)
    chunks: list[Chunk] = []
    seen: set[str] = set()
    for position, doc in enumerate(documents):
        doc_id, text = _document_fields(doc, position)
        if doc_id in seen:
            raise DataError(f"document id {doc_id!r} appears more than once; ids must be unique")
        seen.add(doc_id)
        for i, (start, end) in enumerate(_split(text, max_words, overlap_words)):
            chunks.append(Chunk(f"{doc_id}#{i}", doc_id, text[start:end], start, end))
    return chunks
