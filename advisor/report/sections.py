"""The report's layout, top to bottom, as format-neutral blocks (see ``blocks.py``).

Why blocks: Markdown, HTML and PDF must show the same sections with the same numbers. The
wording and number formatting live here and in ``pilot_sections``/``cost_sections``, once;
each renderer only maps block kinds to its own syntax and escapes every string.
"""

from __future__ import annotations

from typing import Any

from advisor.report import formatting as fmt
from advisor.report.blocks import Block, bullets, heading, para, table
from advisor.report.cost_sections import cost_blocks
from advisor.report.evidence_sections import evidence_blocks
from advisor.report.pilot_sections import examples_blocks, headline_chart_blocks, pilot_blocks

PLAN_LABELS = {
    "method": "Method",
    "rank": "LoRA rank",
    "alpha": "LoRA alpha",
    "target_modules": "Target modules",
    "learning_rate": "Learning rate",
    "epochs": "Epochs",
    "train_memory_gb": "Training memory (GB)",
    "gpu_memory_gb": "GPU memory available (GB)",
    "fits": "Fits in GPU memory",
    "gradient_checkpointing": "Gradient checkpointing",
    "lora_dropout": "LoRA dropout",
    "safety_margin": "Memory safety margin",
    "params_b": "Model size (billion parameters)",
    "labeled_examples": "Labelled examples",
    "largest_qlora_params_b": "Largest model QLoRA fits (billion parameters)",
    "optimizer_convention": "Optimizer memory convention",
    "batch_size": "Batch size",
    "dtype": "Precision",
}
PLAN_HIDDEN = {"note", "estimates", "unit"}  # shown as their own paragraph / table
ESTIMATE_COLUMNS = {
    "trainable_params": "Trainable params",
    "weights_gb": "Weights",
    "gradients_gb": "Gradients",
    "optimizer_gb": "Optimizer",
    "activations_gb": "Activations",
    "total_train_gb": "Total to train",
    "inference_gb": "Inference",
}


def _recommendation(data: dict) -> list[Block]:
    """The first screen: the recommendation, the evidence behind it (one chart of the
    primary metric per arm with its CIs) and the next step, before any table."""
    rec = data["recommendation"]
    out = [heading("Recommendation")]
    if not rec:
        return (
            out
            + [
                para(
                    "No ranked recommendation: it needs the questionnaire answers, and none "
                    "were given. "
                    "Answer the questionnaire (advisor recommend --answers FILE, or the "
                    "app) and re-run the report with --answers.",
                    muted=True,
                )
            ]
            + headline_chart_blocks(data)
        )
    conf = f" (confidence {rec['confidence_text']})" if rec["confidence_text"] else ""
    out.append(para(f"{rec['primary_label']}{conf}", label="Recommended:"))
    out += headline_chart_blocks(data)
    if rec["next_step"]:
        out.append(para(rec["next_step"], label="Next step:"))
    out += [
        heading("Ranked options", 3),
        table(
            ["Rank", "Option", "Score"],
            [
                [
                    str(o["rank"]),
                    o["label"] + (" (recommended)" if o["is_primary"] else ""),
                    fmt.num(o["score"]),
                ]
                for o in rec["options"]
            ],
            [1, 5, 2],
        ),
    ]
    for o in rec["options"]:
        out.append(heading(f"{o['rank']}. {o['label']}: score {fmt.num(o['score'])}", 4))
        if o.get("unavailable"):
            out.append(para(o["unavailable"], label="Not available:"))
        if o.get("held"):
            out.append(para(o["held"], label="Not yet:"))
        items = [
            (
                r["text"] + (f" ({fmt.signed(r['delta'])})" if r["delta"] is not None else ""),
                r["source"] or None,
            )
            for r in o["reasons"]
        ]
        out.append(bullets(items) if items else para("No reason moved this option.", muted=True))
        if o["contributions"]:
            out.append(
                para("What moved this score (rule: points, and the answers behind it):", muted=True)
            )
            rows = []
            for c in o["contributions"]:
                answers = "; ".join(
                    f"{_label(a['key'])}: "
                    f"{answer_text(a['key'], a['value'], a.get('answered', True))}"
                    for a in c["answers"]
                )
                rows.append(
                    (
                        f"{c['rule']}: {fmt.signed(c['delta'])}",
                        f"answers: {answers}" if answers else None,
                    )
                )
            out.append(bullets(rows))
    if rec["general_reasons"]:
        out += [
            heading("Other considerations", 3),
            bullets([(r["text"], r["source"] or None) for r in rec["general_reasons"]]),
        ]
    return out


def _label(key: str) -> str:
    from advisor.decide.questionnaire import QUESTION_BY_KEY

    q = QUESTION_BY_KEY.get(key)
    return q.label.rstrip("?") if q is not None else key


def _scalar(value: Any) -> bool:
    return (
        value is None
        or isinstance(value, str | int | float | bool)
        or (
            isinstance(value, list | tuple) and all(isinstance(v, str | int | float) for v in value)
        )
    )


def _plan(data: dict) -> list[Block]:
    plan = data["finetune_plan"]
    out = [heading("Finetuning plan")]
    if not plan:
        return out + [
            para(
                "No finetuning plan: finetuning is not among the top options, or it would not "
                "train locally (or no questionnaire answers were given).",
                muted=True,
            )
        ]
    if plan.get("note"):
        out.append(para(str(plan["note"])))
    keys = [k for k in PLAN_LABELS if k in plan]
    keys += [k for k in plan if k not in PLAN_LABELS and k not in PLAN_HIDDEN and _scalar(plan[k])]
    rows = [[PLAN_LABELS.get(k, k.replace("_", " ")), fmt.plain(plan[k])] for k in keys]
    out.append(table(["Setting", "Value"], rows, [2, 3]))
    estimates = {m: e for m, e in (plan.get("estimates") or {}).items() if isinstance(e, dict)}
    if estimates:
        cols = [k for k in ESTIMATE_COLUMNS if any(k in e for e in estimates.values())]
        rows = [
            [str(m)]
            + [
                fmt.integer(e.get(k)) if k == "trainable_params" else fmt.num(e.get(k), 2)
                for k in cols
            ]
            for m, e in estimates.items()
        ]
        out += [
            heading(f"Memory estimate per method, {plan.get('unit') or 'GB'}", 3),
            table(
                ["Method"] + [ESTIMATE_COLUMNS[k] for k in cols],
                rows,
                [1.1] + [2.0 if k == "trainable_params" else 1.2 for k in cols],
            ),
        ]
        chosen = estimates.get(str(plan.get("method")), {})
        notes = [c for c in chosen.get("conventions") or [] if isinstance(c, str)]
        if notes:
            out.append(bullets([(n, None) for n in notes]))
    return out


def answer_text(key: str, value: Any, answered: bool = True) -> str:
    """An answer as words ('open weights (we hold them)', 'yes'), defaults marked."""
    from advisor.decide.questionnaire import choice_label

    if isinstance(value, list | tuple):
        text = ", ".join(choice_label(key, v) for v in value) if value else "(none)"
    elif isinstance(value, str) and value:
        text = choice_label(key, value) if key != "task" else value
    else:
        text = fmt.plain(value)
    return text if answered else f"{text} (default: not answered)"


def _answers(data: dict) -> list[Block]:
    if data["answers"] is None:
        return [heading("Your answers"), para("No questionnaire answers were given.", muted=True)]
    if not data.get("answers_given", True):
        out = [
            heading("Answers used: the documented defaults"),
            para(
                "No questionnaire answers were given, so the recommendation used the "
                "documented default for every question: none of these are yours. Answer the "
                "questionnaire to replace them.",
                muted=True,
            ),
        ]
    else:
        out = [heading("Your answers")]
    rows = [
        [a.get("label") or a["key"], answer_text(a["key"], a["value"], a.get("answered", True))]
        for a in data["answers"]
    ]
    return out + [table(["Question", "Answer"], rows, [3, 3])]


def report_blocks(data: dict) -> list[Block]:
    """The whole report, top to bottom, as blocks every renderer can draw."""
    out = [heading(data["title"], 1)]
    if data.get("smoke"):
        out.append({"kind": "notice", "text": f"SMOKE RUN. {data['smoke_notice']}"})
    if data.get("task"):
        out.append(para(data["task"], label="Task:"))
    out.append(para(f"Generated {data['generated_at']} by advisor.", muted=True))
    summary = para(data["summary"])
    summary["role"] = "summary"  # renderers may set it off (HTML: a shaded box)
    out += [heading("Summary"), summary]
    out += [para(w, label="Note:") for w in data.get("warnings") or []]
    out += _recommendation(data) + _plan(data) + pilot_blocks(data) + evidence_blocks(data)
    out += examples_blocks(data)
    out += cost_blocks(data) + _answers(data)
    out += [heading("Sources"), bullets([(s, None) for s in data["references"]])]
    return out
