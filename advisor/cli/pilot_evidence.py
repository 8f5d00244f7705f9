"""The pilot's opt-in evidence flags (``--data-curve``, ``--seeds``, ``--seed-split``) and
the lines ``advisor pilot`` prints about them.

Why apart from :mod:`advisor.cli.pilot`: the flags, their parsing into settings and their
summary are one feature; keeping them together keeps ``pilot.py`` about running arms.
Values are parsed here rather than by argparse so a bad one is a one-line error (exit 2)
that says what is allowed.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from advisor.errors import AdvisorError

DEFAULT_FRACTIONS = "0.25,0.5,1"


def add_evidence_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-curve",
        nargs="?",
        const=DEFAULT_FRACTIONS,
        metavar="FRACTIONS",
        help="also train each LoRA arm on nested fractions of the training split (default "
        f"{DEFAULT_FRACTIONS}; at least three, the smallest >= 25 examples) and report how "
        "the score grows with data and what doubling it would likely give",
    )
    p.add_argument(
        "--seeds",
        default="1",
        metavar="N",
        help="run each LoRA arm with N seeds (1-10, default 1) and report the spread; "
        "differences smaller than it are not called significant",
    )
    p.add_argument(
        "--seed-split",
        action="store_true",
        help="with --seeds: each repeat also redraws the train/validation split (the test "
        "items stay the same)",
    )


def _fractions(value: str | None) -> tuple[float, ...]:
    if value is None:
        return ()
    out = []
    for part in (p.strip() for p in value.split(",")):
        try:
            number = float(part[:-1]) / 100 if part.endswith("%") else float(part)
        except ValueError:
            raise AdvisorError(
                f"--data-curve takes fractions like 0.25,0.5,1 or 25%,50%,100% (not {part!r})"
            ) from None
        out.append(number)
    return tuple(out)


def _seeds(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise AdvisorError(f"--seeds takes a whole number from 1 to 10 (not {value!r})") from None


def evidence_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The PilotSettings fields of these flags (PilotSettings validates the values)."""
    seeds = _seeds(str(getattr(args, "seeds", "1")))
    if getattr(args, "seed_split", False) and seeds < 2:
        raise AdvisorError("--seed-split needs --seeds 2 or more: it varies the repeats")
    return {
        "data_curve": _fractions(getattr(args, "data_curve", None)),
        "seeds": seeds,
        "seed_split": bool(getattr(args, "seed_split", False)),
    }


def print_evidence(results: dict[str, Any], file=sys.stdout) -> None:
    """The data curve's sentences and each repeated arm's seed spread."""
    curve = results.get("data_curve") or {}
    if curve.get("error"):
        print(f"data curve: {curve['error']}", file=file)
    for arm, block in (curve.get("arms") or {}).items():
        if block.get("summary"):
            print(f"data curve ({arm}):", file=file)
            for line in block["summary"]:
                print(f"  {line}", file=file)
        else:
            print(
                f"data curve ({arm}): {block.get('status')} {block.get('error') or ''}", file=file
            )
    spread = results.get("seed_spread") or {}
    metric = spread.get("metric")
    for arm, block in (spread.get("arms") or {}).items():
        m = (block.get("metrics") or {}).get(metric)
        if not m:
            print(f"seed spread ({arm}): fewer than two seeds finished", file=file)
            continue
        lo, hi = block["ci95"]
        means = ", ".join(f"{v:.2f}" for v in m["means"])
        print(
            f"seed spread ({arm}, {metric}): seeds {', '.join(map(str, spread['seeds']))} gave "
            f"{means}: range {m['width']:.2f}, SD {m['sd']:.2f} (test-item CI of the first "
            f"run [{lo:.2f}, {hi:.2f}])",
            file=file,
        )
    for c in results.get("comparisons") or []:
        if c.get("within_seed_spread") and c["metric"] == metric:
            alone = (
                " (significant on the test items alone)" if c["significant_ignoring_seeds"] else ""
            )
            print(
                f"  {c['a']} vs {c['b']} on {metric}: {c['diff']:+.2f} is smaller than the "
                f"seed spread {c['seed_spread']:.2f}: not significant{alone}",
                file=file,
            )
