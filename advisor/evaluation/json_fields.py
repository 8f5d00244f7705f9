"""Field-by-field comparison of JSON answers: what ``field_accuracy`` measures.

Why its own metric: for an extraction task, exact match calls an answer with one wrong field
out of five a total miss, and token F1 mixes keys, punctuation and values into one bag of
words. The share of the reference's fields whose values the answer gets right is what a
program consuming the output receives. Values are compared after normalising their type,
so ``"3"`` and ``3``, ``"High"`` and ``"high"``, ``"true"`` and ``true`` are the same value.

The answer is parsed leniently (a code fence or a sentence around the object is tolerated)
because the format itself is scored separately by ``format_valid``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any

_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[-+]?\.\d+")
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)


def parse_object(text: str) -> dict[str, Any] | None:
    """The JSON object in ``text``: the whole text, a fenced block, or the first ``{...}``."""
    text = text.strip()
    candidates = [text]
    candidates += [m.group(1).strip() for m in _FENCE.finditer(text)]
    start = text.find("{")
    if start >= 0:
        candidates.append(text[start:])
    decoder = json.JSONDecoder()
    for candidate in candidates:
        try:
            value, _ = decoder.raw_decode(candidate)
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict):
            return value
    return None


def references_are_objects(references: Sequence[str]) -> bool:
    """True when every reference is a JSON object (the metric's precondition)."""
    if not references:
        return False
    for ref in references:
        try:
            value = json.loads(ref)
        except (ValueError, RecursionError, TypeError):
            return False
        if not isinstance(value, dict):
            return False
    return True


def normalize_value(value: Any) -> Any:
    """One comparable form per value: numbers as floats, text folded, containers recursed."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else str(value)
    if value is None:
        return None
    if isinstance(value, str):
        text = " ".join(value.split()).casefold()
        if text in ("true", "false"):
            return text == "true"
        if text in ("null", "none", ""):
            return None
        if _NUMBER.fullmatch(text):
            return float(text.replace(",", ""))
        return text
    if isinstance(value, list):
        return [normalize_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k).casefold(): normalize_value(v) for k, v in value.items()}
    return str(value)


def _value(text: str) -> Any:
    try:
        return normalize_value(json.loads(text))
    except (ValueError, RecursionError):
        return normalize_value(text)


def field_scores(prediction: str, reference: str) -> tuple[int, int]:
    """(fields right, fields in the reference) for one answer.

    A reference that is not a JSON object counts as one field: the whole value.
    """
    ref = parse_object(reference) if reference.lstrip().startswith("{") else None
    if ref is None:
        return int(_value(prediction) == _value(reference)), 1
    pred = parse_object(prediction)
    if pred is None:
        return 0, len(ref)
    got = {str(k).casefold(): normalize_value(v) for k, v in pred.items()}
    right = sum(
        1
        for k, v in ref.items()
        if str(k).casefold() in got and got[str(k).casefold()] == normalize_value(v)
    )
    return right, len(ref)
