"""One exception type for problems the user can fix.

The CLI turns an ``AdvisorError`` into a one-line message and exit code 2; the app shows it
as an error box. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class AdvisorError(Exception):
    """A problem with the user's input: the message says what was wrong and how to fix it."""


class AnswersError(AdvisorError):
    """The questionnaire answers are malformed (unknown key, wrong type, bad value)."""


class DataError(AdvisorError):
    """Examples or knowledge-base files cannot be used as given."""


class ModelLoadError(AdvisorError):
    """A generator or embedder could not be loaded (offline, missing files, bad id)."""
