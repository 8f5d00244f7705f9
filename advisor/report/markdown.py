"""The Markdown report, plus the escaping that keeps user text inert in it.

Why escape: example inputs, model outputs and the task come from users and models. Put raw
into Markdown, ``<script>`` or ``[x](javascript:...)`` becomes live markup as soon as anyone
renders the file (GitHub, the app, an editor preview). Every string of the report blocks goes
through ``md_text`` (``md_cell`` in tables), which backslash-escapes Markdown punctuation
and turns ``< > &`` into entities, so the text shows literally. Our own markup (``#``,
``**``, ``|``) is added around the escaped text, never inside it.
"""

from __future__ import annotations

import re
from typing import Any

from advisor.report.blocks import Block
from advisor.report.sections import report_blocks

# CommonMark lets any ASCII punctuation be backslash-escaped; these are the ones that start
# markup (emphasis, code, links, images, raw HTML, entities, tables, headings, strikethrough).
# Parentheses, '!' and '=' are left alone: they only mean something next to an escaped
# bracket or at the start of a line, and leaving them keeps the raw file readable.
_SPECIAL = re.compile(r"([\\`*_\[\]#|~])")
# '<', '>' and '&' become entities, not backslash escapes: every Markdown dialect decodes
# entities, while some (the original Markdown.pl) ignore a backslash before '<'.
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_HTML_CHARS = re.compile(r"[&<>]")
# List markers only count at the start of a line, followed by a space.
_LINE_START = re.compile(r"^(\s*)([-+=]|\d{1,9}[.)])(?=\s|$)")


def md_text(value: Any) -> str:
    """Text as inert inline Markdown: punctuation escaped, newlines folded to spaces."""
    text = " ".join(str(value if value is not None else "").split())
    text = _SPECIAL.sub(r"\\\1", text)
    text = _HTML_CHARS.sub(lambda m: _ENTITIES[m.group(0)], text)
    return _LINE_START.sub(_escape_marker, text)


def _escape_marker(m: re.Match[str]) -> str:
    """``-`` becomes ``\\-``; ``1.`` becomes ``1\\.``: CommonMark escapes only punctuation,
    so a backslash before the digit would print literally."""
    marker = m.group(2)
    if marker[0].isdigit():
        return m.group(1) + marker[:-1] + "\\" + marker[-1]
    return m.group(1) + "\\" + marker


def md_inline(value: Any) -> str:
    """Like ``md_text``, but a rule's `code span` stays a code span (its content holds no
    backtick, so it stays inert inside the span)."""
    from advisor.report.formatting import split_code

    text = " ".join(str(value if value is not None else "").split())
    return "".join(f"`{part}`" if code else md_text(part) for part, code in split_code(text))


def md_cell(value: Any) -> str:
    """A table cell: ``md_text`` escapes pipes and folds newlines; an empty cell stays valid."""
    return md_text(value) or " "


def _block(block: Block) -> list[str]:
    kind = block["kind"]
    if kind == "heading":
        return ["#" * block["level"] + " " + md_text(block["text"]), ""]
    if kind == "notice":
        return [f"> **⚠ {md_text(block['text'])}**", ""]
    if kind == "para":
        text = md_inline(block["text"])
        if block.get("label"):
            text = f"**{md_text(block['label'])}** {text}"
        elif block.get("muted"):
            text = f"*{text}*"
        return [text, ""]
    if kind == "bullets":
        return [
            f"- {md_inline(i['text'])}" + (f" — *{md_text(i['note'])}*" if i["note"] else "")
            for i in block["items"]
        ] + [""]
    if kind == "table":
        lines = [
            "| " + " | ".join(md_cell(h) for h in block["header"]) + " |",
            "|" + "|".join("---" for _ in block["header"]) + "|",
        ]
        lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in block["rows"]]
        return lines + [""]
    if kind == "chart":
        return [
            f"*Chart: {md_text(block['title'])}. {md_text(block['caption'])} "
            "(drawn in the HTML and PDF reports; its numbers are in the tables above.)*",
            "",
        ]
    raise ValueError(f"unknown block kind {kind!r}")


def render_markdown(data: dict) -> str:
    """The whole report as Markdown (GitHub-flavoured tables), every string escaped."""
    lines: list[str] = []
    for block in report_blocks(data):
        lines += _block(block)
    return "\n".join(lines).rstrip() + "\n"
