"""Argparse types for the CLI's numbers: each turns a bad value into a one-line usage
error that says what to type instead, never a traceback."""

from __future__ import annotations

import argparse
import math


def finite_number(value: str) -> float:
    """An argparse type: a finite float, or a one-line usage error."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number (not {value!r})") from None
    if not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"must be a finite number (not {value!r})")
    return number


def _size(value: str, allow_zero: bool) -> float:
    try:
        v = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a fraction like 0.2 or a count like 40 (not {value!r})"
        ) from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(
            f"must be a fraction like 0.2 or a count like 40 (not {value!r})"
        )
    if v < 0 or (v == 0 and not allow_zero):
        raise argparse.ArgumentTypeError(
            f"must be {'0 or more' if allow_zero else 'positive'} (not {value!r})"
        )
    if v >= 1:
        if not v.is_integer():
            raise argparse.ArgumentTypeError(
                f"a count must be a whole number, a fraction must be below 1 (not {value!r})"
            )
        return int(v)  # a count of examples
    return v


def test_size_value(value: str) -> float:
    return _size(value, allow_zero=False)


def validation_size_value(value: str) -> float:
    return _size(value, allow_zero=True)


def positive_int(value: str) -> int:
    try:
        v = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number (not {value!r})") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be positive (not {value!r})")
    return v
