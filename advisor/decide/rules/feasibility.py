"""Feasibility rules: what finetuning would take for this team.

Framework sections 2 and 3 (reasons to finetune and not to: distillation at volume, data,
expertise, serving, API-only models, several tasks on one model), 6 (how much data) and 7
(memory math, via ``advisor.memory``). Hard constraints *block* an approach rather than
lower it: no preference outweighs "this model cannot be finetuned".
"""

from __future__ import annotations

from collections.abc import Iterator

from advisor.decide.citations import cite
from advisor.decide.evidence import Evidence
from advisor.decide.questionnaire import Answers
from advisor.decide.rules import (
    HIGH_VOLUME,
    METHOD_LABELS,
    RF,
    F,
    P,
    R,
    Reason,
    distillation_case,
    finetune_plan_for,
    rule,
    trains_locally,
)


@rule("finetune_data")
def finetune_data(a: Answers, ev: Evidence | None) -> Iterator[Reason]:
    n, keys = a.labeled_examples, ("labeled_examples",)
    piloted = ev.n_examples if ev is not None and ev.n_examples else 0
    whose = ""
    if piloted > n:  # the pilot's own data file is labelled examples the team has
        n, keys, whose = piloted, (), " (the pilot's data file)"
    if n < 50 and a.can_distill:
        yield Reason(
            f"Only {n} labelled examples{whose}, fewer than the 50-100 needed to test finetuning, "
            "but a stronger model can generate or label more (distillation).",
            cite("data_amount", "distillation"),
            {F: -0.5, RF: -0.5},
            (*keys, "can_distill"),
        )
    elif n < 50:
        yield Reason(
            f"Only {n} labelled examples{whose}: fewer than the 50-100 needed even to test whether "
            "finetuning helps.",
            cite("data_amount"),
            {F: -1.5, RF: -1.5},
            keys,
        )
    elif n < 100:
        yield Reason(
            f"{n} labelled examples{whose}: enough to test whether finetuning helps at all, "
            "not yet to rely on it.",
            cite("data_amount"),
            {},
            keys,
        )
    elif n < 10_000:
        yield Reason(
            f"{n:,} labelled examples{whose}: the range where PEFT (LoRA) works, hundreds to a few "
            "thousand.",
            cite("data_amount", "hu2021"),
            {F: 0.5, RF: 0.5},
            keys,
        )
    else:
        yield Reason(
            f"{n:,} labelled examples{whose}: enough even for full finetuning (tens of thousands); "
            "PEFT stays cheaper and is the place to start.",
            cite("data_amount", "houlsby2019"),
            {F: 0.75, RF: 0.75},
            keys,
        )


@rule("ml_expertise")
def ml_expertise(a: Answers, ev: Evidence | None) -> Iterator[Reason]:
    if a.ml_expertise == "none":
        yield Reason(
            "No ML expertise in the team: finetuning needs training, evaluation and "
            "hyperparameter skills; RAG needs engineering but no training.",
            cite("reasons_not_to_finetune"),
            {F: -1.5, RF: -1.5, R: -0.25},
            ("ml_expertise",),
        )
    elif a.ml_expertise == "strong":
        yield Reason(
            "Strong ML expertise: training and evaluating a finetuned model is within reach.",
            cite("reasons_not_to_finetune"),
            {F: 0.5, RF: 0.5},
            ("ml_expertise",),
        )


@rule("model_access")
def model_access(a: Answers, ev: Evidence | None) -> Iterator[Reason]:
    keys = ("model_access",)
    if a.model_access == "api_only" and distillation_case(a):
        yield Reason(
            "The model you use is API-only and cannot be finetuned, but distillation trains a "
            "smaller open-weights model (the size in model_params_b) on its outputs.",
            cite("distillation", "reasons_not_to_finetune"),
            {},
            (*keys, "can_distill"),
        )
    elif a.model_access == "api_only":
        yield Reason(
            "The model you use is API-only with no finetuning: finetuning is unavailable unless "
            "you move to an open-weights model or a provider with a finetuning API.",
            cite("reasons_not_to_finetune"),
            {},
            keys,
            blocks=(F, RF),
        )
    elif a.model_access == "api_finetune":
        yield Reason(
            "Your provider finetunes through its API: it trains and serves the model, with "
            "limited control over method and hyperparameters, so no local memory plan is needed.",
            cite("reasons_not_to_finetune"),
            {},
            keys,
        )


@rule("serving")
def serving(a: Answers, ev: Evidence | None) -> Iterator[Reason]:
    if not a.can_serve_custom_model:
        yield Reason(
            "You cannot serve a finetuned model (can_serve_custom_model is false): finetuning "
            "is unavailable until you can host one or use a provider's finetuning API.",
            cite("reasons_not_to_finetune"),
            {},
            ("can_serve_custom_model",),
            blocks=(F, RF),
        )


@rule("multi_task")
def multi_task(a: Answers, ev: Evidence | None) -> Iterator[Reason]:
    if a.multi_task:
        yield Reason(
            "One model serves several tasks: finetuning on one can degrade the others. If you "
            "finetune, train one LoRA adapter per task over a shared base (multi-LoRA serving).",
            cite("reasons_not_to_finetune", "peft"),
            {F: -0.5, RF: -0.5},
            ("multi_task",),
        )


@rule("cost_at_volume")
def cost_at_volume(a: Answers, ev: Evidence | None) -> Iterator[Reason]:
    if "too_slow_or_costly" not in a.failures:
        return
    keys = ("failures", "can_distill", "queries_per_day")
    if distillation_case(a):
        yield Reason(
            f"Too slow or costly at {a.queries_per_day:,} queries a day, and a stronger model "
            "can label data: distil it into a small finetuned model (Grammarly's finetuned "
            "Flan-T5 beat a GPT-3 variant while about 60x smaller).",
            cite("distillation", "tactics"),
            {F: 3.0},
            keys,
        )
        return
    why = []
    if not a.can_distill:
        why.append("no stronger model to generate training data")
    if a.queries_per_day < HIGH_VOLUME:
        why.append(
            f"{a.queries_per_day:,} queries a day is below the ~{HIGH_VOLUME:,} where it pays"
        )
    yield Reason(
        f"Too slow or costly, but distillation does not fit yet ({'; '.join(why)}): shorten "
        "prompts, cache, or try a smaller prompted model first. RAG adds retrieval latency.",
        cite("distillation", "approaches"),
        {P: 0.5, R: -0.5, RF: -0.5},
        keys,
    )


@rule("memory_fit")
def memory_fit(a: Answers, ev: Evidence | None) -> Iterator[Reason]:
    if not trains_locally(a):
        return
    keys = ("model_params_b", "gpu_memory_gb")
    plan = finetune_plan_for(a)
    need = f"about {plan.train_memory_gb:.1f} GB"
    method = METHOD_LABELS[plan.method or "qlora"]
    paper = {"qlora": "dettmers2023", "lora": "hu2021"}.get(plan.method or "", "memory_math")
    if a.gpu_memory_gb == 0:
        yield Reason(
            f"No accelerator (gpu_memory_gb is 0): finetuning a {a.model_params_b:g}B model "
            f"needs a GPU; {method} would take {need}, so rent or borrow one that size.",
            cite("memory_math", paper),
            {F: -0.5, RF: -0.5},
            keys,
        )
    elif plan.fits:
        yield Reason(
            f"{method} of a {a.model_params_b:g}B model fits in {a.gpu_memory_gb:g} GB "
            f"({need} to train); the plan gives starting hyperparameters.",
            cite("memory_math", "hyperparameters", paper),
            {},
            keys,
        )
    else:
        smaller = (
            f" QLoRA could train up to about {plan.largest_qlora_params_b:g}B here."
            if plan.largest_qlora_params_b
            else ""
        )
        yield Reason(
            f"Nothing fits: even QLoRA of a {a.model_params_b:g}B model needs {need}, more than "
            f"{a.gpu_memory_gb:g} GB.{smaller} Pick a smaller model or a larger accelerator.",
            cite("memory_math", "dettmers2023"),
            {F: -1.0, RF: -1.0},
            keys,
        )
