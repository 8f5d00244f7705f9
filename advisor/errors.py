"""One exception type for problems the user can fix.

The CLI turns an ``AdvisorError`` into a one-line message and exit code 2; the app shows it
as an error box. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar


class AdvisorError(Exception):
    """A problem with the user's input: the message says what was wrong and how to fix it."""


class AnswersError(AdvisorError):
    """The questionnaire answers are malformed (unknown key, wrong type, bad value)."""


class DataError(AdvisorError):
    """Examples or knowledge-base files cannot be used as given."""


class ModelLoadError(AdvisorError):
    """A generator or embedder could not be loaded (offline, missing files, bad id)."""


# -- naming the setting a user should change ------------------------------------------------
# A hint like "raise the limit" must name the control the user has: a command-line flag in
# the CLI (the default), a field label in the app. The library's messages call
# ``knob(name)``; a caller with other controls installs its names with ``knob_names``.

_KNOB_NAMES: ContextVar[Mapping[str, str] | None] = ContextVar("advisor_knob_names", default=None)

CLI_KNOBS: dict[str, str] = {
    "input_col": "--input-col",
    "output_col": "--output-col",
    "doc_id_col": "--doc-id-col",
    "test_size": "--test-size",
    "validation_size": "--validation-size",
    "max_test": "--max-test",
    "max_rows": "--max-rows",
    "max_bytes": "--max-bytes",
    "max_documents": "--max-documents",
    "max_new_tokens": "--max-new-tokens",
    "seed": "--seed",
    "few_shot_k": "--few-shot-k",
    "retrieval_k": "--retrieval-k",
    "batch_size": "--batch-size",
    "primary_metric": "--primary-metric",
    "format": "--format",
    "out": "--out",
    "force": "--force",
}


def knob(name: str) -> str | None:
    """How to name the setting ``name`` to this caller (its CLI flag unless the caller
    installed other names); None when the caller has no such control."""
    names = _KNOB_NAMES.get()
    return (CLI_KNOBS if names is None else names).get(name)


@contextmanager
def knob_names(names: Mapping[str, str]) -> Iterator[None]:
    """Within the block, messages name settings by ``names`` (e.g. CLI flags, app labels)."""
    token = _KNOB_NAMES.set(dict(names))
    try:
        yield
    finally:
        _KNOB_NAMES.reset(token)
