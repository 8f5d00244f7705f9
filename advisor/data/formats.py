"""The finetuning and eval formats teams already have, read as the pilot's input/output pairs.

Why: teams arrive with data in the shape their tools use (OpenAI chat JSONL, Alpaca,
ShareGPT, TRL prompt-completion), not as ``input``/``output`` columns. The format is
detected from the columns, converted row by row, and named back to the user ("read as
OpenAI chat JSONL: 412 conversations, system prompt kept as the task"), so a wrong guess is
seen at once. Every row keeps its line (or row) number, and the converted rows go through
the same checks as a plain file (empty outputs, ids, duplicates) in ``advisor.data.load``.

Conversations: the last assistant turn is the output; the turns before it are the input,
folded into a readable transcript when there is more than one ("User: ...", "Assistant:
...", blank line between turns) and kept as turns on the ``Example`` for the exports. A
system prompt shared by every row becomes the pilot's task; differing ones start each
input. Consecutive turns by one speaker are merged (with a warning); a conversation that
does not end with the assistant, starts with the assistant or holds tool calls is an error
that names the row, never a silently dropped example.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from advisor.data.files import as_text
from advisor.data.rows import Row, Table, listing
from advisor.errors import DataError

Turn = tuple[str, str]  # (role, text), role in user / assistant

ROLES = {
    "system": "system",
    "developer": "system",  # OpenAI's newer name for the system turn
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "gpt": "assistant",
    "model": "assistant",
    "chatgpt": "assistant",
}
TOOL_ROLES = ("tool", "function", "function_call", "observation", "ipython")
SPEAKERS = {"user": "User", "assistant": "Assistant", "system": "System"}


@dataclass(frozen=True)
class DataFormat:
    name: str  # stored in results.json data.format
    label: str  # how messages name it: "read as <label> <container>"
    marker: tuple[str, ...]  # columns that identify it
    unit: str  # what one row is called in the message
    fix: str  # what a valid row looks like, for error messages


FORMATS: dict[str, DataFormat] = {
    f.name: f
    for f in (
        DataFormat(
            "plain",
            "input/output",
            ("input", "output"),
            "examples",
            "one row per example with input and output",
        ),
        DataFormat(
            "openai_chat",
            "OpenAI chat",
            ("messages",),
            "conversations",
            'each row needs "messages": a list of {"role", "content"} turns (system, user, '
            "assistant) that ends with the assistant's answer",
        ),
        DataFormat(
            "alpaca",
            "Alpaca",
            ("instruction", "output"),
            "examples",
            'each row needs "instruction" and "output" ("input", "system" and "history" '
            "are optional)",
        ),
        DataFormat(
            "sharegpt",
            "ShareGPT",
            ("conversations",),
            "conversations",
            'each row needs "conversations": a list of {"from", "value"} turns (human, gpt, '
            "system) that ends with gpt's answer",
        ),
        DataFormat(
            "trl",
            "TRL prompt-completion",
            ("prompt", "completion"),
            "examples",
            'each row needs "prompt" and "completion": both text, or both lists of '
            '{"role", "content"} messages with one assistant message as the completion',
        ),
    )
}
RECOGNISED = (
    "OpenAI chat (messages), Alpaca (instruction, input, output), ShareGPT (conversations), "
    "TRL (prompt, completion)"
)


def detect_format(columns: list[str], input_col: str = "input", output_col: str = "output") -> str:
    """The format name for a table's columns.

    Explicitly mapped columns (not the default input/output) win; Alpaca is checked before
    plain input/output because an Alpaca file has those columns too.
    """
    cols = set(columns)
    mapped = (input_col, output_col) != ("input", "output")
    if mapped and {input_col, output_col} <= cols:
        return "plain"
    if not mapped:
        for name in ("alpaca", "plain", "openai_chat", "sharegpt", "trl"):
            if set(FORMATS[name].marker) <= cols:
                return name
    return "plain"


@dataclass
class Converted:
    """A table read in some format, as rows with plain input/output cells."""

    table: Table
    format: str
    turns: list[tuple[Turn, ...]]  # per row: the input's turns (empty for single-turn)
    systems: list[str | None]  # per row: its system prompt
    task: str | None = None  # the system prompt every row shares
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # for the "read as" message

    def message(self, n: int | None = None) -> str:
        fmt = FORMATS[self.format]
        count = len(self.table.rows) if n is None else n
        label = "" if self.format == "plain" else f"{fmt.label} "
        text = f"read as {label}{self.table.label}: {count} {fmt.unit}"
        return ", ".join([text, *self.notes])


def convert(table: Table, name: str, input_col: str, output_col: str) -> Converted:
    """Rows of any recognised format as input/output rows (``input_col``/``output_col``)."""
    fmt = detect_format(table.columns, input_col, output_col)
    if fmt == "plain":
        n = len(table.rows)
        return Converted(table, "plain", [()] * n, [None] * n)
    marker = FORMATS[fmt].marker
    problems: list[str] = []
    convos: list[list[Turn]] = []
    systems: list[str | None] = []
    outputs: list[str] = []
    merged = 0
    for row in table.rows:
        try:
            system, convo, output, n_merged = _READERS[fmt](row, name)
        except _RowError as exc:
            problems.append(f"{row.where} ({exc})")
            continue
        merged += n_merged
        convos.append(convo)
        systems.append(system)
        outputs.append(output)
    if problems:
        raise DataError(
            f"{name} (read as {FORMATS[fmt].label}): {listing(problems)}. Fix those rows: "
            f"{FORMATS[fmt].fix}."
        )
    turns = [tuple(c) if len(c) > 1 else () for c in convos]
    out = Converted(table, fmt, turns, systems)
    distinct = set(systems) - {None}
    if len(distinct) == 1 and None not in systems:
        out.task = systems[0]
        out.notes.append("system prompt kept as the task")
    elif distinct:
        out.notes.append(
            f"{len(distinct)} different system prompts kept at the start of each input"
        )
    rows = []
    for row, convo, system, output in zip(table.rows, convos, systems, outputs, strict=True):
        shown = None if out.task is not None else system
        if shown is not None:  # the input is a transcript: keep the turns for the exports
            out.turns[len(rows)] = tuple(convo)
        keep = {k: v for k, v in row.values.items() if k not in marker}
        values = {**keep, input_col: render_turns(convo, shown), output_col: output}
        rows.append(replace(row, values=values))
    columns = [input_col, output_col] + [c for c in table.columns if c not in marker]
    out.table = replace(table, rows=rows, columns=list(dict.fromkeys(columns)))
    multi = sum(1 for c in convos if len(c) > 1)
    if multi:
        out.notes.append(
            f"{multi} of them multi-turn (earlier turns folded into the input as a transcript)"
        )
    if merged:
        out.warnings.append(
            f"merged {merged} consecutive turn(s) by the same speaker into one turn "
            f"({FORMATS[fmt].label} data read from {name})"
        )
    return out


def render_turns(convo: list[Turn] | tuple[Turn, ...], system: str | None = None) -> str:
    """The input text: the user's words alone, or a readable transcript of every turn."""
    if len(convo) == 1 and system is None:
        return convo[0][1]
    lines = [f"System: {system}"] if system is not None else []
    lines += [f"{SPEAKERS[role]}: {text}" for role, text in convo]
    return "\n\n".join(lines)


# -- row readers: (system, turns ending with the user's, output, turns merged) --------------


class _RowError(Exception):
    """One row's problem; collected so the message lists every bad row at once."""


def _text(value: object, what: str) -> str:
    """A turn's text: a string, or OpenAI content parts of type text."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = []
        for part in value:
            if isinstance(part, dict) and part.get("type") == "text":
                parts.append(str(part.get("text") or ""))
            else:
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise _RowError(f"{what} holds a {kind!s} part; the pilot reads text only")
        return "".join(parts)
    if value is None:
        raise _RowError(f"{what} has no content")
    raise _RowError(f"{what} content must be text, not {type(value).__name__}")


def _messages(value: object, column: str) -> list[tuple[str, str]]:
    """(role, text) pairs from a list of {role, content} or {from, value} objects."""
    if isinstance(value, str):  # JSON kept as text (a CSV or Parquet string column)
        try:
            value = json.loads(value)
        except ValueError:
            raise _RowError(f"{column!r} is text that is not a JSON list") from None
    if not isinstance(value, list) or not value:
        raise _RowError(f"{column!r} must be a non-empty list of turns")
    out = []
    for i, msg in enumerate(value, start=1):
        what = f"turn {i}"
        if not isinstance(msg, dict):
            raise _RowError(f"{what} is not an object")
        role = msg.get("role", msg.get("from"))
        if not isinstance(role, str):
            raise _RowError(f'{what} has no "role" (or "from")')
        if role.lower() in TOOL_ROLES or msg.get("tool_calls") or msg.get("function_call"):
            raise _RowError(
                f"{what} is a tool or function call; the pilot compares text answers, so "
                "drop tool turns or those conversations"
            )
        if role.lower() not in ROLES:
            allowed = ", ".join(sorted(ROLES))
            raise _RowError(f"{what} has role {role!r}; use one of {allowed}")
        content = msg.get("content", msg.get("value"))
        out.append((ROLES[role.lower()], _text(content, what)))
    return out


def _split_conversation(turns: list[tuple[str, str]]) -> tuple[str | None, list[Turn], str, int]:
    """System prompt, the input turns (ending with the user's), the answer, merges made."""
    system_parts = []
    while turns and turns[0][0] == "system":
        system_parts.append(turns.pop(0)[1])
    if any(role == "system" for role, _ in turns):
        raise _RowError("a system turn comes after the conversation started; put it first")
    merged: list[list[str]] = []
    n_merged = 0
    for role, text in turns:
        if merged and merged[-1][0] == role:
            merged[-1][1] += "\n\n" + text
            n_merged += 1
        else:
            merged.append([role, text])
    if not merged:
        raise _RowError("there is no user or assistant turn")
    if merged[-1][0] != "assistant":
        raise _RowError("the last turn must be the assistant's answer (it is the output)")
    if merged[0][0] != "user":
        raise _RowError("the first turn after the system prompt must be the user's")
    empty = [i for i, (_, text) in enumerate(merged[:-1], start=1) if not text.strip()]
    if empty:
        raise _RowError(f"turn {empty[0]} is empty")
    convo = [(role, text) for role, text in merged[:-1]]
    system = "\n\n".join(system_parts) if system_parts else None
    return system, convo, merged[-1][1], n_merged


def _chat(column: str) -> Callable[[Row, str], tuple]:
    def read(row: Row, name: str) -> tuple:
        system, convo, output, merged = _split_conversation(
            _messages(row.values.get(column), column)
        )
        extra = _optional_text(row, "system", name)  # LLaMA-Factory's sharegpt system column
        if extra and system is None:
            system = extra
        return system, convo, output, merged

    return read


def _optional_text(row: Row, column: str, name: str) -> str | None:
    value = as_text(row.values.get(column), column, row.where, name)
    return value if value and value.strip() else None


def _alpaca(row: Row, name: str) -> tuple:
    instruction = _optional_text(row, "instruction", name) or ""
    extra = _optional_text(row, "input", name)
    output = as_text(row.values.get("output"), "output", row.where, name) or ""
    history = row.values.get("history") or []
    if not isinstance(history, list) or not all(
        isinstance(h, list | tuple) and len(h) == 2 for h in history
    ):
        raise _RowError('"history" must be a list of [question, answer] pairs')
    convo: list[Turn] = []
    for question, answer in history:
        convo += [("user", _text(question, "history")), ("assistant", _text(answer, "history"))]
    user = f"{instruction}\n\n{extra}" if instruction and extra else instruction or extra or ""
    if not user.strip():
        raise _RowError('"instruction" and "input" are both empty')
    convo.append(("user", user))
    return _optional_text(row, "system", name), convo, output, 0


def _trl(row: Row, name: str) -> tuple:
    prompt, completion = row.values.get("prompt"), row.values.get("completion")
    if isinstance(prompt, list) or isinstance(completion, list):
        if not (isinstance(prompt, list) and isinstance(completion, list)):
            raise _RowError("prompt and completion must both be text or both message lists")
        answer = _messages(completion, "completion")
        if len(answer) != 1 or answer[0][0] != "assistant":
            raise _RowError("completion must be exactly one assistant message")
        return _split_conversation(_messages(prompt, "prompt") + answer)
    text = as_text(prompt, "prompt", row.where, name) or ""
    output = as_text(completion, "completion", row.where, name) or ""
    if not text.strip():
        raise _RowError('"prompt" is empty')
    return None, [("user", text)], output, 0


_READERS: dict[str, Callable[[Row, str], tuple]] = {
    "openai_chat": _chat("messages"),
    "sharegpt": _chat("conversations"),
    "alpaca": _alpaca,
    "trl": _trl,
}
