"""Prompt building for the prompting, RAG and LoRA arms, within a token budget.

Why one builder for every arm: the arms must differ only in what the chapter's workflow
adds (examples, retrieved context, trained weights), never in wording, or a comparison
between them would measure the prompt rather than the approach. The LoRA arms train on the
very prompts the zero-shot and RAG arms use at inference.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

DEFAULT_TASK = "Answer the input. Reply with the answer only, no explanation."


@dataclass(frozen=True)
class Shot:
    """A worked example shown in a few-shot prompt."""

    input: str
    output: str


@dataclass(frozen=True)
class Context:
    """A retrieved passage and the id it came from (recorded per prediction)."""

    chunk_id: str
    text: str


def system_message(task: str | None, format_hint: str | None = None) -> str:
    """The instruction every arm shares: the user's task plus the output format, if set."""
    text = (task or "").strip() or DEFAULT_TASK
    if format_hint:
        text = f"{text}\n{format_hint.strip()}"
    return text


def user_message(
    text: str,
    shots: Sequence[Shot] = (),
    contexts: Sequence[Context] = (),
) -> str:
    """The user turn: optional context passages, optional examples, then the input."""
    parts: list[str] = []
    if contexts:
        passages = "\n\n".join(f"[{c.chunk_id}] {c.text.strip()}" for c in contexts)
        parts.append(f"Use the context below to answer.\n\nContext:\n{passages}")
    if shots:
        examples = "\n\n".join(
            f"Input: {s.input.strip()}\nOutput: {s.output.strip()}" for s in shots
        )
        parts.append(f"Examples:\n{examples}")
    parts.append(f"Input: {text.strip()}\nOutput:")
    return "\n\n".join(parts)


def fit_to_budget(
    build: Callable[[Sequence[Shot], Sequence[Context]], str],
    count_tokens: Callable[[str], int],
    budget: int,
    shots: Sequence[Shot] = (),
    contexts: Sequence[Context] = (),
) -> tuple[str, list[Shot], list[Context]]:
    """Drop the least relevant shots/contexts (the tail) until the prompt fits ``budget``.

    Shots and contexts arrive sorted most-relevant first, so trimming from the end keeps the
    best. Contexts are trimmed before shots: a RAG prompt's value is its top passage.
    """
    shots, contexts = list(shots), list(contexts)
    prompt = build(shots, contexts)
    while count_tokens(prompt) > budget and (shots or contexts):
        if len(contexts) > 1 or (contexts and not shots):
            contexts.pop()
        else:
            shots.pop()
        prompt = build(shots, contexts)
    return prompt, shots, contexts
