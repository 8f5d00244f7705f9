"""The report page's data curve, seed spread and run comparison.

Why matplotlib here (the other app charts are Altair): these two charts are the report's own
(:mod:`advisor.report.evidence_charts`), drawn from the same report data, so the app and the
report cannot disagree. Numbers and wording come from the package
(:mod:`advisor.report.evidence_data`, :func:`advisor.pilot.compare_runs.compare_runs`);
this module only lays them out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from advisor.errors import AdvisorError
from advisor.pilot import jobs
from advisor.report.evidence_charts import draw_data_curve, draw_seed_spread
from advisor.report.evidence_data import evidence_data
from advisor.report.formatting import METRIC_LABELS, label
from advisor.ui import state, widgets
from advisor.ui.widgets import escape_md

NONE = "(no comparison)"


def _curve(curve: dict[str, Any]) -> None:
    st.markdown("**Data curve**: how the finetuned arm's score grows with its training data")
    if curve["error"]:
        st.caption(curve["error"])
    for arm in curve["arms"]:
        if not arm["points"]:
            st.caption(f"{arm['label']}: no curve yet ({arm.get('error') or arm['status']}).")
            continue
        st.markdown("\n".join(f"- {escape_md(s)}" for s in arm["summary"]))
    fig = draw_data_curve({"data_curve": curve})
    if fig is not None:
        st.pyplot(fig, clear_figure=False)


def _spread(spread: dict[str, Any]) -> None:
    st.markdown(
        f"**Seed spread** over seeds {', '.join(map(str, spread['seeds']))}: differences "
        "smaller than it are not called significant"
    )
    rows = [
        {
            "arm": a["label"],
            **{f"seed {r['seed']}": r["mean"] for r in a["runs"]},
            "spread": a["width"],
            "SD": a["sd"],
            "95% CI (first run)": f"[{a['ci95'][0]:.2f}, {a['ci95'][1]:.2f}]" if a["ci95"] else "",
        }
        for a in spread["arms"]
    ]
    st.dataframe(rows, hide_index=True)
    for c in spread["within"]:
        st.markdown(
            f"- {escape_md(c['a_label'])} vs {escape_md(c['b_label'])}: {c['diff']:+.2f} is "
            f"smaller than the seed spread {c['seed_spread']:.2f}: not significant"
        )
    fig = draw_seed_spread({"seed_spread": spread})
    if fig is not None:
        st.pyplot(fig, clear_figure=False)


def comparison_rows(cmp: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (arm, metric) of a run comparison: A, B, B - A with CI, p, verdict."""
    rows = []
    for arm in cmp["arms"]:
        for c in arm["comparisons"]:
            m = arm["metrics"][c["metric"]]
            lo, hi = c["ci95"]
            rows.append(
                {
                    "arm": arm["label"],
                    "metric": label(c["metric"], METRIC_LABELS),
                    "run A": round(m["a"]["mean"], 3),
                    "run B": round(m["b"]["mean"], 3),
                    "B - A [95% CI]": f"{c['diff']:+.2f} [{lo:+.2f}, {hi:+.2f}]",
                    "p": c["p_value"],
                    "significant": c["significant"],
                    "shared items": arm["n_shared"],
                }
            )
    return rows


def _compare(run_dir: Path) -> None:
    from advisor.pilot.compare_runs import compare_runs

    others = [
        r.run_id
        for r in jobs.list_runs(state.root())
        if r.path != run_dir and (r.path / "results.json").is_file()
    ]
    st.markdown("**Compare with another run** (paired on the test items both answered)")
    choice = st.selectbox("Earlier run (A)", [NONE, *others], key="r__compare")
    if choice == NONE:
        return
    try:
        cmp = compare_runs(jobs.run_path(choice, state.root()), run_dir)
    except AdvisorError as exc:
        widgets.error(f"These runs cannot be compared: {exc}")
        return
    diffs = ", ".join(f"{d['key']}" for d in cmp["settings_diff"]) or "none"
    st.caption(f"Differences are this run (B) minus {choice} (A). Settings that differ: {diffs}.")
    st.dataframe(comparison_rows(cmp), hide_index=True)


def render(results: dict[str, Any], run_dir: Path | None) -> None:
    """The three sections, each only when there is something to show."""
    if not isinstance(results, dict):
        return
    extra = evidence_data(results)
    if extra["data_curve"]:
        _curve(extra["data_curve"])
    if extra["seed_spread"]:
        _spread(extra["seed_spread"])
    if run_dir is not None:
        _compare(run_dir)
