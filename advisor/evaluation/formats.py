"""Output formats a pilot can require: JSON, JSON following a schema, or a regular expression.

Why apart from the metrics: the format is a setting of the pilot (the prompt asks for it,
``format_valid`` scores it, the primary metric and the exports read it), not a metric.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from advisor.errors import AdvisorError

FormatKind = Literal["json", "json_schema", "regex"]
_FORMAT_KINDS: tuple[str, ...] = get_args(FormatKind)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


@dataclass(frozen=True)
class FormatSpec:
    """What a well-formed answer looks like; ``format_valid`` scores 1 when it matches.

    Strict on purpose: the prediction, stripped of surrounding whitespace, must *be* the
    format. A Markdown fence (```json ... ```) or prose around the JSON fails, because the
    program consuming the output would fail too. ``json`` accepts any JSON value (a bare
    ``42`` included) but not NaN/Infinity; require an object with a schema such as
    ``{"type": "object"}``. ``regex`` uses ``re.fullmatch``.
    """

    kind: FormatKind  # json: parses; json_schema: parses and validates; regex: fullmatch
    schema: Mapping[str, Any] | None = None  # JSON Schema, for kind="json_schema" only
    pattern: str | None = None  # Python regular expression, for kind="regex" only
    _check: Callable[[str], bool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in _FORMAT_KINDS:
            raise AdvisorError(
                f"format kind must be one of {', '.join(_FORMAT_KINDS)} (not {self.kind!r})"
            )
        if self.kind == "json_schema":
            if not isinstance(self.schema, Mapping):
                raise AdvisorError(
                    "format kind 'json_schema' needs a schema given as a JSON object "
                    f"(not {type(self.schema).__name__})"
                )
            object.__setattr__(self, "schema", copy.deepcopy(dict(self.schema)))
        elif self.schema is not None:
            raise AdvisorError(f"format kind {self.kind!r} takes no schema; use 'json_schema'")
        if self.kind == "regex":
            if not isinstance(self.pattern, str):
                raise AdvisorError("format kind 'regex' needs a pattern string")
        elif self.pattern is not None:
            raise AdvisorError(f"format kind {self.kind!r} takes no pattern; use 'regex'")
        object.__setattr__(self, "_check", self._build_check())

    def _build_check(self) -> Callable[[str], bool]:
        if self.kind == "regex":
            try:
                compiled = re.compile(self.pattern)  # type: ignore[arg-type]
            except re.error as exc:
                raise AdvisorError(
                    f"format regex {self.pattern!r} is invalid: {exc}; "
                    "write a Python regular expression, e.g. regex:[A-Z]{3}-\\d+"
                ) from None
            return lambda text: compiled.fullmatch(text) is not None
        validator = None
        if self.kind == "json_schema":
            import jsonschema

            cls = jsonschema.validators.validator_for(self.schema)
            try:
                cls.check_schema(self.schema)
            except jsonschema.SchemaError as exc:
                where = "/".join(str(p) for p in exc.path) or "(top level)"
                raise AdvisorError(
                    f"format JSON schema is invalid at {where}: {exc.message}; "
                    "fix the schema (see https://json-schema.org)"
                ) from None
            validator = cls(self.schema)

        def check(text: str) -> bool:
            try:
                value = json.loads(text, parse_constant=_reject_constant)
            except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
                return False
            return validator is None or validator.is_valid(value)

        return check

    def matches(self, text: str) -> bool:
        return self._check(text.strip())

    def prompt_hint(self) -> str:
        """One instruction for the prompt, so arms are asked for the format they are scored on."""
        if self.kind == "json":
            return "Answer with valid JSON only, without code fences or any other text."
        if self.kind == "json_schema":
            schema = json.dumps(self.schema, ensure_ascii=False, separators=(",", ":"))
            return (
                "Answer with JSON only, without code fences or any other text, "
                f"following this JSON schema: {schema}"
            )
        return f"Answer only with text that matches the regular expression {self.pattern}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for results.json ``config``; ``from_user`` reads it back."""
        out: dict[str, Any] = {"kind": self.kind}
        if self.schema is not None:
            out["schema"] = copy.deepcopy(dict(self.schema))
        if self.pattern is not None:
            out["pattern"] = self.pattern
        return out

    @classmethod
    def from_user(cls, value: str | Path | Mapping[str, Any] | FormatSpec) -> FormatSpec:
        """Accepts ``"json"``, ``"regex:<pattern>"``, an inline JSON schema ``"{...}"``,
        a path to a ``.json`` schema file, a schema dict, or a ``to_dict()`` dict."""
        if isinstance(value, FormatSpec):
            return value
        if isinstance(value, Mapping):
            keys = set(value)
            if "kind" in keys and keys <= {"kind", "schema", "pattern"}:
                return cls(**dict(value))
            return cls("json_schema", schema=value)
        if isinstance(value, Path):
            return cls._from_file(value)
        if not isinstance(value, str):
            raise AdvisorError(f"format must be text or a JSON schema (not {type(value).__name__})")
        text = value.strip()
        if text.lower() == "json":
            return cls("json")
        if text.lower().startswith("regex:"):
            return cls("regex", pattern=value.lstrip()[len("regex:") :])
        if text.startswith("{"):
            try:
                schema = json.loads(text)
            except ValueError as exc:
                raise AdvisorError(f"format looks like an inline JSON schema but {exc}") from None
            return cls.from_user(schema)
        if text.lower().endswith(".json"):
            return cls._from_file(Path(text))
        raise AdvisorError(
            f"format {value!r} is not understood; use 'json', 'regex:<pattern>', "
            "a path to a .json schema file, or an inline JSON schema"
        )

    @classmethod
    def _from_file(cls, path: Path) -> FormatSpec:
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise AdvisorError(f"format schema file {str(path)!r} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise AdvisorError(f"cannot read format schema file {str(path)!r}: {exc}") from None
        except ValueError as exc:
            raise AdvisorError(f"format schema file {str(path)!r} is not JSON: {exc}") from None
        if not isinstance(schema, Mapping):
            raise AdvisorError(f"format schema file {str(path)!r} must hold a JSON object")
        return cls.from_user(schema)
