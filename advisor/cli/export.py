"""``advisor export``: continue elsewhere: training setups, the data, a promptfoo eval."""

from __future__ import annotations

import argparse
import sys

TRAINING_DEFAULT = "trl,axolotl,llamafactory"


def run(args: argparse.Namespace) -> int:
    from advisor.errors import AdvisorError
    from advisor.finetune.export import export_training_setup

    fmt = args.format
    if fmt is None:
        if args.plan:
            fmt = TRAINING_DEFAULT
        elif args.run:
            fmt = "promptfoo,chat_jsonl,alpaca,sharegpt"
        else:
            raise AdvisorError(
                "nothing to export: pass --plan (training setups), --run (a pilot run: "
                "promptfoo and data exports) or --data with --format chat_jsonl,alpaca,sharegpt"
            )
    paths = export_training_setup(
        args.plan,
        fmt,
        args.out,
        data_path=args.data,
        model=args.model,
        run_dir=args.run,
        provider=args.provider,
        force=args.force,
    )
    for path in paths:
        print(path)
    print(f"advisor export: wrote {len(paths)} files under {args.out}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="write training setups (TRL / Axolotl / LLaMA-Factory), the data as chat JSONL / "
        "Alpaca / ShareGPT, or a promptfoo eval of a pilot run",
        description="Continue the work elsewhere, one folder per format. Training setups "
        "(trl, axolotl, llamafactory) turn a finetune plan into ready-to-run configs with the "
        "data converted; chat_jsonl, alpaca and sharegpt write the pilot's train/validation "
        "split (its test items held out); promptfoo writes promptfooconfig.yaml with the "
        "pilot's prompts per arm, its test split and its primary metric as assertions. "
        "With --run, a pilot's LoRA settings, task and split are used.",
    )
    p.add_argument(
        "--plan",
        help="JSON of a finetune plan or of `advisor recommend --json` (training formats)",
    )
    p.add_argument(
        "--format",
        help="comma-separated: trl, axolotl, llamafactory (need --plan), chat_jsonl, alpaca, "
        "sharegpt, promptfoo (needs --run). Default: the three training setups with --plan, "
        "else promptfoo and the three data formats with --run",
    )
    p.add_argument("--out", required=True, help="folder to write (one subfolder per format)")
    p.add_argument("--run", help="pilot run folder: LoRA settings, task, split and data file")
    p.add_argument(
        "--data", help="examples (any format `advisor pilot --data` reads); default: the run's"
    )
    p.add_argument("--model", help="model to train (hub id or folder); default: the run's")
    p.add_argument(
        "--provider",
        metavar="ID",
        help="promptfoo: evaluate with this endpoint (ollama:MODEL, openai:MODEL, vllm[:URL], "
        "llamacpp[:URL]); default: the run's --api-base, else its local model",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="overwrite files already in --out that the export would replace (refused "
        "otherwise, so your edits are never lost)",
    )
    p.set_defaults(func=run)
