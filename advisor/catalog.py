"""Every arm the pilot can run, and everything the rest of the product needs to know of it.

Why one catalogue apart from the arms' code: the decision rules, the cost projection, the
report's labels and colours, the CLI's help, the estimate and the comparisons all need to
know an arm's name, kind and needs, and none of them should import the pilot (and, through
it, the generators) to learn that. The arms' code (:mod:`advisor.pilot.arms`) attaches a
run function to each entry by name; an arm that is not catalogued cannot be registered.

Order is the chapter's workflow (framework §5): prompt, few-shot, term RAG, embedding RAG,
finetune, RAG + finetune, then the non-LLM reference. Pilots run arms in this order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["prompting", "rag", "finetune", "rag+finetune", "reference"]
KINDS: tuple[str, ...] = ("prompting", "rag", "finetune", "rag+finetune", "reference")


@dataclass(frozen=True)
class ArmInfo:
    name: str  # the results.json key and the --arms value
    label: str  # what a person reads in the report and the app
    kind: Kind  # the recommendation it is evidence for ("reference": none)
    description: str  # one line for help texts: what goes into the prompt, what answers
    needs_llm: bool = True  # False: answers without a language model
    needs_kb: bool = False  # needs a knowledge base (retrieved context in the prompt)
    trains: bool = False  # trains an adapter on the training split
    retriever: str | None = None  # retriever it uses ("bm25", "faiss"; lora_rag: a setting)
    compared_with: tuple[str, ...] = ()  # workflow comparisons besides the zero-shot baseline

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)} (not {self.kind!r})")


CATALOG: dict[str, ArmInfo] = {
    a.name: a
    for a in (
        ArmInfo("zero_shot", "Zero-shot prompting", "prompting",
                "instructions only (workflow step 1)"),
        ArmInfo("few_shot", "Few-shot prompting", "prompting",
                "k most similar training examples in the prompt (workflow step 2)"),
        ArmInfo("bm25_rag", "RAG (BM25)", "rag",
                "BM25 term retrieval into the prompt (workflow step 3)",
                needs_kb=True, retriever="bm25", compared_with=("few_shot",)),
        ArmInfo("faiss_rag", "RAG (vector search)", "rag",
                "embedding retrieval (FAISS) into the prompt (workflow step 4a)",
                needs_kb=True, retriever="faiss", compared_with=("few_shot", "bm25_rag")),
        ArmInfo("lora", "LoRA finetune", "finetune",
                "LoRA adapter trained on the training split (workflow step 4b)",
                trains=True, compared_with=("few_shot",)),
        ArmInfo("lora_rag", "LoRA finetune + RAG", "rag+finetune",
                "LoRA trained with retrieved context in the prompt, RAFT-style "
                "(workflow step 5)",
                needs_kb=True, trains=True, compared_with=("lora", "bm25_rag", "faiss_rag")),
        ArmInfo("nearest_neighbor", "Nearest neighbour (reference)", "reference",
                "output of the most similar training input: no LLM; high scores mean the "
                "task is lookup",
                needs_llm=False),
    )
}  # fmt: skip

ARM_NAMES: tuple[str, ...] = tuple(CATALOG)
BASELINE_ARM = "zero_shot"  # every arm is compared with it when it ran


def arms_of_kind(*kinds: str) -> tuple[str, ...]:
    """The arms that are evidence for any of ``kinds``, in workflow order."""
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown arm kind(s) {unknown}: choose from {', '.join(KINDS)}")
    return tuple(a.name for a in CATALOG.values() if a.kind in kinds)


def retrieval_arms() -> tuple[str, ...]:
    """Arms whose prompts carry retrieved context (their misses can be retrieval misses)."""
    return tuple(a.name for a in CATALOG.values() if a.needs_kb)


def workflow_pairs() -> tuple[tuple[str, str], ...]:
    """The (arm, earlier step) comparisons the chapter's workflow asks about."""
    return tuple((a.name, b) for a in CATALOG.values() for b in a.compared_with)


def arm_label(name: str) -> str:
    """A person's name for an arm; an unknown (e.g. older) arm keeps its key."""
    info = CATALOG.get(name)
    return info.label if info else name.replace("_", " ")


def arm_kind(name: str) -> str | None:
    info = CATALOG.get(name)
    return info.kind if info else None


def arm_list_help() -> str:
    """The arm names for a CLI help text, in workflow order."""
    return ", ".join(ARM_NAMES)
