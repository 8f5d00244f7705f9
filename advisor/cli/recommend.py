"""``advisor recommend [--answers FILE] [--pilot RUN_DIR] [--json]``.

Why it reads a pilot folder too: the questionnaire says what *should* work; the pilot says
what *did* on the team's data. With ``--pilot`` the measured differences are weighed in
and cited next to the chapter's principles. ``--json`` prints exactly one JSON object (the
contract's shape) so scripts can rely on stdout; notes go to stderr then.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

LABELS = {"prompting": "Prompting", "rag": "RAG", "finetune": "Finetuning",
          "rag+finetune": "RAG + finetuning"}  # fmt: skip


def _epilog() -> str:
    from advisor.decide.questionnaire import QUESTIONS, Answers, answers_to_dict

    defaults = answers_to_dict(Answers())
    rows = [
        f"  {q.key:<24} {q.describe_allowed()} (default {json.dumps(defaults[q.key])})"
        for q in QUESTIONS
    ]
    return "answers file keys (JSON or YAML, all optional):\n" + "\n".join(rows)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "recommend",
        help="recommend prompting, RAG or finetuning from questionnaire answers (+ a pilot)",
        description="Recommend prompting, RAG, finetuning or both from questionnaire "
        "answers, weighing in a pilot's measurements when --pilot is given.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--answers",
        metavar="FILE",
        help="questionnaire answers, JSON or YAML ('-' reads stdin); default: "
        "RUN_DIR/answers.json with --pilot, else the documented defaults",
    )
    parser.add_argument("--pilot", type=Path, metavar="RUN_DIR", help="a pilot run folder")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def _read_answers(args: argparse.Namespace) -> tuple[Any, str]:
    """The answers and a phrase saying where they came from."""
    from advisor.decide.questionnaire import Answers, load_answers, loads_answers

    if args.answers == "-":
        return loads_answers(sys.stdin.buffer.read(), name="answers on stdin"), "stdin"
    if args.answers:
        return load_answers(args.answers), args.answers
    if args.pilot is not None and (args.pilot / "answers.json").is_file():
        path = args.pilot / "answers.json"
        return load_answers(path), str(path)
    return Answers(), "defaults"


def run(args: argparse.Namespace) -> int:
    """Print the recommendation; bad answers or a broken pilot raise AdvisorError (exit 2)."""
    from advisor.decide.evidence import load_evidence
    from advisor.decide.questionnaire import answers_to_dict
    from advisor.decide.recommend import recommend

    answers, origin = _read_answers(args)
    evidence = load_evidence(args.pilot) if args.pilot is not None else None
    rec = recommend(answers, evidence)
    note = None
    if origin == "defaults":
        note = (
            "no --answers given: using the documented defaults (see `advisor recommend "
            "--help`); answer the questionnaire for a recommendation about your team"
        )
    if args.json:
        if note:
            print(f"advisor: note: {note}", file=sys.stderr)
        out = rec.to_dict()
        out["answers"] = answers_to_dict(answers)
        out["answers_from"] = origin
        print(json.dumps(out, indent=2))
        return 0
    print(render_text(rec, origin, note))
    return 0


def _fmt_effects(effects: dict[str, float]) -> str:
    return ", ".join(f"{LABELS.get(a, a)} {d:+g}" for a, d in effects.items())


def render_text(rec: Any, origin: str, note: str | None = None) -> str:
    """The recommendation for a terminal: verdict, ranking, next step, reasons, plan."""
    from advisor.decide.rules import METHOD_LABELS

    lines = []
    if note:
        lines += [f"Note: {note}.", ""]
    lines += [
        f"Recommendation: {LABELS[rec.primary]} (confidence: {rec.confidence})",
        f"Answers: {origin}" + (f"; pilot: {rec.pilot}" if rec.pilot else ""),
        "",
        "Scores (higher = more suitable):",
    ]
    for i, approach in enumerate(rec.ranking, start=1):
        status = ""
        if approach in rec.unavailable:
            status = "  unavailable"
        elif approach in rec.held:
            status = "  waits for prompting to be done"
        mark = "  <- recommended" if approach == rec.primary else ""
        lines.append(f"  {i}. {LABELS[approach]:<18} {rec.scores[approach]:>7.2f}{status}{mark}")
    lines += ["", f"Next step: {rec.next_step}", "", "Why:"]
    for reason in rec.reasons:
        lines.append(f"  - {reason.text}")
        moved = _fmt_effects(reason.effects)
        lines.append(f"      [{reason.rule}] {reason.source}" + (f" ({moved})" if moved else ""))
    plan = rec.finetune_plan
    if plan:
        method = METHOD_LABELS.get(str(plan.get("method")), "nothing fits")
        lines += [
            "",
            f"Finetuning plan: {method}, rank {plan.get('rank')}, alpha {plan.get('alpha')}, "
            f"targets {', '.join(plan.get('target_modules') or [])}",
            f"  learning rate {plan.get('learning_rate'):g}, {plan.get('epochs')} epochs, "
            f"about {plan.get('train_memory_gb', 0):.1f} GB to train "
            f"({'fits' if plan.get('fits') else 'does not fit'} your accelerator)",
            f"  {plan.get('note', '')}",
        ]
    return "\n".join(lines)
