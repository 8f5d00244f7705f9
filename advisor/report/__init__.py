"""The recommendation report in four formats: Markdown, HTML, PDF and JSON.

``build_report`` (or ``build_report_data`` from plain dicts) collects every section and
number into one dict; the renderers turn that dict into text or bytes; ``write_reports``
writes ``report.<ext>`` files. The JSON format *is* the data dict, so it carries every number
the other formats print.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable
from pathlib import Path

from advisor.errors import AdvisorError
from advisor.report.build import build_report, build_report_data
from advisor.report.html import markdown_to_html, render_html
from advisor.report.markdown import md_cell, md_text, render_markdown
from advisor.report.pdf import render_pdf

FORMATS: tuple[str, ...] = ("md", "html", "pdf", "json")
FILE_NAMES = {fmt: f"report.{fmt}" for fmt in FORMATS}  # fixed names, never from user input


def render_json(data: dict) -> str:
    """The report data as JSON (strict: NaN and infinity were already turned into null)."""
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False, default=str) + "\n"


def parse_formats(value: str | Iterable[str]) -> tuple[str, ...]:
    """'md,html' -> ('md', 'html'); an unknown name is an AdvisorError naming the allowed ones."""
    items = value.split(",") if isinstance(value, str) else list(value)
    names = [str(v).strip().lower().lstrip(".") for v in items if str(v).strip()]
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        what = (
            f"unknown report format {', '.join(map(repr, unknown))}"
            if unknown
            else "no report format given"
        )
        raise AdvisorError(f"{what}; allowed: {', '.join(FORMATS)} (comma-separated)")
    return tuple(dict.fromkeys(names))


def _write_atomic(path: Path, payload: bytes) -> None:
    """Write via a temporary file and rename, so a reader never sees half a report."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_bytes(payload)  # open() honours the umask, unlike mkstemp's 0600
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_reports(
    data: dict, out_dir: str | Path, formats: Iterable[str] = FORMATS
) -> dict[str, Path]:
    """Render and write each format to ``out_dir/report.<fmt>``; returns format -> path."""
    chosen = parse_formats(formats)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AdvisorError(f"cannot create report folder {out}: {exc}") from exc
    renderers = {
        "md": lambda: render_markdown(data).encode("utf-8"),
        "html": lambda: render_html(data).encode("utf-8"),
        "pdf": lambda: render_pdf(data),
        "json": lambda: render_json(data).encode("utf-8"),
    }
    written: dict[str, Path] = {}
    for fmt in chosen:
        path = out / FILE_NAMES[fmt]
        try:
            _write_atomic(path, renderers[fmt]())
        except OSError as exc:
            raise AdvisorError(f"cannot write {path}: {exc}") from exc
        written[fmt] = path
    return written


__all__ = [
    "FORMATS",
    "build_report",
    "build_report_data",
    "markdown_to_html",
    "md_cell",
    "md_text",
    "parse_formats",
    "render_html",
    "render_json",
    "render_markdown",
    "render_pdf",
    "write_reports",
]
