"""The ``advisor`` command line: a router over one module per subcommand.

Each module in this package exposes ``register(subparsers)``, which adds its parser and sets
``func`` (taking the parsed namespace, returning an exit code). Heavy libraries are imported
inside those functions so ``advisor --help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from advisor import __version__
from advisor.errors import AdvisorError

# Order is the order shown in --help. A module missing here is not reachable.
COMMAND_MODULES: tuple[str, ...] = (
    "recommend",
    "memory",
    "pilot",
    "report",
    "compare",
    "demo",
    "models",
    "export",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="advisor",
        description="Prompting, RAG or finetuning? Decide with numbers from your own data.",
    )
    parser.add_argument("--version", action="version", version=f"advisor {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"advisor.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"advisor.cli.{name}":
                continue  # command not built yet
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except AdvisorError as exc:
        print(f"advisor: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("advisor: interrupted", file=sys.stderr)
        return 130
