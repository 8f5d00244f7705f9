"""Checks of decoded JSON fields whose messages name the field and the file.

Why a module of its own: results.json (:mod:`advisor.schema`) and its opt-in blocks (the
data curve, :mod:`advisor.decide.curve_evidence`) are checked the same way, and a broken
file must say "arms.lora.metrics.token_f1.mean must be a finite number", not raise a
``KeyError`` three modules later.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from advisor.errors import AdvisorError

__all__ = ["FieldReader"]


class FieldReader:
    """The field checks, bound to where the file came from (every message names both).

    Public so a module that owns an opt-in block (the data curve) checks it the same way."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, where: str, problem: str) -> AdvisorError:
        return AdvisorError(
            f"{self.origin}: {where} {problem}; re-run `advisor pilot` to rewrite it"
        )

    def number(self, value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(where, f"must be a finite number (got {str(value)[:40]!r})")
        if not math.isfinite(value):
            raise self.fail(where, f"must be a finite number (got {str(value)[:40]!r})")
        return float(value)

    def measured(self, value: Any, where: str) -> float | None:
        """A measurement: ``None`` when absent or not a finite number (the pilot writes a
        NaN as ``null``: nothing was measured), an error when it is not a number at all."""
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return None
        return self.number(value, where)

    def count(self, value: Any, where: str) -> int | None:
        if value is None:
            return None
        number = self.number(value, where)
        if number < 0 or not number.is_integer():
            raise self.fail(where, f"must be a whole number >= 0 (got {value!r})")
        return int(number)

    def interval(self, value: Any, where: str) -> tuple[float, float]:
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise self.fail(where, f"must be [lo, hi] (got {str(value)[:40]!r})")
        lo, hi = (self.number(v, where) for v in value)
        if lo > hi:
            raise self.fail(where, f"has lo > hi ({lo} > {hi})")
        return lo, hi

    def mapping(self, value: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(where, f"must be an object (got {type(value).__name__})")
        return value

    def optional_mapping(self, value: Any, where: str) -> Mapping[str, Any]:
        return {} if value is None else self.mapping(value, where)

    def numbers(self, value: Any, where: str) -> dict[str, float]:
        """An object of named measurements (latency, tokens): null entries are left out."""
        block = self.optional_mapping(value, where)
        found = {str(k): self.measured(v, f"{where}.{k}") for k, v in block.items()}
        return {k: v for k, v in found.items() if v is not None}
