"""A run's live status (polled by a fragment), its results so far, and the past runs.

Why a fragment with ``run_every``: only the status panel reruns every couple of seconds,
not the whole page with its form; it reads everything from the run folder through
``advisor.pilot.jobs.job_status``, so it shows the same thing after a refresh, in a second tab
or for a run the CLI started.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from advisor.pilot import jobs
from advisor.report.formatting import ARM_LABELS, label
from advisor.ui import state
from advisor.ui.charts import quality_chart
from advisor.ui.results_view import arms_table, tidy
from advisor.ui.widgets import escape_md, smoke_banner

POLL_S = 1.5
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
            what = f"answering {arm.done}/{arm.total} test items"
        else:
            what = "starting"
        st.progress(arm.fraction, text=f"**{name}**: {what}")
    else:
        extra = f": {escape_md(arm.error)}" if arm.error else ""
        st.markdown(f"{ICONS.get(arm.state, '')} **{name}**: {arm.state}{extra}")


def render_status(status: jobs.JobStatus) -> None:
    results = status.results or {}
    model = results.get("model") or status.settings.get("model") or "default model"
    model = str(model).replace("`", "'")  # shown in a code span
    st.markdown(
        f"**Run `{status.run_id}`** · {STATE_TEXT.get(status.state, status.state)} · "
        f"model `{model}`"
    )
    smoke_banner(results)
    if status.running:
        active = any(a.state == "running" for a in status.arms)
        done = sum(a.state in ("ok", "failed", "skipped") for a in status.arms)
        text = f"{done} of {len(status.arms)} arms finished"
        if not active and done == 0:
            text += " · preparing: loading data, model and embedder"
        st.progress(status.fraction, text=text)
        if not active and done == 0 and status.model_message:
            st.caption(f"Model: {escape_md(status.model_message)}")
        if st.button("Cancel this pilot", key=f"cancel_{status.run_id}", type="secondary"):
            jobs.cancel(status.run_dir, grace_s=5.0)
            st.rerun(scope="app")
    for arm in status.arms:
        _arm_line(arm)
    if status.state == "failed":
        st.error(escape_md(f"The pilot failed: {status.error or 'see the log below'}"))
    elif status.state == "cancelled":
        st.warning("Cancelled. The arms that finished are kept in the run folder.")
    elif status.state == "finished":
        st.success("Finished. See the combined recommendation and download the report.")
        st.page_link("advisor/ui/pages/report.py", label="Open the recommendation and report")
    table = arms_table(tidy(results))
    if table:
        st.markdown("**Results so far**" if status.running else "**Results**")
        st.dataframe(table, hide_index=True, width="stretch")
        quality_chart(tidy(results))
    if status.state in ("failed", "cancelled") or (status.running and status.error):
        with st.expander("Pilot log (last lines)"):
            st.code(jobs.log_tail(status.run_dir) or "(empty)", language=None)


def live_status(run_dir: Path) -> None:
    """The status panel; polls while the pilot runs, then reruns the page once."""
    first = jobs.job_status(run_dir)

    @st.fragment(run_every=POLL_S if first.running else None)
    def panel() -> None:
        status = jobs.job_status(run_dir)
        render_status(status)
        if first.running and not status.running:
            st.rerun(scope="app")  # stop polling and redraw the page with the final state

    panel()


def past_runs() -> None:
    runs = jobs.list_runs(state.root())
    if not runs:
        st.caption(escape_md(f"No runs yet in {state.root()}."))
        return
    rows = [
        {
            "run": r.run_id,
            "state": r.state,
            "started": (r.created_at or "").replace("T", " ")[:19],
            "model": r.model or "",
            "arms": f"{r.arms_done}/{r.arms_total}",
            "smoke": "yes" if r.smoke else "",
            "data": r.data_file or "",
        }
        for r in runs
    ]
    st.dataframe(rows, hide_index=True, width="stretch")
    ids = [r.run_id for r in runs]
    current = state.session().get("run_id")
    chosen = st.selectbox(
        "Run to open",
        ids,
        index=ids.index(current) if current in ids else 0,
        key="runs__pick",
    )
    if st.button("Open this run", key="runs__open"):
        state.set_run(chosen)
        st.rerun()
