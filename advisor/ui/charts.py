"""Interactive charts of a pilot's results: one per comparison the report makes.

Why Altair (Streamlit's own chart library) and not the report's matplotlib images: the
app's charts get tooltips with the exact numbers and follow the page theme; the report
files keep their static images. Every function takes ``results_view.tidy(results)``, so a
malformed run folder draws less, never raises.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from advisor.ui.results_view import arm_label, metric_label, metric_order, metric_rows

AXIS_TITLE = "mean, with its 95% confidence interval"


def all_zero_note(rows: list[dict[str, Any]], smoke: bool) -> None:
    """A chart whose every bar is 0 looks empty or broken: say what it shows."""
    if rows and all(r["mean"] == 0 for r in rows):
        why = " (expected of the built-in smoke model)" if smoke else ""
        st.caption(
            f"Every score here is 0: no arm got an answer right by these measures{why}, "
            "so the chart has no bars."
        )


def primary_chart(tidy: dict[str, Any]) -> bool:
    """The decision's evidence in one chart: the primary metric per arm, with 95% CIs."""
    import altair as alt

    order = metric_order(tidy)
    if not order:
        return False
    metric = metric_label(order[0])
    rows = [r for r in metric_rows(tidy) if r["metric"] == metric]
    if not rows:
        return False
    scale = alt.Scale(domain=[0, 1])
    title = f"{metric} (95% CI)"
    base = alt.Chart(alt.Data(values=rows)).encode(
        y=alt.Y("arm:N", title=None, sort=None, axis=alt.Axis(labelLimit=220)),
        tooltip=["arm:N", alt.Tooltip("mean:Q", format=".3f"), "ci_low:Q", "ci_high:Q"],
    )
    bars = base.mark_bar().encode(
        x=alt.X("mean:Q", title=title, scale=scale), color=alt.Color("arm:N", legend=None)
    )
    errors = base.mark_errorbar(ticks=True).encode(
        x=alt.X("ci_low:Q", title=title, scale=scale), x2="ci_high:Q"
    )
    st.altair_chart((bars + errors).properties(height=alt.Step(26)), width="stretch")
    all_zero_note(rows, tidy.get("smoke", False))
    return True


def quality_chart(tidy: dict[str, Any]) -> bool:
    """Every metric of every finished arm, with confidence intervals (one row per metric)."""
    import altair as alt

    rows = metric_rows(tidy)
    if not rows:
        return False
    axis = alt.Axis(labelOverlap=False, labelLimit=220)
    base = alt.Chart(alt.Data(values=rows)).encode(
        y=alt.Y("arm:N", title=None, sort=None, axis=axis),
        tooltip=["arm:N", "metric:N", alt.Tooltip("mean:Q", format=".3f"), "ci_low:Q", "ci_high:Q"],
    )
    x_scale = alt.Scale(domain=[0, 1])
    bars = base.mark_bar().encode(
        x=alt.X("mean:Q", title=AXIS_TITLE, scale=x_scale), color=alt.Color("arm:N", legend=None)
    )
    errors = base.mark_errorbar(ticks=True).encode(
        x=alt.X("ci_low:Q", title=AXIS_TITLE, scale=x_scale), x2="ci_high:Q"
    )
    header = alt.Header(
        title=None, labelAngle=0, labelAlign="left", labelOrient="top", labelFontWeight="bold"
    )
    chart = (
        (bars + errors)
        .properties(height=alt.Step(18), width=520)
        .facet(row=alt.Row("metric:N", header=header, sort=None))
    )
    st.altair_chart(chart)
    all_zero_note(rows, tidy.get("smoke", False))
    return True


def comparisons_chart(tidy: dict[str, Any]) -> bool:
    """Every paired comparison: difference a - b with its CI, significant ones marked."""
    import altair as alt

    rows = [
        {
            "pair": f"{arm_label(c['a'])} vs {arm_label(c['b'])}",
            "metric": metric_label(c["metric"]),
            "diff": c["diff"],
            "ci_low": c["ci95"][0],
            "ci_high": c["ci95"][1],
            "p_value": c["p_value"],
            "significant": "significant" if c["significant"] else "not significant",
        }
        for c in tidy["comparisons"]
    ]
    if not rows:
        return False
    metrics = sorted({r["metric"] for r in rows})
    metric = st.selectbox("Metric", metrics, key="chart__cmp_metric") if len(metrics) > 1 else None
    shown = [r for r in rows if metric is None or r["metric"] == metric]
    pair_axis = alt.Axis(labelOverlap=False, labelLimit=300)
    base = alt.Chart(alt.Data(values=shown)).encode(
        y=alt.Y("pair:N", title=None, sort=None, axis=pair_axis),
        tooltip=["pair:N", "metric:N", "diff:Q", "ci_low:Q", "ci_high:Q", "p_value:Q"],
    )
    color = alt.Color(
        "significant:N",
        scale=alt.Scale(domain=["significant", "not significant"], range=["#d62728", "#7f7f7f"]),
        title=None,
    )
    # symmetric around 0 so the sign of a difference is read at a glance
    reach = max([0.05] + [abs(r[k]) for r in shown for k in ("ci_low", "ci_high", "diff")])
    x_scale = alt.Scale(domain=[-reach, reach])
    title = "difference (a - b), 95% CI"
    points = base.mark_point(filled=True, size=60).encode(
        x=alt.X("diff:Q", title=title, scale=x_scale), color=color
    )
    errors = base.mark_errorbar(ticks=True).encode(
        x=alt.X("ci_low:Q", title=title, scale=x_scale), x2="ci_high:Q", color=color
    )
    zero = alt.Chart(alt.Data(values=[{"x": 0}])).mark_rule(strokeDash=[4, 4]).encode(x="x:Q")
    chart = (errors + points + zero).properties(height=alt.Step(22))
    st.altair_chart(chart, width="stretch")
    return True


def retrieval_chart(tidy: dict[str, Any]) -> bool:
    """Recall@1, recall@5 and MRR per retriever (needs doc_id in the examples)."""
    rows = [
        {"retriever": name, "measure": key, "value": values[key]}
        for name, values in tidy["retrieval"].items()
        for key in ("recall@1", "recall@5", "mrr")
        if key in values
    ]
    if not rows:
        return False
    import altair as alt

    chart = (
        alt.Chart(alt.Data(values=rows))
        .mark_bar()
        .encode(
            x=alt.X("measure:N", title=None),
            xOffset="retriever:N",
            y=alt.Y("value:Q", scale=alt.Scale(domain=[0, 1])),
            color="retriever:N",
            tooltip=["retriever:N", "measure:N", "value:Q"],
        )
    )
    st.altair_chart(chart, width="stretch")
    return True


def cost_charts(tidy: dict[str, Any]) -> bool:
    """Quality against latency, and peak memory, per arm."""
    import altair as alt

    rows = []
    for arm, block in tidy["arms"].items():
        if block["status"] != "ok":
            continue
        metric = next((m for m in metric_order(tidy) if m in block["metrics"]), None)
        rows.append(
            {
                "arm": arm_label(arm),
                "latency_ms": block["latency_ms"].get("p50"),
                "quality": block["metrics"][metric]["mean"] if metric else None,
                "metric": metric_label(metric) if metric else "",
                "memory_mb": block["memory_added_mb"]
                if block["memory_added_mb"] is not None
                else block["peak_memory_mb"],
            }
        )
    scatter = [r for r in rows if r["latency_ms"] is not None and r["quality"] is not None]
    memory = [r for r in rows if r["memory_mb"] is not None]
    if not scatter and not memory:
        return False
    left, right = st.columns(2)
    if scatter:
        with left:
            st.caption("Quality against median latency per query")
            chart = (
                alt.Chart(alt.Data(values=scatter))
                .mark_circle(size=90)
                .encode(
                    x=alt.X("latency_ms:Q", title="latency p50 (ms)"),
                    y=alt.Y("quality:Q", title=scatter[0]["metric"]),
                    color=alt.Color("arm:N"),
                    tooltip=["arm:N", "latency_ms:Q", "quality:Q"],
                )
            )
            st.altair_chart(chart, width="stretch")
    if memory:
        with right:
            st.caption(
                "Memory each arm added over what the process already held (MB); older runs "
                "show the process peak"
            )
            st.bar_chart(memory, x="arm", y="memory_mb", horizontal=True, sort=False)
    return True


def loss_chart(tidy: dict[str, Any]) -> bool:
    """Training and validation loss of the LoRA arms (erratic: lower the learning rate)."""
    rows = []
    for arm, block in tidy["arms"].items():
        for kind in ("train_loss", "val_loss"):
            for x, y in (block["train"] or {}).get(kind, []):
                name = f"{arm_label(arm)}: {kind.split('_')[0]}"
                rows.append({"series": name, "epoch or step": x, "loss": y})
    if not rows:
        return False
    st.line_chart(rows, x="epoch or step", y="loss", color="series")
    return True


def all_charts(tidy: dict[str, Any]) -> None:
    """Every chart the results allow, one tab per comparison; empty ones say so."""
    sections = (
        ("Quality per arm", quality_chart),
        ("Paired comparisons", comparisons_chart),
        ("Retrieval", retrieval_chart),
        ("Latency and memory", cost_charts),
        ("LoRA loss", loss_chart),
    )
    for tab, (title, draw) in zip(st.tabs([t for t, _ in sections]), sections, strict=True):
        with tab:
            if not draw(tidy):
                st.caption(f"{title}: nothing to show for this run.")
