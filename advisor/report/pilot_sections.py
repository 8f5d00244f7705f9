"""Report blocks for the pilot evidence: arm tables, charts, comparisons, failures, examples.

Why here and not in the renderers: the wording and number formatting of the pilot sections
are written once, so Markdown, HTML and PDF cannot disagree.
"""

from __future__ import annotations

from advisor.report import formatting as fmt
from advisor.report.blocks import Block, bullets, heading, para, table
from advisor.report.run_sections import retrieval_blocks, timing_blocks, training_blocks

FAILURE_ADVICE = {
    "information": "mostly information failures: retrieval (RAG) is the next lever",
    "behaviour": "mostly behaviour failures: finetuning is the next lever",
    "other": "mostly failures neither retrieval nor finetuning clearly explains",
}


def _arms_tables(pilot: dict, ci_level: int) -> list[Block]:
    metrics = pilot["metrics"]
    rows = []
    for a in pilot["arms"]:
        status = a["status"] if not a["error"] else f"{a['status']}: {a['error']}"
        rows.append([a["label"], status] + [fmt.mean_ci(a["metrics"].get(m)) for m in metrics])
    out = [heading(f"Quality per arm (mean and {ci_level}% CI)", 3)]
    out.append(
        table(
            ["Arm", "Status"] + [fmt.label(m, fmt.METRIC_LABELS) for m in metrics],
            rows,
            [3, 1.5] + [2.2] * len(metrics),
        )
    )
    rows = [
        [
            a["label"],
            fmt.ms(a["latency_ms"].get("p50")),
            fmt.ms(a["latency_ms"].get("p95")),
            fmt.integer(a["memory_added_mb"]),
            fmt.integer(a["peak_memory_mb"]),
            fmt.integer(a["tokens"].get("prompt_mean")),
            fmt.integer(a["tokens"].get("output_mean")),
        ]
        for a in pilot["arms"]
    ]
    out += [
        heading("Speed, memory and tokens per arm", 3),
        table(
            [
                "Arm",
                "Latency p50 (ms)",
                "Latency p95 (ms)",
                "Memory added by the arm (MB)",
                "Process peak (MB)",
                "Prompt tokens",
                "Output tokens",
            ],
            rows,
            [3, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5],
        ),
        para(
            "Memory added: the arm's own peak over what the process already held when it "
            "started (the model, libraries, earlier arms). Process peak: the whole process's "
            "resident memory at its highest while the arm ran.",
            muted=True,
        ),
    ]
    return out


def _comparisons(pilot: dict, ci_level: int) -> list[Block]:
    out = [heading("Significant differences", 3)]
    n = pilot["n_test"]
    for metric, mde in pilot["mde"].items():
        items = f"With {n} test items" if n else "At this test size"
        out.append(
            para(
                f"{items}, differences under ~{fmt.points(mde)} points of "
                f"{fmt.label(metric, fmt.METRIC_LABELS)} are noise (minimum detectable "
                f"effect {fmt.num(mde)})."
            )
        )
    if not pilot["comparisons"]:
        total = pilot["n_comparisons"]
        return out + [
            para(
                f"None of the {total} paired comparisons was significant: the arms "
                "cannot be told apart on this test set."
                if total
                else "The pilot recorded no paired comparisons.",
                muted=True,
            )
        ]
    rows = [
        [
            c["a_label"],
            c["b_label"],
            fmt.label(c["metric"], fmt.METRIC_LABELS),
            fmt.signed(c["diff"]),
            fmt.ci(c["ci95"]),
            fmt.pvalue(c["p_holm"] if c["p_holm"] is not None else c["p_value"]),
            fmt.integer(c["n"]),
        ]
        for c in pilot["comparisons"]
    ]
    out.append(
        para(
            f"{len(rows)} of {pilot['n_comparisons']} paired comparisons were "
            "significant (p-values Holm-adjusted where the pilot adjusted them)."
        )
    )
    return out + [
        table(
            ["Arm", "Versus", "Metric", "Difference", f"{ci_level}% CI", "p", "n"],
            rows,
            [2.6, 2.6, 2, 1.4, 2, 1.2, 0.8],
        )
    ]


def _failures(pilot: dict) -> list[Block]:
    out = [heading("Failure analysis", 3)]
    if not pilot["failures"]:
        return out + [
            para(
                "No failure analysis: the pilot ran no prompting arm that recorded failures.",
                muted=True,
            )
        ]
    out.append(
        para(
            "Why did prompting miss? Information failures (facts missing or wrong) call "
            "for RAG; behaviour failures (format, style, instructions) call for "
            "finetuning. Finetuning is for form, RAG is for facts."
        )
    )
    rows, notes = [], []
    for f in pilot["failures"]:
        rows.append(
            [
                f["label"],
                str(f["correct"]),
                str(f["information"]),
                str(f["behaviour"]),
                str(f["other"]),
            ]
        )
        misses = {k: f[k] for k in ("information", "behaviour", "other")}
        top = max(misses, key=lambda k: misses[k])
        if misses[top] > 0 and list(misses.values()).count(misses[top]) == 1:
            notes.append((f"{f['label']}: {FAILURE_ADVICE[top]}.", None))
    out.append(
        table(
            ["Arm", "Correct", "Information", "Behaviour", "Other"], rows, [3, 1.5, 1.5, 1.5, 1.5]
        )
    )
    return out + ([bullets(notes)] if notes else [])


def _memory(arm: dict) -> float | None:
    """The arm's own memory: added over the process baseline (older runs: process peak)."""
    added = arm.get("memory_added_mb")
    return added if added is not None else arm.get("peak_memory_mb")


def chart_ids(pilot: dict) -> list[str]:
    """Charts the pilot has data for (charts.py draws exactly these)."""
    metric = pilot["quality_metric"]
    usable = [a for a in pilot["arms"] if a.get("usable", True)]
    scored = [a for a in usable if metric in a["metrics"]]
    found = {
        "quality": bool(scored),
        "quality_latency": any("p50" in a["latency_ms"] for a in scored),
        "memory": any(_memory(a) is not None for a in usable),
        "loss": any(t["train_loss"] or t["val_loss"] for t in pilot["training"]),
    }
    return [k for k, ok in found.items() if ok]


def _quality_caption(pilot: dict, ci_level: int, smoke: bool) -> str:
    metric = fmt.label(pilot["quality_metric"] or "", fmt.METRIC_LABELS)
    caption = (
        f"Mean {metric} per arm on the {pilot['n_test'] or ''} test items; error bars are "
        f"{ci_level}% confidence intervals."
    ).replace("the  test", "the test")
    means = [
        a["metrics"][pilot["quality_metric"]].get("mean")
        for a in pilot["arms"]
        if pilot["quality_metric"] in a["metrics"]
    ]
    if means and all(m == 0 for m in means):
        # a chart of zero-length bars looks broken: say what it means
        caption += (
            f" Every arm scored 0 on {metric}, so there are no bars: no arm got an answer "
            "right by this measure" + (" (expected of the built-in smoke model)." if smoke else ".")
        )
    return caption


def headline_chart_blocks(data: dict) -> list[Block]:
    """What the pilot measured for the decision, as one chart: the primary metric per arm."""
    pilot = data.get("pilot")
    if not pilot or "quality" not in chart_ids(pilot):
        return []
    metric = fmt.label(pilot["quality_metric"] or "", fmt.METRIC_LABELS)
    return [
        {
            "kind": "chart",
            "id": "quality",
            "title": f"Measured evidence: {metric} per arm",
            "caption": _quality_caption(pilot, data["ci_level"], bool(data.get("smoke"))),
        }
    ]


def pilot_blocks(data: dict) -> list[Block]:
    pilot = data["pilot"]
    out = [heading("Pilot evidence")]
    if not pilot:
        return out + [
            para(
                "No pilot was run. Run advisor pilot --data FILE --out RUN_DIR to "
                "measure the options on your own data.",
                muted=True,
            )
        ]
    d = pilot["data"]
    facts = [
        f"model {pilot['model']}" if pilot["model"] else None,
        f"{pilot['n_test']} test items" if pilot["n_test"] is not None else None,
        f"{fmt.integer(d['n_train'])} training examples" if "n_train" in d else None,
        f"{fmt.integer(d['n_documents'])} knowledge-base documents" if "n_documents" in d else None,
        f"seed {pilot['seed']}" if pilot["seed"] is not None else None,
    ]
    out.append(para("Pilot run: " + ", ".join(f for f in facts if f) + "."))
    if pilot.get("model_source"):
        out.append(para(f"The model's weights came from: {pilot['model_source']}.", muted=True))
    if pilot["quality_metric"]:
        why = pilot.get("quality_metric_reason")
        primary = fmt.label(pilot["quality_metric"], fmt.METRIC_LABELS)
        out.append(
            para(
                f"Primary metric: {primary}"
                + (f", because {why}." if why else ".")
                + " The decision and the first chart read it; the tables lead with it."
            )
        )
    if pilot["data_warnings"]:
        out.append(bullets([(w, "data warning") for w in pilot["data_warnings"]]))
    if not pilot["arms"]:
        return out + [para("The results hold no arms.", muted=True)]
    out += _arms_tables(pilot, data["ci_level"])
    out.append(heading("Charts", 3))
    metric = fmt.label(pilot["quality_metric"] or "", fmt.METRIC_LABELS)
    available = chart_ids(pilot)
    if "quality" in available:
        out.append(
            para(
                f"The chart of {metric} per arm is at the top of the report, under the "
                "recommendation.",
                muted=True,
            )
        )
    for chart_id, title, caption in (
        (
            "quality_latency",
            f"Quality ({metric}) vs median latency",
            "Up and to the left is better: higher quality at lower latency.",
        ),
        (
            "memory",
            "Memory each arm added",
            "Peak memory each arm added on top of what the process already held (MB); "
            "runs recorded before this was measured show the process peak instead.",
        ),
        (
            "loss",
            "LoRA loss curves",
            "Solid: training loss; dashed: validation loss. Stop when validation loss rises.",
        ),
    ):
        if chart_id in available:
            out.append({"kind": "chart", "id": chart_id, "title": title, "caption": caption})
    if not available:
        out.append(para("Nothing to plot: no arm has a quality score.", muted=True))
    return (
        out
        + _comparisons(pilot, data["ci_level"])
        + _failures(pilot)
        + retrieval_blocks(pilot)
        + training_blocks(pilot)
        + timing_blocks(pilot)
    )


def examples_blocks(data: dict) -> list[Block]:
    pilot = data["pilot"]
    if not pilot:
        return []
    out = [heading("Example predictions")]
    if not pilot["examples"]:
        return out + [
            para("No predictions.jsonl in the run folder: no examples to show.", muted=True)
        ]
    out.append(
        para(
            "A few test items with every arm's output side by side. ✓ marks an output "
            "equal to the reference (ignoring case and spacing); long texts are cut.",
            muted=True,
        )
    )
    metric = fmt.label(pilot["quality_metric"] or "", fmt.METRIC_LABELS)
    for ex in pilot["examples"]:
        scored = any(o.get("score") is not None for o in ex["outputs"])
        rows = [["Input", ex["input"]], ["Reference", ex["reference"]]]
        for o in ex["outputs"]:
            text = o["output"] if not o["error"] else f"[error] {o['error']}"
            rows.append([o["label"] + (" ✓" if o["matches_reference"] else ""), text])
            if scored:
                rows[-1].append(fmt.num(o.get("score")))
        if scored:
            rows[0].append("")
            rows[1].append("")
            block = table(["", "Text", metric], rows, [1.3, 4, 0.8])
        else:
            block = table(["", "Text"], rows, [1.3, 4])
        out += [heading(f"Test item {ex['example_id']}", 3), block]
    return out
