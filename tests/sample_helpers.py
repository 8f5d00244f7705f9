"""Helpers for the bundled-sample tests (``test_samples*.py``): the generator script and a
JSONL reader, written once. The fixtures built on them live in ``conftest.py``."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "experiments" / "make_samples.py"


def load_make_samples() -> ModuleType:
    """``experiments/make_samples.py`` as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("make_samples", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
