"""Answers from a JSON or YAML file: strict parsing with messages that say what to fix.

Why apart from the schema (:mod:`.questionnaire`): reading a file is where the mistakes
are (a repeated key, a tab in YAML, a spreadsheet saved as .yaml), and the schema should
read as the list of questions it is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from advisor.decide.questionnaire import (
    KEYS,
    MAX_FILE_BYTES,
    Answers,
    answers_to_dict,
    parse_answers,
    show,
)
from advisor.errors import AnswersError


def loads_answers(text: str | bytes, *, fmt: str | None = None, name: str = "answers") -> Answers:
    """Parse answers from text; ``fmt`` is "json", "yaml" or None (guess from content)."""
    return parse_answers(_decode(text, fmt, name))


def loads_answered(
    text: str | bytes, *, fmt: str | None = None, name: str = "answers"
) -> dict[str, Any]:
    """Like :func:`loads_answers`, but only the questions the document answers: a key it
    leaves out is unanswered (the app must not show it as the user's answer)."""
    data = _decode(text, fmt, name)
    full = answers_to_dict(parse_answers(data))
    return {key: full[key] for key in KEYS if key in data}


def _decode(text: str | bytes, fmt: str | None, name: str) -> Mapping:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise AnswersError(
                f"{name} is not UTF-8 text ({exc.reason} at byte {exc.start})"
            ) from None
    if not text.strip():
        raise AnswersError(f"{name} is empty; write at least {{}} to accept every default")
    if fmt is None:
        fmt = "json" if text.lstrip().startswith("{") else "yaml"
    if fmt == "json":
        try:
            data = json.loads(text, object_pairs_hook=_unique_keys(name))
        except json.JSONDecodeError as exc:
            raise AnswersError(
                f"{name} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            ) from None
        except (ValueError, RecursionError) as exc:  # e.g. 5000-digit numbers, deep nesting
            raise AnswersError(f"{name} is not valid JSON: {show(str(exc))}") from None
    elif fmt == "yaml":
        data = _load_yaml(text, name)
    else:
        raise AnswersError(f"unknown answers format {fmt!r}; use json or yaml")
    if data is None:
        raise AnswersError(f"{name} holds no answers; write at least {{}} to accept every default")
    if not isinstance(data, Mapping):
        raise AnswersError(
            f"{name} must hold a mapping of key: value at the top level "
            f"(not a {type(data).__name__}); allowed keys: {', '.join(KEYS)}"
        )
    return data


def _unique_keys(name: str):
    """A JSON ``object_pairs_hook`` that refuses a key given twice (the last would win)."""

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise AnswersError(
                    f"{name}: the key {key!r} appears twice; keep one (the last would silently win)"
                )
            out[key] = value
        return out

    return hook


def _yaml_loader(name: str):
    """PyYAML's safe loader, refusing a mapping that gives the same key twice."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        pass

    def mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: the base constructor reports it
                continue
            if first is not None:
                raise AnswersError(
                    f"{name}: the key {key!r} appears twice (lines {first} and {line}); keep "
                    "one (the last would silently win)"
                )
            seen[key] = line
        return loader.construct_mapping(node, deep=deep)

    UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    return UniqueKeyLoader


def _load_yaml(text: str, name: str) -> Any:
    import yaml

    try:
        return yaml.load(text, Loader=_yaml_loader(name))  # noqa: S506 - a SafeLoader subclass
    except AnswersError:
        raise
    except yaml.MarkedYAMLError as exc:
        where = f" at line {exc.problem_mark.line + 1}" if exc.problem_mark else ""
        raise AnswersError(f"{name} is not valid YAML: {exc.problem or exc}{where}") from None
    # The parser runs on untrusted text and can fail in ways PyYAML does not wrap
    # (int() of a 5000-digit number, deep nesting, bad timestamps): all mean "malformed".
    except Exception as exc:  # noqa: BLE001
        raise AnswersError(f"{name} is not valid YAML: {show(str(exc))}") from None


def load_answers(path: str | Path) -> Answers:
    """Read answers from a .json, .yaml or .yml file (other names: guessed from content)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise AnswersError(f"answers file {path} is not a file")
        if size > MAX_FILE_BYTES:
            raise AnswersError(
                f"answers file {path} is {size:,} bytes; an answers file is a few hundred "
                f"bytes (limit {MAX_FILE_BYTES:,}): is this the right file?"
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise AnswersError(f"answers file {path} does not exist") from None
    except OSError as exc:
        raise AnswersError(f"cannot read answers file {path}: {exc.strerror or exc}") from None
    suffix = path.suffix.lower()
    fmt = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}.get(suffix)
    return loads_answers(raw, fmt=fmt, name=f"answers file {path}")
