"""Report blocks for the cost projection and the break-even of finetuning."""

from __future__ import annotations

from advisor.report import formatting as fmt
from advisor.report.blocks import Block, heading, para, table

PRICE_LABELS = {
    "currency": "Currency [currency]",
    "base_input_per_1m": "Prompted base model, per 1M input tokens [base_input_per_1m]",
    "base_output_per_1m": "Prompted base model, per 1M output tokens [base_output_per_1m]",
    "finetuned_input_per_1m": "Finetuned model, per 1M input tokens [finetuned_input_per_1m]",
    "finetuned_output_per_1m": "Finetuned model, per 1M output tokens [finetuned_output_per_1m]",
    "finetuned_hosting_per_month": "Finetuned endpoint, fixed per month "
    "[finetuned_hosting_per_month]",
    "training_per_1m": "Finetuning, per 1M training tokens [training_per_1m]",
    "training_tokens": "Training tokens (- = estimated) [training_tokens]",
    "gpu_hours": "GPU hours for training (- = priced by tokens) [gpu_hours]",
    "gpu_hour_rate": "Per GPU hour [gpu_hour_rate]",
    "one_off_extra": "Other one-off costs [one_off_extra]",
}


def cost_blocks(data: dict) -> list[Block]:
    c = data["costs"]
    cur = c["currency"]
    qpd = fmt.integer(c["queries_per_day"])
    assumed = (
        " (assumed: the answers give no queries_per_day)" if c["queries_per_day_assumed"] else ""
    )
    out = [
        heading("Cost projection"),
        para(
            f"At {qpd} queries per day{assumed}, {c['days_per_month']} days per month. "
            "Prices are the editable examples below (advisor report --prices FILE), not "
            "quotes. Measured token counts come from the pilot; the rest are estimates: "
            "few-shot examples and retrieved context lengthen the prompt, a finetuned "
            "model needs neither."
        ),
    ]
    rows = [
        [
            o["label"],
            fmt.integer(o["prompt_tokens"]),
            fmt.integer(o["output_tokens"]),
            o["tokens_source"] + (f" ({o['source_arm']})" if o["source_arm"] else ""),
            fmt.money(o["cost_per_1k"], cur),
            fmt.money(o["cost_per_month"], cur),
        ]
        for o in c["options"]
    ]
    out.append(
        table(
            [
                "Option",
                "Prompt tokens",
                "Output tokens",
                "Tokens from",
                f"Per {fmt.integer(c['per_queries'])} queries",
                "Per month",
            ],
            rows,
            [3, 1.6, 1.6, 2.4, 1.8, 1.8],
        )
    )
    one = c["finetune_one_off"]
    if one["method"] == "gpu_hours":
        how = (
            f"{fmt.num(one['gpu_hours'], 1)} GPU hours x "
            f"{fmt.money(one['gpu_hour_rate'], cur)} per hour"
        )
    else:
        src = "" if one["n_examples_source"] == "given" else " (assumed)"
        how = (
            f"{fmt.integer(one['training_tokens'])} training tokens "
            f"({fmt.integer(one['n_examples'])} examples{src} x "
            f"{fmt.integer(one['tokens_per_example'])} tokens x {one['epochs']} epochs) at "
            f"{fmt.money(c['prices']['training_per_1m'], cur)} per 1M"
        )
    extra = f" plus {fmt.money(one['extra'], cur)} other one-off costs" if one["extra"] else ""
    out += [
        heading("Break-even of finetuning", 3),
        para(
            f"One-off finetuning cost: {fmt.money(one['cost'], cur)} = {how}{extra}. "
            "Break-even is when cheaper queries have paid it back; 'never' when the "
            "finetuned option saves nothing per day."
        ),
    ]
    rows = [
        [
            b["option_label"],
            b["versus_label"],
            fmt.money(b["saving_per_1k"], cur),
            fmt.days(b["days"]),
            "never" if b["never"] else fmt.integer(b["queries"]),
            b["why"] or "",
        ]
        for b in c["break_even"]
    ]
    out.append(
        table(
            [
                "Finetuned option",
                "Versus",
                f"Saving per {fmt.integer(c['per_queries'])}",
                "Days to break even",
                "Queries to break even",
                "Why never",
            ],
            rows,
            [2.6, 2.4, 1.6, 1.5, 1.8, 2.4],
        )
    )
    rows = [
        [PRICE_LABELS.get(k, k.replace("_", " ")), fmt.plain(v)] for k, v in c["prices"].items()
    ]
    out += [
        heading("Prices used", 3),
        para(
            "Edit any of these in a JSON/YAML file (keys in brackets) and pass it with "
            "--prices. Engineering and labelling time count only if you set one_off_extra.",
            muted=True,
        ),
        table(["Price", f"Value ({cur})"], rows, [3, 2]),
    ]
    return out
