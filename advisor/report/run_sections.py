"""The report's sections on how the pilot ran: retrieval recall, LoRA training, and time
and memory estimated against measured.

Why apart from :mod:`advisor.report.pilot_sections`: those sections weigh the arms against
each other; these describe the run's machinery, which a reader checks once (did retrieval
find the passages, did the loss fall, did the estimate hold) and a smaller file keeps each
side readable.
"""

from __future__ import annotations

from advisor.report import formatting as fmt
from advisor.report.blocks import Block, heading, para, table


def retrieval_blocks(pilot: dict) -> list[Block]:
    out = [heading("Retrieval recall", 3)]
    if not pilot["retrieval"]:
        return out + [
            para(
                "No retrieval recall: the examples have no doc_id naming the "
                "document that holds each answer (or no knowledge base was given).",
                muted=True,
            )
        ]
    keys = pilot["retrieval_keys"]
    rows = [
        [r["retriever"]]
        + [
            fmt.num(r.get(k)) if k.startswith("recall") or k == "mrr" else fmt.integer(r.get(k))
            for k in keys
        ]
        for r in pilot["retrieval"]
    ]
    header = ["Retriever"] + ["Queries (n)" if k == "n" else k for k in keys]
    return out + [table(header, rows, [2] + [1.5] * len(keys))]


def training_blocks(pilot: dict) -> list[Block]:
    if not pilot["training"]:
        return []
    rows = [
        [
            t["label"],
            fmt.num(t["seconds"], 1),
            fmt.integer(t["trainable_params"]),
            fmt.num(t["final_loss"], 3),
            fmt.integer(t["peak_memory_mb"]),
        ]
        for t in pilot["training"]
    ]
    return [
        heading("LoRA training", 3),
        table(
            ["Arm", "Seconds", "Trainable params", "Final loss", "Peak memory (MB)"],
            rows,
            [3, 1.5, 2, 1.5, 2],
        ),
    ]


def timing_blocks(pilot: dict) -> list[Block]:
    timing = pilot.get("timing")
    if not timing:
        return []
    how = (
        "measured on this machine before the arms ran"
        if timing["calibrated"]
        else "counted from the model's size (no measurement)"
    )
    rows = [
        [
            t["label"],
            fmt.num(t["estimated_s"], 1),
            fmt.num(t["measured_s"], 1),
            fmt.integer(t["estimated_peak_mb"]),
            fmt.integer(t["measured_peak_mb"]),
        ]
        for t in timing["arms"]
    ]
    rows.append(
        ["All arms", fmt.num(timing["estimated_s"], 1), fmt.num(timing["measured_s"], 1), "", ""]
    )
    out = [
        heading("Time and memory: estimated vs measured", 3),
        para(f"The estimate was {how}; measured / estimated time: {fmt.num(timing['ratio'])}."),
        table(
            ["Arm", "Estimated (s)", "Measured (s)", "Est. peak (MB)", "Peak (MB)"],
            rows,
            [3, 1.5, 1.5, 1.5, 1.5],
        ),
    ]
    if timing["budget_s"] is not None:
        cuts = "; ".join(timing["budget_cuts"]) or "nothing"
        out.append(para(f"Time budget {fmt.num(timing['budget_s'], 0)} s; the plan cut {cuts}."))
    return out
