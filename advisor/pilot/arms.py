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

from advisor.data.load import Example
from advisor.pilot.context import PilotContext, Prediction
from advisor.pilot.prompts import Context, Shot, clean_answer, fit_to_budget, user_message


@dataclass(frozen=True)
class ArmSpec:
    name: str
    kind: str  # which recommendation it is evidence for: prompting/rag/finetune/rag+finetune
    needs_llm: bool
    needs_kb: bool
    trains: bool
    description: str
    run: Callable[[PilotContext, list[Example]], ArmOutput]


@dataclass
class ArmOutput:
    predictions: list[Prediction]
    train: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)


ARMS: dict[str, ArmSpec] = {}


def register_arm(
    name: str,
    *,
    kind: str,
    needs_llm: bool = True,
    needs_kb: bool = False,
    trains: bool = False,
    description: str = "",
):
    """Add an arm to the registry; the pilot, CLI and app list arms from here."""

    def wrap(fn: Callable[[PilotContext, list[Example]], ArmOutput]):
        if name in ARMS:
            raise ValueError(f"arm {name!r} is registered twice")
        ARMS[name] = ArmSpec(name, kind, needs_llm, needs_kb, trains, description, fn)
        return fn

    return wrap


# -- shared pieces -------------------------------------------------------------------------


def _prompt(ctx: PilotContext, ex: Example, shots=(), contexts=()) -> tuple[str, list[Context]]:
    gen = ctx.generator()
    system, reminder = ctx.system_message(), ctx.style_hint()

    def build(s, c):
        return gen.format_prompt(system, user_message(ex.input, s, c, reminder))

    prompt, _, kept = fit_to_budget(build, gen.count_tokens, ctx.prompt_budget(), shots, contexts)
    return prompt, kept


def _retrieve(ctx: PilotContext, kind: str, texts: list[str]) -> list[list[Context]]:
    retriever = ctx.retriever(kind)
    hits = retriever.search_batch(texts, ctx.settings.retrieval_k)
    return [[Context(h.chunk_id, h.text) for h in row] for row in hits]


def _generate(
    ctx: PilotContext,
    arm: str,
    test: list[Example],
    prompts: list[str],
    contexts: list[list[Context]] | None = None,
    generator=None,
) -> list[Prediction]:
    gen = generator or ctx.generator()
    results = gen.generate(
        prompts,
        max_new_tokens=ctx.max_new_tokens(),
        batch_size=ctx.settings.batch_size,
        progress=ctx.progress_for(arm),
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
            )
        )
    return preds


# -- the arms ------------------------------------------------------------------------------


@register_arm("zero_shot", kind="prompting", description="instructions only (workflow step 1)")
def zero_shot(ctx: PilotContext, test: list[Example]) -> ArmOutput:
    prompts = [_prompt(ctx, ex)[0] for ex in test]
    return ArmOutput(_generate(ctx, "zero_shot", test, prompts))


@register_arm(
    "few_shot",
    kind="prompting",
    description="k most similar training examples in the prompt (workflow step 2)",
)
def few_shot(ctx: PilotContext, test: list[Example]) -> ArmOutput:
    neighbours = ctx.similar_train_examples([ex.input for ex in test], ctx.settings.few_shot_k)
    prompts = []
    for ex, shots in zip(test, neighbours, strict=True):
        prompts.append(_prompt(ctx, ex, shots=[Shot(s.input, s.output) for s in shots])[0])
    return ArmOutput(_generate(ctx, "few_shot", test, prompts))


def _rag_arm(kind: str, arm: str) -> Callable[[PilotContext, list[Example]], ArmOutput]:
    def run(ctx: PilotContext, test: list[Example]) -> ArmOutput:
        retrieved = _retrieve(ctx, kind, [ex.input for ex in test])
        prompts, kept = [], []
        for ex, ctxs in zip(test, retrieved, strict=True):
            prompt, used = _prompt(ctx, ex, contexts=ctxs)
            prompts.append(prompt)
            kept.append(used)
        return ArmOutput(_generate(ctx, arm, test, prompts, kept))

    return run


register_arm(
    "bm25_rag",
    kind="rag",
    needs_kb=True,
    description="BM25 term retrieval into the prompt (workflow step 3)",
)(_rag_arm("bm25", "bm25_rag"))
register_arm(
    "faiss_rag",
    kind="rag",
    needs_kb=True,
    description="embedding retrieval (FAISS) into the prompt (workflow step 4a)",
)(_rag_arm("faiss", "faiss_rag"))


def _train_and_generate(
    ctx: PilotContext, arm: str, test: list[Example], rag_kind: str | None
) -> ArmOutput:
    from advisor.finetune.lora import TrainPair, train_lora

    split = ctx.split

    def pairs(examples: list[Example]) -> tuple[list[TrainPair], list[list[Context]] | None]:
        retrieved = _retrieve(ctx, rag_kind, [e.input for e in examples]) if rag_kind else None
        out = []
        for i, ex in enumerate(examples):
            prompt, _ = _prompt(ctx, ex, contexts=retrieved[i] if retrieved else ())
            out.append(TrainPair(prompt, ex.output))
        return out, retrieved

    train_pairs, _ = pairs(split.train)
    val_pairs, _ = pairs(split.validation)
    base = ctx.fresh_base_generator()
    peft_model, result = train_lora(
        base.model,
        base.tokenizer,
        train_pairs,
        val_pairs,
        ctx.settings.lora,
        out_dir=ctx.run_dir / "adapters" / arm,
        progress=ctx.train_progress_for(arm),
    )
    from advisor.models.hf import HFGenerator

    tuned = HFGenerator(
        peft_model,
        base.tokenizer,
        f"{base.name}+{arm}",
        smoke=base.smoke,
        context_length=base.context_length,
    )
    test_prompts = []
    test_contexts: list[list[Context]] | None = None
    if rag_kind:
        test_contexts = _retrieve(ctx, rag_kind, [e.input for e in test])
    for i, ex in enumerate(test):
        test_prompts.append(_prompt(ctx, ex, contexts=test_contexts[i] if test_contexts else ())[0])
    preds = _generate(ctx, arm, test, test_prompts, test_contexts, generator=tuned)
    train = result.to_dict()
    train["adapter_dir"] = f"adapters/{arm}"
    return ArmOutput(preds, train=train)


@register_arm(
    "lora",
    kind="finetune",
    trains=True,
    description="LoRA adapter trained on the training split (workflow step 4b)",
)
def lora(ctx: PilotContext, test: list[Example]) -> ArmOutput:
    return _train_and_generate(ctx, "lora", test, None)


@register_arm(
    "lora_rag",
    kind="rag+finetune",
    needs_kb=True,
    trains=True,
    description="LoRA trained with retrieved context in the prompt, RAFT-style (workflow step 5)",
)
def lora_rag(ctx: PilotContext, test: list[Example]) -> ArmOutput:
    return _train_and_generate(ctx, "lora_rag", test, ctx.settings.lora_rag_retriever)


@register_arm(
    "nearest_neighbor",
    kind="reference",
    needs_llm=False,
    description="output of the most similar training input: no LLM; high scores "
    "mean the task is lookup",
)
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
