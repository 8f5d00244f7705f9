"""``advisor models``: see, fetch and locate the models a pilot can use.

Why a command of its own: the default model is fetched and converted on first use (about
100 MB and 20 s); ``pull`` does that ahead of time, so the app's first pilot does not wait,
and CI pulls once into a cache it reuses. ``path`` tells other tools where the converted
folder is (it loads with any Hugging Face ``from_pretrained``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def _use_cache_dir(args: argparse.Namespace) -> None:
    if getattr(args, "cache_dir", None):
        from advisor.models.cache import CACHE_ENV

        os.environ[CACHE_ENV] = str(args.cache_dir)


def _list(args: argparse.Namespace) -> int:
    from advisor.models.cache import list_cached, model_cache_dir
    from advisor.models.sources import PACKAGED_MODELS

    _use_cache_dir(args)
    entries = list_cached()
    if args.json:
        print(
            json.dumps({"cache": str(model_cache_dir()), "models": [e.to_dict() for e in entries]})
        )
        return 0
    print(f"model cache: {model_cache_dir()}")
    if not entries:
        print("  (empty) - `advisor models pull` fetches the default model")
    for e in entries:
        print(f"  {e.name:<40} {e.size_bytes / 1e6:>8.0f} MB  {e.source}")
        print(f"  {'':<40} {e.path}")
    cached = {e.name for e in entries}
    for model_id, pkg in PACKAGED_MODELS.items():
        if model_id not in cached:
            print(f"  available: {model_id} via `advisor models pull` ({pkg.note})")
    return 0


def _pull(args: argparse.Namespace) -> int:
    from advisor.models.hf import DEFAULT_MODEL
    from advisor.models.sources import resolve_model

    _use_cache_dir(args)
    ref = args.model or DEFAULT_MODEL
    bar = _ByteBar()
    try:
        resolved = resolve_model(
            ref,
            stage=lambda msg: print(f"  {msg}", file=sys.stderr),
            download_progress=bar,
            allow_download=True,
        )
    finally:
        bar.close()
    print(f"{ref}: {resolved.load_path} ({resolved.source})")
    return 0


def _path(args: argparse.Namespace) -> int:
    from advisor.models.hf import DEFAULT_MODEL
    from advisor.models.sources import resolve_model

    _use_cache_dir(args)
    resolved = resolve_model(args.model or DEFAULT_MODEL, allow_download=False)
    print(resolved.load_path)
    return 0


class _ByteBar:
    """A tqdm bar for a download, created on the first byte count."""

    def __init__(self) -> None:
        self.bar = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="B", unit_scale=True, file=sys.stderr, leave=False)
        self.bar.n = done
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def register(sub: argparse._SubParsersAction) -> None:
    from advisor.models.cache import CACHE_ENV

    p = sub.add_parser(
        "models",
        help="list, pull (fetch ahead of time) or locate models",
        description="The model cache: converted GGUF files and models fetched from PyPI. "
        f"Its folder is ${CACHE_ENV} when set, else models/ in the advisor cache "
        "(~/.cache/advisor).",
    )
    p.add_argument("--cache-dir", help=f"model cache folder (default: ${CACHE_ENV} or ~/.cache)")
    p.set_defaults(func=lambda _args: p.print_help() or 0)
    verbs = p.add_subparsers(dest="verb", metavar="VERB")
    ls = verbs.add_parser("list", help="cached models with size and source")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=_list)
    pull = verbs.add_parser("pull", help="fetch a model now (default: the pilot's default model)")
    pull.add_argument("model", nargs="?", help="hub id or .gguf file (default: the default model)")
    pull.set_defaults(func=_pull)
    path = verbs.add_parser("path", help="print the local folder a model loads from")
    path.add_argument("model", nargs="?", help="hub id or .gguf file (default: the default model)")
    path.set_defaults(func=_path)
    for verb in (ls, pull, path):
        verb.add_argument("--cache-dir", help=argparse.SUPPRESS, default=argparse.SUPPRESS)
