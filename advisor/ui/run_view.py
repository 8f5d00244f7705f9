"""A run's live status (polled by a fragment), its results so far, and the past runs.

Why a fragment with ``run_every``: only the progress bars rerun every second or two, and
they read one small file (``live.json``, through ``advisor.pilot.jobs.quick_status``); the whole
page, with the results table and chart, is redrawn only when an arm finishes. Everything
comes from the run folder, so a refresh, a second tab or a run the CLI started look the
same.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from advisor.errors import AdvisorError
from advisor.models.hf import DEFAULT_MODEL
from advisor.pilot import jobs
from advisor.report.formatting import ARM_LABELS, label
from advisor.ui import page_paths, state, widgets
from advisor.ui.charts import quality_chart
from advisor.ui.results_view import arms_table, tidy
from advisor.ui.texts import fallback_text, model_label
from advisor.ui.widgets import escape_md, smoke_banner

# Every fragment rerun costs the server ~65 ms of CPU whatever it draws (measured: a bare
# Streamlit fragment with run_every=1.5 used 0.84 s CPU per 20 s, with 3 s 0.32 s), CPU a
# pilot on a 2-core machine needs; a bar that moves every 3 s is plenty for a pilot of minutes.
POLL_S = 3.0
ICONS = {  # Streamlit's bundled icon font: no emoji font needed on the machine
    "waiting": ":material/schedule:",
    "running": ":material/autorenew:",
    "ok": ":green[:material/check_circle:]",
    "failed": ":red[:material/error:]",
    "skipped": ":material/skip_next:",
    "not run": ":material/remove:",
}
STATE_TEXT = {
    "running": "running",
    "finished": "finished",
    "failed": "failed",
    "cancelled": "cancelled",
    "incomplete": "incomplete (stopped before the end)",
}


def _arm_line(arm: jobs.ArmState) -> None:
    name = label(arm.name, ARM_LABELS)
    if arm.state == "running":
        if arm.stage == "train":
            what = f"training step {arm.done}/{arm.total}"
            if arm.loss is not None:
                what += f", loss {arm.loss:.3f}"
        elif arm.stage == "generate":
            what = f"answering the test items: {arm.done} of {arm.total} done"
        else:
            what = "starting"
        st.progress(arm.fraction, text=f"**{name}**: {what}")
    else:
        extra = f": {escape_md(arm.error)}" if arm.error else ""
        st.markdown(f"{ICONS.get(arm.state, '')} **{name}**: {arm.state}{extra}")


def _header(status: jobs.JobStatus) -> None:
    """Which run, which model really ran (and why not the one asked for), on which data."""
    results = status.results or {}
    model = results.get("model") or status.settings.get("model") or DEFAULT_MODEL
    model = str(model).replace("`", "'")  # shown in a code span
    st.markdown(
        f"**Run `{status.run_id}`** · {STATE_TEXT.get(status.state, status.state)} · "
        f"model `{model}`"
    )
    if status.data_name:
        st.caption(escape_md(f"Data: {status.data_name}"))
    if status.fallback:
        st.warning(escape_md(fallback_text(status.fallback)), icon=":material/swap_horiz:")
    smoke_banner(results, show_notes=not status.fallback)


def _progress(status: jobs.JobStatus) -> None:
    """The running pilot's bars; drawn from ``live.json`` alone while it runs."""
    active = any(a.state == "running" for a in status.arms)
    done = len(status.finished_arms)
    text = f"{done} of {len(status.arms)} arms finished"
    if not active and done == 0:
        text += " · preparing: loading data, model and embedder"
    st.progress(status.fraction, text=text)
    if not active and done == 0 and status.model_message:
        st.caption(f"Model: {escape_md(status.model_message)}")
    for arm in status.arms:
        _arm_line(arm)


def _signature(status: jobs.JobStatus) -> tuple:
    """What, when it changes, needs the whole page redrawn (not just the bars): an arm
    started (the model has loaded, so a fallback is known) or finished (new results)."""
    started = any(a.state != "waiting" for a in status.arms)
    return (started, status.finished_arms)


def _results_arms(status: jobs.JobStatus) -> tuple[str, ...]:
    arms = (status.results or {}).get("arms")
    arms = arms if isinstance(arms, dict) else {}
    return tuple(a.name for a in status.arms if a.name in arms)


def render_status(status: jobs.JobStatus) -> None:
    _header(status)
    if status.running:
        if st.button("Cancel this pilot", key=f"cancel_{status.run_id}", type="secondary"):
            jobs.cancel(status.run_dir, grace_s=5.0)
            st.rerun(scope="app")
        _poll(status)
    else:
        for arm in status.arms:
            _arm_line(arm)
    if status.state == "failed":
        st.error(escape_md(f"The pilot failed: {status.error or 'see the log below'}"))
    elif status.state == "cancelled":
        st.warning("Cancelled. The arms that finished are kept in the run folder.")
    elif status.state == "finished":
        st.success("Finished. See the combined recommendation and download the report.")
        st.page_link(page_paths.REPORT, label="Open the recommendation and report")
    try:
        clean = tidy(status.results) if status.results else None
    except AdvisorError as exc:
        widgets.error(f"This run's results cannot be read: {exc}")
        clean = None
    table = arms_table(clean) if clean is not None else []
    if clean is not None and table:
        st.markdown("**Results so far**" if status.running else "**Results**")
        st.dataframe(table, hide_index=True, width="stretch")
        quality_chart(clean)
    if status.state in ("failed", "cancelled") or (status.running and status.error):
        with st.expander("Pilot log (last lines)"):
            st.code(jobs.log_tail(status.run_dir) or "(empty)", language=None)


def _poll(first: jobs.JobStatus) -> None:
    """Poll the running pilot cheaply: a fragment that reads ``live.json`` every POLL_S.

    Only when an arm starts or finishes, or the pilot ends, does the whole page run again
    (to draw the new results); between those the server does next to nothing.
    """
    seen_key = f"run_view__seen_{first.run_id}"

    @st.fragment(run_every=POLL_S)
    def panel() -> None:
        status = jobs.quick_status(first.run_dir, first)
        _progress(status)
        if not status.running:
            st.rerun(scope="app")  # stop polling and redraw the page with the final state
        changed = _signature(status) != _signature(first)
        # results.json is rebuilt just after an arm's file: redraw until it has caught up,
        # but never more than once for the same state of things
        behind = status.finished_arms != _results_arms(first)
        key = (_signature(status), _results_arms(first))
        if (changed or behind) and st.session_state.get(seen_key) != key:
            st.session_state[seen_key] = key
            st.rerun(scope="app")

    panel()


def live_status(run_dir: Path) -> None:
    """The status panel of a run: progress while it runs (polled), then its results."""
    render_status(jobs.job_status(run_dir))


def run_label(run: jobs.RunInfo) -> str:
    """A past run as people recall it: when, on what data, with which model.

    Not its state: the browser keeps a picker's option labels from the first draw while the
    run goes on, so "running" stayed after the run had finished; the table above says it.
    """
    when = (run.created_at or "").replace("T", " ")[:16] or run.run_id
    parts = [when, run.data_file or "", model_label(run.model or DEFAULT_MODEL)]
    return " · ".join(p for p in parts if p) + f" ({run.run_id})"


def past_runs() -> None:
    runs = jobs.list_runs(state.root())
    if not runs:
        st.caption(escape_md(f"No runs yet in {state.root()}."))
        return
    rows = [
        {
            "run folder": r.run_id,
            "started": (r.created_at or "").replace("T", " ")[:19],
            "data": r.data_file or "",
            "model": model_label(r.model or DEFAULT_MODEL),
            "state": r.state,
            "arms": f"{r.arms_done}/{r.arms_total}",
            "smoke": "yes" if r.smoke else "",
        }
        for r in runs
    ]
    st.dataframe(rows, hide_index=True, width="stretch")
    by_id = {r.run_id: r for r in runs}
    ids = list(by_id)
    current = state.session().get("run_id")
    if current in ids and st.session_state.get("runs__synced") != current:
        # the run this session started or opened: the picker follows it (a widget keeps
        # its old choice across reruns, e.g. the newest run before this one started)
        st.session_state["runs__pick"] = current
        st.session_state["runs__synced"] = current
    elif st.session_state.get("runs__pick") not in ids:
        st.session_state["runs__pick"] = ids[0]
    chosen = st.selectbox(
        "Run to open",
        ids,
        format_func=lambda i: run_label(by_id[i]),
        key="runs__pick",
    )
    if st.button("Open this run", key="runs__open"):
        state.set_run(chosen)
        st.rerun()
