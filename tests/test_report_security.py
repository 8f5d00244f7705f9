"""Hostile text in a dataset, a model's outputs or a results file stays inert in every format."""

from __future__ import annotations

import base64
import io
from html.parser import HTMLParser

import pytest
from report_helpers import make_answers, make_predictions, make_recommendation, make_results

from advisor.report import (
    build_report_data,
    markdown_to_html,
    md_text,
    render_html,
    render_markdown,
    render_pdf,
    write_reports,
)

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
LINK = "[x](javascript:alert(1))"
IFRAME = '<iframe src="https://evil.example/"></iframe>'
MIXED = "a | b\nc ![p](http://evil.example/p.png) <a href='javascript:alert(2)'>y</a> **b**"
PAYLOADS = (SCRIPT, IMG, LINK, IFRAME, MIXED)
HOSTILE_ARM = "<script>arm()</script>"

# Every tag the HTML report may contain; anything else is an injection.
REPORT_TAGS = {
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "main",
    "h1",
    "h2",
    "h3",
    "h4",
    "p",
    "strong",
    "div",
    "ul",
    "li",
    "span",
    "table",
    "colgroup",
    "col",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "figure",
    "img",
    "figcaption",
    "footer",
}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.cells_per_row: list[int] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        if tag == "tr":
            self.cells_per_row.append(0)
        elif tag in ("td", "th"):
            self.cells_per_row[-1] += 1

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser


def assert_inert(html: str, allowed_tags: set[str]) -> _Tags:
    """No unexpected tag, no event handler, no script URL, no remote resource."""
    assert "<script" not in html.lower()
    parsed = parse(html)
    for tag, attrs in parsed.tags:
        assert tag in allowed_tags, f"unexpected <{tag}>"
        for name, value in attrs.items():
            assert not name.lower().startswith("on"), f"event handler {name}= on <{tag}>"
            assert "javascript:" not in value.lower()
            if name in ("src", "href"):
                assert not value.lower().startswith(("http://", "https://", "//"))
    return parsed


@pytest.fixture(scope="module")
def hostile_data():
    results = make_results()
    results["model"] = SCRIPT
    results["data"]["warnings"] = [IFRAME]
    results["arms"][HOSTILE_ARM] = {
        **results["arms"]["zero_shot"],
        "error": IMG,
        "status": "failed",
    }
    results["comparisons"][0]["a"] = HOSTILE_ARM
    results["retrieval"][LINK] = {"recall@1": 0.5}
    rec = make_recommendation()
    rec["next_step"] = MIXED
    rec["reasons"][0]["text"] = SCRIPT + " " + LINK
    rec["reasons"][0]["source"] = IMG
    rec["finetune_plan"]["target_modules"] = [IFRAME]
    answers = {**make_answers(), "task": SCRIPT + IMG}
    predictions = make_predictions(inputs=list(PAYLOADS), outputs=list(PAYLOADS))
    for row in predictions:
        row["reference"] = LINK
    return build_report_data(rec, results, answers, predictions=predictions)


@pytest.fixture(scope="module")
def hostile_html(hostile_data):
    return render_html(hostile_data)


def test_html_has_no_live_markup(hostile_html):
    parsed = assert_inert(hostile_html, REPORT_TAGS)
    srcs = [attrs["src"] for tag, attrs in parsed.tags if tag == "img"]
    assert srcs and all(s.startswith("data:image/svg+xml;base64,") for s in srcs)
    assert not any("href" in attrs for _, attrs in parsed.tags)


def test_html_shows_the_payloads_as_text(hostile_html):
    text = " ".join(" ".join(parse(hostile_html).text).split())
    for payload in (SCRIPT, IMG, LINK, IFRAME):
        assert payload in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile_html


def test_html_loads_nothing_from_outside(hostile_html):
    parsed = parse(hostile_html)
    for tag, attrs in parsed.tags:
        assert tag not in ("link", "script", "base")
        for name in ("src", "href"):
            assert not attrs.get(name, "").lower().startswith(("http:", "https:", "//"))
    style = hostile_html[hostile_html.index("<style>") : hostile_html.index("</style>")]
    assert "url(" not in style and "@import" not in style
    assert "Content-Security-Policy" in hostile_html


def test_chart_svgs_carry_no_text_or_script(hostile_html):
    parsed = parse(hostile_html)
    for tag, attrs in parsed.tags:
        if tag == "img":
            svg = base64.b64decode(attrs["src"].split(",", 1)[1])
            assert b"<script" not in svg and b"arm()" not in svg and b"<text" not in svg


def test_markdown_escapes_payloads(hostile_data):
    md = render_markdown(hostile_data)
    assert "<script" not in md and "<iframe" not in md and "<img" not in md
    assert "[x](javascript" not in md  # only the escaped form \\[x\\](...) is present
    assert "\\[x\\](javascript:alert(1))" in md
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert md_text(SCRIPT) in md


def test_markdown_stays_inert_even_in_a_raw_html_renderer(hostile_data):
    """Rendered by a Markdown engine that passes raw HTML through, still nothing is live."""
    from markdown_it import MarkdownIt

    md = render_markdown(hostile_data)
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(md)
    parsed = assert_inert(
        html,
        {
            "h1",
            "h2",
            "h3",
            "h4",
            "p",
            "strong",
            "em",
            "ul",
            "li",
            "table",
            "thead",
            "tbody",
            "tr",
            "th",
            "td",
            "blockquote",
            "code",
        },
    )
    text = " ".join(" ".join(parsed.text).split())
    for payload in (SCRIPT, IMG, LINK, IFRAME):
        assert payload in text


def test_markdown_table_cells_escape_pipes_and_newlines(hostile_data):
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").enable("table").render(render_markdown(hostile_data))
    parsed = parse(html)
    # every example table has exactly two columns although outputs contain '|' and newlines
    example_rows = [n for n in parsed.cells_per_row if n == 2]
    assert len(example_rows) >= 3 * 9  # 3 items x (header, input, reference, 7+ arms)
    assert md_text("a | b\nc") == "a \\| b c"


def test_markdown_to_html_sanitises_raw_markdown():
    raw = "\n\n".join(PAYLOADS) + "\n\n[ok](https://example.org) <b onclick=x()>b</b>"
    html = markdown_to_html(raw)
    parsed = parse(html)
    for tag, attrs in parsed.tags:
        assert tag not in ("script", "iframe", "img")
        assert not any(name.startswith("on") for name in attrs)
        assert "javascript:" not in attrs.get("href", "").lower()
    assert "<script" not in html.lower()


def test_markdown_report_through_the_sanitiser_keeps_text(hostile_data):
    html = markdown_to_html(render_markdown(hostile_data))
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_pdf_shows_payloads_as_literal_text(hostile_data):
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(render_pdf(hostile_data)))
    text = "".join("".join(p.extract_text() for p in reader.pages).split())
    for payload in PAYLOADS:
        assert "".join(payload.split()) in text


def test_file_names_never_come_from_user_text(hostile_data, tmp_path):
    written = write_reports(hostile_data, tmp_path, ("md", "json"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "report.md"]
    assert set(written) == {"md", "json"}


@pytest.mark.parametrize("text", ["1. RAG", "12) twelve", "- dash", "+ plus"])
def test_escaped_line_start_markers_render_as_plain_text(text):
    """A list marker at the start of user text is escaped so it prints as typed, no backslash."""
    from markdown_it import MarkdownIt

    from advisor.report.markdown import md_text

    html = MarkdownIt("commonmark").render(md_text(text))
    assert html.strip() == f"<p>{text}</p>"
