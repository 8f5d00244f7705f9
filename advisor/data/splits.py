"""Seeded train/validation/test splits that keep repeated inputs together.

Why grouped: if "What is RAG?" sits in training with one answer and in the test set with
another, the test scores measure recall of the training set. All examples whose normalised
input is equal go to the same split.

Why hashing instead of shuffling: a group's place in the order is
``sha256(seed, normalised input)``, so the split depends only on the seed and the examples
themselves, not on the order of rows in the file, and re-running gives the same split.

Minimum sizes (defaults, all overridable): 2 training examples (few-shot and LoRA need
something to learn from), 1 validation example when a validation set is requested, and 5
test examples (fewer makes every confidence interval meaningless). A fractional size is
rounded, then raised to its minimum, then lowered (not below its minimum) if rounding left
training short; a whole-number size is taken as given. So a split needs at least
``min_train`` + the test floor + the validation floor examples, where a floor is the count
asked for, or the minimum for a fraction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from advisor.data.leakage import normalize_text
from advisor.data.types import Example, Split
from advisor.errors import DataError, knob

MIN_TRAIN = 2
MIN_VALIDATION = 1
MIN_TEST = 5


def split_examples(
    examples: Iterable[Example],
    test_size: int | float = 0.2,
    validation_size: int | float = 0.1,
    seed: int = 0,
    min_train: int = MIN_TRAIN,
    min_validation: int = MIN_VALIDATION,
    min_test: int = MIN_TEST,
) -> Split:
    """Split into train/validation/test; sizes are fractions (below 1) or counts.

    A whole float of 1 or more (40.0, as a JSON config may hold) counts as a count.
    """
    examples = list(examples)
    test_size, validation_size = _as_count(test_size), _as_count(validation_size)
    _check_size("test_size", test_size, allow_zero=False)
    _check_size("validation_size", validation_size, allow_zero=True)
    for label, value, lowest in (
        ("min_train", min_train, 1),
        ("min_validation", min_validation, 0),
        ("min_test", min_test, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
            raise DataError(f"{label} must be a whole number >= {lowest} (not {value!r})")
    for label, size, low in (
        ("test_size", test_size, min_test),
        ("validation_size", validation_size, min_validation),
    ):
        if isinstance(size, int) and 0 < size < low:
            floor = knob(f"min_{label.removesuffix('_size')}")
            raise DataError(
                f"{_named(label)} {size} is below the minimum of {low} examples; ask for more"
                + (f" (or lower {floor})" if floor else "")
            )
    fractions = sum(s for s in (test_size, validation_size) if isinstance(s, float))
    if fractions >= 1:
        raise DataError(
            f"{_named('test_size')} + {_named('validation_size')} = {fractions:g} leaves "
            "nothing for training; keep their sum below 1"
        )
    test_floor = test_size if isinstance(test_size, int) else min_test
    val_floor = validation_size if isinstance(validation_size, int) else min_validation
    val_floor = val_floor if validation_size else 0
    need = min_train + test_floor + val_floor
    if len(examples) < need:
        parts = f"{min_train} train, " + (f"{val_floor} validation, " if val_floor else "")
        hints = [f"lower {k}" for k in [knob("test_size")] if k]
        hints += [f"{k} 0 drops the validation set" for k in [knob("validation_size")] if k]
        raise DataError(
            f"too few examples for a train/validation/test split (test size {test_size}, "
            f"validation size {validation_size}): need at least {need} examples ({parts}"
            f"{test_floor} test), got {len(examples)}. Add examples, or lower the sizes"
            + (f" ({'; '.join(hints)})." if hints else ".")
        )
    n_test, n_val = _targets(
        len(examples), test_size, validation_size, test_floor, val_floor, min_train
    )

    groups: dict[str, list[Example]] = {}
    for ex in examples:
        groups.setdefault(normalize_text(ex.input), []).append(ex)
    order = sorted(groups, key=lambda key: hashlib.sha256(f"{seed}\x00{key}".encode()).digest())
    train: list[Example] = []
    validation: list[Example] = []
    test: list[Example] = []
    for key in order:
        if len(test) < n_test:
            test.extend(groups[key])
        elif len(validation) < n_val:
            validation.extend(groups[key])
        else:
            train.extend(groups[key])
    short = [
        f"{label} {len(part)} < {low}"
        for label, part, low in (
            ("train", train, min_train),
            ("validation", validation, min_validation if n_val else 0),
            ("test", test, min_test),
        )
        if len(part) < low
    ]
    if short:
        biggest = max(len(g) for g in groups.values())
        raise DataError(
            f"cannot split {len(examples)} examples without leakage ({', '.join(short)}): "
            f"examples with the same input stay together, and there are only {len(groups)} "
            f"distinct inputs (the most repeated appears {biggest} times). Add examples "
            "with different inputs, or remove the repeats."
        )
    return Split(train, validation, test, seed)


def _named(name: str) -> str:
    """The caller's name for a size setting (a flag, a field label), else the argument."""
    return knob(name) or name


def _as_count(size: object) -> object:
    if isinstance(size, float) and size >= 1 and size.is_integer():
        return int(size)
    return size


def _check_size(label: str, value: object, allow_zero: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DataError(f"{label} must be a fraction in (0, 1) or a count (not {value!r})")
    if isinstance(value, float) and not (0 < value < 1 or (allow_zero and value == 0)):
        raise DataError(
            f"{label} must be a fraction between 0 and 1 or a whole count (not {value!r})"
        )
    if isinstance(value, int) and value < (0 if allow_zero else 1):
        raise DataError(f"{label} as a count must be >= {0 if allow_zero else 1} (not {value})")


def _targets(
    n: int,
    test_size: int | float,
    validation_size: int | float,
    test_floor: int,
    val_floor: int,
    min_train: int,
) -> tuple[int, int]:
    """(test, validation) counts for n >= min_train + test_floor + val_floor examples."""

    def count(size: int | float, floor: int) -> int:
        return size if isinstance(size, int) else max(int(size * n + 0.5), floor)

    n_test = count(test_size, test_floor)
    n_val = count(validation_size, val_floor) if validation_size else 0
    short = min_train - (n - n_test - n_val)  # rounding up may leave training too small
    if short > 0:
        give = min(short, n_val - val_floor)
        n_val -= give
        n_test -= short - give  # fits: n >= the sum of the floors
    return n_test, n_val
