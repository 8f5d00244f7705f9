"""The citations behind every recommendation, in one registry.

Why a registry: the questionnaire, the rules and the report all cite the same principles;
keeping the wording here means a citation is written once and a typo in a key fails loudly
(``cite("nope")`` raises) instead of printing an empty source.

Section numbers (``§n``) follow the project's summary of the chapter (docs/framework.md),
which keeps the chapter's order: §1 what each approach changes, §2 reasons to finetune,
§3 reasons not to finetune, §4 information vs behaviour, §5 the workflow, §6 how much data,
§7 memory math, §8 PEFT and LoRA, §9 hyperparameters, §10 tactics.
"""

from __future__ import annotations

from dataclasses import dataclass

CHAPTER = 'Huyen, AI Engineering (O\'Reilly 2025), ch. 7 "Finetuning"'


@dataclass(frozen=True)
class Source:
    key: str  # short name used by rules and questions
    citation: str  # what a reader sees: the chapter section's topic, or the paper by name
    section: int | None = None  # chapter section (§n) when the source is the chapter


SOURCES: dict[str, Source] = {
    s.key: s
    for s in (
        Source("approaches", "what prompting, RAG and finetuning each change", 1),
        Source("reasons_to_finetune", "reasons to finetune", 2),
        Source("distillation", "reasons to finetune: distillation", 2),
        Source("reasons_not_to_finetune", "reasons not to finetune (yet)", 3),
        Source("info_vs_behaviour", "information vs behaviour failures", 4),
        Source("workflow", "the workflow: the order to try things", 5),
        Source("data_amount", "how much data", 6),
        Source("memory_math", "memory math", 7),
        Source("peft", "PEFT and LoRA", 8),
        Source("hyperparameters", "finetuning hyperparameters", 9),
        Source("tactics", "tactics: progression and distillation paths", 10),
        Source(
            "ovadia2024",
            'Ovadia et al. 2024, "Fine-Tuning or Retrieval? Comparing Knowledge Injection in LLMs"',
        ),
        Source(
            "lewis2020",
            'Lewis et al. 2020, "Retrieval-Augmented Generation for Knowledge-Intensive NLP Tasks"',
        ),
        Source("hu2021", 'Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models"'),
        Source(
            "dettmers2023", 'Dettmers et al. 2023, "QLoRA: Efficient Finetuning of Quantized LLMs"'
        ),
        Source(
            "houlsby2019", 'Houlsby et al. 2019, "Parameter-Efficient Transfer Learning for NLP"'
        ),
    )
}


def cite(*keys: str) -> str:
    """One citation string for ``keys``: the chapter once, with its sections, then papers.

    e.g. 'Huyen, AI Engineering (O'Reilly 2025), ch. 7 "Finetuning", §4 information vs
    behaviour failures; Ovadia et al. 2024, "Fine-Tuning or Retrieval? ..."'.
    """
    missing = [k for k in keys if k not in SOURCES]
    if missing or not keys:
        raise KeyError(f"unknown source key(s) {missing!r}; known: {', '.join(sorted(SOURCES))}")
    chosen = [SOURCES[k] for k in keys]
    sections = [f"§{s.section} {s.citation}" for s in chosen if s.section is not None]
    papers = [s.citation for s in chosen if s.section is None]
    parts = [f"{CHAPTER}, " + "; ".join(sections)] if sections else []
    return "; ".join(parts + papers)
