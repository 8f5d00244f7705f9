"""``advisor report [RUN_DIR] [--answers FILE] [--format md,html,pdf,json] [--out DIR]``.

Why RUN_DIR is optional: a team that only answered the questionnaire still gets a report
(``--answers`` alone); a pilot folder alone gives the evidence without a ranking. The report
goes next to the run by default so the evidence and its write-up stay together.
"""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_OUT = Path("report")


def register(subparsers) -> None:
    from advisor.report import FORMATS

    parser = subparsers.add_parser(
        "report",
        help="write the recommendation report (Markdown, HTML, PDF, JSON)",
        description="Write the recommendation report from a pilot run folder and/or "
        "questionnaire answers. RUN_DIR/answers.json is used when --answers is not given.",
    )
    parser.add_argument(
        "run_dir",
        nargs="?",
        type=Path,
        metavar="RUN_DIR",
        help="pilot run folder (holds results.json)",
    )
    parser.add_argument(
        "--answers", type=Path, metavar="FILE", help="questionnaire answers (JSON or YAML)"
    )
    parser.add_argument(
        "--format",
        default=",".join(FORMATS),
        metavar="FORMATS",
        help=f"comma-separated formats among {', '.join(FORMATS)} (default: all)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="output folder (default: RUN_DIR, or ./report without one)",
    )
    parser.add_argument(
        "--prices",
        type=Path,
        metavar="FILE",
        help="JSON/YAML file overriding the example prices used in the "
        "cost projection (fields of advisor.decide.costs.Prices)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from advisor.decide.costs import load_prices
    from advisor.report import build_report, parse_formats, write_reports

    formats = parse_formats(args.format)  # fail on a typo before any work is done
    prices = load_prices(args.prices) if args.prices else None
    data = build_report(run_dir=args.run_dir, answers_path=args.answers, prices=prices)
    out = args.out or (args.run_dir if args.run_dir is not None else DEFAULT_OUT)
    for fmt, path in write_reports(data, out, formats).items():
        print(f"{fmt}: {path}")
    if data.get("smoke"):
        print(
            "note: smoke run (built-in tiny model): the numbers test the pipeline, not the decision"
        )
    return 0
