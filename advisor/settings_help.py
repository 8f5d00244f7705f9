"""Help texts that live on the settings dataclasses' fields.

Why on the fields: the CLI flags, the app's widgets and the Python API all describe the same
settings; a text kept beside each flag or widget drifts from the field it sets (and from
its default). ``documented`` stores the text in the field's metadata, ``help_for`` reads it
back, with the default appended from the field itself.
"""

from __future__ import annotations

from dataclasses import MISSING, Field, field, fields
from typing import Any

__all__ = ["documented", "help_for"]


def documented(default: Any, help: str) -> Any:
    """A dataclass field with ``default`` whose help text the CLI and the app show."""
    return field(default=default, metadata={"help": help})


def _field(cls: type, name: str) -> Field:
    for f in fields(cls):
        if f.name == name:
            return f
    raise KeyError(f"{cls.__name__} has no setting {name!r}")


def help_for(cls: type, name: str, *, default: bool = True) -> str:
    """The help text of ``cls.name``; with ``default``, "(default X)" when it has one."""
    f = _field(cls, name)
    text = f.metadata.get("help")
    if not text:
        raise KeyError(f"{cls.__name__}.{name} has no help text: give it one with documented()")
    shown_default = f.default is not MISSING and not isinstance(f.default, bool)
    if default and shown_default and f.default not in (None, "", ()):
        value = f.default
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        text = f"{text} (default {shown})"
    return text
