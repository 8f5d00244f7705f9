"""Prompt building for the prompting, RAG and LoRA arms, within a token budget.

Why one builder for every arm: the arms must differ only in what the chapter's workflow
adds (examples, retrieved context, trained weights), never in wording, or a comparison
between them would measure the prompt rather than the approach. The LoRA arms train on the
very prompts the zero-shot and RAG arms use at inference.
"""

from __future__ import annotations

import re
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


def system_message(
    task: str | None, format_hint: str | None = None, style_hint: str | None = None
) -> str:
    """The instruction every arm shares: the user's task, the output format and the answer
    style (how long a good answer is), each if set."""
    text = (task or "").strip() or DEFAULT_TASK
    for hint in (format_hint, style_hint):
        if hint:
            text = f"{text}\n{hint.strip()}"
    return text


_LABEL = re.compile(r"^\s*(?:output|answer)\s*:\s*", re.IGNORECASE)
_NEXT_INPUT = re.compile(r"\n\s*Input\s*:", re.IGNORECASE)


def clean_answer(text: str) -> str:
    """The answer without the scaffolding of our own prompt, the same for every arm.

    Small models often echo the ``Output:`` cue or, after a few-shot prompt, go on to
    invent the next ``Input:``; both are our prompt's format, not the model's answer
    (lm-evaluation-harness cuts few-shot continuations the same way).
    """
    text = _NEXT_INPUT.split(text, maxsplit=1)[0]
    return _LABEL.sub("", text, count=1).strip()


def user_message(
    text: str,
    shots: Sequence[Shot] = (),
    contexts: Sequence[Context] = (),
    reminder: str | None = None,
) -> str:
    """The user turn: optional context passages, optional examples, then the input.

    Passages go in without their ids (retrieved ids are recorded per prediction instead),
    and ``reminder`` (the answer-style hint) is repeated just before the input, where a
    small model still reads it after long context: with SmolLM2-135M on 40 facts items,
    the two together took BM25 RAG's answer containment from 0.13 to 0.30 at the same
    12-token budget (experiments/README.md).
    """
    parts: list[str] = []
    if contexts:
        passages = "\n\n".join(c.text.strip() for c in contexts)
        parts.append(f"Context:\n{passages}\n\nAnswer from the context above.")
    if shots:
        examples = "\n\n".join(
            f"Input: {s.input.strip()}\nOutput: {s.output.strip()}" for s in shots
        )
        parts.append(f"Examples:\n{examples}")
    if reminder:
        parts.append(reminder.strip())
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
