"""Recommendation and report page: answers + pilot evidence -> one recommendation, charts,
and the report in Markdown, HTML, PDF and JSON.

The report files are rendered by ``advisor.report`` exactly as ``advisor report`` writes
them; they are cached per (run, results file version, answers) because the HTML and PDF
charts take seconds to draw.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import streamlit as st

from advisor.decide.evidence import evidence_from
from advisor.decide.questionnaire import parse_answers
from advisor.decide.recommend import recommend
from advisor.errors import AdvisorError
from advisor.pilot import jobs
from advisor.schema import PilotResults, parse_results
from advisor.ui import evidence_view, page_paths, state, widgets
from advisor.ui.charts import all_charts, primary_chart
from advisor.ui.results_view import arms_table, tidy
from advisor.ui.texts import app_next_step
from advisor.ui.widgets import approach_label, escape_md, smoke_banner

NO_RUN = "(questionnaire only)"
MIME = {
    "md": "text/markdown",
    "html": "text/html",
    "pdf": "application/pdf",
    "json": "application/json",
}
FILES_KEY = "report_files"  # last rendered payloads, also read by the tests


@st.cache_data(max_entries=8, show_spinner=False)
def report_files(
    run_dir: str | None, stamp: float, answers_json: str, recommendation_json: str
) -> dict[str, bytes]:
    """Every report format as bytes; ``stamp`` (results.json mtime) invalidates the cache.

    ``answers_json`` holds only the answered questions: the rest are shown as defaults and
    do not count towards the confidence. ``recommendation_json`` is the recommendation the
    page shows, so the files print that one rather than deciding again. The next step is
    worded for the app.
    """
    from advisor.report import build_report, render_html, render_json, render_markdown, render_pdf

    given = json.loads(answers_json)
    data = build_report(
        run_dir,
        answers=parse_answers(given) if given else None,
        answered=set(given),
        recommendation=json.loads(recommendation_json),
    )
    rec = data.get("recommendation")
    if rec and rec.get("next_step"):
        worded = app_next_step(rec["next_step"])
        data["summary"] = data["summary"].replace(rec["next_step"].rstrip("."), worded.rstrip("."))
        rec["next_step"] = worded
    return {
        "md": render_markdown(data).encode("utf-8"),
        "html": render_html(data).encode("utf-8"),
        "pdf": bytes(render_pdf(data)),
        "json": render_json(data).encode("utf-8"),
    }


def _on_pick() -> None:
    choice = st.session_state.get("r__run")
    if choice and choice != NO_RUN:
        state.set_run(choice)  # the user chose it: the Pilot page follows


def _pick_run() -> Path | None:
    """The run whose evidence is weighed in: this session's run by default, else none.

    Another run (older, or another browser's) is only used when the user picks it.
    """
    runs = [r for r in jobs.list_runs(state.root()) if (r.path / "results.json").is_file()]
    ids = [NO_RUN] + [r.run_id for r in runs]
    current = state.session().get("run_id")
    choice = st.selectbox(
        "Pilot evidence from",
        ids,
        index=ids.index(current) if current in ids else 0,
        key="r__run",
        on_change=_on_pick,
        help="Pick a pilot run to weigh its measured evidence in, or none.",
    )
    if choice == NO_RUN:
        return None
    return jobs.run_path(choice, state.root())


def download_name(run_dir: Path | None, fmt: str) -> str:
    """``advisor-report-<run>.html``: several downloads must not all be report.html."""
    return f"advisor-report-{run_dir.name if run_dir else 'questionnaire'}.{fmt}"


def _downloads(run_dir: Path | None, answers_json: str, rec: dict[str, Any]) -> None:
    stamp = (run_dir / "results.json").stat().st_mtime if run_dir else 0.0
    rec_json = json.dumps(rec, sort_keys=True)
    with st.spinner("Rendering the report (charts take a few seconds)…"):
        files = report_files(str(run_dir) if run_dir else None, stamp, answers_json, rec_json)
    st.session_state[FILES_KEY] = files
    cols = st.columns(4)
    labels = {"md": "Markdown", "html": "HTML", "pdf": "PDF", "json": "JSON"}
    for i, (fmt, payload) in enumerate(files.items()):
        cols[i % 4].download_button(
            f"Download {labels[fmt]}",
            data=payload,
            file_name=download_name(run_dir, fmt),
            mime=MIME[fmt],
            key=f"r__dl_{fmt}",
            width="stretch",
        )


EVAL_FORMATS = "promptfoo,chat_jsonl,alpaca,sharegpt"
EVAL_KEY = "eval_export"


@st.cache_data(show_spinner=False, max_entries=8)
def eval_zip(run_dir: str, stamp: float) -> bytes:
    """The run as a promptfoo eval plus its train/validation data (cached per results)."""
    from advisor.finetune.export import export_archive

    return export_archive(None, EVAL_FORMATS, run_dir=run_dir)


def _eval_download(run_dir: Path) -> None:
    """Where the team goes next: promptfoo with the pilot's prompts, and the data."""
    stamp = (run_dir / "results.json").stat().st_mtime
    try:
        data = eval_zip(str(run_dir), stamp)
    except AdvisorError as exc:
        st.caption(escape_md(f"No promptfoo export for this run: {exc}"))
        return
    st.session_state[EVAL_KEY] = data
    st.download_button(
        "Keep evaluating: promptfoo config + data (chat JSONL, Alpaca, ShareGPT) .zip",
        data,
        file_name="advisor-promptfoo-and-data.zip",
        mime="application/zip",
        key="r__dl_eval",
        icon=":material/download:",
        help="promptfooconfig.yaml with the pilot's prompts per arm, its test split and its "
        "primary metric; the train/validation split in the formats training tools read.",
    )


PLAN_FIELDS = (
    ("method", "method"),
    ("rank", "LoRA rank"),
    ("alpha", "LoRA alpha"),
    ("target_modules", "target modules"),
    ("learning_rate", "learning rate"),
    ("epochs", "epochs"),
    ("train_memory_gb", "training memory (GB)"),
    ("fits", "fits your GPU"),
)


def _finetune_plan(plan: dict[str, Any] | None) -> None:
    if not plan:
        return
    st.markdown("**Finetuning plan**")
    rows = []
    for key, name in PLAN_FIELDS:
        value = plan.get(key)
        if value is None:
            continue
        if isinstance(value, bool):
            value = "yes" if value else "no"
        elif isinstance(value, list):
            value = ", ".join(map(str, value))
        elif isinstance(value, float):
            value = f"{value:.3g}"
        rows.append({"setting": name, "value": str(value)})
    st.dataframe(rows, hide_index=True, width="stretch")
    if plan.get("note"):
        st.caption(escape_md(plan["note"]))


@st.cache_data(show_spinner=False, max_entries=8)
def export_zip(plan_json: str, model: str, run_dir: str | None, data: str | None) -> bytes:
    """The training setup for TRL, Axolotl and LLaMA-Factory as one zip (cached per plan)."""
    from advisor.finetune.export import FORMATS, export_archive

    return export_archive(
        json.loads(plan_json), list(FORMATS), data_path=data, model=model, run_dir=run_dir
    )


def _export_download(plan: dict[str, Any] | None, run_dir: Path | None) -> None:
    """How a user outgrows this machine: ready-to-run configs for the tools that scale."""
    if not plan or not plan.get("method"):
        return
    model = st.text_input(
        "Base model to finetune (Hugging Face id or folder)",
        key="export_model",
        placeholder="e.g. meta-llama/Llama-3.1-8B-Instruct",
        help="The training setup export writes ready-to-run TRL, Axolotl and LLaMA-Factory "
        "configs for this model, with your data converted to their formats.",
    ).strip()
    examples = (state.session().get("data") or {}).get("examples")
    if run_dir is None and not examples:
        st.caption("Pick your examples on the Data page to export a training setup for them.")
        return
    if not model:
        st.caption("Name the base model to get the training setup (TRL, Axolotl, LLaMA-Factory).")
        return
    try:
        data = export_zip(
            json.dumps(plan, sort_keys=True),
            model,
            str(run_dir) if run_dir else None,
            None if run_dir else str(examples),
        )
    except AdvisorError as exc:
        widgets.error(f"The training setup cannot be exported: {exc}")
        return
    st.download_button(
        "Training setup (TRL, Axolotl, LLaMA-Factory) .zip",
        data,
        file_name="advisor-training-setup.zip",
        mime="application/zip",
        icon=":material/download:",
    )


def render() -> None:
    st.title("Recommendation and report")
    given = state.answered()
    answers = state.answers()
    run_dir = _pick_run()
    results = jobs.job_status(run_dir).results if run_dir is not None else None
    if results is None:
        st.info(
            "No pilot yet: run one on the Pilot page to back the recommendation with "
            "numbers from your data, or get a questionnaire-only report below."
        )
        st.page_link(page_paths.PILOT, label="Go to the Pilot page")
    evidence = pilot = None
    if results is not None:
        smoke_banner(results)
        try:
            pilot = parse_results(results, origin=f"run {run_dir.name if run_dir else ''}")
        except AdvisorError as exc:
            widgets.error(f"The pilot results cannot be read or weighed in: {exc}")
        else:
            evidence = evidence_from(pilot)
    clean = tidy(pilot) if pilot is not None else None
    if answers.task:
        st.markdown(f"**Task:** {escape_md(answers.task)}")
    counted = set(given) - {"task"}
    if not counted and not (evidence is not None and evidence.prompting_evaluated):
        st.info(
            "No recommendation yet: answer the questionnaire (or run a pilot with a real "
            "model). Unanswered questions do not count as answers."
        )
        st.page_link(page_paths.QUESTIONNAIRE, label="Go to the Questionnaire")
        if pilot is not None:
            _pilot_details(pilot, clean, run_dir)
        return
    rec = recommend(answers, evidence, answered=set(given)).to_dict()

    # first screen: the recommendation, the evidence behind it and the next step
    left, right = st.columns([3, 2])
    with left:
        widgets.headline(rec)
    with right:
        if clean is not None:
            st.markdown("**Measured evidence**")
            if not primary_chart(clean):
                st.caption("No arm has a quality score to show.")
        else:
            _scores_chart(rec)
    st.markdown("**Download the report**")
    try:
        _downloads(run_dir if results is not None else None, json.dumps(given, sort_keys=True), rec)
    except AdvisorError as exc:
        widgets.error(f"The report cannot be rendered: {exc}")
    if results is not None and run_dir is not None:
        _eval_download(run_dir)

    # then the details
    with st.expander("Why: every reason, with its source", expanded=True):
        widgets.reasons(rec)
    if clean is not None:
        st.markdown("**Scores** (higher = more suitable)")
        _scores_chart(rec)
    _finetune_plan(rec.get("finetune_plan"))
    _export_download(rec.get("finetune_plan"), run_dir if results is not None else None)
    if pilot is not None:
        _pilot_details(pilot, clean, run_dir)


def _scores_chart(rec: dict[str, Any]) -> None:
    scores = [{"approach": approach_label(a), "score": rec["scores"][a]} for a in rec["ranking"]]
    st.bar_chart(scores, x="approach", y="score", horizontal=True, height=200, sort=False)


def _pilot_details(pilot: PilotResults, clean: dict[str, Any], run_dir: Path | None) -> None:
    st.subheader("Pilot evidence")
    st.dataframe(arms_table(clean), hide_index=True, width="stretch")
    all_charts(clean)
    evidence_view.render(dict(pilot.raw), run_dir)  # data curve, seed spread, run comparison


if __name__ == "__main__":  # Streamlit runs this file as the page's script (app.py routes here)
    state.run_page(render)
