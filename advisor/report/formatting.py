"""Number and label formatting shared by the Markdown, HTML and PDF renderers.

Why one module: the three formats must print the *same* string for the same number, and
``report.json`` must carry every number they print. Renderers format numbers from the report
data with these functions only; they never compute new figures.
"""

from __future__ import annotations

import math
import re
from typing import Any

from advisor.catalog import CATALOG
from advisor.models.loading import SMOKE_NOTICE  # noqa: F401  (the report's wording)

ARM_LABELS: dict[str, str] = {name: info.label for name, info in CATALOG.items()}

APPROACH_LABELS: dict[str, str] = {
    "prompting": "Prompting",
    "rag": "RAG",
    "finetune": "Finetuning",
    "rag+finetune": "RAG + finetuning",
}

METRIC_LABELS: dict[str, str] = {
    "exact_match": "Exact match",
    "token_f1": "Token F1",
    "rouge_l": "ROUGE-L",
    "semantic_similarity": "Semantic similarity",
    "format_valid": "Format valid",
    "answer_containment": "Answer contained",
    "field_accuracy": "Field accuracy",
}


def label(name: str, table: dict[str, str]) -> str:
    """Human label for a known identifier; unknown ones are shown as they are."""
    return table.get(name, str(name))


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


COMPACT_FROM = 1e6  # beyond this, fixed decimals would print a wall of digits (1e308)


def num(value: Any, digits: int = 2) -> str:
    """A fraction or plain number, fixed decimals ('1e+308' style when huge); '-' when
    missing."""
    if not is_number(value):
        return "-"
    if abs(value) >= COMPACT_FROM:
        return f"{value:.{max(digits, 1) + 1}g}"
    return f"{value:.{digits}f}"


def ci(interval: Any, digits: int = 2) -> str:
    """'[lo, hi]' for a two-number interval, '-' otherwise."""
    if isinstance(interval, list | tuple) and len(interval) == 2 and all(map(is_number, interval)):
        return f"[{num(interval[0], digits)}, {num(interval[1], digits)}]"
    return "-"


def mean_ci(block: Any) -> str:
    """'0.62 [0.50, 0.71]' from a ``{"mean", "ci95"}`` metric block."""
    if not isinstance(block, dict) or not is_number(block.get("mean")):
        return "-"
    interval = ci(block.get("ci95"))
    return num(block["mean"]) if interval == "-" else f"{num(block['mean'])} {interval}"


def points(fraction: Any) -> str:
    """A [0, 1] difference as percentage points, rounded: 0.123 -> '12'."""
    if not is_number(fraction):
        return "-"
    return f"{fraction * 100:.0f}"


def signed(value: Any, digits: int = 2) -> str:
    if not is_number(value):
        return "-"
    return f"{value:+.{digits}f}"


def integer(value: Any) -> str:
    if not is_number(value):
        return "-"
    return f"{round(value):,}"


def ms(value: Any) -> str:
    if not is_number(value):
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def money(value: Any, currency: str = "USD") -> str:
    """Small per-query prices keep 3 significant digits; monthly totals keep cents."""
    if not is_number(value):
        return "-"
    prefix = "$" if currency == "USD" else f"{currency} "
    sign, value = ("-" if value < 0 else ""), abs(value)
    if value == 0:
        text = "0.00"
    elif value >= 1000:
        text = f"{value:,.0f}"
    elif value >= 1:
        text = f"{value:,.2f}"
    else:
        text = f"{value:#.3g}"  # keep trailing zeros: $0.190 lines up with $0.565
        if "e" in text:  # tiny per-query prices: fixed notation reads better than 1.05e-05
            text = f"{value:.8f}".rstrip("0")
    return f"{sign}{prefix}{text}"


def days(value: Any) -> str:
    if not is_number(value):
        return "never"
    return f"{value:.1f}" if value < 10 else f"{value:,.0f}"


def pvalue(value: Any) -> str:
    if not is_number(value):
        return "-"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def plain(value: Any) -> str:
    """An answer value as text: lists joined, booleans as yes/no, None as '-'."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple | set):
        return ", ".join(plain(v) for v in value) if value else "(none)"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def split_code(text: str) -> list[tuple[str, bool]]:
    """Plain text and `code spans` (commands a rule quotes) as (part, is_code) pairs.

    Why: the rules quote commands in backticks; Markdown shows them as code, HTML as
    ``<code>``, the PDF as plain text, and none of them shows a literal backtick.
    """
    parts: list[tuple[str, bool]] = []
    last = 0
    for m in _CODE_SPAN.finditer(str(text)):
        if m.start() > last:
            parts.append((text[last : m.start()], False))
        parts.append((m.group(1), True))
        last = m.end()
    if last < len(text):
        parts.append((text[last:], False))
    return parts


def without_backticks(text: str) -> str:
    """The text with its code spans as plain words (for the PDF)."""
    return "".join(part for part, _ in split_code(str(text)))
