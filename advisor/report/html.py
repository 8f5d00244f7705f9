"""The HTML report: one self-contained file, and a sanitiser for Markdown shown as HTML.

Why self-contained: the report is mailed around and opened offline, so charts are inline
``data:`` images, the CSS is inline, and there are no scripts, web fonts or external URLs at
all. A Content-Security-Policy meta tag forbids anything else as a second line of defence.
User text is escaped by Jinja's autoescape (the template never marks anything ``safe``
except the chart data URIs this module builds from matplotlib's bytes).
"""

from __future__ import annotations

import base64
from pathlib import Path

from advisor.report.sections import report_blocks

TEMPLATES = Path(__file__).parent / "templates"
# Only these link schemes survive sanitising; javascript:, data: and vbscript: never do.
SAFE_URL_SCHEMES = {"http", "https", "mailto"}


def _environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # every {{ value }} is HTML-escaped: user text cannot become markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["code"] = code_spans
    return env


def code_spans(text: str):
    """Text with its `code spans` as ``<code>``; every part is escaped first."""
    from markupsafe import Markup, escape

    from advisor.report.formatting import split_code

    return Markup("").join(
        Markup("<code>{}</code>").format(part) if code else escape(part)
        for part, code in split_code(str(text))
    )


def _data_uri(mime: str, payload: bytes) -> str:
    if mime not in ("image/svg+xml", "image/png"):
        raise ValueError(f"unexpected chart type {mime!r}")
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"


def render_html(data: dict, image_format: str = "svg") -> str:
    """The whole report as one HTML document with inline CSS and inline chart images."""
    from advisor.report.charts import render_charts

    charts = {
        cid: _data_uri(c.mime, c.payload) for cid, c in render_charts(data, image_format).items()
    }
    template = _environment().get_template("report.html.j2")
    return template.render(data=data, blocks=report_blocks(data), charts=charts)


def markdown_to_html(markdown_text: str) -> str:
    """Markdown rendered to HTML and sanitised, for showing a report (or any text) as HTML.

    Raw HTML in the Markdown is not rendered (markdown-it ``html=False``) and nh3 then
    removes any tag, attribute or URL scheme outside a conservative allow-list, so a
    ``<script>``, an ``onerror=`` or a ``javascript:`` link cannot survive either step.
    """
    import nh3
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
    # No <img>: a sanitised page must not fetch remote images (tracking pixels) either.
    tags = set(nh3.ALLOWED_TAGS) - {"img"}
    return nh3.clean(
        md.render(markdown_text),
        tags=tags,
        url_schemes=SAFE_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
