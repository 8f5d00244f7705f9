"""Format-neutral report blocks: the small vocabulary every renderer understands.

Block kinds: ``heading`` (level, text), ``notice`` (text), ``para`` (text, optional bold
``label``, ``muted``, ``role``), ``bullets`` (items of {text, note}), ``table`` (header, rows,
widths: relative column widths), ``chart`` (id, title, caption). All text is *plain text*,
never markup: each renderer escapes it for its own format.
"""

from __future__ import annotations

from typing import Any

Block = dict[str, Any]


def heading(text: str, level: int = 2) -> Block:
    return {"kind": "heading", "level": level, "text": text}


def para(text: str, label: str | None = None, muted: bool = False) -> Block:
    return {"kind": "para", "text": text, "label": label, "muted": muted}


def bullets(items: list[tuple[str, str | None]]) -> Block:
    return {"kind": "bullets", "items": [{"text": t, "note": n} for t, n in items]}


def table(header: list[str], rows: list[list[str]], widths: list[float] | None = None) -> Block:
    return {"kind": "table", "header": header, "rows": rows, "widths": widths}
