"""The pilot's data: examples and knowledge base read and checked, split, checked for leakage.

Private modules behind this face: ``types`` (Example, Document, Split), ``files`` (CSV,
JSONL and JSON read into rows that remember their line numbers), ``load`` (validation into
examples and documents), ``splits`` (seeded, grouped train/validation/test), ``leakage``
(test inputs that appear in training) and ``samples`` (the bundled datasets by name).
"""

from __future__ import annotations

from advisor.data.leakage import LeakageReport, LeakPair, find_leakage, normalize_text
from advisor.data.load import (
    DEFAULT_MAX_BYTES,
    DOC_SUFFIXES,
    check_doc_ids,
    load_examples,
    load_knowledge_base,
)
from advisor.data.rows import ACCEPTED_FORMATS
from advisor.data.samples import SAMPLE_NAMES, Sample, get_sample
from advisor.data.splits import split_examples
from advisor.data.types import Document, Example, ExampleSet, KnowledgeBase, Split

__all__ = [
    "ACCEPTED_FORMATS",
    "DEFAULT_MAX_BYTES",
    "DOC_SUFFIXES",
    "SAMPLE_NAMES",
    "Document",
    "Example",
    "ExampleSet",
    "KnowledgeBase",
    "LeakPair",
    "LeakageReport",
    "Sample",
    "Split",
    "check_doc_ids",
    "find_leakage",
    "get_sample",
    "load_examples",
    "load_knowledge_base",
    "normalize_text",
    "split_examples",
]
