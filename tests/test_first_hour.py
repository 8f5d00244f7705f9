"""What a newcomer reads in the first hour (issues 18 and 19): the report's first screen,
defaults and example prices labelled as such, no literal backticks, the smoke mark on every
PDF page, memory each arm added, and next steps that do not repeat the pilot just run."""

from __future__ import annotations

import io
import json
import re

import pytest
from report_helpers import make_answers, make_recommendation, make_results, write_run

from advisor.decide.evidence import load_evidence
from advisor.decide.questionnaire import Answers, parse_answers
from advisor.decide.recommend import recommend
from advisor.report import build_report, build_report_data, render_html, render_markdown
from advisor.report.pdf import render_pdf
from advisor.report.sections import report_blocks

PILOT_CMD = "`advisor pilot --data EXAMPLES --kb DOCS --out RUN_DIR --arms few_shot,bm25_rag`"


def _pdf_pages(pdf: bytes) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def _first(blocks, pred) -> int:
    return next(i for i, b in enumerate(blocks) if pred(b))


def test_first_screen_recommendation_evidence_chart_next_step_then_tables():
    data = build_report_data(make_recommendation(), make_results(), make_answers())
    blocks = report_blocks(data)
    recommended = _first(blocks, lambda b: b.get("label") == "Recommended:")
    chart = _first(blocks, lambda b: b["kind"] == "chart")
    step = _first(blocks, lambda b: b.get("label") == "Next step:")
    table = _first(blocks, lambda b: b["kind"] == "table")
    assert recommended < chart < step < table
    assert blocks[chart]["id"] == "quality" and "Measured evidence" in blocks[chart]["title"]
    # one quality chart in the whole report: the pilot section points up to it
    assert sum(b["kind"] == "chart" and b["id"] == "quality" for b in blocks) == 1
    html = render_html(data)
    summary = html[html.index("<main>") : html.index("<h2>Recommendation</h2>")]
    assert "Recommendation: " in summary and "Next step: " in summary and "<table" not in summary
    body = html[html.index("<h2>Recommendation</h2>") :]
    positions = [body.index(s) for s in ("Recommended:", "<img", "Next step:", "<table")]
    assert positions == sorted(positions)


def test_an_all_zero_quality_chart_says_what_it_shows():
    results = make_results(smoke=True)
    for block in results["arms"].values():
        for metric in block["metrics"].values():
            metric.update(mean=0.0, ci95=[0.0, 0.0])
    data = build_report_data(None, results, None)
    chart = next(b for b in report_blocks(data) if b["kind"] == "chart")
    assert "Every arm scored 0" in chart["caption"] and "smoke" in chart["caption"]
    fine = build_report_data(None, make_results(), None)
    assert "scored 0" not in next(b for b in report_blocks(fine) if b["kind"] == "chart")["caption"]


def test_commands_in_rule_texts_show_as_code_never_as_literal_backticks():
    rec = {**make_recommendation(), "next_step": f"Measure it: {PILOT_CMD}."}
    data = build_report_data(rec, None, make_answers())
    html = render_html(data)
    assert "<code>advisor pilot --data EXAMPLES" in html and "`" not in html
    assert "`" not in "".join(_pdf_pages(render_pdf(data)))
    markdown = render_markdown(data)
    assert PILOT_CMD in markdown and "\\`" not in markdown  # a code span, not escaped ticks
    # user text is still inert: a backtick span in the task cannot smuggle markup in
    evil = build_report_data(rec, None, {**make_answers(), "task": "`<script>x</script>`"})
    assert "<script>" not in render_html(evil)


def test_the_smoke_mark_is_on_every_pdf_page():
    data = build_report_data(None, make_results(smoke=True), None)
    pages = _pdf_pages(render_pdf(data))
    assert len(pages) > 2
    assert all("SMOKE RUN" in page for page in pages), [i for i, p in enumerate(pages)]
    real = _pdf_pages(render_pdf(build_report_data(None, make_results(), None)))
    assert not any("SMOKE RUN" in page for page in real)


def test_defaults_and_example_prices_are_labelled_as_such(tmp_path):
    """Issue 19: the demo's report listed answers the user never gave as "Your answers"
    and priced options with example prices as if they were the user's."""
    run = write_run(tmp_path / "run")  # a pilot without answers, as the demo writes it
    data = build_report(run)
    markdown = render_markdown(data)
    assert "Your answers" not in markdown
    assert "Answers used: the documented defaults" in markdown
    assert "none of these are yours" in markdown
    assert "at the example prices (illustrations, not quotes)" in data["summary"]
    assert "an assumed 1,000 queries per day" in data["summary"]
    # human labels, not raw keys and values
    assert "How much prompt engineering have you tried?" in markdown
    assert "open weights (we hold them) (default: not answered)" in markdown
    assert "| prompting_effort |" not in markdown and "open_weights" not in markdown

    # the app passes what was answered: only the rest is marked as a default
    given = {"prompting_effort": "systematic", "queries_per_day": 5000}
    data = build_report(answers=given, answered=set(given))
    rows = {a["key"]: a for a in data["answers"]}
    assert rows["prompting_effort"]["answered"] and not rows["model_access"]["answered"]
    assert "5,000 queries per day" in data["summary"] and "assumed" not in data["summary"]


def test_unanswered_questions_do_not_raise_the_confidence():
    assert recommend(Answers()).confidence == "high"  # every default counted (the contract)
    assert recommend(Answers(), answered=set()).confidence == "low"
    one = parse_answers({"prompting_effort": "none"})
    assert recommend(one, answered={"prompting_effort"}).confidence != "high"


def test_a_rag_recommendation_lists_the_reasons_for_rag_first():
    answers = parse_answers(
        {
            "prompting_effort": "systematic",
            "few_shot_tried": True,
            "failures": ["missing_knowledge", "outdated_knowledge"],
            "knowledge_source": True,
            "knowledge_change": "daily",
        }
    )
    rec = recommend(answers)
    assert rec.primary == "rag"
    first = rec.reasons[0]
    assert first.effects.get("rag", 0) > 0 and first.rule != "complexity", first
    stances = [
        r.effects.get("rag", 0) - max(v for a, v in r.effects.items() if a != "rag")
        if len(r.effects) > 1
        else r.effects.get("rag", 0)
        for r in rec.reasons
    ]
    assert stances.index(min(stances)) > 0  # the case against RAG comes after the case for it


@pytest.mark.parametrize("arms", [("zero_shot", "few_shot", "bm25_rag", "faiss_rag", "lora")])
def test_after_a_pilot_the_next_step_does_not_ask_to_run_it_again(tmp_path, arms):
    results = make_results(arms=arms + ("lora_rag", "nearest_neighbor"))
    evidence = load_evidence(results)
    for given in (
        {},  # the demo: no answers at all
        {
            "prompting_effort": "systematic",
            "few_shot_tried": True,
            "failures": ["missing_knowledge"],
            "knowledge_source": True,
        },
        {
            "prompting_effort": "systematic",
            "few_shot_tried": True,
            "failures": ["wrong_format"],
            "labeled_examples": 800,
            "gpu_memory_gb": 24.0,
        },
    ):
        rec = recommend(parse_answers(given), evidence, answered=set(given))
        assert "advisor pilot" not in rec.next_step, (given, rec.primary, rec.next_step)
        assert "Version your prompts and build a 50-example evaluation set" not in rec.next_step
        ran = set(re.findall(r"--arms ([a-z0-9_,]+)", rec.next_step))
        assert not ran


def test_the_app_words_next_steps_for_its_pages():
    from advisor.ui.texts import app_next_step

    text = app_next_step(f"Add a BM25 retriever: {PILOT_CMD}.")
    assert "advisor pilot" not in text and "RUN_DIR" not in text and "`" not in text
    assert "on the Pilot page, run a pilot with the arms Few-shot prompting, RAG (BM25)" in text


def test_each_arm_reports_the_memory_it_added_over_the_process(tmp_path):
    from advisor.data.samples import get_sample
    from advisor.pilot.context import PilotSettings
    from advisor.pilot.runner import run_pilot

    tiny = get_sample("tiny")
    settings = PilotSettings(
        data=str(tiny.data),
        out=str(tmp_path / "run"),
        model="builtin:tiny",
        embedder="hashing",
        test_size=6,
        arms=("nearest_neighbor",),
    )
    block = run_pilot(settings)["arms"]["nearest_neighbor"]
    assert 0 <= block["memory_added_mb"] < block["peak_memory_mb"]
    assert block["process_baseline_mb"] + block["memory_added_mb"] == pytest.approx(
        block["peak_memory_mb"], abs=0.2
    )
    data = build_report(tmp_path / "run")
    markdown = render_markdown(data)
    assert "Memory added by the arm (MB)" in markdown and "Process peak (MB)" in markdown


def test_the_apps_results_table_has_no_none_and_labels_memory():
    from advisor.ui.results_view import MEMORY_ADDED, PROCESS_PEAK, arms_table, tidy

    results = make_results()
    for block in results["arms"].values():
        block["memory_added_mb"] = 12.0
    rows = arms_table(tidy(results))
    assert all(None not in row.values() for row in rows)
    assert {"train (s)", MEMORY_ADDED, PROCESS_PEAK} <= set(rows[0])
    assert rows[0]["train (s)"] == ""  # zero-shot trains nothing: blank, not None
    assert next(r for r in rows if r["arm"] == "LoRA finetune")["train (s)"] == "95.5"
    assert json.dumps(rows)  # plain values only


def test_a_retriever_that_did_not_beat_prompting_asks_for_more_items_not_the_same_run():
    results = make_results(n_test=8, arms=("zero_shot", "bm25_rag"))
    for c in results["comparisons"]:
        c.update(significant=False, p_value=0.25, p_holm=0.5)
    given = {
        "prompting_effort": "systematic",
        "few_shot_tried": True,
        "failures": ["missing_knowledge"],
        "knowledge_source": True,
    }
    rec = recommend(parse_answers(given), load_evidence(results), answered=set(given))
    assert rec.primary == "rag", rec.next_step
    assert "did not beat prompting beyond chance" in rec.next_step
    assert "8 test items" in rec.next_step and "more examples" in rec.next_step
