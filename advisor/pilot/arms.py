"""The pilot's arms, registered by name and composed from the shared parts.

Each arm is the chapter's workflow step (framework §5) made runnable: ``zero_shot`` and
``few_shot`` (prompting), ``bm25_rag`` (term retrieval) and ``faiss_rag`` (embedding
retrieval), ``lora`` (PEFT finetuning) and ``lora_rag`` (both), plus ``nearest_neighbor``,
a reference that needs no LLM and tells whether the task is lookup. An arm only decides
what goes into the prompt and which weights answer it; loading, retrieval, generation and
training live in their own modules and are shared through ``PilotContext``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from advisor.catalog import CATALOG, ArmInfo
from advisor.data.types import Example
from advisor.finetune.settings import LoraSettings, TrainPair
from advisor.pilot.context import PilotContext, Prediction
from advisor.pilot.prompts import (
    Context,
    Shot,
    clean_answer,
    fit_to_budget,
    trim_contexts,
    user_message,
)


@dataclass(frozen=True)
class ArmSpec:
    """A catalogued arm (:mod:`advisor.catalog`) with the function that runs it."""

    info: ArmInfo
    run: Callable[[PilotContext, list[Example]], ArmOutput]

    def __getattr__(self, name: str) -> Any:
        # name, label, kind, needs_llm, needs_kb, trains, description: the catalogue's
        return getattr(self.info, name)


@dataclass
class ArmOutput:
    predictions: list[Prediction]
    train: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)


ARMS: dict[str, ArmSpec] = {}


def register_arm(name: str):
    """Attach the function that runs a catalogued arm; ``ARMS`` keeps the catalogue's order."""
    if name not in CATALOG:
        raise ValueError(f"arm {name!r} is not in advisor.catalog.CATALOG: add it there first")

    def wrap(fn: Callable[[PilotContext, list[Example]], ArmOutput]):
        if name in ARMS:
            raise ValueError(f"arm {name!r} is registered twice")
        ARMS[name] = ArmSpec(CATALOG[name], fn)
        ordered = {n: ARMS[n] for n in CATALOG if n in ARMS}
        ARMS.clear()
        ARMS.update(ordered)
        return fn

    return wrap


# -- shared pieces -------------------------------------------------------------------------


def build_prompt(
    ctx: PilotContext, ex: Example, shots=(), contexts=()
) -> tuple[str, list[Shot], list[Context]]:
    """The prompt for ``ex`` within the model's budget, and the shots and passages it kept."""
    gen = ctx.generator()
    system, reminder = ctx.system_message(), ctx.style_hint()

    def build(s, c):
        return gen.format_prompt(system, user_message(ex.input, s, c, reminder))

    return fit_to_budget(build, gen.count_tokens, ctx.prompt_budget(), shots, contexts)


def retrieve_contexts(ctx: PilotContext, kind: str, texts: list[str]) -> list[list[Context]]:
    retriever = ctx.retriever(kind)
    hits = retriever.search_batch(texts, ctx.settings.retrieval_k)
    return [[Context(h.chunk_id, h.text) for h in row] for row in hits]


def generate_predictions(
    ctx: PilotContext,
    arm: str,
    test: list[Example],
    prompts: list[str],
    contexts: list[list[Context]] | None = None,
    generator=None,
    shot_ids: list[list[str]] | None = None,
    shown: str | None = None,
) -> list[Prediction]:
    gen = generator or ctx.generator()
    results = gen.generate(
        prompts,
        max_new_tokens=ctx.max_new_tokens(),
        batch_size=ctx.settings.batch_size,
        progress=ctx.progress_for(shown or arm),
    )
    preds = []
    for i, (ex, res) in enumerate(zip(test, results, strict=True)):
        preds.append(
            Prediction(
                arm=arm,
                example_id=ex.id,
                input=ex.input,
                reference=ex.output,
                output=clean_answer(res.text),
                retrieved_ids=[c.chunk_id for c in contexts[i]] if contexts else [],
                latency_ms=res.latency_ms,
                prompt_tokens=res.prompt_tokens,
                output_tokens=res.output_tokens,
                doc_id=ex.doc_id,
                shot_ids=shot_ids[i] if shot_ids else [],
            )
        )
    return preds


# -- prompts per arm (the arms and the calibration both build them) -------------------------


@dataclass
class ArmPrompts:
    prompts: list[str]
    contexts: list[list[Context]] | None = None  # the passages each prompt kept (RAG arms)
    shot_ids: list[list[str]] | None = None  # the examples each prompt kept (few_shot)


def test_prompts(ctx: PilotContext, arm: str, examples: list[Example]) -> ArmPrompts:
    """The prompts ``arm`` answers ``examples`` with, and what each one kept."""
    if arm == "few_shot":
        k = ctx.settings.few_shot_k
        neighbours = ctx.similar_train_examples([ex.input for ex in examples], k)
        out = ArmPrompts([], shot_ids=[])
        for ex, row in zip(examples, neighbours, strict=True):
            prompt, kept, _ = build_prompt(ctx, ex, shots=[Shot(s.input, s.output) for s in row])
            out.prompts.append(prompt)
            out.shot_ids.append([s.id for s in row[: len(kept)]])  # trimmed from the end
        return out
    kind = _retriever_of(ctx, arm) if CATALOG[arm].needs_kb else None
    if kind is None:
        return ArmPrompts([build_prompt(ctx, ex)[0] for ex in examples])
    out = ArmPrompts([], contexts=[])
    retrieved = retrieve_contexts(ctx, kind, [ex.input for ex in examples])
    for ex, ctxs in zip(examples, retrieved, strict=True):
        prompt, _, used = build_prompt(ctx, ex, contexts=ctxs)
        out.prompts.append(prompt)
        out.contexts.append(used)
    return out


def training_pairs(ctx: PilotContext, arm: str, examples: list[Example]) -> list[TrainPair]:
    """What a training arm learns from: its inference prompt for each example and the answer.

    lora_rag's training prompts keep only the retrieved sentences nearest the question and
    answer (``PilotSettings.train_context_words``): the same passages, far fewer tokens.
    """
    kind = _retriever_of(ctx, arm) if CATALOG[arm].needs_kb else None
    retrieved = retrieve_contexts(ctx, kind, [e.input for e in examples]) if kind else None
    keep = ctx.settings.train_context_words
    out = []
    for i, ex in enumerate(examples):
        contexts = retrieved[i] if retrieved else []
        if contexts and keep is not None:
            contexts = trim_contexts(contexts, ex.input, ex.output, keep)
        out.append(TrainPair(build_prompt(ctx, ex, contexts=contexts)[0], ex.output))
    return out


def _retriever_of(ctx: PilotContext, arm: str) -> str:
    return CATALOG[arm].retriever or ctx.settings.lora_rag_retriever


# -- the arms ------------------------------------------------------------------------------


def _prompting_arm(arm: str) -> Callable[[PilotContext, list[Example]], ArmOutput]:
    def run(ctx: PilotContext, test: list[Example]) -> ArmOutput:
        p = test_prompts(ctx, arm, test)
        return ArmOutput(
            generate_predictions(ctx, arm, test, p.prompts, p.contexts, shot_ids=p.shot_ids)
        )

    return run


for _name in ("zero_shot", "few_shot", "bm25_rag", "faiss_rag"):
    register_arm(_name)(_prompting_arm(_name))


def train_and_answer(
    ctx: PilotContext,
    arm: str,
    test: list[Example],
    *,
    train: list[Example] | None = None,
    validation: list[Example] | None = None,
    lora: LoraSettings | None = None,
    keep_adapter: bool = True,
    progress_name: str | None = None,
) -> ArmOutput:
    """Train a LoRA adapter and answer ``test`` with it (the lora / lora_rag arms).

    The keyword arguments let the data curve and the seed repeats (:mod:`advisor.pilot.
    extra_runs`) train the same arm on a subset, another split or another seed; by default
    it is the arm itself: the split's training set, the pilot's settings, ``adapters/<arm>``
    (variants keep no adapter: ``keep_adapter=False``).
    """
    from advisor.finetune.lora import train_lora
    from advisor.models.hf import HFGenerator
    from advisor.resources import release_memory

    train = ctx.split.train if train is None else train
    validation = ctx.split.validation if validation is None else validation
    shown = progress_name or arm
    base = ctx.fresh_base_generator()
    peft_model, result = train_lora(
        base.model,
        base.tokenizer,
        training_pairs(ctx, arm, train),
        training_pairs(ctx, arm, validation),
        ctx.settings.lora if lora is None else lora,
        out_dir=ctx.run_dir / "adapters" / arm if keep_adapter else None,
        progress=ctx.train_progress_for(shown),
    )
    release_memory()  # training's freed activations go back to the OS before the answers
    tuned = HFGenerator(
        peft_model,
        base.tokenizer,
        f"{base.name}+{arm}",
        smoke=base.smoke,
        context_length=base.context_length,
    )
    p = test_prompts(ctx, arm, test)
    preds = generate_predictions(
        ctx, arm, test, p.prompts, p.contexts, generator=tuned, shown=shown
    )
    block = result.to_dict()
    block["adapter_dir"] = f"adapters/{arm}" if keep_adapter else None
    return ArmOutput(preds, train=block)


def _training_arm(arm: str) -> Callable[[PilotContext, list[Example]], ArmOutput]:
    def run(ctx: PilotContext, test: list[Example]) -> ArmOutput:
        return train_and_answer(ctx, arm, test)

    return run


for _name in ("lora", "lora_rag"):
    register_arm(_name)(_training_arm(_name))


@register_arm("nearest_neighbor")
def nearest_neighbor(ctx: PilotContext, test: list[Example]) -> ArmOutput:
    preds = []
    t0 = time.perf_counter()
    neighbours = ctx.similar_train_examples([ex.input for ex in test], 1)
    per_item_ms = (time.perf_counter() - t0) * 1000 / max(1, len(test))
    for ex, (best, *_) in zip(test, neighbours, strict=True):
        preds.append(
            Prediction(
                arm="nearest_neighbor",
                example_id=ex.id,
                input=ex.input,
                reference=ex.output,
                output=best.output,
                retrieved_ids=[best.id],
                latency_ms=per_item_ms,
                prompt_tokens=0,
                output_tokens=0,
                doc_id=ex.doc_id,
            )
        )
    return ArmOutput(preds)
