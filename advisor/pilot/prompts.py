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


_TERM = re.compile(r"\w+")
# Words too common to say which sentence a question is about.
_STOP_WORDS = (
    "a an the of in on at to for from by with and or but is are was were be been it its this "
    "that these those what which who whom whose when where why how do does did as"
)
_STOP = frozenset(_STOP_WORDS.split())


def _terms(text: str) -> set[str]:
    return {w for w in _TERM.findall(text.lower()) if w not in _STOP}


def trim_contexts(
    contexts: Sequence[Context], question: str, answer: str | None, max_words: int
) -> list[Context]:
    """The sentences of the retrieved passages that matter to one training example.

    Why: the lora_rag arm trains on prompts with retrieved passages, and on a CPU training
    time grows with every token: three 150-word chunks make a ~430-token prompt of which the
    example needs one or two sentences. Training on the sentences that share the most words
    with the question and (weighted twice) the answer, up to ``max_words``, keeps what the
    arm learns (answer from the context in the prompt) at a fraction of the tokens. The best
    sentence is always kept; sentences keep their passage and their order within it. Test
    prompts are not trimmed: the arm still answers from what the retriever returned.
    """
    from advisor.retrieval.chunking import split_sentences

    q_terms, a_terms = _terms(question), _terms(answer or "")
    ranked = []  # (-score, passage, sentence index, sentence)
    for ci, ctx in enumerate(contexts):
        for si, sentence in enumerate(split_sentences(ctx.text)):
            terms = _terms(sentence)
            ranked.append((-(len(terms & q_terms) + 2 * len(terms & a_terms)), ci, si, sentence))
    ranked.sort(key=lambda r: r[:3])
    chosen: list[tuple[int, int, str]] = []
    words = 0
    for _, ci, si, sentence in ranked:
        n = len(sentence.split())
        if chosen and words + n > max_words:
            continue
        chosen.append((ci, si, sentence))
        words += n
        if words >= max_words:
            break
    chosen.sort()
    return [
        Context(ctx.chunk_id, " ".join(s.strip() for c, _, s in chosen if c == ci))
        for ci, ctx in enumerate(contexts)
        if any(c == ci for c, _, _ in chosen)
    ]
