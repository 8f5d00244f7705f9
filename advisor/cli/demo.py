"""``advisor demo``: the whole flow offline on a bundled sample with the built-in model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEMO_ANSWERS = {
    "task": "answer questions about our product catalogue and towns",
    "prompting_effort": "systematic",
    "few_shot_tried": True,
    "failures": ["missing_knowledge", "hallucinated_facts"],
    "knowledge_source": True,
    "knowledge_change": "monthly",
    "labeled_examples": 300,
    "model_access": "open_weights",
    "model_params_b": 7.0,
    "gpu_memory_gb": 24.0,
    "ml_expertise": "some",
    "can_serve_custom_model": True,
    "queries_per_day": 5000,
}


def run(args: argparse.Namespace) -> int:
    from advisor.cli.pilot import _Bars, print_summary
    from advisor.decision import recommend
    from advisor.evidence import load_evidence
    from advisor.finetune import LoraSettings
    from advisor.pilot import run_pilot
    from advisor.pilot_context import PilotSettings
    from advisor.questionnaire import answers_to_dict, parse_answers
    from advisor.report import build_report, write_reports
    from advisor.runio import atomic_write_json
    from advisor.samples import get_sample

    sample = get_sample(args.sample)
    out = Path(args.out or f"runs/demo-{sample.name}")
    print(f"advisor demo: sample '{sample.name}' ({sample.description})", file=sys.stderr)
    print(
        "Using the built-in tiny model: a SMOKE run. Its quality numbers test the pipeline, "
        "not the decision.",
        file=sys.stderr,
    )
    answers = parse_answers(DEMO_ANSWERS)
    atomic_write_json(out / "answers.json", answers_to_dict(answers))
    settings = PilotSettings(
        data=str(sample.data),
        kb=str(sample.kb) if sample.kb else None,
        out=str(out),
        model=args.model,
        task=sample.task,
        format=sample.format,
        seed=args.seed,
        test_size=args.test_size,
        embedder=args.embedder,
        lora=LoraSettings(epochs=2, learning_rate=3e-3, seed=args.seed),
    )
    bars = _Bars(args.quiet)
    try:
        results = run_pilot(settings, progress=bars)
    finally:
        bars.close()
    print_summary(results, str(out))
    rec = recommend(answers, load_evidence(out))
    atomic_write_json(out / "recommendation.json", rec.to_dict())
    paths = write_reports(build_report(run_dir=out), out / "report")
    print(f"\nrecommendation: {rec.primary} — {rec.next_step}")
    print(f"run folder:     {out}/ (results.json, predictions.jsonl, adapters/)")
    for fmt, path in paths.items():
        print(f"report ({fmt}):{' ' * (5 - len(fmt))}{path}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="run the whole flow offline on a bundled sample (smoke run, built-in model)",
        description="Pilot every arm on a bundled sample with the built-in tiny model, then "
        "recommend and write the report. Needs no network.",
    )
    p.add_argument("--sample", default="tiny", help="facts, form or tiny (default tiny)")
    p.add_argument("--out", help="run folder (default runs/demo-SAMPLE)")
    p.add_argument("--model", default="builtin:tiny", help=argparse.SUPPRESS)
    p.add_argument("--embedder", help="sentence-transformers id or folder (default MiniLM)")
    p.add_argument("--test-size", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=run)
