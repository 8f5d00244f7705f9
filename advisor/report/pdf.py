"""The PDF report, drawn with fpdf2 (pure Python, no system libraries).

Why DejaVu Sans: fpdf2's built-in fonts are Latin-1 only, so a task or an example in Greek,
Cyrillic or with typographic quotes would crash or turn into '?'. matplotlib (already a
dependency) ships DejaVu Sans, a Unicode TTF, so the PDF needs no extra download. Text is
written as plain text (fpdf2's markdown mode stays off), so user strings cannot change the
layout or inject anything.
"""

from __future__ import annotations

import io
from pathlib import Path

from advisor.report.blocks import Block
from advisor.report.formatting import without_backticks
from advisor.report.sections import report_blocks

FONT = "DejaVu"
BODY_SIZE = 9.5
TABLE_SIZE = 8
LINE = 5.0  # mm per body line
HEADING_SIZES = {1: 18, 2: 14, 3: 11.5, 4: 10}
ACCENT = (9, 105, 218)
MUTED = (89, 99, 110)
HEAD_FILL = (232, 237, 242)
ROW_FILL = (248, 250, 252)
WARN_FILL, WARN_LINE = (255, 244, 214), (212, 167, 44)
CHART_WIDTH_MM = 170


def font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


SMOKE_MARK = "SMOKE RUN: built-in tiny model, the numbers test the pipeline only"


def _new_pdf(title: str, smoke: bool = False):
    from fpdf import FPDF

    class ReportPDF(FPDF):
        def header(self) -> None:
            if not smoke:
                return
            # on every page: a page read alone (printed, forwarded) must still say it
            self.set_y(5)
            self.set_font(FONT, "B", 7.5)
            self.set_text_color(120, 80, 0)
            self.set_fill_color(*WARN_FILL)
            self.cell(0, 5, f"⚠ {SMOKE_MARK}", align="C", fill=True)
            self.set_y(self.t_margin)

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font(FONT, "", 7.5)
            self.set_text_color(*MUTED)
            mark = "SMOKE RUN · " if smoke else ""
            self.cell(0, 6, f"{mark}advisor report · page {self.page_no()}/{{nb}}", align="C")

    pdf = ReportPDF(format="A4", unit="mm")
    fonts = font_dir()
    pdf.add_font(FONT, "", str(fonts / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(fonts / "DejaVuSans-Bold.ttf"))
    pdf.add_font(FONT, "I", str(fonts / "DejaVuSans-Oblique.ttf"))
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_title(title)
    pdf.set_author("advisor")
    pdf.set_creator("advisor")
    pdf.add_page()
    return pdf


def _space_left(pdf) -> float:
    return pdf.page_break_trigger - pdf.get_y()


def _heading(pdf, block: Block) -> None:
    from fpdf.enums import XPos, YPos

    level = block["level"]
    if _space_left(pdf) < 30 and level > 1:  # never strand a heading at a page's foot
        pdf.add_page()
    pdf.ln({1: 0, 2: 5, 3: 3, 4: 2}[level])
    pdf.set_font(FONT, "B", HEADING_SIZES[level])
    pdf.set_text_color(*((0, 0, 0) if level != 2 else (31, 35, 40)))
    pdf.multi_cell(
        0, HEADING_SIZES[level] * 0.5, block["text"], align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    if level <= 2:
        pdf.set_draw_color(209, 217, 224)
        pdf.set_line_width(0.3)
        pdf.line(pdf.l_margin, pdf.get_y() + 0.5, pdf.w - pdf.r_margin, pdf.get_y() + 0.5)
        pdf.ln(2)
    pdf.ln(1)


def _notice(pdf, block: Block) -> None:
    from fpdf.enums import XPos, YPos

    pdf.set_font(FONT, "B", 11)
    pdf.set_text_color(60, 40, 0)
    pdf.set_fill_color(*WARN_FILL)
    pdf.set_draw_color(*WARN_LINE)
    pdf.set_line_width(0.8)
    pdf.multi_cell(
        0,
        6,
        "⚠ " + block["text"],
        border=1,
        fill=True,
        padding=3,
        align="L",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.ln(3)


def _para(pdf, block: Block) -> None:
    from fpdf.enums import XPos, YPos

    pdf.set_text_color(*(MUTED if block.get("muted") else (0, 0, 0)))
    if block.get("muted") and _space_left(pdf) < 18:  # a lead-in line belongs with its list
        pdf.add_page()
    if block.get("label"):
        pdf.set_font(FONT, "B", BODY_SIZE)
        pdf.write(LINE, block["label"] + " ")
        pdf.set_font(FONT, "", BODY_SIZE)
        pdf.write(LINE, block["text"])
        pdf.ln(LINE)
    elif block.get("role") == "summary":
        pdf.set_font(FONT, "", BODY_SIZE + 0.5)
        pdf.set_fill_color(*HEAD_FILL)
        pdf.multi_cell(
            0,
            LINE + 0.3,
            block["text"],
            fill=True,
            padding=3,
            align="L",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
    else:
        pdf.set_font(FONT, "I" if block.get("muted") else "", BODY_SIZE)
        pdf.multi_cell(0, LINE, block["text"], align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1.5)


def _bullets(pdf, block: Block) -> None:
    from fpdf.enums import XPos, YPos

    pdf.set_text_color(0, 0, 0)
    pdf.set_font(FONT, "", BODY_SIZE)
    for item in block["items"]:
        text = item["text"] + (f" — {item['note']}" if item["note"] else "")
        pdf.set_x(pdf.l_margin + 2)
        pdf.cell(4, LINE, "•")
        pdf.multi_cell(pdf.epw - 6, LINE, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(0.6)
    pdf.ln(1.5)


def _table(pdf, block: Block) -> None:
    from fpdf.fonts import FontFace

    pdf.set_text_color(0, 0, 0)
    pdf.set_font(FONT, "", TABLE_SIZE)
    pdf.set_draw_color(190, 198, 206)
    pdf.set_line_width(0.2)
    widths = block.get("widths") or [1] * len(block["header"])
    with pdf.table(
        col_widths=tuple(widths),
        text_align="LEFT",
        line_height=TABLE_SIZE * 0.5,
        padding=1.2,
        headings_style=FontFace(emphasis="BOLD", fill_color=HEAD_FILL),
        cell_fill_color=ROW_FILL,
        cell_fill_mode="ROWS",  # zebra stripes: every other body row shaded
        first_row_as_headings=True,
        width=pdf.epw,
    ) as table:
        table.row(block["header"])
        for cells in block["rows"]:
            table.row([str(c) for c in cells])
    pdf.ln(3)


def _chart(pdf, block: Block, charts: dict) -> None:
    from fpdf.enums import XPos, YPos

    chart = charts.get(block["id"])
    if chart is None:
        return
    from PIL import Image

    with Image.open(io.BytesIO(chart.payload)) as img:
        height = CHART_WIDTH_MM * img.height / img.width
    if _space_left(pdf) < height + 14:
        pdf.add_page()
    pdf.set_font(FONT, "B", BODY_SIZE)
    pdf.set_text_color(0, 0, 0)
    pdf.multi_cell(0, LINE, block["title"], align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    x = pdf.l_margin + (pdf.epw - CHART_WIDTH_MM) / 2
    pdf.image(io.BytesIO(chart.payload), x=x, w=CHART_WIDTH_MM)
    pdf.set_font(FONT, "I", 8)
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(0, 4.2, block["caption"], align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)


def _covered(pdf) -> set[int]:
    """Code points every style of the font can draw."""
    sets = []
    for style in ("", "B", "I"):
        pdf.set_font(FONT, style, BODY_SIZE)
        sets.append(set(pdf.current_font.cmap))
    return set.intersection(*sets)


def _printable(value, covered: set[int]):
    """Swap characters the font lacks (CJK, emoji) for U+FFFD so the loss is visible.

    Without this fpdf2 silently drops them, and a reader could not tell text is missing.
    """
    if isinstance(value, str):
        return "".join(ch if ord(ch) in covered or ch in "\n\t" else "\ufffd" for ch in value)
    if isinstance(value, list):
        return [_printable(v, covered) for v in value]
    if isinstance(value, dict):
        return {k: _printable(v, covered) for k, v in value.items()}
    return value


def _plain_code(blocks: list[Block]) -> list[Block]:
    """Code spans as plain words: the PDF has no inline code style, and a literal backtick
    reads as a typo."""
    out = []
    for block in blocks:
        block = dict(block)
        if block["kind"] in ("para", "notice"):
            block["text"] = without_backticks(block["text"])
        elif block["kind"] == "bullets":
            block["items"] = [
                {**item, "text": without_backticks(item["text"])} for item in block["items"]
            ]
        out.append(block)
    return out


def render_pdf(data: dict) -> bytes:
    """The whole report as PDF bytes: wrapped text, tables, charts as PNG images.

    DejaVu Sans covers Latin, Greek, Cyrillic, Hebrew, Arabic and many symbols but not CJK
    or emoji; those characters print as U+FFFD in the PDF (the HTML and Markdown keep them).
    """
    from advisor.report.charts import render_charts

    charts = render_charts(data, "png")
    pdf = _new_pdf(data["title"], smoke=bool(data.get("smoke")))
    covered = _covered(pdf)
    for block in _printable(_plain_code(report_blocks(data)), covered):
        kind = block["kind"]
        if kind == "heading":
            _heading(pdf, block)
        elif kind == "notice":
            _notice(pdf, block)
        elif kind == "para":
            _para(pdf, block)
        elif kind == "bullets":
            _bullets(pdf, block)
        elif kind == "table":
            _table(pdf, block)
        elif kind == "chart":
            _chart(pdf, block, charts)
        else:
            raise ValueError(f"unknown block kind {kind!r}")
    return bytes(pdf.output())
