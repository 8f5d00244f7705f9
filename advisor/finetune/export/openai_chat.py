"""OpenAI's chat finetuning format rules, checked on every chat JSONL file the export writes.

Why check our own output: a file that a finetuning job rejects after upload costs a round
trip; one that it accepts but trains wrongly (a conversation ending on the user's turn
trains on nothing) costs a training run. The rules, from OpenAI's fine-tuning guide and its
data-preparation checks, for conversations without tool calls:

- each line is a JSON object with a non-empty ``messages`` list (and no unknown keys);
- each message has a ``role`` in system / user / assistant and a non-empty string
  ``content`` (optional ``name``; ``weight`` 0 or 1 on assistant messages only);
- a system message may only come first; after it the user speaks first and user and
  assistant alternate;
- the last message is the assistant's, the answer a model is trained to give.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from advisor.data.rows import listing
from advisor.errors import AdvisorError

ROLES = ("system", "user", "assistant")
RECORD_KEYS = {"messages", "tools", "parallel_tool_calls"}
MESSAGE_KEYS = {"role", "content", "name", "weight"}


def chat_problems(record: Any) -> list[str]:
    """Every rule one chat example breaks (empty when it is valid)."""
    if not isinstance(record, dict):
        return ["is not a JSON object"]
    problems = [f"unknown key {k!r}" for k in record if k not in RECORD_KEYS]
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        return [*problems, '"messages" must be a non-empty list']
    previous = None
    for i, msg in enumerate(messages, start=1):
        if not isinstance(msg, dict):
            problems.append(f"message {i} is not an object")
            continue
        problems += [f"message {i} has unknown key {k!r}" for k in msg if k not in MESSAGE_KEYS]
        role, content = msg.get("role"), msg.get("content")
        if role not in ROLES:
            problems.append(f"message {i} has role {role!r}; allowed: {', '.join(ROLES)}")
        if not isinstance(content, str) or not content.strip():
            problems.append(f"message {i} has empty or non-text content")
        if "weight" in msg and (role != "assistant" or msg["weight"] not in (0, 1)):
            problems.append(f"message {i}: weight must be 0 or 1, on assistant messages only")
        if role == "system" and i != 1:
            problems.append(f"message {i} is a system message after the first")
        elif role in ("user", "assistant"):
            if previous in (None, "system") and role != "user":
                problems.append(f"message {i}: the user must speak first")
            elif role == previous:
                problems.append(f"messages {i - 1} and {i} are both {role}: turns must alternate")
        previous = role
    if isinstance(messages[-1], dict) and messages[-1].get("role") != "assistant":
        problems.append("the last message must be the assistant's")
    return problems


def check_chat_jsonl(path: str | Path) -> int:
    """Check a chat JSONL file line by line; returns its number of examples.

    Raises ``AdvisorError`` naming every bad line (up to five) and what is wrong there.
    """
    path = Path(path)
    bad: list[str] = []
    count = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        count += 1
        try:
            record = json.loads(line)
        except ValueError:
            bad.append(f"line {number} (not valid JSON)")
            continue
        problems = chat_problems(record)
        if problems:
            bad.append(f"line {number} ({'; '.join(problems)})")
    if bad:
        raise AdvisorError(f"{path} breaks OpenAI's chat format: {listing(bad)}")
    if not count:
        raise AdvisorError(f"{path} holds no chat examples")
    return count
