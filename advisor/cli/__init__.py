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
from typing import NoReturn

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


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on usage errors already; this keeps the message to one line (the
    full usage of a command with thirty flags buries what was wrong)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
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
        print(f"advisor: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file the user named cannot be read or written
        if isinstance(exc, BrokenPipeError):
            return _broken_pipe()
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"advisor: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("advisor: interrupted", file=sys.stderr)
        return 130


def _broken_pipe() -> int:
    """Output piped into `head` and the like: not an error."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 0


def _one_line(text: str) -> str:
    """An error is one line: a message quoting a file's text must not break it."""
    return " ".join(text.split()) if "\n" in text or "\r" in text else text
