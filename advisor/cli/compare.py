"""``advisor compare RUN_A RUN_B [--arm A[:B]] [--json]``: did the change help?

A paired comparison of two pilot runs on the test items they share (a new prompt, a new
model, more data), with the same tests and intervals as inside a pilot. The logic lives in
:mod:`advisor.pilot.compare_runs`; this module parses and prints.
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def _value(v: Any) -> str:
    text = json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else repr(v)
    return text if len(text) <= 60 else text[:59] + "…"


def format_comparison(cmp: dict[str, Any]) -> str:
    """The comparison as plain text: settings that differ, then one table per arm."""
    lines = [
        f"Run A: {cmp['run_a']['path']} (model {cmp['run_a']['model']})",
        f"Run B: {cmp['run_b']['path']} (model {cmp['run_b']['model']})",
    ]
    if cmp["smoke"]:
        lines.append("SMOKE: a run used the built-in tiny model; its numbers test the pipeline.")
    if cmp["settings_diff"]:
        lines.append("Settings that differ:")
        lines += [
            f"  {d['key']}: {_value(d['a'])} -> {_value(d['b'])}" for d in cmp["settings_diff"]
        ]
    else:
        lines.append("The runs' settings are the same.")
    lines.append(
        f"Differences are {cmp['direction']}; * marks the primary metric; significant = "
        "p < 0.05 and the 95% interval excludes 0 (as inside a pilot)."
    )
    primary = cmp.get("primary_metric")
    for arm in cmp["arms"]:
        lines.append("")
        left_out = []
        if arm["n_only_a"]:
            left_out.append(f"{arm['n_only_a']} only in A")
        if arm["n_only_b"]:
            left_out.append(f"{arm['n_only_b']} only in B")
        extra = f" ({', '.join(left_out)}: left out)" if left_out else ""
        lines.append(f"{arm['label']}: {arm['n_shared']} shared test items{extra}")
        lines.append(
            f"  {'metric':<22}{'A':<20}{'B':<20}{'B - A':<24}{'p':<10}{'p (Holm)':<10}verdict"
        )
        for c in arm["comparisons"]:
            m = c["metric"]
            a, b = arm["metrics"][m]["a"], arm["metrics"][m]["b"]
            verdict = "significant" if c["significant"] else "not significant"
            if c.get("within_seed_spread"):
                verdict += f" (smaller than the seed spread {c['seed_spread']:.2f})"
            lo, hi = c["ci95"]
            name = f"{m} *" if m == primary else m
            cells = [
                (f"  {name}", 24),
                (f"{a['mean']:.2f} [{a['ci95'][0]:.2f}, {a['ci95'][1]:.2f}]", 20),
                (f"{b['mean']:.2f} [{b['ci95'][0]:.2f}, {b['ci95'][1]:.2f}]", 20),
                (f"{c['diff']:+.2f} [{lo:+.2f}, {hi:+.2f}]", 24),
                (f"{c['p_value']:.3g}", 10),
                (f"{c['p_holm']:.3g}", 10),
            ]
            lines.append("".join(text.ljust(width) for text, width in cells) + verdict)
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from advisor.pilot.compare_runs import compare_runs

    cmp = compare_runs(args.run_a, args.run_b, arm=args.arm)
    if args.json:
        print(json.dumps(cmp, indent=2, ensure_ascii=False))
    else:
        print(format_comparison(cmp))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="paired comparison of two pilot runs on the test items they share",
        description="Compare two pilot run folders item by item (a new prompt, model or "
        "more data): the same paired tests and 95% intervals as inside a pilot, B minus A. "
        "Refused when the runs share no test items or a shared item differs.",
    )
    p.add_argument("run_a", metavar="RUN_A", help="the earlier run folder")
    p.add_argument("run_b", metavar="RUN_B", help="the run to compare with it")
    p.add_argument(
        "--arm",
        help="arm to compare (default: every finished arm the runs share); ARM_A:ARM_B "
        "compares different arms",
    )
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.set_defaults(func=run)
