"""The report: four formats for questionnaire-only, pilot-only, both and a smoke run."""

from __future__ import annotations

import io
import json
import math
import re
from html.parser import HTMLParser

import pytest
from report_helpers import (
    ARMS,
    METRICS,
    make_answers,
    make_predictions,
    make_recommendation,
    make_results,
    write_run,
)

from advisor.cli import main
from advisor.errors import AdvisorError
from advisor.report import (
    FORMATS,
    build_report,
    build_report_data,
    parse_formats,
    render_html,
    render_json,
    render_markdown,
    render_pdf,
    write_reports,
)
from advisor.report.formatting import ARM_LABELS, mean_ci

SCENARIOS = {
    "questionnaire": lambda: build_report_data(make_recommendation(), None, make_answers()),
    "pilot": lambda: build_report_data(None, make_results(), None, predictions=make_predictions()),
    "both": lambda: build_report_data(
        make_recommendation(), make_results(), make_answers(), predictions=make_predictions()
    ),
    "smoke": lambda: build_report_data(
        make_recommendation(),
        make_results(smoke=True),
        make_answers(),
        predictions=make_predictions(),
    ),
}


class _Page(HTMLParser):
    """Visible text and table rows of an HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.rows: list[list[str]] = []
        self.images: list[str] = []
        self._cell: list[str] | None = None
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "title"):
            self._skip += 1
        elif tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.images.append(dict(attrs).get("src", ""))

    def handle_endtag(self, tag):
        if tag in ("style", "title"):
            self._skip -= 1
        elif tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._skip:
            return
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def parse_page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def pdf_text(pdf: bytes) -> str:
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "\n".join(p.extract_text() for p in reader.pages)


def squash(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Every scenario written once in every format (charts make rendering take seconds)."""
    out = {}
    for name, make in SCENARIOS.items():
        data = make()
        paths = write_reports(data, tmp_path_factory.mktemp(name))
        out[name] = {
            "data": data,
            "paths": paths,
            "md": paths["md"].read_text(encoding="utf-8"),
            "html": paths["html"].read_text(encoding="utf-8"),
            "pdf": paths["pdf"].read_bytes(),
        }
        out[name]["page"] = parse_page(out[name]["html"])
        out[name]["pdf_text"] = pdf_text(out[name]["pdf"])
    return out


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_format_is_written_and_readable(rendered, name):
    r = rendered[name]
    assert {fmt: p.name for fmt, p in r["paths"].items()} == {
        "md": "report.md",
        "html": "report.html",
        "pdf": "report.pdf",
        "json": "report.json",
    }
    assert json.loads(r["paths"]["json"].read_text(encoding="utf-8")) == r["data"]
    assert r["md"].startswith("# Prompting, RAG or finetuning?")
    for section in ("Summary", "Recommendation", "Pilot evidence", "Cost projection"):
        assert f"## {section}" in r["md"]
        assert f"<h2>{section}</h2>" in r["html"]
        assert section in r["pdf_text"]
    assert r["pdf"].startswith(b"%PDF")


def test_empty_states_name_what_is_missing(rendered):
    assert "No pilot was run" in rendered["questionnaire"]["md"]
    assert "No pilot was run" in squash(rendered["questionnaire"]["pdf_text"])
    for phrase in (
        "No ranked recommendation: it needs the questionnaire answers",
        "No questionnaire answers were given.",
    ):
        assert phrase in rendered["pilot"]["md"]
        assert phrase in squash(rendered["pilot"]["pdf_text"])
    for name in ("both", "smoke"):
        assert "No pilot was run" not in rendered[name]["md"]
        assert "No ranked recommendation" not in rendered[name]["md"]
        assert "No questionnaire answers were given" not in rendered[name]["md"]


def test_smoke_notice_is_at_the_top_of_every_format(rendered):
    r = rendered["smoke"]
    assert r["md"].splitlines()[2].startswith("> **⚠ SMOKE RUN.")
    assert "tiny smoke model: they test the pipeline, not the decision" in r["md"]
    assert r["html"].index("SMOKE RUN") < r["html"].index("<h2>Summary</h2>")
    assert 'class="notice"' in r["html"]
    assert "SMOKE RUN" in squash(r["pdf_text"])[:200]
    assert r["data"]["smoke"] is True and "not the decision" in r["data"]["smoke_notice"]
    for name in ("questionnaire", "pilot", "both"):
        other = rendered[name]
        assert "SMOKE" not in other["md"] + other["html"] + other["pdf_text"]


def test_summary_states_recommendation_confidence_and_next_step(rendered):
    summary = rendered["both"]["data"]["summary"]
    assert "Recommendation: RAG (confidence high)." in summary
    assert "Next step: Index the knowledge base with BM25" in summary
    # best non-reference arm by token F1 is lora_rag: 0.21 + 0.07 * 5 + 0.01 = 0.57
    assert "the best arm by Token F1 was LoRA finetune + RAG at 0.57" in summary
    assert summary in squash(rendered["both"]["pdf_text"])


def test_ranked_options_show_reasons_sources_and_moving_answers(rendered):
    page = rendered["both"]["page"]
    assert ["1", "RAG (recommended)", "3.50"] in page.rows
    assert ["4", "Prompting", "-1.00"] in page.rows
    text = squash(" ".join(page.text))
    assert "Failures are mostly missing knowledge: retrieval supplies the facts. (+2.50)" in text
    assert "— Ovadia et al. 2024" in text
    assert (
        "information_failures: +2.50 — answers: How does the model fail with prompting: "
        "missing knowledge" in text
    )
    assert (
        "workflow_order: -1.00 — answers: How much prompt engineering have you tried: "
        "systematic" in text
    )
    assert "The model fits on the GPU." in text  # a reason that moved no score is still shown


def test_metric_table_has_every_arm_and_metric_with_ci(rendered):
    rows = rendered["both"]["page"].rows
    results = make_results()
    for arm in ARMS:
        row = next(r for r in rows if r and r[0] == ARM_LABELS[arm])
        for metric in METRICS:
            assert mean_ci(results["arms"][arm]["metrics"][metric]) in row
    # hand-checked cell: zero_shot token F1 = 0.22 with CI [0.139, 0.289]
    header = next(r for r in rows if r[:2] == ["Arm", "Status"])
    assert header[2] == "Token F1"  # the quality metric leads (no primary metric named)
    column = header.index("Token F1")
    assert next(r for r in rows if r[:1] == ["Zero-shot prompting"])[column] == "0.22 [0.14, 0.29]"


def test_comparisons_show_significant_ones_and_the_mde(rendered):
    r = rendered["both"]
    text = squash(" ".join(r["page"].text))
    assert "With 40 test items, differences under ~12 points of Token F1 are noise" in text
    assert "differences under ~20 points of Exact match are noise" in text
    assert [
        "RAG (BM25)",
        "Zero-shot prompting",
        "Token F1",
        "+0.21",
        "[0.10, 0.32]",
        "0.002",
        "40",
    ] in r["page"].rows
    assert not any(
        row[:2] == ["Few-shot prompting", "Zero-shot prompting"] for row in r["page"].rows
    )  # not significant: left out
    assert "1 of 2 paired comparisons were significant" in text


def test_failures_retrieval_training_and_plan_tables(rendered):
    rows = rendered["both"]["page"].rows
    assert ["Zero-shot prompting", "15", "13", "7", "5"] in rows
    assert ["Few-shot prompting", "19", "8", "8", "5"] in rows
    assert ["bm25", "0.55", "0.80", "0.64"] in rows
    assert ["faiss", "0.60", "0.85", "0.70"] in rows
    assert ["LoRA finetune", "95.5", "294,912", "1.234", "1,800"] in rows
    assert ["LoRA rank", "8"] in rows and ["Target modules", "q_proj, v_proj"] in rows
    text = squash(" ".join(rendered["both"]["page"].text))
    assert "Zero-shot prompting: mostly information failures" in text


def test_example_predictions_side_by_side(rendered):
    data = rendered["both"]["data"]
    examples = data["pilot"]["examples"]
    assert [e["example_id"] for e in examples] == ["ex0", "ex1", "ex2"]
    assert [o["arm"] for o in examples[0]["outputs"]] == list(ARMS)
    rows = rendered["both"]["page"].rows
    assert ["Input", "How many leave days in case 0?"] in rows
    assert ["Few-shot prompting ✓", "20 days"] in rows  # equals the reference
    assert ["Zero-shot prompting", "I am not sure (zero_shot)"] in rows


def test_charts_are_inline_images(rendered):
    for name in ("pilot", "both", "smoke"):
        images = rendered[name]["page"].images
        assert len(images) == 4
        assert all(src.startswith("data:image/svg+xml;base64,") for src in images)
    assert rendered["questionnaire"]["page"].images == []
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(rendered["both"]["pdf"]))
    assert sum(len(p.images) for p in reader.pages) == 4


def test_cost_table_and_break_even_in_the_report():
    rec = make_recommendation()
    rec["primary"] = "finetune"
    data = build_report_data(rec, make_results(), make_answers())
    page = parse_page(render_html(data))
    # few-shot: (720 x 0.50 + 22 x 1.50) / 1e6 = 0.000393 per query; x 5000 x 30 = 58.95
    assert ["Few-shot prompting", "720", "22", "measured (few_shot)", "$0.393", "$58.95"] in (
        page.rows
    )
    # one-off: 300 examples x (120 + 22) tokens x 4 epochs = 170,400 tokens x $3/1M = 0.5112;
    # finetuned: (118 x 0.30 + 22 x 1.20) / 1e6 = 0.0000618; saving vs few-shot 0.0003312 x 5000
    # = 1.656 per day -> 0.5112 / 1.656 = 0.31 days
    assert (
        "Finetuning pays back its one-off cost after 0.3 days compared with Few-shot prompting."
    ) in data["summary"]
    assert data["costs"]["finetune_one_off"]["training_tokens"] == 170_400
    row = next(r for r in page.rows if r[:2] == ["Finetuned model", "Few-shot prompting"])
    assert row[3] == "0.3" and row[4] == "1,543"  # 0.5112 / 0.0003312 = 1,543.5 queries


def test_every_number_in_the_markdown_is_in_the_json(rendered):
    """report.json carries every number the other formats print (they share the blocks)."""
    for name in SCENARIOS:
        data, md = rendered[name]["data"], rendered[name]["md"]
        known = _formatted_numbers(data)
        missing = {
            tok
            for tok in re.findall(r"\d[\d,]*(?:\.\d+)?", md)
            if tok.replace(",", "") not in known
        }
        assert not missing, f"{name}: numbers not in report.json: {sorted(missing)[:10]}"


def _formatted_numbers(data) -> set[str]:
    """Every way the renderers may print a number that is in ``data`` (keys and text too)."""
    out: set[str] = set()

    def add(v: float) -> None:
        for x in (v, v * 100, abs(v), abs(v) * 100):
            out.update(f"{x:.{d}f}" for d in range(7))
            out.update({f"{x:.3g}", f"{x:g}", f"{x:.8f}".rstrip("0"), str(round(x))})

    def walk(node) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(k)
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, bool) or node is None:
            return
        elif isinstance(node, int | float) and math.isfinite(node):
            add(float(node))
        elif isinstance(node, str):
            out.update(t.replace(",", "") for t in re.findall(r"\d[\d,]*(?:\.\d+)?", node))

    walk(data)
    return out


def test_nan_and_failed_arms_do_not_break_the_report():
    results = make_results()
    results["arms"]["faiss_rag"] = {
        "status": "failed",
        "error": "index build failed",
        "metrics": {},
    }
    results["arms"]["zero_shot"]["metrics"]["rouge_l"] = {"mean": float("nan"), "ci95": [0, 1]}
    data = build_report_data(None, results, None)
    json.loads(render_json(data))  # strict JSON: NaN became null
    page = parse_page(render_html(data))
    assert any(r[:2] == ["RAG (vector search)", "failed: index build failed"] for r in page.rows)
    assert len(page.images) == 4  # the failed arm is left out of the charts, not fatal


def test_unicode_text_survives_in_the_pdf():
    answers = {**make_answers(), "task": "Ελληνικά, Привет, “quotes” — done; 日本"}
    pdf = render_pdf(build_report_data(make_recommendation(), None, answers))
    text = squash(pdf_text(pdf))
    assert "Ελληνικά, Привет, “quotes” — done;" in text
    assert "\ufffd\ufffd" in text  # CJK glyphs DejaVu lacks are shown as replacement marks


# ---------------------------------------------------------------- build_report and CLI


def test_build_report_from_a_pilot_folder_only(tmp_path):
    run = write_run(tmp_path / "run")
    data = build_report(run)
    # a real pilot that scored both prompting arms decides without answers
    assert data["recommendation"]["primary"] in ("prompting", "rag", "finetune", "rag+finetune")
    assert data["pilot"]["n_test"] == 40
    assert "No questionnaire answers were given" in data["summary"]
    # the defaults the recommendation used are listed as defaults, never as the user's
    assert data["answers_given"] is False
    assert data["answers"] and not any(a["answered"] for a in data["answers"])
    markdown = render_markdown(data)
    assert "Answers used: the documented defaults" in markdown
    assert "Your answers" not in markdown
    assert "(default: not answered)" in markdown
    assert len(data["pilot"]["examples"]) == 3


def test_a_smoke_pilot_alone_gives_no_recommendation(tmp_path):
    run = write_run(tmp_path / "run")
    results = json.loads((run / "results.json").read_text())
    (run / "results.json").write_text(json.dumps({**results, "smoke": True}))
    assert build_report(run)["recommendation"] is None


def test_build_report_uses_run_dir_answers_and_the_decision_rules(tmp_path):
    run = write_run(tmp_path / "run", answers=make_answers())
    data = build_report(run)
    rec = data["recommendation"]
    assert rec["primary"] in ("prompting", "rag", "finetune", "rag+finetune")
    assert {o["approach"] for o in rec["options"]} == {
        "prompting",
        "rag",
        "finetune",
        "rag+finetune",
    }
    assert data["answers"] and data["pilot"]


def test_build_report_prints_the_recommendation_it_is_given(tmp_path):
    """The app decides once for its screen and hands that decision to the report."""
    run = write_run(tmp_path / "run", answers=make_answers())
    decided = build_report(run)["recommendation"]
    given = make_recommendation()
    given["next_step"] = "A next step only the given recommendation has."
    data = build_report(run, recommendation=given)
    assert data["recommendation"]["next_step"] == given["next_step"]
    assert data["recommendation"]["next_step"] != decided["next_step"]
    assert given["next_step"] in render_markdown(data)


def test_build_report_validates_answers_passed_as_a_dict():
    with pytest.raises(AdvisorError, match="unknown key"):
        build_report(answers={"colour": "blue"})
    data = build_report(answers=make_answers())
    assert data["pilot"] is None and data["recommendation"]["options"]


def test_build_report_errors_are_user_errors(tmp_path):
    with pytest.raises(AdvisorError, match="nothing to report on"):
        build_report()
    with pytest.raises(AdvisorError, match="does not exist"):
        build_report(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(AdvisorError, match="has no results.json"):
        build_report(tmp_path / "empty")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "results.json").write_text("{oops")
    with pytest.raises(AdvisorError, match="cannot read pilot results"):
        build_report(bad)


def test_unreadable_prediction_lines_are_skipped_with_a_note(tmp_path):
    run = write_run(tmp_path / "run")
    with (run / "predictions.jsonl").open("a") as handle:
        handle.write("not json\n[1, 2]\n")
    data = build_report(run)
    assert data["warnings"] == ["2 unreadable line(s) in predictions.jsonl were skipped"]
    assert "2 unreadable line(s)" in render_markdown(data)


def test_parse_formats():
    assert parse_formats("md, HTML,md") == ("md", "html")
    assert parse_formats(FORMATS) == FORMATS
    with pytest.raises(AdvisorError, match="unknown report format 'docx'; allowed: md, html"):
        parse_formats("md,docx")
    with pytest.raises(AdvisorError, match="no report format"):
        parse_formats("")


def test_cli_writes_chosen_formats_next_to_the_run(tmp_path, capsys):
    run = write_run(tmp_path / "run", answers=make_answers())
    assert main(["report", str(run), "--format", "md,json"]) == 0
    assert sorted(p.name for p in run.glob("report.*")) == ["report.json", "report.md"]
    assert "md: " in capsys.readouterr().out


def test_cli_prices_file_and_default_out(tmp_path, monkeypatch):
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(make_answers()))
    prices = tmp_path / "prices.yaml"
    prices.write_text("base_input_per_1m: 2.5\ncurrency: EUR\n")
    monkeypatch.chdir(tmp_path)
    rc = main(["report", "--answers", str(answers), "--prices", str(prices), "--format", "json"])
    assert rc == 0
    data = json.loads((tmp_path / "report" / "report.json").read_text())
    assert data["costs"]["prices"]["base_input_per_1m"] == 2.5
    assert data["costs"]["currency"] == "EUR"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["report"], "nothing to report on"),
        (["report", "--answers", "a.json", "--format", "md,docx"], "allowed: md, html, pdf, json"),
        (["report", "missing-run"], "does not exist"),
    ],
)
def test_cli_user_errors_exit_2_with_a_message(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_failed_arms_and_ties_are_not_called_best():
    results = make_results()
    best_block = results["arms"]["nearest_neighbor"]["metrics"]
    results["arms"]["faiss_rag"].update(
        status="failed", error="ran out of memory", metrics=best_block
    )  # partial numbers, highest score
    pilot = build_report_data(None, results, None)["pilot"]
    assert pilot["best_arm"]["arm"] == "lora_rag"
    for arm in results["arms"].values():
        arm["metrics"]["token_f1"] = {"mean": 0.0, "ci95": [0.0, 0.0]}
    data = build_report_data(None, results, None)
    assert "no arm stood out: 5 arms tied for the best Token F1 at 0.00" in data["summary"]


def test_example_scores_and_loss_curve_epochs_from_the_run_folder():
    results = make_results(arms=("zero_shot", "lora"))
    results["arms"]["lora"]["train"].update(train_loss=[2.0, 1.5], val_loss=[2.2, 1.8, 1.7])
    rows = make_predictions(arms=("zero_shot", "lora"), n=1)
    for row, score in zip(rows, (0.25, 1.0), strict=True):
        row["scores"] = {"token_f1": score}
    data = build_report_data(None, results, None, predictions=rows)
    training = data["pilot"]["training"][0]
    assert training["train_loss"] == [[1.0, 2.0], [2.0, 1.5]]
    assert training["val_loss"] == [[0.0, 2.2], [1.0, 1.8], [2.0, 1.7]]  # epoch 0 = untrained
    page = parse_page(render_html(data))
    assert ["Zero-shot prompting", "I am not sure (zero_shot)", "0.25"] in page.rows
    assert ["LoRA finetune ✓", "20 days", "1.00"] in page.rows
