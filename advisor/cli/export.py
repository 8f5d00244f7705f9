"""``advisor export``: the finetune plan as ready-to-run TRL, Axolotl and LLaMA-Factory setups."""

from __future__ import annotations

import argparse
import sys


def run(args: argparse.Namespace) -> int:
    from advisor.finetune.export import export_training_setup

    paths = export_training_setup(
        args.plan, args.format, args.out, data_path=args.data, model=args.model, run_dir=args.run
    )
    for path in paths:
        print(path)
    print(f"advisor export: wrote {len(paths)} files under {args.out}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="write the finetune plan as TRL / Axolotl / LLaMA-Factory training setups",
        description="Turn a finetune plan (or `advisor recommend --json` output) into "
        "ready-to-run training setups with the data converted, one folder per format. "
        "With --run, a pilot's LoRA settings that worked, its task and its split are used.",
    )
    p.add_argument(
        "--plan", required=True, help="JSON of a finetune plan or of `advisor recommend --json`"
    )
    p.add_argument(
        "--format",
        default="trl,axolotl,llamafactory",
        help="trl, axolotl, llamafactory, comma-separated (default: all three)",
    )
    p.add_argument("--out", required=True, help="folder to write (one subfolder per format)")
    p.add_argument("--run", help="pilot run folder: LoRA settings, task, split and data file")
    p.add_argument("--data", help="examples (CSV/JSONL with input,output); default: the run's")
    p.add_argument("--model", help="model to train (hub id or folder); default: the run's")
    p.set_defaults(func=run)
